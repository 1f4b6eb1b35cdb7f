//! Logging in (password, session, token, Basic) and out. Failures count towards the account's
//! lockout and the source address's throttle; every attempt is audited.

use super::{AuthError, AuthMethod, AuthService, LoginSuccess, Principal, TOKEN_PREFIX};
use crate::hashing::{random_token, token_hash, verify_password};
use crate::policy::load_policy;
use crate::{event, RequestOrigin};
use secrecy::{ExposeSecret, SecretString};
use tumbler_domain::audit::Outcome;
use tumbler_domain::clock::add_saturating;
use tumbler_domain::ids::{SessionId, UserId};
use tumbler_domain::password_policy::PasswordOwner;
use tumbler_domain::user::{User, UserKind, UserStatus};
use tumbler_store::{NewSession, SessionRow};

impl AuthService {
    /// Why a local user's correct password must now be changed, if it must: it no longer meets
    /// a tightened policy, or it is older than the policy's expiry.
    async fn password_no_longer_valid(
        &self,
        user: &User,
        password: &SecretString,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<&'static str>, AuthError> {
        if user.kind != UserKind::Local || user.must_change_password {
            return Ok(None);
        }
        let policy = load_policy(&self.store).await?;
        let owner = PasswordOwner {
            username: &user.username,
            display_name: &user.display_name,
            mfa: user.mfa_enabled,
        };
        if !policy.check(password.expose_secret(), owner).is_empty() {
            return Ok(Some("policy_tightened"));
        }
        let expired = user
            .password_changed_at
            .and_then(|changed| policy.password_expires_at(changed))
            .is_some_and(|at| at <= now);
        Ok(expired.then_some("password_expired"))
    }

