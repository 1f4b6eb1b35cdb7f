//! Permissions and roles. Services check permissions; roles are named sets of them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One thing a user may be allowed to do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Permission {
    /// See users, their status and sessions.
    UsersRead,
    /// Create, edit, disable, delete and unlock users; end their sessions.
    UsersManage,
    /// Create and delete custom roles, require MFA for a role.
    RolesManage,
    /// Read the audit log.
    AuditRead,
    /// Change server settings (password policy, SMTP...).
    SettingsManage,
    /// See assets and accounts (never their secrets).
    AssetsRead,
    /// Create, edit and delete assets and accounts.
    AssetsManage,
    /// Create and run change-secret tasks.
    ChangesRun,
    /// Reveal a stored secret (with a fresh TOTP code).
    SecretsReveal,
    /// Export secrets (with a fresh TOTP code).
    SecretsExport,
    /// Take an account out of secure mode's protection: clear its privileged flag, rename a
    /// root or administrator account, delete a protected account (with a fresh TOTP code).
    ProtectedAccountsManage,
    /// Save change tasks whose custom SSH template types a stored secret (`{login_secret}`,
    /// `{privilege_secret}`) or applies to non-network platforms (linux, unix).
    SecretTemplatesManage,
}

impl Permission {
    /// Every permission, in a stable order (the order they are declared in).
    pub const ALL: &'static [Permission] = <Self as strum::VariantArray>::VARIANTS;

    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// A named set of permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Role {
    /// Unique name.
    pub name: String,
    /// What the role is for.
    pub description: String,
    /// What it allows.
    pub permissions: BTreeSet<Permission>,
    /// Built-in roles cannot be deleted or have their permissions changed.
    pub builtin: bool,
    /// Users holding this role must log in with a TOTP code.
    pub require_mfa: bool,
}

/// The name of the built-in role that holds every permission: at least one enabled user
/// must keep it.
pub const ADMIN_ROLE: &str = "admin";

/// The built-in roles: `admin` (everything), `operator` (manages assets and runs changes,
/// never reveals), `auditor` (reads everything but secrets).
pub fn builtin_roles() -> Vec<Role> {
    use Permission::*;
    let role = |name: &str, description: &str, permissions: &[Permission]| Role {
        name: name.to_owned(),
        description: description.to_owned(),
        permissions: permissions.iter().copied().collect(),
        builtin: true,
        require_mfa: false,
    };
    vec![
        role(
            ADMIN_ROLE,
            "Everything, including users, settings and revealing secrets.",
            Permission::ALL,
        ),
        role(
            "operator",
            "Manages assets and accounts and runs changes; never reveals secrets.",
            &[AssetsRead, AssetsManage, ChangesRun],
        ),
        role(
            "auditor",
            "Reads users, assets and the audit log; never secrets.",
            &[UsersRead, AuditRead, AssetsRead],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_builtins_keep_secrets_to_admins() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
            let json = serde_json::to_string(p).expect("json");
            assert_eq!(json, format!("\"{}\"", p.as_str()), "serde and strum agree");
        }
        assert_eq!(Permission::ALL.len(), 12);
        assert_eq!(Permission::parse("UsersRead"), None);
        let roles = builtin_roles();
        let revealers: Vec<_> = roles
            .iter()
            .filter(|r| r.permissions.contains(&Permission::SecretsReveal))
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(revealers, ["admin"]);
        // What could redirect a secret is the administrators' alone by default.
        for p in [
            Permission::ProtectedAccountsManage,
            Permission::SecretTemplatesManage,
        ] {
            let holders: Vec<_> = roles
                .iter()
                .filter(|r| r.permissions.contains(&p))
                .map(|r| r.name.as_str())
                .collect();
            assert_eq!(holders, ["admin"], "{p:?}");
        }
    }
}
