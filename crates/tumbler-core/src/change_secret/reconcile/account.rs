//! Choosing the reconcile account: the account whose session sets the new password, never
//! the account itself; and the definition a reconcile changes with.

use super::Refusal;
use crate::change_secret::engine::login_account;
use crate::change_secret::engine::session_order::become_names;
use crate::change_secret::tasks::TaskSpec;
use std::collections::BTreeMap;
use tumbler_domain::change_secret::{PasswordRules, SecretStrategy};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::inventory::SecretType;
use tumbler_domain::platform::{self, BecomeMethod, Protocol};
use tumbler_store::{AccountRow, AssetRow};

/// The definition a reconcile changes with: a random password by the default rules, the
/// platform's own method, the reconcile account's options.
pub(super) fn reconcile_spec(account: &AccountRow) -> TaskSpec {
    TaskSpec {
        usernames: vec![account.username.clone()],
        asset_ids: vec![account.asset_id.clone()],
        nodes: Vec::new(),
        secret_strategy: SecretStrategy::Random,
        secret_type: SecretType::Password,
        password_rules: PasswordRules::default(),
        ssh_key: Default::default(),
        custom_ssh: None,
        params: BTreeMap::new(),
        schedule: Default::default(),
        recipients: Vec::new(),
    }
}

/// The account that reconciles `account` on `asset` (of `all`, the asset's accounts), or why
/// none may: the session must never depend on the account's own stored secret.
pub(super) fn reconcile_account_for<'a>(
    asset: &AssetRow,
    all: &'a [AccountRow],
    account: &AccountRow,
) -> Result<&'a AccountRow, Refusal> {
    let who = format!("{}@{}", account.username, asset.name);
    let platform = platform::find(&asset.platform).ok_or_else(|| {
        Refusal::new(
            FailureCode::ReconcileUnsupported,
            format!("unknown platform {}", asset.platform),
        )
    })?;
    if account.secret_type != SecretType::Password {
        return Err(Refusal::new(
            FailureCode::ReconcileUnsupported,
            format!("{who} holds an SSH key; reconcile sets passwords"),
        ));
    }
    if platform.protocol == Protocol::Redis {
        return Err(Refusal::new(
            FailureCode::ReconcileUnsupported,
            format!(
                "{who}: Redis adds a password beside the old one, which reconcile cannot remove without knowing it"
            ),
        ));
    }
    let via = match &asset.reconcile_account_id {
        Some(id) => all.iter().find(|a| &a.id == id).ok_or_else(|| {
            Refusal::new(
                FailureCode::NoReconcileAccount,
                format!("the reconcile account set on {} no longer exists", asset.name),
            )
        })?,
        None => login_account(all).ok_or_else(|| {
            Refusal::new(
                FailureCode::NoReconcileAccount,
                format!(
                    "{} has neither a reconcile account nor a privileged account to set the password through",
                    asset.name
                ),
            )
        })?,
    };
    if via.id == account.id {
        return Err(Refusal::new(
            FailureCode::ReconcileAccountIsSelf,
            format!(
                "{who} is the account its asset is reconciled through: reconcile never logs in with the account's own secret; set another reconcile account on the asset"
            ),
        ));
    }
    // `su` types root's password: root cannot be reconciled through a session that needs it.
    let become_option = via
        .options
        .get("become")
        .map(String::as_str)
        .or_else(|| platform.option("become").map(|o| o.default));
    let become_method = BecomeMethod::from_option(become_option)
        .map_err(|e| Refusal::new(FailureCode::UnknownBecomeMethod, format!("{who}: {e}")))?;
    if become_method == BecomeMethod::Su
        && account.secret_type == SecretType::Password
        && become_names(platform.unix_like).contains(&account.username.as_str())
    {
        return Err(Refusal::new(
            FailureCode::ReconcileAccountIsSelf,
            format!(
                "{who}: the reconcile account becomes root with su, which types {}'s own password; use a reconcile account with sudo",
                account.username
            ),
        ));
    }
    Ok(via)
}
