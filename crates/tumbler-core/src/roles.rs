//! Roles: the built-in ones kept in step with the code, custom ones built from permissions,
//! and the per-role MFA requirement.

use crate::{Principal, RequestOrigin};
use std::collections::BTreeSet;
use std::sync::Arc;
use tumbler_domain::audit::AuditAction;
use tumbler_domain::permission::{builtin_roles, Permission, Role};
use tumbler_domain::Clock;
use tumbler_store::{Store, StoreError};

/// What went wrong managing roles.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// The caller lacks the permission.
    #[error("you do not have permission to manage roles")]
    Forbidden,
    /// No such role.
    #[error("no such role")]
    NotFound,
    /// A role with that name exists.
    #[error("a role with that name already exists")]
    Duplicate,
    /// Built-in roles cannot be changed or deleted.
    #[error("built-in roles cannot be changed or deleted")]
    Builtin,
    /// The role is still held by users.
    #[error("the role is still assigned to users")]
    InUse,
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl RoleError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::NotFound => "role_not_found",
            Self::Duplicate => "role_exists",
            Self::Builtin => "role_builtin",
            Self::InUse => "role_in_use",
            Self::Invalid(_) => "invalid_request",
            Self::Store(_) => "internal_error",
        }
    }
}

/// Role management.
#[derive(Clone)]
pub struct RoleService {
    store: Store,
    clock: Arc<dyn Clock>,
}

/// A valid role name: 1 to 64 of lowercase letters, digits, `-` and `_`.
pub fn valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl RoleService {
    /// A service over `store`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Creates missing built-in roles and brings existing ones in step with this build
    /// (permissions and description; the MFA requirement set by administrators is kept).
    pub async fn sync_builtin(&self) -> Result<(), RoleError> {
        let existing = self.store.roles().await?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        for role in builtin_roles() {
            match existing.iter().find(|r| r.name == role.name) {
                None => tx.insert_role(&role, now).await?,
                Some(found)
                    if found.permissions != role.permissions
                        || found.description != role.description
                        || !found.builtin =>
                {
                    tx.update_role_definition(&role).await?
                }
                Some(_) => {}
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every role.
    pub async fn list(&self, principal: &Principal) -> Result<Vec<Role>, RoleError> {
        if !principal.can(Permission::UsersRead) && !principal.can(Permission::RolesManage) {
            return Err(RoleError::Forbidden);
        }
        Ok(self.store.roles().await?)
    }

    /// Creates a custom role.
    pub async fn create(
        &self,
        principal: &Principal,
        name: &str,
        description: &str,
        permissions: BTreeSet<Permission>,
        require_mfa: bool,
        origin: &RequestOrigin,
    ) -> Result<Role, RoleError> {
        if !principal.can(Permission::RolesManage) {
            return Err(RoleError::Forbidden);
        }
        if !valid_role_name(name) {
            return Err(RoleError::Invalid(
                "a role name is 1 to 64 lowercase letters, digits, - or _".to_owned(),
            ));
        }
        let role = Role {
            name: name.to_owned(),
            description: description.trim().to_owned(),
            permissions,
            builtin: false,
            require_mfa,
        };
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.insert_role(&role, now).await.map_err(|e| match e {
            StoreError::Duplicate(_) => RoleError::Duplicate,
            other => other.into(),
        })?;
        let perms: Vec<_> = role.permissions.iter().map(|p| p.as_str()).collect();
        crate::commit_audited(
            tx,
            principal,
            AuditAction::RoleCreate,
            ("role", name),
            origin,
            perms.join(","),
            now,
        )
        .await?;
        Ok(role)
    }

    /// Requires (or stops requiring) MFA for holders of a role.
    pub async fn set_require_mfa(
        &self,
        principal: &Principal,
        name: &str,
        require: bool,
        origin: &RequestOrigin,
    ) -> Result<(), RoleError> {
        if !principal.can(Permission::RolesManage) {
            return Err(RoleError::Forbidden);
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !tx.set_role_mfa(name, require).await? {
            return Err(RoleError::NotFound);
        }
        crate::commit_audited(
            tx,
            principal,
            AuditAction::RoleRequireMfa,
            ("role", name),
            origin,
            require.to_string(),
            now,
        )
        .await?;
        Ok(())
    }

    /// Deletes a custom role that no user holds.
    pub async fn delete(
        &self,
        principal: &Principal,
        name: &str,
        origin: &RequestOrigin,
    ) -> Result<(), RoleError> {
        if !principal.can(Permission::RolesManage) {
            return Err(RoleError::Forbidden);
        }
        let role = self.store.role(name).await?.ok_or(RoleError::NotFound)?;
        if role.builtin {
            return Err(RoleError::Builtin);
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if tx.count_users_with_role(name, false).await? > 0 {
            return Err(RoleError::InUse);
        }
        tx.delete_custom_role(name).await?;
        crate::commit_audited(
            tx,
            principal,
            AuditAction::RoleDelete,
            ("role", name),
            origin,
            "",
            now,
        )
        .await?;
        Ok(())
    }
}
