//! Console users' authentication: login and sessions, API tokens, HTTP Basic, changing one's
//! own password, the first administrator and host-side password resets.

use crate::hashing::{hash_password, random_token, token_hash, verify_password};
use crate::{event, RequestOrigin};
use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use tumbler_domain::audit::Outcome;
use tumbler_domain::ids::{SessionId, TokenId, UserId};
use tumbler_domain::password::{generate_one_time_password, PasswordRules, RuleViolation};
use tumbler_domain::user::{User, UserKind, UserStatus};
use tumbler_domain::Clock;
use tumbler_store::{ApiTokenRow, NewApiToken, NewSession, NewUser, SessionRow, Store, StoreError};

/// Prefix of every API token, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "tmb_";

/// Name of the administrator created on first start.
pub const INITIAL_ADMIN: &str = "admin";

/// Rules for sessions, lockout and passwords.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// A session ends this long after login, whatever happens.
    pub session_absolute: Duration,
    /// Failed logins in a row before the account locks.
    pub max_failed_logins: i64,
    /// How long a lockout lasts.
    pub lockout: Duration,
    /// Rules for new passwords.
    pub password_rules: PasswordRules,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            session_idle: Duration::minutes(30),
            session_absolute: Duration::hours(12),
            max_failed_logins: 5,
            lockout: Duration::minutes(15),
            password_rules: PasswordRules::default(),
        }
    }
}

/// Why authentication or an account action failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, wrong password, disabled or locked account: one answer for all.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// No valid session or token was presented, or it has expired.
    #[error("authentication required")]
    Unauthenticated,
    /// The password must be changed before anything else.
    #[error("you must change your password before doing anything else")]
    PasswordChangeRequired,
    /// This operation needs HTTP Basic authentication.
    #[error("this operation requires HTTP Basic authentication")]
    BasicAuthRequired,
    /// The user has no local password to change.
    #[error("you have no local password; it cannot be changed here")]
    NoLocalPassword,
    /// The current password given was wrong.
    #[error("the current password is not correct")]
    WrongCurrentPassword,
    /// The new password breaks the policy; every broken rule is listed.
    #[error("the new password does not meet the password policy")]
    PolicyViolation(Vec<RuleViolation>),
    /// No such user.
    #[error("no such user")]
    UnknownUser,
    /// No such token.
    #[error("no such token")]
    UnknownToken,
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The store failed; details are logged, not returned.
    #[error("internal error")]
    Store(#[from] StoreError),
    /// Password hashing failed.
    #[error("internal error")]
    Hashing(String),
}

impl AuthError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::Unauthenticated => "unauthenticated",
            Self::PasswordChangeRequired => "password_change_required",
            Self::BasicAuthRequired => "basic_auth_required",
            Self::NoLocalPassword => "no_local_password",
            Self::WrongCurrentPassword => "wrong_current_password",
            Self::PolicyViolation(_) => "password_policy_violation",
            Self::UnknownUser => "user_not_found",
            Self::UnknownToken => "token_not_found",
            Self::Invalid(_) => "invalid_request",
            Self::Store(_) | Self::Hashing(_) => "internal_error",
        }
    }
}

/// How a request was authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// A console session cookie.
    Session {
        /// The session.
        id: SessionId,
        /// Its CSRF token.
        csrf_token: String,
    },
    /// An API token.
    Token(TokenId),
    /// HTTP Basic with the user's password.
    Basic,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Who.
    pub user: User,
    /// How.
    pub method: AuthMethod,
}

impl Principal {
    /// Fails with [`AuthError::PasswordChangeRequired`] while the user must change the password.
    pub fn require_active(&self) -> Result<(), AuthError> {
        if self.user.must_change_password {
            Err(AuthError::PasswordChangeRequired)
        } else {
            Ok(())
        }
    }
}

/// A successful login.
pub struct LoginSuccess {
    /// The user.
    pub user: User,
    /// The new session.
    pub session: SessionRow,
    /// The cookie value: shown to the client once, stored only as a hash.
    pub cookie_secret: SecretString,
}

