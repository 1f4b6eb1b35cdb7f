//! Every contact with an asset tells whether it answers. This is the one place that turns a
//! connection's result into the asset's connectivity (and, for SSH, the host key it
//! presented) and records it with the time from the clock: asset tests, account
//! verifications, change runs, reconciles and retries, and device-key jobs all come here, so
//! the asset list tells what the last contact found.
//!
//! A refused credential still proves the target answered (`ok`); a connection that did not
//! get through records `unreachable` with its error; a failure before any connection was
//! tried (an unreadable private key) teaches nothing and leaves the asset as it was.

use super::connect::next_host_key;
use tumbler_connectors::database::DbError;
use tumbler_connectors::ssh::{SshError, SshSession};
use tumbler_domain::ids::AssetId;
use tumbler_domain::inventory::Connectivity;
use tumbler_domain::Clock;
use tumbler_store::{AssetRow, Store, StoreError, Tx};

/// What one connection showed about an asset's reachability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reach {
    /// Whether the target answered.
    pub connectivity: Connectivity,
    /// The connection error when it did not (empty otherwise).
    pub error: String,
}

impl Reach {
    /// The target answered.
    fn ok() -> Self {
        Self {
            connectivity: Connectivity::Ok,
            error: String::new(),
        }
    }

    /// The target did not answer: `error` says how.
    fn unreachable(error: impl std::fmt::Display) -> Self {
        Self {
            connectivity: Connectivity::Unreachable,
            error: error.to_string(),
        }
    }

    /// What an SSH connection's result shows.
    pub(crate) fn ssh<T>(result: &Result<T, SshError>) -> Self {
        match result {
            Ok(_) | Err(SshError::AuthFailed { .. } | SshError::HostKeyUnverified { .. }) => {
                Self::ok()
            }
            Err(
                SshError::InvalidPrivateKey { .. }
                | SshError::KeyDerivationTooCostly { .. }
                | SshError::InvalidFingerprint,
            ) => Self {
                connectivity: Connectivity::Unknown,
                error: String::new(),
            },
            Err(e) => Self::unreachable(e),
        }
    }

    /// What a database connection's result shows.
    pub(crate) fn db<T>(result: &Result<T, DbError>) -> Self {
        match result {
            Ok(_) | Err(DbError::AuthFailed) => Self::ok(),
            Err(e) => Self::unreachable(e),
        }
    }
}

/// Records `reach` on the asset inside `tx`, at `now`.
pub(crate) async fn record_reach(
    tx: &mut Tx,
    asset: &AssetId,
    reach: &Reach,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    tx.set_asset_connectivity(asset, reach.connectivity, &reach.error, now)
        .await
}

/// Records what a contact showed, in its own transaction. Best effort: a failure is logged
/// (the work that made the contact goes on). A contact that taught nothing is not recorded.
async fn note_reach(store: &Store, clock: &dyn Clock, asset: &AssetId, reach: &Reach) {
    if reach.connectivity == Connectivity::Unknown {
        return;
    }
    let write = async {
        let mut tx = store.begin().await?;
        record_reach(&mut tx, asset, reach, clock.now()).await?;
        tx.commit().await
    };
    if let Err(e) = write.await {
        tracing::warn!(asset = %asset, error = %e, "could not record the asset's connectivity");
    }
}

/// Records what an SSH connection to `asset` showed: its connectivity and the host key it
/// presented (pinned `unverified` on first contact, a different one as a conflict). Best
/// effort: a failure is logged.
pub(crate) async fn note_ssh_contact(
    store: &Store,
    clock: &dyn Clock,
    asset: &AssetRow,
    result: &Result<SshSession, SshError>,
) {
    let presented = match result {
        Ok(s) => Some(s.host_key().clone()),
        Err(e) => e.presented_host_key().cloned(),
    };
    let key = next_host_key(asset, presented.as_ref());
    if key != asset.host_key {
        let write = async {
            let mut tx = store.begin().await?;
            // Only over what was read: a move meanwhile stays `relocated`.
            tx.set_asset_host_key_if_unchanged(asset, &key).await?;
            tx.commit().await
        };
        if let Err(e) = write.await {
            tracing::warn!(asset = %asset.id, error = %e, "could not record the host key");
        }
    }
    note_reach(store, clock, &asset.id, &Reach::ssh(result)).await;
}

/// Records what a database connection to `asset` showed. Best effort: a failure is logged.
pub(crate) async fn note_db_contact<T>(
    store: &Store,
    clock: &dyn Clock,
    asset: &AssetId,
    result: &Result<T, DbError>,
) {
    note_reach(store, clock, asset, &Reach::db(result)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_login_still_answered_and_a_refused_connection_did_not() {
        assert_eq!(Reach::ssh::<()>(&Ok(())), Reach::ok());
        let lost: Result<(), SshError> = Err(SshError::ConnectionLost);
        let reach = Reach::ssh(&lost);
        assert_eq!(reach.connectivity, Connectivity::Unreachable);
        assert!(!reach.error.is_empty());
        let bad_key: Result<(), SshError> = Err(SshError::InvalidPrivateKey { reason: "x" });
        assert_eq!(Reach::ssh(&bad_key).connectivity, Connectivity::Unknown);
        assert_eq!(Reach::db::<()>(&Err(DbError::AuthFailed)), Reach::ok());
        assert_eq!(
            Reach::db::<()>(&Err(DbError::Timeout)).connectivity,
            Connectivity::Unreachable
        );
    }
}
