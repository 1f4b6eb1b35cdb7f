//! The vault's tables: wrapped data keys and sealed secrets. Nothing here is plaintext.

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::ids::DataKeyId;
use tumbler_domain::object::ObjectKind;
use tumbler_domain::secret_owner::SecretOwner;

/// A data key, wrapped by the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKeyRow {
    /// Id, part of the wrapping's associated data.
    pub id: DataKeyId,
    /// The wrapped key.
    pub wrapped: Vec<u8>,
    /// Id of the master key that wrapped it.
    pub master_key_id: String,
    /// Whether new secrets are sealed with it.
    pub active: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A sealed secret: one version of one owner's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecretRow {
    /// Kind of owner.
    pub owner_kind: SecretOwner,
    /// Owner's id.
    pub owner_id: String,
    /// Version of the secret, from 1.
    pub version: i64,
    /// Data key that sealed it.
    pub data_key_id: DataKeyId,
    /// The envelope.
    pub envelope: Vec<u8>,
    /// When it was sealed.
    pub created_at: DateTime<Utc>,
}

fn key_from_row(row: &AnyRow) -> Result<DataKeyRow, StoreError> {
    Ok(DataKeyRow {
        id: DataKeyId::from_string(col::<String>(row, "id")?),
        wrapped: col(row, "wrapped")?,
        master_key_id: col(row, "master_key_id")?,
        active: col::<i64>(row, "active")? != 0,
        created_at: from_millis(col(row, "created_at")?),
    })
}

fn secret_from_row(row: &AnyRow) -> Result<SealedSecretRow, StoreError> {
    let owner_kind: String = col(row, "owner_kind")?;
    Ok(SealedSecretRow {
        owner_kind: owner_kind.parse().map_err(|_| {
            StoreError::Corrupt(format!("unknown secret owner kind {owner_kind:?}"))
        })?,
        owner_id: col(row, "owner_id")?,
        version: col(row, "version")?,
        data_key_id: DataKeyId::from_string(col::<String>(row, "data_key_id")?),
        envelope: col(row, "envelope")?,
        created_at: from_millis(col(row, "created_at")?),
    })
}

const KEY_COLUMNS: &str = "id, wrapped, master_key_id, active, created_at";
const SECRET_COLUMNS: &str = "owner_kind, owner_id, version, data_key_id, envelope, created_at";

impl Store {
    /// Every data key, oldest first.
    pub async fn data_keys(&self) -> Result<Vec<DataKeyRow>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM data_keys ORDER BY created_at, id");
        let rows = sqlx::query(&sql)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        rows.iter().map(key_from_row).collect()
    }

    /// One version of an owner's secret.
    pub async fn sealed_secret(
        &self,
        owner_kind: SecretOwner,
        owner_id: &str,
        version: i64,
    ) -> Result<Option<SealedSecretRow>, StoreError> {
        let sql = format!(
            "SELECT {SECRET_COLUMNS} FROM secrets WHERE owner_kind = $1 AND owner_id = $2 AND version = $3"
        );
        let row = sqlx::query(&sql)
            .bind(owner_kind.as_str())
            .bind(owner_id)
            .bind(version)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query)?;
        row.as_ref().map(secret_from_row).transpose()
    }

    /// The newest sealed version of one owner's secret, if it has any.
    pub async fn latest_sealed_version(
        &self,
        owner_kind: SecretOwner,
        owner_id: &str,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "SELECT MAX(version) AS v FROM secrets WHERE owner_kind = $1 AND owner_id = $2",
        )
        .bind(owner_kind.as_str())
        .bind(owner_id)
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::query)?;
        col::<Option<i64>>(&row, "v")
    }
}

impl Tx {
    /// Every data key, read inside this transaction (for master key rotation).
    pub async fn data_keys(&mut self) -> Result<Vec<DataKeyRow>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM data_keys ORDER BY created_at, id");
        let rows = sqlx::query(&sql)
            .fetch_all(self.conn())
            .await
            .map_err(StoreError::query)?;
        rows.iter().map(key_from_row).collect()
    }

    /// Inserts a data key.
    pub async fn insert_data_key(&mut self, key: &DataKeyRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO data_keys (id, wrapped, master_key_id, active, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(key.id.as_str())
        .bind(key.wrapped.as_slice())
        .bind(&key.master_key_id)
        .bind(i64::from(key.active))
        .bind(to_millis(key.created_at))
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }

    /// Replaces a data key's wrapping (master key rotation).
    pub async fn rewrap_data_key(
        &mut self,
        id: &DataKeyId,
        wrapped: &[u8],
        master_key_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE data_keys SET wrapped = $1, master_key_id = $2 WHERE id = $3")
            .bind(wrapped)
            .bind(master_key_id)
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }

    /// Deletes every sealed version of one owner's secret (the owner forgot it or replaced
    /// it with a version that supersedes all of them).
    pub async fn delete_sealed_secrets(
        &mut self,
        owner_kind: SecretOwner,
        owner_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM secrets WHERE owner_kind = $1 AND owner_id = $2")
            .bind(owner_kind.as_str())
            .bind(owner_id)
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }

    /// Deletes one sealed version of one owner's secret (a retired key pair).
    pub async fn delete_sealed_secret_version(
        &mut self,
        owner_kind: SecretOwner,
        owner_id: &str,
        version: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM secrets WHERE owner_kind = $1 AND owner_id = $2 AND version = $3")
            .bind(owner_kind.as_str())
            .bind(owner_id)
            .bind(version)
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }

    /// Stores a sealed secret version; an existing version is [`StoreError::Duplicate`].
    pub async fn insert_sealed_secret(&mut self, s: &SealedSecretRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO secrets (owner_kind, owner_id, version, data_key_id, envelope, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(s.owner_kind.as_str())
        .bind(&s.owner_id)
        .bind(s.version)
        .bind(s.data_key_id.as_str())
        .bind(s.envelope.as_slice())
        .bind(to_millis(s.created_at))
        .execute(self.conn())
        .await
        .map_err(StoreError::unique(ObjectKind::SecretVersion))?;
        Ok(())
    }
}
