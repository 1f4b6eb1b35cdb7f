//! Creating a user, with a temporary password shown once.

use crate::hashing::hash_password;
use crate::{AuthService, Principal, Reauthentication, RequestOrigin};
use tumbler_domain::audit::AuditAction;
use tumbler_domain::ids::UserId;
use tumbler_domain::password::generate_one_time_password;
use tumbler_domain::permission::Permission;
use tumbler_domain::user::{User, UserKind, UserStatus};
use tumbler_store::{NewUser, StoreError};

use super::rules::{valid_email, valid_username};
use super::{CreatedUser, NewUserRequest, UserError, UserService};

impl UserService {
    /// Creates a user. A local user gets a temporary password, returned once, that must be
    /// changed at first login and stops working after the configured time. The caller proves
    /// again who they are first (current password or a fresh code, see
    /// [`AuthService::reauthenticate`]): a stolen session or token cannot create a user it
    /// then logs in as.
    pub async fn create(
        &self,
        auth: &AuthService,
        principal: &Principal,
        req: NewUserRequest,
        proof: Reauthentication,
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
        auth.reauthenticate(principal, proof, AuditAction::UserCreate, origin)
            .await?;
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
        crate::commit_audited(
            tx,
            principal,
            AuditAction::UserCreate,
            ("user", user.id.as_str()),
            origin,
            detail,
            now,
        )
        .await?;
        Ok(CreatedUser {
            user,
            temporary_password: password,
        })
    }
}
