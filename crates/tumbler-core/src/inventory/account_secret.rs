//! The form of an account's secret: a password without line breaks, or an unencrypted
//! private key whose decoding cost is capped before it is decoded off the async runtime.

use super::InventoryError;
use secrecy::{ExposeSecret, SecretString};
use tumbler_domain::inventory::{InvalidValue, SecretType};
use tumbler_domain::platform::Platform;

/// The largest secret accepted (an RSA 16384 private key fits).
const MAX_SECRET_BYTES: usize = 64 * 1024;

/// Checks a secret's form for its type and platform.
pub(super) fn check_secret(
    platform: &Platform,
    secret_type: SecretType,
    secret: &SecretString,
) -> Result<(), InventoryError> {
    let invalid = |reason: &str| -> InventoryError {
        InvalidValue {
            field: "secret",
            reason: reason.to_owned(),
        }
        .into()
    };
    let s = secret.expose_secret();
    if s.is_empty() {
        return Err(invalid("a secret is required"));
    }
    if s.len() > MAX_SECRET_BYTES {
        return Err(invalid("the secret is longer than 64 KiB"));
    }
    match secret_type {
        SecretType::Password => {
            if s.chars().any(|c| c == '\n' || c == '\r' || c == '\0') {
                return Err(invalid(
                    "a password cannot contain a line break or a NUL character",
                ));
            }
        }
        SecretType::SshKey => {
            if !platform.allows_ssh_keys() {
                return Err(InvalidValue {
                    field: "secret_type",
                    reason: format!("platform {} accounts hold passwords only", platform.id),
                }
                .into());
            }
            // Only the cost check here: the decode runs off the async runtime in
            // [`decode_key_off_runtime`], after the permission check.
            tumbler_connectors::ssh::check_key_cost(s).map_err(key_error)?;
        }
    }
    Ok(())
}

fn key_error(e: tumbler_connectors::ssh::SshError) -> InventoryError {
    match e {
        e @ tumbler_connectors::ssh::SshError::KeyDerivationTooCostly { .. } => {
            InventoryError::KeyDerivationTooCostly(e.to_string())
        }
        e => InvalidValue {
            field: "secret",
            reason: e.to_string(),
        }
        .into(),
    }
}

/// Checks, off the async runtime, that an SSH-key secret is an unencrypted private key
/// Tumbler can use (its cost was capped by [`check_secret`]).
pub(crate) async fn decode_key_off_runtime(
    secret_type: SecretType,
    secret: &SecretString,
) -> Result<(), InventoryError> {
    if secret_type == SecretType::SshKey {
        tumbler_connectors::ssh::check_private_key_blocking(secret.clone(), None)
            .await
            .map_err(key_error)?;
    }
    Ok(())
}
