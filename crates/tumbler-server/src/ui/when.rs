//! Times as every console page shows them: one format, `2026-12-06 03:00 UTC`, inside a
//! `<time datetime="RFC 3339">` element that the console script rewrites to the viewer's own
//! time zone (with the zone's name); without the script the page still reads in UTC.

use chrono::{DateTime, Utc};
use std::fmt;

/// A time to show (`-` when there is none), rendered as a `<time>` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When(pub Option<DateTime<Utc>>);

impl When {
    /// A time that is there.
    pub fn at(t: DateTime<Utc>) -> Self {
        Self(Some(t))
    }

    /// The time as plain text in UTC (`2026-12-06 03:00 UTC`), for places that take no markup
    /// (page titles, SVG titles); `-` when there is none.
    pub fn plain(&self) -> String {
        match self.0 {
            Some(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
            None => "-".to_owned(),
        }
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(t) => write!(
                f,
                "<time datetime=\"{}\">{}</time>",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                self.plain()
            ),
            None => f.write_str("-"),
        }
    }
}

/// Only digits, dashes, colons, spaces and fixed markup: nothing to escape.
impl askama::filters::HtmlSafe for When {}

/// A run's or job's readable label: what it is and when it started
/// (`nightly-web · 2026-12-06 03:00 UTC`), as plain text.
pub fn label(what: &str, started: DateTime<Utc>) -> String {
    format!("{what} · {}", When::at(started).plain())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_time_is_a_time_element_in_utc_and_none_is_a_dash() {
        let t = Utc.with_ymd_and_hms(2026, 12, 6, 3, 0, 9).unwrap();
        assert_eq!(
            When::at(t).to_string(),
            "<time datetime=\"2026-12-06T03:00:09Z\">2026-12-06 03:00 UTC</time>"
        );
        assert_eq!(When(None).to_string(), "-");
        assert_eq!(
            label("nightly-web", t),
            "nightly-web · 2026-12-06 03:00 UTC"
        );
    }
}
