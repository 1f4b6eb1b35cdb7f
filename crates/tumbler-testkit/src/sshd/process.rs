//! Starting, probing and killing the `sshd` process in its namespaces, and
//! running helper commands on the machine.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{io_err, SshHostError};

/// `PATH` given to every process the kit starts.
pub(super) const SAFE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Interval between readiness probes while waiting for `sshd` to listen.
pub(super) const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Script run as the first process of the new namespaces: mount the private
/// copies in place, then become `sshd`. `$1` is the host's temporary root.
pub(super) const START_SCRIPT: &str = r#"set -e
root="$1"
mount --bind "$root/etc" /etc
mount --bind "$root/home" /home
mkdir -p /run/sshd
exec /usr/sbin/sshd -D -E "$root/auth.log" -o LogLevel=VERBOSE
"#;

pub(super) enum Ready {
    PortTaken(String),
    Failed(SshHostError),
}

pub(super) fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

pub(super) fn check(cmd: &[&str], output: Output) -> Result<Output, SshHostError> {
    if output.status.success() {
        Ok(output)
    } else {
        Err(SshHostError::Command {
            command: cmd.join(" "),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

pub(super) fn run_sync(program: &str, args: &[&str]) -> Result<Output, SshHostError> {
    let described = format!("{program} {}", args.join(" "));
    let output = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", SAFE_PATH)
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(format!("running `{described}`")))?;
    let mut cmd = vec![program];
    cmd.extend_from_slice(args);
    check(&cmd, output)
}

pub(super) fn path_str(path: &Path) -> Result<&str, SshHostError> {
    path.to_str()
        .ok_or_else(|| SshHostError::Invalid(format!("non-UTF-8 path {}", path.display())))
}

pub(super) fn set_mode(path: &Path, mode: u32) -> Result<(), SshHostError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io_err(format!("chmod {mode:o} {}", path.display())))
}

pub(super) fn free_port() -> Result<u16, SshHostError> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(io_err("choosing a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io_err("choosing a free port"))?
        .port();
    Ok(port)
}

pub(super) fn spawn_host(root: &Path) -> Result<Child, SshHostError> {
    let root_s = path_str(root)?;
    let console =
        std::fs::File::create(root.join("console.log")).map_err(io_err("creating console.log"))?;
    let console_err = console
        .try_clone()
        .map_err(io_err("creating console.log"))?;
    let _ = std::fs::remove_file(root.join("sshd.pid"));
    // setpriv: if the test process dies, unshare gets SIGKILL; --kill-child:
    // then sshd does; -p: sshd is init of its PID namespace, so its session
    // processes die with it.
    Command::new("setpriv")
        .args([
            "--pdeathsig",
            "KILL",
            "unshare",
            "--mount",
            "--pid",
            "--propagation",
            "private",
            "--fork",
            "--kill-child",
            "/bin/sh",
            "-c",
            START_SCRIPT,
            "tumbler-sshd-host",
            root_s,
        ])
        .env_clear()
        .env("PATH", SAFE_PATH)
        .env("LANG", "C")
        .stdin(Stdio::null())
        .stdout(console)
        .stderr(console_err)
        .spawn()
        .map_err(io_err("spawning setpriv/unshare/sshd"))
}

pub(super) async fn wait_ready(
    child: &mut Child,
    root: &Path,
    port: u16,
    timeout: Duration,
) -> Result<(), Ready> {
    let deadline = Instant::now() + timeout;
    let pid_file = root.join("sshd.pid");
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let log = format!(
                    "{}{}",
                    read_lossy(&root.join("auth.log")),
                    read_lossy(&root.join("console.log"))
                );
                if log.contains("Address already in use") {
                    return Err(Ready::PortTaken(log));
                }
                return Err(Ready::Failed(SshHostError::NotStarted {
                    reason: format!("unshare/sshd exited with {status}"),
                    log,
                }));
            }
            Ok(None) => {}
            Err(e) => {
                return Err(Ready::Failed(io_err("waiting for sshd")(e)));
            }
        }
        // sshd writes its PidFile once its listening socket is bound; the
        // connect proves it is ours and accepting.
        if pid_file.exists()
            && tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Ready::Failed(SshHostError::NotStarted {
                reason: format!("not listening on port {port} after {timeout:?}"),
                log: read_lossy(&root.join("auth.log")),
            }));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

pub(super) fn kill_and_reap(child: &mut Child) {
    // Kill the namespace's init (sshd) first so `unshare` reaps it and exits
    // by itself; killing `unshare` first would leave sshd a zombie for the
    // machine's init to reap. The kernel then kills the rest of the PID
    // namespace. Errors: the process is already gone, nothing else to do.
    if let Ok(None) = child.try_wait() {
        let pid = child.id();
        let children = read_lossy(Path::new(&format!("/proc/{pid}/task/{pid}/children")));
        for inner in children.split_whitespace() {
            let _ = Command::new("kill")
                .args(["-KILL", inner])
                .env_clear()
                .env("PATH", SAFE_PATH)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
