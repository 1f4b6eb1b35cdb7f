//! An asset's connection security: trust on first use for SSH, the TLS mode of database
//! connections and its CA, and Redis's permission to send AUTH in clear. Validated here so
//! that an asset is never saved in a state that would send a password unprotected over the
//! network: `disable` and `require` are for loopback addresses only, and the decisions that
//! lower the bar (trust on first use, clear AUTH, another CA) are an administrator's.

use super::{require, InventoryError};
use crate::Principal;
use tumbler_domain::inventory::{is_loopback, InvalidValue, TlsMode};
use tumbler_domain::permission::Permission;
use tumbler_domain::platform::{Platform, Protocol};
use tumbler_store::AssetSecurity;

/// The largest CA bundle accepted, in bytes.
pub const MAX_CA_PEM_BYTES: usize = 64 * 1024;
/// The most certificates a CA bundle may hold.
pub const MAX_CA_CERTIFICATES: usize = 16;

/// Requested connection security; `None` keeps the current value (or the default).
#[derive(Debug, Clone, Default)]
pub struct SecurityInput {
    /// Send secrets to the SSH host while its key is not acknowledged.
    pub trust_on_first_use: Option<bool>,
    /// TLS mode of database connections.
    pub tls_mode: Option<TlsMode>,
    /// CA certificate(s) (PEM) for `verify_full`; an empty text removes them.
    pub tls_ca_pem: Option<String>,
    /// Redis: send AUTH in clear to a non-loopback address.
    pub plaintext_auth_allowed: Option<bool>,
}

impl SecurityInput {
    /// Whether nothing is requested.
    pub fn is_empty(&self) -> bool {
        self.trust_on_first_use.is_none()
            && self.tls_mode.is_none()
            && self.tls_ca_pem.is_none()
            && self.plaintext_auth_allowed.is_none()
    }
}

fn is_sql(platform: &Platform) -> bool {
    matches!(platform.protocol, Protocol::Postgresql | Protocol::Mysql)
}

/// The default for a new asset: no TLS for a database on loopback (test servers), verified
/// TLS for every other database; Redis has no TLS in Tumbler.
fn default_for(platform: &Platform, address: &str) -> AssetSecurity {
    let tls_mode = match platform.protocol {
        Protocol::Redis => TlsMode::Disable,
        _ if is_sql(platform) && is_loopback(address) => TlsMode::Disable,
        _ => TlsMode::VerifyFull,
    };
    AssetSecurity {
        tls_mode,
        ..AssetSecurity::default()
    }
}

/// Checks that `pem` is a bounded bundle of PEM certificates (size and count capped before
/// anything is decoded).
fn check_ca_pem(pem: &str) -> Result<(), InvalidValue> {
    let bad = |reason: String| InvalidValue {
        field: "tls_ca_pem",
        reason,
    };
    if pem.len() > MAX_CA_PEM_BYTES {
        return Err(bad(format!("at most {MAX_CA_PEM_BYTES} bytes")));
    }
    let mut count = 0usize;
    let mut inside: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        match (&mut inside, line) {
            (None, "-----BEGIN CERTIFICATE-----") => inside = Some(String::new()),
            (None, "") => {}
            (None, _) => return Err(bad("expected PEM CERTIFICATE blocks only".to_owned())),
            (Some(body), "-----END CERTIFICATE-----") => {
                use base64::Engine as _;
                let der = base64::engine::general_purpose::STANDARD
                    .decode(body.as_bytes())
                    .map_err(|_| bad("a certificate block is not base64".to_owned()))?;
                if der.first() != Some(&0x30) {
                    return Err(bad("a certificate block is not DER".to_owned()));
                }
                count += 1;
                if count > MAX_CA_CERTIFICATES {
                    return Err(bad(format!("at most {MAX_CA_CERTIFICATES} certificates")));
                }
                inside = None;
            }
            (Some(body), l) => body.push_str(l),
        }
    }
    if inside.is_some() || count == 0 {
        return Err(bad(
            "expected at least one complete CERTIFICATE block".to_owned()
        ));
    }
    Ok(())
}

