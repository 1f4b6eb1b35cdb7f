//! Checking the TOTP second factor: a code (accepted once: the step it belongs to is claimed
//! atomically in the store) or a recovery code, at login and at step-up for sensitive actions,
//! and the session's window after a fresh code. Enrolment and the factor's lifecycle live in
//! `totp_enrolment.rs`.

use super::{AuthError, AuthMethod, AuthService, Principal};
use crate::hashing::{hash_password, token_hash, verify_password};
use crate::{event, RequestOrigin};
use secrecy::SecretString;
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::secret_owner::SecretOwner;
use tumbler_domain::totp;
use tumbler_domain::user::User;
use tumbler_store::TotpState;
use zeroize::Zeroizing;

/// Vault owner kind of TOTP secrets.
pub(super) const OWNER_KIND: SecretOwner = SecretOwner::Totp;
/// Issuer shown by authenticator apps.
const ISSUER: &str = "Tumbler";

/// The `otpauth://` URI an authenticator app reads for `username`'s secret (base32): what a
/// QR code shows. Show once; never log.
pub fn enrolment_uri(username: &str, secret_base32: &str) -> Zeroizing<String> {
    Zeroizing::new(totp::otpauth_uri(ISSUER, username, secret_base32))
}

/// What a second-factor check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SecondFactor {
    /// A valid code, now used up.
    Accepted,
    /// Not a valid code.
    Rejected,
    /// The TOTP code of a step already used (the same code twice within its 30 seconds).
    Reused,
}

/// What a TOTP code is for `secret` at `now` after `last_step`: the step to claim, a code of a
/// step already used, or nothing.
pub(super) fn check_code(
    secret: &[u8],
    code: &str,
    now: chrono::DateTime<chrono::Utc>,
    last_step: Option<i64>,
) -> Result<i64, SecondFactor> {
    match totp::verify(secret, code, now, last_step) {
        Some(step) => Ok(step),
        None if last_step.is_some() && totp::verify(secret, code, now, None).is_some() => {
            Err(SecondFactor::Reused)
        }
        None => Err(SecondFactor::Rejected),
    }
}

/// Prefix of a recovery code's stored form: `argon2id:SELECTOR:PHC`.
const RECOVERY_PREFIX: &str = "argon2id:";

/// The stored form of a recovery code issued before they were hashed with Argon2id: the hex
/// SHA-256 of `recovery:CODE`. Such codes keep working until used or regenerated.
fn legacy_recovery_hash(normalized: &str) -> String {
    token_hash(&format!("recovery:{normalized}"))
}

/// The stored forms of `codes`: each an Argon2id hash (salted, like a password) behind the
/// code's first characters, which find it without trying every hash.
pub(super) async fn hash_recovery_codes(
    codes: &[Zeroizing<String>],
) -> Result<Vec<String>, AuthError> {
    let mut out = Vec::with_capacity(codes.len());
    for c in codes {
        let normalized = totp::normalize_recovery_code(c);
        let selector = normalized[..totp::RECOVERY_SELECTOR_LEN].to_owned();
        let phc = hash_password(SecretString::from(normalized))
            .await
            .map_err(AuthError::Hashing)?;
        out.push(format!("{RECOVERY_PREFIX}{selector}:{phc}"));
    }
    Ok(out)
}

/// Whether `code` would be checked as a current recovery code (an Argon2id hash): not only
/// digits, and of a recovery code's length once normalized. Login spends a dummy hash on such
/// a code after a wrong password, so both answers cost the same.
pub(super) fn is_recovery_code_shaped(code: &str) -> bool {
    let digits_only = code.trim().bytes().all(|b| b.is_ascii_digit());
    !code.trim().is_empty()
        && !digits_only
        && totp::normalize_recovery_code(code).len() == totp::RECOVERY_CODE_LEN
}

