//! CSV import and export of assets and accounts.

use crate::api::json_body::JsonBody;
use crate::error::ApiError;
use crate::middleware::auth::{Caller, Origin};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tumbler_api_types::transfer::{ExportAccounts, ImportOut, ProblemOut};
use tumbler_core::inventory::ImportReport;

/// `?skip_invalid=` of the import endpoints.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// Store the good rows of a file that has bad ones (default: store nothing).
    #[serde(default)]
    pub skip_invalid: bool,
}

/// The API view of an import's outcome.
fn import_out(r: ImportReport) -> ImportOut {
    ImportOut {
        imported: r.imported,
        skipped: r.skipped,
        problems: r
            .problems
            .into_iter()
            .map(|p| ProblemOut {
                line: p.line,
                field: p.field,
                reason: p.reason,
            })
            .collect(),
    }
}

/// A CSV download: `text/csv`, never cached, saved as `filename`.
pub(crate) fn csv_response(body: String, filename: &str) -> Response {
    let mut res = body.into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// Imports assets from CSV (`name,address,port,platform,nodes,domain,comment,host_key_fingerprint`;
/// `nodes` separated by `;`). A file with errors stores nothing unless `skip_invalid`.
#[utoipa::path(post, path = "/api/v1/assets/import", params(ImportQuery), request_body(content = String, content_type = "text/csv"), responses((status = 200, body = ImportOut), (status = 400), (status = 422, description = "import_rejected: every refused row with its line and reason")))]
pub async fn import_assets(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Query(q): Query<ImportQuery>,
    body: String,
) -> Result<Json<ImportOut>, ApiError> {
    let report = state
        .inventory
        .import_assets(&p, &body, q.skip_invalid, &origin)
        .await?;
    Ok(Json(import_out(report)))
}

/// Exports the assets you can see as CSV.
#[utoipa::path(get, path = "/api/v1/assets/export", responses((status = 200, content_type = "text/csv", description = "The assets", body = String)))]
pub async fn export_assets(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
) -> Result<Response, ApiError> {
    let csv = state.inventory.export_assets(&p, &origin).await?;
    Ok(csv_response(csv, "assets.csv"))
}

/// Imports accounts from CSV (`asset,domain,username,secret_type,privileged,options,secret`;
/// `options` as `key=value;...`). A file with errors stores nothing unless `skip_invalid`.
#[utoipa::path(post, path = "/api/v1/accounts/import", params(ImportQuery), request_body(content = String, content_type = "text/csv"), responses((status = 200, body = ImportOut), (status = 400), (status = 422, description = "import_rejected")))]
pub async fn import_accounts(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Query(q): Query<ImportQuery>,
    body: String,
) -> Result<Json<ImportOut>, ApiError> {
    let report = state
        .inventory
        .import_accounts(&p, &body, q.skip_invalid, &origin)
        .await?;
    Ok(Json(import_out(report)))
}

/// Exports the accounts you can see as CSV; secrets only when asked (permission + fresh TOTP
/// code), audited.
#[utoipa::path(post, path = "/api/v1/accounts/export", request_body = ExportAccounts, responses((status = 200, content_type = "text/csv", description = "The accounts", body = String), (status = 401), (status = 403)))]
pub async fn export_accounts(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    body: Option<JsonBody<ExportAccounts>>,
) -> Result<Response, ApiError> {
    let req = body.map(|b| b.0).unwrap_or_default();
    let csv = state
        .inventory
        .export_accounts(&p, req.include_secrets, req.totp.as_deref(), &origin)
        .await?;
    Ok(csv_response(csv.to_string(), "accounts.csv"))
}
