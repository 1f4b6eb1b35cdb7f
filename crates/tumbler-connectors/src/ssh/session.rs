//! An authenticated SSH session and the commands run on it.

use std::fmt;
use std::time::Duration;

use russh::client::{Handle, Msg};
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Disconnect, Sig};
use zeroize::Zeroizing;

use super::error::{SshError, TimeoutStage};
use super::host_key::{HostKeyFingerprint, PinningHandler};

/// What a command left behind: its exit status (or signal) and its output.
///
/// The output buffers are wiped when dropped, since a command may print
/// something secret. `Debug` shows only their lengths.
#[derive(Default)]
pub struct CommandOutput {
    /// The exit status, if the server sent one.
    pub exit_status: Option<u32>,
    /// The name of the signal that ended the command, if it was killed.
    pub exit_signal: Option<String>,
    /// Everything written to standard output.
    pub stdout: Zeroizing<Vec<u8>>,
    /// Everything written to standard error.
    pub stderr: Zeroizing<Vec<u8>>,
}

impl CommandOutput {
    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.exit_status == Some(0)
    }

    /// Standard output as text (invalid UTF-8 replaced).
    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text (invalid UTF-8 replaced).
    pub fn stderr_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

impl fmt::Debug for CommandOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandOutput")
            .field("exit_status", &self.exit_status)
            .field("exit_signal", &self.exit_signal)
            .field("stdout_len", &self.stdout.len())
            .field("stderr_len", &self.stderr.len())
            .finish()
    }
}

/// An authenticated SSH connection to one host.
pub struct SshSession {
    handle: Handle<PinningHandler>,
    host_key: HostKeyFingerprint,
    host_key_verified: bool,
    secrets_allowed: bool,
    command_timeout: Duration,
    max_output: usize,
}

impl fmt::Debug for SshSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshSession")
            .field("host_key", &self.host_key)
            .field("host_key_verified", &self.host_key_verified)
            .field("secrets_allowed", &self.secrets_allowed)
            .field("command_timeout", &self.command_timeout)
            .finish()
    }
}

impl SshSession {
    pub(crate) fn new(
        handle: Handle<PinningHandler>,
        host_key: HostKeyFingerprint,
        host_key_verified: bool,
        secrets_allowed: bool,
        command_timeout: Duration,
        max_output: usize,
    ) -> Self {
        Self {
            handle,
            host_key,
            host_key_verified,
            secrets_allowed,
            command_timeout,
            max_output,
        }
    }

    /// The fingerprint of the host key the server presented.
    pub fn host_key(&self) -> &HostKeyFingerprint {
        &self.host_key
    }

    /// Whether the presented key matched a pinned one (false when nothing was
    /// pinned and the session was allowed anyway).
    pub fn host_key_verified(&self) -> bool {
        self.host_key_verified
    }

    /// Whether secrets may be written into this session: its host key is pinned and
    /// acknowledged, or the caller explicitly allowed trust on first use. A session opened
    /// with a key on a host nobody verified may run commands but receives nothing on its
    /// standard input and answers no prompt.
    pub fn may_receive_secrets(&self) -> bool {
        self.secrets_allowed
    }

    /// Fails with [`SshError::HostKeyUnverified`] unless secrets may be written into this
    /// session.
    pub fn ensure_may_receive_secrets(&self) -> Result<(), SshError> {
        if self.secrets_allowed {
            Ok(())
        } else {
            Err(SshError::HostKeyUnverified {
                presented: self.host_key.clone(),
            })
        }
    }

