//! Two-factor authentication with TOTP: enrolment (secret sealed in the vault, confirmed by a
//! first code), recovery codes, the second factor at login, and step-up for sensitive actions.
//! A code is accepted once: the step it belongs to is claimed atomically in the store.

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
const OWNER_KIND: SecretOwner = SecretOwner::Totp;
/// Issuer shown by authenticator apps.
const ISSUER: &str = "Tumbler";

/// A started enrolment: what the authenticator app needs. Show once; never log.
pub struct TotpEnrolment {
    /// The secret in base32, for typing into an app.
    pub secret_base32: Zeroizing<String>,
    /// The `otpauth://` URI the QR code encodes.
    pub uri: Zeroizing<String>,
}

/// Where a user's two-factor authentication stands, for their settings page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotpStatus {
    /// Logins and sensitive actions ask for a code.
    pub enabled: bool,
    /// An enrolment was started and awaits its first code (the same secret until confirmed
    /// or cancelled).
    pub pending: bool,
    /// How many recovery codes are left unused.
    pub recovery_codes_left: usize,
    /// A role of the user requires two-factor authentication (so it cannot be turned off).
    pub required_by_role: bool,
}

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
fn check_code(
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
async fn hash_recovery_codes(codes: &[Zeroizing<String>]) -> Result<Vec<String>, AuthError> {
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
    async fn audit(
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

    /// Starts enrolment: a new secret, sealed in the vault, awaiting a first code (an
    /// enrolment already pending shows its secret again: a wrong code or a lost page does not
    /// make the entry scanned into the app useless). The caller
    /// proves again that they own the account with the current password (HTTP Basic has just
    /// given it), so a stolen session or token cannot enrol an authenticator of its own and
    /// then pass every step-up.
    pub async fn begin_totp(
        &self,
        principal: &Principal,
        current_password: Option<SecretString>,
        origin: &RequestOrigin,
    ) -> Result<TotpEnrolment, AuthError> {
        if principal.user.must_change_password {
            return Err(AuthError::PasswordChangeRequired);
        }
        let user = &principal.user;
        let row = self
            .store
            .totp(&user.id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        if row.state == TotpState::Enabled {
            return Err(AuthError::TotpAlreadyEnabled);
        }
        let proof = super::Reauthentication {
            current_password,
            totp: None,
        };
        self.reauthenticate(principal, proof, AuditAction::UserTotpBegin, origin)
            .await?;
        let now = self.clock.now();
        if row.state == TotpState::Pending {
            // The secret already scanned into the app stays valid until the enrolment is
            // confirmed or cancelled: show the same one again.
            let secret = self
                .vault
                .open_secret(OWNER_KIND, user.id.as_str(), row.version)
                .await?;
            self.audit(
                &user.username,
                AuditAction::UserTotpBegin,
                user,
                Outcome::Success,
                origin,
                &format!("pending secret version {} shown again", row.version),
            )
            .await?;
            let secret_base32 = Zeroizing::new(totp::base32(&secret));
            let uri = enrolment_uri(&user.username, &secret_base32);
            return Ok(TotpEnrolment { secret_base32, uri });
        }
        let secret = totp::generate_secret();
        let version = row.version + 1;
        let mut tx = self.store.begin().await?;
        self.vault
            .seal(&mut tx, OWNER_KIND, user.id.as_str(), version, &secret)
            .await?;
        tx.set_totp(&user.id, TotpState::Pending, version).await?;
        tx.append_audit(
            &event(
                &user.username,
                AuditAction::UserTotpBegin,
                ("user", user.id.as_str()),
                Outcome::Success,
                origin,
                format!("secret version {version}"),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        let secret_base32 = Zeroizing::new(totp::base32(&secret));
        let uri = enrolment_uri(&user.username, &secret_base32);
        Ok(TotpEnrolment { secret_base32, uri })
    }

    /// Confirms enrolment with a first code; returns ten recovery codes, shown once. A wrong
    /// code leaves the enrolment pending with the same secret.
    pub async fn confirm_totp(
        &self,
        principal: &Principal,
        code: &str,
        origin: &RequestOrigin,
    ) -> Result<Vec<Zeroizing<String>>, AuthError> {
        let user = &principal.user;
        let row = self
            .store
            .totp(&user.id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        if row.state != TotpState::Pending {
            return Err(AuthError::NoTotpEnrolment);
        }
        let secret = self
            .vault
            .open_secret(OWNER_KIND, user.id.as_str(), row.version)
            .await?;
        let now = self.clock.now();
        let step = match check_code(&secret, code, now, row.last_step) {
            Ok(step) => step,
            Err(found) => {
                let error = if found == SecondFactor::Reused {
                    AuthError::TotpReused
                } else {
                    AuthError::InvalidTotp
                };
                self.audit(
                    &user.username,
                    AuditAction::UserTotpConfirm,
                    user,
                    Outcome::Failure,
                    origin,
                    error.code(),
                )
                .await?;
                return Err(error);
            }
        };
        let codes = totp::generate_recovery_codes();
        let hashes = hash_recovery_codes(&codes).await?;
        let mut tx = self.store.begin().await?;
        if !tx.claim_totp_step(&user.id, step).await? {
            return Err(AuthError::TotpReused);
        }
        tx.set_totp(&user.id, TotpState::Enabled, row.version)
            .await?;
        tx.replace_recovery_codes(&user.id, &hashes).await?;
        tx.append_audit(
            &event(
                &user.username,
                AuditAction::UserTotpEnable,
                ("user", user.id.as_str()),
                Outcome::Success,
                origin,
                format!("secret version {}", row.version),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Cancels a pending enrolment: its secret no longer works, and a new start issues a new
    /// one.
    pub async fn cancel_totp(
        &self,
        principal: &Principal,
        origin: &RequestOrigin,
    ) -> Result<(), AuthError> {
        let user = &principal.user;
        let row = self
            .store
            .totp(&user.id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        if row.state != TotpState::Pending {
            return Err(AuthError::NoTotpEnrolment);
        }
        let mut tx = self.store.begin().await?;
        tx.set_totp(&user.id, TotpState::None, row.version).await?;
        tx.append_audit(
            &event(
                &user.username,
                AuditAction::UserTotpDisable,
                ("user", user.id.as_str()),
                Outcome::Success,
                origin,
                format!(
                    "pending enrolment cancelled (secret version {})",
                    row.version
                ),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Where the caller's two-factor authentication stands.
    pub async fn totp_status(&self, principal: &Principal) -> Result<TotpStatus, AuthError> {
        let user = &principal.user;
        let row = self
            .store
            .totp(&user.id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        let enabled = row.state == TotpState::Enabled;
        let recovery_codes_left = if enabled {
            self.store.unused_recovery_codes(&user.id).await?.len()
        } else {
            0
        };
        Ok(TotpStatus {
            enabled,
            pending: row.state == TotpState::Pending,
            recovery_codes_left,
            required_by_role: self.mfa_required_by_role(user).await?,
        })
    }

    /// Whether a role of `user` requires two-factor authentication.
    async fn mfa_required_by_role(&self, user: &User) -> Result<bool, AuthError> {
        Ok(self
            .store
            .roles()
            .await?
            .iter()
            .any(|r| r.require_mfa && user.roles.contains(&r.name)))
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

    /// Step-up for a sensitive action: a fresh second factor even within a session. Users
    /// without TOTP cannot perform sensitive actions; nor can API tokens unless the token's
    /// owner gives a code with the request. On a console session, a fresh code's check opens
    /// a window ([`super::AuthSettings::sensitive_window`]) in which the same session's
    /// further sensitive actions need no code; logging out (or the session's end) closes it.
    pub async fn step_up(
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
    async fn step_up_inner(
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

    /// Replaces the caller's recovery codes (needs a fresh code, even within the session's
    /// window for sensitive actions).
    pub async fn regenerate_recovery_codes(
        &self,
        principal: &Principal,
        code: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<Vec<Zeroizing<String>>, AuthError> {
        self.step_up_inner(
            principal,
            code,
            AuditAction::UserRecoveryCodesRegenerate,
            origin,
            false,
        )
        .await?;
        let codes = totp::generate_recovery_codes();
        let hashes = hash_recovery_codes(&codes).await?;
        let now = self.clock.now();
        let user = &principal.user;
        let mut tx = self.store.begin().await?;
        tx.replace_recovery_codes(&user.id, &hashes).await?;
        tx.append_audit(
            &event(
                &user.username,
                AuditAction::UserRecoveryCodesRegenerate,
                ("user", user.id.as_str()),
                Outcome::Success,
                origin,
                "",
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Turns TOTP off for the caller (needs a fresh code, even within the session's window for
    /// sensitive actions). Refused, before the code is
    /// checked, when a role of the caller requires two-factor authentication.
    pub async fn disable_totp(
        &self,
        principal: &Principal,
        code: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<(), AuthError> {
        if principal.user.mfa_enabled && self.mfa_required_by_role(&principal.user).await? {
            return Err(AuthError::MfaRequiredByRole);
        }
        self.step_up_inner(principal, code, AuditAction::UserTotpDisable, origin, false)
            .await?;
        let user = &principal.user;
        let row = self
            .store
            .totp(&user.id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        let mut tx = self.store.begin().await?;
        tx.set_totp(&user.id, TotpState::None, row.version).await?;
        tx.replace_recovery_codes(&user.id, &[]).await?;
        tx.append_audit(
            &event(
                &user.username,
                AuditAction::UserTotpDisable,
                ("user", user.id.as_str()),
                Outcome::Success,
                origin,
                "",
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
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
