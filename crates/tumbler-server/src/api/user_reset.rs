//! `POST /api/v1/users/{id}/reset-password`: an administrator issues another user a new
//! temporary password (shown once), optionally resetting the user's second factor.

use crate::api::json_body::JsonBody;
use crate::error::ApiError;
use crate::middleware::auth::{Caller, Origin};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tumbler_domain::ids::UserId;

/// `POST /api/v1/users/{id}/reset-password` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordIn {
    /// Also turn the user's second factor off (they re-enrol after logging in).
    #[serde(default)]
    pub reset_totp: bool,
    /// Your own fresh authentication code (TOTP or recovery code).
    #[schema(value_type = Option<String>)]
    pub totp: Option<SecretString>,
}

/// The new temporary password, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ResetPasswordOut {
    /// The temporary password; it must be changed at the next login.
    pub temporary_password: String,
    /// Whether the second factor was reset.
    pub totp_reset: bool,
}

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
        .reset_password_of(
            &p,
            &id,
            body.reset_totp,
            body.totp.as_ref().map(|c| c.expose_secret()),
            &origin,
        )
        .await?;
    Ok(Json(ResetPasswordOut {
        temporary_password: password.expose_secret().to_owned(),
        totp_reset: body.reset_totp,
    }))
}
