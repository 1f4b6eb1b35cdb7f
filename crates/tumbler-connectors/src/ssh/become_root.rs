//! Running a script as root on a session whose account may not be root: through sudo or su,
//! answering their password prompts on standard input. Every secret travels on standard
//! input, answered only after the prompt that asks for it appears: sudo's prompt is a random
//! marker chosen per run, and the root shell announces itself with another random marker
//! before the script reads its input. No secret is ever part of a command line.

use std::fmt;

use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::session::{CommandOutput, PromptStep, SshSession};
use super::shell::{check_shell, command_line};
use super::SshError;

/// How the logged-in account gains root.
pub enum Become {
    /// It is root already.
    None,
    /// `sudo`, answering its password prompt with this password.
    Sudo(SecretString),
    /// `su root`, answering its password prompt with root's password.
    Su(SecretString),
}

impl fmt::Debug for Become {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "Become::None",
            Self::Sudo(_) => "Become::Sudo(<redacted>)",
            Self::Su(_) => "Become::Su(<redacted>)",
        })
    }
}

impl Become {
    fn secret(&self) -> &str {
        match self {
            Self::None => "",
            Self::Sudo(s) | Self::Su(s) => s.expose_secret(),
        }
    }
}

/// Where root steps run on a target: the SSH session, how its account becomes root, and the
/// absolute path of the shell the root step runs in. Passed to every connector function that
/// works as root.
#[derive(Debug, Clone, Copy)]
pub struct TargetShell<'a> {
    /// The logged-in session.
    pub session: &'a SshSession,
    /// How the session's account gains root.
    pub become_root: &'a Become,
    /// The shell to run the root step in (an absolute path, such as `/bin/sh`).
    pub shell: &'a str,
}

impl<'a> TargetShell<'a> {
    /// The root shell reached through `session`, becoming root as `become_root` says, in
    /// `shell`.
    pub fn new(session: &'a SshSession, become_root: &'a Become, shell: &'a str) -> Self {
        Self {
            session,
            become_root,
            shell,
        }
    }
}

/// Why a change over SSH failed. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The SSH session failed (timeout, protocol).
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// sudo or su refused the password it asked for, or refused to run the command.
    #[error("{method} refused: {detail}")]
    BecomeRefused {
        /// `sudo` or `su`.
        method: &'static str,
        /// What the target said, with any secret removed.
        detail: String,
    },
    /// The command ran and refused the change (the target's own policy, an unknown user...).
    #[error("the target refused the change: {detail}")]
    TargetRefused {
        /// What the target said, with any secret removed.
        detail: String,
    },
    /// The new secret was sent but the command ended without an exit status (the connection
    /// dropped): the target may or may not have taken it.
    #[error("the connection ended after the new secret was sent; the outcome is unknown")]
    Interrupted,
    /// The time limit ran out after the new secret was written to the command: it was sent
    /// `SIGKILL`, but a program it started as root (sudo cannot pass `SIGKILL` on) may still
    /// apply the change later.
    #[error("the change did not finish in time after the new secret was sent; the target may still apply it")]
    TimedOutAfterSending,
    /// The account is locked on the target (its password field starts with `!`): changing
    /// its password would unlock it, so nothing was changed.
    #[error("the account is locked on the target; its password was not changed")]
    AccountLocked,
    /// The username or secret cannot be given to the command (a colon in the username, a
    /// line break in either...).
    #[error("{0}")]
    Unsupported(&'static str),
}

impl ChangeError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Ssh(e) => e.code(),
            Self::BecomeRefused { .. } => "become_refused",
            Self::TargetRefused { .. } => "target_refused",
            Self::Interrupted => "interrupted",
            Self::TimedOutAfterSending => "timeout",
            Self::AccountLocked => "account_locked",
            Self::Unsupported(_) => "unsupported_secret",
        }
    }
}

/// A random marker with no shell metacharacters (`TUMBLER-<kind>-<hex>`).
pub(super) fn marker(kind: &str) -> String {
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("TUMBLER-{kind}-{hex}")
}

/// Removes every secret from text a target printed, keeping its last few lines.
pub(super) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s, "<redacted>");
    }
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    let joined = tail.join(" / ");
    if joined.is_empty() {
        "no message".to_owned()
    } else {
        joined.chars().take(300).collect()
    }
}

/// The code every root step starts with: it extends `PATH` and announces the ready marker.
const ROOT_PRELUDE: &str = include_str!("scripts/root_prelude.sh");

