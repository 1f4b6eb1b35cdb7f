//! Assets and accounts (never a secret).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tumbler_domain::inventory::{
    AccountStatus, AuthStatus, Connectivity, HostKeyStatus, SecretType, TlsMode,
};

/// An asset as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetOut {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Host name or IP address.
    pub address: String,
    /// Port.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 65535))]
    pub port: u16,
    /// Platform id.
    pub platform: String,
    /// Node paths.
    pub nodes: Vec<String>,
    /// Domain name.
    pub domain: String,
    /// Free text.
    pub comment: String,
    /// Whether Tumbler could reach it the last time it tried.
    pub connectivity: Connectivity,
    /// The last connection error.
    pub connectivity_error: String,
    /// When connectivity was last tested.
    pub connectivity_checked_at: Option<DateTime<Utc>>,
    /// The pinned host key (`SHA256:...`).
    pub host_key_fingerprint: Option<String>,
    /// The different key the asset presented, while in `fingerprint_conflict` (or `relocated`).
    pub presented_host_key_fingerprint: Option<String>,
    /// `unverified`, `verified`, `fingerprint_conflict` or `relocated` (moved: no secret is
    /// sent until someone with `secrets_reveal` accepts the new location with a TOTP code).
    pub host_key_status: HostKeyStatus,
    /// How Tumbler logs in to the device: with passwords or with its key.
    pub auth_status: AuthStatus,
    /// The device admin user Tumbler logs in as in a key mode (empty otherwise).
    pub auth_username: String,
    /// Secrets go to this SSH host while its key is not acknowledged (trust on first use).
    pub trust_on_first_use: bool,
    /// Database TLS: `disable` (loopback only), `require` (loopback only) or `verify_full`.
    pub tls_mode: TlsMode,
    /// The CA certificate(s) (PEM) the database's certificate must chain to, if set.
    pub tls_ca_pem: Option<String>,
    /// Redis: AUTH may travel in clear to this non-loopback address.
    pub plaintext_auth_allowed: bool,
    /// The account that reconciles the asset's other accounts (`null`: the privileged
    /// account).
    pub reconcile_account_id: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An account as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountOut {
    /// Id.
    pub id: String,
    /// The asset's id.
    pub asset_id: String,
    /// The asset's name.
    pub asset_name: String,
    /// Login name.
    pub username: String,
    /// A password or an SSH key.
    pub secret_type: SecretType,
    /// The account used to change others on its asset.
    pub privileged: bool,
    /// Platform options.
    pub options: BTreeMap<String, String>,
    /// The account's health.
    pub status: AccountStatus,
    /// Why, when not ok.
    pub status_reason: String,
    /// The version of the secret in use.
    pub secret_version: i64,
    /// When the secret was last verified.
    pub last_verified_at: Option<DateTime<Utc>>,
    /// When the secret was last changed.
    pub last_changed_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// The outcome of `verify`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyOut {
    /// Whether the login with the stored secret succeeded.
    pub ok: bool,
    /// Why not (`auth_failed`, `host_key_unverified`, `host_key_mismatch`, `unreachable`...).
    pub code: Option<String>,
    /// Human text.
    pub message: String,
    /// The account as recorded.
    pub account: AccountOut,
}

/// `POST /api/v1/assets` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateAsset {
    /// Name, unique in its domain.
    pub name: String,
    /// Host name or IP address.
    pub address: String,
    /// Port (the platform's default when absent).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 65535))]
    pub port: Option<i64>,
    /// Platform id (`GET /api/v1/platforms`).
    pub platform: String,
    /// Node paths (`/Default` when empty); missing nodes are created.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// Domain name (your active domain when absent).
    pub domain: Option<String>,
    /// Free text.
    #[serde(default)]
    pub comment: String,
    /// The SSH host key fingerprint from a trusted source: the asset starts `verified`.
    pub host_key_fingerprint: Option<String>,
    /// Send secrets to the SSH host while its key is not acknowledged (administrators only;
    /// off by default).
    pub trust_on_first_use: Option<bool>,
    /// Database TLS: `disable` or `require` (loopback addresses only) or `verify_full`
    /// (the default for other addresses).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<TlsMode>))]
    pub tls_mode: Option<String>,
    /// CA certificate(s) (PEM, at most 64 KiB and 16 certificates) for `verify_full`; the
    /// system's roots when absent. Replacing it is for administrators.
    pub tls_ca_pem: Option<String>,
    /// Redis: allow AUTH in clear to a non-loopback address (administrators only).
    pub plaintext_auth_allowed: Option<bool>,
}

/// `POST /api/v1/accounts` body.
// No `Debug`: the secret must never reach a log.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    /// The asset.
    pub asset_id: String,
    /// Login name.
    pub username: String,
    /// `password` (default) or `ssh_key`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<SecretType>))]
    pub secret_type: Option<String>,
    /// The password or OpenSSH private key (write-only).
    pub secret: String,
    /// The account used to change others on its asset.
    #[serde(default)]
    pub privileged: bool,
    /// Platform options (`become`: sudo|su|none, `shell`, `database`...).
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, String>,
    /// A fresh TOTP code: needed (with `protected_accounts_manage`) to create a privileged
    /// account.
    pub totp: Option<String>,
}