impl AuthService {
    /// Writes one audit event about `user` in a transaction of its own.
    pub(super) async fn audit(
        &self,
        actor: &str,
        action: AuditAction,
        user: &User,
        outcome: Outcome,
        origin: &RequestOrigin,
        detail: &str,
    ) -> Result<(), AuthError> {
        let mut tx = self.store.begin().await?;
        tx.append_audit(
            &event(
                actor,
                action,
                ("user", user.id.as_str()),
                outcome,
                origin,
                detail,
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks a second factor for `user`: a TOTP code not used before, or an unused recovery
    /// code (which is then used up). The code of a step already used is refused with its own
    /// error ([`AuthError::TotpReused`]: wait for the next code). The check is counted like a login attempt: refused
    /// before it runs when the account is locked or the source throttled, and a wrong code
    /// counts towards both; failures are audited.
    pub async fn verify_second_factor(
        &self,
        user: &User,
        code: &str,
        origin: &RequestOrigin,
        action: AuditAction,
    ) -> Result<(), AuthError> {
        let source = self
            .begin_checked_attempt(
                &user.username,
                &user.id,
                action,
                origin,
                AuthError::AccountLocked,
            )
            .await?;
        let found = self
            .second_factor_matches(user, code, origin, action)
            .await?;
        if found != SecondFactor::Accepted {
            // A reused code counts like a wrong one: it proves nothing new.
            let error = if found == SecondFactor::Reused {
                AuthError::TotpReused
            } else {
                AuthError::InvalidTotp
            };
            self.fail_account(&user.id).await?;
            self.audit(
                &user.username,
                action,
                user,
                Outcome::Failure,
                origin,
                error.code(),
            )
            .await?;
            return Err(error);
        }
        self.release_source(source);
        self.release_account(&user.id).await?;
        Ok(())
    }

    /// The stored form of the user's unused recovery code that `code` is, if any. A current
    /// code is found by its first characters and checked against its Argon2id hash (one
    /// hash per attempt; a dummy one when nothing matches, so timing says nothing); a code
    /// of the old, shorter format by its SHA-256.
    async fn matching_recovery_code(
        &self,
        user: &User,
        code: &str,
    ) -> Result<Option<String>, AuthError> {
        let normalized = Zeroizing::new(totp::normalize_recovery_code(code));
        let stored = self.store.unused_recovery_codes(&user.id).await?;
        if normalized.len() == totp::LEGACY_RECOVERY_CODE_LEN {
            let legacy = legacy_recovery_hash(&normalized);
            return Ok(stored.into_iter().find(|s| *s == legacy));
        }
        if normalized.len() != totp::RECOVERY_CODE_LEN {
            return Ok(None);
        }
        let prefix = format!(
            "{RECOVERY_PREFIX}{}:",
            &normalized[..totp::RECOVERY_SELECTOR_LEN]
        );
        let candidate = stored.into_iter().find(|s| s.starts_with(&prefix));
        let phc = candidate
            .as_deref()
            .and_then(|s| s.strip_prefix(&prefix))
            .map(str::to_owned);
        let secret = SecretString::from(normalized.as_str().to_owned());
        Ok(if verify_password(secret, phc).await {
            candidate
        } else {
            None
        })
    }

    /// Whether `code` is a second factor of `user` (claiming it: a code works once), or the
    /// code of a step already used. Counts and audits nothing: callers hold a reservation for
    /// the attempt.
    pub(super) async fn second_factor_matches(
        &self,
        user: &User,
        code: &str,
        origin: &RequestOrigin,
        action: AuditAction,
    ) -> Result<SecondFactor, AuthError> {
        let row = self
            .store
            .totp(&user.id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        if row.state != TotpState::Enabled {
            return Err(AuthError::MfaNotEnrolled);
        }
        let now = self.clock.now();
        let digits_only = code.trim().bytes().all(|b| b.is_ascii_digit());
        if digits_only {
            let secret = self
                .vault
                .open_secret(OWNER_KIND, user.id.as_str(), row.version)
                .await?;
            return Ok(match check_code(&secret, code, now, row.last_step) {
                Ok(step) => {
                    let mut tx = self.store.begin().await?;
                    let claimed = tx.claim_totp_step(&user.id, step).await?;
                    tx.commit().await?;
                    if claimed {
                        SecondFactor::Accepted
                    } else {
                        // Another request claimed this step first.
                        SecondFactor::Reused
                    }
                }
                Err(found) => found,
            });
        }
        let stored = self.matching_recovery_code(user, code).await?;
        let mut tx = self.store.begin().await?;
        let used = match &stored {
            Some(stored) => tx.use_recovery_code(&user.id, stored, now).await?,
            None => false,
        };
        if used {
            tx.append_audit(
                &event(
                    &user.username,
                    AuditAction::UserRecoveryCodeUse,
                    ("user", user.id.as_str()),
                    Outcome::Success,
                    origin,
                    action.as_str(),
                ),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(if used {
            SecondFactor::Accepted
        } else {
            SecondFactor::Rejected
        })
    }

    /// Step-up for a sensitive action: a fresh second factor even within a session, always
    /// (a stolen session must not turn an open window into a reset, a new credential or a
    /// pinned key). Users without TOTP cannot perform sensitive actions; nor can API tokens
    /// unless the token's owner gives a code with the request. On a console session, the
    /// code's check opens the window [`AuthService::step_up_to_read`] honours.
    pub async fn step_up(
        &self,
        principal: &Principal,
        code: Option<&str>,
        action: AuditAction,
        origin: &RequestOrigin,
    ) -> Result<(), AuthError> {
        self.step_up_inner(principal, code, action, origin, false)
            .await
    }

    /// Step-up for reading a secret (revealing one, exporting secrets): on a console session,
    /// a fresh code's check opens a window ([`super::AuthSettings::sensitive_window`]) in
    /// which the same session's further reads need no code; logging out (or the session's
    /// end) closes it. Everything that changes a credential takes [`AuthService::step_up`].
    pub async fn step_up_to_read(
        &self,
        principal: &Principal,
        code: Option<&str>,
        action: AuditAction,
        origin: &RequestOrigin,
    ) -> Result<(), AuthError> {
        self.step_up_inner(principal, code, action, origin, true)
            .await
    }

    /// [`AuthService::step_up`], with the session's window honoured or not (changing the
    /// second factor itself always needs a code).
    pub(super) async fn step_up_inner(
        &self,
        principal: &Principal,
        code: Option<&str>,
        action: AuditAction,
        origin: &RequestOrigin,
        window_unlocks: bool,
    ) -> Result<(), AuthError> {
        principal.require_active()?;
        if !principal.user.mfa_enabled {
            return Err(AuthError::MfaNotEnrolled);
        }
        if window_unlocks && self.sensitive_window_until(principal).await?.is_some() {
            return Ok(());
        }
        let code = code
            .filter(|c| !c.trim().is_empty())
            .ok_or(AuthError::TotpRequired)?;
        self.verify_second_factor(&principal.user, code, origin, action)
            .await?;
        if let AuthMethod::Session { id, .. } = &principal.method {
            if self.settings.sensitive_window > chrono::Duration::zero() {
                let until = self.clock.now() + self.settings.sensitive_window;
                let mut tx = self.store.begin().await?;
                tx.set_session_sensitive_until(id, until).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// When the caller's open window for sensitive actions ends: only console sessions have
    /// one, opened by a fresh code's check; `None` when closed, expired or turned off.
    pub async fn sensitive_window_until(
        &self,
        principal: &Principal,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, AuthError> {
        let AuthMethod::Session { id, .. } = &principal.method else {
            return Ok(None);
        };
        if self.settings.sensitive_window <= chrono::Duration::zero() {
            return Ok(None);
        }
        let now = self.clock.now();
        // A window longer than the setting (lowered since) is cut to the setting.
        Ok(self
            .store
            .session_sensitive_until(id)
            .await?
            .filter(|until| *until > now && *until <= now + self.settings.sensitive_window))
    }
}

#[cfg(test)]
mod shape_tests {
    use super::*;

    #[test]
    fn issued_recovery_codes_are_recovery_shaped_and_totp_codes_are_not() {
        for code in totp::generate_recovery_codes() {
            assert!(is_recovery_code_shaped(&code), "{}", code.as_str());
        }
        assert!(!is_recovery_code_shaped("123456"));
        assert!(!is_recovery_code_shaped(""));
        assert!(!is_recovery_code_shaped("abc"));
    }
}

#[cfg(test)]
mod reuse_tests {
    use super::*;

    #[test]
    fn a_code_of_a_used_step_is_reused_not_wrong() {
        let secret = totp::generate_secret();
        let now = chrono::Utc::now();
        let step = totp::step_of(now);
        let code = totp::code_at(&secret, step);
        assert_eq!(check_code(&secret, &code, now, None), Ok(step));
        assert_eq!(
            check_code(&secret, &code, now, Some(step)),
            Err(SecondFactor::Reused)
        );
        assert_eq!(
            check_code(&secret, "000000", now, Some(step)),
            Err(SecondFactor::Rejected)
        );
        let next = totp::code_at(&secret, step + 1);
        assert_eq!(check_code(&secret, &next, now, Some(step)), Ok(step + 1));
    }
}
