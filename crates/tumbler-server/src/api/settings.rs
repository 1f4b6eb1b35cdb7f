//! Server settings: the password policy and the SMTP server.

use crate::error::ApiError;
use crate::middleware::auth::{AnyCaller, Caller, Origin};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use tumbler_core::mail::{SmtpInput, SmtpView};
use tumbler_domain::password_policy::PasswordPolicy;

/// The policy with its rules in words (the text of the console's rules tooltip).
#[derive(Serialize, utoipa::ToSchema)]
pub struct PolicyOut {
    /// The settings.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub policy: PasswordPolicy,
    /// The rules as sentences.
    pub rules: Vec<String>,
}

fn out(policy: PasswordPolicy) -> PolicyOut {
    PolicyOut {
        rules: policy.describe(),
        policy,
    }
}

/// The password policy; any signed-in user may read it. `custom_blocklist` is left out
/// unless the caller may manage settings.
#[utoipa::path(get, path = "/api/v1/settings/password-policy", responses((status = 200, body = PolicyOut)))]
pub async fn get_policy(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let view = state.policy.view(&caller).await?;
    let mut body = serde_json::to_value(PolicyOut {
        policy: view.policy,
        rules: view.rules,
    })
    .map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error",
        )
    })?;
    if !view.blocklist_shown {
        if let Some(fields) = body.as_object_mut() {
            fields.remove("custom_blocklist");
        }
    }
    Ok(Json(body))
}

/// Replaces the password policy (administrators). Unknown fields are refused.
#[utoipa::path(put, path = "/api/v1/settings/password-policy", request_body(content = Object), responses((status = 200, body = PolicyOut), (status = 400), (status = 403)))]
pub async fn put_policy(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Json(policy): Json<PasswordPolicy>,
) -> Result<Json<PolicyOut>, ApiError> {
    Ok(Json(out(state.policy.set(&p, policy, &origin).await?)))
}

/// The SMTP settings (administrators); `null` when none are saved. The password is never
/// returned, only whether one is stored.
#[utoipa::path(get, path = "/api/v1/settings/smtp", responses((status = 200, body = Object), (status = 403)))]
pub async fn get_smtp(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<Option<SmtpView>>, ApiError> {
    Ok(Json(state.mail.settings(&p).await?))
}

/// Replaces the SMTP settings (administrators; `{host, port, security: none|starttls|tls,
/// username?, password?, from}`; the password is write-only and sealed in the vault).
#[utoipa::path(put, path = "/api/v1/settings/smtp", request_body(content = Object), responses((status = 200, body = Object), (status = 400), (status = 403)))]
pub async fn put_smtp(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Json(input): Json<SmtpInput>,
) -> Result<Json<SmtpView>, ApiError> {
    Ok(Json(state.mail.set_settings(&p, input, &origin).await?))
}

/// Where the test mail went.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TestMailOut {
    /// The caller's address.
    pub sent_to: String,
}

/// Sends a test mail to the caller's own address (administrators).
#[utoipa::path(post, path = "/api/v1/settings/smtp/test", responses((status = 200, body = TestMailOut), (status = 400), (status = 403), (status = 502)))]
pub async fn test_smtp(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
) -> Result<Json<TestMailOut>, ApiError> {
    Ok(Json(TestMailOut {
        sent_to: state.mail.send_test(&p, &origin).await?,
    }))
}
