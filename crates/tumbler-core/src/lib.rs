//! Tumbler's services. The HTTP API, the console and the CLI all call these; no business rule
//! lives above this crate.

pub mod audit;
pub mod audit_chain;
pub mod auth;
pub mod certificates;
pub mod change_secret;
pub mod csv_cells;
pub mod device_keys;
pub mod domains;
pub mod escrow;
pub mod failure;
mod hashing;
pub mod inventory;
pub mod mail;
pub mod master_key;
pub mod policy;
pub mod roles;
mod throttle;
pub mod users;
pub mod vault;
pub mod webhooks;

pub use audit::{AuditError, AuditService, ChainReport};
pub use auth::{
    enrolment_uri, AuthError, AuthMethod, AuthService, AuthSettings, Principal, Reauthentication,
    TotpStatus, MAX_USERNAME_CHARS,
};
pub use certificates::{CertificateError, CertificateService};
pub use change_secret::{ChangeSecretError, ChangeSecretService, EngineSettings};
pub use device_keys::{DeviceKeyError, DeviceKeyService};
pub use domains::{DomainError, DomainService};
pub use escrow::Escrow;
pub use failure::{ErrorKind, ServiceFailure};
pub use inventory::{InventoryError, InventoryService};
pub use mail::{MailService, MailServiceError};
pub use master_key::{MasterKeyError, MasterKeySource};
pub use policy::{PolicyError, PolicyService};
pub use roles::{RoleError, RoleService};
pub use users::{UserError, UserService};
pub use vault::{Vault, VaultError};
pub use webhooks::{WebhookService, WebhookServiceError};

use tumbler_domain::audit::{AuditAction, NewAuditEvent, Outcome};

/// Where a request came from, for audit events and throttling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    /// Remote address, or `host` for commands run on the server's machine.
    pub source: String,
}

impl RequestOrigin {
    /// A command run on the server's host (CLI admin commands).
    pub fn host() -> Self {
        Self {
            source: "host".to_owned(),
        }
    }
}

/// Builds an audit event; keeps call sites short and uniform.
pub(crate) fn event(
    actor: &str,
    action: AuditAction,
    object: (&str, &str),
    outcome: Outcome,
    origin: &RequestOrigin,
    detail: impl Into<String>,
) -> NewAuditEvent {
    NewAuditEvent {
        actor: actor.to_owned(),
        action,
        object_kind: object.0.to_owned(),
        object_id: object.1.to_owned(),
        outcome,
        source: origin.source.clone(),
        detail: detail.into(),
    }
}

/// Appends the caller's successful `action` on `object` to the audit chain in `tx`, then
/// commits `tx`: the change and its audit record land together.
pub(crate) async fn commit_audited(
    mut tx: tumbler_store::Tx,
    principal: &Principal,
    action: AuditAction,
    object: (&str, &str),
    origin: &RequestOrigin,
    detail: impl Into<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), tumbler_store::StoreError> {
    tx.append_audit(
        &event(
            &principal.user.username,
            action,
            object,
            Outcome::Success,
            origin,
            detail,
        ),
        now,
    )
    .await?;
    tx.commit().await
}
