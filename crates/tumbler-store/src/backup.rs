//! Consistent backups of an SQLite store while the server runs, and restoring them.
//! A backup holds the store only: the master key lives elsewhere and is never copied in.

use crate::{Backend, Store, StoreError};
use std::path::Path;

impl Store {
    /// Writes a consistent snapshot of the database to `out` (which must not exist) with
    /// SQLite's `VACUUM INTO`; writers keep working meanwhile. PostgreSQL stores are backed
    /// up with the database's own tools (`pg_dump`).
    pub async fn backup_to(&self, out: &Path) -> Result<(), StoreError> {
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::Backup(
                "PostgreSQL stores are backed up with pg_dump and restored with pg_restore"
                    .to_owned(),
            ));
        }
        if out.exists() {
            return Err(StoreError::Backup(format!(
                "{} already exists",
                out.display()
            )));
        }
        let target = out
            .to_str()
            .ok_or_else(|| StoreError::Backup("backup path is not UTF-8".to_owned()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(self.pool())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }
}

/// Replaces the SQLite database at `db` with the backup at `backup`. The server must be
/// stopped. The backup is checked to be a Tumbler store first; the copy lands under a
/// temporary name and is renamed into place, so a failure leaves the old database intact.
pub async fn restore_sqlite(backup: &Path, db: &Path) -> Result<(), StoreError> {
    let fail = |what: &str, e: std::io::Error| StoreError::Backup(format!("{what}: {e}"));
    let check = Store::connect(&format!("sqlite://{}?mode=ro", backup.display())).await?;
    let version = check.schema_version().await?;
    check.close().await;
    if version == 0 {
        return Err(StoreError::Backup(format!(
            "{} is not a Tumbler backup",
            backup.display()
        )));
    }
    let staging = db.with_extension("restoring");
    tokio::fs::copy(backup, &staging)
        .await
        .map_err(|e| fail("copying the backup", e))?;
    tokio::fs::File::open(&staging)
        .await
        .map_err(|e| fail("opening the copy", e))?
        .sync_all()
        .await
        .map_err(|e| fail("syncing the copy", e))?;
    for suffix in ["-wal", "-shm"] {
        let side = format!("{}{suffix}", db.display());
        match tokio::fs::remove_file(&side).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail("removing the old write-ahead log", e)),
        }
    }
    tokio::fs::rename(&staging, db)
        .await
        .map_err(|e| fail("moving the copy into place", e))?;
    Ok(())
}
