//! [`SshHost`]: a running test host, and what a test does with it (users,
//! keys, logs, commands inside its namespace, restarts).

use std::fmt;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::io::AsyncWriteExt;

use super::private_root::generate_host_key;
use super::process::{
    check, kill_and_reap, read_lossy, spawn_host, wait_ready, Ready, POLL_INTERVAL, SAFE_PATH,
};
use super::{io_err, SshHostBuilder, SshHostError, TestUser};

/// A running OpenSSH test host. Dropping it kills `sshd` and every process of
/// its namespace, then deletes its private `/etc` and `/home`.
pub struct SshHost {
    pub(super) child: Child,
    pub(super) port: u16,
    pub(super) fingerprint: String,
    // Dropped after `Drop::drop` has killed the processes using it.
    pub(super) root: TempDir,
}

impl fmt::Debug for SshHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshHost")
            .field("port", &self.port)
            .field("fingerprint", &self.fingerprint)
            .field("root", &self.root.path())
            .finish()
    }
}

impl SshHost {
    /// Starts a host with these users and default settings.
    pub async fn start(users: &[TestUser]) -> Result<Self, SshHostError> {
        SshHostBuilder::new().users(users).start().await
    }

    /// A builder for a host with non-default settings.
    pub fn builder() -> SshHostBuilder {
        SshHostBuilder::new()
    }

