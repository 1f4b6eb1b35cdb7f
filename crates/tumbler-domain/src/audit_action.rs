//! The names of audited actions. Each name is hashed into the audit chain (see
//! [`crate::audit`]), so a variant's stored name must never change: a changed byte breaks the
//! verification of every log that already holds it. Add a variant for a new action; keep old
//! ones even when nothing emits them any more.

use crate::job::JobKind;

/// What an audit event records as done, stored dotted (`auth.login`, `user.password.change`).
///
/// Appending takes this type, so every action name is written once, here. Reading the log
/// back keeps the stored text (a log may hold names older versions emitted).
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
pub enum AuditAction {
    // Audit
    /// From this event on, the chain's links are HMAC-SHA256 under a key sealed in the vault.
    #[strum(serialize = "audit.chain.keyed")]
    AuditChainKeyed,
    /// The audit log (the events matching a filter) exported as CSV, or the export refused.
    #[strum(serialize = "audit.export")]
    AuditExport,
    // Sign-in and sessions
    /// A console sign-in with username and password (and second factor).
    #[strum(serialize = "auth.login")]
    AuthLogin,
    /// An API request authenticated with HTTP Basic credentials.
    #[strum(serialize = "auth.basic")]
    AuthBasic,
    /// A sign-in with a client certificate.
    #[strum(serialize = "auth.certificate")]
    AuthCertificate,
    /// A console sign-out.
    #[strum(serialize = "auth.logout")]
    AuthLogout,
    /// A session opened after a completed sign-in.
    #[strum(serialize = "auth.session.create")]
    AuthSessionCreate,
    /// A user's sessions ended by an administrator.
    #[strum(serialize = "auth.session.end")]
    AuthSessionEnd,
    /// Sign-in attempts from an address refused during a throttling window.
    #[strum(serialize = "auth.throttled")]
    AuthThrottled,
    /// An API token created.
    #[strum(serialize = "token.create")]
    TokenCreate,
    /// An API token revoked.
    #[strum(serialize = "token.revoke")]
    TokenRevoke,
    // Users
    /// A user created.
    #[strum(serialize = "user.create")]
    UserCreate,
    /// A user's profile, roles or domains changed.
    #[strum(serialize = "user.update")]
    UserUpdate,
    /// A user deleted.
    #[strum(serialize = "user.delete")]
    UserDelete,
    /// A locked-out user unlocked.
    #[strum(serialize = "user.unlock")]
    UserUnlock,
    /// A session's active domain switched.
    #[strum(serialize = "user.active_domain")]
    UserActiveDomain,
    /// A user's "objects from all assigned domains" setting changed.
    #[strum(serialize = "user.object_visibility")]
    UserObjectVisibility,
    /// A user changed their own password.
    #[strum(serialize = "user.password.change")]
    UserPasswordChange,
    /// A user's password expired (or no longer meets the policy) at sign-in.
    #[strum(serialize = "user.password.expire")]
    UserPasswordExpire,
    /// An administrator reset a user's password.
    #[strum(serialize = "user.password.reset")]
    UserPasswordReset,
    /// TOTP enrolment started.
    #[strum(serialize = "user.totp.begin")]
    UserTotpBegin,
    /// A TOTP enrolment code checked.
    #[strum(serialize = "user.totp.confirm")]
    UserTotpConfirm,
    /// TOTP enabled after a confirmed enrolment.
    #[strum(serialize = "user.totp.enable")]
    UserTotpEnable,
    /// TOTP disabled.
    #[strum(serialize = "user.totp.disable")]
    UserTotpDisable,
    /// An administrator reset a user's TOTP.
    #[strum(serialize = "user.totp.reset")]
    UserTotpReset,
    /// A recovery code used in place of a TOTP code.
    #[strum(serialize = "user.recovery_code.use")]
    UserRecoveryCodeUse,
    /// A user's recovery codes replaced.
    #[strum(serialize = "user.recovery_codes.regenerate")]
    UserRecoveryCodesRegenerate,
    /// A client certificate registered for a user.
    #[strum(serialize = "user.certificate.register")]
    UserCertificateRegister,
    /// A user's client certificate removed.
    #[strum(serialize = "user.certificate.remove")]
    UserCertificateRemove,
    // Domains and roles
    /// A domain created.
    #[strum(serialize = "domain.create")]
    DomainCreate,
    /// A domain deleted.
    #[strum(serialize = "domain.delete")]
    DomainDelete,
    /// A role created.
    #[strum(serialize = "role.create")]
    RoleCreate,
    /// A role's "requires a second factor" setting changed.
    #[strum(serialize = "role.require_mfa")]
    RoleRequireMfa,
    /// A role deleted.
    #[strum(serialize = "role.delete")]
    RoleDelete,
    // Settings
    /// The inventory settings changed.
    #[strum(serialize = "settings.inventory.update")]
    SettingsInventoryUpdate,
    /// The password policy changed.
    #[strum(serialize = "settings.password_policy.update")]
    SettingsPasswordPolicyUpdate,
    /// The mail (SMTP) settings changed.
    #[strum(serialize = "settings.smtp.update")]
    SettingsSmtpUpdate,
    /// A test mail sent with the SMTP settings.
    #[strum(serialize = "settings.smtp.test")]
    SettingsSmtpTest,
    /// A webhook created.
    #[strum(serialize = "webhook.create")]
    WebhookCreate,
    /// A webhook deleted.
    #[strum(serialize = "webhook.delete")]
    WebhookDelete,
    /// A webhook delivery attempted (the detail names the event and the result).
    #[strum(serialize = "webhook.deliver")]
    WebhookDeliver,
    // Vault and system key
    /// A new data key created in the vault.
    #[strum(serialize = "vault.data_key.create")]
    VaultDataKeyCreate,
    /// The vault's data keys re-wrapped under a new master key.
    #[strum(serialize = "vault.master_key.rotate")]
    VaultMasterKeyRotate,
    /// Tumbler's system SSH key generated.
    #[strum(serialize = "system_key.generate")]
    SystemKeyGenerate,
    /// Tumbler's system SSH key exported.
    #[strum(serialize = "system_key.export")]
    SystemKeyExport,
    /// A new system key staged and its installation job started.
    #[strum(serialize = "system_key.regenerate")]
    SystemKeyRegenerate,
    /// A system key installation job finished.
    #[strum(serialize = "system_key.regenerated")]
    SystemKeyRegenerated,
    /// A device's system-key conflict resolved.
    #[strum(serialize = "key_conflict.resolve")]
    KeyConflictResolve,
    // Inventory
    /// A node of the asset tree created.
    #[strum(serialize = "node.create")]
    NodeCreate,
    /// A node renamed or moved.
    #[strum(serialize = "node.update")]
    NodeUpdate,
    /// A node deleted.
    #[strum(serialize = "node.delete")]
    NodeDelete,
    /// An asset created.
    #[strum(serialize = "asset.create")]
    AssetCreate,
    /// An asset's fields changed.
    #[strum(serialize = "asset.update")]
    AssetUpdate,
    /// An asset deleted.
    #[strum(serialize = "asset.delete")]
    AssetDelete,
    /// An asset's address, port or pinned host key changed.
    #[strum(serialize = "asset.relocate")]
    AssetRelocate,
    /// An asset's TLS mode or pinned certificate changed.
    #[strum(serialize = "asset.connection_security")]
    AssetConnectionSecurity,
    /// An asset's reconcile account chosen or cleared.
    #[strum(serialize = "asset.reconcile_account")]
    AssetReconcileAccount,
    /// A relocated asset's new identity accepted.
    #[strum(serialize = "asset.location.accept")]
    AssetLocationAccept,
    /// An asset's host key acknowledged.
    #[strum(serialize = "asset.host_key.acknowledge")]
    AssetHostKeyAcknowledge,
    /// A connection test against an asset.
    #[strum(serialize = "asset.test")]
    AssetTest,
    /// An asset's authentication status moved (password, system key, conflict).
    #[strum(serialize = "asset.auth_status")]
    AssetAuthStatus,
    /// An asset's authentication changed by hand.
    #[strum(serialize = "asset.authentication.modify")]
    AssetAuthenticationModify,
    /// Assets exported as CSV.
    #[strum(serialize = "asset.export")]
    AssetExport,
    /// An account created.
    #[strum(serialize = "account.create")]
    AccountCreate,
    /// An account's fields changed.
    #[strum(serialize = "account.update")]
    AccountUpdate,
    /// An account deleted.
    #[strum(serialize = "account.delete")]
    AccountDelete,
    /// An account marked protected.
    #[strum(serialize = "account.protect")]
    AccountProtect,
    /// An account's protection removed.
    #[strum(serialize = "account.unprotect")]
    AccountUnprotect,
    /// An account's secret revealed.
    #[strum(serialize = "account.reveal")]
    AccountReveal,
    /// An account's secret verified against its asset.
    #[strum(serialize = "account.verify")]
    AccountVerify,
    /// Accounts exported as CSV (with or without secrets).
    #[strum(serialize = "account.export")]
    AccountExport,
    /// Assets imported from CSV.
    #[strum(serialize = "asset.import")]
    AssetImport,
    /// Accounts imported from CSV.
    #[strum(serialize = "account.import")]
    AccountImport,
    // Jobs: one event per device (see [`AuditAction::job_device`])
    /// A device's outcome in a job switching authentication.
    #[strum(serialize = "modify_authentication.device")]
    ModifyAuthenticationDevice,
    /// A device's outcome in a job installing a regenerated system key.
    #[strum(serialize = "regenerate_key.device")]
    RegenerateKeyDevice,
    /// A device's outcome in a job resolving key conflicts.
    #[strum(serialize = "resolve_key_conflict.device")]
    ResolveKeyConflictDevice,
    // Change engine
    /// A change-secret task created.
    #[strum(serialize = "change_task.create")]
    ChangeTaskCreate,
    /// A change-secret task changed.
    #[strum(serialize = "change_task.update")]
    ChangeTaskUpdate,
    /// A change-secret task copied.
    #[strum(serialize = "change_task.copy")]
    ChangeTaskCopy,
    /// A change-secret task deleted.
    #[strum(serialize = "change_task.delete")]
    ChangeTaskDelete,
    /// A change-secret task run (by hand, by schedule or as a retry).
    #[strum(serialize = "change_task.execute")]
    ChangeTaskExecute,
    /// A change-secret execution finished.
    #[strum(serialize = "change_execution.finish")]
    ChangeExecutionFinish,
    /// A finished execution's report mailed.
    #[strum(serialize = "change_execution.notify")]
    ChangeExecutionNotify,
    /// An execution's records downloaded as CSV.
    #[strum(serialize = "change_execution.report")]
    ChangeExecutionReport,
    /// An interrupted execution recovered at start-up.
    #[strum(serialize = "change_execution.recover")]
    ChangeExecutionRecover,
    /// An action taken on a change-secret record (retry, verify, ignore, adopt).
    #[strum(serialize = "change_record.action")]
    ChangeRecordAction,
    /// A record's new secret adopted as the account's current one.
    #[strum(serialize = "change_record.adopt")]
    ChangeRecordAdopt,
    /// A record's old and new secrets revealed.
    #[strum(serialize = "change_record.reveal")]
    ChangeRecordReveal,
    /// An account's secret changed on its target (or the attempt failed).
    #[strum(serialize = "account.change")]
    AccountChange,
    /// A new secret staged for an account before it is pushed.
    #[strum(serialize = "account.change.stage")]
    AccountChangeStage,
    /// An account's outcome restored from the escrow journal.
    #[strum(serialize = "account.change.replay")]
    AccountChangeReplay,
    /// An account's secret found to differ from the stored one.
    #[strum(serialize = "account.drift")]
    AccountDrift,
    /// An account's secret reset through its asset's reconcile account.
    #[strum(serialize = "account.reconcile")]
    AccountReconcile,
}

