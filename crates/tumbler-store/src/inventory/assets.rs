//! Assets: address, platform, domain, nodes, connectivity and the pinned SSH host key.

use super::parse_state;
use crate::conditions::{like_pattern, Bind, Conditions};
use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use std::collections::HashMap;
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::ids::{AssetId, DomainId, NodeId};
use tumbler_domain::inventory::{AuthStatus, Connectivity, HostKeyStatus, TlsMode};

/// An asset's pinned host key and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKeyState {
    /// The pinned fingerprint (`SHA256:...`); `None` before first contact.
    pub fingerprint: Option<String>,
    /// The different fingerprint the asset presented last, while in conflict.
    pub presented: Option<String>,
    /// Unverified, verified or in conflict.
    pub status: HostKeyStatus,
}

/// How Tumbler proves an asset's identity before it sends a secret: trust on first use for
/// SSH, and the TLS of database connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetSecurity {
    /// Send secrets to the SSH host while its pinned key is not acknowledged (off by default).
    pub trust_on_first_use: bool,
    /// TLS of database connections.
    pub tls_mode: TlsMode,
    /// The CA certificate(s) that sign the server's certificate (PEM), for `verify_full`.
    pub tls_ca_pem: Option<String>,
    /// Redis only: send AUTH without TLS to a non-loopback address.
    pub plaintext_auth_allowed: bool,
}

impl Default for AssetSecurity {
    fn default() -> Self {
        Self {
            trust_on_first_use: false,
            tls_mode: TlsMode::VerifyFull,
            tls_ca_pem: None,
            plaintext_auth_allowed: false,
        }
    }
}

/// One asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRow {
    /// Id.
    pub id: AssetId,
    /// Name, unique in its domain.
    pub name: String,
    /// Host name or IP address.
    pub address: String,
    /// Port of the platform's protocol.
    pub port: u16,
    /// Platform id from the catalogue.
    pub platform: String,
    /// The domain that scopes it.
    pub domain_id: DomainId,
    /// Free text.
    pub comment: String,
    /// Whether the last connection worked.
    pub connectivity: Connectivity,
    /// The last connection error (empty when none).
    pub connectivity_error: String,
    /// When connectivity was last tested.
    pub connectivity_at: Option<DateTime<Utc>>,
    /// The SSH host key.
    pub host_key: HostKeyState,
    /// How Tumbler authenticates to it.
    pub auth_status: AuthStatus,
    /// The device admin user Tumbler logs in as with a key (empty in password mode).
    pub auth_username: String,
    /// Trust on first use and database TLS (written with [`Tx::set_asset_security`]).
    pub security: AssetSecurity,
    /// The account that reconciles the asset's other accounts (sets a new secret without
    /// their old one); `None`: the privileged account. Written with
    /// [`Tx::set_asset_reconcile_account`].
    pub reconcile_account_id: Option<tumbler_domain::ids::AccountId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change of its fields.
    pub updated_at: DateTime<Utc>,
}

/// Which assets to list.
#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    /// Only these domains (required: an empty list matches nothing).
    pub domains: Vec<DomainId>,
    /// Only assets in one of these nodes.
    pub nodes: Option<Vec<NodeId>>,
    /// Only these ids.
    pub ids: Option<Vec<AssetId>>,
    /// Only this platform.
    pub platform: Option<String>,
    /// Only this connectivity.
    pub connectivity: Option<Connectivity>,
    /// Only this host key state.
    pub host_key_status: Option<HostKeyStatus>,
    /// Only this authentication state.
    pub auth_status: Option<AuthStatus>,
    /// Name or address contains this (case-insensitive).
    pub search: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

const COLUMNS: &str = "id, name, address, port, platform, domain_id, comment, connectivity, \
    connectivity_error, connectivity_at, host_key_fingerprint, presented_fingerprint, \
    host_key_status, auth_status, auth_username, created_at, updated_at, trust_on_first_use, \
    tls_mode, tls_ca_pem, plaintext_auth_allowed, reconcile_account_id";

