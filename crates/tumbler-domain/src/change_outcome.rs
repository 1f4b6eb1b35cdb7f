//! The end of one account's change, as a state machine: where the account's secret stands
//! after a change attempt ([`ChangeOutcome`]) decides the record's status, the account's
//! status and which stored version becomes current ([`decide`]). No IO: the engine stores
//! the [`Decision`] in one transaction.

use crate::change_secret::RecordStatus;
use crate::inventory::AccountStatus;

/// Where an account's secret stands after a change attempt; `F` is the failure that explains
/// every outcome but a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome<F> {
    /// Committed: the new secret is current.
    Committed,
    /// Not changed; the current secret stays (pending dropped).
    NotChanged(F),
    /// The target took the change but the new secret could not be proved: pending kept.
    Unverified(F),
    /// Neither secret could be proved: pending kept for a person.
    Unknown(F),
    /// Only the previous secret works (found by recovery): it becomes current again.
    Previous(F),
}

impl<F> ChangeOutcome<F> {
    /// The failure that explains the outcome (`None` for a commit).
    pub fn failure(&self) -> Option<&F> {
        match self {
            Self::Committed => None,
            Self::NotChanged(f) | Self::Unverified(f) | Self::Unknown(f) | Self::Previous(f) => {
                Some(f)
            }
        }
    }
}

/// The stored versions of an account's secret before the outcome is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredVersions {
    /// The version that worked before the change.
    pub current: i64,
    /// The version kept before it, if any.
    pub previous: Option<i64>,
}

/// Where the account stands once an outcome is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountResolution {
    /// The version that works now.
    pub current_version: i64,
    /// The version kept before it.
    pub previous_version: Option<i64>,
    /// The version still staged (kept when a change is unverified), or none.
    pub pending_version: Option<i64>,
    /// The account's status.
    pub status: AccountStatus,
    /// Whether the secret changed (sets the last change time).
    pub changed: bool,
    /// Whether a login proved the current version (sets the last verification time).
    pub verified: bool,
}

/// What applying an outcome does: the record's status and the account's resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The record's status.
    pub record_status: RecordStatus,
    /// Where the account stands.
    pub account: AccountResolution,
}

