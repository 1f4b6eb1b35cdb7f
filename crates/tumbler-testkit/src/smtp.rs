//! A real SMTP server on loopback that the test reads back.
//!
//! [`SmtpSink`] runs Debian's aiosmtpd (`/usr/bin/python3 -m aiosmtpd`, not
//! the first `python3` on `PATH`, which may lack the module) with its
//! `Mailbox` handler, which stores every accepted message in a Maildir
//! together with the SMTP envelope (`X-MailFrom`, `X-RcptTo`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use tempfile::TempDir;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::ports::free_port;
use crate::util::{contained_command, poll_until, ChildGuard};

/// The interpreter that has Debian's python3-aiosmtpd.
pub const PYTHON: &str = "/usr/bin/python3";
/// How long the server may take to greet.
const READY_WITHIN: Duration = Duration::from_secs(20);
/// How many ports to try if the chosen one was taken meanwhile.
const START_ATTEMPTS: usize = 3;

/// One message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// Envelope sender (`MAIL FROM`).
    pub from: String,
    /// Envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The `Subject` header, RFC 2047 encoded words decoded.
    pub subject: String,
    /// The body after the header, transfer encoding (quoted-printable or
    /// base64) decoded for a single-part message; as sent for multipart.
    pub body: String,
    /// Header fields in order, unfolded, names as sent.
    pub headers: Vec<(String, String)>,
    /// The whole message as stored.
    pub raw: String,
}

impl ReceivedMail {
    /// The first header field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A running SMTP server on 127.0.0.1 accepting every message; killed on
/// `Drop`.
#[derive(Debug)]
pub struct SmtpSink {
    server: ChildGuard,
    port: u16,
    maildir: PathBuf,
    dir: TempDir,
}

impl SmtpSink {
    /// Starts the server on a free port; returns once it greets with `220`.
    ///
    /// # Panics
    /// If aiosmtpd cannot start or does not greet within 20 seconds.
    pub async fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tumbler-smtp-")
            .tempdir()
            .expect("create a temporary directory for the SMTP sink");
        let maildir = dir.path().join("maildir");
        let log_path = dir.path().join("aiosmtpd.log");
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .expect("open the SMTP sink's log");
            let mut cmd = contained_command(PYTHON, None);
            cmd.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(&maildir)
                .env("PYTHONUNBUFFERED", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log);
            let mut server = ChildGuard::spawn(cmd, "aiosmtpd");
            let ready = poll_until(READY_WITHIN, || {
                let exited = server.exited();
                async move {
                    if let Some(why) = exited {
                        return Some(Err(why));
                    }
                    greets(port).await.then_some(Ok(()))
                }
            })
            .await;
            match ready {
                Some(Ok(())) => {
                    return Self {
                        server,
                        port,
                        maildir,
                        dir,
                    }
                }
                Some(Err(why)) => failures.push(format!("port {port}: {why}")),
                None => failures.push(format!("port {port}: no greeting after {READY_WITHIN:?}")),
            }
        }
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        panic!(
            "SMTP sink did not start ({}); is python3-aiosmtpd installed for {PYTHON}?\n{log}",
            failures.join("; ")
        );
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host to connect to, `127.0.0.1`.
    pub fn host(&self) -> &str {
        "127.0.0.1"
    }

    /// Directory of the sink's log and Maildir.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every message accepted so far, in the order they arrived.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut files: Vec<(u64, PathBuf)> = ["new", "cur"]
            .iter()
            .flat_map(|sub| {
                std::fs::read_dir(self.maildir.join(sub))
                    .into_iter()
                    .flatten()
            })
            .flatten()
            .map(|entry| {
                (
                    arrival_counter(&entry.file_name().to_string_lossy()),
                    entry.path(),
                )
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, path)| std::fs::read(path).ok())
            .map(|bytes| parse_message(&String::from_utf8_lossy(&bytes)))
            .collect()
    }

    /// Waits until at least `n` messages have arrived and returns them all.
    ///
    /// # Panics
    /// If fewer than `n` arrived within `within`.
    pub async fn wait_for_messages(&self, n: usize, within: Duration) -> Vec<ReceivedMail> {
        let found = poll_until(within, || {
            let messages = self.messages();
            async move { (messages.len() >= n).then_some(messages) }
        })
        .await;
        found.unwrap_or_else(|| {
            panic!(
                "expected {n} message(s) at the SMTP sink within {within:?}, got {}",
                self.messages().len()
            )
        })
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.server.kill_and_wait_for_children();
    }
}

/// Whether something on `port` greets like an SMTP server.
async fn greets(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let mut buf = [0u8; 3];
    matches!(
        tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut buf)).await,
        Ok(Ok(_))
    ) && &buf == b"220"
}

/// Python's Maildir names files `SECS.MUSECSPPIDQCOUNT.HOST`; the counter
/// increases with every message one server stores.
fn arrival_counter(file_name: &str) -> u64 {
    file_name
        .split_once('Q')
        .map(|(_, rest)| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(u64::MAX)
}

fn parse_message(raw: &str) -> ReceivedMail {
    let text = raw.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let encoding = get("Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let body = match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(body.split_whitespace().collect::<String>())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_else(|_| body.to_owned()),
        _ => body.to_owned(),
    };
    ReceivedMail {
        from: get("X-MailFrom")
            .or_else(|| get("From"))
            .unwrap_or_default(),
        to: get("X-RcptTo")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        subject: decode_encoded_words(&get("Subject").unwrap_or_default()),
        body,
        headers,
        raw: raw.to_owned(),
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Quoted-printable (RFC 2045) to text; `underscore_is_space` for RFC 2047.
fn decode_qp_bytes(input: &str, underscore_is_space: bool) -> Vec<u8> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' => match (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 3;
                }
                _ => {
                    out.push(b'=');
                    i += 1;
                }
            },
            b'_' if underscore_is_space => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    out
}

fn decode_quoted_printable(input: &str) -> String {
    String::from_utf8_lossy(&decode_qp_bytes(input, false)).into_owned()
}

/// Decodes RFC 2047 encoded words (`=?charset?B|Q?text?=`), assuming UTF-8
/// or ASCII; whitespace between adjacent encoded words is dropped.
fn decode_encoded_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        let decoded = candidate[2..].split_once('?').and_then(|(_charset, tail)| {
            let (kind, tail) = tail.split_once('?')?;
            let (text, after) = tail.split_once("?=")?;
            let bytes = match kind {
                "B" | "b" => base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .ok()?,
                "Q" | "q" => decode_qp_bytes(text, true),
                _ => return None,
            };
            Some((String::from_utf8_lossy(&bytes).into_owned(), after))
        });
        match decoded {
            Some((word, after)) => {
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&word);
                rest = after;
                last_was_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &candidate[2..];
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_encoded_words_and_quoted_printable() {
        assert_eq!(
            decode_encoded_words("=?utf-8?b?w6l0w6k=?= =?utf-8?q?_fin?="),
            "été fin"
        );
        assert_eq!(decode_encoded_words("plain subject"), "plain subject");
        assert_eq!(decode_quoted_printable("caf=C3=A9 =\nsoft"), "café soft");
    }

    #[test]
    fn parses_envelope_and_subject() {
        let mail = parse_message(
            "X-MailFrom: a@x.test\nX-RcptTo: b@x.test, c@x.test\nSubject: Hi\n there\n\nbody\n",
        );
        assert_eq!(mail.from, "a@x.test");
        assert_eq!(mail.to, ["b@x.test", "c@x.test"]);
        assert_eq!(mail.subject, "Hi there");
        assert_eq!(mail.body, "body\n");
    }
}
