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
        super::settings::get_smtp,
        super::settings::put_smtp,
        super::settings::test_smtp,
        super::webhooks::list,
        super::webhooks::create,
        super::webhooks::delete,
        super::device_keys::show,
        super::device_keys::regenerate,
        super::device_keys::export,
        super::device_keys::modify_authentication,
        super::device_keys::resolve,
        super::device_keys::job,
        super::certificates::list,
        super::certificates::register,
        super::certificates::remove,
        super::roles::list,
        super::roles::create,
        super::roles::set_mfa,
        super::roles::delete,
        super::audit::list,
        super::audit::verify,
        super::assets::platforms,
        super::assets::get_settings,
        super::assets::put_settings,
        super::nodes::list,
        super::nodes::create,
        super::nodes::patch,
        super::nodes::delete,
        super::assets::list,
        super::assets::create,
        super::assets::get,
        super::assets::patch,
        super::assets::delete,
        super::assets::test,
        super::assets::acknowledge,
        super::assets::acknowledge_many,
        super::accounts::list,
        super::accounts::create,
        super::accounts::get,
        super::accounts::patch,
        super::accounts::delete,
        super::accounts::verify,
        super::accounts::reveal,
        super::transfer::import_assets,
        super::transfer::export_assets,
        super::transfer::import_accounts,
        super::transfer::export_accounts,
        super::change_secret::list_tasks,
        super::change_secret::create_task,
        super::change_secret::get_task,
        super::change_secret::patch_task,
        super::change_secret::delete_task,
        super::change_secret::copy_task,
        super::change_secret::execute_task,
        super::change_secret::list_executions,
        super::change_secret::get_execution,
        super::change_secret::execution_log,
        super::change_secret::execution_report,
        super::change_secret::list_records,
        super::change_secret::record_action,
        super::change_secret::reveal_record,
        super::change_secret::overview,
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
