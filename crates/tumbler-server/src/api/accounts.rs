//! Accounts: never return a secret, except `reveal` (permission + fresh TOTP code, audited).

use crate::api::assets::parse_state;
use crate::api::json_body::JsonBody;
use crate::api::Page;
use crate::error::ApiError;
use crate::middleware::auth::{Caller, Origin};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use tumbler_core::inventory::{AccountInput, AccountPatch, AccountQuery};
use tumbler_domain::ids::{AccountId, AssetId};
use tumbler_domain::inventory::{AccountStatus, SecretType};
use tumbler_store::AccountRow;

use super::answers::RevealedSecret;
use tumbler_api_types::inventory::CreateAccount;
pub use tumbler_api_types::inventory::{AccountOut, VerifyOut};

/// The API view of an account.
pub(crate) fn account_out(a: AccountRow) -> AccountOut {
    AccountOut {
        id: a.id.to_string(),
        asset_id: a.asset_id.to_string(),
        asset_name: a.asset_name,
        username: a.username,
        secret_type: a.secret_type,
        privileged: a.privileged,
        options: a.options,
        status: a.status,
        status_reason: a.status_reason,
        secret_version: a.current_version,
        last_verified_at: a.last_verified_at,
        last_changed_at: a.last_changed_at,
        created_at: a.created_at,
    }
}

/// Filters of `GET /api/v1/accounts`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct AccountListQuery {
    /// Only this asset's accounts.
    pub asset_id: Option<String>,
    /// Only this exact username.
    pub username: Option<String>,
    /// Only this status.
    #[param(value_type = Option<tumbler_domain::inventory::AccountStatus>)]
    pub status: Option<String>,
    /// Only privileged (`true`) or unprivileged (`false`) accounts.
    pub privileged: Option<bool>,
    /// Part of the username or asset name.
    pub q: Option<String>,
    /// Page size (1 to 1000, default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// Accounts in your visible domains, by asset and username.
#[utoipa::path(get, path = "/api/v1/accounts", params(AccountListQuery), responses((status = 200, description = "A page of accounts", body = Page<AccountOut>), (status = 403)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<AccountListQuery>,
) -> Result<Json<Page<AccountOut>>, ApiError> {
    let query = AccountQuery {
        asset_id: q
            .asset_id
            .filter(|a| !a.is_empty())
            .map(AssetId::from_string),
        username: q.username,
        status: parse_state(q.status.as_deref(), AccountStatus::parse, "status")?,
        privileged: q.privileged,
        search: q.q,
        limit: q.limit,
        offset: q.offset,
    };
    let (items, total) = state.inventory.accounts(&p, &query).await?;
    Ok(Json(Page {
        items: items.into_iter().map(account_out).collect(),
        total,
    }))
}

fn secret_type(value: Option<&str>) -> Result<Option<SecretType>, ApiError> {
    parse_state(value, SecretType::parse, "secret_type")
}

/// Creates an account with its secret sealed in the vault.
#[utoipa::path(post, path = "/api/v1/accounts", request_body = CreateAccount, responses((status = 201, body = AccountOut), (status = 400), (status = 404), (status = 409)))]
pub async fn create(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(req): JsonBody<CreateAccount>,
) -> Result<(StatusCode, Json<AccountOut>), ApiError> {
    let input = AccountInput {
        asset_id: AssetId::from_string(req.asset_id),
        username: req.username,
        secret_type: secret_type(req.secret_type.as_deref())?.unwrap_or(SecretType::Password),
        secret: SecretString::from(req.secret),
        privileged: req.privileged,
        options: req.options,
        totp: req.totp,
    };
    let account = state.inventory.create_account(&p, &input, &origin).await?;
    Ok((StatusCode::CREATED, Json(account_out(account))))
}

/// One account (never its secret).
#[utoipa::path(get, path = "/api/v1/accounts/{id}", params(("id" = String, Path)), responses((status = 200, body = AccountOut), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<AccountId>,
) -> Result<Json<AccountOut>, ApiError> {
    let account = state.inventory.account(&p, &id).await?;
    Ok(Json(account_out(account)))
}

/// `PATCH /api/v1/accounts/{id}` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchAccount {
    /// New login name.
    pub username: Option<String>,
    /// A new secret: stored as a new version (write-only).
    #[schema(value_type = Option<String>)]
    pub secret: Option<SecretString>,
    /// The new secret's type.
    #[schema(value_type = Option<tumbler_domain::inventory::SecretType>)]
    pub secret_type: Option<String>,
    /// New privileged flag.
    pub privileged: Option<bool>,
    /// New options (replacing all).
    pub options: Option<BTreeMap<String, String>>,
    /// A fresh TOTP code: needed (with `protected_accounts_manage`) to set or clear
    /// `privileged`, rename a privileged account, root or administrator, or change `become`
    /// or `shell` of a protected account.
    pub totp: Option<String>,
}

