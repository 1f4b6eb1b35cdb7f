//! Redis: `AUTH username password` proves the password (ACL users; `default` for the
//! classic single password), and [`RedisAdmin`] changes ACL users' passwords as SHA-256
//! hashes (`#<hash>` adds one, `!<hash>` removes one), so no clear password goes to the
//! server on a change.

use super::{DbError, DbTarget};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use zeroize::Zeroizing;

/// The longest reply line read from the server.
const MAX_REPLY: usize = 1024;

fn bulk(out: &mut Vec<u8>, part: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
    out.extend_from_slice(part);
    out.extend_from_slice(b"\r\n");
}

/// Sends `AUTH username password` and reads the answer: `+OK` proves the password,
/// `-WRONGPASS` (or an `-ERR` about the password) refuses it.
pub async fn verify_redis(
    target: &DbTarget,
    username: &str,
    password: &SecretString,
) -> Result<(), DbError> {
    check_transport(target)?;
    let address = target.display();
    let exchange = async {
        let stream = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| DbError::Unreachable {
                address: address.clone(),
                reason: e.to_string(),
            })?;
        let mut stream = BufReader::new(stream);
        let mut command = Zeroizing::new(b"*3\r\n".to_vec());
        bulk(&mut command, b"AUTH");
        bulk(&mut command, username.as_bytes());
        bulk(&mut command, password.expose_secret().as_bytes());
        let io = |e: std::io::Error| DbError::Protocol(e.to_string());
        stream.get_mut().write_all(&command).await.map_err(io)?;
        let mut line = Vec::new();
        let mut limited = (&mut stream).take(MAX_REPLY as u64);
        limited.read_until(b'\n', &mut line).await.map_err(io)?;
        let reply = String::from_utf8_lossy(&line).trim_end().to_owned();
        let _ = stream.get_mut().write_all(b"*1\r\n$4\r\nQUIT\r\n").await;
        if reply == "+OK" {
            Ok(())
        } else if reply.starts_with("-WRONGPASS")
            || reply.starts_with("-NOPERM")
            || reply.contains("invalid username-password")
            || reply.contains("invalid password")
        {
            Err(DbError::AuthFailed)
        } else {
            // Redis error replies never echo the command's arguments.
            Err(DbError::Protocol(format!("unexpected reply {reply:?}")))
        }
    };
    tokio::time::timeout(target.timeout, exchange)
        .await
        .map_err(|_| DbError::Timeout)?
}

/// Refuses, before connecting, to send `AUTH` in clear to a non-loopback address unless
/// the asset explicitly allows it (this connector has no TLS).
fn check_transport(target: &DbTarget) -> Result<(), DbError> {
    if tumbler_domain::inventory::is_loopback(&target.host) || target.tls.plaintext_auth_allowed {
        Ok(())
    } else {
        Err(DbError::InsecureTransport(
            "Redis AUTH would travel in clear to a non-loopback address; the asset does not allow it"
                .to_owned(),
        ))
    }
}

/// SHA-256 of the password in lower-case hex: the form `ACL SETUSER` takes with `#` and `!`.
fn acl_hash(password: &SecretString) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(password.expose_secret().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A connection to Redis as a user allowed to run `ACL` commands, reused for every account
/// changed on one asset.
pub struct RedisAdmin {
    stream: BufReader<tokio::net::TcpStream>,
    timeout: std::time::Duration,
    /// A command was cut off: its reply may still come, so nothing more is sent.
    broken: bool,
}

impl std::fmt::Debug for RedisAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdmin").finish_non_exhaustive()
    }
}

/// One reply of the server, as far as these commands need.
enum Reply {
    /// `+...`
    Status(String),
    /// `-...`, as the server wrote it: `ACL SETUSER` errors quote the rule, which holds a
    /// password hash, so it goes out only through [`withheld`].
    Error(String),
    /// `*N` followed by N bulk strings (`None` for a null array).
    Strings(Option<Vec<String>>),
}

