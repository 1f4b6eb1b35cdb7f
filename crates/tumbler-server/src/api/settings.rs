//! Server settings: the password policy and the SMTP server.

use crate::api::json_body::JsonBody;
use crate::error::ApiError;
use crate::middleware::auth::{AnyCaller, Caller, Origin};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use secrecy::SecretString;
use serde_json::Value;
use tumbler_api_types::settings::{
    PolicyBody, PolicyPatch, SmtpIn, SmtpOut, SmtpSecurity, TestMailOut,
};
use tumbler_core::mail::{Security, SmtpInput, SmtpView};

/// The password policy; any signed-in user may read it. `custom_blocklist` is left out
/// unless the caller may manage settings.
#[utoipa::path(get, path = "/api/v1/settings/password-policy", responses((status = 200, body = PolicyBody)))]
pub async fn get_policy(
    State(state): State<AppState>,
    AnyCaller(caller): AnyCaller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let view = state.policy.view(&caller).await?;
    let body = PolicyBody {
        rules: view.rules,
        ..view.policy.into()
    };
    let mut body = serde_json::to_value(body).map_err(|_| {
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

/// Replaces the password policy (administrators). Every field is required; unknown fields
/// are refused; the read-only `rules` are ignored.
#[utoipa::path(put, path = "/api/v1/settings/password-policy", request_body = PolicyBody, responses((status = 200, body = PolicyBody), (status = 400), (status = 403)))]
pub async fn put_policy(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(body): JsonBody<PolicyBody>,
) -> Result<Json<PolicyBody>, ApiError> {
    Ok(Json(
        state.policy.set(&p, body.into(), &origin).await?.into(),
    ))
}

/// Changes only the given fields of the password policy (administrators); the others keep
/// their current values. Unknown fields are refused; the read-only `rules` are ignored.
#[utoipa::path(patch, path = "/api/v1/settings/password-policy", request_body = PolicyPatch, responses((status = 200, body = PolicyBody), (status = 400), (status = 403)))]
pub async fn patch_policy(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(patch): JsonBody<PolicyPatch>,
) -> Result<Json<PolicyBody>, ApiError> {
    let internal = || {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error; see the server log",
        )
    };
    let current = PolicyBody::from(state.policy.get().await?);
    let (Ok(Value::Object(mut merged)), Ok(Value::Object(changes))) =
        (serde_json::to_value(current), serde_json::to_value(patch))
    else {
        return Err(internal());
    };
    merged.extend(changes);
    let body: PolicyBody = serde_json::from_value(Value::Object(merged)).map_err(|_| internal())?;
    Ok(Json(
        state.policy.set(&p, body.into(), &origin).await?.into(),
    ))
}

/// The core's transport protection for the API's.
fn security(s: SmtpSecurity) -> Security {
    match s {
        SmtpSecurity::None => Security::None,
        SmtpSecurity::Starttls => Security::Starttls,
        SmtpSecurity::Tls => Security::Tls,
    }
}

/// The API view of the saved SMTP settings.
fn smtp_out(v: SmtpView) -> SmtpOut {
    SmtpOut {
        host: v.host,
        port: v.port,
        security: match v.security {
            Security::None => SmtpSecurity::None,
            Security::Starttls => SmtpSecurity::Starttls,
            Security::Tls => SmtpSecurity::Tls,
        },
        username: v.username,
        from: v.from,
        has_password: v.has_password,
    }
}

/// The SMTP settings (administrators); `null` when none are saved. The password is never
/// returned, only whether one is stored.
#[utoipa::path(get, path = "/api/v1/settings/smtp", responses((status = 200, body = Option<SmtpOut>), (status = 403)))]
pub async fn get_smtp(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<Option<SmtpOut>>, ApiError> {
    Ok(Json(state.mail.settings(&p).await?.map(smtp_out)))
}

/// Replaces the SMTP settings (administrators; the password is write-only and sealed in the
/// vault).
#[utoipa::path(put, path = "/api/v1/settings/smtp", request_body = SmtpIn, responses((status = 200, body = SmtpOut), (status = 400), (status = 403)))]
pub async fn put_smtp(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(input): JsonBody<SmtpIn>,
) -> Result<Json<SmtpOut>, ApiError> {
    let input = SmtpInput {
        host: input.host,
        port: input.port,
        security: security(input.security),
        username: input.username,
        password: input.password.map(SecretString::from),
        from: input.from,
    };
    Ok(Json(smtp_out(
        state.mail.set_settings(&p, input, &origin).await?,
    )))
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
