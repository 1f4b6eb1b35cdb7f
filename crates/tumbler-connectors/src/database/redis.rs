//! Redis: `AUTH username password` proves the password (ACL users; `default` for the
//! classic single password).

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
