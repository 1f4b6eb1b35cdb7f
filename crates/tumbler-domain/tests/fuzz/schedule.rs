//! Cron expressions and schedules: whatever text or JSON a client sends, parsing and checking
//! never panic, and the next run of a valid schedule lies after the time asked about and
//! within the search horizon (a year and a few days), found in bounded time.

use super::support::{config, edgy_u32, json_value};
use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use tumbler_domain::schedule::{Cron, Schedule, TimeZoneName};

/// The latest a next run may be: the cron search horizon (367 days) plus a daylight-saving
/// gap.
fn horizon() -> Duration {
    Duration::days(368)
}

/// A number as cron text: the field ranges' edges, and values that overflow arithmetic.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        16 => (0u32..=62).prop_map(|n| n.to_string()),
        2 => edgy_u32().prop_map(|n| n.to_string()),
        1 => Just("4294967296".to_owned()),
        1 => Just("-1".to_owned()),
        1 => Just(String::new()),
        1 => "[0-9a-z*/,-]{1,4}",
    ]
}

/// One part of a cron field: `*`, `n`, `a-b`, with or without `/step`.
fn part() -> impl Strategy<Value = String> {
    let range = prop_oneof![
        Just("*".to_owned()),
        number(),
        (number(), number()).prop_map(|(a, b)| format!("{a}-{b}")),
    ];
    (range, prop::option::of(number())).prop_map(|(r, step)| match step {
        Some(s) => format!("{r}/{s}"),
        None => r,
    })
}

fn field() -> impl Strategy<Value = String> {
    prop::collection::vec(part(), 1..4).prop_map(|parts| parts.join(","))
}

/// Text shaped like a cron expression (usually five fields), so parsing gets past the
/// field count.
fn cron_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::collection::vec(field(), 5..=5).prop_map(|f| f.join(" ")),
        1 => prop::collection::vec(field(), 0..8).prop_map(|f| f.join(" ")),
        1 => ".{0,60}",
    ]
}

/// A time a scheduler may ask about: 1970 to 2400.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..13_569_465_600).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap())
}

/// Any instant chrono can hold, the extremes included (a client's `start_at`).
fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let (min, max) = (
        DateTime::<Utc>::MIN_UTC.timestamp(),
        DateTime::<Utc>::MAX_UTC.timestamp(),
    );
    prop_oneof![
        Just(DateTime::<Utc>::MIN_UTC),
        Just(DateTime::<Utc>::MAX_UTC),
        (min..=max).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap()),
        instant(),
    ]
}

fn zone() -> impl Strategy<Value = TimeZoneName> {
    prop::sample::select(chrono_tz::TZ_VARIANTS.to_vec())
}

fn check_cron(text: &str, after: DateTime<Utc>, zone: TimeZoneName) -> Result<(), TestCaseError> {
    match Cron::parse(text) {
        Err(e) => prop_assert_eq!(e.field, "schedule"),
        Ok(cron) => {
            if let Some(next) = cron.next_after(after, &zone) {
                prop_assert!(next > after, "{next} is not after {after}");
                prop_assert!(next - after <= horizon(), "{next} is too far after {after}");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn any_text_is_refused_or_a_cron_with_a_bounded_next_run(
        text in ".{0,80}",
        after in instant(),
        zone in zone(),
    ) {
        check_cron(&text, after, zone)?;
    }

    #[test]
    fn cron_shaped_text_is_refused_or_a_cron_with_a_bounded_next_run(
        text in cron_text(),
        after in instant(),
        zone in zone(),
    ) {
        check_cron(&text, after, zone)?;
    }

    #[test]
    fn any_schedule_is_refused_or_has_a_next_run_after_now(
        cron in prop::option::of(cron_text()),
        interval_hours in prop::option::of(edgy_u32()),
        start_at in prop::option::of(any_instant()),
        after in instant(),
        saved_at in instant(),
        zone in zone(),
    ) {
        let schedule = Schedule { cron, interval_hours, start_at };
        match schedule.validate() {
            Err(e) => prop_assert_eq!(e.field, "schedule"),
            Ok(()) => {
                let next = schedule.next_after(after, saved_at, &zone);
                if let Some(next) = next {
                    prop_assert!(next > after, "{next} is not after {after}");
                }
                if schedule.interval_hours.is_some() && schedule.start_at.is_none() {
                    prop_assert!(next.is_some(), "an interval from a recent save always has a next run");
                }
            }
        }
    }

    #[test]
    fn any_json_is_refused_or_a_schedule(value in json_value(&["cron", "interval_hours", "start_at"])) {
        if let Ok(schedule) = serde_json::from_value::<Schedule>(value) {
            if schedule.validate().is_ok() {
                let now = Utc::now();
                if let Some(next) = schedule.next_after(now, now, &chrono_tz::UTC) {
                    prop_assert!(next > now);
                }
            }
        }
    }
}

/// A step so large that adding it to a field value overflows a `u32` (a panic in debug
/// builds, a wrapped loop in release ones): the field holds its first value only.
#[test]
fn steps_that_overflow_a_u32_are_parsed_as_their_first_value() {
    for text in [
        "1/4294967295 * * * *",
        "59/4294967295 * * * *",
        "* * * * 1/4294967294",
        "0-59/4294967295 * * * *",
    ] {
        let cron = Cron::parse(text).expect(text);
        let now = Utc::now();
        let next = cron.next_after(now, &chrono_tz::UTC).expect("a next run");
        assert!(next > now, "{text}");
    }
}
