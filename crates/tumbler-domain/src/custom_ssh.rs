//! Custom SSH change templates: a command and the prompts it is expected to show, each with
//! the answer to type, for network devices and anything without a built-in change method.
//!
//! Placeholders: `{username}` (the account whose secret changes) may appear in the command and
//! in answers; the secrets `{new_secret}`, `{login_secret}` (the secret Tumbler logged in
//! with) and `{privilege_secret}` (the root or enable secret) only in answers, which are
//! typed after their prompt appears, so no secret is ever part of a command line.

use serde::{Deserialize, Serialize};

use crate::inventory::InvalidValue;

/// The most steps one template has.
pub const MAX_STEPS: usize = 20;
/// The longest step timeout, in seconds.
pub const MAX_STEP_TIMEOUT_SECS: u32 = 600;
/// The longest command, pattern or answer, in characters.
const MAX_TEXT: usize = 512;
/// The most memory one compiled prompt pattern may take, in bytes. The regex crate's default
/// (10 MiB) lets a 512-character pattern cost about half a second of CPU to compile, twenty
/// times per template; prompt patterns are small.
pub const MAX_PATTERN_BYTES: usize = 1 << 20;

/// Compiles a prompt pattern within [`MAX_PATTERN_BYTES`].
pub fn compile_pattern(pattern: &str) -> Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::RegexBuilder::new(pattern)
        .size_limit(MAX_PATTERN_BYTES)
        .dfa_size_limit(MAX_PATTERN_BYTES)
        .build()
}

/// A placeholder that may appear in a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{username}`.
    Username,
    /// `{new_secret}`.
    NewSecret,
    /// `{login_secret}`.
    LoginSecret,
    /// `{privilege_secret}`.
    PrivilegeSecret,
}

impl Placeholder {
    const ALL: &'static [(Placeholder, &'static str)] = &[
        (Self::Username, "username"),
        (Self::NewSecret, "new_secret"),
        (Self::LoginSecret, "login_secret"),
        (Self::PrivilegeSecret, "privilege_secret"),
    ];

    /// Whether it stands for a secret.
    pub fn is_secret(self) -> bool {
        self != Self::Username
    }
}

/// A piece of a template: literal text or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text typed as it is.
    Text(&'a str),
    /// A value filled in at run time.
    Value(Placeholder),
}

/// Splits `text` into literal text and placeholders. `{{` and `}}` stand for `{` and `}`.
pub fn pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let Some(at) = rest.find(['{', '}']) else {
            out.push(Piece::Text(rest));
            break;
        };
        if at > 0 {
            out.push(Piece::Text(&rest[..at]));
        }
        rest = &rest[at..];
        if let Some(tail) = rest.strip_prefix("{{") {
            out.push(Piece::Text("{"));
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix("}}") {
            out.push(Piece::Text("}"));
            rest = tail;
        } else if rest.starts_with('}') {
            return Err("a lone } (write }} for a literal one)".to_owned());
        } else {
            let Some(end) = rest.find('}') else {
                return Err("a { without its } (write {{ for a literal one)".to_owned());
            };
            let name = &rest[1..end];
            let Some((p, _)) = Placeholder::ALL.iter().find(|(_, n)| *n == name) else {
                return Err(format!(
                    "unknown placeholder {{{name}}}; known: {{username}}, {{new_secret}}, {{login_secret}}, {{privilege_secret}}"
                ));
            };
            out.push(Piece::Value(*p));
            rest = &rest[end + 1..];
        }
    }
    Ok(out)
}

/// One expected prompt and what to type when it appears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PromptAnswer {
    /// A regular expression the output must match before the answer is typed.
    pub expect: String,
    /// What to type (a line break follows); none to only wait for the pattern (a success
    /// message, say).
    #[serde(default)]
    pub answer: Option<String>,
    /// How long to wait for the pattern, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u32,
}

fn default_timeout() -> u32 {
    10
}

