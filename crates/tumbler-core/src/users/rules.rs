//! Rules a user change must pass: valid names and addresses, known roles and domains,
//! nobody granting more than they hold, and always one enabled administrator left.

use crate::Principal;
use tumbler_domain::user::{User, UserStatus};

use super::{UserError, UserService};

pub(super) fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
}

pub(super) fn valid_email(email: &str) -> bool {
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
    pub(super) async fn resolve_domains(
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
    pub(super) async fn check_roles(
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
    pub(super) async fn check_domains_held(
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

    /// Whether, after `user` changes to `roles`/`status` (or is deleted when both are `None`),
    /// at least one enabled administrator remains.
    pub(super) async fn keeps_an_admin(
        &self,
        tx: &mut tumbler_store::Tx,
        user: &User,
        roles: Option<&[String]>,
        status: Option<UserStatus>,
        deleting: bool,
    ) -> Result<bool, UserError> {
        let is_admin_now =
            user.status == UserStatus::Enabled && user.roles.iter().any(|r| r == "admin");
        if !is_admin_now {
            return Ok(true);
        }
        let admin_after = !deleting
            && status.unwrap_or(user.status) == UserStatus::Enabled
            && roles
                .map(|r| r.iter().any(|x| x == "admin"))
                .unwrap_or(true);
        Ok(admin_after || tx.count_users_with_role("admin", true).await? > 1)
    }
}
