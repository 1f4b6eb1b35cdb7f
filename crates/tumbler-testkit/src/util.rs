//! Helpers shared by the spawners: unique names, quoting, URL encoding,
//! polling with a deadline and children that die with the test.

use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A fresh lowercase name `<prefix>_<32 hex digits>`: valid unquoted as an SQL
/// identifier and unique across concurrently running test processes.
pub(crate) fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// A random password of 32 hex digits (no characters that need escaping).
pub(crate) fn random_password() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `ident` as a double-quoted SQL identifier (PostgreSQL).
pub(crate) fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// `value` as a single-quoted SQL string literal with standard escaping.
pub(crate) fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `value` as a MariaDB single-quoted string literal (backslashes escaped too).
pub(crate) fn quote_mysql_literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// `ident` as a MariaDB backquoted identifier.
pub(crate) fn quote_mysql_ident(ident: &str) -> String {
    format!("`{}`", ident.replace('`', "``"))
}

/// Percent-encodes everything but RFC 3986 unreserved characters, for the
/// user and password parts of a URL.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Whether this process runs as root (owner of `/proc/self`).
pub(crate) fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// How long to wait between two readiness probes.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Polls `probe` until it returns `Some`, or returns `None` once `within` has
/// passed. Every probe runs at least once.
pub(crate) async fn poll_until<T, F, Fut>(within: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Builds a command that runs `program` so that it cannot outlive the test:
///
/// - `setpriv --pdeathsig KILL` kills the wrapper when the thread that spawned
///   it exits (spawn from the test's own thread, not from a short-lived one);
/// - as root, `unshare --pid --fork --kill-child` puts the program in its own
///   PID namespace whose init dies with the wrapper, so the kernel kills every
///   process the program started (chromium's renderers, postgres' backends);
/// - `run_as` (root only) switches to that OS user inside the namespace, and
///   sets the parent-death signal again since a credential change clears it.
///
/// Killing the returned child (see [`ChildGuard`]) takes the whole tree down.
pub(crate) fn contained_command(program: &str, run_as: Option<&str>) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--pdeathsig", "KILL", "--"]);
    if is_root() {
        cmd.args(["unshare", "--pid", "--fork", "--kill-child", "--"]);
        if let Some(user) = run_as {
            cmd.args([
                "setpriv",
                &format!("--reuid={user}"),
                &format!("--regid={user}"),
                "--init-groups",
                "--pdeathsig",
                "KILL",
                "--",
            ]);
        }
    } else {
        assert!(
            run_as.is_none(),
            "switching to another OS user needs root (this process is not root)"
        );
    }
    cmd.arg(program);
    cmd
}

/// A child process killed (SIGKILL) and reaped when dropped.
#[derive(Debug)]
pub(crate) struct ChildGuard {
    child: Child,
    what: &'static str,
}

impl ChildGuard {
    /// Spawns `cmd`, panicking with `what` in the message if it cannot start.
    pub(crate) fn spawn(mut cmd: Command, what: &'static str) -> Self {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        Self { child, what }
    }

    /// `Some(description)` if the process has already exited.
    pub(crate) fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!("{} exited: {status}", self.what)),
            Ok(None) => None,
            Err(e) => Some(format!("{}: cannot query status: {e}", self.what)),
        }
    }

    /// Kills (SIGKILL) and reaps the process; harmless if it is gone.
    ///
    /// The wrapper's own children (the PID namespace's init, see
    /// [`contained_command`]) are killed first: the wrapper then reaps them and
    /// exits, and since a namespace's init only finishes exiting once every
    /// process in the namespace is gone, the whole tree is gone when this
    /// returns (no process left writing into a directory about to be removed,
    /// no orphan left for the machine's init to reap).
    pub(crate) fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let pid = self.child.id();
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            let children: Vec<&str> = children.split_whitespace().collect();
            if !children.is_empty() {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .args(&children)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
        // Errors mean it is already gone, which is the goal.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills like [`ChildGuard::kill`], then waits (with a deadline) until the process's
    /// children have really exited, so their sockets are closed when this returns.
    pub(crate) fn kill_and_wait_for_children(&mut self) {
        let pid = self.child.id();
        let children: Vec<String> =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        for child in children {
            // Exited processes are gone or zombies (state Z): their files are closed either way.
            while Instant::now() < deadline {
                let stat =
                    std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
                let state = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().next());
                if matches!(state, None | Some("Z") | Some("X")) {
                    break;
                }
                std::thread::yield_now();
            }
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The numeric user and group ids of the OS user `name`, from `/etc/passwd`.
pub(crate) fn user_ids(name: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.len() > 3 && fields[0] == name)
        .and_then(|fields| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
        .unwrap_or_else(|| panic!("OS user {name} not found in /etc/passwd"))
}
