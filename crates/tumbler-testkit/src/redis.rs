//! A private `redis-server` for one test: its own port and directory, ACL users from an ACL
//! file (the `default` user switched off), killed when dropped.

use crate::ports::free_port;
use crate::util::{contained_command, poll_until, ChildGuard};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// One ACL user of the test server.
#[derive(Debug, Clone)]
pub struct RedisUser {
    name: String,
    password: String,
    admin: bool,
}

impl RedisUser {
    /// A user who may only `PING` (and log in).
    pub fn new(name: &str, password: &str) -> Self {
        Self {
            name: name.to_owned(),
            password: password.to_owned(),
            admin: false,
        }
    }

    /// The same, allowed every command (`ACL SETUSER` included).
    pub fn admin(mut self) -> Self {
        self.admin = true;
        self
    }

    fn acl_line(&self) -> String {
        let perms = if self.admin { "~* &* +@all" } else { "+ping" };
        format!("user {} on >{} {perms}\n", self.name, self.password)
    }
}

/// A running private Redis.
pub struct RedisServer {
    // The server dies before its directory goes.
    server: ChildGuard,
    port: u16,
    dir: TempDir,
}

impl std::fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl RedisServer {
    /// Starts `redis-server` with `users` in its ACL file; returns once it answers.
    ///
    /// # Panics
    /// If `redis-server` is missing or does not answer within 20 seconds.
    pub async fn start(users: &[RedisUser]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tumbler-redis-")
            .tempdir()
            .expect("create a temporary directory for redis");
        let mut acl = String::from("user default off\n");
        for u in users {
            acl.push_str(&u.acl_line());
        }
        std::fs::write(dir.path().join("users.acl"), acl).expect("write the ACL file");
        let port = free_port();
        let mut cmd = contained_command("redis-server", None);
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--aclfile")
            .arg(dir.path().join("users.acl"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut server = ChildGuard::spawn(cmd, "redis-server");
        let ready = poll_until(READY_WITHIN, || {
            let exited = server.exited();
            async move {
                if let Some(why) = exited {
                    return Some(Err(why));
                }
                ping(port).await.then_some(Ok(()))
            }
        })
        .await;
        match ready {
            Some(Ok(())) => Self { server, port, dir },
            Some(Err(why)) => panic!("private redis-server did not start: {why}"),
            None => panic!("private redis-server not answering after {READY_WITHIN:?}"),
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The ACL file (what `ACL SAVE` wrote last).
    pub fn acl_file(&self) -> PathBuf {
        self.dir.path().join("users.acl")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.server.kill();
    }
}

/// Whether something on the port answers a RESP `PING` (with `-NOAUTH` or `+PONG`).
async fn ping(port: u16) -> bool {
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if s.write_all(b"*1\r\n$4\r\nPING\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 1];
    matches!(s.read(&mut buf).await, Ok(1))
}
