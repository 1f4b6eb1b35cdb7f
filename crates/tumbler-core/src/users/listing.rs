//! Reading users: one, or a filtered list, as summaries with password and lockout status
//! and the domain names the caller may see.

use crate::Principal;
use chrono::{DateTime, Utc};
use tumbler_domain::ids::UserId;
use tumbler_domain::password_status::PasswordStatus;
use tumbler_domain::permission::Permission;
use tumbler_store::{UserFilter, UserRow};

use super::{UserError, UserService, UserSummary};

impl UserService {
    pub(super) fn summary(
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

    /// The domain names a caller may see in user summaries: all of them with the permission
    /// to manage users, else only the caller's own (domain names are not revealed).
    pub(super) async fn domain_names_for(
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
    pub(super) async fn password_expired_before(&self) -> Result<Option<DateTime<Utc>>, UserError> {
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
}
