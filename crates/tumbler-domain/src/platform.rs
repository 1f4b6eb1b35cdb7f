//! The platform catalogue: for each kind of asset, the protocol and port, how an account is
//! verified, how its secret is changed and which options it takes. It is data: code asks the
//! catalogue, never matches on a platform's name.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How Tumbler talks to an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Protocol {
    /// SSH (host key pinned on first contact).
    Ssh,
    /// The PostgreSQL wire protocol.
    Postgresql,
    /// The MySQL/MariaDB wire protocol.
    Mysql,
    /// The Redis protocol (RESP).
    Redis,
}

impl Protocol {
    /// The serialised name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How an account's secret is proved to work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum VerifyMethod {
    /// An SSH login with the password or private key.
    SshLogin,
    /// A PostgreSQL login (SCRAM or MD5, as the server asks).
    PostgresqlLogin,
    /// A MySQL/MariaDB login.
    MysqlLogin,
    /// A Redis `AUTH username password`.
    RedisAuth,
}

/// How an account's secret is changed on the target (the change engine implements these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChangeMethod {
    /// `chpasswd` with the new password on standard input, through sudo or su when asked.
    UnixChpasswd,
    /// `authorized_keys`: add the new public key, verify, remove the old one.
    UnixAuthorizedKeys,
    /// `ALTER ROLE ... PASSWORD` with a SCRAM verifier computed by Tumbler.
    PostgresqlAlterRole,
    /// `ALTER USER ... IDENTIFIED BY`.
    MysqlAlterUser,
    /// `ACL SETUSER`: add the new password, verify, remove the old one.
    RedisAclSetuser,
    /// A command template with expected prompts and answers.
    CustomSsh,
}

/// Which secret types an account on the platform may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SecretKinds {
    /// Passwords only.
    Password,
    /// Passwords or SSH private keys.
    PasswordOrSshKey,
}

/// One option an account on the platform takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlatformOption {
    /// The option's key in an account's `options`.
    pub name: &'static str,
    /// What it does, for people.
    pub description: &'static str,
    /// The values it accepts; empty means free text checked by `validate_option_value`.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub values: &'static [&'static str],
    /// The value when none is given.
    pub default: &'static str,
}

/// A kind of asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Platform {
    /// Stable id (`linux`, `postgresql`...).
    pub id: &'static str,
    /// Name for people.
    pub name: &'static str,
    /// How Tumbler connects.
    pub protocol: Protocol,
    /// The usual port.
    pub default_port: u16,
    /// Whether usernames follow Unix rules (and are refused with shell metacharacters).
    pub unix_like: bool,
    /// Which secret types accounts may hold.
    pub secret_kinds: SecretKinds,
    /// How an account is verified.
    pub verify: VerifyMethod,
    /// How secrets are changed, in order of preference.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<ChangeMethod>))]
    pub change: &'static [ChangeMethod],
    /// Options an account on this platform takes.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<PlatformOption>))]
    pub options: &'static [PlatformOption],
    /// A caveat for people (empty when none).
    pub note: &'static str,
}

const BECOME: PlatformOption = PlatformOption {
    name: "become",
    description: "How the privileged account gains root to change other accounts: sudo, su, or none (it is root already).",
    values: &["sudo", "su", "none"],
    default: "sudo",
};

crate::inventory::vocabulary!(
    /// How a privileged account gains root to change other accounts: its `become` option.
    BecomeMethod {
        /// `sudo`, typing the account's own password.
        Sudo => "sudo",
        /// `su`, typing root's password.
        Su => "su",
        /// None: the account is root already.
        None => "none",
    }
);

/// A `become` value that is none of `sudo`, `su`, `none` (never read as sudo).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("become is {0:?}, which is none of sudo, su, none")]
pub struct UnknownBecomeMethod(pub String);

impl UnknownBecomeMethod {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        "unknown_become_method"
    }
}

impl BecomeMethod {
    /// Reads a `become` option: absent or empty is the default (sudo); any other value must
    /// name a method exactly, or it is refused.
    pub fn from_option(value: Option<&str>) -> Result<Self, UnknownBecomeMethod> {
        match value {
            Option::None | Some("") => Ok(Self::Sudo),
            Some(v) => Self::parse(v).ok_or_else(|| UnknownBecomeMethod(v.to_owned())),
        }
    }
}

/// The shells Tumbler runs commands in as root: fixed system shells only, since the shell is
/// started through sudo or su and any other program would run as root at the caller's choice.
pub const SYSTEM_SHELLS: &[&str] = &[
    "/bin/sh",
    "/usr/bin/sh",
    "/bin/bash",
    "/usr/bin/bash",
    "/bin/dash",
    "/usr/bin/dash",
    "/bin/ksh",
    "/usr/bin/ksh",
    "/bin/zsh",
    "/usr/bin/zsh",
];

const SHELL: PlatformOption = PlatformOption {
    name: "shell",
    description: "The system shell commands run in on the asset as root (/bin/sh, /bin/bash, /bin/dash, /bin/ksh, /bin/zsh or their /usr/bin forms).",
    values: SYSTEM_SHELLS,
    default: "/bin/sh",
};

const PG_DATABASE: PlatformOption = PlatformOption {
    name: "database",
    description: "The database to log in to when verifying the account.",
    values: &[],
    default: "postgres",
};

