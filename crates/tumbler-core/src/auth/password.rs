//! Passwords: the first administrator, changing one's own (resets are in `reset.rs`).

use super::{AuthError, AuthMethod, AuthService, Principal, INITIAL_ADMIN};
use crate::hashing::{hash_password, verify_password};
use crate::policy::load_policy;
use crate::{event, RequestOrigin};
use secrecy::{ExposeSecret, SecretString};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::UserId;
use tumbler_domain::password::generate_one_time_password;
use tumbler_domain::password_policy::{OtherSessions, PasswordOwner, RuleViolation};
use tumbler_domain::user::{User, UserKind, UserStatus};
use tumbler_store::NewUser;

impl AuthService {
    /// Creates `admin` with a one-time password when the store has no user; returns the
    /// password to show once on the terminal, or `None` when users exist.
    pub async fn bootstrap_admin(&self) -> Result<Option<SecretString>, AuthError> {
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        let password = generate_one_time_password();
        let hash = hash_password(password.clone())
            .await
            .map_err(AuthError::Hashing)?;
        let now = self.clock.now();
        let user = User {
            id: UserId::generate(),
            username: INITIAL_ADMIN.to_owned(),
            display_name: "Administrator".to_owned(),
            email: None,
            kind: UserKind::Local,
            status: UserStatus::Enabled,
            roles: vec![tumbler_domain::permission::ADMIN_ROLE.to_owned()],
            must_change_password: true,
            password_changed_at: Some(now),
            temp_password_expires_at: Some(now + self.settings.temp_password_ttl),
            mfa_enabled: false,
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_user(
            NewUser {
                user: &user,
                password_hash: Some(&hash),
            },
            now,
        )
        .await?;
        tx.append_audit(
            &event(
                "system",
                AuditAction::UserCreate,
                ("user", user.id.as_str()),
                Outcome::Success,
                &RequestOrigin::host(),
                "initial administrator",
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(password))
    }

    /// Changes the caller's own local password. The current password must be right, checked
    /// like a login (throttle and lockout first; wrong attempts count towards both); the new one must meet the policy and not be one of the
    /// last `history` passwords. The session used ends (the user logs in again); other sessions
    /// end now or at the user's next login, as the policy says. API tokens are revoked and
    /// client certificates removed.
    pub async fn change_own_password(
        &self,
        principal: &Principal,
        current: SecretString,
        new: SecretString,
        origin: &RequestOrigin,
    ) -> Result<(), AuthError> {
        let user = &principal.user;
        let row = self
            .store
            .user_by_id(&user.id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        let Some(stored) = row
            .password_hash
            .clone()
            .filter(|_| user.kind == UserKind::Local)
        else {
            return Err(AuthError::NoLocalPassword);
        };
        let policy = load_policy(&self.store).await?;
        let now = self.clock.now();
        let object = ("user", user.id.as_str());
        // Counted like a login: a stolen session cannot guess the password without limit.
        self.check_current_password(
            principal,
            current.clone(),
            AuditAction::UserPasswordChange,
            origin,
        )
        .await?;
        let owner = PasswordOwner {
            username: &user.username,
            display_name: &user.display_name,
            mfa: user.mfa_enabled,
        };
        let mut broken = policy.check(new.expose_secret(), owner);
        if new.expose_secret() == current.expose_secret() {
            broken.push(RuleViolation {
                code: "same_as_current",
                message: "Choose a password different from your current one.".to_owned(),
            });
        } else if policy.history > 0 {
            let previous = self
                .store
                .password_history(&user.id, i64::try_from(policy.history).unwrap_or(i64::MAX))
                .await?;
            for old in previous {
                if verify_password(new.clone(), Some(old)).await {
                    broken.push(RuleViolation {
                        code: "reused",
                        message: format!(
                            "Choose a password you have not used in your last {} changes.",
                            policy.history
                        ),
                    });
                    break;
                }
            }
        }
        if !broken.is_empty() {
            let codes: Vec<_> = broken.iter().map(|v| v.code).collect();
            let mut tx = self.store.begin().await?;
            tx.append_audit(
                &event(
                    &user.username,
                    AuditAction::UserPasswordChange,
                    object,
                    Outcome::Failure,
                    origin,
                    codes.join(","),
                ),
                now,
            )
            .await?;
            tx.commit().await?;
            return Err(AuthError::PolicyViolation(broken));
        }
        let hash = hash_password(new).await.map_err(AuthError::Hashing)?;
        let mut tx = self.store.begin().await?;
        tx.set_password(&user.id, &hash, None, now).await?;
        if policy.history > 0 {
            tx.push_password_history(
                &user.id,
                &stored,
                i64::try_from(policy.history).unwrap_or(i64::MAX),
                now,
            )
            .await?;
        }
        let ended = match policy.other_sessions {
            OtherSessions::Revoke => tx.delete_user_sessions(&user.id).await?,
            OtherSessions::KeepUntilNextLogin => match &principal.method {
                AuthMethod::Session { id, .. } => u64::from(tx.delete_session(id).await?),
                _ => 0,
            },
        };
        // API tokens and certificates end with the password: whoever knew the old one (or held
        // a stolen session) may have added them.
        let tokens = tx.revoke_user_api_tokens(&user.id, now).await?;
        let certificates = tx.delete_user_certificates(&user.id).await?;
        let detail = format!(
            "sessions_ended={ended} tokens_revoked={tokens} certificates_removed={certificates}"
        );
        tx.append_audit(
            &event(
                &user.username,
                AuditAction::UserPasswordChange,
                object,
                Outcome::Success,
                origin,
                detail,
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
