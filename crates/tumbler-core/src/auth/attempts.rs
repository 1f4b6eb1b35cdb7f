//! Counting authentication attempts: every check of a password or a second factor is reserved
//! against the source address's throttle and the account's lockout before it runs (the store
//! counts it in one statement), stays counted when it fails and is given back when it succeeds.

use super::{AuthError, AuthService};
use crate::policy::load_policy;
use crate::throttle::Reservation;
use crate::{event, RequestOrigin};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::UserId;

/// Longest username a login looks at: no user can have a longer one (user names are 1 to 64
/// characters), and audit events keep at most this much of what was sent.
pub const MAX_USERNAME_CHARS: usize = 64;

/// `name` cut to [`MAX_USERNAME_CHARS`], and whether it was longer.
pub(crate) fn capped_username(name: &str) -> (&str, bool) {
    match name.char_indices().nth(MAX_USERNAME_CHARS) {
        Some((at, _)) => (&name[..at], true),
        None => (name, false),
    }
}

/// An attempt reserved against the account's lockout.
pub(super) enum AccountSlot {
    /// Reserved: counted as a failure until given back.
    Reserved,
    /// The account is locked (or its attempts in flight already reach the limit).
    Locked,
}

impl AuthService {
    /// Starts an attempt from `origin`: audits the summary of an ended window of refusals,
    /// then reserves the attempt against the source's throttle. A throttled attempt is audited
    /// only when it is the first refusal of its window.
    pub(super) async fn reserve_source(
        &self,
        username: &str,
        action: AuditAction,
        origin: &RequestOrigin,
    ) -> Result<Reservation, AuthError> {
        let now = self.clock.now();
        if let Some(window) = self.throttle.take_ended_refusals(&origin.source, now) {
            let mut tx = self.store.begin().await?;
            tx.append_audit(
                &event(
                    &origin.source,
                    AuditAction::AuthThrottled,
                    ("source", &origin.source),
                    Outcome::Failure,
                    origin,
                    format!(
                        "refused_attempts={} since={}",
                        window.refused,
                        window.started.to_rfc3339()
                    ),
                ),
                now,
            )
            .await?;
            tx.commit().await?;
        }
        match self.throttle.reserve(&origin.source, now) {
            Ok(r) => Ok(r),
            Err(t) => {
                if t.first_in_window {
                    let (name, _) = capped_username(username);
                    let mut tx = self.store.begin().await?;
                    tx.append_audit(
                        &event(
                            name,
                            action,
                            ("user", ""),
                            Outcome::Failure,
                            origin,
                            "rate_limited (further refusals from this address in this window are counted in one auth.throttled event)",
                        ),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                }
                Err(AuthError::RateLimited {
                    retry_after_secs: (t.until - now).num_seconds().max(1),
                })
            }
        }
    }

    /// Gives a source reservation back (the attempt succeeded).
    pub(super) fn release_source(&self, reservation: Reservation) {
        self.throttle.release(reservation);
    }

    /// Reserves one attempt against the account's lockout.
    pub(super) async fn reserve_account(&self, id: &UserId) -> Result<AccountSlot, AuthError> {
        let policy = load_policy(&self.store).await?;
        let mut tx = self.store.begin().await?;
        let ok = tx
            .reserve_login_attempt(id, i64::from(policy.max_failed_logins), self.clock.now())
            .await?;
        tx.commit().await?;
        Ok(if ok {
            AccountSlot::Reserved
        } else {
            AccountSlot::Locked
        })
    }

    /// The reserved attempt failed: it stays counted and may lock the account.
    pub(super) async fn fail_account(&self, id: &UserId) -> Result<(), AuthError> {
        let policy = load_policy(&self.store).await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.fail_login_attempt(
            id,
            i64::from(policy.max_failed_logins),
            now + policy.lockout(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The reserved attempt succeeded but does not end the count (HTTP Basic, a first factor).
    pub(super) async fn release_account(&self, id: &UserId) -> Result<(), AuthError> {
        let mut tx = self.store.begin().await?;
        tx.release_login_attempt(id, self.clock.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts a failed second-factor or current-password check of a signed-in user (step-up,
    /// token creation, own password change) like a failed login; fails with `locked` when the
    /// account is locked or the source throttled, before anything is checked.
    pub(super) async fn begin_checked_attempt(
        &self,
        username: &str,
        id: &UserId,
        action: AuditAction,
        origin: &RequestOrigin,
        locked: AuthError,
    ) -> Result<Reservation, AuthError> {
        let reservation = self.reserve_source(username, action, origin).await?;
        match self.reserve_account(id).await? {
            AccountSlot::Reserved => Ok(reservation),
            AccountSlot::Locked => {
                let mut tx = self.store.begin().await?;
                tx.append_audit(
                    &event(
                        username,
                        action,
                        ("user", id.as_str()),
                        Outcome::Failure,
                        origin,
                        "locked_out",
                    ),
                    self.clock.now(),
                )
                .await?;
                tx.commit().await?;
                Err(locked)
            }
        }
    }
}