impl RedisAdmin {
    /// Logs in as `username` with `password`.
    pub async fn connect(
        target: &DbTarget,
        username: &str,
        password: &SecretString,
    ) -> Result<Self, DbError> {
        check_transport(target)?;
        let address = target.display();
        let connect = tokio::net::TcpStream::connect((target.host.as_str(), target.port));
        let stream = match tokio::time::timeout(target.timeout, connect).await {
            Err(_) => return Err(DbError::Timeout),
            Ok(Err(e)) => {
                return Err(DbError::Unreachable {
                    address,
                    reason: e.to_string(),
                })
            }
            Ok(Ok(s)) => s,
        };
        let mut admin = Self {
            stream: BufReader::new(stream),
            timeout: target.change_wait(),
            broken: false,
        };
        let args: [&[u8]; 3] = [
            b"AUTH",
            username.as_bytes(),
            password.expose_secret().as_bytes(),
        ];
        let auth = admin.command(&args);
        match tokio::time::timeout(target.timeout, auth).await {
            Err(_) => Err(DbError::Timeout),
            Ok(Err(e)) => Err(e),
            Ok(Ok(Reply::Status(_))) => Ok(admin),
            Ok(Ok(Reply::Error(e))) if e.starts_with("WRONGPASS") || e.contains("invalid") => {
                Err(DbError::AuthFailed)
            }
            Ok(Ok(Reply::Error(e))) => Err(DbError::Protocol(withheld(&e))),
            Ok(Ok(Reply::Strings(_))) => Err(DbError::Protocol("unexpected reply to AUTH".into())),
        }
    }

    /// Adds `new_password` to `user`'s passwords (as its hash). Refuses a user the server
    /// does not have: `ACL SETUSER` would create it.
    pub async fn add_password(
        &mut self,
        user: &str,
        new_password: &SecretString,
    ) -> Result<(), DbError> {
        let rule = format!("#{}", acl_hash(new_password));
        let limit = self.timeout;
        let work = async {
            match self.command(&[b"ACL", b"USERS"]).await? {
                Reply::Strings(Some(users)) if users.iter().any(|u| u == user) => {}
                Reply::Strings(_) => {
                    return Err(DbError::Protocol(format!("no user named {user}")))
                }
                Reply::Error(e) => return Err(DbError::Protocol(withheld(&e))),
                Reply::Status(s) => {
                    return Err(DbError::Protocol(format!("unexpected reply {s:?}")))
                }
            }
            self.expect_ok(&[b"ACL", b"SETUSER", user.as_bytes(), rule.as_bytes()])
                .await?;
            // Saved at once: a restart must not bring back a state without the new password.
            self.save_acl().await;
            Ok(())
        };
        let result = tokio::time::timeout(limit, work).await;
        self.settle(result)
    }

    /// Removes `old_password` from `user`'s passwords (by its hash), then saves the ACL: to
    /// the ACL file when the server has one, else into its configuration file. Returns
    /// whether the change was saved; `false` means it lives in the server's memory only.
    pub async fn remove_password(
        &mut self,
        user: &str,
        old_password: &SecretString,
    ) -> Result<bool, DbError> {
        let rule = format!("!{}", acl_hash(old_password));
        let limit = self.timeout;
        let work = async {
            self.expect_ok(&[b"ACL", b"SETUSER", user.as_bytes(), rule.as_bytes()])
                .await?;
            Ok(self.save_acl().await)
        };
        let result = tokio::time::timeout(limit, work).await;
        self.settle(result)
    }

    /// A command cut off by the time limit leaves its reply unread on the connection: the
    /// connection is not used again (a later command would read that reply as its own).
    fn settle<T>(
        &mut self,
        result: Result<Result<T, DbError>, tokio::time::error::Elapsed>,
    ) -> Result<T, DbError> {
        match result {
            Ok(r) => r,
            Err(_) => {
                self.broken = true;
                Err(DbError::Timeout)
            }
        }
    }

