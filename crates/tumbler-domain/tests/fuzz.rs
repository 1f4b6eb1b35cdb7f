//! Property-based fuzzing of the parsers fed by users: cron expressions, custom-SSH prompt
//! templates and password-rule JSON. Each property asserts that no input panics and that the
//! work stays bounded (outputs within the documented limits). Short by default (64 cases
//! each); run longer with `PROPTEST_CASES=100000 cargo test -p tumbler-domain --test fuzz`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tumbler_domain::change_secret::{PasswordRules, MAX_PASSWORD_LENGTH};
use tumbler_domain::custom_ssh::{pieces, CustomSshTemplate};
use tumbler_domain::schedule::Cron;

/// 64 cases unless `PROPTEST_CASES` says otherwise.
fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 64;
    }
    c.failure_persistence = None;
    c
}

/// Text made mostly of the characters a grammar cares about, plus anything.
fn grammar_text(alphabet: &'static str, max: usize) -> impl Strategy<Value = String> {
    let chars: Vec<char> = alphabet.chars().collect();
    prop::collection::vec(
        prop_oneof![
            8 => prop::sample::select(chars),
            1 => any::<char>(),
        ],
        0..max,
    )
    .prop_map(|v| v.into_iter().collect())
}

/// One cron field: numbers (some out of range), `*`, ranges, steps and lists.
fn cron_field() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("*".to_owned()),
        (0u64..100).prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        (0u64..70, 0u64..70).prop_map(|(a, b)| format!("{a}-{b}")),
        (0u64..70, 0u64..70).prop_map(|(a, s)| format!("{a}/{s}")),
        (0u64..70, 0u64..70, 0u64..70).prop_map(|(a, b, s)| format!("{a}-{b}/{s}")),
        (0u64..70).prop_map(|s| format!("*/{s}")),
        grammar_text("0123456789*-/,", 8),
    ];
    prop::collection::vec(atom, 1..4).prop_map(|v| v.join(","))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cron_parsing_never_panics(text in grammar_text("0123456789*-/, \t", 60)) {
        let _ = Cron::parse(&text);
    }

    #[test]
    fn parsed_cron_expressions_find_their_next_minute_within_a_year(
        fields in prop::collection::vec(cron_field(), 5),
        start in 0i64..4_000_000_000,
    ) {
        let text = fields.join(" ");
        if let Ok(cron) = Cron::parse(&text) {
            let after = chrono::DateTime::from_timestamp(start, 0).unwrap();
            // A bounded search: the next match, if any, is within the horizon.
            if let Some(next) = cron.next_after(after, &chrono::Utc) {
                prop_assert!(next > after);
                prop_assert!(next - after <= chrono::Duration::days(367), "{text}");
            }
        }
    }

    #[test]
    fn template_text_splitting_never_panics(text in grammar_text("{}_abcdeilnoprstuvwy\\", 200)) {
        if let Ok(parts) = pieces(&text) {
            prop_assert!(parts.len() <= text.len() + 1);
        }
    }

    #[test]
    fn custom_ssh_templates_from_json_never_panic(
        command in grammar_text("{}_usernamepasswd -\n", 80),
        expects in prop::collection::vec(grammar_text("()[]*+?.^$|\\{}0123456789asword:", 60), 0..12),
        answers in prop::collection::vec(proptest::option::of(grammar_text("{}_newsecrtlogin", 40)), 0..12),
        timeouts in prop::collection::vec(any::<u32>(), 0..12),
        pty in any::<bool>(),
    ) {
        let steps: Vec<serde_json::Value> = expects
            .iter()
            .zip(answers.iter().chain(std::iter::repeat(&None)))
            .zip(timeouts.iter().chain(std::iter::repeat(&10)))
            .map(|((e, a), t)| serde_json::json!({"expect": e, "answer": a, "timeout_secs": t}))
            .collect();
        let json = serde_json::json!({"command": command, "pty": pty, "steps": steps});
        if let Ok(template) = serde_json::from_value::<CustomSshTemplate>(json) {
            let _ = template.validate();
        }
    }

    #[test]
    fn password_rules_from_json_never_panic_and_generate_within_bounds(
        length in prop_oneof![0u64..200, any::<u32>().prop_map(u64::from), any::<u64>()],
        mins in prop::collection::vec(proptest::option::of(prop_oneof![0u64..40, any::<u32>().prop_map(u64::from)]), 4),
        exclude in grammar_text("!#%+-.:=?@^_~,abc", 12),
    ) {
        let json = serde_json::json!({
            "length": length, "lowercase": mins[0], "uppercase": mins[1],
            "digit": mins[2], "symbol": mins[3], "exclude_symbols": exclude,
        });
        if let Ok(rules) = serde_json::from_value::<PasswordRules>(json) {
            if rules.validate().is_ok() {
                let password = rules.generate().unwrap();
                let n = secrecy::ExposeSecret::expose_secret(&password).chars().count();
                prop_assert_eq!(n, rules.length as usize);
                prop_assert!(n <= MAX_PASSWORD_LENGTH as usize);
            } else {
                prop_assert!(rules.generate().is_err());
            }
        }
    }
}
