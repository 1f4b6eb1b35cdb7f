//! The JSON API under `/api/v1` and the operational endpoints.

pub mod accounts;
pub mod answers;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod certificates;
pub mod change_secret;
pub mod device_keys;
pub mod domains;
pub mod health;
pub mod json_body;
pub mod me;
pub mod nodes;
pub mod openapi;
pub mod roles;
pub mod settings;
pub mod totp;
pub mod transfer;
pub mod user_reset;
pub mod users;
pub mod webhooks;

use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest CSV file an import accepts (100,000 accounts with passwords fit many times).
const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

/// Every API route with its OpenAPI operation, each path written once (in the handler's
/// `#[utoipa::path]`), grouped by the area that tags it in the document. The document is
/// completed by [`openapi::complete`] and served at `/api/v1/openapi.json`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(area(
            "health",
            OpenApiRouter::new()
                .routes(routes!(health::healthz))
                .routes(routes!(health::readyz))
                .routes(routes!(health::metrics)),
        ))
        .merge(area(
            "auth",
            OpenApiRouter::new()
                .routes(routes!(auth::login))
                .routes(routes!(auth::logout)),
        ))
        .merge(area(
            "me",
            OpenApiRouter::new()
                .routes(routes!(me::me))
                .routes(routes!(me::change_password))
                .routes(routes!(me::list_tokens, me::create_token))
                .routes(routes!(me::revoke_token)),
        ))
        .merge(area(
            "totp",
            OpenApiRouter::new()
                .routes(routes!(totp::begin, totp::status))
                .routes(routes!(totp::cancel))
                .routes(routes!(totp::confirm))
                .routes(routes!(totp::disable))
                .routes(routes!(totp::recovery_codes)),
        ))
        .merge(area(
            "certificates",
            OpenApiRouter::new()
                .routes(routes!(certificates::list, certificates::register))
                .routes(routes!(certificates::remove)),
        ))
        .merge(area(
            "users",
            OpenApiRouter::new()
                .routes(routes!(users::list, users::create))
                .routes(routes!(users::my_sessions))
                .routes(routes!(users::end_my_session))
                .routes(routes!(users::get, users::patch, users::delete))
                .routes(routes!(users::unlock))
                .routes(routes!(users::user_sessions, users::end_user_sessions)),
        ))
        .merge(area(
            "user_reset",
            OpenApiRouter::new().routes(routes!(user_reset::reset_password)),
        ))
        .merge(area(
            "domains",
            OpenApiRouter::new()
                .routes(routes!(domains::list, domains::create))
                .routes(routes!(domains::delete))
                .routes(routes!(domains::set_active))
                .routes(routes!(domains::set_visibility)),
        ))
        .merge(area(
            "settings",
            OpenApiRouter::new()
                .routes(routes!(
                    settings::get_policy,
                    settings::put_policy,
                    settings::patch_policy
                ))
                .routes(routes!(settings::get_smtp, settings::put_smtp))
                .routes(routes!(settings::test_smtp)),
        ))
        .merge(area(
            "webhooks",
            OpenApiRouter::new()
                .routes(routes!(webhooks::list, webhooks::create))
                .routes(routes!(webhooks::delete)),
        ))
        .merge(area(
            "device_keys",
            OpenApiRouter::new()
                .routes(routes!(device_keys::show))
                .routes(routes!(device_keys::regenerate))
                .routes(routes!(device_keys::export))
                .routes(routes!(device_keys::modify_authentication))
                .routes(routes!(device_keys::resolve))
                .routes(routes!(device_keys::job)),
        ))
        .merge(area(
            "roles",
            OpenApiRouter::new()
                .routes(routes!(roles::list, roles::create))
                .routes(routes!(roles::delete))
                .routes(routes!(roles::set_mfa)),
        ))
        .merge(area(
            "audit",
            OpenApiRouter::new()
                .routes(routes!(audit::list))
                .routes(routes!(audit::verify)),
        ))
        .merge(area(
            "nodes",
            OpenApiRouter::new()
                .routes(routes!(nodes::list, nodes::create))
                .routes(routes!(nodes::patch, nodes::delete)),
        ))
        .merge(area(
            "assets",
            OpenApiRouter::new()
                .routes(routes!(assets::platforms))
                .routes(routes!(assets::get_settings, assets::put_settings))
                .routes(routes!(assets::list, assets::create))
                .routes(routes!(assets::acknowledge_many))
                .routes(routes!(assets::get, assets::patch, assets::delete))
                .routes(routes!(assets::test))
                .routes(routes!(assets::acknowledge)),
        ))
        .merge(area(
            "transfer",
            OpenApiRouter::new()
                .routes(routes!(transfer::import_assets))
                .routes(routes!(transfer::import_accounts))
                .layer(DefaultBodyLimit::max(IMPORT_LIMIT))
                .routes(routes!(transfer::export_assets))
                .routes(routes!(transfer::export_accounts)),
        ))
        .merge(area(
            "accounts",
            OpenApiRouter::new()
                .routes(routes!(accounts::list, accounts::create))
                .routes(routes!(accounts::get, accounts::patch, accounts::delete))
                .routes(routes!(accounts::reconcile_many))
                .routes(routes!(accounts::verify))
                .routes(routes!(accounts::reconcile))
                .routes(routes!(accounts::reveal)),
        ))
        .merge(area(
            "change_secret",
            OpenApiRouter::new()
                .routes(routes!(
                    change_secret::list_tasks,
                    change_secret::create_task
                ))
                .routes(routes!(
                    change_secret::get_task,
                    change_secret::patch_task,
                    change_secret::delete_task
                ))
                .routes(routes!(change_secret::copy_task))
                .routes(routes!(change_secret::execute_task))
                .routes(routes!(change_secret::list_executions))
                .routes(routes!(change_secret::get_execution))
                .routes(routes!(change_secret::execution_log))
                .routes(routes!(change_secret::retry_failed))
                .routes(routes!(change_secret::execution_report))
                .routes(routes!(change_secret::list_records))
                .routes(routes!(change_secret::reveal_record))
                .routes(routes!(change_secret::record_action))
                .routes(routes!(change_secret::overview)),
        ))
}

/// Tags every operation of `routes` with its area (the document groups operations by tag).
fn area(tag: &str, mut routes: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    for item in routes.get_openapi_mut().paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            op.tags = Some(vec![tag.to_owned()]);
        }
    }
    routes
}

/// The API routes, with `/api/v1/openapi.json` serving the document built from them.
pub fn routes() -> axum::Router<AppState> {
    let (router, doc) = router().split_for_parts();
    let doc = std::sync::Arc::new(openapi::complete(doc));
    router.route(
        "/api/v1/openapi.json",
        axum::routing::get(move || openapi::document(doc.clone())),
    )
}

pub use tumbler_api_types::Page;

/// `?limit=&offset=` clamped to the one page bound ([`tumbler_domain::paging::MAX_PAGE`]).
pub fn page_bounds(limit: Option<i64>, offset: Option<i64>) -> (i64, i64) {
    use tumbler_domain::paging::{page_limit, page_offset};
    (page_limit(limit), page_offset(offset))
}
