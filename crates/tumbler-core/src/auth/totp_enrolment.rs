//! The lifecycle of a user's TOTP factor: enrolment (a secret sealed in the vault, kept
//! pending until a first code confirms it or the user cancels), where it stands, new recovery
//! codes and turning it off. Checking a code lives in `totp.rs`.

use super::totp::{check_code, enrolment_uri, hash_recovery_codes, SecondFactor, OWNER_KIND};
use super::{AuthError, AuthService, Principal};
use crate::{event, RequestOrigin};
use secrecy::SecretString;
use tumbler_domain::audit::{AuditAction, NewAuditEvent, Outcome};
use tumbler_domain::totp;
use tumbler_domain::user::User;
use tumbler_store::{TotpRow, TotpState};
use zeroize::Zeroizing;

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

/// The audit event of `user` acting on their own factor.
fn user_event(
    user: &User,
    action: AuditAction,
    outcome: Outcome,
    origin: &RequestOrigin,
    detail: impl Into<String>,
) -> NewAuditEvent {
    event(
        &user.username,
        action,
        ("user", user.id.as_str()),
        outcome,
        origin,
        detail,
    )
}

impl AuthService {
    /// `user`'s TOTP state.
    async fn totp_row(&self, user: &User) -> Result<TotpRow, AuthError> {
        self.store
            .totp(&user.id)
            .await?
            .ok_or(AuthError::Unauthenticated)
    }

    /// `user`'s TOTP state, which must be an enrolment awaiting its first code.
    async fn pending_totp(&self, user: &User) -> Result<TotpRow, AuthError> {
        let row = self.totp_row(user).await?;
        if row.state != TotpState::Pending {
            return Err(AuthError::NoTotpEnrolment);
        }
        Ok(row)
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
        let row = self.totp_row(user).await?;
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
            &user_event(
                user,
                AuditAction::UserTotpBegin,
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
        let row = self.pending_totp(user).await?;
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
            &user_event(
                user,
                AuditAction::UserTotpEnable,
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
        let row = self.pending_totp(user).await?;
        let mut tx = self.store.begin().await?;
        tx.set_totp(&user.id, TotpState::None, row.version).await?;
        tx.append_audit(
            &user_event(
                user,
                AuditAction::UserTotpDisable,
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
        let row = self.totp_row(user).await?;
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
            &user_event(
                user,
                AuditAction::UserRecoveryCodesRegenerate,
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
        let row = self.totp_row(user).await?;
        let mut tx = self.store.begin().await?;
        tx.set_totp(&user.id, TotpState::None, row.version).await?;
        tx.replace_recovery_codes(&user.id, &[]).await?;
        tx.append_audit(
            &user_event(
                user,
                AuditAction::UserTotpDisable,
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
