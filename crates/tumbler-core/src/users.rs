//! Managing console users: create (with a temporary password shown once), list, edit,
//! disable, delete, unlock, and their sessions. Permissions are checked here, so the API, the
//! console and the CLI enforce the same rules.

use crate::hashing::hash_password;
use crate::{event, AuthSettings, Principal, RequestOrigin};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Serialize;
use std::sync::Arc;
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::{SessionId, UserId};
use tumbler_domain::password::generate_one_time_password;
use tumbler_domain::password_status::PasswordStatus;
use tumbler_domain::permission::{Permission, ADMIN_ROLE};
use tumbler_domain::user::{User, UserKind, UserStatus};
use tumbler_domain::Clock;
use tumbler_store::{NewUser, SessionRow, Store, StoreError, UserChanges, UserFilter, UserRow};

/// What went wrong managing users.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The caller lacks the permission.
    #[error("you do not have permission for this")]
    Forbidden,
    /// No such user.
    #[error("no such user")]
    NotFound,
    /// No such session.
    #[error("no such session")]
    SessionNotFound,
    /// The username is taken.
    #[error("a user with that username already exists")]
    Duplicate,
    /// A domain named does not exist.
    #[error("no such domain: {0}")]
    UnknownDomain(String),
    /// A role named does not exist.
    #[error("no such role: {0}")]
    UnknownRole(String),
    /// The role gives a permission the caller does not hold.
    #[error("you cannot grant role {0}: it allows something you may not do yourself")]
    RoleNotHeld(String),
    /// The caller does not belong to the domain.
    #[error("you cannot grant domain {0}: you do not belong to it")]
    DomainNotHeld(String),
    /// Nobody changes their own roles or domains.
    #[error("you cannot change your own roles or domains; ask another administrator")]
    OwnGrants,
    /// The change would leave no enabled administrator.
    #[error("this would leave no enabled administrator")]
    LastAdmin,
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error("internal error")]
    Store(#[from] StoreError),
    /// Hashing failed.
    #[error("internal error")]
    Hashing(String),
}

impl UserError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::NotFound => "user_not_found",
            Self::SessionNotFound => "session_not_found",
            Self::Duplicate => "user_exists",
            Self::UnknownRole(_) => "unknown_role",
            Self::UnknownDomain(_) => "unknown_domain",
            Self::LastAdmin => "last_admin",
            Self::RoleNotHeld(_) => "role_not_held",
            Self::DomainNotHeld(_) => "domain_not_held",
            Self::OwnGrants => "own_grants",
            Self::Invalid(_) => "invalid_request",
            Self::Store(_) | Self::Hashing(_) => "internal_error",
        }
    }
}

/// A user as lists show it: the user plus password and lockout status.
#[derive(Debug, Clone, Serialize)]
pub struct UserSummary {
    /// The user.
    #[serde(flatten)]
    pub user: User,
    /// `active`, `temporary` (must be changed at next login), `expired` (temporary, expired),
    /// `expired_by_age` (older than the policy's expiry), `policy_tightened` (a login found it
    /// no longer meets the policy) or `none` (no local password): see [`PasswordStatus`].
    pub password_status: PasswordStatus,
    /// Locked out until this time.
    pub locked_until: Option<DateTime<Utc>>,
    /// Names of the domains the user belongs to.
    pub domains: Vec<String>,
}

/// A request to create a user.
#[derive(Debug, Clone)]
pub struct NewUserRequest {
    /// Login name.
    pub username: String,
    /// Display name (defaults to the username).
    pub display_name: Option<String>,
    /// Email for notifications.
    pub email: Option<String>,
    /// Local or remote.
    pub kind: UserKind,
    /// Role names.
    pub roles: Vec<String>,
    /// Domain names (empty: the `Default` domain).
    pub domains: Vec<String>,
}

/// A created user and, for a local user, the temporary password to show once.
pub struct CreatedUser {
    /// The user.
    pub user: User,
    /// The temporary password (local users only).
    pub temporary_password: Option<SecretString>,
}

/// User management.
#[derive(Clone)]
pub struct UserService {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: AuthSettings,
}

fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && email.len() <= 254
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',')
}

