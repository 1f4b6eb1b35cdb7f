//! Accounts: a username on an asset, the versions of its secret (current, previous, pending;
//! the sealed values live in `secrets`) and the outcome of its last verification.

use super::parse_state;
use crate::conditions::{like_pattern, Bind, Conditions};
use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use std::collections::BTreeMap;
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::ids::{AccountId, AssetId, DomainId};
use tumbler_domain::inventory::{AccountStatus, SecretType};

/// One account, with the name and domain of its asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// Id.
    pub id: AccountId,
    /// The asset it lives on.
    pub asset_id: AssetId,
    /// The asset's name (read with the account; not stored with it).
    pub asset_name: String,
    /// The asset's domain (read with the account; not stored with it).
    pub domain_id: DomainId,
    /// Login name on the asset.
    pub username: String,
    /// Password or SSH private key.
    pub secret_type: SecretType,
    /// The account used to change others on its asset.
    pub privileged: bool,
    /// Platform options (become, shell, database...).
    pub options: BTreeMap<String, String>,
    /// Version of the secret in use.
    pub current_version: i64,
    /// The version before it, kept for recovery.
    pub previous_version: Option<i64>,
    /// A staged version while a change is under way.
    pub pending_version: Option<i64>,
    /// The version number the next sealed secret gets.
    pub next_version: i64,
    /// State of the secret.
    pub status: AccountStatus,
    /// Why, when not ok (a code and text; never a secret).
    pub status_reason: String,
    /// When the secret was last verified.
    pub last_verified_at: Option<DateTime<Utc>>,
    /// When the secret was last changed.
    pub last_changed_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change of its fields.
    pub updated_at: DateTime<Utc>,
}

/// Which accounts to list.
#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    /// Only accounts of assets in these domains (an empty list matches nothing).
    pub domains: Vec<DomainId>,
    /// Only accounts of this asset.
    pub asset_id: Option<AssetId>,
    /// Only this exact username.
    pub username: Option<String>,
    /// Only this status.
    pub status: Option<AccountStatus>,
    /// Only privileged (or only unprivileged) accounts.
    pub privileged: Option<bool>,
    /// Username or asset name contains this (case-insensitive).
    pub search: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

const COLUMNS: &str = "c.id, c.asset_id, a.name AS asset_name, a.domain_id, c.username, \
    c.secret_type, c.privileged, c.options, c.current_version, c.previous_version, \
    c.pending_version, c.next_version, c.status, c.status_reason, c.last_verified_at, \
    c.last_changed_at, c.created_at, c.updated_at";
const FROM: &str = "FROM accounts c JOIN assets a ON a.id = c.asset_id";

fn from_row(row: &AnyRow) -> Result<AccountRow, StoreError> {
    let options: String = col(row, "options")?;
    Ok(AccountRow {
        id: AccountId::from_string(col::<String>(row, "id")?),
        asset_id: AssetId::from_string(col::<String>(row, "asset_id")?),
        asset_name: col(row, "asset_name")?,
        domain_id: DomainId::from_string(col::<String>(row, "domain_id")?),
        username: col(row, "username")?,
        secret_type: parse_state(
            &col::<String>(row, "secret_type")?,
            SecretType::parse,
            "secret type",
        )?,
        privileged: col::<i64>(row, "privileged")? != 0,
        options: serde_json::from_str(&options)
            .map_err(|_| StoreError::Corrupt("account options".to_owned()))?,
        current_version: col(row, "current_version")?,
        previous_version: col(row, "previous_version")?,
        pending_version: col(row, "pending_version")?,
        next_version: col(row, "next_version")?,
        status: parse_state(
            &col::<String>(row, "status")?,
            AccountStatus::parse,
            "account status",
        )?,
        status_reason: col(row, "status_reason")?,
        last_verified_at: col::<Option<i64>>(row, "last_verified_at")?.map(from_millis),
        last_changed_at: col::<Option<i64>>(row, "last_changed_at")?.map(from_millis),
        created_at: from_millis(col(row, "created_at")?),
        updated_at: from_millis(col(row, "updated_at")?),
    })
}

fn conditions(filter: &AccountFilter) -> Conditions {
    let mut c = Conditions::default();
    c.push_in("a.domain_id", filter.domains.iter().map(|d| d.to_string()));
    if let Some(asset) = &filter.asset_id {
        c.push("c.asset_id = {}", Bind::Text(asset.to_string()));
    }
    if let Some(u) = &filter.username {
        c.push("c.username = {}", Bind::Text(u.clone()));
    }
    if let Some(s) = filter.status {
        c.push("c.status = {}", Bind::Text(s.as_str().to_owned()));
    }
    if let Some(p) = filter.privileged {
        c.push("c.privileged = {}", Bind::Int(i64::from(p)));
    }
    if let Some(s) = &filter.search {
        let p = c.bind(Bind::Text(like_pattern(s)));
        c.push_raw(&format!(
            "(LOWER(c.username) LIKE {p} ESCAPE '!' OR LOWER(a.name) LIKE {p} ESCAPE '!')"
        ));
    }
    c
}