/// A command and its conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomSshTemplate {
    /// The command to run (`{username}` only). Empty: type the answers into the login shell
    /// (devices whose SSH server offers only a CLI).
    #[serde(default)]
    pub command: String,
    /// Whether the device needs a terminal (most network CLIs do).
    #[serde(default)]
    pub pty: bool,
    /// The expected prompts, in order.
    pub steps: Vec<PromptAnswer>,
}

fn bad(reason: impl Into<String>) -> InvalidValue {
    InvalidValue {
        field: "custom_ssh",
        reason: reason.into(),
    }
}

impl CustomSshTemplate {
    /// Whether an answer types a secret Tumbler already holds (`{login_secret}`,
    /// `{privilege_secret}`), not only the new one.
    pub fn types_stored_secret(&self) -> bool {
        self.steps
            .iter()
            .filter_map(|s| s.answer.as_deref())
            .any(|a| {
                pieces(a).is_ok_and(|parts| {
                    parts.iter().any(|p| {
                        matches!(
                            p,
                            Piece::Value(Placeholder::LoginSecret | Placeholder::PrivilegeSecret)
                        )
                    })
                })
            })
    }

    /// Checks the template: a command without secrets, 1 to [`MAX_STEPS`] steps with valid
    /// patterns, known placeholders and timeouts of 1 to [`MAX_STEP_TIMEOUT_SECS`] seconds,
    /// and a new secret typed somewhere.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if self.command.chars().count() > MAX_TEXT || self.command.contains(['\n', '\r']) {
            return Err(bad(format!(
                "the command must be one line of at most {MAX_TEXT} characters"
            )));
        }
        let command = pieces(&self.command).map_err(|e| bad(format!("command: {e}")))?;
        if command
            .iter()
            .any(|p| matches!(p, Piece::Value(v) if v.is_secret()))
        {
            return Err(bad(
                "command: secrets may appear only in answers, never on a command line",
            ));
        }
        if self.command.trim().is_empty() && !self.pty {
            return Err(bad("without a command the template needs pty: true"));
        }
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            return Err(bad(format!("give 1 to {MAX_STEPS} steps")));
        }
        let mut types_new_secret = false;
        for (i, step) in self.steps.iter().enumerate() {
            let n = i + 1;
            if step.expect.is_empty() || step.expect.chars().count() > MAX_TEXT {
                return Err(bad(format!(
                    "step {n}: the pattern must be 1 to {MAX_TEXT} characters"
                )));
            }
            compile_pattern(&step.expect).map_err(|e| {
                bad(match e {
                    regex::Error::CompiledTooBig(_) => format!(
                        "step {n}: the pattern is too large once compiled (\\w and \\d match \
                         every Unicode letter or digit: write [A-Za-z0-9_] or [0-9], or repeat \
                         less)"
                    ),
                    _ => format!("step {n}: the pattern is not a valid regular expression"),
                })
            })?;
            if step.timeout_secs == 0 || step.timeout_secs > MAX_STEP_TIMEOUT_SECS {
                return Err(bad(format!(
                    "step {n}: the timeout must be 1 to {MAX_STEP_TIMEOUT_SECS} seconds"
                )));
            }
            if let Some(answer) = &step.answer {
                if answer.chars().count() > MAX_TEXT || answer.contains(['\n', '\r']) {
                    return Err(bad(format!(
                        "step {n}: the answer must be one line of at most {MAX_TEXT} characters"
                    )));
                }
                let parts = pieces(answer).map_err(|e| bad(format!("step {n}: {e}")))?;
                types_new_secret |= parts.contains(&Piece::Value(Placeholder::NewSecret));
            }
        }
        if !types_new_secret {
            return Err(bad("no answer types {new_secret}"));
        }
        // A login shell never ends by itself: only a last prompt proves the change took.
        if self.command.trim().is_empty() && self.steps.last().is_some_and(|s| s.answer.is_some()) {
            return Err(bad(
                "without a command the last step must only wait for a confirmation (no answer)",
            ));
        }
        Ok(())
    }
}