impl UserService {
    /// A service over `store`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: AuthSettings) -> Self {
        Self {
            store,
            clock,
            settings,
        }
    }

    fn summary(
        &self,
        row: UserRow,
        domains: &std::collections::HashMap<UserId, Vec<String>>,
        expired_before: Option<DateTime<Utc>>,
    ) -> UserSummary {
        let now = self.clock.now();
        let password_status = PasswordStatus::of(
            row.password_hash.is_some(),
            row.user.must_change_password,
            row.user.password_changed_at,
            row.user.temp_password_expires_at,
            now,
            expired_before,
        );
        UserSummary {
            password_status,
            locked_until: row.locked_until.filter(|t| *t > now),
            domains: domains.get(&row.user.id).cloned().unwrap_or_default(),
            user: row.user,
        }
    }

    async fn resolve_domains(
        &self,
        names: &[String],
    ) -> Result<Vec<tumbler_domain::ids::DomainId>, UserError> {
        let all = self.store.domains().await?;
        names
            .iter()
            .map(|n| {
                all.iter()
                    .find(|d| &d.name == n)
                    .map(|d| d.id.clone())
                    .ok_or_else(|| UserError::UnknownDomain(n.clone()))
            })
            .collect()
    }

    /// Checks that the roles exist and that `granted` (the ones the user does not hold yet)
    /// allow nothing the caller may not do: nobody hands out more than they hold.
    async fn check_roles(
        &self,
        principal: &Principal,
        roles: &[String],
        granted: &[String],
    ) -> Result<(), UserError> {
        let known = self.store.roles().await?;
        if let Some(unknown) = roles.iter().find(|r| !known.iter().any(|k| &k.name == *r)) {
            return Err(UserError::UnknownRole(unknown.clone()));
        }
        for name in granted {
            let exceeds = known
                .iter()
                .filter(|k| &k.name == name)
                .any(|k| !k.permissions.is_subset(&principal.permissions));
            if exceeds {
                return Err(UserError::RoleNotHeld(name.clone()));
            }
        }
        Ok(())
    }

    /// Checks that the caller belongs to every domain in `granted`.
    async fn check_domains_held(
        &self,
        principal: &Principal,
        granted: &[String],
    ) -> Result<(), UserError> {
        let mine = self.store.user_domains(&principal.user.id).await?;
        match granted.iter().find(|g| !mine.iter().any(|d| &d.name == *g)) {
            Some(name) => Err(UserError::DomainNotHeld(name.clone())),
            None => Ok(()),
        }
    }

    /// The domain names a caller may see in user summaries: all of them with the permission
    /// to manage users, else only the caller's own (domain names are not revealed).
    async fn domain_names_for(
        &self,
        principal: &Principal,
    ) -> Result<std::collections::HashMap<UserId, Vec<String>>, UserError> {
        let mut names = self.store.domain_names_by_user().await?;
        if !principal.can(Permission::UsersManage) {
            let mine: Vec<String> = self
                .store
                .user_domains(&principal.user.id)
                .await?
                .into_iter()
                .map(|d| d.name)
                .collect();
            for list in names.values_mut() {
                list.retain(|n| mine.contains(n));
            }
        }
        Ok(names)
    }

    /// Creates a user. A local user gets a temporary password, returned once, that must be
    /// changed at first login and stops working after the configured time.
    pub async fn create(
        &self,
        principal: &Principal,
        req: NewUserRequest,
        origin: &RequestOrigin,
    ) -> Result<CreatedUser, UserError> {
        if !principal.can(Permission::UsersManage) {
            return Err(UserError::Forbidden);
        }
        let username = req.username.trim().to_owned();
        if !valid_username(&username) {
            return Err(UserError::Invalid(
                "a username is 1 to 64 letters, digits, '.', '_', '-' or '@'".to_owned(),
            ));
        }
        if let Some(email) = req.email.as_deref().filter(|e| !valid_email(e)) {
            return Err(UserError::Invalid(format!(
                "not an email address: {email:?}"
            )));
        }
        self.check_roles(principal, &req.roles, &req.roles).await?;
        let names = if req.domains.is_empty() {
            vec![crate::domains::DEFAULT_DOMAIN.to_owned()]
        } else {
            req.domains.clone()
        };
        let domain_ids = self.resolve_domains(&names).await?;
        self.check_domains_held(principal, &names).await?;
        let now = self.clock.now();
        let local = req.kind == UserKind::Local;
        let password = local.then(generate_one_time_password);
        let hash = match &password {
            Some(p) => Some(hash_password(p.clone()).await.map_err(UserError::Hashing)?),
            None => None,
        };
        let user = User {
            id: UserId::generate(),
            display_name: req
                .display_name
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| username.clone()),
            username,
            email: req.email,
            kind: req.kind,
            status: UserStatus::Enabled,
            roles: req.roles,
            must_change_password: local,
            password_changed_at: local.then_some(now),
            temp_password_expires_at: local.then(|| now + self.settings.temp_password_ttl),
            mfa_enabled: false,
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_user(
            NewUser {
                user: &user,
                password_hash: hash.as_deref(),
            },
            now,
        )
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(_) => UserError::Duplicate,
            other => other.into(),
        })?;
        tx.set_user_domains(&user.id, &domain_ids).await?;
        let detail = format!("roles={} domains={}", user.roles.join(","), names.join(","));
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::UserCreate,
                ("user", user.id.as_str()),
                Outcome::Success,
                origin,
                detail,
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedUser {
            user,
            temporary_password: password,
        })
    }

    /// Users matching `filter`.
    pub async fn list(
        &self,
        principal: &Principal,
        filter: &UserFilter,
    ) -> Result<(Vec<UserSummary>, i64), UserError> {
        if !principal.can(Permission::UsersRead) {
            return Err(UserError::Forbidden);
        }
        let expired_before = self.password_expired_before().await?;
        let filter = UserFilter {
            password_now: Some(self.clock.now()),
            password_expired_before: expired_before,
            ..filter.clone()
        };
        let (rows, total) = self.store.users(&filter).await?;
        Ok((
            {
                let names = self.domain_names_for(principal).await?;
                rows.into_iter()
                    .map(|r| self.summary(r, &names, expired_before))
                    .collect()
            },
            total,
        ))
    }

    /// The policy's expiry cut-off now: passwords set at or before it are expired by age.
    async fn password_expired_before(&self) -> Result<Option<DateTime<Utc>>, UserError> {
        let policy = crate::policy::load_policy(&self.store).await?;
        Ok(policy.expiry_days.and_then(|days| {
            self.clock
                .now()
                .checked_sub_signed(chrono::Duration::try_days(i64::from(days))?)
        }))
    }

    /// One user.
    pub async fn get(&self, principal: &Principal, id: &UserId) -> Result<UserSummary, UserError> {
        if !principal.can(Permission::UsersRead) && principal.user.id != *id {
            return Err(UserError::Forbidden);
        }
        let row = self
            .store
            .user_by_id(id)
            .await?
            .ok_or(UserError::NotFound)?;
        let names = self.domain_names_for(principal).await?;
        Ok(self.summary(row, &names, self.password_expired_before().await?))
    }

    /// Whether, after `user` changes to `roles`/`status` (or is deleted when both are `None`),
    /// at least one enabled administrator remains.
    async fn keeps_an_admin(
        &self,
        tx: &mut tumbler_store::Tx,
        user: &User,
        roles: Option<&[String]>,
        status: Option<UserStatus>,
        deleting: bool,
    ) -> Result<bool, UserError> {
        let is_admin_now =
            user.status == UserStatus::Enabled && user.roles.iter().any(|r| r == ADMIN_ROLE);
        if !is_admin_now {
            return Ok(true);
        }
        let admin_after = !deleting
            && status.unwrap_or(user.status) == UserStatus::Enabled
            && roles
                .map(|r| r.iter().any(|x| x == ADMIN_ROLE))
                .unwrap_or(true);
        Ok(admin_after || tx.count_users_with_role(ADMIN_ROLE, true).await? > 1)
    }

    /// Changes a user. Disabling ends all of the user's sessions at once; a role change
    /// applies at the user's next request.
    pub async fn update(
        &self,
        principal: &Principal,
        id: &UserId,
        changes: UserChanges,
        domains: Option<Vec<String>>,
        origin: &RequestOrigin,
    ) -> Result<UserSummary, UserError> {
        let mut changes = changes;
        // The permission first: a caller who may not manage users learns nothing, not even
        // which domain names exist.
        if !principal.can(Permission::UsersManage) {
            return Err(UserError::Forbidden);
        }
        let current = self
            .store
            .user_by_id(id)
            .await?
            .ok_or(UserError::NotFound)?;
        let current_domains: Vec<String> = self
            .store
            .user_domains(id)
            .await?
            .into_iter()
            .map(|d| d.name)
            .collect();
        let mut domain_detail = None;
        if let Some(names) = domains {
            if names.is_empty() {
                return Err(UserError::Invalid(
                    "a user belongs to at least one domain".to_owned(),
                ));
            }
            changes.domains = Some(self.resolve_domains(&names).await?);
            let mut sorted = names.clone();
            sorted.sort();
            sorted.dedup();
            if sorted != current_domains {
                if principal.user.id == *id {
                    return Err(UserError::OwnGrants);
                }
                let added: Vec<String> = sorted
                    .iter()
                    .filter(|n| !current_domains.contains(n))
                    .cloned()
                    .collect();
                self.check_domains_held(principal, &added).await?;
                domain_detail = Some(format!(
                    "domains={} -> {}",
                    current_domains.join(","),
                    sorted.join(",")
                ));
            }
        }
        if let Some(roles) = &changes.roles {
            let mut new_roles = roles.clone();
            new_roles.sort();
            new_roles.dedup();
            let mut old_roles = current.user.roles.clone();
            old_roles.sort();
            old_roles.dedup();
            if new_roles != old_roles && principal.user.id == *id {
                return Err(UserError::OwnGrants);
            }
            let added: Vec<String> = new_roles
                .iter()
                .filter(|r| !old_roles.contains(r))
                .cloned()
                .collect();
            self.check_roles(principal, roles, &added).await?;
        }
        if let Some(Some(email)) = &changes.email {
            if !valid_email(email) {
                return Err(UserError::Invalid(format!(
                    "not an email address: {email:?}"
                )));
            }
        }
        let row = self
            .store
            .user_by_id(id)
            .await?
            .ok_or(UserError::NotFound)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !self
            .keeps_an_admin(
                &mut tx,
                &row.user,
                changes.roles.as_deref(),
                changes.status,
                false,
            )
            .await?
        {
            return Err(UserError::LastAdmin);
        }
        tx.update_user(id, &changes, now).await?;
        let mut detail = Vec::new();
        if let Some(roles) = &changes.roles {
            detail.push(format!(
                "roles={} -> {}",
                current.user.roles.join(","),
                roles.join(",")
            ));
        }
        if let Some(d) = domain_detail {
            detail.push(d);
        }
        if let Some(status) = changes.status {
            detail.push(format!("status={}", status.as_str()));
            if status == UserStatus::Disabled {
                let ended = tx.delete_user_sessions(id).await?;
                detail.push(format!("sessions_ended={ended}"));
            }
        }
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::UserUpdate,
                ("user", id.as_str()),
                Outcome::Success,
                origin,
                detail.join(" "),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        let row = self
            .store
            .user_by_id(id)
            .await?
            .ok_or(UserError::NotFound)?;
        let names = self.store.domain_names_by_user().await?;
        Ok(self.summary(row, &names, self.password_expired_before().await?))
    }

    /// Deletes a user (never oneself, never the last enabled administrator).
    pub async fn delete(
        &self,
        principal: &Principal,
        id: &UserId,
        origin: &RequestOrigin,
    ) -> Result<(), UserError> {
        if !principal.can(Permission::UsersManage) {
            return Err(UserError::Forbidden);
        }
        if principal.user.id == *id {
            return Err(UserError::Invalid("you cannot delete yourself".to_owned()));
        }
        let row = self
            .store
            .user_by_id(id)
            .await?
            .ok_or(UserError::NotFound)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !self
            .keeps_an_admin(&mut tx, &row.user, None, None, true)
            .await?
        {
            return Err(UserError::LastAdmin);
        }
        tx.delete_user(id).await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::UserDelete,
                ("user", id.as_str()),
                Outcome::Success,
                origin,
                row.user.username.clone(),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lifts a lockout and clears the failure count.
    pub async fn unlock(
        &self,
        principal: &Principal,
        id: &UserId,
        origin: &RequestOrigin,
    ) -> Result<(), UserError> {
        if !principal.can(Permission::UsersManage) {
            return Err(UserError::Forbidden);
        }
        self.store
            .user_by_id(id)
            .await?
            .ok_or(UserError::NotFound)?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.set_login_failures(id, 0, None, now).await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::UserUnlock,
                ("user", id.as_str()),
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

    /// A user's sessions: one's own, or anyone's with the permission to read users.
    pub async fn sessions(
        &self,
        principal: &Principal,
        id: &UserId,
    ) -> Result<Vec<SessionRow>, UserError> {
        if principal.user.id != *id && !principal.can(Permission::UsersRead) {
            return Err(UserError::Forbidden);
        }
        Ok(self.store.sessions_of(id).await?)
    }

    /// Ends one session of a user: one's own, or anyone's with the permission to manage users.
    /// `None` ends them all.
    pub async fn end_sessions(
        &self,
        principal: &Principal,
        id: &UserId,
        session: Option<&SessionId>,
        origin: &RequestOrigin,
    ) -> Result<u64, UserError> {
        if principal.user.id != *id && !principal.can(Permission::UsersManage) {
            return Err(UserError::Forbidden);
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let ended = match session {
            Some(s) => u64::from(tx.delete_session_of(id, s).await?),
            None => tx.delete_user_sessions(id).await?,
        };
        if session.is_some() && ended == 0 {
            return Err(UserError::SessionNotFound);
        }
        let object = session
            .map(|s| ("session", s.as_str()))
            .unwrap_or(("user", id.as_str()));
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::AuthSessionEnd,
                object,
                Outcome::Success,
                origin,
                format!("ended={ended}"),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(ended)
    }
}