    /// Runs `command` (a shell command line: it must never contain a secret)
    /// and, if given, writes `stdin` to its standard input followed by EOF.
    /// Secrets go through `stdin` only. Fails with [`SshError::Timeout`] if
    /// the command has not finished within the session's command timeout;
    /// the command is then sent `SIGKILL` (servers that honour the `signal`
    /// request, such as OpenSSH, kill it) and its channel is closed. Input is
    /// written only into a session that may receive secrets
    /// ([`SshSession::may_receive_secrets`]); otherwise nothing runs.
    pub async fn run(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
    ) -> Result<CommandOutput, SshError> {
        if stdin.is_some_and(|s| !s.is_empty()) {
            self.ensure_may_receive_secrets()?;
        }
        let deadline = tokio::time::Instant::now() + self.command_timeout;
        let timed_out = || SshError::Timeout {
            stage: TimeoutStage::Command,
        };
        let channel = tokio::time::timeout_at(deadline, self.handle.channel_open_session())
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| self.lost_or(e))?;
        let (mut reader, writer) = channel.split();
        let exchange = exchange(&mut reader, &writer, command, stdin, self.max_output);
        match tokio::time::timeout_at(deadline, exchange).await {
            Ok(result) => result,
            Err(_) => {
                // Best effort: the answer is "timeout" whatever happens here.
                let _ = writer.signal(Sig::KILL).await;
                let _ = writer.close().await;
                Err(timed_out())
            }
        }
    }

    /// Runs `command` as a conversation: each [`PromptStep`] waits for its marker in the
    /// command's output (stdout or stderr; optional steps may be skipped), then writes its
    /// answer (and, if asked, closes
    /// standard input). A marker seen again after its answer (a prompt repeated because the
    /// answer was refused) is not answered twice: standard input is closed at once and the
    /// result says so. Bounded by the session's command timeout like [`SshSession::run`].
    /// A conversation that answers anything runs only in a session that may receive secrets.
    pub async fn converse(
        &self,
        command: &str,
        steps: &[PromptStep<'_>],
    ) -> Result<Conversation, SshError> {
        if steps.iter().any(|s| !s.answer.is_empty()) {
            self.ensure_may_receive_secrets()?;
        }
        let deadline = tokio::time::Instant::now() + self.command_timeout;
        let timed_out = || SshError::Timeout {
            stage: TimeoutStage::Command,
        };
        let channel = tokio::time::timeout_at(deadline, self.handle.channel_open_session())
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| self.lost_or(e))?;
        let (mut reader, writer) = channel.split();
        let answered_last = std::sync::atomic::AtomicBool::new(false);
        let talk = conversation(
            &mut reader,
            &writer,
            command,
            steps,
            self.max_output,
            &answered_last,
        );
        match tokio::time::timeout_at(deadline, talk).await {
            Ok(Ok(mut c)) => {
                // The channel may end before the connection's end is noticed.
                c.connection_lost |= self.handle.is_closed()
                    && c.output.exit_status.is_none()
                    && c.output.exit_signal.is_none();
                Ok(c)
            }
            Ok(Err(SshError::Protocol(e))) => Err(self.lost_or(e)),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                let _ = writer.signal(Sig::KILL).await;
                let _ = writer.close().await;
                if answered_last.load(std::sync::atomic::Ordering::Relaxed) {
                    // The last answer went out: the command may still act on it.
                    Ok(Conversation {
                        output: CommandOutput::default(),
                        finished: true,
                        prompt_repeated: false,
                        connection_lost: false,
                        timed_out: true,
                    })
                } else {
                    Err(timed_out())
                }
            }
        }
    }

    /// The most output a command may return.
    pub(crate) fn max_output(&self) -> usize {
        self.max_output
    }

    /// Opens a channel for a conversation: a terminal first when `pty` is set, then
    /// `command`, or the login shell when it is empty. Bounded by the command timeout.
    pub(crate) async fn open_channel(
        &self,
        pty: bool,
        command: &str,
    ) -> Result<(ChannelReadHalf, ChannelWriteHalf<Msg>), SshError> {
        let deadline = tokio::time::Instant::now() + self.command_timeout;
        let open = async {
            let channel = self
                .handle
                .channel_open_session()
                .await
                .map_err(SshError::Protocol)?;
            if pty {
                channel
                    .request_pty(true, "vt100", 200, 50, 0, 0, &[])
                    .await
                    .map_err(SshError::Protocol)?;
            }
            if command.trim().is_empty() {
                channel
                    .request_shell(true)
                    .await
                    .map_err(SshError::Protocol)?;
            } else {
                channel
                    .exec(true, command.as_bytes())
                    .await
                    .map_err(SshError::Protocol)?;
            }
            Ok(channel.split())
        };
        tokio::time::timeout_at(deadline, open)
            .await
            .map_err(|_| SshError::Timeout {
                stage: TimeoutStage::Command,
            })?
    }

    /// Whether the connection still stands (false once the host or its sshd dropped it: a
    /// new session is needed).
    pub fn is_connected(&self) -> bool {
        !self.handle.is_closed()
    }

    /// [`SshError::ConnectionLost`] when the connection is gone, else the protocol error.
    fn lost_or(&self, e: russh::Error) -> SshError {
        if self.handle.is_closed() {
            SshError::ConnectionLost
        } else {
            SshError::Protocol(e)
        }
    }

    /// Closes the connection politely.
    pub async fn close(self) -> Result<(), SshError> {
        self.handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await
            .map_err(SshError::Protocol)
    }
}

/// One prompt of a conversation and its answer.
pub struct PromptStep<'a> {
    /// Text that shows the command waits for this answer (a random marker where the
    /// command lets us choose its prompt).
    pub marker: String,
    /// What to write when the marker appears (may be secret; never logged).
    pub answer: &'a [u8],
    /// Whether to close standard input after the answer.
    pub then_eof: bool,
    /// Whether the command may skip this prompt (sudo asks no password when its rules
    /// say so): a later step's marker then answers that step instead.
    pub optional: bool,
}

impl fmt::Debug for PromptStep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromptStep")
            .field("marker", &self.marker)
            .field("answer_len", &self.answer.len())
            .field("then_eof", &self.then_eof)
            .field("optional", &self.optional)
            .finish()
    }
}

