//! What went wrong in the inventory, with stable codes.

use crate::{AuthError, VaultError};
use tumbler_domain::inventory::InvalidValue;
use tumbler_domain::object::ObjectKind;
use tumbler_store::StoreError;

/// What went wrong with nodes, assets or accounts.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The caller lacks the permission.
    #[error("you do not have permission for this")]
    Forbidden,
    /// No such object, or not in the caller's domains.
    #[error("no such {0}")]
    NotFound(ObjectKind),
    /// A field was refused.
    #[error("{0}")]
    Invalid(#[from] InvalidValue),
    /// The name is taken.
    #[error("{0} already exists")]
    Duplicate(ObjectKind),
    /// The node (or a node below it) still holds assets.
    #[error("the node still holds {assets} asset(s); move or delete them first")]
    NodeNotEmpty {
        /// How many.
        assets: i64,
    },
    /// The node, or one below it, holds assets or is named by tasks of domains the caller
    /// cannot see: it cannot be renamed, moved or deleted.
    #[error("node {0} is shared with other domains (it or a node below it holds their assets or is named by their tasks); it cannot be renamed, moved or deleted")]
    NodeShared(String),
    /// No platform with that id.
    #[error("no such platform: {0}")]
    UnknownPlatform(String),
    /// No domain with that name among the caller's.
    #[error("you are not assigned to domain {0}")]
    DomainNotAssigned(String),
    /// Nothing to acknowledge: the asset has presented no host key yet.
    #[error("asset {0} has presented no host key yet; test it first")]
    NoHostKeySeen(String),
    /// The fingerprint given is not the one the asset presented.
    #[error("asset {asset} presents {presented}, not the fingerprint given")]
    FingerprintMismatch {
        /// The asset's name.
        asset: String,
        /// What it presented.
        presented: String,
    },
    /// An uploaded key file asks for a key derivation past Tumbler's caps (never decoded).
    #[error("{0}")]
    KeyDerivationTooCostly(String),
    /// A database asset on a non-loopback address must use verified TLS.
    #[error("TLS mode {mode} is allowed only for loopback addresses; {address} needs verify_full")]
    TlsModeNotAllowed {
        /// The mode asked for.
        mode: tumbler_domain::inventory::TlsMode,
        /// The asset's address.
        address: String,
    },
    /// The asset was moved (address, port or pinned key) and its new identity is not
    /// accepted yet: no stored secret goes to it.
    #[error("asset {0} was moved; someone who may reveal its secrets must accept its new location (with a TOTP code) before any secret is sent to it")]
    Relocated(String),
    /// A change of the account is under way (its new secret is staged): a login with the
    /// current secret proves nothing until the change or recovery settles it.
    #[error("account {0} is being changed; verify it when the change has ended")]
    AccountChanging(String),
    /// The account has a new secret staged that is not proved yet (an unverified change
    /// waiting for a person): a login with the current secret proves nothing either.
    #[error("account {0} has a new secret staged that is not proved yet; verify its change record (log in with the new secret), then adopt, retry or ignore it")]
    AccountStaged(String),
    /// An imported file has refused rows; nothing was stored.
    #[error("the file has {} refused row(s); nothing was imported", .0.len())]
    ImportRejected(Vec<super::transfer::ImportProblem>),
    /// Step-up authentication failed (no TOTP, wrong code...).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The vault failed.
    #[error("internal error")]
    Vault(#[from] VaultError),
    /// The store failed.
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl InventoryError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::NotFound(ObjectKind::Asset) => "asset_not_found",
            Self::NotFound(ObjectKind::Account) => "account_not_found",
            Self::NotFound(ObjectKind::Node) => "node_not_found",
            Self::NotFound(_) => "not_found",
            Self::Invalid(_) => "invalid_request",
            Self::Duplicate(ObjectKind::Asset) => "asset_exists",
            Self::Duplicate(ObjectKind::Account) => "account_exists",
            Self::Duplicate(_) => "node_exists",
            Self::NodeNotEmpty { .. } => "node_not_empty",
            Self::NodeShared(_) => "node_shared",
            Self::UnknownPlatform(_) => "unknown_platform",
            Self::DomainNotAssigned(_) => "domain_not_assigned",
            Self::NoHostKeySeen(_) => "host_key_not_seen",
            Self::FingerprintMismatch { .. } => "fingerprint_mismatch",
            Self::TlsModeNotAllowed { .. } => "tls_mode_not_allowed",
            Self::KeyDerivationTooCostly(_) => "key_derivation_too_costly",
            Self::Relocated(_) => "asset_relocated",
            Self::ImportRejected(_) => "import_rejected",
            Self::AccountChanging(_) => "account_changing",
            Self::AccountStaged(_) => "account_staged",
            Self::Auth(e) => e.code(),
            Self::Vault(_) | Self::Store(_) => "internal_error",
        }
    }

    /// The field a validation error is about.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::Invalid(v) => Some(v.field),
            _ => None,
        }
    }
}

/// Maps a unique violation to [`InventoryError::Duplicate`].
pub(crate) fn duplicate(what: ObjectKind) -> impl Fn(StoreError) -> InventoryError {
    move |e| match e {
        StoreError::Duplicate(_) => InventoryError::Duplicate(what),
        other => other.into(),
    }
}
