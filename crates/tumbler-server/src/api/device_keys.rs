//! Device keys: the system key (show, regenerate, export with a passphrase), switching a
//! device's authentication, resolving key conflicts, and the jobs these start.

use crate::api::json_body::JsonBody;
use crate::error::ApiError;
use crate::middleware::auth::{Caller, Origin};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::SecretString;
use serde::Deserialize;
use tumbler_api_types::answers::{ExportedKey, JobStarted};
use tumbler_api_types::device_keys::{JobView, RegenerateIn, SystemKeyView};
use tumbler_core::device_keys::{AuthenticationInput, ResolveInput};
use tumbler_core::DeviceKeyError;
use tumbler_domain::ids::AssetId;
use tumbler_domain::ssh_key::KeyAlgorithm;

/// The algorithm a regeneration request names.
pub fn algorithm_of(name: Option<&str>, bits: Option<u32>) -> Result<KeyAlgorithm, DeviceKeyError> {
    let bad = |reason: &str| DeviceKeyError::Invalid {
        field: "algorithm",
        reason: reason.to_owned(),
    };
    match (name.unwrap_or("ed25519"), bits) {
        ("dsa" | "dss", _) => Err(bad(
            "DSS (DSA) keys are not offered: OpenSSH disabled them in 7.0 and removed them in 9.8, and their 1024-bit size is too weak",
        )),
        ("ed25519", None) => Ok(KeyAlgorithm::Ed25519),
        ("ecdsa", None | Some(256)) => Ok(KeyAlgorithm::EcdsaP256),
        ("ecdsa", Some(384)) => Ok(KeyAlgorithm::EcdsaP384),
        ("rsa", Some(2048)) => Ok(KeyAlgorithm::Rsa2048),
        ("rsa", None | Some(3072)) => Ok(KeyAlgorithm::Rsa3072),
        ("rsa", Some(4096)) => Ok(KeyAlgorithm::Rsa4096),
        (full, None) => KeyAlgorithm::parse(full).ok_or_else(|| {
            bad("use ed25519, ecdsa (bits 256 or 384) or rsa (bits 2048, 3072 or 4096)")
        }),
        _ => Err(bad(
            "use ed25519, ecdsa (bits 256 or 384) or rsa (bits 2048, 3072 or 4096)",
        )),
    }
}

/// An export request.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportIn {
    /// The passphrase that encrypts the exported key (at least 12 characters).
    #[schema(value_type = String)]
    pub passphrase: SecretString,
    /// A fresh TOTP code (the export is a sensitive action).
    #[serde(default)]
    pub totp: Option<String>,
}

fn accepted(job_id: tumbler_domain::ids::JobId) -> (StatusCode, Json<JobStarted>) {
    (StatusCode::ACCEPTED, Json(JobStarted { job_id }))
}

/// The system key's public half and fingerprint.
#[utoipa::path(get, path = "/api/v1/system/ssh-key", responses((status = 200, description = "algorithm, public key, fingerprint, generated_at, regeneration_job", body = SystemKeyView)))]
pub async fn show(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<SystemKeyView>, ApiError> {
    Ok(Json(state.device_keys.system_key(&p).await?))
}

/// Regenerates the system key on every key-based device; answers with the job.
#[utoipa::path(post, path = "/api/v1/system/ssh-key/regenerate", request_body = RegenerateIn, responses((status = 202, description = "`{job_id}`", body = super::answers::JobStarted), (status = 400), (status = 409, description = "key_regeneration_running")))]
pub async fn regenerate(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(input): JsonBody<RegenerateIn>,
) -> Result<(StatusCode, Json<JobStarted>), ApiError> {
    let algorithm = algorithm_of(input.algorithm.as_deref(), input.bits)?;
    let job = state.device_keys.regenerate(&p, algorithm, &origin).await?;
    Ok(accepted(job))
}

/// The system private key encrypted with a passphrase, for a backup (administrators with a
/// fresh TOTP code; audited; never cached).
#[utoipa::path(post, path = "/api/v1/system/ssh-key/export", request_body = ExportIn, responses((status = 200, description = "The key (OpenSSH, encrypted)", body = super::answers::ExportedKey), (status = 400), (status = 403)))]
pub async fn export(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(input): JsonBody<ExportIn>,
) -> Result<Response, ApiError> {
    let key = state
        .device_keys
        .export_system_key(&p, &input.passphrase, input.totp.as_deref(), &origin)
        .await?;
    let mut res = Json(ExportedKey { private_key: key }).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Switches a device between password, system key and custom key; answers with the job.
#[utoipa::path(post, path = "/api/v1/assets/{id}/authentication", params(("id" = String, Path)), request_body = tumbler_core::device_keys::AuthenticationInput, responses((status = 202, description = "`{job_id}`", body = super::answers::JobStarted), (status = 400), (status = 404)))]
pub async fn modify_authentication(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<AssetId>,
    JsonBody(input): JsonBody<AuthenticationInput>,
) -> Result<(StatusCode, Json<JobStarted>), ApiError> {
    let job = state
        .device_keys
        .modify_authentication(&p, &id, input, &origin)
        .await?;
    Ok(accepted(job))
}

/// Resolves the key conflicts of the listed devices; answers with the job.
#[utoipa::path(post, path = "/api/v1/key-conflicts/resolve", request_body = tumbler_core::device_keys::ResolveInput, responses((status = 202, description = "`{job_id}`", body = super::answers::JobStarted), (status = 400), (status = 404)))]
pub async fn resolve(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(input): JsonBody<ResolveInput>,
) -> Result<(StatusCode, Json<JobStarted>), ApiError> {
    let job = state
        .device_keys
        .resolve_conflicts(&p, input, &origin)
        .await?;
    Ok(accepted(job))
}

/// A job's state, progress and per-device outcomes.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", params(("id" = String, Path)), responses((status = 200, description = "The job", body = JobView), (status = 404)))]
pub async fn job(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<tumbler_domain::ids::JobId>,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(state.device_keys.job(&p, &id).await?))
}
