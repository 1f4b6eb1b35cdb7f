//! Assets, their host keys and the platform catalogue.

use crate::api::json_body::JsonBody;
use crate::api::Page;
use crate::error::ApiError;
use crate::middleware::auth::{Caller, Origin};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use tumbler_core::inventory::{
    AssetInput, AssetPatch, AssetQuery, AssetView, InventorySettings, SecurityInput,
};
use tumbler_domain::ids::AssetId;
use tumbler_domain::inventory::{AuthStatus, Connectivity, HostKeyStatus, TlsMode};

pub use tumbler_api_types::inventory::{AssetOut, CreateAsset};

/// The API view of an asset.
pub(crate) fn asset_out(v: AssetView) -> AssetOut {
    let a = v.asset;
    AssetOut {
        id: a.id.to_string(),
        name: a.name,
        address: a.address,
        port: a.port,
        platform: a.platform,
        nodes: v.nodes.iter().map(ToString::to_string).collect(),
        domain: v.domain,
        comment: a.comment,
        connectivity: a.connectivity,
        connectivity_error: a.connectivity_error,
        connectivity_checked_at: a.connectivity_at,
        host_key_fingerprint: a.host_key.fingerprint,
        presented_host_key_fingerprint: a.host_key.presented,
        host_key_status: a.host_key.status,
        auth_status: a.auth_status,
        auth_username: a.auth_username,
        trust_on_first_use: a.security.trust_on_first_use,
        tls_mode: a.security.tls_mode,
        tls_ca_pem: a.security.tls_ca_pem,
        plaintext_auth_allowed: a.security.plaintext_auth_allowed,
        reconcile_account_id: a.reconcile_account_id.map(|id| id.to_string()),
        created_at: a.created_at,
        updated_at: a.updated_at,
    }
}

/// Filters of `GET /api/v1/assets`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct AssetListQuery {
    /// Only assets in this node or below (a path).
    pub node: Option<String>,
    /// Platform id.
    pub platform: Option<String>,
    /// `unknown`, `ok` or `unreachable`.
    #[param(value_type = Option<tumbler_domain::inventory::Connectivity>)]
    pub connectivity: Option<String>,
    /// `unverified`, `verified`, `fingerprint_conflict` or `relocated`.
    #[param(value_type = Option<tumbler_domain::inventory::HostKeyStatus>)]
    pub host_key_status: Option<String>,
    /// `password_based`, `key_based`, `key_based_custom` or `key_conflict`.
    #[param(value_type = Option<tumbler_domain::inventory::AuthStatus>)]
    pub auth_status: Option<String>,
    /// Part of the name or address.
    pub q: Option<String>,
    /// Page size (1 to 1000, default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// Parses an optional vocabulary value from a query string.
pub(crate) fn parse_state<T>(
    value: Option<&str>,
    parse: fn(&str) -> Option<T>,
    what: &str,
) -> Result<Option<T>, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| parse(v).ok_or_else(|| ApiError::bad_request(format!("unknown {what}: {v}"))))
        .transpose()
}

/// The connection-security part of a create or patch body (`tls_mode` parsed).
fn security_input(
    trust_on_first_use: Option<bool>,
    tls_mode: Option<&str>,
    tls_ca_pem: Option<String>,
    plaintext_auth_allowed: Option<bool>,
) -> Result<SecurityInput, ApiError> {
    Ok(SecurityInput {
        trust_on_first_use,
        tls_mode: parse_state(tls_mode, TlsMode::parse, "tls_mode")?,
        tls_ca_pem,
        plaintext_auth_allowed,
    })
}

/// Assets in your visible domains, by name.
#[utoipa::path(get, path = "/api/v1/assets", params(AssetListQuery), responses((status = 200, description = "A page of assets", body = Page<AssetOut>), (status = 403)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<AssetListQuery>,
) -> Result<Json<Page<AssetOut>>, ApiError> {
    let query = AssetQuery {
        node: q.node,
        platform: q.platform,
        connectivity: parse_state(
            q.connectivity.as_deref(),
            Connectivity::parse,
            "connectivity",
        )?,
        host_key_status: parse_state(
            q.host_key_status.as_deref(),
            HostKeyStatus::parse,
            "host_key_status",
        )?,
        auth_status: parse_state(q.auth_status.as_deref(), AuthStatus::parse, "auth_status")?,
        search: q.q,
        limit: q.limit,
        offset: q.offset,
    };
    let (items, total) = state.inventory.assets(&p, &query).await?;
    Ok(Json(Page {
        items: items.into_iter().map(asset_out).collect(),
        total,
    }))
}