    /// The TCP port `sshd` listens on (on `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address `sshd` listens on: always `127.0.0.1`.
    pub fn address(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The SHA-256 fingerprint of the host key as OpenSSH prints it
    /// (`SHA256:<base64 without padding>`), read with `ssh-keygen -l`.
    pub fn host_key_fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The host's private directory (outside the namespace): holds `etc/`,
    /// `home/`, `auth.log` and `snoopy.log`.
    pub fn root_dir(&self) -> &Path {
        self.root.path()
    }

    /// The process id of `unshare`, a member of the host's mount namespace.
    pub fn namespace_pid(&self) -> u32 {
        self.child.id()
    }

    /// The sshd log so far (`LogLevel=VERBOSE`): connections, accepted and
    /// failed authentications with method and user.
    pub fn auth_log(&self) -> String {
        read_lossy(&self.root.path().join("auth.log"))
    }

    /// Every command line executed on the host so far, as logged by snoopy:
    /// snoopy logs the `execve` calls of processes that loaded it, that is
    /// sshd and everything below it (the command run by [`SshHost::run_inside`]
    /// itself is exec'd by `nsenter`, which did not, but its children are).
    pub fn command_log(&self) -> String {
        read_lossy(&self.root.path().join("snoopy.log"))
    }

    /// Polls the auth log until `condition` holds or `timeout` passes, then
    /// returns the log. sshd's privilege-separated children write their log
    /// lines through the monitor, so a line may land just after the client
    /// saw the event.
    pub async fn wait_for_auth_log(
        &self,
        what: &str,
        timeout: Duration,
        condition: impl Fn(&str) -> bool,
    ) -> Result<String, SshHostError> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.auth_log();
            if condition(&log) {
                return Ok(log);
            }
            if Instant::now() >= deadline {
                return Err(SshHostError::Timeout {
                    what: format!("{what}; auth log:\n{log}"),
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Runs a command inside the host's mount namespace (`nsenter -t <pid> -m`),
    /// so it sees the host's `/etc` and `/home`. Returns its output whatever
    /// its exit status.
    pub async fn run_inside(&self, cmd: &[&str]) -> Result<Output, SshHostError> {
        self.run_inside_with_stdin(cmd, &[]).await
    }

    /// Like [`SshHost::run_inside`], writing `stdin` to the command's standard
    /// input. Use this, never an argument, for anything secret.
    pub async fn run_inside_with_stdin(
        &self,
        cmd: &[&str],
        stdin: &[u8],
    ) -> Result<Output, SshHostError> {
        let pid = self.child.id().to_string();
        let mut command = tokio::process::Command::new("nsenter");
        command
            .args(["-t", &pid, "-m", "--"])
            .args(cmd)
            .env_clear()
            .env("PATH", SAFE_PATH)
            .env("LANG", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let described = cmd.join(" ");
        let mut child = command
            .spawn()
            .map_err(io_err(format!("spawning nsenter for `{described}`")))?;
        if let Some(mut input) = child.stdin.take() {
            input
                .write_all(stdin)
                .await
                .map_err(io_err(format!("writing stdin of `{described}`")))?;
            drop(input);
        }
        child
            .wait_with_output()
            .await
            .map_err(io_err(format!("waiting for `{described}`")))
    }

    /// Like [`SshHost::run_inside`], but an unsuccessful exit is an error.
    pub async fn run_inside_ok(&self, cmd: &[&str]) -> Result<Output, SshHostError> {
        let output = self.run_inside(cmd).await?;
        check(cmd, output)
    }

    /// Creates a user with a home directory and `/bin/bash`, sets its password
    /// and, if asked, adds it to the `sudo` group.
    pub async fn add_user(&self, user: &TestUser) -> Result<(), SshHostError> {
        validate_name(&user.name)?;
        let mut cmd = vec!["useradd", "-m", "-s", "/bin/bash"];
        if user.sudo {
            cmd.extend(["-G", "sudo"]);
        }
        cmd.push(&user.name);
        self.run_inside_ok(&cmd).await?;
        self.set_password(&user.name, &user.password).await
    }

    /// Sets a user's password with `chpasswd`, the password on its stdin.
    pub async fn set_password(&self, user: &str, password: &str) -> Result<(), SshHostError> {
        validate_name(user)?;
        if password.contains('\n') {
            return Err(SshHostError::Invalid(
                "a password for chpasswd cannot contain a newline".into(),
            ));
        }
        let line = format!("{user}:{password}\n");
        let cmd = ["chpasswd"];
        let output = self.run_inside_with_stdin(&cmd, line.as_bytes()).await?;
        check(&cmd, output).map(|_| ())
    }

    /// The user's line of the host's `/etc/shadow`, if the user exists there.
    pub async fn shadow_entry(&self, user: &str) -> Result<Option<String>, SshHostError> {
        let output = self.run_inside_ok(&["cat", "/etc/shadow"]).await?;
        let prefix = format!("{user}:");
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .find(|l| l.starts_with(&prefix))
            .map(str::to_owned))
    }

    /// Appends an OpenSSH public key line to the user's
    /// `~/.ssh/authorized_keys`, with the ownership and modes sshd requires.
    pub async fn authorize_key(&self, user: &str, public_key: &str) -> Result<(), SshHostError> {
        validate_name(user)?;
        let home = self.root.path().join("home").join(user);
        let ssh_dir = home.join(".ssh");
        std::fs::create_dir_all(&ssh_dir).map_err(io_err("creating ~/.ssh"))?;
        let keys = ssh_dir.join("authorized_keys");
        let mut content = read_lossy(&keys);
        content.push_str(public_key.trim());
        content.push('\n');
        std::fs::write(&keys, content).map_err(io_err("writing authorized_keys"))?;
        let inside_dir = format!("/home/{user}/.ssh");
        let inside_keys = format!("{inside_dir}/authorized_keys");
        let owner = format!("{user}:{user}");
        self.run_inside_ok(&["chown", "-R", &owner, &inside_dir])
            .await?;
        self.run_inside_ok(&["chmod", "700", &inside_dir]).await?;
        self.run_inside_ok(&["chmod", "600", &inside_keys]).await?;
        Ok(())
    }

    /// Stops `sshd`, gives the host a new host key and starts it again on the same port,
    /// with the same users and files (a reinstalled or impersonated server, as a client
    /// sees it). Returns the new fingerprint.
    pub async fn restart_with_new_host_key(&mut self) -> Result<String, SshHostError> {
        kill_and_reap(&mut self.child);
        let fingerprint = generate_host_key(&self.root.path().join("etc").join("ssh"))?;
        self.start_again().await?;
        self.fingerprint = fingerprint.clone();
        Ok(fingerprint)
    }

    /// Starts `sshd` again on the same port with the same host key, users and files (a
    /// device coming back after being down); a running one is stopped first.
    pub async fn start_again(&mut self) -> Result<(), SshHostError> {
        kill_and_reap(&mut self.child);
        let mut child = spawn_host(self.root.path())?;
        match wait_ready(
            &mut child,
            self.root.path(),
            self.port,
            Duration::from_secs(20),
        )
        .await
        {
            Ok(()) => {
                self.child = child;
                Ok(())
            }
            Err(Ready::PortTaken(log)) => {
                kill_and_reap(&mut child);
                Err(SshHostError::NotStarted {
                    reason: format!("port {} was taken while the host restarted", self.port),
                    log,
                })
            }
            Err(Ready::Failed(e)) => {
                kill_and_reap(&mut child);
                Err(e)
            }
        }
    }

    /// Kills the host now (also done on drop).
    pub fn kill(&mut self) {
        kill_and_reap(&mut self.child);
    }
}

impl Drop for SshHost {
    fn drop(&mut self) {
        kill_and_reap(&mut self.child);
    }
}

pub(super) fn validate_name(name: &str) -> Result<(), SshHostError> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(SshHostError::Invalid(format!("user name {name:?}")))
    }
}