/// Changes an account.
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", params(("id" = String, Path)), request_body = PatchAccount, responses((status = 200, body = AccountOut), (status = 400), (status = 404)))]
pub async fn patch(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<AccountId>,
    JsonBody(req): JsonBody<PatchAccount>,
) -> Result<Json<AccountOut>, ApiError> {
    let patch = AccountPatch {
        username: req.username,
        secret: req.secret,
        secret_type: secret_type(req.secret_type.as_deref())?,
        privileged: req.privileged,
        options: req.options,
        totp: req.totp,
    };
    let account = state
        .inventory
        .update_account(&p, &id, &patch, &origin)
        .await?;
    Ok(Json(account_out(account)))
}

/// `DELETE /api/v1/accounts/{id}` body (optional).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccount {
    /// A fresh TOTP code: needed (with `protected_accounts_manage`) to delete a protected
    /// account (privileged, root or administrator), and to delete an account with more than
    /// one secret version (its secret was rotated or replaced).
    pub totp: Option<String>,
}

/// Deletes an account and its secrets.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", params(("id" = String, Path)), request_body = DeleteAccount, responses((status = 204), (status = 401, description = "totp_required / invalid_totp"), (status = 403), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<AccountId>,
    body: Option<JsonBody<DeleteAccount>>,
) -> Result<StatusCode, ApiError> {
    let req = body.map(|b| b.0).unwrap_or_default();
    state
        .inventory
        .delete_account(&p, &id, req.totp.as_deref(), &origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Logs in to the asset with the stored secret and records the outcome.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/verify", params(("id" = String, Path)), responses((status = 200, body = VerifyOut), (status = 404), (status = 409, description = "account_changing: a change holds the account; account_staged: a new secret is staged, not proved yet; asset_relocated")))]
pub async fn verify(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<AccountId>,
) -> Result<Json<VerifyOut>, ApiError> {
    let outcome = state.inventory.verify_account(&p, &id, &origin).await?;
    Ok(Json(VerifyOut {
        ok: outcome.ok,
        code: outcome.code.map(str::to_owned),
        message: outcome.message,
        account: account_out(outcome.account),
    }))
}

/// `POST /api/v1/accounts/{id}/reveal` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reveal {
    /// A fresh TOTP code (or a recovery code).
    pub totp: Option<String>,
}

/// The current secret: needs the reveal permission and a fresh TOTP code; audited. The
/// answer is marked uncacheable.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/reveal", params(("id" = String, Path)), request_body = Reveal, responses((status = 200, description = "`{secret}`", body = super::answers::RevealedSecret), (status = 401, description = "totp_required / invalid_totp"), (status = 403), (status = 404)))]
pub async fn reveal(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<AccountId>,
    JsonBody(req): JsonBody<Reveal>,
) -> Result<Response, ApiError> {
    let secret = state
        .inventory
        .reveal(&p, &id, req.totp.as_deref(), &origin)
        .await?;
    let mut response = Json(RevealedSecret {
        secret: secret.as_str().to_owned(),
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Reconciles one account no stored secret opens: the asset's reconcile account (one set on
/// the asset, else its privileged account) sets a new password without the old one, verifies
/// it by login and commits it, as a run of its own (trigger `reconcile`). Answers with the
/// reconcile's record once its run has ended (or after the answer's time limit while it goes
/// on).
#[utoipa::path(post, path = "/api/v1/accounts/{id}/reconcile", params(("id" = String, Path)), responses((status = 200, description = "The reconcile's record", body = tumbler_api_types::change_secret::RecordRow), (status = 404), (status = 409, description = "reconcile_account_is_self, no_reconcile_account, reconcile_unsupported or account_changing")))]
pub async fn reconcile(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<AccountId>,
) -> Result<Json<tumbler_api_types::change_secret::RecordRow>, ApiError> {
    let record = state
        .change_secret
        .reconcile_account(&p, &id, &origin)
        .await?;
    Ok(Json(record))
}

/// `POST /api/v1/accounts/reconcile` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconcileMany {
    /// Accounts in `needs_attention` to reconcile (others are skipped with a code).
    #[schema(min_items = 1, max_items = 500)]
    pub account_ids: Vec<String>,
}

/// Reconciles accounts in `needs_attention`, each as a run of its own, in the background;
/// answers at once with the reconciles started and the accounts skipped (with a code:
/// `not_needs_attention`, `not_found`, `reconcile_account_is_self`, ...).
#[utoipa::path(post, path = "/api/v1/accounts/reconcile", request_body = ReconcileMany, responses((status = 202, description = "The reconciles started and the accounts skipped", body = tumbler_api_types::reconcile::ReconcileOutcome), (status = 400)))]
pub async fn reconcile_many(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(req): JsonBody<ReconcileMany>,
) -> Result<
    (
        StatusCode,
        Json<tumbler_api_types::reconcile::ReconcileOutcome>,
    ),
    ApiError,
> {
    let ids: Vec<AccountId> = req
        .account_ids
        .into_iter()
        .map(AccountId::from_string)
        .collect();
    let outcome = state
        .change_secret
        .reconcile_selected(&p, &ids, &origin)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(outcome)))
}