/// Decides what `outcome` of the change that staged `staged` does to an account whose
/// versions were `before`.
///
/// - committed: `staged` becomes current, the old current previous; the record succeeds;
/// - not changed: the versions stay, pending is dropped; the record fails;
/// - unverified or unknown: the versions stay and `staged` stays pending for a person; the
///   record is unverified (the target took the change) or failed (nothing could be proved);
/// - previous: the previous version becomes current again (the current one when there is no
///   previous) and the old current becomes previous; the record fails.
pub fn decide<F>(outcome: &ChangeOutcome<F>, before: StoredVersions, staged: i64) -> Decision {
    let unchanged = |pending_version: Option<i64>| AccountResolution {
        current_version: before.current,
        previous_version: before.previous,
        pending_version,
        status: AccountStatus::NeedsAttention,
        changed: false,
        verified: false,
    };
    let (record_status, account) = match outcome {
        ChangeOutcome::Committed => (
            RecordStatus::Success,
            AccountResolution {
                current_version: staged,
                previous_version: Some(before.current),
                pending_version: None,
                status: AccountStatus::Ok,
                changed: true,
                verified: true,
            },
        ),
        ChangeOutcome::NotChanged(_) => (RecordStatus::Failed, unchanged(None)),
        ChangeOutcome::Unverified(_) => (RecordStatus::Unverified, unchanged(Some(staged))),
        ChangeOutcome::Unknown(_) => (RecordStatus::Failed, unchanged(Some(staged))),
        ChangeOutcome::Previous(_) => (
            RecordStatus::Failed,
            AccountResolution {
                current_version: before.previous.unwrap_or(before.current),
                previous_version: Some(before.current),
                pending_version: None,
                status: AccountStatus::Ok,
                changed: true,
                verified: true,
            },
        ),
    };
    Decision {
        record_status,
        account,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: StoredVersions = StoredVersions {
        current: 3,
        previous: Some(2),
    };
    const FIRST: StoredVersions = StoredVersions {
        current: 1,
        previous: None,
    };

    fn decided(outcome: ChangeOutcome<&str>, before: StoredVersions) -> Decision {
        decide(&outcome, before, 4)
    }

    #[test]
    fn a_commit_makes_the_staged_version_current_and_keeps_the_old_one_as_previous() {
        let d = decided(ChangeOutcome::Committed, BEFORE);
        assert_eq!(d.record_status, RecordStatus::Success);
        assert_eq!(
            d.account,
            AccountResolution {
                current_version: 4,
                previous_version: Some(3),
                pending_version: None,
                status: AccountStatus::Ok,
                changed: true,
                verified: true,
            }
        );
        // The first change of an account has a previous version afterwards.
        let d = decided(ChangeOutcome::Committed, FIRST);
        assert_eq!(d.account.current_version, 4);
        assert_eq!(d.account.previous_version, Some(1));
    }

    #[test]
    fn not_changed_keeps_the_versions_drops_pending_and_fails() {
        for before in [BEFORE, FIRST] {
            let d = decided(ChangeOutcome::NotChanged("refused"), before);
            assert_eq!(d.record_status, RecordStatus::Failed);
            assert_eq!(
                d.account,
                AccountResolution {
                    current_version: before.current,
                    previous_version: before.previous,
                    pending_version: None,
                    status: AccountStatus::NeedsAttention,
                    changed: false,
                    verified: false,
                }
            );
        }
    }

    #[test]
    fn unverified_keeps_the_versions_and_the_staged_one_pending() {
        for before in [BEFORE, FIRST] {
            let d = decided(ChangeOutcome::Unverified("timeout"), before);
            assert_eq!(d.record_status, RecordStatus::Unverified);
            assert_eq!(
                d.account,
                AccountResolution {
                    current_version: before.current,
                    previous_version: before.previous,
                    pending_version: Some(4),
                    status: AccountStatus::NeedsAttention,
                    changed: false,
                    verified: false,
                }
            );
        }
    }

    #[test]
    fn unknown_keeps_the_staged_version_pending_and_fails() {
        for before in [BEFORE, FIRST] {
            let d = decided(ChangeOutcome::Unknown("verify_failed"), before);
            assert_eq!(d.record_status, RecordStatus::Failed);
            assert_eq!(
                d.account,
                AccountResolution {
                    current_version: before.current,
                    previous_version: before.previous,
                    pending_version: Some(4),
                    status: AccountStatus::NeedsAttention,
                    changed: false,
                    verified: false,
                }
            );
        }
    }

    #[test]
    fn previous_makes_the_previous_version_current_again() {
        let d = decided(ChangeOutcome::Previous("previous_works"), BEFORE);
        assert_eq!(d.record_status, RecordStatus::Failed);
        assert_eq!(
            d.account,
            AccountResolution {
                current_version: 2,
                previous_version: Some(3),
                pending_version: None,
                status: AccountStatus::Ok,
                changed: true,
                verified: true,
            }
        );
    }

    #[test]
    fn previous_without_a_previous_version_keeps_the_current_one() {
        let d = decided(ChangeOutcome::Previous("previous_works"), FIRST);
        assert_eq!(d.record_status, RecordStatus::Failed);
        assert_eq!(d.account.current_version, 1);
        assert_eq!(d.account.previous_version, Some(1));
        assert_eq!(d.account.pending_version, None);
        assert_eq!(d.account.status, AccountStatus::Ok);
    }

    #[test]
    fn only_a_commit_has_no_failure() {
        assert_eq!(ChangeOutcome::<&str>::Committed.failure(), None);
        for outcome in [
            ChangeOutcome::NotChanged("x"),
            ChangeOutcome::Unverified("x"),
            ChangeOutcome::Unknown("x"),
            ChangeOutcome::Previous("x"),
        ] {
            assert_eq!(outcome.failure(), Some(&"x"));
        }
    }

    #[test]
    fn the_pending_version_is_kept_exactly_when_nothing_was_proved() {
        let kept = |o: ChangeOutcome<&str>| decided(o, BEFORE).account.pending_version.is_some();
        assert!(!kept(ChangeOutcome::Committed));
        assert!(!kept(ChangeOutcome::NotChanged("x")));
        assert!(kept(ChangeOutcome::Unverified("x")));
        assert!(kept(ChangeOutcome::Unknown("x")));
        assert!(!kept(ChangeOutcome::Previous("x")));
    }
}