/// Creates an asset.
#[utoipa::path(post, path = "/api/v1/assets", request_body = CreateAsset, responses((status = 201, body = AssetOut), (status = 400), (status = 403), (status = 409)))]
pub async fn create(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(req): JsonBody<CreateAsset>,
) -> Result<(StatusCode, Json<AssetOut>), ApiError> {
    let input = AssetInput {
        name: req.name,
        address: req.address,
        port: req.port,
        platform: req.platform,
        nodes: req.nodes,
        domain: req.domain,
        comment: req.comment,
        host_key_fingerprint: req.host_key_fingerprint,
        security: security_input(
            req.trust_on_first_use,
            req.tls_mode.as_deref(),
            req.tls_ca_pem,
            req.plaintext_auth_allowed,
        )?,
    };
    let view = state.inventory.create_asset(&p, &input, &origin).await?;
    Ok((StatusCode::CREATED, Json(asset_out(view))))
}

/// One asset.
#[utoipa::path(get, path = "/api/v1/assets/{id}", params(("id" = String, Path)), responses((status = 200, body = AssetOut), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<AssetId>,
) -> Result<Json<AssetOut>, ApiError> {
    let view = state.inventory.asset(&p, &id).await?;
    Ok(Json(asset_out(view)))
}

/// `PATCH /api/v1/assets/{id}` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAsset {
    /// New name.
    pub name: Option<String>,
    /// New address.
    pub address: Option<String>,
    /// New port.
    #[schema(minimum = 1, maximum = 65535)]
    pub port: Option<i64>,
    /// New node paths.
    pub nodes: Option<Vec<String>>,
    /// New domain (one of yours).
    pub domain: Option<String>,
    /// New comment.
    pub comment: Option<String>,
    /// A fingerprint from a trusted source: pinned and `verified`.
    pub host_key_fingerprint: Option<String>,
    /// Send secrets to the SSH host while its key is not acknowledged (administrators only;
    /// off by default).
    pub trust_on_first_use: Option<bool>,
    /// Database TLS: `disable` or `require` (loopback addresses only) or `verify_full`
    /// (the default for other addresses).
    #[schema(value_type = Option<tumbler_domain::inventory::TlsMode>)]
    pub tls_mode: Option<String>,
    /// CA certificate(s) (PEM, at most 64 KiB and 16 certificates) for `verify_full`; the
    /// system's roots when absent. Replacing it is for administrators.
    pub tls_ca_pem: Option<String>,
    /// Redis: allow AUTH in clear to a non-loopback address (administrators only).
    pub plaintext_auth_allowed: Option<bool>,
    /// The account of this asset that reconciles its other accounts (sets a new password
    /// without their old one); `""` clears it (the privileged account then). Administrators
    /// only (`protected_accounts_manage`), with a fresh TOTP code in `totp`.
    #[schema(max_length = 64)]
    pub reconcile_account_id: Option<String>,
    /// A fresh TOTP code (needed to set `reconcile_account_id`).
    #[schema(max_length = 16)]
    pub totp: Option<String>,
}

/// Changes an asset.
#[utoipa::path(patch, path = "/api/v1/assets/{id}", params(("id" = String, Path)), request_body = PatchAsset, responses((status = 200, body = AssetOut), (status = 400), (status = 401, description = "totp_required: setting the reconcile account needs a fresh code"), (status = 403), (status = 404), (status = 409)))]
pub async fn patch(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<AssetId>,
    JsonBody(req): JsonBody<PatchAsset>,
) -> Result<Json<AssetOut>, ApiError> {
    let patch = AssetPatch {
        name: req.name,
        address: req.address,
        port: req.port,
        nodes: req.nodes,
        domain: req.domain,
        comment: req.comment,
        host_key_fingerprint: req.host_key_fingerprint,
        security: security_input(
            req.trust_on_first_use,
            req.tls_mode.as_deref(),
            req.tls_ca_pem,
            req.plaintext_auth_allowed,
        )?,
        reconcile_account_id: req.reconcile_account_id,
        totp: req.totp,
    };
    let view = state
        .inventory
        .update_asset(&p, &id, &patch, &origin)
        .await?;
    Ok(Json(asset_out(view)))
}

