//! The kinds of owner a vault secret has. The name is part of each secret's associated data
//! and of the stored row, so it never changes.

/// Who a sealed secret belongs to (with the owner's id).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::AsRefStr,
    strum::Display,
    strum::EnumIter,
)]
pub enum SecretOwner {
    /// An account's secret (owner id: the account).
    #[strum(serialize = "account")]
    Account,
    /// A change task's own secret, such as a fixed new password (owner id: the task).
    #[strum(serialize = "change_task")]
    ChangeTask,
    /// Tumbler's system SSH private keys (owner id `system`).
    #[strum(serialize = "system_ssh_key")]
    SystemKey,
    /// A custom login key uploaded for an asset (owner id: the asset).
    #[strum(serialize = "asset_login_key")]
    AssetLoginKey,
    /// A webhook's signing secret (owner id: the webhook).
    #[strum(serialize = "webhook")]
    Webhook,
    /// The SMTP password (owner id `settings`).
    #[strum(serialize = "smtp")]
    Smtp,
    /// A user's TOTP secret (owner id: the user).
    #[strum(serialize = "totp")]
    Totp,
    /// The audit chain's HMAC key (owner id `key`).
    #[strum(serialize = "audit_chain")]
    AuditChain,
}

impl SecretOwner {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn stored_names_never_change() {
        let names: Vec<&str> = SecretOwner::iter().map(SecretOwner::as_str).collect();
        assert_eq!(
            names,
            [
                "account",
                "change_task",
                "system_ssh_key",
                "asset_login_key",
                "webhook",
                "smtp",
                "totp",
                "audit_chain"
            ]
        );
        for owner in SecretOwner::iter() {
            assert_eq!(owner.as_str().parse::<SecretOwner>().ok(), Some(owner));
        }
    }
}
