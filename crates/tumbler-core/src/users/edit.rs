//! Changing an existing user: edit (roles, domains, status, details), delete, unlock.

use crate::{AuthService, Principal, RequestOrigin};
use tumbler_domain::audit::AuditAction;
use tumbler_domain::ids::UserId;
use tumbler_domain::permission::Permission;
use tumbler_domain::user::UserStatus;

use super::rules::valid_email;
use super::{UserEdit, UserError, UserService, UserSummary};

impl UserService {
    /// Changes a user. Disabling ends all of the user's sessions at once; a role change
    /// applies at the user's next request. A change that could give access (any change of
    /// roles, a domain added, a disabled user enabled again) needs the caller to prove again
    /// who they are (current password or a fresh code, see [`AuthService::reauthenticate`]);
    /// `proof` is ignored otherwise.
    pub async fn update(
        &self,
        auth: &AuthService,
        principal: &Principal,
        id: &UserId,
        edit: UserEdit,
        origin: &RequestOrigin,
    ) -> Result<UserSummary, UserError> {
        let UserEdit {
            changes,
            domains,
            proof,
        } = edit;
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
        let mut grants = changes.status == Some(UserStatus::Enabled)
            && current.user.status == UserStatus::Disabled;
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
                grants |= !added.is_empty();
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
            grants |= new_roles != old_roles;
        }
        if let Some(Some(email)) = &changes.email {
            if !valid_email(email) {
                return Err(UserError::Invalid(format!(
                    "not an email address: {email:?}"
                )));
            }
        }
        if grants {
            auth.reauthenticate(principal, proof, AuditAction::UserUpdate, origin)
                .await?;
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
        crate::commit_audited(
            tx,
            principal,
            AuditAction::UserUpdate,
            ("user", id.as_str()),
            origin,
            detail.join(" "),
            now,
        )
        .await?;
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
        crate::commit_audited(
            tx,
            principal,
            AuditAction::UserDelete,
            ("user", id.as_str()),
            origin,
            row.user.username.clone(),
            now,
        )
        .await?;
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
        crate::commit_audited(
            tx,
            principal,
            AuditAction::UserUnlock,
            ("user", id.as_str()),
            origin,
            "",
            now,
        )
        .await?;
        Ok(())
    }
}