/// Runs `script` (shell code from the connector's `scripts/`, never holding a value) as root
/// in the target's shell, with `params` as its positional parameters (`$1`...), becoming root
/// as the target says, and writes `input` to its standard input followed by EOF once the root
/// shell is ready. Returns what it printed; a non-zero exit is [`ChangeError::TargetRefused`]
/// with its last lines of standard error, every secret in `scrub_too` (and the become
/// password) removed. No secret may be in `params`: they are on the command line.
pub(super) async fn run_as_root(
    target: &TargetShell<'_>,
    script: &str,
    params: &[&str],
    input: &[u8],
    scrub_too: &[&str],
) -> Result<CommandOutput, ChangeError> {
    let TargetShell {
        session,
        become_root,
        shell,
    } = *target;
    check_shell(shell)?;
    let ready = marker("READY");
    let root_step = [ROOT_PRELUDE, script].concat();
    let mut root_words = vec![shell, "-c", root_step.as_str(), "tumbler", ready.as_str()];
    root_words.extend_from_slice(params);
    let root_command = command_line(&root_words)?;
    let ready_step = PromptStep {
        marker: ready.clone(),
        answer: input,
        then_eof: true,
        optional: false,
    };
    let (command, become_answer, method) = match become_root {
        Become::None => (root_command, None, ""),
        Become::Sudo(password) => {
            let prompt = marker("SUDO");
            let mut words = vec!["sudo", "-S", "-p", prompt.as_str(), "--"];
            words.extend_from_slice(&root_words);
            (
                command_line(&words)?,
                Some((
                    prompt,
                    Zeroizing::new(format!("{}\n", password.expose_secret())),
                )),
                "sudo",
            )
        }
        Become::Su(password) => {
            // su takes one command for the shell it starts: the root command line, run with
            // `exec`. su cannot be told its prompt; the C locale makes it predictable.
            let su_command = ["exec ", root_command.as_str()].concat();
            let su = command_line(&["su", "root", "-s", shell, "-c", su_command.as_str()])?;
            (
                ["LC_ALL=C ", su.as_str()].concat(),
                Some((
                    "Password:".to_owned(),
                    Zeroizing::new(format!("{}\n", password.expose_secret())),
                )),
                "su",
            )
        }
    };
    let mut steps = Vec::new();
    if let Some((prompt, answer)) = &become_answer {
        steps.push(PromptStep {
            marker: prompt.clone(),
            answer: answer.as_bytes(),
            then_eof: false,
            optional: true,
        });
    }
    steps.push(ready_step);
    let result = session.converse(&command, &steps).await?;
    let mut secrets: Vec<&str> = scrub_too.to_vec();
    secrets.push(become_root.secret());
    let said = scrub(&result.output.stderr_lossy(), &secrets);
    if result.timed_out {
        return Err(ChangeError::TimedOutAfterSending);
    }
    if result.connection_lost {
        // Before the input was written nothing of it reached the target; after, it may have.
        return Err(if result.finished {
            ChangeError::Interrupted
        } else {
            ChangeError::Ssh(SshError::ConnectionLost)
        });
    }
    if !result.finished || result.prompt_repeated {
        if become_answer.is_some() {
            return Err(ChangeError::BecomeRefused {
                method,
                detail: if result.prompt_repeated {
                    "the password was not accepted".to_owned()
                } else {
                    said
                },
            });
        }
        return Err(ChangeError::TargetRefused { detail: said });
    }
    if result.output.exit_status.is_none() {
        return Err(ChangeError::Interrupted);
    }
    if result.output.success() {
        Ok(result.output)
    } else {
        Err(ChangeError::TargetRefused { detail: said })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_secrets_and_keeps_the_last_lines() {
        let text = "one\ntwo s3cret\n\nthree\nfour hunter2\n";
        let out = scrub(text, &["s3cret", "hunter2"]);
        assert_eq!(out, "two <redacted> / three / four <redacted>");
        assert_eq!(scrub("", &["x"]), "no message");
    }

    #[test]
    fn markers_differ_and_have_no_shell_metacharacters() {
        let a = marker("SUDO");
        let b = marker("SUDO");
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }

    #[test]
    fn debug_of_become_hides_the_password() {
        let b = Become::Sudo(SecretString::from("canary-Pw-1"));
        assert!(!format!("{b:?}").contains("canary"));
    }
}
