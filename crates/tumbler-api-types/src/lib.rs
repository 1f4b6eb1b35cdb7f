//! The bodies of Tumbler's JSON API (`/api/v1`), written once: the server answers with these
//! types (and, with the `openapi` feature, describes them in its OpenAPI document), and the
//! `tumbler` CLI and the tests read the answers into them, so a renamed field fails to
//! compile instead of failing at run time.
//!
//! Modules follow the API's areas: [`auth`] (the login answer and who am I), [`users`] (users,
//! API tokens and password resets), [`roles`], [`certificates`] (client certificates),
//! [`inventory`] (assets and accounts), [`nodes`] (the node tree), [`transfer`] (CSV import and
//! export), [`device_keys`] (the system key and device-key jobs), [`change_secret`] (tasks,
//! executions, records), [`overview`] (the dashboard and its attention list), [`retries`] and
//! [`reconcile`] (what a bulk retry or reconcile did), [`domains`], [`totp`], [`settings`]
//! (password policy, SMTP),
//! [`webhooks`] and [`answers`] (small answers such as "a job started").
//! Ids and vocabularies come from `tumbler-domain`.

pub mod answers;
pub mod audit;
pub mod auth;
pub mod certificates;
pub mod change_secret;
pub mod device_keys;
pub mod domains;
pub mod inventory;
pub mod nodes;
pub mod overview;
pub mod reconcile;
pub mod retries;
pub mod roles;
pub mod settings;
pub mod totp;
pub mod transfer;
pub mod users;
pub mod webhooks;

use serde::{Deserialize, Serialize};

/// A page of a list: `{"items": [...], "total": N}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// How many items match in all.
    pub total: i64,
}

/// An error answer: `{"error": {"code": ..., "message": ...}}` (read side; the server writes
/// it in `tumbler-server`'s `error` module, with optional details).
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorAnswer {
    /// The error.
    pub error: ErrorDetail,
}

/// The code and message of an [`ErrorAnswer`].
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorDetail {
    /// A stable code (`not_found`, `invalid_request`...).
    pub code: String,
    /// For people.
    pub message: String,
    /// More, for some codes.
    #[serde(default)]
    pub details: Option<ErrorDetails>,
}

/// The details of an error answer: the offending field of `invalid_request`, and what else a
/// code carries (policy `violations`, import `problems`).
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorDetails {
    /// The request field that was refused.
    #[serde(default)]
    pub field: Option<String>,
    /// Anything else, as sent.
    #[serde(flatten)]
    pub more: serde_json::Map<String, serde_json::Value>,
}

/// A page holding a whole list: `total` is how many were collected.
impl<T> FromIterator<T> for Page<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let items: Vec<T> = iter.into_iter().collect();
        let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
        Self { items, total }
    }
}
