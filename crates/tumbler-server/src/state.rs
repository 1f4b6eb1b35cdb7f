//! What every handler can reach: the services, metrics and server facts.

use crate::metrics::Metrics;
use std::sync::Arc;
use tumbler_core::{
    AuditService, AuthService, CertificateService, ChangeSecretService, DeviceKeyService,
    DomainService, InventoryService, MailService, PolicyService, RoleService, UserService, Vault,
    WebhookService,
};
use tumbler_store::Store;

/// Shared state of the HTTP layer.
#[derive(Clone)]
pub struct AppState {
    /// Authentication and own-account operations.
    pub auth: AuthService,
    /// Audit log reads and verification.
    pub audit: AuditService,
    /// User management.
    pub users: UserService,
    /// Role management.
    pub roles: RoleService,
    /// Domains.
    pub domains: DomainService,
    /// The password policy.
    pub policy: PolicyService,
    /// Users' client certificates.
    pub certificates: CertificateService,
    /// Nodes, assets and accounts.
    pub inventory: InventoryService,
    /// Change-secret tasks, executions and records.
    pub change_secret: ChangeSecretService,
    /// SMTP settings and outgoing mail.
    pub mail: MailService,
    /// Webhooks.
    pub webhooks: WebhookService,
    /// The system key, device authentication and their jobs.
    pub device_keys: DeviceKeyService,
    /// The vault.
    pub vault: Vault,
    /// The store (readiness checks only; handlers call services).
    pub store: Store,
    /// The Prometheus metrics (this server's own recorder).
    pub metrics: Arc<Metrics>,
    /// Whether the server speaks HTTPS (cookies get `Secure`).
    pub tls: bool,
    /// Open log streams per user.
    pub streams: Arc<crate::streams::StreamSlots>,
}
