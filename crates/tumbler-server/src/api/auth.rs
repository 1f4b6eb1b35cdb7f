//! Login and logout for API clients that want a session (the console uses its own form).

use crate::api::json_body::JsonBody;
use crate::error::ApiError;
use crate::middleware::auth::{AnyCaller, Origin};
use crate::session_cookie;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_extra::extract::cookie::CookieJar;
use secrecy::SecretString;
use serde::Deserialize;
pub use tumbler_api_types::auth::{LoginResponse, UserView};

/// `POST /api/v1/auth/login` body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password.
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    /// TOTP code, when enrolled.
    pub totp: Option<String>,
}

/// A user as the API shows it.
pub fn user_view(u: &tumbler_domain::user::User) -> UserView {
    UserView {
        id: u.id.to_string(),
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        email: u.email.clone(),
        kind: u.kind,
        status: u.status,
        roles: u.roles.clone(),
        must_change_password: u.must_change_password,
    }
}

/// Logs in and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = crate::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Origin(origin): Origin,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let ok = state
        .auth
        .login(&req.username, req.password, req.totp.as_deref(), &origin)
        .await?;
    let body = LoginResponse {
        must_change_password: ok.user.must_change_password,
        user: user_view(&ok.user),
        password_expires_at: state.auth.password_expires_at(&ok.user).await?,
        csrf_token: ok.session.csrf_token.clone(),
    };
    let cookie = session_cookie::set(&ok.cookie_secret, &ok.session, state.tls);
    Ok((CookieJar::new().add(cookie), Json(body)).into_response())
}

/// Ends the caller's session.
#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204)))]
pub async fn logout(
    State(state): State<AppState>,
    Origin(origin): Origin,
    AnyCaller(p): AnyCaller,
) -> Result<Response, ApiError> {
    state.auth.logout(&p, &origin).await?;
    Ok((
        StatusCode::NO_CONTENT,
        CookieJar::new().add(session_cookie::clear(state.tls)),
    )
        .into_response())
}
