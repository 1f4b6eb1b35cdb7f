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
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

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
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Email.
    pub email: Option<String>,
    /// `local` or `remote`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `enabled` or `disabled`.
    pub status: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Must change the password before anything else.
    pub must_change_password: bool,
}

impl From<&tumbler_domain::user::User> for UserView {
    fn from(u: &tumbler_domain::user::User) -> Self {
        Self {
            id: u.id.to_string(),
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            kind: u.kind.as_str().to_owned(),
            status: u.status.as_str().to_owned(),
            roles: u.roles.clone(),
            must_change_password: u.must_change_password,
        }
    }
}

/// `POST /api/v1/auth/login` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// The user.
    pub user: UserView,
    /// The password must be changed before anything else.
    pub must_change_password: bool,
    /// When the password expires (no expiry policy yet).
    pub password_expires_at: Option<DateTime<Utc>>,
    /// Echo this in `X-CSRF-Token` on unsafe requests made with the session cookie.
    pub csrf_token: String,
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
        user: UserView::from(&ok.user),
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
