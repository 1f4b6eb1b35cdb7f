//! [`SshHostBuilder`]: a host's settings, and starting it (retrying on a taken port).

use std::path::Path;
use std::time::Duration;

use super::host::SshHost;
use super::private_root::{prepare_root, write_sshd_config};
use super::process::{free_port, kill_and_reap, spawn_host, wait_ready, Ready};
use super::{io_err, SshHostError, TestUser};

/// Where Debian's snoopy may be installed; the first existing path is used.
const SNOOPY_CANDIDATES: &[&str] = &[
    "/lib/x86_64-linux-gnu/libsnoopy.so",
    "/usr/lib/x86_64-linux-gnu/libsnoopy.so",
    "/lib/aarch64-linux-gnu/libsnoopy.so",
    "/usr/lib/aarch64-linux-gnu/libsnoopy.so",
];

/// How many times to retry with a new port when another process took the
/// port between choosing it and `sshd` binding it.
const PORT_ATTEMPTS: usize = 5;

/// Builds and starts an [`SshHost`].
#[derive(Debug, Clone)]
pub struct SshHostBuilder {
    users: Vec<TestUser>,
    start_timeout: Duration,
    max_startups: String,
    permit_root_login: bool,
}

impl Default for SshHostBuilder {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            start_timeout: Duration::from_secs(20),
            max_startups: "1000:30:2000".to_owned(),
            permit_root_login: false,
        }
    }
}

impl SshHostBuilder {
    /// A builder with no users, a 20 s start deadline and `MaxStartups 1000:30:2000`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a user to create before the host is returned.
    pub fn user(mut self, user: TestUser) -> Self {
        self.users.push(user);
        self
    }

    /// Adds several users to create before the host is returned.
    pub fn users(mut self, users: &[TestUser]) -> Self {
        self.users.extend_from_slice(users);
        self
    }

    /// How long to wait for `sshd` to accept connections.
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// The `MaxStartups` value written to the host's `sshd_config`.
    pub fn max_startups(mut self, value: impl Into<String>) -> Self {
        self.max_startups = value.into();
        self
    }

    /// Lets `root` log in with its password (`PermitRootLogin yes`; the default is `no`), so
    /// a test can prove a changed root password by a login.
    pub fn permit_root_login(mut self) -> Self {
        self.permit_root_login = true;
        self
    }

    /// Prepares the private `/etc` and `/home`, starts `sshd`, waits until it
    /// accepts TCP connections and creates the users.
    pub async fn start(self) -> Result<SshHost, SshHostError> {
        let snoopy = SNOOPY_CANDIDATES
            .iter()
            .map(Path::new)
            .find(|p| p.exists())
            .ok_or_else(|| SshHostError::Missing("snoopy (apt-get install snoopy)".into()))?;
        if !Path::new("/usr/sbin/sshd").exists() {
            return Err(SshHostError::Missing(
                "/usr/sbin/sshd (apt-get install openssh-server)".into(),
            ));
        }

        let root = tempfile::Builder::new()
            .prefix("tumbler-sshd-")
            .tempdir()
            .map_err(io_err("creating the host's temporary directory"))?;
        let fingerprint = prepare_root(root.path(), snoopy)?;

        let mut last_failure = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port()?;
            write_sshd_config(
                root.path(),
                port,
                &self.max_startups,
                self.permit_root_login,
            )?;
            let mut child = spawn_host(root.path())?;
            match wait_ready(&mut child, root.path(), port, self.start_timeout).await {
                Ok(()) => {
                    let host = SshHost {
                        child,
                        port,
                        fingerprint,
                        root,
                    };
                    for user in &self.users {
                        host.add_user(user).await?;
                    }
                    return Ok(host);
                }
                Err(Ready::PortTaken(log)) => {
                    kill_and_reap(&mut child);
                    last_failure = log;
                    // Start the next attempt with an empty log.
                    std::fs::write(root.path().join("auth.log"), b"")
                        .map_err(io_err("truncating auth.log"))?;
                }
                Err(Ready::Failed(err)) => {
                    kill_and_reap(&mut child);
                    return Err(err);
                }
            }
        }
        Err(SshHostError::NotStarted {
            reason: format!("no free port after {PORT_ATTEMPTS} attempts"),
            log: last_failure,
        })
    }
}
