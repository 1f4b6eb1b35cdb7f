//! The caller's own account: who am I, change my password, my API tokens.

use crate::api::auth::user_view;
use crate::api::json_body::DeferredJsonBody;
use crate::error::ApiError;
use crate::middleware::auth::{AnyCaller, Caller, Origin, PendingCaller};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
pub use tumbler_api_types::auth::MeOut;
use tumbler_api_types::users::CreateTokenRequest;
use tumbler_core::{AuthError, AuthMethod, Reauthentication};
use tumbler_domain::audit::AuditAction;
use tumbler_domain::ids::TokenId;
use tumbler_store::ApiTokenRow;

pub use tumbler_api_types::users::{CreatedToken, TokenView};

/// The caller.
#[utoipa::path(get, path = "/api/v1/users/me", responses((status = 200, body = MeOut), (status = 401)))]
pub async fn me(
    State(state): State<AppState>,
    AnyCaller(p): AnyCaller,
) -> Result<Json<MeOut>, ApiError> {
    let mine = state.domains.mine(&p).await?;
    let name = |id: &tumbler_domain::ids::DomainId| {
        mine.iter().find(|d| &d.id == id).map(|d| d.name.clone())
    };
    Ok(Json(MeOut {
        user: user_view(&p.user),
        mfa_enabled: p.user.mfa_enabled,
        domains: mine.iter().map(|d| d.name.clone()).collect(),
        active_domain: p.active_domain.as_ref().and_then(name),
        all_domains: p.all_domains,
        visible_domains: p.visible_domains().iter().filter_map(name).collect(),
        permissions: p
            .permissions
            .iter()
            .map(|x| x.as_str().to_owned())
            .collect(),
    }))
}

/// `POST /api/v1/users/me/password` body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ChangePasswordRequest {
    /// The current password.
    #[schema(value_type = String, format = Password)]
    pub old_password: SecretString,
    /// The new password.
    #[schema(value_type = String, format = Password)]
    pub new_password: SecretString,
    /// A fresh TOTP code: required when the user has TOTP.
    pub totp: Option<String>,
}

/// Completes HTTP Basic of a user with TOTP with the body's fresh `totp` code, before anything
/// else of the body is looked at: a missing or wrong code, and any failure while the second
/// factor is missing, is answered `401 invalid_credentials` like a wrong password, so a right
/// password with a bad body cannot be told from a wrong one.
async fn complete_basic(
    state: &AppState,
    p: &mut tumbler_core::Principal,
    body: &DeferredJsonBody,
    action: AuditAction,
    origin: &tumbler_core::RequestOrigin,
) -> Result<(), ApiError> {
    if p.mfa_verified || p.method != AuthMethod::Basic {
        return Ok(());
    }
    let proof = Reauthentication {
        current_password: None,
        totp: body.string_field("totp"),
    };
    match state.auth.reauthenticate(p, proof, action, origin).await {
        Ok(()) => {
            p.mfa_verified = true;
            Ok(())
        }
        // Locked or throttled say so after a wrong password too; the rest looks like one.
        Err(e @ (AuthError::AccountLocked | AuthError::RateLimited { .. })) => Err(e.into()),
        Err(_) => Err(AuthError::InvalidCredentials.into()),
    }
}

/// Changes the caller's own password. HTTP Basic only, as the reference requires.
#[utoipa::path(post, path = "/api/v1/users/me/password", request_body = ChangePasswordRequest,
    responses((status = 204), (status = 401), (status = 403), (status = 422, body = crate::error::ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    Origin(origin): Origin,
    PendingCaller(mut p): PendingCaller,
    body: DeferredJsonBody,
) -> Result<StatusCode, ApiError> {
    if p.method != AuthMethod::Basic {
        return Err(AuthError::BasicAuthRequired.into());
    }
    complete_basic(
        &state,
        &mut p,
        &body,
        AuditAction::UserPasswordChange,
        &origin,
    )
    .await?;
    let req: ChangePasswordRequest = body.parse()?;
    state
        .auth
        .change_own_password(&p, req.old_password, req.new_password, &origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The API view of a token.
pub(crate) fn token_view(t: ApiTokenRow) -> TokenView {
    TokenView {
        id: t.id.to_string(),
        name: t.name,
        prefix: t.prefix,
        created_at: t.created_at,
        expires_at: t.expires_at,
        last_used_at: t.last_used_at,
        revoked_at: t.revoked_at,
    }
}

/// The caller's tokens.
#[utoipa::path(get, path = "/api/v1/users/me/tokens", responses((status = 200, body = crate::api::Page<TokenView>)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<crate::api::Page<TokenView>>, ApiError> {
    let page: crate::api::Page<TokenView> = state
        .auth
        .list_tokens(&p)
        .await?
        .into_iter()
        .map(token_view)
        .collect();
    Ok(Json(page))
}

/// Creates an API token for the caller.
#[utoipa::path(post, path = "/api/v1/users/me/tokens", request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedToken), (status = 400, body = crate::error::ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    Origin(origin): Origin,
    PendingCaller(mut p): PendingCaller,
    body: DeferredJsonBody,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    complete_basic(&state, &mut p, &body, AuditAction::TokenCreate, &origin).await?;
    let req: CreateTokenRequest = body.parse()?;
    let proof = Reauthentication {
        current_password: req.current_password.map(SecretString::from),
        totp: req.totp,
    };
    let created = state
        .auth
        .create_token(&p, &req.name, req.expires_at, proof, &origin)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            record: token_view(created.record),
            token: created.token.expose_secret().to_owned(),
        }),
    ))
}

/// Revokes one of the caller's tokens.
#[utoipa::path(delete, path = "/api/v1/users/me/tokens/{id}", params(("id" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<TokenId>,
) -> Result<StatusCode, ApiError> {
    state.auth.revoke_token(&p, &id, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}