    /// Saves the ACL: `ACL SAVE` where the server keeps users in an ACL file, else (and only
    /// then) `CONFIG REWRITE` into its configuration file. Returns whether it was saved.
    async fn save_acl(&mut self) -> bool {
        match self.command(&[b"ACL", b"SAVE"]).await {
            Ok(Reply::Status(_)) => true,
            Ok(Reply::Error(e)) if e.contains("not configured to use an ACL file") => matches!(
                self.command(&[b"CONFIG", b"REWRITE"]).await,
                Ok(Reply::Status(_))
            ),
            _ => false,
        }
    }

    /// Whether the connection was given up (a command cut off or its reply lost): a new one
    /// is needed for any further command.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Closes the connection.
    pub async fn close(mut self) {
        let _ = self
            .stream
            .get_mut()
            .write_all(b"*1\r\n$4\r\nQUIT\r\n")
            .await;
    }

    async fn expect_ok(&mut self, args: &[&[u8]]) -> Result<(), DbError> {
        match self.command(args).await? {
            Reply::Status(_) => Ok(()),
            Reply::Error(e) => Err(DbError::Protocol(withheld(&e))),
            Reply::Strings(_) => Err(DbError::Protocol("unexpected array reply".into())),
        }
    }

    async fn command(&mut self, args: &[&[u8]]) -> Result<Reply, DbError> {
        if self.broken {
            return Err(DbError::Protocol(
                "the connection was abandoned after a time limit".into(),
            ));
        }
        let mut out = Zeroizing::new(format!("*{}\r\n", args.len()).into_bytes());
        for a in args {
            bulk(&mut out, a);
        }
        let io = |e: std::io::Error| DbError::Protocol(e.to_string());
        self.stream.get_mut().write_all(&out).await.map_err(io)?;
        // The command is on its way: a reply that never comes leaves its effect unknown, and
        // the connection is not used again.
        let line = match self.line().await {
            Ok(line) => line,
            Err(_) => {
                self.broken = true;
                return Err(DbError::ReplyLost);
            }
        };
        match line.split_at_checked(1) {
            Some(("+", rest)) => Ok(Reply::Status(rest.to_owned())),
            Some(("-", rest)) => Ok(Reply::Error(rest.to_owned())),
            Some(("*", n)) => {
                let n: i64 = n
                    .parse()
                    .map_err(|_| DbError::Protocol("bad array length".into()))?;
                if n < 0 {
                    return Ok(Reply::Strings(None));
                }
                let mut items = Vec::new();
                for _ in 0..n {
                    let header = self.line().await?;
                    let len: usize = header
                        .strip_prefix('$')
                        .and_then(|l| l.parse().ok())
                        .filter(|l| *l <= MAX_REPLY)
                        .ok_or_else(|| DbError::Protocol("unexpected array item".into()))?;
                    let mut data = vec![0u8; len + 2];
                    self.stream.read_exact(&mut data).await.map_err(io)?;
                    data.truncate(len);
                    items.push(String::from_utf8_lossy(&data).into_owned());
                }
                Ok(Reply::Strings(Some(items)))
            }
            _ => Err(DbError::Protocol(format!("unexpected reply {line:?}"))),
        }
    }

    async fn line(&mut self) -> Result<String, DbError> {
        let mut line = Vec::new();
        let mut limited = (&mut self.stream).take(MAX_REPLY as u64);
        limited
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| DbError::Protocol(e.to_string()))?;
        if line.is_empty() {
            return Err(DbError::Protocol("the server closed the connection".into()));
        }
        Ok(String::from_utf8_lossy(&line).trim_end().to_owned())
    }
}

/// A server error reply fit for logs and records: its code word only (`ERR`, `NOPERM`...),
/// since `ACL SETUSER` errors quote the rule and with it a password hash.
fn withheld(error: &str) -> String {
    let code = error.split_whitespace().next().unwrap_or("ERR");
    format!(
        "the server refused the command ({code}; its message is withheld: it may quote a password hash)"
    )
}