const CATALOGUE: &[Platform] = &[
    Platform {
        id: "linux",
        name: "Linux",
        protocol: Protocol::Ssh,
        default_port: 22,
        unix_like: true,
        secret_kinds: SecretKinds::PasswordOrSshKey,
        verify: VerifyMethod::SshLogin,
        change: &[ChangeMethod::UnixChpasswd, ChangeMethod::UnixAuthorizedKeys],
        options: &[BECOME, SHELL],
        note: "",
    },
    Platform {
        id: "unix",
        name: "Generic Unix",
        protocol: Protocol::Ssh,
        default_port: 22,
        unix_like: true,
        secret_kinds: SecretKinds::PasswordOrSshKey,
        verify: VerifyMethod::SshLogin,
        change: &[ChangeMethod::UnixChpasswd, ChangeMethod::UnixAuthorizedKeys],
        options: &[BECOME, SHELL],
        note: "",
    },
    Platform {
        id: "postgresql",
        name: "PostgreSQL",
        protocol: Protocol::Postgresql,
        default_port: 5432,
        unix_like: false,
        secret_kinds: SecretKinds::Password,
        verify: VerifyMethod::PostgresqlLogin,
        change: &[ChangeMethod::PostgresqlAlterRole],
        options: &[PG_DATABASE],
        note: "",
    },
    Platform {
        id: "mysql",
        name: "MySQL / MariaDB",
        protocol: Protocol::Mysql,
        default_port: 3306,
        unix_like: false,
        secret_kinds: SecretKinds::Password,
        verify: VerifyMethod::MysqlLogin,
        change: &[ChangeMethod::MysqlAlterUser],
        options: &[],
        note: "",
    },
    Platform {
        id: "redis",
        name: "Redis",
        protocol: Protocol::Redis,
        default_port: 6379,
        unix_like: false,
        secret_kinds: SecretKinds::Password,
        verify: VerifyMethod::RedisAuth,
        change: &[ChangeMethod::RedisAclSetuser],
        options: &[],
        note: "",
    },
    Platform {
        id: "junos",
        name: "Juniper Junos",
        protocol: Protocol::Ssh,
        default_port: 22,
        unix_like: false,
        secret_kinds: SecretKinds::PasswordOrSshKey,
        verify: VerifyMethod::SshLogin,
        change: &[ChangeMethod::CustomSsh],
        options: &[],
        note: UNTESTED_TEMPLATE,
    },
    Platform {
        id: "cisco_ios",
        name: "Cisco IOS",
        protocol: Protocol::Ssh,
        default_port: 22,
        unix_like: false,
        secret_kinds: SecretKinds::Password,
        verify: VerifyMethod::SshLogin,
        change: &[ChangeMethod::CustomSsh],
        options: &[],
        note: UNTESTED_TEMPLATE,
    },
];

const UNTESTED_TEMPLATE: &str = "Password changes use the shipped custom-SSH template, which is written from the vendor's documentation and not tested against real devices: try it on a lab device first, or give the task its own template.";

/// Every platform, in a stable order.
pub fn catalogue() -> &'static [Platform] {
    CATALOGUE
}

/// The platform with this id.
pub fn find(id: &str) -> Option<&'static Platform> {
    CATALOGUE.iter().find(|p| p.id == id)
}

impl Platform {
    /// The option with this name.
    pub fn option(&self, name: &str) -> Option<&'static PlatformOption> {
        self.options.iter().find(|o| o.name == name)
    }

    /// Whether accounts here may hold SSH private keys.
    pub fn allows_ssh_keys(&self) -> bool {
        self.secret_kinds == SecretKinds::PasswordOrSshKey
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_names_agree_with_serde() {
        for p in [
            Protocol::Ssh,
            Protocol::Postgresql,
            Protocol::Mysql,
            Protocol::Redis,
        ] {
            let json = serde_json::to_string(&p).expect("json");
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert_eq!(Protocol::Postgresql.as_str(), "postgresql");
    }

    #[test]
    fn a_become_typo_is_refused_never_read_as_sudo() {
        assert_eq!(BecomeMethod::from_option(Some("su")), Ok(BecomeMethod::Su));
        assert_eq!(
            BecomeMethod::from_option(Some("none")),
            Ok(BecomeMethod::None)
        );
        assert_eq!(
            BecomeMethod::from_option(Some("sudo")),
            Ok(BecomeMethod::Sudo)
        );
        assert_eq!(BecomeMethod::from_option(None), Ok(BecomeMethod::Sudo));
        let typo = BecomeMethod::from_option(Some("suod")).unwrap_err();
        assert_eq!(typo.code(), "unknown_become_method");
        assert!(BecomeMethod::from_option(Some("Su")).is_err());
        // The option's catalogue lists exactly the methods.
        let names: Vec<_> = BecomeMethod::ALL.iter().map(|m| m.as_str()).collect();
        assert_eq!(BECOME.values, names.as_slice());
        assert_eq!(BECOME.default, BecomeMethod::Sudo.as_str());
    }

    #[test]
    fn catalogue_has_the_issue_platforms_with_unique_ids() {
        let ids: Vec<_> = catalogue().iter().map(|p| p.id).collect();
        for id in [
            "linux",
            "unix",
            "postgresql",
            "mysql",
            "redis",
            "junos",
            "cisco_ios",
        ] {
            assert!(ids.contains(&id), "{id}");
        }
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len());
        let linux = find("linux").expect("linux");
        assert_eq!(linux.option("become").map(|o| o.default), Some("sudo"));
        assert!(find("windows").is_none());
        assert!(!find("postgresql").expect("pg").allows_ssh_keys());
    }
}
