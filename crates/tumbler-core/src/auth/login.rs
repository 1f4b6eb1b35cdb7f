//! Logging in (password, session, token, Basic) and out. Failures count towards the account's
//! lockout and the source address's throttle; every attempt is audited.

use super::attempts::{capped_username, AccountSlot};
use super::{AuthError, AuthMethod, AuthService, LoginSuccess, Principal, TOKEN_PREFIX};
use crate::hashing::{random_token, token_hash, verify_password};
use crate::policy::load_policy;
use crate::throttle::Reservation;
use crate::{event, RequestOrigin};
use secrecy::{ExposeSecret, SecretString};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::clock::add_saturating;
use tumbler_domain::ids::{SessionId, UserId};
use tumbler_domain::password_policy::PasswordOwner;
use tumbler_domain::user::{User, UserKind, UserStatus};
use tumbler_store::{NewSession, SessionRow};

/// A username and password that checked out, the login not yet complete.
struct PasswordChecked {
    user: User,
    /// Why the password must now be changed, if it must.
    expired: Option<&'static str>,
    /// The attempt's reservation against the source's throttle.
    source: Reservation,
}

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
        action: AuditAction,
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

    /// Checks a username and password. The attempt is reserved against the source's throttle
    /// and the account's lockout before the password is hashed (so parallel attempts cannot
    /// outrun either); unknown users cost the same hash check as known ones and get the same
    /// answer. Usernames longer than any user can have are cut before anything else. Nothing
    /// is written on success yet: [`AuthService::finish_password_login`] does that once every
    /// factor has passed.
    async fn check_password(
        &self,
        username: &str,
        password: SecretString,
        origin: &RequestOrigin,
        action: AuditAction,
    ) -> Result<PasswordChecked, AuthError> {
        let (username, cut) = capped_username(username);
        let now = self.clock.now();
        let source = self.reserve_source(username, action, origin).await?;
        let row = if cut {
            None
        } else {
            self.store.user_by_username(username).await?
        };
        let Some(row) = row else {
            if !cut {
                verify_password(password, None).await;
            }
            let reason = if cut {
                "unknown_user (name cut to 64 characters)"
            } else {
                "unknown_user"
            };
            self.audit_refusal(username, action, "", origin, reason)
                .await?;
            return Err(AuthError::InvalidCredentials);
        };
        let user_id = row.user.id.clone();
        if let AccountSlot::Locked = self.reserve_account(&user_id).await? {
            self.audit_refusal(username, action, user_id.as_str(), origin, "locked_out")
                .await?;
            return Err(AuthError::InvalidCredentials);
        }
        let password_ok = verify_password(password.clone(), row.password_hash.clone()).await;
        if row.user.status != UserStatus::Enabled {
            self.release_account(&user_id).await?;
            self.audit_refusal(username, action, user_id.as_str(), origin, "disabled")
                .await?;
            return Err(AuthError::InvalidCredentials);
        }
        if !password_ok {
            self.fail_account(&user_id).await?;
            self.audit_refusal(username, action, user_id.as_str(), origin, "wrong_password")
                .await?;
            return Err(AuthError::InvalidCredentials);
        }
        if row
            .user
            .temp_password_expires_at
            .is_some_and(|at| at <= now)
        {
            self.release_account(&user_id).await?;
            self.audit_refusal(
                username,
                action,
                user_id.as_str(),
                origin,
                "temporary_password_expired",
            )
            .await?;
            return Err(AuthError::TemporaryPasswordExpired);
        }
        let expired = self
            .password_no_longer_valid(&row.user, &password, now)
            .await?;
        Ok(PasswordChecked {
            user: row.user,
            expired,
            source,
        })
    }

    /// Completes a login whose every factor passed: gives back the attempt's reservations
    /// (an interactive login ends the failure count; HTTP Basic, one request, does not, so
    /// wrong current passwords given with it still add up), asks for a password change when
    /// the password no longer meets the policy or has expired, ends sessions from before the
    /// last password change (interactive logins only) and audits the success.
    async fn finish_password_login(
        &self,
        checked: PasswordChecked,
        action: AuditAction,
        detail: &str,
        origin: &RequestOrigin,
    ) -> Result<User, AuthError> {
        let PasswordChecked {
            mut user,
            expired,
            source,
        } = checked;
        self.release_source(source);
        let now = self.clock.now();
        let interactive = action == AuditAction::AuthLogin;
        let mut tx = self.store.begin().await?;
        if interactive {
            tx.set_login_failures(&user.id, 0, None, now).await?;
        } else {
            tx.release_login_attempt(&user.id, now).await?;
        }
        if let Some(reason) = expired {
            // A tightened policy or an expired password: change it before anything else.
            tx.require_password_change(&user.id).await?;
            tx.append_audit(
                &event(
                    &user.username,
                    AuditAction::UserPasswordExpire,
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
        if let (Some(changed), true) = (user.password_changed_at, interactive) {
            // Sessions from before the last password change end at this login.
            tx.delete_sessions_created_before(&user.id, changed).await?;
        }
        tx.append_audit(
            &event(
                &user.username,
                action,
                ("user", user.id.as_str()),
                Outcome::Success,
                origin,
                detail,
            ),
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
        let checked = match self
            .check_password(username, password, origin, AuditAction::AuthLogin)
            .await
        {
            Ok(checked) => checked,
            Err(AuthError::InvalidCredentials) => {
                // A right password with a recovery-shaped code costs a second Argon2id hash
                // (the recovery code's); a wrong one costs the same, so timing does not tell
                // which of the two was sent.
                if totp.is_some_and(super::totp::is_recovery_code_shaped) {
                    verify_password(SecretString::from(String::new()), None).await;
                }
                return Err(AuthError::InvalidCredentials);
            }
            Err(e) => return Err(e),
        };
        if checked.user.mfa_enabled {
            // The answer to a wrong or missing code is the answer to a wrong password, so a
            // guess of the password alone learns nothing; the attempt stays counted.
            let code = totp.filter(|c| !c.trim().is_empty());
            let accepted = match code {
                Some(code) => {
                    // A reused code is refused like a wrong one: the login answer must not
                    // say that the password was right.
                    self.second_factor_matches(&checked.user, code, origin, AuditAction::AuthLogin)
                        .await?
                        == super::totp::SecondFactor::Accepted
                }
                None => false,
            };
            if !accepted {
                let user = &checked.user;
                self.fail_account(&user.id).await?;
                let reason = if code.is_some() {
                    "invalid_totp"
                } else {
                    "totp_missing"
                };
                self.audit_refusal(
                    &user.username,
                    AuditAction::AuthLogin,
                    user.id.as_str(),
                    origin,
                    reason,
                )
                .await?;
                return Err(AuthError::InvalidCredentials);
            }
        }
        let user = self
            .finish_password_login(checked, AuditAction::AuthLogin, "", origin)
            .await?;
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
                    AuditAction::AuthSessionCreate,
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
                AuditAction::AuthSessionCreate,
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
        let checked = self
            .check_password(username, password, origin, AuditAction::AuthBasic)
            .await?;
        let detail = if checked.user.mfa_enabled {
            "second factor not yet given"
        } else {
            ""
        };
        let user = self
            .finish_password_login(checked, AuditAction::AuthBasic, detail, origin)
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

    /// The caller behind a TLS client certificate (already verified against the configured CA
    /// by the TLS layer), if it is registered to an enabled user and still valid.
    /// Every attempt passes the source address's throttle; one that fails stays counted.
    pub async fn authenticate_certificate(
        &self,
        der: &[u8],
        origin: &RequestOrigin,
    ) -> Result<Principal, AuthError> {
        use sha2::{Digest, Sha256};
        let source = self
            .reserve_source("", AuditAction::AuthCertificate, origin)
            .await?;
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
        self.release_source(source);
        self.principal(user, AuthMethod::Certificate).await
    }

    /// Whether `principal` would still be authenticated now, for answers that outlive their
    /// request (the execution log stream): the user is enabled and has not changed the
    /// password since, and the session (not ended or expired), token (not revoked or expired)
    /// or certificate (still registered) still stands.
    pub async fn still_authenticated(&self, principal: &Principal) -> Result<bool, AuthError> {
        let now = self.clock.now();
        let user = &principal.user;
        let Some(row) = self.store.user_by_id(&user.id).await? else {
            return Ok(false);
        };
        if row.user.status != UserStatus::Enabled
            || row.user.password_changed_at != user.password_changed_at
        {
            return Ok(false);
        }
        Ok(match &principal.method {
            AuthMethod::Session { id, .. } => self
                .store
                .sessions_of(&user.id)
                .await?
                .iter()
                .any(|s| &s.id == id && now < s.expires_at),
            AuthMethod::Token(id) => self.store.api_tokens_of(&user.id).await?.iter().any(|t| {
                &t.id == id && t.revoked_at.is_none() && t.expires_at.is_none_or(|at| now < at)
            }),
            AuthMethod::Basic => true,
            AuthMethod::Certificate => self
                .store
                .certificates_of(&user.id)
                .await?
                .iter()
                .any(|c| now < c.not_after),
        })
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
            crate::commit_audited(
                tx,
                principal,
                AuditAction::AuthLogout,
                ("session", id.as_str()),
                origin,
                "",
                now,
            )
            .await?;
        }
        Ok(())
    }
}
