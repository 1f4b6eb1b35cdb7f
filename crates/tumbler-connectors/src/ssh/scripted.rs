//! Custom SSH conversations: run a command (or open the login shell), wait for each expected
//! prompt (a regular expression, with its own timeout) and type its answer. Used for network
//! devices and anything without a built-in change method. Answers may be secret: they are
//! typed only after their prompt appears, and whatever the target printed is scrubbed of every
//! secret before it reaches an error.

use std::fmt;
use std::time::Duration;

use regex::bytes::Regex;
use russh::{ChannelMsg, Sig};
use zeroize::Zeroizing;

use super::become_root::scrub;
use super::session::SshSession;
use super::SshError;

/// How much of the latest output a pattern is matched against.
const SEARCH_WINDOW: usize = 64 * 1024;

/// One expected prompt and its answer.
pub struct ScriptStep<'a> {
    /// What the output must match.
    pub pattern: Regex,
    /// What to type when it does (with its line break), if anything.
    pub answer: Option<&'a [u8]>,
    /// How long to wait for the pattern.
    pub timeout: Duration,
    /// Whether the answer holds the new secret (after it is typed, the target may have taken
    /// the change whatever happens next).
    pub carries_new_secret: bool,
}

impl fmt::Debug for ScriptStep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptStep")
            .field("pattern", &self.pattern.as_str())
            .field("answer_len", &self.answer.map(<[u8]>::len))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why a conversation failed. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The SSH session failed.
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// The target printed something else and waited: the template expects another prompt.
    #[error("step {step}: waited {secs} s for /{expected}/ but the target printed: {seen}")]
    PromptMismatch {
        /// Step number, from 1.
        step: usize,
        /// The pattern.
        expected: String,
        /// The step's timeout in seconds.
        secs: u64,
        /// The last lines the target printed, secrets removed.
        seen: String,
    },
    /// Nothing came within the step's timeout.
    #[error("step {step}: nothing came within {secs} s (waiting for /{expected}/)")]
    PromptTimeout {
        /// Step number, from 1.
        step: usize,
        /// The pattern.
        expected: String,
        /// The step's timeout in seconds.
        secs: u64,
    },
    /// The command ended before the step's prompt appeared.
    #[error("step {step}: the command ended{status} before /{expected}/ appeared: {said}")]
    Ended {
        /// Step number, from 1.
        step: usize,
        /// The pattern.
        expected: String,
        /// ` with status N`, or empty.
        status: String,
        /// What it printed last, secrets removed.
        said: String,
    },
    /// Every prompt was answered but the command exited with a failure status.
    #[error("the command exited with status {status}: {said}")]
    Failed {
        /// Exit status.
        status: u32,
        /// What it printed last, secrets removed.
        said: String,
    },
    /// Every prompt was answered but the connection ended without an exit status.
    #[error("the connection ended before the command reported its exit status")]
    Interrupted,
}

impl ScriptError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Ssh(e) => e.code(),
            Self::PromptMismatch { .. } => "prompt_mismatch",
            Self::PromptTimeout { .. } => "timeout",
            Self::Ended { .. } | Self::Failed { .. } => "target_refused",
            Self::Interrupted => "interrupted",
        }
    }
}

/// A failed conversation and whether the new secret had been typed before it failed.
#[derive(Debug)]
pub struct ScriptFailure {
    /// What went wrong.
    pub error: ScriptError,
    /// Whether the target may have taken the new secret.
    pub new_secret_sent: bool,
}

struct Transcript {
    text: Zeroizing<Vec<u8>>,
    exit_status: Option<u32>,
    closed: bool,
}

impl Transcript {
    fn take(&mut self, msg: Option<ChannelMsg>) {
        match msg {
            Some(ChannelMsg::Data { data }) | Some(ChannelMsg::ExtendedData { data, .. }) => {
                self.text.extend_from_slice(&data)
            }
            Some(ChannelMsg::ExitStatus { exit_status }) => self.exit_status = Some(exit_status),
            Some(ChannelMsg::Close) | None => self.closed = true,
            _ => {}
        }
    }
}