/// How a conversation ended.
#[derive(Debug)]
pub struct Conversation {
    /// The command's exit status and output.
    pub output: CommandOutput,
    /// Whether the last step was answered.
    pub finished: bool,
    /// Whether an answered prompt appeared again (its answer was refused).
    pub prompt_repeated: bool,
    /// Whether the channel ended without being closed by the server (the connection went).
    pub connection_lost: bool,
    /// Whether the time limit ran out after the last step was answered (the command was
    /// sent `SIGKILL`, but what it started with the answer may still finish on the host).
    /// A time limit reached before the last answer is [`SshError::Timeout`].
    pub timed_out: bool,
}

/// Drives one conversation on an open channel until the server closes it.
async fn conversation(
    reader: &mut ChannelReadHalf,
    writer: &ChannelWriteHalf<Msg>,
    command: &str,
    steps: &[PromptStep<'_>],
    max_output: usize,
    answered_last: &std::sync::atomic::AtomicBool,
) -> Result<Conversation, SshError> {
    writer
        .exec(true, command.as_bytes())
        .await
        .map_err(SshError::Protocol)?;
    let mut output = CommandOutput::default();
    // Both streams in arrival order, to look for markers in.
    let mut transcript: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::new());
    let mut seen = 0usize;
    let mut next = 0usize;
    let mut last_answered: Option<usize> = None;
    let mut prompt_repeated = false;
    let mut closed_input = false;
    let mut closed = false;
    while let Some(msg) = reader.wait().await {
        match msg {
            ChannelMsg::Data { data } => {
                output.stdout.extend_from_slice(&data);
                transcript.extend_from_slice(&data);
            }
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                output.stderr.extend_from_slice(&data);
                transcript.extend_from_slice(&data);
            }
            ChannelMsg::ExitStatus { exit_status } => output.exit_status = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                output.exit_signal = Some(format!("{signal_name:?}"))
            }
            ChannelMsg::Failure => return Err(SshError::Protocol(russh::Error::RequestDenied)),
            ChannelMsg::Close => {
                closed = true;
                break;
            }
            _ => {}
        }
        if output.stdout.len() + output.stderr.len() > max_output {
            return Err(SshError::OutputTooLarge { limit: max_output });
        }
        while !closed_input {
            let fresh = &transcript[seen..];
            let mut hit = None;
            for (i, step) in steps.iter().enumerate().skip(next) {
                if let Some(at) = find(fresh, step.marker.as_bytes()) {
                    hit = Some((i, at));
                    break;
                }
                if !step.optional {
                    break;
                }
            }
            if let Some((i, at)) = hit {
                let step = &steps[i];
                seen += at + step.marker.len();
                writer.data(step.answer).await.map_err(SshError::Protocol)?;
                last_answered = Some(i);
                if i + 1 == steps.len() {
                    answered_last.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                next = i + 1;
                if step.then_eof {
                    writer.eof().await.map_err(SshError::Protocol)?;
                    closed_input = true;
                }
                continue;
            }
            let repeated = last_answered
                .and_then(|i| steps.get(i))
                .is_some_and(|prev| find(fresh, prev.marker.as_bytes()).is_some());
            if repeated {
                prompt_repeated = true;
                writer.eof().await.map_err(SshError::Protocol)?;
                closed_input = true;
            }
            break;
        }
    }
    let connection_lost = !closed && output.exit_status.is_none() && output.exit_signal.is_none();
    Ok(Conversation {
        output,
        connection_lost,
        timed_out: false,
        finished: !steps.is_empty() && last_answered == Some(steps.len() - 1),
        prompt_repeated,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Starts `command` on an open channel, feeds it `stdin` and collects what
/// it returns until the server closes the channel.
async fn exchange(
    reader: &mut ChannelReadHalf,
    writer: &ChannelWriteHalf<Msg>,
    command: &str,
    stdin: Option<&[u8]>,
    max_output: usize,
) -> Result<CommandOutput, SshError> {
    writer
        .exec(true, command.as_bytes())
        .await
        .map_err(SshError::Protocol)?;
    let write = async {
        if let Some(input) = stdin {
            writer.data(input).await?;
        }
        writer.eof().await
    };
    let read = async {
        let mut output = CommandOutput::default();
        while let Some(msg) = reader.wait().await {
            match msg {
                ChannelMsg::Data { data } => output.stdout.extend_from_slice(&data),
                ChannelMsg::ExtendedData { data, ext: 1 } => output.stderr.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => output.exit_status = Some(exit_status),
                ChannelMsg::ExitSignal { signal_name, .. } => {
                    output.exit_signal = Some(format!("{signal_name:?}"))
                }
                ChannelMsg::Failure => return Err(SshError::Protocol(russh::Error::RequestDenied)),
                ChannelMsg::Close => break,
                _ => {}
            }
            if output.stdout.len() + output.stderr.len() > max_output {
                return Err(SshError::OutputTooLarge { limit: max_output });
            }
        }
        Ok(output)
    };
    let (written, output) = tokio::join!(write, read);
    let output = output?;
    // A command may exit without reading its input; its exit status is then
    // the answer. Without one, a failed write is the reason.
    if let Err(e) = written {
        if output.exit_status.is_none() && output.exit_signal.is_none() {
            return Err(SshError::Protocol(e));
        }
    }
    Ok(output)
}
