//! Custom SSH prompt templates: whatever a client sends, splitting text into placeholders,
//! checking a template (which compiles its patterns) and filling placeholders in never
//! panic, and what they produce is bounded by what they were given.

use super::support::{config, json_value};
use proptest::prelude::*;
use tumbler_domain::custom_ssh::{
    compile_pattern, pieces, shipped_template, CustomSshTemplate, Piece, Placeholder, PromptAnswer,
    MAX_STEPS, MAX_STEP_TIMEOUT_SECS,
};

const NAMES: &[&str] = &["username", "new_secret", "login_secret", "privilege_secret"];

fn name(p: Placeholder) -> &'static str {
    match p {
        Placeholder::Username => "username",
        Placeholder::NewSecret => "new_secret",
        Placeholder::LoginSecret => "login_secret",
        Placeholder::PrivilegeSecret => "privilege_secret",
    }
}

/// Text made of braces, placeholders (known and not) and plain characters, so that
/// splitting gets past its first check.
fn template_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        3 => "[^{}]{0,6}",
        2 => prop::sample::select(NAMES).prop_map(|n| format!("{{{n}}}")),
        1 => prop::sample::select(&["{", "}", "{{", "}}", "{}", "{{{", "}}}"][..]).prop_map(str::to_owned),
        1 => "\\{[a-z_]{0,17}\\}?",
    ];
    prop::collection::vec(token, 0..12).prop_map(|t| t.concat())
}

/// Text shaped like a regular expression, with the constructs that cost the most to compile
/// (counted repetition, nesting, classes).
fn pattern() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        3 => "[a-z#>:$ ]{1,4}",
        1 => prop::sample::select(&[
            "(", ")", "[", "]", "*", "+", "?", "|", "^", "$", ".", "\\s", "\\w", "\\d", "(?i)",
            "\\", "{1000}", "{0,1000}", "{2}", "{", "}", "[^a]", "\\p{L}", "(?:", "\\b",
        ][..]).prop_map(str::to_owned),
    ];
    prop::collection::vec(token, 0..24).prop_map(|t| t.concat())
}

fn step() -> impl Strategy<Value = PromptAnswer> {
    (
        prop_oneof![4 => pattern(), 1 => ".{0,20}", 1 => Just("x".repeat(513))],
        prop::option::of(prop_oneof![4 => template_text(), 1 => ".{0,20}"]),
        prop_oneof![
            0u32..=3,
            Just(MAX_STEP_TIMEOUT_SECS),
            Just(MAX_STEP_TIMEOUT_SECS + 1),
            any::<u32>()
        ],
    )
        .prop_map(|(expect, answer, timeout_secs)| PromptAnswer {
            expect,
            answer,
            timeout_secs,
        })
}

fn template() -> impl Strategy<Value = CustomSshTemplate> {
    (
        prop_oneof![template_text(), Just(String::new()), ".{0,20}"],
        any::<bool>(),
        prop::collection::vec(step(), 0..=MAX_STEPS + 1),
    )
        .prop_map(|(command, pty, steps)| CustomSshTemplate {
            command,
            pty,
            steps,
        })
}

/// A shipped template with one field replaced: the structured mutation of a valid input.
fn mutated_shipped() -> impl Strategy<Value = CustomSshTemplate> {
    (
        prop::sample::select(&["junos", "cisco_ios"][..]),
        any::<prop::sample::Index>(),
        0u8..4,
        step(),
        template_text(),
    )
        .prop_map(|(id, at, what, new_step, text)| {
            let mut t = shipped_template(id).unwrap();
            let i = at.index(t.steps.len());
            match what {
                0 => t.steps[i] = new_step,
                1 => t.steps[i].answer = Some(text),
                2 => t.steps[i].expect = new_step.expect,
                _ => t.command = text,
            }
            t
        })
}

/// Writes pieces back as template text (`{` and `}` doubled).
fn render(parts: &[Piece<'_>]) -> String {
    parts
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.replace('{', "{{").replace('}', "}}"),
            Piece::Value(v) => format!("{{{}}}", name(*v)),
        })
        .collect()
}

fn check_pieces(text: &str) -> Result<(), TestCaseError> {
    let Ok(parts) = pieces(text) else {
        return Ok(());
    };
    let literal: usize = parts
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.len(),
            Piece::Value(_) => 0,
        })
        .sum();
    prop_assert!(literal <= text.len());
    prop_assert!(parts.len() <= text.len());
    prop_assert_eq!(render(&parts), text);
    // Filling in values: the output is the literal text plus one value per placeholder.
    let value = "v4lue";
    let filled: String = parts
        .iter()
        .map(|p| match p {
            Piece::Text(t) => *t,
            Piece::Value(_) => value,
        })
        .collect();
    let holes = parts
        .iter()
        .filter(|p| matches!(p, Piece::Value(_)))
        .count();
    prop_assert_eq!(filled.len(), literal + holes * value.len());
    Ok(())
}

fn check_template(t: &CustomSshTemplate) -> Result<(), TestCaseError> {
    match t.validate() {
        Err(e) => prop_assert_eq!(e.field, "custom_ssh"),
        Ok(()) => {
            prop_assert!((1..=MAX_STEPS).contains(&t.steps.len()));
            prop_assert!(!t.command.contains(['\n', '\r']));
            for s in &t.steps {
                prop_assert!(compile_pattern(&s.expect).is_ok());
                prop_assert!((1..=MAX_STEP_TIMEOUT_SECS).contains(&s.timeout_secs));
                if let Some(a) = &s.answer {
                    prop_assert!(pieces(a).is_ok());
                }
            }
            let command = pieces(&t.command).unwrap();
            prop_assert!(!command
                .iter()
                .any(|p| matches!(p, Piece::Value(v) if v.is_secret())));
        }
    }
    // Never panics, whatever the verdict.
    let _ = t.types_stored_secret();
    for s in &t.steps {
        check_pieces(s.answer.as_deref().unwrap_or(""))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn any_text_splits_into_pieces_or_is_refused(text in ".{0,60}") {
        check_pieces(&text)?;
    }

    #[test]
    fn placeholder_text_splits_into_pieces_that_write_it_back(text in template_text()) {
        check_pieces(&text)?;
    }

    #[test]
    fn any_template_is_refused_or_valid_throughout(t in template()) {
        check_template(&t)?;
    }

    #[test]
    fn mutated_shipped_templates_are_refused_or_valid_throughout(t in mutated_shipped()) {
        check_template(&t)?;
    }

    #[test]
    fn any_json_is_refused_or_a_template(value in json_value(&["command", "pty", "steps", "expect", "answer", "timeout_secs"])) {
        if let Ok(t) = serde_json::from_value::<CustomSshTemplate>(value) {
            check_template(&t)?;
        }
    }
}

/// A pattern that compiles within the regex crate's default limit (10 MiB) but costs
/// hundreds of milliseconds of one CPU to compile, 20 times over in one template: refused,
/// with a reason that says why, and the shipped patterns still compile.
#[test]
fn patterns_that_compile_to_more_than_the_cap_are_refused() {
    let costly = r"\w{100}";
    assert!(regex::bytes::Regex::new(costly).is_ok());
    assert!(compile_pattern(costly).is_err());
    let mut t = shipped_template("junos").unwrap();
    t.steps[0].expect = costly.to_owned();
    let err = t.validate().expect_err("refused");
    assert!(err.reason.contains("too large"), "{err}");
    for id in ["junos", "cisco_ios"] {
        for s in shipped_template(id).unwrap().steps {
            compile_pattern(&s.expect).expect(&s.expect);
        }
    }
}