/// The security an asset at `address` on `platform` gets from `input`, starting from
/// `current` (an update) or the default (a creation). Refuses a TLS mode other than
/// `verify_full` for a database on a non-loopback address
/// ([`InventoryError::TlsModeNotAllowed`]), and lets only administrators
/// ([`Permission::SettingsManage`]) turn on trust on first use or clear AUTH, or change the
/// TLS mode or the CA (replace or remove it) of an existing asset.
pub(crate) fn resolve(
    principal: &Principal,
    platform: &Platform,
    address: &str,
    current: Option<&AssetSecurity>,
    input: &SecurityInput,
) -> Result<AssetSecurity, InventoryError> {
    let mut out = current
        .cloned()
        .unwrap_or_else(|| default_for(platform, address));
    if let Some(trust_on_first_use) = input.trust_on_first_use {
        if trust_on_first_use && !out.trust_on_first_use {
            require(principal, Permission::SettingsManage)?;
        }
        if platform.protocol != Protocol::Ssh && trust_on_first_use {
            return Err(invalid("trust_on_first_use", "only SSH assets pin a host key").into());
        }
        out.trust_on_first_use = trust_on_first_use;
    }
    if let Some(mode) = input.tls_mode {
        if platform.protocol == Protocol::Ssh {
            return Err(invalid("tls_mode", "SSH assets have no TLS mode").into());
        }
        if platform.protocol == Protocol::Redis && mode != TlsMode::Disable {
            return Err(invalid(
                "tls_mode",
                "Redis connections have no TLS in Tumbler; leave it disable",
            )
            .into());
        }
        if current.is_some() && mode != out.tls_mode {
            require(principal, Permission::SettingsManage)?;
        }
        out.tls_mode = mode;
    }
    if let Some(pem) = &input.tls_ca_pem {
        let pem = pem.trim();
        let new = if pem.is_empty() {
            None
        } else {
            if !is_sql(platform) {
                return Err(
                    invalid("tls_ca_pem", "only PostgreSQL and MySQL assets use a CA").into(),
                );
            }
            check_ca_pem(pem)?;
            Some(pem.to_owned())
        };
        // Replacing or removing the CA of an existing asset (removal falls back to the
        // system's roots) is an administrator's decision.
        if current.is_some() && new != out.tls_ca_pem {
            require(principal, Permission::SettingsManage)?;
        }
        out.tls_ca_pem = new;
    }
    if let Some(allowed) = input.plaintext_auth_allowed {
        if allowed && platform.protocol != Protocol::Redis {
            return Err(invalid(
                "plaintext_auth_allowed",
                "only Redis assets may allow AUTH in clear",
            )
            .into());
        }
        if allowed && !out.plaintext_auth_allowed {
            require(principal, Permission::SettingsManage)?;
        }
        out.plaintext_auth_allowed = allowed;
    }
    if is_sql(platform) && out.tls_mode != TlsMode::VerifyFull && !is_loopback(address) {
        return Err(InventoryError::TlsModeNotAllowed {
            mode: out.tls_mode,
            address: address.to_owned(),
        });
    }
    Ok(out)
}

/// What changed between two security settings, old -> new, for the audit record (a CA bundle
/// is named by its SHA-256, never quoted).
pub(crate) fn describe_change(old: &AssetSecurity, new: &AssetSecurity) -> String {
    fn ca(pem: &Option<String>) -> String {
        use sha2::{Digest, Sha256};
        match pem {
            None => "none".to_owned(),
            Some(p) => format!("sha256:{}", hex::encode(Sha256::digest(p.as_bytes()))),
        }
    }
    let mut parts = Vec::new();
    if old.trust_on_first_use != new.trust_on_first_use {
        parts.push(format!(
            "trust_on_first_use {} -> {}",
            old.trust_on_first_use, new.trust_on_first_use
        ));
    }
    if old.tls_mode != new.tls_mode {
        parts.push(format!("tls_mode {} -> {}", old.tls_mode, new.tls_mode));
    }
    if old.tls_ca_pem != new.tls_ca_pem {
        parts.push(format!(
            "tls_ca_pem {} -> {}",
            ca(&old.tls_ca_pem),
            ca(&new.tls_ca_pem)
        ));
    }
    if old.plaintext_auth_allowed != new.plaintext_auth_allowed {
        parts.push(format!(
            "plaintext_auth_allowed {} -> {}",
            old.plaintext_auth_allowed, new.plaintext_auth_allowed
        ));
    }
    parts.join("; ")
}

fn invalid(field: &'static str, reason: &str) -> InvalidValue {
    InvalidValue {
        field,
        reason: reason.to_owned(),
    }
}
