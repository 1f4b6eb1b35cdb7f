//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tumbler",
        description = "Privileged-credential custodian: REST API"
    ),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::health::metrics,
        super::auth::login,
        super::auth::logout,
        super::me::me,
        super::me::change_password,
        super::me::list_tokens,
        super::me::create_token,
        super::me::revoke_token,
        super::users::list,
        super::users::create,
        super::users::get,
        super::users::patch,
        super::users::delete,
        super::users::unlock,
        super::users::my_sessions,
        super::users::end_my_session,
        super::users::user_sessions,
        super::users::end_user_sessions,
        super::totp::begin,
        super::totp::confirm,
        super::totp::disable,
        super::totp::recovery_codes,
        super::domains::list,
        super::domains::create,
        super::domains::delete,
        super::domains::set_active,
        super::domains::set_visibility,
        super::settings::get_policy,
        super::settings::put_policy,
        super::certificates::list,
        super::certificates::register,
        super::certificates::remove,
        super::roles::list,
        super::roles::create,
        super::roles::set_mfa,
        super::roles::delete,
        super::audit::list,
        super::audit::verify,
    ),
    components(schemas(crate::error::ErrorBody))
)]
struct ApiDoc;

/// The OpenAPI document of this server.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /api/v1/openapi.json`
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}
