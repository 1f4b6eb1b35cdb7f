//! Roles: named sets of permissions, built in or custom.

use serde::{Deserialize, Serialize};
use tumbler_domain::permission::Role;

/// A role as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleOut {
    /// Name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Permission names.
    pub permissions: Vec<String>,
    /// Built-in roles cannot be changed or deleted.
    pub builtin: bool,
    /// Holders must log in with a TOTP code.
    pub require_mfa: bool,
}

impl From<Role> for RoleOut {
    fn from(r: Role) -> Self {
        Self {
            permissions: r
                .permissions
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            name: r.name,
            description: r.description,
            builtin: r.builtin,
            require_mfa: r.require_mfa,
        }
    }
}

/// `POST /api/v1/roles` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateRole {
    /// Name: lowercase letters, digits, `-`, `_`.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Permission names.
    pub permissions: Vec<String>,
    /// Holders must log in with a TOTP code.
    #[serde(default)]
    pub require_mfa: bool,
}

/// `PUT /api/v1/roles/{name}/mfa` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleMfa {
    /// Whether holders must log in with a TOTP code.
    pub require_mfa: bool,
}
