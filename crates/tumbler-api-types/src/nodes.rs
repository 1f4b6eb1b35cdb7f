//! The node tree that assets are filed in.

use serde::{Deserialize, Serialize};

/// A node as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeOut {
    /// Id.
    pub id: String,
    /// Full path, e.g. `/Default/Prod/DB`.
    pub path: String,
    /// Its own name.
    pub name: String,
    /// Parent node id.
    pub parent_id: Option<String>,
    /// Assets directly in it (in your visible domains).
    pub assets: i64,
    /// Assets in it and below it (in your visible domains).
    pub assets_in_subtree: i64,
}

/// `POST /api/v1/nodes` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateNode {
    /// Full path; missing ancestors are created.
    pub path: String,
}

/// `PATCH /api/v1/nodes/{id}` body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PatchNode {
    /// New name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New parent path; `"/"` makes it a top-level node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}
