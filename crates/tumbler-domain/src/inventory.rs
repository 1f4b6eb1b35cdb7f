//! Inventory value types: node paths, the state vocabularies of assets and accounts, and the
//! validation of what users type for them (addresses, ports, usernames, options).

use crate::platform::Platform;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Why an inventory value was refused. The message names the field and the rule, never a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidValue {
    /// Which field.
    pub field: &'static str,
    /// What is wrong, for people.
    pub reason: String,
}

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> InvalidValue {
    InvalidValue {
        field,
        reason: reason.into(),
    }
}

/// A closed set of named states: the enum, its `ALL`, `as_str`, `parse` and `Display`. Each
/// state's name is written once, as `$text`: it is the stored name, the text, and the serde
/// (and so OpenAPI) name.
macro_rules! vocabulary {
    // `$text` is a `tt`, not a `literal`: utoipa does not read a `literal` fragment inside
    // `#[serde(rename = ...)]` (serde does), and would list the variant names instead.
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:tt),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name { $($(#[$vdoc])* #[serde(rename = $text)] $variant),+ }

        impl $name {
            /// Every value, in a stable order.
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            /// The stored and serialised name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// Parses a stored or requested name.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        /// The name; honours width and alignment (`{:<10}`), so tables line up.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        /// Compares by name, so a client can check a state against the text it expects.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

pub(crate) use vocabulary;

vocabulary!(
    /// Whether Tumbler could reach an asset the last time it tried.
    Connectivity {
        /// Never tried.
        Unknown => "unknown",
        /// The last connection succeeded.
        Ok => "ok",
        /// The last connection failed (see the last error).
        Unreachable => "unreachable",
    }
);

vocabulary!(
    /// The state of an SSH asset's pinned host key.
    HostKeyStatus {
        /// Pinned on first contact (or not contacted yet), not acknowledged by a person.
        Unverified => "unverified",
        /// Supplied with the asset or acknowledged by an operator.
        Verified => "verified",
        /// The asset presented a different key; nothing is sent until someone acknowledges it.
        FingerprintConflict => "fingerprint_conflict",
        /// The asset's address, port or pinned key was changed: no stored secret goes to it
        /// until someone who may reveal its secrets accepts the new identity with a fresh
        /// TOTP code.
        Relocated => "relocated",
    }
);

vocabulary!(
    /// How Tumbler authenticates to a device.
    AuthStatus {
        /// With stored credentials.
        PasswordBased => "password_based",
        /// With Tumbler's system key.
        KeyBased => "key_based",
        /// With a key the administrator uploaded.
        KeyBasedCustom => "key_based_custom",
        /// The device refused the current system key.
        KeyConflict => "key_conflict",
    }
);

vocabulary!(
    /// How Tumbler protects a database connection (PostgreSQL, MySQL/MariaDB, Redis).
    TlsMode {
        /// No TLS: allowed only for loopback addresses.
        Disable => "disable",
        /// TLS without checking the server's certificate: protects against a passive listener
        /// only, so a password is sent only by a challenge-response method.
        Require => "require",
        /// TLS with the certificate checked (against the asset's CA, or its pinned SHA-256
        /// fingerprint, or the system's roots) and the host name matched.
        VerifyFull => "verify_full",
    }
);

/// Whether `address` is a loopback address (`127.0.0.0/8`, `::1`, `localhost`): the only
/// place a database connection may go without TLS.
pub fn is_loopback(address: &str) -> bool {
    let a = address.trim().trim_start_matches('[').trim_end_matches(']');
    if a.eq_ignore_ascii_case("localhost") {
        return true;
    }
    a.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

vocabulary!(
    /// The state of an account's secret.
    AccountStatus {
        /// Never verified.
        Unknown => "unknown",
        /// The last verification or change succeeded.
        Ok => "ok",
        /// The last verification failed.
        Failed => "failed",
        /// A change is under way (a pending secret is staged).
        Changing => "changing",
        /// A change ended in a state that needs a person.
        NeedsAttention => "needs_attention",
    }
);

vocabulary!(
    /// What an account's secret is.
    SecretType {
        /// A password.
        Password => "password",
        /// An OpenSSH private key (PEM text).
        SshKey => "ssh_key",
    }
);

/// A node's path in the asset tree: `/Default/Prod/DB`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodePath(Vec<String>);

/// The longest node name, in characters.
pub const MAX_NODE_NAME: usize = 64;

impl NodePath {
    /// Parses `/A/B/C` (a leading slash is required; a trailing one is ignored).
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let text = text.trim();
        let rest = text
            .strip_prefix('/')
            .ok_or_else(|| invalid("node", format!("{text:?} is not a path like /Default/Prod")))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Err(invalid("node", "the root is not a node; name one below it"));
        }
        let names = rest
            .split('/')
            .map(|n| validate_node_name(n).map(str::to_owned))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(names))
    }

    /// A path from its names, each checked.
    pub fn from_names(names: Vec<String>) -> Result<Self, InvalidValue> {
        if names.is_empty() {
            return Err(invalid("node", "the root is not a node; name one below it"));
        }
        for n in &names {
            validate_node_name(n)?;
        }
        Ok(Self(names))
    }

    /// The names from the top.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// The last name.
    pub fn name(&self) -> &str {
        self.0.last().map(String::as_str).unwrap_or("")
    }

    /// The parent path, if this is not a top-level node.
    pub fn parent(&self) -> Option<NodePath> {
        (self.0.len() > 1).then(|| Self(self.0[..self.0.len() - 1].to_vec()))
    }
}

impl fmt::Display for NodePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for n in &self.0 {
            write!(f, "/{n}")?;
        }
        Ok(())
    }
}

