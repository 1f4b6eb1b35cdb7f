//! The domain crate's one integration-test binary: property tests ("fuzzing" that runs on
//! stable Rust in CI) of the parsers fed by users: cron expressions and schedules, custom SSH
//! prompt templates, and password-rule JSON. Each property feeds arbitrary input and
//! structured mutations of valid input, and checks that the parser never panics, answers
//! `Ok` or a typed error, and does bounded work.
//!
//! CI runs a small number of cases; `PROPTEST_CASES=N` runs N per property, e.g.
//! `PROPTEST_CASES=20000 cargo nextest run -p tumbler-domain --test fuzz`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fuzz {
    pub mod support;

    mod password_rules;
    mod schedule;
    mod templates;
}
