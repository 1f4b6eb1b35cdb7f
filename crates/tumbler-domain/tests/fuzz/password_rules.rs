//! Password rules (a task's `password_rules` JSON): whatever a client sends, deserialising,
//! checking and generating never panic, and a generated password has exactly the rules'
//! length, at least each class minimum, and only allowed characters.

use super::support::{config, edgy_u32, json_value};
use proptest::prelude::*;
use secrecy::ExposeSecret;
use tumbler_domain::change_secret::{
    PasswordRules, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, SYMBOLS,
};

const KEYS: &[&str] = &[
    "length",
    "lowercase",
    "uppercase",
    "digit",
    "symbol",
    "exclude_symbols",
];

fn class_min() -> impl Strategy<Value = Option<u32>> {
    prop_oneof![1 => Just(None), 4 => edgy_u32().prop_map(Some), 4 => (0u32..=8).prop_map(Some)]
}

fn exclude() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::subsequence(SYMBOLS.chars().collect::<Vec<_>>(), 0..=SYMBOLS.len())
            .prop_map(|c| c.into_iter().collect()),
        ".{0,40}",
    ]
}

/// Rules near the valid ones: lengths and minimums at the edges, excluded symbols mostly
/// from the real set.
fn rules() -> impl Strategy<Value = PasswordRules> {
    (
        prop_oneof![edgy_u32(), MIN_PASSWORD_LENGTH..=MAX_PASSWORD_LENGTH],
        class_min(),
        class_min(),
        class_min(),
        class_min(),
        exclude(),
    )
        .prop_map(
            |(length, lowercase, uppercase, digit, symbol, exclude_symbols)| PasswordRules {
                length,
                lowercase,
                uppercase,
                digit,
                symbol,
                exclude_symbols,
            },
        )
}

/// Whether a character belongs to a class.
type IsClass = fn(&char) -> bool;

/// Checks the rules, and for valid ones a generated password against them.
fn check(rules: &PasswordRules) -> Result<(), TestCaseError> {
    let Ok(()) = rules.validate() else {
        let err = rules
            .generate()
            .expect_err("invalid rules generate nothing");
        prop_assert_eq!(err.field, "password_rules");
        return Ok(());
    };
    prop_assert!((MIN_PASSWORD_LENGTH..=MAX_PASSWORD_LENGTH).contains(&rules.length));
    let password = rules.generate().expect("valid rules generate");
    let chars: Vec<char> = password.expose_secret().chars().collect();
    prop_assert_eq!(chars.len(), rules.length as usize);
    let classes: [(Option<u32>, IsClass); 4] = [
        (rules.lowercase, |c| c.is_ascii_lowercase()),
        (rules.uppercase, |c| c.is_ascii_uppercase()),
        (rules.digit, |c| c.is_ascii_digit()),
        (rules.symbol, |c| SYMBOLS.contains(*c)),
    ];
    for (min, is_class) in classes {
        let count = chars.iter().filter(|c| is_class(c)).count();
        match min {
            Some(min) => prop_assert!(count >= min as usize, "{count} < {min}"),
            None => prop_assert_eq!(count, 0),
        }
    }
    prop_assert!(chars
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || SYMBOLS.contains(*c)));
    prop_assert!(!chars.iter().any(|c| rules.exclude_symbols.contains(*c)));
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_json_is_refused_or_makes_bounded_passwords(value in json_value(KEYS)) {
        if let Ok(rules) = serde_json::from_value::<PasswordRules>(value) {
            check(&rules)?;
        }
    }

    #[test]
    fn any_bytes_are_refused_or_make_bounded_passwords(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(rules) = serde_json::from_slice::<PasswordRules>(&bytes) {
            check(&rules)?;
        }
    }

    #[test]
    fn rules_near_the_edges_are_refused_or_make_bounded_passwords(rules in rules()) {
        check(&rules)?;
        // The same rules through JSON, as a client sends them.
        let text = serde_json::to_string(&rules).unwrap();
        let back: PasswordRules = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&back, &rules);
        prop_assert_eq!(back.validate().is_ok(), rules.validate().is_ok());
    }
}

/// The case the issue reports: class minimums whose sum wraps a `u32`.
#[test]
fn minimums_that_wrap_a_u32_sum_are_refused() {
    let rules: PasswordRules = serde_json::from_str(
        r#"{"length":24,"lowercase":4294967295,"uppercase":1,"digit":null,"symbol":null}"#,
    )
    .unwrap();
    let err = rules.validate().expect_err("refused");
    assert_eq!(err.field, "password_rules");
    assert!(rules.generate().is_err());
}