/// A newly created API token.
pub struct NewToken {
    /// The stored record.
    pub record: ApiTokenRow,
    /// The token itself, shown once.
    pub token: SecretString,
}

/// Authentication and own-account operations.
#[derive(Clone)]
pub struct AuthService {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: AuthSettings,
}

impl AuthService {
    /// A service over `store` with the given clock and settings.
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: AuthSettings) -> Self {
        Self {
            store,
            clock,
            settings,
        }
    }

    /// The rules new passwords must meet.
    pub fn password_rules(&self) -> &PasswordRules {
        &self.settings.password_rules
    }

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
            roles: vec!["admin".to_owned()],
            must_change_password: true,
            password_changed_at: Some(now),
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
                "user.create",
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

    /// Gives `username` a new one-time password that must be changed at next login, unlocks the
    /// account, and ends its sessions. For recovering access from the server's host.
    pub async fn reset_password(
        &self,
        username: &str,
        origin: &RequestOrigin,
    ) -> Result<SecretString, AuthError> {
        let row = self
            .store
            .user_by_username(username)
            .await?
            .ok_or(AuthError::UnknownUser)?;
        if row.user.kind != UserKind::Local {
            return Err(AuthError::NoLocalPassword);
        }
        let password = generate_one_time_password();
        let hash = hash_password(password.clone())
            .await
            .map_err(AuthError::Hashing)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.set_password(&row.user.id, &hash, true, now).await?;
        tx.delete_user_sessions(&row.user.id).await?;
        tx.append_audit(
            &event(
                &origin.source,
                "user.password.reset",
                ("user", row.user.id.as_str()),
                Outcome::Success,
                origin,
                "",
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(password)
    }

    /// Checks a username and password, counting failures and locking the account after too
    /// many. Every outcome is audited. Unknown users cost the same hash check as known ones.
    async fn check_password(
        &self,
        username: &str,
        password: SecretString,
        origin: &RequestOrigin,
        action: &str,
    ) -> Result<User, AuthError> {
        let row = self.store.user_by_username(username).await?;
        let stored = row.as_ref().and_then(|r| r.password_hash.clone());
        let password_ok = verify_password(password, stored).await;
        let now = self.clock.now();
        let Some(row) = row else {
            let mut tx = self.store.begin().await?;
            tx.append_audit(
                &event(
                    username,
                    action,
                    ("user", ""),
                    Outcome::Failure,
                    origin,
                    "unknown_user",
                ),
                now,
            )
            .await?;
            tx.commit().await?;
            return Err(AuthError::InvalidCredentials);
        };
        let locked = row.locked_until.is_some_and(|until| until > now);
        let refusal = if locked {
            Some("locked_out")
        } else if row.user.status != UserStatus::Enabled {
            Some("disabled")
        } else if !password_ok {
            Some("wrong_password")
        } else {
            None
        };
        let mut tx = self.store.begin().await?;
        let object = ("user", row.user.id.as_str());
        if let Some(reason) = refusal {
            if reason == "wrong_password" {
                let failures = row.failed_logins + 1;
                let lock = (failures >= self.settings.max_failed_logins)
                    .then(|| now + self.settings.lockout);
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
        if row.failed_logins != 0 || row.locked_until.is_some() {
            tx.set_login_failures(&row.user.id, 0, None, now).await?;
        }
        tx.append_audit(
            &event(username, action, object, Outcome::Success, origin, ""),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(row.user)
    }

    /// Logs in with a password and opens a session with a fresh id.
    pub async fn login(
        &self,
        username: &str,
        password: SecretString,
        origin: &RequestOrigin,
    ) -> Result<LoginSuccess, AuthError> {
        let user = self
            .check_password(username, password, origin, "auth.login")
            .await?;
        let now = self.clock.now();
        let cookie_secret = SecretString::from(random_token(32));
        let session = SessionRow {
            id: SessionId::generate(),
            user_id: user.id.clone(),
            csrf_token: random_token(24),
            source: origin.source.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.settings.session_absolute,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_session(NewSession {
            session: &session,
            secret_hash: &token_hash(cookie_secret.expose_secret()),
        })
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
        Ok(Principal {
            user,
            method: AuthMethod::Basic,
        })
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
        if now >= session.expires_at || now >= session.last_seen_at + self.settings.session_idle {
            let mut tx = self.store.begin().await?;
            tx.delete_session(&session.id).await?;
            tx.commit().await?;
            return Err(AuthError::Unauthenticated);
        }
        let user = self.enabled_user(&session.user_id).await?;
        self.store.touch_session(&session.id, now).await?;
        Ok(Principal {
            user,
            method: AuthMethod::Session {
                id: session.id,
                csrf_token: session.csrf_token,
            },
        })
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
        Ok(Principal {
            user,
            method: AuthMethod::Token(record.id),
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

    /// Changes the caller's own local password. Requires the current password; the new one
    /// must meet the policy and differ from it. A session used for the change ends (the
    /// user logs in again); other sessions are unaffected.
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
        let now = self.clock.now();
        let object = ("user", user.id.as_str());
        if !verify_password(current.clone(), Some(stored)).await {
            let mut tx = self.store.begin().await?;
            tx.append_audit(
                &event(
                    &user.username,
                    "user.password.change",
                    object,
                    Outcome::Failure,
                    origin,
                    "wrong_current_password",
                ),
                now,
            )
            .await?;
            tx.commit().await?;
            return Err(AuthError::WrongCurrentPassword);
        }
        let mut broken = self
            .settings
            .password_rules
            .check(new.expose_secret(), &user.username);
        if new.expose_secret() == current.expose_secret() {
            broken.push(RuleViolation {
                code: "same_as_current",
                message: "Choose a password different from your current one.".to_owned(),
            });
        }
        if !broken.is_empty() {
            let codes: Vec<_> = broken.iter().map(|v| v.code).collect();
            let mut tx = self.store.begin().await?;
            tx.append_audit(
                &event(
                    &user.username,
                    "user.password.change",
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
        tx.set_password(&user.id, &hash, false, now).await?;
        if let AuthMethod::Session { id, .. } = &principal.method {
            tx.delete_session(id).await?;
        }
        tx.append_audit(
            &event(
                &user.username,
                "user.password.change",
                object,
                Outcome::Success,
                origin,
                "",
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates an API token for the caller; the token is returned once.
    pub async fn create_token(
        &self,
        principal: &Principal,
        name: &str,
        expires_at: Option<DateTime<Utc>>,
        origin: &RequestOrigin,
    ) -> Result<NewToken, AuthError> {
        principal.require_active()?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(AuthError::Invalid(
                "a token name is 1 to 100 printable characters".to_owned(),
            ));
        }
        let now = self.clock.now();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::Invalid(
                "expires_at must be in the future".to_owned(),
            ));
        }
        let token = SecretString::from(format!("{TOKEN_PREFIX}{}", random_token(32)));
        let record = ApiTokenRow {
            id: TokenId::generate(),
            user_id: principal.user.id.clone(),
            name: name.to_owned(),
            prefix: token
                .expose_secret()
                .chars()
                .take(TOKEN_PREFIX.len() + 6)
                .collect(),
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_api_token(NewApiToken {
            token: &record,
            secret_hash: &token_hash(token.expose_secret()),
        })
        .await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                "token.create",
                ("token", record.id.as_str()),
                Outcome::Success,
                origin,
                "",
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(NewToken { record, token })
    }

    /// The caller's tokens.
    pub async fn list_tokens(&self, principal: &Principal) -> Result<Vec<ApiTokenRow>, AuthError> {
        Ok(self.store.api_tokens_of(&principal.user.id).await?)
    }

    /// Revokes one of the caller's tokens.
    pub async fn revoke_token(
        &self,
        principal: &Principal,
        id: &TokenId,
        origin: &RequestOrigin,
    ) -> Result<(), AuthError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !tx.revoke_api_token(&principal.user.id, id, now).await? {
            return Err(AuthError::UnknownToken);
        }
        tx.append_audit(
            &event(
                &principal.user.username,
                "token.revoke",
                ("token", id.as_str()),
                Outcome::Success,
                origin,
                "",
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
