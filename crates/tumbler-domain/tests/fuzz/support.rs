//! Shared strategies and the case count.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::Value;

/// The cases per property: `PROPTEST_CASES` when set (a long run), else `ci_cases`.
pub fn config(ci_cases: u32) -> Config {
    if std::env::var_os("PROPTEST_CASES").is_some() {
        Config::default()
    } else {
        Config::with_cases(ci_cases)
    }
}

/// Numbers at and around the edges a parser may mishandle: zero, small values, the ranges
/// of cron fields and password lengths, and the limits of `u32`.
pub fn edgy_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        0u32..=140,
        Just(u32::MAX),
        Just(u32::MAX - 1),
        Just(u32::MAX / 2 + 1),
        (u32::MAX - 200)..=u32::MAX,
        any::<u32>(),
    ]
}

/// Any JSON value, nested a few levels, with keys drawn partly from `keys` so objects
/// sometimes look like what the parser expects.
pub fn json_value(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        edgy_u32().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 48, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(keys), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn key(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(keys).prop_map(str::to_owned),
        1 => "[a-z_]{0,12}",
    ]
}
