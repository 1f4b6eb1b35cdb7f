//! The system SSH key and the device-key jobs (regenerate, switch authentication, resolve
//! conflicts). The views are defined once in `tumbler-domain` (the services answer with them)
//! and re-exported here.

use serde::{Deserialize, Serialize};
use tumbler_domain::ids::AssetId;

pub use tumbler_domain::job::{JobView, SystemKeyView};

/// A regeneration request: `algorithm` is `ed25519`, `ecdsa` or `rsa` with `bits` (ECDSA 256 or
/// 384, RSA 2048, 3072 or 4096), or a full name such as `ecdsa-p384`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegenerateIn {
    /// The algorithm (default `ed25519`).
    #[serde(default)]
    pub algorithm: Option<String>,
    /// Key size for ECDSA and RSA.
    #[serde(default)]
    pub bits: Option<u32>,
}

/// How key conflicts are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResolveMode {
    /// Install Tumbler's current key with each device admin's password.
    SystemKey,
    /// Log in with an uploaded private key.
    CustomKey,
}

/// One device of a [`ResolveInput`].
// No `Debug`: the admin password must never reach a log.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConflictDevice {
    /// The device.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub asset_id: AssetId,
    /// Its admin user.
    pub admin_user: String,
    /// The admin user's password (system key; used once, never stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub admin_password: Option<String>,
    /// Create the admin user through the privileged account when it does not exist.
    #[serde(default)]
    pub create_user: bool,
    /// Use the stored password of the device's privileged account as the admin password
    /// instead of a typed one (system key; needs `secrets_reveal` and a fresh TOTP code).
    #[serde(default)]
    pub use_stored_password: bool,
}

/// `POST /api/v1/key-conflicts/resolve` body, as a client writes it (the OpenAPI schema
/// `ResolveInput`; the server reads it into core's input, which checks it).
// No `Debug`: the key and passwords must never reach a log.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolveInput {
    /// The way.
    pub mode: ResolveMode,
    /// The devices.
    pub devices: Vec<ConflictDevice>,
    /// The private key (custom key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub private_key: Option<String>,
    /// Its passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub passphrase: Option<String>,
    /// A fresh TOTP code, when a device uses the stored password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<String>,
}