impl AuditAction {
    /// The stored name, the one the chain hashes.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The event recording one device's outcome in a job of `kind`: `<kind>.device`.
    pub fn job_device(kind: JobKind) -> Self {
        match kind {
            JobKind::ModifyAuthentication => Self::ModifyAuthenticationDevice,
            JobKind::RegenerateKey => Self::RegenerateKeyDevice,
            JobKind::ResolveKeyConflict => Self::ResolveKeyConflictDevice,
        }
    }

    /// The action stored as `name`, if this version knows it.
    pub fn parse(name: &str) -> Option<Self> {
        name.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    /// Every action with the literal its call site wrote before the enum existed. A stored
    /// name is part of the chain's hash: this table must only ever grow.
    const STORED: &[(AuditAction, &str)] = &[
        (AuditAction::AuditChainKeyed, "audit.chain.keyed"),
        (AuditAction::AuditExport, "audit.export"),
        (AuditAction::AuthLogin, "auth.login"),
        (AuditAction::AuthBasic, "auth.basic"),
        (AuditAction::AuthCertificate, "auth.certificate"),
        (AuditAction::AuthLogout, "auth.logout"),
        (AuditAction::AuthSessionCreate, "auth.session.create"),
        (AuditAction::AuthSessionEnd, "auth.session.end"),
        (AuditAction::AuthThrottled, "auth.throttled"),
        (AuditAction::TokenCreate, "token.create"),
        (AuditAction::TokenRevoke, "token.revoke"),
        (AuditAction::UserCreate, "user.create"),
        (AuditAction::UserUpdate, "user.update"),
        (AuditAction::UserDelete, "user.delete"),
        (AuditAction::UserUnlock, "user.unlock"),
        (AuditAction::UserActiveDomain, "user.active_domain"),
        (AuditAction::UserObjectVisibility, "user.object_visibility"),
        (AuditAction::UserPasswordChange, "user.password.change"),
        (AuditAction::UserPasswordExpire, "user.password.expire"),
        (AuditAction::UserPasswordReset, "user.password.reset"),
        (AuditAction::UserTotpBegin, "user.totp.begin"),
        (AuditAction::UserTotpConfirm, "user.totp.confirm"),
        (AuditAction::UserTotpEnable, "user.totp.enable"),
        (AuditAction::UserTotpDisable, "user.totp.disable"),
        (AuditAction::UserTotpReset, "user.totp.reset"),
        (AuditAction::UserRecoveryCodeUse, "user.recovery_code.use"),
        (
            AuditAction::UserRecoveryCodesRegenerate,
            "user.recovery_codes.regenerate",
        ),
        (
            AuditAction::UserCertificateRegister,
            "user.certificate.register",
        ),
        (
            AuditAction::UserCertificateRemove,
            "user.certificate.remove",
        ),
        (AuditAction::DomainCreate, "domain.create"),
        (AuditAction::DomainDelete, "domain.delete"),
        (AuditAction::RoleCreate, "role.create"),
        (AuditAction::RoleRequireMfa, "role.require_mfa"),
        (AuditAction::RoleDelete, "role.delete"),
        (
            AuditAction::SettingsInventoryUpdate,
            "settings.inventory.update",
        ),
        (
            AuditAction::SettingsPasswordPolicyUpdate,
            "settings.password_policy.update",
        ),
        (AuditAction::SettingsSmtpUpdate, "settings.smtp.update"),
        (AuditAction::SettingsSmtpTest, "settings.smtp.test"),
        (AuditAction::WebhookCreate, "webhook.create"),
        (AuditAction::WebhookDelete, "webhook.delete"),
        (AuditAction::WebhookDeliver, "webhook.deliver"),
        (AuditAction::VaultDataKeyCreate, "vault.data_key.create"),
        (AuditAction::VaultMasterKeyRotate, "vault.master_key.rotate"),
        (AuditAction::SystemKeyGenerate, "system_key.generate"),
        (AuditAction::SystemKeyExport, "system_key.export"),
        (AuditAction::SystemKeyRegenerate, "system_key.regenerate"),
        (AuditAction::SystemKeyRegenerated, "system_key.regenerated"),
        (AuditAction::KeyConflictResolve, "key_conflict.resolve"),
        (AuditAction::NodeCreate, "node.create"),
        (AuditAction::NodeUpdate, "node.update"),
        (AuditAction::NodeDelete, "node.delete"),
        (AuditAction::AssetCreate, "asset.create"),
        (AuditAction::AssetUpdate, "asset.update"),
        (AuditAction::AssetDelete, "asset.delete"),
        (AuditAction::AssetRelocate, "asset.relocate"),
        (
            AuditAction::AssetConnectionSecurity,
            "asset.connection_security",
        ),
        (
            AuditAction::AssetReconcileAccount,
            "asset.reconcile_account",
        ),
        (AuditAction::AssetLocationAccept, "asset.location.accept"),
        (
            AuditAction::AssetHostKeyAcknowledge,
            "asset.host_key.acknowledge",
        ),
        (AuditAction::AssetTest, "asset.test"),
        (AuditAction::AssetAuthStatus, "asset.auth_status"),
        (
            AuditAction::AssetAuthenticationModify,
            "asset.authentication.modify",
        ),
        (AuditAction::AssetExport, "asset.export"),
        (AuditAction::AccountCreate, "account.create"),
        (AuditAction::AccountUpdate, "account.update"),
        (AuditAction::AccountDelete, "account.delete"),
        (AuditAction::AccountProtect, "account.protect"),
        (AuditAction::AccountUnprotect, "account.unprotect"),
        (AuditAction::AccountReveal, "account.reveal"),
        (AuditAction::AccountVerify, "account.verify"),
        (AuditAction::AccountExport, "account.export"),
        (AuditAction::AssetImport, "asset.import"),
        (AuditAction::AccountImport, "account.import"),
        (
            AuditAction::ModifyAuthenticationDevice,
            "modify_authentication.device",
        ),
        (AuditAction::RegenerateKeyDevice, "regenerate_key.device"),
        (
            AuditAction::ResolveKeyConflictDevice,
            "resolve_key_conflict.device",
        ),
        (AuditAction::ChangeTaskCreate, "change_task.create"),
        (AuditAction::ChangeTaskUpdate, "change_task.update"),
        (AuditAction::ChangeTaskCopy, "change_task.copy"),
        (AuditAction::ChangeTaskDelete, "change_task.delete"),
        (AuditAction::ChangeTaskExecute, "change_task.execute"),
        (
            AuditAction::ChangeExecutionFinish,
            "change_execution.finish",
        ),
        (
            AuditAction::ChangeExecutionNotify,
            "change_execution.notify",
        ),
        (
            AuditAction::ChangeExecutionReport,
            "change_execution.report",
        ),
        (
            AuditAction::ChangeExecutionRecover,
            "change_execution.recover",
        ),
        (AuditAction::ChangeRecordAction, "change_record.action"),
        (AuditAction::ChangeRecordAdopt, "change_record.adopt"),
        (AuditAction::ChangeRecordReveal, "change_record.reveal"),
        (AuditAction::AccountChange, "account.change"),
        (AuditAction::AccountChangeStage, "account.change.stage"),
        (AuditAction::AccountChangeReplay, "account.change.replay"),
        (AuditAction::AccountDrift, "account.drift"),
        (AuditAction::AccountReconcile, "account.reconcile"),
    ];

    #[test]
    fn every_stored_name_is_the_literal_written_before() {
        for (action, name) in STORED {
            assert_eq!(action.as_str(), *name);
            assert_eq!(action.to_string(), *name);
            assert_eq!(AuditAction::parse(name), Some(*action));
        }
        assert_eq!(STORED.len(), AuditAction::iter().count());
        for action in AuditAction::iter() {
            assert!(
                STORED.iter().any(|(a, _)| *a == action),
                "{action:?} missing"
            );
        }
    }

    #[test]
    fn a_job_device_event_is_named_after_its_kind() {
        for kind in JobKind::iter() {
            assert_eq!(
                AuditAction::job_device(kind).as_str(),
                format!("{kind}.device")
            );
        }
    }

    #[test]
    fn unknown_names_do_not_parse() {
        assert_eq!(AuditAction::parse("legacy.event"), None);
        assert_eq!(AuditAction::parse("AUTH.LOGIN"), None);
        assert_eq!(AuditAction::parse(""), None);
    }
}
