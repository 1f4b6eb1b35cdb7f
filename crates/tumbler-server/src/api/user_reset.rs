//! `POST /api/v1/users/{id}/reset-password`: an administrator issues another user a new
//! temporary password (shown once), optionally resetting the user's second factor.

use crate::api::json_body::JsonBody;
use crate::error::ApiError;
use crate::middleware::auth::{Caller, Origin};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use secrecy::ExposeSecret;
use tumbler_api_types::users::{ResetPasswordIn, ResetPasswordOut};
use tumbler_domain::ids::UserId;

/// Issues a user a new temporary password (users_manage and a fresh code; never oneself,
/// never a user holding a permission or domain you do not). The user's sessions end and the
/// account is unlocked; audited.
#[utoipa::path(post, path = "/api/v1/users/{id}/reset-password", params(("id" = String, Path)), request_body = ResetPasswordIn, responses((status = 200, body = ResetPasswordOut), (status = 401), (status = 403), (status = 404)))]
pub async fn reset_password(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<UserId>,
    JsonBody(body): JsonBody<ResetPasswordIn>,
) -> Result<Json<ResetPasswordOut>, ApiError> {
    let password = state
        .auth
        .reset_password_of(&p, &id, body.reset_totp, body.totp.as_deref(), &origin)
        .await?;
    Ok(Json(ResetPasswordOut {
        temporary_password: password.expose_secret().to_owned(),
        totp_reset: body.reset_totp,
    }))
}
