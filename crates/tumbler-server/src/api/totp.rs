//! The caller's two-factor authentication: enrol (QR code and secret), confirm with a first
//! code (recovery codes shown once), cancel a pending enrolment, see where it stands,
//! regenerate recovery codes, disable.

use crate::api::json_body::JsonBody;
use crate::error::ApiError;
use crate::middleware::auth::{AnyCaller, Origin};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use secrecy::SecretString;
use serde::Deserialize;
use tumbler_api_types::totp::{EnrolmentOut, RecoveryCodesOut, TotpStatusOut};

/// Proof of ownership before enrolment.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct BeginIn {
    /// The current password (not needed with HTTP Basic, which has just given it).
    #[schema(value_type = Option<String>)]
    pub current_password: Option<SecretString>,
}

/// Starts TOTP enrolment (needs the current password: a stolen session or token must not
/// enrol an authenticator of its own). While an enrolment is pending, answers its secret again.
#[utoipa::path(post, path = "/api/v1/users/me/totp", request_body = BeginIn, responses((status = 201, body = EnrolmentOut), (status = 403), (status = 409)))]
pub async fn begin(
    State(state): State<AppState>,
    Origin(origin): Origin,
    AnyCaller(p): AnyCaller,
    req: Option<JsonBody<BeginIn>>,
) -> Result<(StatusCode, Json<EnrolmentOut>), ApiError> {
    let password = req.and_then(|JsonBody(r)| r.current_password);
    let e = state.auth.begin_totp(&p, password, &origin).await?;
    let qr_svg = crate::ui::qr::svg(&e.uri).unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(EnrolmentOut {
            secret: e.secret_base32.to_string(),
            otpauth_uri: e.uri.to_string(),
            qr_svg,
        }),
    ))
}

/// A code from the authenticator app (or a recovery code where accepted).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeIn {
    /// The code.
    #[serde(alias = "totp")]
    pub code: Option<String>,
}

/// The answer listing new recovery codes.
fn codes_out<C: std::ops::Deref<Target = String>>(
    codes: Vec<C>,
) -> Result<Json<RecoveryCodesOut>, ApiError> {
    Ok(Json(RecoveryCodesOut {
        recovery_codes: codes.iter().map(|c| c.as_str().to_owned()).collect(),
    }))
}

/// Confirms enrolment with a first code.
#[utoipa::path(post, path = "/api/v1/users/me/totp/confirm", request_body = CodeIn, responses((status = 200, body = RecoveryCodesOut), (status = 401)))]
pub async fn confirm(
    State(state): State<AppState>,
    Origin(origin): Origin,
    AnyCaller(p): AnyCaller,
    JsonBody(req): JsonBody<CodeIn>,
) -> Result<Json<RecoveryCodesOut>, ApiError> {
    codes_out(
        state
            .auth
            .confirm_totp(&p, req.code.as_deref().unwrap_or(""), &origin)
            .await?,
    )
}

/// New recovery codes (a sensitive action: needs a fresh code).
#[utoipa::path(post, path = "/api/v1/users/me/totp/recovery-codes", request_body = CodeIn, responses((status = 200, body = RecoveryCodesOut), (status = 401), (status = 403)))]
pub async fn recovery_codes(
    State(state): State<AppState>,
    Origin(origin): Origin,
    AnyCaller(p): AnyCaller,
    JsonBody(req): JsonBody<CodeIn>,
) -> Result<Json<RecoveryCodesOut>, ApiError> {
    codes_out(
        state
            .auth
            .regenerate_recovery_codes(&p, req.code.as_deref(), &origin)
            .await?,
    )
}

/// Turns TOTP off (needs a fresh code).
#[utoipa::path(post, path = "/api/v1/users/me/totp/disable", request_body = CodeIn, responses((status = 204), (status = 401), (status = 403)))]
pub async fn disable(
    State(state): State<AppState>,
    Origin(origin): Origin,
    AnyCaller(p): AnyCaller,
    JsonBody(req): JsonBody<CodeIn>,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .disable_totp(&p, req.code.as_deref(), &origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where the caller's two-factor authentication stands: on, pending, recovery codes left.
#[utoipa::path(get, path = "/api/v1/users/me/totp", responses((status = 200, body = TotpStatusOut), (status = 401)))]
pub async fn status(
    State(state): State<AppState>,
    AnyCaller(p): AnyCaller,
) -> Result<Json<TotpStatusOut>, ApiError> {
    let s = state.auth.totp_status(&p).await?;
    Ok(Json(TotpStatusOut {
        enabled: s.enabled,
        pending: s.pending,
        recovery_codes_left: s.recovery_codes_left,
        required_by_role: s.required_by_role,
    }))
}

/// Cancels a pending enrolment (its secret stops working; starting again issues a new one).
#[utoipa::path(post, path = "/api/v1/users/me/totp/cancel", responses((status = 204), (status = 401), (status = 409)))]
pub async fn cancel(
    State(state): State<AppState>,
    Origin(origin): Origin,
    AnyCaller(p): AnyCaller,
) -> Result<StatusCode, ApiError> {
    state.auth.cancel_totp(&p, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}