fn options_json(options: &BTreeMap<String, String>) -> Result<String, StoreError> {
    serde_json::to_string(options).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// The account with this id.
    pub async fn account(&self, id: &AccountId) -> Result<Option<AccountRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} {FROM} WHERE c.id = $1");
        self.find_one(&sql, id.as_str(), from_row).await
    }

    /// Accounts matching `filter`, by asset name and username, and how many match in all.
    pub async fn accounts(
        &self,
        filter: &AccountFilter,
    ) -> Result<(Vec<AccountRow>, i64), StoreError> {
        let c = conditions(filter);
        c.page(
            self.pool(),
            COLUMNS,
            FROM,
            "a.name, c.username, c.id",
            (filter.limit, filter.offset),
            from_row,
        )
        .await
    }
}

impl Tx {
    /// The account with this id, read inside this transaction.
    pub async fn account(&mut self, id: &AccountId) -> Result<Option<AccountRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} {FROM} WHERE c.id = $1");
        self.find_one(&sql, id.as_str(), from_row).await
    }

    /// Inserts an account (its asset name and domain are ignored); a username taken on the
    /// asset is [`StoreError::Duplicate`].
    pub async fn insert_account(&mut self, a: &AccountRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO accounts (id, asset_id, username, secret_type, privileged, options, \
             current_version, previous_version, pending_version, next_version, status, \
             status_reason, last_verified_at, last_changed_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(a.id.as_str())
        .bind(a.asset_id.as_str())
        .bind(&a.username)
        .bind(a.secret_type.as_str())
        .bind(i64::from(a.privileged))
        .bind(options_json(&a.options)?)
        .bind(a.current_version)
        .bind(a.previous_version)
        .bind(a.pending_version)
        .bind(a.next_version)
        .bind(a.status.as_str())
        .bind(&a.status_reason)
        .bind(a.last_verified_at.map(to_millis))
        .bind(a.last_changed_at.map(to_millis))
        .bind(to_millis(a.created_at))
        .bind(to_millis(a.updated_at))
        .execute(self.conn())
        .await
        .map_err(StoreError::unique(
            tumbler_domain::object::ObjectKind::Account,
        ))?;
        Ok(())
    }

    /// Replaces an account's editable fields, secret versions and status (everything but its
    /// id, asset and creation time).
    pub async fn update_account(&mut self, a: &AccountRow) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE accounts SET username = $1, secret_type = $2, privileged = $3, options = $4, \
             current_version = $5, previous_version = $6, pending_version = $7, next_version = $8, \
             status = $9, status_reason = $10, last_verified_at = $11, last_changed_at = $12, \
             updated_at = $13 WHERE id = $14",
        )
        .bind(&a.username)
        .bind(a.secret_type.as_str())
        .bind(i64::from(a.privileged))
        .bind(options_json(&a.options)?)
        .bind(a.current_version)
        .bind(a.previous_version)
        .bind(a.pending_version)
        .bind(a.next_version)
        .bind(a.status.as_str())
        .bind(&a.status_reason)
        .bind(a.last_verified_at.map(to_millis))
        .bind(a.last_changed_at.map(to_millis))
        .bind(to_millis(a.updated_at))
        .bind(a.id.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique(
            tumbler_domain::object::ObjectKind::Account,
        ))?;
        Ok(())
    }

    /// Records the outcome of a verification.
    pub async fn set_account_verification(
        &mut self,
        id: &AccountId,
        status: AccountStatus,
        reason: &str,
        last_verified_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE accounts SET status = $1, status_reason = $2, last_verified_at = $3 WHERE id = $4",
        )
        .bind(status.as_str())
        .bind(reason)
        .bind(last_verified_at.map(to_millis))
        .bind(id.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }

    /// Deletes an account and its sealed secrets; returns whether it existed.
    pub async fn delete_account(&mut self, id: &AccountId) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM secrets WHERE owner_kind = $1 AND owner_id = $2")
            .bind(tumbler_domain::secret_owner::SecretOwner::Account.as_str())
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        let done = sqlx::query("DELETE FROM accounts WHERE id = $1")
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }
}