/// Deletes an asset with its accounts and their secrets.
#[utoipa::path(delete, path = "/api/v1/assets/{id}", params(("id" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<AssetId>,
) -> Result<StatusCode, ApiError> {
    state.inventory.delete_asset(&p, &id, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Connects to the asset now (SSH handshake or TCP), pinning an SSH host key on first
/// contact, and reports.
#[utoipa::path(post, path = "/api/v1/assets/{id}/test", params(("id" = String, Path)), responses((status = 200, body = AssetOut), (status = 404)))]
pub async fn test(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<AssetId>,
) -> Result<Json<AssetOut>, ApiError> {
    let view = state.inventory.test_asset(&p, &id, &origin).await?;
    Ok(Json(asset_out(view)))
}

/// `POST /api/v1/assets/{id}/host-key/acknowledge` body (optional).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acknowledge {
    /// The fingerprint you compared; refused if the asset presents another.
    pub fingerprint: Option<String>,
    /// A fresh TOTP code: needed (with `secrets_reveal`) to accept the new location of a
    /// `relocated` asset.
    pub totp: Option<String>,
}

/// Accepts the host key the asset presents (pinned unverified key, or the new key of a
/// conflict).
#[utoipa::path(post, path = "/api/v1/assets/{id}/host-key/acknowledge", params(("id" = String, Path)), request_body = Acknowledge, responses((status = 200, body = AssetOut), (status = 404), (status = 409)))]
pub async fn acknowledge(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<AssetId>,
    body: Option<JsonBody<Acknowledge>>,
) -> Result<Json<AssetOut>, ApiError> {
    let req = body.map(|b| b.0).unwrap_or_default();
    let mut views = state
        .inventory
        .acknowledge_host_keys_with(
            &p,
            &[id],
            req.fingerprint.as_deref(),
            req.totp.as_deref(),
            &origin,
        )
        .await?;
    views
        .pop()
        .map(|v| Json(asset_out(v)))
        .ok_or_else(ApiError::not_found)
}

/// `POST /api/v1/assets/host-keys/acknowledge` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeMany {
    /// The selected assets.
    pub asset_ids: Vec<String>,
    /// A fresh TOTP code: needed (with `secrets_reveal`) when a selected asset is
    /// `relocated`, presents a key other than the pinned one, or presents a first key while
    /// it holds accounts.
    pub totp: Option<String>,
    /// The fingerprint the operator compared for each selected asset (every one of
    /// `asset_ids`, once): only those keys are pinned, and an asset presenting another key
    /// by now refuses the whole request (`fingerprint_mismatch`). Without it, whatever each
    /// asset presents is pinned.
    pub expected: Option<Vec<ExpectedFingerprint>>,
}

/// The fingerprint shown for one asset, in [`AcknowledgeMany`].
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFingerprint {
    /// The asset.
    pub asset_id: String,
    /// `SHA256:<base64>`, as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
}

/// Accepts the presented host keys of several assets at once (all or nothing).
#[utoipa::path(post, path = "/api/v1/assets/host-keys/acknowledge", request_body = AcknowledgeMany, responses((status = 200, description = "The acknowledged assets", body = Page<AssetOut>), (status = 404), (status = 409)))]
pub async fn acknowledge_many(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(req): JsonBody<AcknowledgeMany>,
) -> Result<Json<Page<AssetOut>>, ApiError> {
    let ids: Vec<AssetId> = req
        .asset_ids
        .into_iter()
        .map(AssetId::from_string)
        .collect();
    let totp = req.totp.as_deref();
    let acknowledged = match req.expected {
        Some(expected) => {
            let shown: Vec<(AssetId, String)> = expected
                .into_iter()
                .map(|e| (AssetId::from_string(e.asset_id), e.fingerprint))
                .collect();
            state
                .inventory
                .acknowledge_shown_host_keys(&p, &ids, &shown, totp, &origin)
                .await?
        }
        None => {
            state
                .inventory
                .acknowledge_host_keys_with(&p, &ids, None, totp, &origin)
                .await?
        }
    };
    let page: Page<AssetOut> = acknowledged.into_iter().map(asset_out).collect();
    Ok(Json(page))
}

/// The platform catalogue: protocol, port, verify and change methods, options.
#[utoipa::path(get, path = "/api/v1/platforms", responses((status = 200, description = "Every platform", body = Page<tumbler_domain::platform::Platform>)))]
pub async fn platforms(Caller(_p): Caller) -> Json<Page<tumbler_domain::platform::Platform>> {
    Json(
        tumbler_domain::platform::catalogue()
            .iter()
            .copied()
            .collect(),
    )
}

/// Inventory settings as the API shows them.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InventorySettingsBody {
    /// Send secrets (passwords at login, and sudo/su passwords, chpasswd lines, template
    /// answers, keys written into a session) to SSH hosts whose key nobody has acknowledged
    /// yet, for every asset. Each asset also has its own `trust_on_first_use`.
    pub trust_on_first_use_for_passwords: bool,
}

/// The inventory settings.
#[utoipa::path(get, path = "/api/v1/settings/inventory", responses((status = 200, body = InventorySettingsBody)))]
pub async fn get_settings(
    State(state): State<AppState>,
    Caller(_p): Caller,
) -> Result<Json<InventorySettingsBody>, ApiError> {
    let s = state.inventory.settings().await?;
    Ok(Json(InventorySettingsBody {
        trust_on_first_use_for_passwords: s.trust_on_first_use_for_passwords,
    }))
}

/// Replaces the inventory settings (administrators).
#[utoipa::path(put, path = "/api/v1/settings/inventory", request_body = InventorySettingsBody, responses((status = 200, body = InventorySettingsBody), (status = 403)))]
pub async fn put_settings(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(req): JsonBody<InventorySettingsBody>,
) -> Result<Json<InventorySettingsBody>, ApiError> {
    let settings = InventorySettings {
        trust_on_first_use_for_passwords: req.trust_on_first_use_for_passwords,
    };
    state.inventory.set_settings(&p, &settings, &origin).await?;
    Ok(Json(req))
}
