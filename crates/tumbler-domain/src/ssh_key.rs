//! SSH key choices: which algorithm a new key pair uses, and what a key change does with the
//! keys already in `authorized_keys`.

use serde::{Deserialize, Serialize};

/// The algorithm (and size) of a key pair Tumbler generates. DSA is not offered: OpenSSH
/// disabled it in 7.0 and removed it in 9.8, and its 1024-bit keys are too weak.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum KeyAlgorithm {
    /// Ed25519 (the default).
    #[default]
    #[serde(rename = "ed25519")]
    #[strum(serialize = "ed25519")]
    Ed25519,
    /// ECDSA on NIST P-256.
    #[serde(rename = "ecdsa-p256")]
    #[strum(serialize = "ecdsa-p256")]
    EcdsaP256,
    /// ECDSA on NIST P-384.
    #[serde(rename = "ecdsa-p384")]
    #[strum(serialize = "ecdsa-p384")]
    EcdsaP384,
    /// RSA, 2048 bits.
    #[serde(rename = "rsa-2048")]
    #[strum(serialize = "rsa-2048")]
    Rsa2048,
    /// RSA, 3072 bits.
    #[serde(rename = "rsa-3072")]
    #[strum(serialize = "rsa-3072")]
    Rsa3072,
    /// RSA, 4096 bits.
    #[serde(rename = "rsa-4096")]
    #[strum(serialize = "rsa-4096")]
    Rsa4096,
}

impl KeyAlgorithm {
    /// Every algorithm, in the order a form lists them (the order they are declared in).
    pub const ALL: &'static [KeyAlgorithm] = <Self as strum::VariantArray>::VARIANTS;

    /// The stored and serialised name (`ed25519`, `ecdsa-p256`, `rsa-3072`...).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The algorithm with this name.
    pub fn parse(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

/// What a key change does with the keys already in the account's `authorized_keys`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum KeyStrategy {
    /// Remove only the old key Tumbler held (matched by fingerprint); other keys stay.
    #[default]
    ReplaceOld,
    /// Remove every other key, leaving only the new one.
    ReplaceAll,
}

impl KeyStrategy {
    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How a task makes and installs new SSH keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SshKeyOptions {
    /// The new key pair's algorithm.
    #[serde(default)]
    pub algorithm: KeyAlgorithm,
    /// What happens to the other keys.
    #[serde(default)]
    pub strategy: KeyStrategy,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_ed25519_is_the_default() {
        for a in KeyAlgorithm::ALL {
            assert_eq!(KeyAlgorithm::parse(a.as_str()), Some(*a));
            let json = serde_json::to_string(a).expect("json");
            assert_eq!(json, format!("\"{}\"", a.as_str()));
        }
        assert_eq!(KeyAlgorithm::default(), KeyAlgorithm::Ed25519);
        assert_eq!(KeyAlgorithm::ALL.len(), 6);
        for s in <KeyStrategy as strum::VariantArray>::VARIANTS {
            let json = serde_json::to_string(s).expect("json");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
        assert_eq!(KeyAlgorithm::parse("dsa"), None);
        let opts: SshKeyOptions = serde_json::from_str("{}").expect("json");
        assert_eq!(opts.strategy, KeyStrategy::ReplaceOld);
        assert!(serde_json::from_str::<SshKeyOptions>(r#"{"algorithm":"dsa"}"#).is_err());
    }
}
