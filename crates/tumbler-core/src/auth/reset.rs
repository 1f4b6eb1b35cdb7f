//! Issuing a user a new temporary password: from the server's host (`tumbler admin
//! reset-password`, optionally resetting the second factor too), or by an administrator over
//! the API and the console. Both follow the same rules: a one-time password shown once, to be
//! changed at the next login, the account unlocked, its sessions ended, and an audit event
//! that says whether the second factor was reset.

use super::{AuthError, AuthService, Principal};
use crate::hashing::hash_password;
use crate::{event, RequestOrigin};
use secrecy::SecretString;
use std::collections::BTreeSet;
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::UserId;
use tumbler_domain::password::generate_one_time_password;
use tumbler_domain::permission::Permission;
use tumbler_domain::user::UserKind;
use tumbler_store::{TotpState, UserRow};

impl AuthService {
    /// Gives `username` a new one-time password that must be changed at next login, unlocks
    /// the account and ends its sessions; with `reset_totp`, also turns its second factor off
    /// (an administrator who lost the authenticator re-enrols after logging in). For
    /// recovering access from the server's host, which holds the master key.
    pub async fn reset_password(
        &self,
        username: &str,
        reset_totp: bool,
        origin: &RequestOrigin,
    ) -> Result<SecretString, AuthError> {
        let row = self
            .store
            .user_by_username(username)
            .await?
            .ok_or(AuthError::UnknownUser)?;
        self.issue_temporary_password(&row, &origin.source, reset_totp, origin)
            .await
    }

    /// An administrator gives another user a new temporary password (shown once, to be
    /// changed at the next login), optionally resetting the user's second factor. Needs
    /// `users_manage` and a fresh second factor (the password logs in as that user); the
    /// target must be someone else, in the caller's domains, holding no permission the caller
    /// lacks (so that nobody takes over a more powerful account).
    pub async fn reset_password_of(
        &self,
        principal: &Principal,
        id: &UserId,
        reset_totp: bool,
        code: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<SecretString, AuthError> {
        principal.require::<AuthError>(Permission::UsersManage)?;
        if principal.user.id == *id {
            return Err(AuthError::OwnPasswordReset);
        }
        let row = self
            .store
            .user_by_id(id)
            .await?
            .ok_or(AuthError::UnknownUser)?;
        let theirs = self.store.user_domains(id).await?;
        if !theirs.iter().all(|d| principal.domains.contains(&d.id)) {
            // Users of other domains are not shown to the caller: not found.
            return Err(AuthError::UnknownUser);
        }
        let roles = self.store.roles().await?;
        let held: BTreeSet<Permission> = roles
            .iter()
            .filter(|r| row.user.roles.contains(&r.name))
            .flat_map(|r| r.permissions.iter().copied())
            .collect();
        if !held.is_subset(&principal.permissions) {
            return Err(AuthError::Forbidden);
        }
        self.step_up(principal, code, AuditAction::UserPasswordReset, origin)
            .await?;
        self.issue_temporary_password(&row, &principal.user.username, reset_totp, origin)
            .await
    }

    async fn issue_temporary_password(
        &self,
        row: &UserRow,
        actor: &str,
        reset_totp: bool,
        origin: &RequestOrigin,
    ) -> Result<SecretString, AuthError> {
        if row.user.kind != UserKind::Local {
            return Err(AuthError::NoLocalPassword);
        }
        let password = generate_one_time_password();
        let hash = hash_password(password.clone())
            .await
            .map_err(AuthError::Hashing)?;
        let now = self.clock.now();
        let totp = self.store.totp(&row.user.id).await?;
        let mut tx = self.store.begin().await?;
        tx.set_password(
            &row.user.id,
            &hash,
            Some(now + self.settings.temp_password_ttl),
            now,
        )
        .await?;
        tx.delete_user_sessions(&row.user.id).await?;
        // Whoever knew the old password may have added credentials: they end with it.
        let tokens = tx.revoke_user_api_tokens(&row.user.id, now).await?;
        let certificates = tx.delete_user_certificates(&row.user.id).await?;
        let totp_was_on = totp.is_some_and(|t| t.state != TotpState::None);
        if reset_totp {
            if let Some(t) = totp {
                tx.set_totp(&row.user.id, TotpState::None, t.version)
                    .await?;
            }
            tx.replace_recovery_codes(&row.user.id, &[]).await?;
        }
        let second_factor = match (reset_totp, totp_was_on) {
            (true, true) => "; second factor reset",
            (true, false) => "; second factor reset (none was enrolled)",
            (false, true) => "; second factor kept",
            (false, false) => "",
        };
        let detail =
            format!("tokens_revoked={tokens} certificates_removed={certificates}{second_factor}");
        tx.append_audit(
            &event(
                actor,
                AuditAction::UserPasswordReset,
                ("user", row.user.id.as_str()),
                Outcome::Success,
                origin,
                detail,
            ),
            now,
        )
        .await?;
        if reset_totp {
            tx.append_audit(
                &event(
                    actor,
                    AuditAction::UserTotpReset,
                    ("user", row.user.id.as_str()),
                    Outcome::Success,
                    origin,
                    if totp_was_on {
                        "turned off with the password reset"
                    } else {
                        "none was enrolled"
                    },
                ),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(password)
    }
}