/// Runs `command` (or, when empty, opens the login shell; `pty` asks for a terminal first)
/// and answers `steps` in order. `secrets` are removed from anything quoted in an error.
/// A template that types anything runs only in a session that may receive secrets
/// ([`SshSession::may_receive_secrets`]); otherwise it fails before the command starts.
pub async fn run_template(
    session: &SshSession,
    command: &str,
    pty: bool,
    steps: &[ScriptStep<'_>],
    secrets: &[&str],
) -> Result<(), ScriptFailure> {
    let mut new_secret_sent = false;
    let fail = |error: ScriptError, sent: bool| ScriptFailure {
        error,
        new_secret_sent: sent,
    };
    if steps
        .iter()
        .any(|s| s.answer.is_some_and(|a| !a.is_empty()))
    {
        session
            .ensure_may_receive_secrets()
            .map_err(|e| fail(e.into(), false))?;
    }
    let (mut reader, writer) = session
        .open_channel(pty, command)
        .await
        .map_err(|e| fail(e.into(), false))?;
    let mut out = Transcript {
        text: Zeroizing::new(Vec::new()),
        exit_status: None,
        closed: false,
    };
    // Secrets are removed from the whole transcript before its last lines are quoted, so a
    // match that ends inside an echoed secret cannot leave part of it in an error.
    let said = |text: &[u8]| scrub(&String::from_utf8_lossy(text), secrets);
    let mut seen = 0usize;
    for (i, step) in steps.iter().enumerate() {
        let deadline = tokio::time::Instant::now() + step.timeout;
        let expected = step.pattern.as_str().to_owned();
        loop {
            // Only the recent output is searched, so a chatty target costs linear time.
            let from = seen.max(out.text.len().saturating_sub(SEARCH_WINDOW));
            if let Some(m) = step.pattern.find(&out.text[from..]) {
                seen = from + m.end();
                break;
            }
            if out.closed {
                return Err(fail(
                    ScriptError::Ended {
                        step: i + 1,
                        expected,
                        status: out
                            .exit_status
                            .map(|s| format!(" with status {s}"))
                            .unwrap_or_default(),
                        said: said(&out.text),
                    },
                    new_secret_sent,
                ));
            }
            match tokio::time::timeout_at(deadline, reader.wait()).await {
                Ok(msg) => out.take(msg),
                Err(_) => {
                    let _ = writer.signal(Sig::KILL).await;
                    let _ = writer.close().await;
                    let fresh = &out.text[seen..];
                    let secs = step.timeout.as_secs();
                    let error = if fresh.iter().all(u8::is_ascii_whitespace) {
                        ScriptError::PromptTimeout {
                            step: i + 1,
                            expected,
                            secs,
                        }
                    } else {
                        ScriptError::PromptMismatch {
                            step: i + 1,
                            expected,
                            secs,
                            seen: said(&out.text),
                        }
                    };
                    return Err(fail(error, new_secret_sent));
                }
            }
            if out.text.len() > session.max_output() {
                return Err(fail(
                    SshError::OutputTooLarge {
                        limit: session.max_output(),
                    }
                    .into(),
                    new_secret_sent,
                ));
            }
        }
        if let Some(answer) = step.answer {
            writer
                .data(answer)
                .await
                .map_err(|e| fail(SshError::Protocol(e).into(), new_secret_sent))?;
            new_secret_sent |= step.carries_new_secret;
        }
    }
    if command.trim().is_empty() {
        // A login shell does not end by itself: the last prompt was the proof.
        let _ = writer.eof().await;
        let _ = writer.close().await;
        return Ok(());
    }
    // A command ends by itself: wait for its exit status (bounded by the last step's timeout).
    let _ = writer.eof().await;
    let wait = steps
        .last()
        .map(|s| s.timeout)
        .unwrap_or(Duration::from_secs(10));
    let deadline = tokio::time::Instant::now() + wait;
    while !out.closed {
        match tokio::time::timeout_at(deadline, reader.wait()).await {
            Ok(msg) => out.take(msg),
            Err(_) => {
                let _ = writer.signal(Sig::KILL).await;
                let _ = writer.close().await;
                break;
            }
        }
    }
    match out.exit_status {
        Some(0) => Ok(()),
        Some(status) => Err(fail(
            ScriptError::Failed {
                status,
                said: said(&out.text),
            },
            new_secret_sent,
        )),
        None => Err(fail(ScriptError::Interrupted, new_secret_sent)),
    }
}
