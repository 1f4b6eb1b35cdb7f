//! The system SSH key and the device-key jobs (regenerate, switch authentication, resolve
//! conflicts). The views are defined once in `tumbler-domain` (the services answer with them)
//! and re-exported here.

use serde::{Deserialize, Serialize};

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
