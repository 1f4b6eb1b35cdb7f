//! The inventory's tables: the node tree, assets and their host keys, accounts and the
//! versions of their secrets (sealed in the vault's `secrets` table).

mod accounts;
mod assets;
mod nodes;

pub use accounts::{AccountFilter, AccountRow};
pub use assets::{AssetFilter, AssetRow, AssetSecurity, HostKeyState};
pub use nodes::NodeRow;

use crate::StoreError;

/// Parses a stored vocabulary value, or reports the row as corrupt.
pub(crate) fn parse_state<T>(
    text: &str,
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
) -> Result<T, StoreError> {
    parse(text).ok_or_else(|| StoreError::Corrupt(format!("{what} {text:?}")))
}
