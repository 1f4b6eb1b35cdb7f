//! Server settings: the password policy.

use crate::error::ApiError;
use crate::middleware::auth::{AnyCaller, Caller, Origin};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
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

/// The password policy; any signed-in user may read it.
#[utoipa::path(get, path = "/api/v1/settings/password-policy", responses((status = 200, body = PolicyOut)))]
pub async fn get_policy(
    State(state): State<AppState>,
    AnyCaller(_caller): AnyCaller,
) -> Result<Json<PolicyOut>, ApiError> {
    Ok(Json(out(state.policy.get().await?)))
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
