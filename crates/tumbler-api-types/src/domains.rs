//! Domains: the groups that assets, accounts and users belong to.

use serde::{Deserialize, Serialize};

/// A domain as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DomainOut {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// What it groups.
    pub description: String,
}

/// `POST /api/v1/domains` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateDomain {
    /// Name.
    pub name: String,
    /// What it groups.
    #[serde(default)]
    pub description: String,
}