/// Checks one node name: 1 to 64 characters, no `/`, no control characters, not `.` or `..`.
pub fn validate_node_name(name: &str) -> Result<&str, InvalidValue> {
    let ok = !name.trim().is_empty()
        && name.trim() == name
        && name.chars().count() <= MAX_NODE_NAME
        && !name.chars().any(|c| c == '/' || c.is_control())
        && name != "."
        && name != "..";
    if ok {
        Ok(name)
    } else {
        Err(invalid(
            "node",
            format!(
                "{name:?}: a node name is 1 to {MAX_NODE_NAME} characters without '/', control characters or surrounding spaces"
            ),
        ))
    }
}

/// Checks an asset name: 1 to 128 characters, no control characters, no surrounding spaces.
pub fn validate_asset_name(name: &str) -> Result<(), InvalidValue> {
    if name.is_empty()
        || name.trim() != name
        || name.chars().count() > 128
        || name.chars().any(char::is_control)
    {
        return Err(invalid(
            "name",
            "an asset name is 1 to 128 characters without control characters or surrounding spaces",
        ));
    }
    Ok(())
}

/// Checks an address: an IPv4 or IPv6 address, or a DNS host name (RFC 1123 labels).
pub fn validate_address(address: &str) -> Result<(), InvalidValue> {
    if address.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let host = address.strip_suffix('.').unwrap_or(address);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(label_ok)
        // An all-numeric dotted name is a mistyped IPv4 address, not a host name.
        && !host.split('.').all(|l| l.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "address",
            format!("{address:?} is neither an IP address nor a valid host name"),
        ))
    }
}

/// Checks a port: 1 to 65535.
pub fn validate_port(port: i64) -> Result<u16, InvalidValue> {
    u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| invalid("port", format!("{port} is not a port (1 to 65535)")))
}

/// Characters a shell gives meaning to; never in a Unix-like username.
const SHELL_METACHARACTERS: &str = "|&;<>()$`\\\"' \t*?[]#~=%!{}^";

