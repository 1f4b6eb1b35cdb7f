//! Login throttling per source address: after too many failed attempts (wrong passwords or
//! codes, unknown users, unknown certificates) from one address within a window, further
//! attempts from it are refused until the oldest failure leaves the window. An attempt is
//! reserved (counted as a failure) before its password is hashed, so parallel attempts cannot
//! outrun the limit; a successful one gives its reservation back.
//!
//! Refused attempts are audited once per address and window: the first refusal is one event,
//! the rest are counted and reported in one summary event when the window has passed.
//! Kept in memory per node; lockout per account (in the store) covers several nodes.

use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Above this many tracked addresses, addresses with no failure inside the window are forgotten.
const PRUNE_ABOVE: usize = 10_000;

/// Refusals of one address in one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusalWindow {
    /// The first refusal of the window.
    pub started: DateTime<Utc>,
    /// Refusals in the window, the first included.
    pub refused: u64,
}

/// Why an attempt may not go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// When the address may try again.
    pub until: DateTime<Utc>,
    /// Whether this is the first refusal of a new window (the one that is audited).
    pub first_in_window: bool,
}

/// An attempt counted in advance; give it back with [`SourceThrottle::release`] on success.
#[derive(Debug)]
pub struct Reservation {
    source: String,
    at: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct State {
    failures: HashMap<String, VecDeque<DateTime<Utc>>>,
    refusals: HashMap<String, RefusalWindow>,
}

/// Failed-attempt counts per source address.
#[derive(Debug)]
pub struct SourceThrottle {
    max_failures: usize,
    window: Duration,
    state: Mutex<State>,
}

impl SourceThrottle {
    /// Allows `max_failures` failures per address within `window`.
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves one attempt from `source`: counted as a failure until released. Refused when
    /// the address has used up its failures in the window (finished and in flight).
    pub fn reserve(&self, source: &str, now: DateTime<Utc>) -> Result<Reservation, Throttled> {
        let window = self.window;
        let mut state = self.lock();
        if state.failures.len() > PRUNE_ABOVE {
            state
                .failures
                .retain(|_, times| times.back().is_some_and(|t| *t + window > now));
        }
        let times = state.failures.entry(source.to_owned()).or_default();
        while times.front().is_some_and(|t| *t + window <= now) {
            times.pop_front();
        }
        if times.len() >= self.max_failures {
            let until = times.front().map_or(now, |oldest| *oldest + window);
            if state.refusals.len() > PRUNE_ABOVE {
                state.refusals.retain(|_, r| r.started + window > now);
            }
            let entry = state.refusals.get(source).copied();
            let first_in_window = match entry {
                Some(r) if r.started + window > now => {
                    if let Some(r) = state.refusals.get_mut(source) {
                        r.refused = r.refused.saturating_add(1);
                    }
                    false
                }
                // An ended window with more than one refusal is taken by
                // `take_ended_refusals` first; whatever is left is replaced.
                _ => {
                    state.refusals.insert(
                        source.to_owned(),
                        RefusalWindow {
                            started: now,
                            refused: 1,
                        },
                    );
                    true
                }
            };
            return Err(Throttled {
                until,
                first_in_window,
            });
        }
        times.push_back(now);
        Ok(Reservation {
            source: source.to_owned(),
            at: now,
        })
    }

    /// Gives a reservation back: the attempt succeeded.
    pub fn release(&self, reservation: Reservation) {
        let mut state = self.lock();
        if let Some(times) = state.failures.get_mut(&reservation.source) {
            if let Some(pos) = times.iter().rposition(|t| *t == reservation.at) {
                times.remove(pos);
            }
        }
    }

    /// The refusal window of `source` that has ended, if more attempts were refused in it
    /// than the one audited when it began (to be audited as one summary event).
    pub fn take_ended_refusals(&self, source: &str, now: DateTime<Utc>) -> Option<RefusalWindow> {
        let mut state = self.lock();
        let ended = state
            .refusals
            .get(source)
            .is_some_and(|r| r.started + self.window <= now);
        if !ended {
            return None;
        }
        state.refusals.remove(source).filter(|r| r.refused > 1)
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
            th.reserve("1.2.3.4", t + Duration::minutes(i)).unwrap();
        }
        let refused = th.reserve("1.2.3.4", t + Duration::minutes(3)).unwrap_err();
        assert_eq!(refused.until, t + Duration::minutes(10));
        assert!(refused.first_in_window);
        assert!(
            !th.reserve("1.2.3.4", t + Duration::minutes(4))
                .unwrap_err()
                .first_in_window
        );
        assert!(
            th.reserve("5.6.7.8", t).is_ok(),
            "other addresses are unaffected"
        );
        let released = th.reserve("5.6.7.8", t).unwrap();
        th.release(released);
        assert!(th.reserve("1.2.3.4", t + Duration::minutes(10)).is_ok());
        let summary = th
            .take_ended_refusals("1.2.3.4", t + Duration::minutes(13))
            .unwrap();
        assert_eq!(summary.refused, 2);
    }
}