fn step(expect: &str, answer: Option<&str>) -> PromptAnswer {
    PromptAnswer {
        expect: expect.to_owned(),
        answer: answer.map(str::to_owned),
        timeout_secs: 20,
    }
}

/// The template a platform ships with, if any. Those for network devices are written from
/// the vendors' documentation and are NOT tested against real devices: try one on a lab
/// device first, and copy it into a task's own template to adjust it.
pub fn shipped_template(platform_id: &str) -> Option<CustomSshTemplate> {
    match platform_id {
        // Junos: the CLI asks for the new password twice; `commit and-quit` applies it.
        "junos" => Some(CustomSshTemplate {
            command: String::new(),
            pty: true,
            steps: vec![
                step(r">\s*$", Some("configure")),
                step(
                    r"#\s*$",
                    Some("set system login user {username} authentication plain-text-password"),
                ),
                step(r"(?i)new password:", Some("{new_secret}")),
                step(r"(?i)retype new password:", Some("{new_secret}")),
                step(r"#\s*$", Some("commit and-quit")),
                step(r"commit complete", None),
            ],
        }),
        // Cisco IOS: the login account must land in privileged EXEC (privilege 15; the
        // template does not answer `enable`, whose prompt IOS may or may not show); then
        // `username ... secret` in configuration mode (IOS takes the secret on that line; it
        // is typed into the device's CLI, not run as a process), saved with `write memory`.
        // IOS reads `?` as a request for help: exclude it from the task's password rules.
        "cisco_ios" => Some(CustomSshTemplate {
            command: String::new(),
            pty: true,
            steps: vec![
                step(r"#\s*$", Some("configure terminal")),
                step(
                    r"\(config\)#\s*$",
                    Some("username {username} secret {new_secret}"),
                ),
                step(r"\(config\)#\s*$", Some("end")),
                step(r"#\s*$", Some("write memory")),
                step(r"\[OK\]", None),
            ],
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(command: &str, answers: &[(&str, Option<&str>)]) -> CustomSshTemplate {
        CustomSshTemplate {
            command: command.to_owned(),
            pty: false,
            steps: answers.iter().map(|(e, a)| step(e, *a)).collect(),
        }
    }

    #[test]
    fn pieces_split_text_and_placeholders() {
        assert_eq!(
            pieces("passwd {username} {{x}}").expect("ok"),
            vec![
                Piece::Text("passwd "),
                Piece::Value(Placeholder::Username),
                Piece::Text(" "),
                Piece::Text("{"),
                Piece::Text("x"),
                Piece::Text("}"),
            ]
        );
        assert!(pieces("{nope}").is_err());
        assert!(pieces("{username").is_err());
        assert!(pieces("a } b").is_err());
    }

    #[test]
    fn a_secret_on_the_command_line_is_refused() {
        let t = template("echo {new_secret} | passwd", &[("x", Some("{new_secret}"))]);
        let e = t.validate().expect_err("refused");
        assert!(e.reason.contains("never on a command line"), "{e}");
    }

    #[test]
    fn templates_are_checked() {
        let good = template(
            "passwd {username}",
            &[("New password:", Some("{new_secret}"))],
        );
        good.validate().expect("valid");
        assert!(template("passwd", &[("(", Some("{new_secret}"))])
            .validate()
            .is_err());
        assert!(template("passwd", &[("x", Some("{login_secret}"))])
            .validate()
            .is_err());
        assert!(template("passwd", &[]).validate().is_err());
        assert!(template("", &[("x", Some("{new_secret}"))])
            .validate()
            .is_err());
        let mut slow = good.clone();
        slow.steps[0].timeout_secs = 0;
        assert!(slow.validate().is_err());
    }

    #[test]
    fn shipped_templates_are_valid() {
        for id in ["junos", "cisco_ios"] {
            shipped_template(id).expect(id).validate().expect(id);
        }
        assert!(shipped_template("linux").is_none());
    }
}
