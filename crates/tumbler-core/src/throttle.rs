//! Login throttling per source address: after too many failed logins from one address within a
//! window, further attempts from it are refused until the oldest failure leaves the window.
//! Kept in memory per node; lockout per account (in the store) covers several nodes.

use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Above this many tracked addresses, addresses with no failure inside the window are forgotten.
const PRUNE_ABOVE: usize = 10_000;

/// Failed-login counts per source address.
#[derive(Debug)]
pub struct SourceThrottle {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl SourceThrottle {
    /// Allows `max_failures` failures per address within `window`.
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(until)` when `source` must wait until `until` before trying again.
    pub fn check(&self, source: &str, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let Some(times) = map.get_mut(source) else {
            return Ok(());
        };
        while times.front().is_some_and(|t| *t + self.window <= now) {
            times.pop_front();
        }
        match times.front() {
            Some(oldest) if times.len() >= self.max_failures => Err(*oldest + self.window),
            _ => Ok(()),
        }
    }

    /// Counts one failed login from `source`.
    pub fn record_failure(&self, source: &str, now: DateTime<Utc>) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > PRUNE_ABOVE {
            let window = self.window;
            map.retain(|_, times| times.back().is_some_and(|t| *t + window > now));
        }
        map.entry(source.to_owned()).or_default().push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_until_the_window_passes() {
        let t = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let th = SourceThrottle::new(3, Duration::minutes(10));
        for i in 0..3 {
            assert!(th.check("1.2.3.4", t).is_ok());
            th.record_failure("1.2.3.4", t + Duration::minutes(i));
        }
        assert_eq!(
            th.check("1.2.3.4", t + Duration::minutes(3)),
            Err(t + Duration::minutes(10))
        );
        assert!(
            th.check("5.6.7.8", t).is_ok(),
            "other addresses are unaffected"
        );
        assert!(th.check("1.2.3.4", t + Duration::minutes(10)).is_ok());
    }
}
