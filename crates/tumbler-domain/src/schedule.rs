//! Task schedules: a cron expression (five fields: minute, hour, day of month, month, day of
//! week) read in the server's configured time zone, or an interval in hours from a start
//! time. "Next run at" is always computed from a time passed in.
//!
//! Across daylight-saving changes a cron slot fires once: a local time the clocks skip runs
//! when the gap ends, and a local time that happens twice runs at its first occurrence.

use crate::inventory::{invalid, InvalidValue};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A time zone from the IANA database (`Europe/Berlin`, `UTC`).
pub use chrono_tz::Tz as TimeZoneName;

/// Parses an IANA time zone name.
pub fn parse_time_zone(name: &str) -> Result<TimeZoneName, InvalidValue> {
    name.parse::<TimeZoneName>().map_err(|_| {
        invalid(
            "time_zone",
            format!("{name:?} is not an IANA time zone name (for example Europe/Berlin or UTC)"),
        )
    })
}

/// The longest search for a cron expression's next time (a year and a day).
const CRON_HORIZON_DAYS: i64 = 367;

/// When a task runs by itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Schedule {
    /// A cron expression (`*/15 2 * * 1-5`).
    #[serde(default)]
    pub cron: Option<String>,
    /// Every this many hours, from `start_at`.
    #[serde(default)]
    pub interval_hours: Option<u32>,
    /// The first slot of an interval schedule (defaults to when the task was saved).
    #[serde(default)]
    pub start_at: Option<DateTime<Utc>>,
}

/// A parsed five-field cron expression (parsed and searched by `croner`).
#[derive(Debug, Clone, PartialEq)]
pub struct Cron(croner::Cron);

impl Cron {
    /// Parses `minute hour day-of-month month day-of-week` (`*`, numbers, ranges, steps,
    /// lists; day of week 0-7 with 0 and 7 both Sunday). When both day fields are restricted,
    /// either one matching is enough (classic cron).
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        if text.split_whitespace().count() != 5 {
            return Err(invalid(
                "schedule",
                "a cron expression has five fields: minute hour day-of-month month day-of-week",
            ));
        }
        let text = &clamp_steps(text);
        croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .year(croner::parser::Year::Disallowed)
            .dom_and_dow(false)
            .build()
            .parse(text)
            .map(Self)
            .map_err(|e| invalid("schedule", format!("cron expression {text:?}: {e}")))
    }

    /// The first matching minute strictly after `after`, within a year, the fields read as
    /// wall-clock time in `zone`. A local time the clocks skip runs when the gap ends; one
    /// that happens twice runs at its first occurrence.
    pub fn next_after<Z: TimeZone>(&self, after: DateTime<Utc>, zone: &Z) -> Option<DateTime<Utc>> {
        let local_after = after.with_timezone(zone);
        let end = local_after.naive_local() + Duration::days(CRON_HORIZON_DAYS);
        let next = self.0.find_next_occurrence(&local_after, false).ok()?;
        (next.naive_local() <= end && next.with_timezone(&Utc) > after)
            .then(|| next.with_timezone(&Utc))
    }
}

