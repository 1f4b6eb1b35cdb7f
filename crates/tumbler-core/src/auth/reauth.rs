//! Re-authentication of a signed-in caller: the current password (own password change, adding
//! a credential) or a fresh second factor, each counted like a login attempt.

use super::{AuthError, AuthMethod, AuthService, Principal};
use crate::hashing::verify_password;
use crate::{event, RequestOrigin};
use secrecy::SecretString;
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::user::UserKind;

/// What a caller gives to prove, again, who they are before adding a credential.
#[derive(Default)]
pub struct Reauthentication {
    /// The current password.
    pub current_password: Option<SecretString>,
    /// A fresh TOTP code (or a recovery code).
    pub totp: Option<String>,
}

impl std::fmt::Debug for Reauthentication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reauthentication")
            .field(
                "current_password",
                &self.current_password.as_ref().map(|_| "[redacted]"),
            )
            .field("totp", &self.totp.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl AuthService {
    /// Checks the caller's current password, counted like a login: refused before it is
    /// hashed when the source is throttled ([`AuthError::RateLimited`]) or the account locked
    /// ([`AuthError::AccountLocked`]); a wrong one counts towards both and is audited.
    pub async fn check_current_password(
        &self,
        principal: &Principal,
        password: SecretString,
        action: AuditAction,
        origin: &RequestOrigin,
    ) -> Result<(), AuthError> {
        let user = &principal.user;
        let row = self
            .store
            .user_by_id(&user.id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        let Some(stored) = row.password_hash.filter(|_| user.kind == UserKind::Local) else {
            return Err(AuthError::NoLocalPassword);
        };
        let source = self
            .begin_checked_attempt(
                &user.username,
                &user.id,
                action,
                origin,
                AuthError::AccountLocked,
            )
            .await?;
        if !verify_password(password, Some(stored)).await {
            self.fail_account(&user.id).await?;
            let mut tx = self.store.begin().await?;
            tx.append_audit(
                &event(
                    &user.username,
                    action,
                    ("user", user.id.as_str()),
                    Outcome::Failure,
                    origin,
                    "wrong_current_password",
                ),
                self.clock.now(),
            )
            .await?;
            tx.commit().await?;
            return Err(AuthError::WrongCurrentPassword);
        }
        self.release_source(source);
        self.release_account(&user.id).await?;
        Ok(())
    }

    /// Proof, again, that the caller is the account's owner before a credential (an API token,
    /// a certificate) is added: a caller without the second factor yet (HTTP Basic or a
    /// certificate, user with TOTP) gives a fresh code; HTTP Basic has just given the
    /// password; anyone else (session, token, certificate) gives the current password or a
    /// fresh code. Every check counts like a login attempt.
    pub async fn reauthenticate(
        &self,
        principal: &Principal,
        proof: Reauthentication,
        action: AuditAction,
        origin: &RequestOrigin,
    ) -> Result<(), AuthError> {
        let basic = principal.method == AuthMethod::Basic;
        let code = proof.totp.filter(|c| !c.trim().is_empty());
        if !principal.mfa_verified {
            // HTTP Basic answers a missing or wrong code like a wrong password.
            let Some(code) = code else {
                return Err(if basic {
                    AuthError::InvalidCredentials
                } else {
                    AuthError::TotpRequired
                });
            };
            return match self
                .verify_second_factor(&principal.user, &code, origin, action)
                .await
            {
                Err(AuthError::InvalidTotp | AuthError::TotpReused) if basic => {
                    Err(AuthError::InvalidCredentials)
                }
                other => other,
            };
        }
        if basic {
            return Ok(());
        }
        if let (Some(code), true) = (code, principal.user.mfa_enabled) {
            return self
                .verify_second_factor(&principal.user, &code, origin, action)
                .await;
        }
        match proof.current_password {
            Some(password) => {
                self.check_current_password(principal, password, action, origin)
                    .await
            }
            None => Err(AuthError::ReauthenticationRequired),
        }
    }
}
