//! The order of one asset's changes and the secrets its change session depends on.
//!
//! The session that changes an asset's accounts is opened as the login account and becomes
//! root with `sudo` (the login account's password) or `su` (root's password; a network
//! device's `enable` secret). With secure mode off those accounts change too, so they go
//! last: ordinary accounts, then other privileged accounts, then the become account (root,
//! `enable`), then the login account. After one of them committed, the session's secrets are
//! read again ([`ChangeEngine::refresh_session_secrets`]), so the next `su` types
//! root's new password.

use super::target::Changer;
use super::ChangeEngine;
use crate::change_secret::ChangeSecretError;
use tumbler_domain::ids::AccountId;
use tumbler_domain::inventory::SecretType;
use tumbler_store::AccountRow;

/// The names of the account whose password a session types to become root (`su`), or, on a
/// network device, to enter privileged mode, in the order they are looked for.
pub(in crate::change_secret) fn become_names(unix_like: bool) -> &'static [&'static str] {
    if unix_like {
        &["root"]
    } else {
        &["root", "enable"]
    }
}

/// Where an account goes in its asset's order of changes: ordinary accounts (0), other
/// privileged accounts (1), the become account (2), the login account (3).
pub(in crate::change_secret) fn change_rank(account: &AccountRow, login: Option<&AccountId>) -> u8 {
    if login == Some(&account.id) {
        3
    } else if account.secret_type == SecretType::Password
        && ["root", "enable"].contains(&account.username.as_str())
    {
        2
    } else if account.privileged {
        1
    } else {
        0
    }
}

impl ChangeEngine {
    /// After `changed` was worked on: if it is an account the session depends on (the login
    /// account, or the become account whose password `su` types), its current secret is read
    /// again so the rest of the asset's work uses the secret the target now holds.
    pub(in crate::change_secret) async fn refresh_session_secrets(
        &self,
        changer: &mut Changer,
        changed: &AccountRow,
    ) -> Result<(), ChangeSecretError> {
        let is_login = changer
            .privileged
            .as_ref()
            .is_some_and(|(a, _)| a.id == changed.id);
        let is_become = changer.root_account.as_ref() == Some(&changed.id);
        if !is_login && !is_become {
            return Ok(());
        }
        let Some(fresh) = self.store.account(&changed.id).await? else {
            return Ok(());
        };
        let secret = self
            .open_account_secret(fresh.id.as_str(), fresh.current_version)
            .await?;
        if is_become {
            changer.root_secret = Some(secret.clone());
        }
        if is_login {
            changer.privileged = Some((fresh, secret));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tumbler_domain::ids::{AssetId, DomainId};

    fn account(name: &str, privileged: bool) -> AccountRow {
        let now = chrono::Utc::now();
        AccountRow {
            id: AccountId::generate(),
            asset_id: AssetId::generate(),
            asset_name: "web1".to_owned(),
            domain_id: DomainId::generate(),
            username: name.to_owned(),
            secret_type: SecretType::Password,
            privileged,
            options: Default::default(),
            current_version: 1,
            previous_version: None,
            pending_version: None,
            next_version: 2,
            status: tumbler_domain::inventory::AccountStatus::Ok,
            status_reason: String::new(),
            last_verified_at: None,
            last_changed_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn the_accounts_the_session_depends_on_change_last() {
        let login = account("ops", true);
        let mut accounts = [
            login.clone(),
            account("root", false),
            account("zadmin", true),
            account("app1", false),
            account("app2", false),
        ];
        accounts.sort_by_key(|a| change_rank(a, Some(&login.id)));
        let names: Vec<&str> = accounts.iter().map(|a| a.username.as_str()).collect();
        assert_eq!(names, ["app1", "app2", "zadmin", "root", "ops"]);
    }
}
