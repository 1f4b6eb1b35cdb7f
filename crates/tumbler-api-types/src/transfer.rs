//! CSV import and export of assets and accounts: the import report and the export request.

use serde::{Deserialize, Serialize};

/// One refused row.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProblemOut {
    /// Line in the file (1 is the header).
    pub line: u64,
    /// Column at fault.
    pub field: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// The outcome of an import.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportOut {
    /// Rows stored.
    pub imported: usize,
    /// Rows refused and skipped.
    pub skipped: usize,
    /// Every refused row.
    pub problems: Vec<ProblemOut>,
}

/// `POST /api/v1/accounts/export` body.
// No `Debug`: `totp` may be a recovery code.
#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExportAccounts {
    /// Put each current secret in the `secret` column (needs the export permission and
    /// `totp`).
    #[serde(default)]
    pub include_secrets: bool,
    /// A fresh TOTP code, when secrets are included.
    pub totp: Option<String>,
}
