//! The caller's second factor: a started TOTP enrolment and recovery codes.

use serde::{Deserialize, Serialize};

/// A started enrolment.
// No `Debug`: the secret must never reach a log.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolmentOut {
    /// The secret in base32, for typing into an app.
    pub secret: String,
    /// The `otpauth://` URI.
    pub otpauth_uri: String,
    /// The URI as a QR code (SVG).
    pub qr_svg: String,
}

/// Recovery codes, shown once.
// No `Debug`: the codes must never reach a log.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodesOut {
    /// One-time recovery codes.
    pub recovery_codes: Vec<String>,
}

/// Where the caller's two-factor authentication stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpStatusOut {
    /// Logins and sensitive actions ask for a code.
    pub enabled: bool,
    /// An enrolment awaits its first code (starting again shows the same secret).
    pub pending: bool,
    /// Unused recovery codes left.
    pub recovery_codes_left: usize,
    /// A role requires two-factor authentication, so it cannot be turned off.
    pub required_by_role: bool,
}