fn from_row(row: &AnyRow) -> Result<AssetRow, StoreError> {
    let port: i64 = col(row, "port")?;
    Ok(AssetRow {
        id: AssetId::from_string(col::<String>(row, "id")?),
        name: col(row, "name")?,
        address: col(row, "address")?,
        port: u16::try_from(port).map_err(|_| StoreError::Corrupt(format!("port {port}")))?,
        platform: col(row, "platform")?,
        domain_id: DomainId::from_string(col::<String>(row, "domain_id")?),
        comment: col(row, "comment")?,
        connectivity: parse_state(
            &col::<String>(row, "connectivity")?,
            Connectivity::parse,
            "connectivity",
        )?,
        connectivity_error: col(row, "connectivity_error")?,
        connectivity_at: col::<Option<i64>>(row, "connectivity_at")?.map(from_millis),
        host_key: HostKeyState {
            fingerprint: col(row, "host_key_fingerprint")?,
            presented: col(row, "presented_fingerprint")?,
            status: parse_state(
                &col::<String>(row, "host_key_status")?,
                HostKeyStatus::parse,
                "host key status",
            )?,
        },
        auth_status: parse_state(
            &col::<String>(row, "auth_status")?,
            AuthStatus::parse,
            "auth status",
        )?,
        auth_username: col(row, "auth_username")?,
        security: AssetSecurity {
            trust_on_first_use: col::<i64>(row, "trust_on_first_use")? != 0,
            tls_mode: parse_state(&col::<String>(row, "tls_mode")?, TlsMode::parse, "tls mode")?,
            tls_ca_pem: col(row, "tls_ca_pem")?,
            plaintext_auth_allowed: col::<i64>(row, "plaintext_auth_allowed")? != 0,
        },
        reconcile_account_id: col::<Option<String>>(row, "reconcile_account_id")?
            .map(tumbler_domain::ids::AccountId::from_string),
        created_at: from_millis(col(row, "created_at")?),
        updated_at: from_millis(col(row, "updated_at")?),
    })
}

fn conditions(filter: &AssetFilter) -> Conditions {
    let mut c = Conditions::default();
    c.push_in("domain_id", filter.domains.iter().map(|d| d.to_string()));
    if let Some(nodes) = &filter.nodes {
        let mut inner = Vec::new();
        for n in nodes {
            inner.push(c.bind(Bind::Text(n.to_string())));
        }
        if inner.is_empty() {
            c.push_raw("1 = 0");
        } else {
            c.push_raw(&format!(
                "id IN (SELECT asset_id FROM asset_nodes WHERE node_id IN ({}))",
                inner.join(", ")
            ));
        }
    }
    if let Some(ids) = &filter.ids {
        c.push_in("id", ids.iter().map(|i| i.to_string()));
    }
    if let Some(p) = &filter.platform {
        c.push("platform = {}", Bind::Text(p.clone()));
    }
    if let Some(v) = filter.connectivity {
        c.push("connectivity = {}", Bind::Text(v.as_str().to_owned()));
    }
    if let Some(v) = filter.host_key_status {
        c.push("host_key_status = {}", Bind::Text(v.as_str().to_owned()));
    }
    if let Some(v) = filter.auth_status {
        c.push("auth_status = {}", Bind::Text(v.as_str().to_owned()));
    }
    if let Some(s) = &filter.search {
        let p = c.bind(Bind::Text(like_pattern(s)));
        c.push_raw(&format!(
            "(LOWER(name) LIKE {p} ESCAPE '!' OR LOWER(address) LIKE {p} ESCAPE '!')"
        ));
    }
    c
}

impl Store {
    /// The asset with this id.
    pub async fn asset(&self, id: &AssetId) -> Result<Option<AssetRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM assets WHERE id = $1");
        self.find_one(&sql, id.as_str(), from_row).await
    }

    /// Assets matching `filter`, by name, and how many match in all.
    pub async fn assets(&self, filter: &AssetFilter) -> Result<(Vec<AssetRow>, i64), StoreError> {
        let c = conditions(filter);
        c.page(
            self.pool(),
            COLUMNS,
            "FROM assets",
            "name, id",
            (filter.limit, filter.offset),
            from_row,
        )
        .await
    }

    /// The asset named `name` in `domain`.
    pub async fn asset_by_name(
        &self,
        domain: &DomainId,
        name: &str,
    ) -> Result<Option<AssetRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM assets WHERE domain_id = $1 AND name = $2");
        let row = sqlx::query(&sql)
            .bind(domain.as_str())
            .bind(name)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query)?;
        row.as_ref().map(from_row).transpose()
    }

    /// The nodes of each of these assets.
    pub async fn asset_node_ids(
        &self,
        assets: &[AssetId],
    ) -> Result<HashMap<AssetId, Vec<NodeId>>, StoreError> {
        let mut c = Conditions::default();
        c.push_in("asset_id", assets.iter().map(|a| a.to_string()));
        let sql = format!(
            "SELECT asset_id, node_id FROM asset_nodes {} ORDER BY node_id",
            c.where_sql()
        );
        let rows = c
            .apply(sqlx::query(&sql))
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        let mut out: HashMap<AssetId, Vec<NodeId>> = HashMap::new();
        for r in &rows {
            out.entry(AssetId::from_string(col::<String>(r, "asset_id")?))
                .or_default()
                .push(NodeId::from_string(col::<String>(r, "node_id")?));
        }
        Ok(out)
    }
}