    /// When the user's password expires under the policy, if it does.
    pub async fn password_expires_at(
        &self,
        user: &User,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, AuthError> {
        let policy = load_policy(&self.store).await?;
        Ok(match (user.password_changed_at, user.kind) {
            (Some(changed), UserKind::Local) => policy.password_expires_at(changed),
            _ => None,
        })
    }

    /// Whether the user should be warned that the password expires soon.
    pub async fn password_expiry_warning(
        &self,
        user: &User,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, AuthError> {
        let policy = load_policy(&self.store).await?;
        let now = self.clock.now();
        Ok(self
            .password_expires_at(user)
            .await?
            .filter(|at| policy.expiry_warning_from(*at) <= now))
    }

    /// Appends one audit event in a transaction of its own (for refusals, which change nothing
    /// else).
    async fn audit_refusal(
        &self,
        username: &str,
        action: &str,
        user_id: &str,
        origin: &RequestOrigin,
        reason: &str,
    ) -> Result<(), AuthError> {
        let mut tx = self.store.begin().await?;
        tx.append_audit(
            &event(
                username,
                action,
                ("user", user_id),
                Outcome::Failure,
                origin,
                reason,
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks a username and password. Unknown users cost the same hash check as known ones
    /// and get the same answer; failures lock the account after too many and throttle the
    /// source address.
    async fn check_password(
        &self,
        username: &str,
        password: SecretString,
        origin: &RequestOrigin,
        action: &str,
    ) -> Result<User, AuthError> {
        let now = self.clock.now();
        let policy = load_policy(&self.store).await?;
        if let Err(until) = self.throttle.check(&origin.source, now) {
            self.audit_refusal(username, action, "", origin, "rate_limited")
                .await?;
            return Err(AuthError::RateLimited {
                retry_after_secs: (until - now).num_seconds().max(1),
            });
        }
        let row = self.store.user_by_username(username).await?;
        let stored = row.as_ref().and_then(|r| r.password_hash.clone());
        let password_ok = verify_password(password.clone(), stored).await;
        let Some(row) = row else {
            self.throttle.record_failure(&origin.source, now);
            self.audit_refusal(username, action, "", origin, "unknown_user")
                .await?;
            return Err(AuthError::InvalidCredentials);
        };
        let refusal = if row.locked_until.is_some_and(|until| until > now) {
            Some("locked_out")
        } else if row.user.status != UserStatus::Enabled {
            Some("disabled")
        } else if !password_ok {
            Some("wrong_password")
        } else {
            None
        };
        let mut tx = self.store.begin().await?;
        let user_id = row.user.id.clone();
        let object = ("user", user_id.as_str());
        if let Some(reason) = refusal {
            self.throttle.record_failure(&origin.source, now);
            if reason == "wrong_password" {
                let failures = row.failed_logins + 1;
                let lock = (failures >= i64::from(policy.max_failed_logins))
                    .then(|| now + policy.lockout());
                tx.set_login_failures(
                    &row.user.id,
                    if lock.is_some() { 0 } else { failures },
                    lock,
                    now,
                )
                .await?;
            }
            tx.append_audit(
                &event(username, action, object, Outcome::Failure, origin, reason),
                now,
            )
            .await?;
            tx.commit().await?;
            return Err(AuthError::InvalidCredentials);
        }
        if row
            .user
            .temp_password_expires_at
            .is_some_and(|at| at <= now)
        {
            tx.append_audit(
                &event(
                    username,
                    action,
                    object,
                    Outcome::Failure,
                    origin,
                    "temporary_password_expired",
                ),
                now,
            )
            .await?;
            tx.commit().await?;
            return Err(AuthError::TemporaryPasswordExpired);
        }
        // An interactive login clears the failure count (after the second factor, for users with
        // TOTP); HTTP Basic (one request) does not, so wrong current passwords given with it
        // still add up to a lockout.
        if action == "auth.login"
            && !row.user.mfa_enabled
            && (row.failed_logins != 0 || row.locked_until.is_some())
        {
            tx.set_login_failures(&row.user.id, 0, None, now).await?;
        }
        let mut user = row.user;
        if let Some(reason) = self.password_no_longer_valid(&user, &password, now).await? {
            // A tightened policy or an expired password: change it before anything else.
            tx.require_password_change(&user.id).await?;
            tx.append_audit(
                &event(
                    username,
                    "user.password.expire",
                    ("user", user.id.as_str()),
                    Outcome::Success,
                    origin,
                    reason,
                ),
                now,
            )
            .await?;
            user.must_change_password = true;
        }
        if let (Some(changed), "auth.login") = (user.password_changed_at, action) {
            // Sessions from before the last password change end at this login.
            tx.delete_sessions_created_before(&user.id, changed).await?;
        }
        tx.append_audit(
            &event(username, action, object, Outcome::Success, origin, ""),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Logs in with a password and opens a session with a fresh id, unless the user already
    /// has the most live sessions allowed.
    pub async fn login(
        &self,
        username: &str,
        password: SecretString,
        totp: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<LoginSuccess, AuthError> {
        let user = self
            .check_password(username, password, origin, "auth.login")
            .await?;
        if user.mfa_enabled {
            match totp.filter(|c| !c.trim().is_empty()) {
                None => return Err(AuthError::TotpRequired),
                Some(code) => {
                    if let Err(e) = self
                        .verify_second_factor(&user, code, origin, "auth.login.totp")
                        .await
                    {
                        if matches!(e, AuthError::InvalidTotp) {
                            // Wrong codes count towards the account's lockout like wrong passwords.
                            self.count_login_failure(&user).await?;
                        }
                        return Err(e);
                    }
                    // Both factors passed: the failure count starts again.
                    let mut tx = self.store.begin().await?;
                    tx.set_login_failures(&user.id, 0, None, self.clock.now())
                        .await?;
                    tx.commit().await?;
                }
            }
        }
        let now = self.clock.now();
        let policy = load_policy(&self.store).await?;
        let cookie_secret = SecretString::from(random_token(32));
        let session = SessionRow {
            id: SessionId::generate(),
            user_id: user.id.clone(),
            csrf_token: random_token(24),
            source: origin.source.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: add_saturating(now, policy.session_absolute()),
        };
        let mut tx = self.store.begin().await?;
        let live = tx
            .prune_and_count_sessions(&user.id, now, now - policy.session_idle())
            .await?;
        if live >= i64::from(policy.max_sessions_per_user) {
            tx.append_audit(
                &event(
                    username,
                    "auth.session.create",
                    ("user", user.id.as_str()),
                    Outcome::Failure,
                    origin,
                    "session_limit_reached",
                ),
                now,
            )
            .await?;
            tx.commit().await?;
            return Err(AuthError::SessionLimit);
        }
        tx.insert_session(NewSession {
            session: &session,
            secret_hash: &token_hash(cookie_secret.expose_secret()),
        })
        .await?;
        tx.append_audit(
            &event(
                username,
                "auth.session.create",
                ("session", session.id.as_str()),
                Outcome::Success,
                origin,
                "",
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(LoginSuccess {
            user,
            session,
            cookie_secret,
        })
    }

    /// Authenticates HTTP Basic credentials (counted towards lockout like a login).
    pub async fn authenticate_basic(
        &self,
        username: &str,
        password: SecretString,
        origin: &RequestOrigin,
    ) -> Result<Principal, AuthError> {
        let user = self
            .check_password(username, password, origin, "auth.basic")
            .await?;
        self.principal(user, AuthMethod::Basic).await
    }

    async fn enabled_user(&self, id: &UserId) -> Result<User, AuthError> {
        let row = self
            .store
            .user_by_id(id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        if row.user.status != UserStatus::Enabled {
            return Err(AuthError::Unauthenticated);
        }
        Ok(row.user)
    }

    /// The caller behind a session cookie, if the session is alive; marks it used.
    pub async fn authenticate_session(&self, cookie_secret: &str) -> Result<Principal, AuthError> {
        let session = self
            .store
            .session_by_secret_hash(&token_hash(cookie_secret))
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        let now = self.clock.now();
        let policy = load_policy(&self.store).await?;
        if now >= session.expires_at
            || now >= add_saturating(session.last_seen_at, policy.session_idle())
        {
            let mut tx = self.store.begin().await?;
            tx.delete_session(&session.id).await?;
            tx.commit().await?;
            return Err(AuthError::Unauthenticated);
        }
        let user = self.enabled_user(&session.user_id).await?;
        self.store.touch_session(&session.id, now).await?;
        self.principal(
            user,
            AuthMethod::Session {
                id: session.id,
                csrf_token: session.csrf_token,
            },
        )
        .await
    }

    /// The caller behind an API token, if the token is live; records its use.
    pub async fn authenticate_token(&self, token: &str) -> Result<Principal, AuthError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(AuthError::Unauthenticated);
        }
        let record = self
            .store
            .api_token_by_hash(&token_hash(token))
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        let now = self.clock.now();
        if record.revoked_at.is_some() || record.expires_at.is_some_and(|at| now >= at) {
            return Err(AuthError::Unauthenticated);
        }
        let user = self.enabled_user(&record.user_id).await?;
        self.store.touch_api_token(&record.id, now).await?;
        self.principal(user, AuthMethod::Token(record.id)).await
    }

    /// Adds one failed login to `user`, locking the account when the policy's limit is reached.
    async fn count_login_failure(&self, user: &User) -> Result<(), AuthError> {
        let policy = load_policy(&self.store).await?;
        let now = self.clock.now();
        let row = self
            .store
            .user_by_id(&user.id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        let failures = row.failed_logins + 1;
        let lock =
            (failures >= i64::from(policy.max_failed_logins)).then(|| now + policy.lockout());
        let mut tx = self.store.begin().await?;
        tx.set_login_failures(
            &user.id,
            if lock.is_some() { 0 } else { failures },
            lock,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The caller behind a TLS client certificate (already verified against the configured CA
    /// by the TLS layer), if it is registered to an enabled user and still valid.
    pub async fn authenticate_certificate(&self, der: &[u8]) -> Result<Principal, AuthError> {
        use sha2::{Digest, Sha256};
        let fingerprint = hex::encode(Sha256::digest(der));
        let cert = self
            .store
            .certificate_by_fingerprint(&fingerprint)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        if cert.not_after <= self.clock.now() {
            return Err(AuthError::Unauthenticated);
        }
        let user = self.enabled_user(&cert.user_id).await?;
        self.principal(user, AuthMethod::Certificate).await
    }

    /// Ends the caller's session (a no-op for other methods).
    pub async fn logout(
        &self,
        principal: &Principal,
        origin: &RequestOrigin,
    ) -> Result<(), AuthError> {
        if let AuthMethod::Session { id, .. } = &principal.method {
            let now = self.clock.now();
            let mut tx = self.store.begin().await?;
            tx.delete_session(id).await?;
            tx.append_audit(
                &event(
                    &principal.user.username,
                    "auth.logout",
                    ("session", id.as_str()),
                    Outcome::Success,
                    origin,
                    "",
                ),
                now,
            )
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }
}