/// Steps longer than any field (`1/4294967295`) mean the first value only; croner reads steps
/// as 16-bit numbers, so such a step is shortened to one that still means just that.
fn clamp_steps(text: &str) -> String {
    /// Longer than the longest field (minutes, 0-59).
    const LONG_STEP: u32 = 100;
    let clamp_part = |part: &str| match part.split_once('/') {
        Some((range, step)) if step.parse::<u32>().is_ok_and(|s| s > LONG_STEP) => {
            format!("{range}/{LONG_STEP}")
        }
        _ => part.to_owned(),
    };
    text.split_whitespace()
        .map(|field| {
            field
                .split(',')
                .map(clamp_part)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Schedule {
    /// Whether the task has a schedule at all.
    pub fn is_set(&self) -> bool {
        self.cron.is_some() || self.interval_hours.is_some()
    }

    /// Checks the schedule: at most one kind, a valid cron expression, an interval of 1 to
    /// 8760 hours.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        match (&self.cron, self.interval_hours) {
            (Some(_), Some(_)) => Err(invalid(
                "schedule",
                "give either cron or interval_hours, not both",
            )),
            (Some(c), None) => Cron::parse(c).map(|_| ()),
            (None, Some(h)) if !(1..=8760).contains(&h) => Err(invalid(
                "schedule",
                "interval_hours must be between 1 and 8760",
            )),
            (None, None) if self.start_at.is_some() => {
                Err(invalid("schedule", "start_at needs interval_hours"))
            }
            _ => Ok(()),
        }
    }

    /// The first slot strictly after `after` (`None` for no schedule), a cron expression read
    /// in `zone`. `saved_at` anchors an interval schedule without a start time.
    pub fn next_after(
        &self,
        after: DateTime<Utc>,
        saved_at: DateTime<Utc>,
        zone: &TimeZoneName,
    ) -> Option<DateTime<Utc>> {
        if let Some(c) = &self.cron {
            return Cron::parse(c).ok()?.next_after(after, zone);
        }
        let hours = i64::from(self.interval_hours?);
        let start = self.start_at.unwrap_or(saved_at);
        if start > after {
            return Some(start);
        }
        let step = Duration::hours(hours);
        let elapsed = after - start;
        let n = elapsed.num_seconds() / step.num_seconds() + 1;
        Some(start + step * i32::try_from(n).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::UTC;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn cron_next_times() {
        let c = Cron::parse("*/15 2 * * 1-5").unwrap();
        // Saturday 2026-11-21 -> Monday 02:00.
        assert_eq!(
            c.next_after(at("2026-11-21T10:00:00Z"), &Utc),
            Some(at("2026-11-23T02:00:00Z"))
        );
        assert_eq!(
            c.next_after(at("2026-11-23T02:00:00Z"), &Utc),
            Some(at("2026-11-23T02:15:00Z"))
        );
        assert_eq!(
            c.next_after(at("2026-11-23T02:45:30Z"), &Utc),
            Some(at("2026-11-24T02:00:00Z"))
        );
        let yearly = Cron::parse("0 0 29 2 *").unwrap();
        assert_eq!(
            yearly.next_after(at("2026-11-22T00:00:00Z"), &Utc),
            None,
            "29 February is more than a year away"
        );
        let sunday = Cron::parse("30 4 * * 7").unwrap();
        assert_eq!(
            sunday.next_after(at("2026-11-23T00:00:00Z"), &Utc),
            Some(at("2026-11-29T04:30:00Z"))
        );
    }

    #[test]
    fn cron_reads_wall_clock_time_in_the_zone() {
        let berlin = parse_time_zone("Europe/Berlin").unwrap();
        let daily = Schedule {
            cron: Some("30 2 * * *".into()),
            ..Schedule::default()
        };
        let next = |after: &str| daily.next_after(at(after), at(after), &berlin);
        // Winter (UTC+1): 02:30 in Berlin is 01:30 UTC.
        assert_eq!(
            next("2026-11-22T12:00:00Z"),
            Some(at("2026-11-23T01:30:00Z"))
        );
        // Summer (UTC+2): 00:30 UTC.
        assert_eq!(
            next("2026-07-01T12:00:00Z"),
            Some(at("2026-07-02T00:30:00Z"))
        );
        // 29 March 2026: clocks jump from 02:00 to 03:00; the skipped 02:30 runs at 03:00.
        assert_eq!(
            next("2026-03-28T12:00:00Z"),
            Some(at("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            next("2026-03-29T01:00:00Z"),
            Some(at("2026-03-30T00:30:00Z"))
        );
        // 25 October 2026: 02:30 happens twice; it runs at the first only.
        assert_eq!(
            next("2026-10-24T12:00:00Z"),
            Some(at("2026-10-25T00:30:00Z"))
        );
        assert_eq!(
            next("2026-10-25T00:30:00Z"),
            Some(at("2026-10-26T01:30:00Z")),
            "the repeated 02:30 (01:30 UTC) is not a second slot"
        );
        assert_eq!(
            parse_time_zone("Mars/Olympus").unwrap_err().field,
            "time_zone"
        );
    }

    #[test]
    fn bad_cron_is_refused_with_the_field() {
        for bad in [
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "*/0 * * * *",
            "a * * * *",
            "5-1 * * * *",
        ] {
            let e = Cron::parse(bad).unwrap_err();
            assert_eq!(e.field, "schedule", "{bad}");
        }
    }

    #[test]
    fn interval_slots_are_anchored_at_the_start() {
        let s = Schedule {
            cron: None,
            interval_hours: Some(6),
            start_at: Some(at("2026-11-22T01:00:00Z")),
        };
        let saved = at("2026-01-01T00:00:00Z");
        assert_eq!(
            s.next_after(at("2026-11-21T00:00:00Z"), saved, &UTC),
            Some(at("2026-11-22T01:00:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-11-22T01:00:00Z"), saved, &UTC),
            Some(at("2026-11-22T07:00:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-11-22T12:59:00Z"), saved, &UTC),
            Some(at("2026-11-22T13:00:00Z"))
        );
        assert!(Schedule::default()
            .next_after(at("2026-11-22T01:00:00Z"), saved, &UTC)
            .is_none());
    }

    #[test]
    fn schedules_validate() {
        assert!(Schedule {
            cron: Some("0 3 * * *".into()),
            interval_hours: Some(2),
            start_at: None
        }
        .validate()
        .is_err());
        assert!(Schedule {
            cron: None,
            interval_hours: Some(0),
            start_at: None
        }
        .validate()
        .is_err());
        assert!(Schedule::default().validate().is_ok());
    }
}