impl Tx {
    /// The asset with this id, read inside this transaction.
    pub async fn asset(&mut self, id: &AssetId) -> Result<Option<AssetRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM assets WHERE id = $1");
        self.find_one(&sql, id.as_str(), from_row).await
    }

    /// Inserts an asset; a name taken in its domain is [`StoreError::Duplicate`].
    pub async fn insert_asset(&mut self, a: &AssetRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO assets (id, name, address, port, platform, domain_id, comment, connectivity, \
             connectivity_error, connectivity_at, host_key_fingerprint, presented_fingerprint, \
             host_key_status, auth_status, auth_username, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(a.id.as_str())
        .bind(&a.name)
        .bind(&a.address)
        .bind(i64::from(a.port))
        .bind(&a.platform)
        .bind(a.domain_id.as_str())
        .bind(&a.comment)
        .bind(a.connectivity.as_str())
        .bind(&a.connectivity_error)
        .bind(a.connectivity_at.map(to_millis))
        .bind(a.host_key.fingerprint.as_deref())
        .bind(a.host_key.presented.as_deref())
        .bind(a.host_key.status.as_str())
        .bind(a.auth_status.as_str())
        .bind(&a.auth_username)
        .bind(to_millis(a.created_at))
        .bind(to_millis(a.updated_at))
        .execute(self.conn())
        .await
        .map_err(StoreError::unique(tumbler_domain::object::ObjectKind::Asset))?;
        Ok(())
    }

    /// Replaces an asset's editable fields (name, address, port, platform, domain, comment,
    /// host key) and its update time.
    pub async fn update_asset(&mut self, a: &AssetRow) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE assets SET name = $1, address = $2, port = $3, platform = $4, domain_id = $5, \
             comment = $6, host_key_fingerprint = $7, presented_fingerprint = $8, \
             host_key_status = $9, updated_at = $10 WHERE id = $11",
        )
        .bind(&a.name)
        .bind(&a.address)
        .bind(i64::from(a.port))
        .bind(&a.platform)
        .bind(a.domain_id.as_str())
        .bind(&a.comment)
        .bind(a.host_key.fingerprint.as_deref())
        .bind(a.host_key.presented.as_deref())
        .bind(a.host_key.status.as_str())
        .bind(to_millis(a.updated_at))
        .bind(a.id.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique(
            tumbler_domain::object::ObjectKind::Asset,
        ))?;
        Ok(())
    }

    /// Replaces an asset's connection security (trust on first use, database TLS).
    pub async fn set_asset_security(
        &mut self,
        id: &AssetId,
        s: &AssetSecurity,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE assets SET trust_on_first_use = $1, tls_mode = $2, tls_ca_pem = $3, \
             plaintext_auth_allowed = $4 WHERE id = $5",
        )
        .bind(i64::from(s.trust_on_first_use))
        .bind(s.tls_mode.as_str())
        .bind(s.tls_ca_pem.as_deref())
        .bind(i64::from(s.plaintext_auth_allowed))
        .bind(id.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }

    /// Sets (or, with `None`, clears) the account that reconciles the asset's accounts.
    pub async fn set_asset_reconcile_account(
        &mut self,
        id: &AssetId,
        account: Option<&tumbler_domain::ids::AccountId>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE assets SET reconcile_account_id = $1 WHERE id = $2")
            .bind(account.map(|a| a.as_str().to_owned()))
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }

    /// Records the outcome of a connection.
    pub async fn set_asset_connectivity(
        &mut self,
        id: &AssetId,
        connectivity: Connectivity,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE assets SET connectivity = $1, connectivity_error = $2, connectivity_at = $3 WHERE id = $4",
        )
        .bind(connectivity.as_str())
        .bind(error)
        .bind(to_millis(at))
        .bind(id.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }

    /// Replaces an asset's host key state.
    pub async fn set_asset_host_key(
        &mut self,
        id: &AssetId,
        key: &HostKeyState,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE assets SET host_key_fingerprint = $1, presented_fingerprint = $2, host_key_status = $3 WHERE id = $4",
        )
        .bind(key.fingerprint.as_deref())
        .bind(key.presented.as_deref())
        .bind(key.status.as_str())
        .bind(id.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }

    /// Replaces an asset's host key state only while the asset is still where, and its key
    /// state still what, `read` says (compare-and-set): a connection that read the asset
    /// before someone moved it or accepted a key must not write back a stale state (and so
    /// undo `relocated`). Returns whether the row was written.
    pub async fn set_asset_host_key_if_unchanged(
        &mut self,
        read: &AssetRow,
        key: &HostKeyState,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE assets SET host_key_fingerprint = $1, presented_fingerprint = $2, host_key_status = $3 \
             WHERE id = $4 AND address = $5 AND port = $6 AND host_key_status = $7 \
             AND COALESCE(host_key_fingerprint, '') = $8 AND COALESCE(presented_fingerprint, '') = $9",
        )
        .bind(key.fingerprint.as_deref())
        .bind(key.presented.as_deref())
        .bind(key.status.as_str())
        .bind(read.id.as_str())
        .bind(&read.address)
        .bind(i64::from(read.port))
        .bind(read.host_key.status.as_str())
        .bind(read.host_key.fingerprint.as_deref().unwrap_or(""))
        .bind(read.host_key.presented.as_deref().unwrap_or(""))
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets how Tumbler authenticates to an asset: its status and the device admin user of
    /// the key modes (empty for passwords).
    pub async fn set_asset_auth(
        &mut self,
        id: &AssetId,
        status: AuthStatus,
        username: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE assets SET auth_status = $1, auth_username = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(username)
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }

    /// Moves an asset from auth status `from` to `to` (only if it is still in `from`: a mode
    /// switch made meanwhile wins); returns whether it moved.
    pub async fn move_asset_auth_status(
        &mut self,
        id: &AssetId,
        from: AuthStatus,
        to: AuthStatus,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE assets SET auth_status = $1 WHERE id = $2 AND auth_status = $3")
                .bind(to.as_str())
                .bind(id.as_str())
                .bind(from.as_str())
                .execute(self.conn())
                .await
                .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces the nodes an asset belongs to.
    pub async fn set_asset_nodes(
        &mut self,
        asset: &AssetId,
        nodes: &[NodeId],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM asset_nodes WHERE asset_id = $1")
            .bind(asset.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        for n in nodes {
            sqlx::query("INSERT INTO asset_nodes (asset_id, node_id) VALUES ($1, $2)")
                .bind(asset.as_str())
                .bind(n.as_str())
                .execute(self.conn())
                .await
                .map_err(StoreError::unique(
                    tumbler_domain::object::ObjectKind::AssetNode,
                ))?;
        }
        Ok(())
    }

    /// Deletes an asset, its accounts, their sealed secrets and its custom login key; returns
    /// whether it existed.
    pub async fn delete_asset(&mut self, id: &AssetId) -> Result<bool, StoreError> {
        sqlx::query(
            "DELETE FROM secrets WHERE owner_kind = 'account' AND owner_id IN (SELECT id FROM accounts WHERE asset_id = $1)",
        )
        .bind(id.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        sqlx::query("DELETE FROM secrets WHERE owner_kind = $1 AND owner_id = $2")
            .bind(tumbler_domain::secret_owner::SecretOwner::AssetLoginKey.as_str())
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        for table in ["accounts", "asset_nodes"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE asset_id = $1"))
                .bind(id.as_str())
                .execute(self.conn())
                .await
                .map_err(StoreError::query)?;
        }
        let done = sqlx::query("DELETE FROM assets WHERE id = $1")
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }
}