/// Checks an account's username for the platform. For Unix-like platforms: 1 to 32
/// characters, no newline, colon, leading `-`, `/` or shell metacharacter. For the others: 1
/// to 128 characters without control characters.
pub fn validate_username(platform: &Platform, username: &str) -> Result<(), InvalidValue> {
    if username.is_empty() {
        return Err(invalid("username", "a username is required"));
    }
    if username.chars().any(char::is_control) {
        return Err(invalid(
            "username",
            "a username cannot contain a newline or other control characters",
        ));
    }
    if platform.unix_like {
        if username.starts_with('-') {
            return Err(invalid("username", "a Unix username cannot start with '-'"));
        }
        if let Some(c) = username
            .chars()
            .find(|c| *c == ':' || *c == '/' || SHELL_METACHARACTERS.contains(*c))
        {
            return Err(invalid(
                "username",
                format!("a Unix username cannot contain {c:?}"),
            ));
        }
        if username.chars().count() > 32 || !username.is_ascii() {
            return Err(invalid(
                "username",
                "a Unix username is at most 32 ASCII characters",
            ));
        }
    } else if username.chars().count() > 128 {
        return Err(invalid("username", "a username is at most 128 characters"));
    }
    Ok(())
}

/// Checks an account's options against the platform: known names, allowed values, absolute
/// shell paths, sane database names. Returns the options with defaults filled in.
pub fn validate_options(
    platform: &Platform,
    options: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, InvalidValue> {
    let mut out = BTreeMap::new();
    for (name, value) in options {
        let option = platform.option(name).ok_or_else(|| {
            invalid(
                "options",
                format!("platform {} takes no option {name:?}", platform.id),
            )
        })?;
        if !option.values.is_empty() && !option.values.contains(&value.as_str()) {
            return Err(invalid(
                "options",
                format!("{name} must be one of {}", option.values.join(", ")),
            ));
        }
        let free_text_ok = !value.is_empty()
            && value.len() <= 128
            && !value.chars().any(|c| c.is_control() || c.is_whitespace())
            && !value.chars().any(|c| SHELL_METACHARACTERS.contains(c));
        if option.values.is_empty() && !free_text_ok {
            return Err(invalid(
                "options",
                format!("{name} must be 1 to 128 characters without spaces, control characters or shell metacharacters"),
            ));
        }
        if name == "shell" && !value.starts_with('/') {
            return Err(invalid("options", "shell must be an absolute path"));
        }
        out.insert(name.clone(), value.clone());
    }
    for option in platform.options {
        out.entry(option.name.to_owned())
            .or_insert_with(|| option.default.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::find;

    /// Every state of `all` serialises to its text and reads back from it.
    fn serde_names_are_the_text<T>(all: &[T], text: fn(T) -> &'static str)
    where
        T: Copy + fmt::Debug + PartialEq + Serialize + serde::de::DeserializeOwned,
    {
        for &v in all {
            let wire = serde_json::to_value(v).expect("serialise");
            assert_eq!(wire.as_str(), Some(text(v)), "{v:?}");
            let back: T = serde_json::from_value(wire).expect("deserialise");
            assert_eq!(back, v);
        }
    }

    #[test]
    fn every_vocabulary_serialises_as_its_text() {
        use crate::change_secret::{ExecutionStatus, RecordStatus, SecretStrategy, Trigger};
        serde_names_are_the_text(Connectivity::ALL, Connectivity::as_str);
        serde_names_are_the_text(HostKeyStatus::ALL, HostKeyStatus::as_str);
        serde_names_are_the_text(AuthStatus::ALL, AuthStatus::as_str);
        serde_names_are_the_text(TlsMode::ALL, TlsMode::as_str);
        serde_names_are_the_text(AccountStatus::ALL, AccountStatus::as_str);
        serde_names_are_the_text(SecretType::ALL, SecretType::as_str);
        serde_names_are_the_text(SecretStrategy::ALL, SecretStrategy::as_str);
        serde_names_are_the_text(Trigger::ALL, Trigger::as_str);
        serde_names_are_the_text(ExecutionStatus::ALL, ExecutionStatus::as_str);
        serde_names_are_the_text(RecordStatus::ALL, RecordStatus::as_str);
        // The names serde gave before (snake_case of the variant), for the multi-word ones.
        for (wire, text) in [
            (
                serde_json::to_value(HostKeyStatus::FingerprintConflict),
                "fingerprint_conflict",
            ),
            (
                serde_json::to_value(AuthStatus::KeyBasedCustom),
                "key_based_custom",
            ),
            (serde_json::to_value(TlsMode::VerifyFull), "verify_full"),
            (
                serde_json::to_value(AccountStatus::NeedsAttention),
                "needs_attention",
            ),
            (serde_json::to_value(SecretType::SshKey), "ssh_key"),
            (
                serde_json::to_value(ExecutionStatus::NothingChanged),
                "nothing_changed",
            ),
        ] {
            assert_eq!(wire.expect("serialise").as_str(), Some(text));
        }
        assert!(serde_json::from_str::<TlsMode>("\"VerifyFull\"").is_err());
    }

    #[test]
    fn node_paths_parse_and_print() {
        let p = NodePath::parse("/Default/Prod/DB/").expect("path");
        assert_eq!(p.to_string(), "/Default/Prod/DB");
        assert_eq!(p.name(), "DB");
        assert_eq!(
            p.parent().map(|p| p.to_string()),
            Some("/Default/Prod".into())
        );
        for bad in ["", "/", "Default", "/a//b", "/a/ b", "/a/\nb", "/a/.."] {
            assert!(NodePath::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn addresses_and_ports() {
        for ok in ["127.0.0.1", "::1", "db-1.example.com", "host"] {
            assert!(validate_address(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "-x.com", "1.2.3.999", "x;rm", "a..b", "host\n"] {
            assert!(validate_address(bad).is_err(), "{bad:?}");
        }
        assert_eq!(validate_port(22), Ok(22));
        assert!(validate_port(0).is_err());
        assert!(validate_port(65536).is_err());
        assert!(validate_port(-1).is_err());
    }

    #[test]
    fn unix_usernames_refuse_what_a_shell_or_passwd_file_would_misread() {
        let linux = find("linux").expect("linux");
        assert!(validate_username(linux, "deploy_1").is_ok());
        for bad in [
            "", "a\nb", "a:b", "-rf", "a;b", "a b", "$(id)", "a`b", "a/b", "a|b",
        ] {
            let e = validate_username(linux, bad).expect_err(bad);
            assert_eq!(e.field, "username");
        }
        let pg = find("postgresql").expect("pg");
        assert!(validate_username(pg, "app user").is_ok());
        assert!(validate_username(pg, "a\nb").is_err());
    }

    #[test]
    fn options_are_checked_against_the_platform_and_defaulted() {
        let linux = find("linux").expect("linux");
        let opts = validate_options(linux, &BTreeMap::new()).expect("defaults");
        assert_eq!(opts.get("become").map(String::as_str), Some("sudo"));
        let mut bad = BTreeMap::new();
        bad.insert("become".to_owned(), "doas".to_owned());
        assert!(validate_options(linux, &bad).is_err());
        let mut bad = BTreeMap::new();
        bad.insert("shell".to_owned(), "bash;id".to_owned());
        assert!(validate_options(linux, &bad).is_err());
        let mut unknown = BTreeMap::new();
        unknown.insert("database".to_owned(), "x".to_owned());
        assert!(validate_options(linux, &unknown).is_err());
    }

    #[test]
    fn vocabularies_round_trip() {
        for s in HostKeyStatus::ALL {
            assert_eq!(HostKeyStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(
            AccountStatus::parse("needs_attention"),
            Some(AccountStatus::NeedsAttention)
        );
        assert_eq!(Connectivity::parse("bogus"), None);
    }
}
