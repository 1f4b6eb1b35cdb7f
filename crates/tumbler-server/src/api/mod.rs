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
use axum::routing::{delete, get, post, put};
use axum::Router;

/// The largest CSV file an import accepts (100,000 accounts with passwords fit many times).
const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

/// The API routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/users/me", get(me::me))
        .route("/api/v1/users/me/password", post(me::change_password))
        .route(
            "/api/v1/users/me/tokens",
            get(me::list_tokens).post(me::create_token),
        )
        .route("/api/v1/users/me/tokens/{id}", delete(me::revoke_token))
        .route("/api/v1/users/me/totp", post(totp::begin))
        .route("/api/v1/users/me/totp/confirm", post(totp::confirm))
        .route("/api/v1/users/me/totp/disable", post(totp::disable))
        .route(
            "/api/v1/users/me/totp/recovery-codes",
            post(totp::recovery_codes),
        )
        .route(
            "/api/v1/users/me/certificates",
            get(certificates::list).post(certificates::register),
        )
        .route(
            "/api/v1/users/me/certificates/{id}",
            delete(certificates::remove),
        )
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/me/sessions", get(users::my_sessions))
        .route(
            "/api/v1/users/me/sessions/{id}",
            delete(users::end_my_session),
        )
        .route(
            "/api/v1/users/{id}",
            get(users::get).patch(users::patch).delete(users::delete),
        )
        .route("/api/v1/users/{id}/unlock", post(users::unlock))
        .route(
            "/api/v1/users/{id}/reset-password",
            post(user_reset::reset_password),
        )
        .route(
            "/api/v1/users/{id}/sessions",
            get(users::user_sessions).delete(users::end_user_sessions),
        )
        .route("/api/v1/domains", get(domains::list).post(domains::create))
        .route("/api/v1/domains/{id}", delete(domains::delete))
        .route("/api/v1/users/me/active-domain", put(domains::set_active))
        .route(
            "/api/v1/users/me/object-visibility",
            put(domains::set_visibility),
        )
        .route(
            "/api/v1/settings/password-policy",
            get(settings::get_policy)
                .put(settings::put_policy)
                .patch(settings::patch_policy),
        )
        .route(
            "/api/v1/settings/smtp",
            get(settings::get_smtp).put(settings::put_smtp),
        )
        .route("/api/v1/settings/smtp/test", post(settings::test_smtp))
        .route(
            "/api/v1/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route("/api/v1/webhooks/{id}", delete(webhooks::delete))
        .route("/api/v1/system/ssh-key", get(device_keys::show))
        .route(
            "/api/v1/system/ssh-key/regenerate",
            post(device_keys::regenerate),
        )
        .route("/api/v1/system/ssh-key/export", post(device_keys::export))
        .route(
            "/api/v1/assets/{id}/authentication",
            post(device_keys::modify_authentication),
        )
        .route("/api/v1/key-conflicts/resolve", post(device_keys::resolve))
        .route("/api/v1/jobs/{id}", get(device_keys::job))
        .route("/api/v1/roles", get(roles::list).post(roles::create))
        .route("/api/v1/roles/{name}", delete(roles::delete))
        .route("/api/v1/roles/{name}/mfa", put(roles::set_mfa))
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/audit/verify", get(audit::verify))
        .route("/api/v1/platforms", get(assets::platforms))
        .route(
            "/api/v1/settings/inventory",
            get(assets::get_settings).put(assets::put_settings),
        )
        .route("/api/v1/nodes", get(nodes::list).post(nodes::create))
        .route(
            "/api/v1/nodes/{id}",
            axum::routing::patch(nodes::patch).delete(nodes::delete),
        )
        .route("/api/v1/assets", get(assets::list).post(assets::create))
        .route(
            "/api/v1/assets/import",
            post(transfer::import_assets).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/api/v1/assets/export", get(transfer::export_assets))
        .route(
            "/api/v1/accounts/import",
            post(transfer::import_accounts).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/api/v1/accounts/export", post(transfer::export_accounts))
        .route(
            "/api/v1/assets/host-keys/acknowledge",
            post(assets::acknowledge_many),
        )
        .route(
            "/api/v1/assets/{id}",
            get(assets::get).patch(assets::patch).delete(assets::delete),
        )
        .route("/api/v1/assets/{id}/test", post(assets::test))
        .route(
            "/api/v1/assets/{id}/host-key/acknowledge",
            post(assets::acknowledge),
        )
        .route(
            "/api/v1/accounts",
            get(accounts::list).post(accounts::create),
        )
        .route(
            "/api/v1/accounts/{id}",
            get(accounts::get)
                .patch(accounts::patch)
                .delete(accounts::delete),
        )
        .route("/api/v1/accounts/reconcile", post(accounts::reconcile_many))
        .route("/api/v1/accounts/{id}/verify", post(accounts::verify))
        .route("/api/v1/accounts/{id}/reconcile", post(accounts::reconcile))
        .route("/api/v1/accounts/{id}/reveal", post(accounts::reveal))
        .route(
            "/api/v1/change-secret/tasks",
            get(change_secret::list_tasks).post(change_secret::create_task),
        )
        .route(
            "/api/v1/change-secret/tasks/{id}",
            get(change_secret::get_task)
                .patch(change_secret::patch_task)
                .delete(change_secret::delete_task),
        )
        .route(
            "/api/v1/change-secret/tasks/{id}/copy",
            post(change_secret::copy_task),
        )
        .route(
            "/api/v1/change-secret/tasks/{id}/execute",
            post(change_secret::execute_task),
        )
        .route(
            "/api/v1/change-secret/executions",
            get(change_secret::list_executions),
        )
        .route(
            "/api/v1/change-secret/executions/{id}",
            get(change_secret::get_execution),
        )
        .route(
            "/api/v1/change-secret/executions/{id}/log",
            get(change_secret::execution_log),
        )
        .route(
            "/api/v1/change-secret/executions/{id}/retry-failed",
            post(change_secret::retry_failed),
        )
        .route(
            "/api/v1/change-secret/executions/{id}/report",
            get(change_secret::execution_report),
        )
        .route(
            "/api/v1/change-secret/records",
            get(change_secret::list_records),
        )
        .route(
            "/api/v1/change-secret/records/{id}/reveal",
            post(change_secret::reveal_record),
        )
        .route(
            "/api/v1/change-secret/records/{id}/{action}",
            post(change_secret::record_action),
        )
        .route(
            "/api/v1/change-secret/overview",
            get(change_secret::overview),
        )
}

/// A page of a list: `{"items": [...], "total": N}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// How many items match in all.
    pub total: i64,
}

/// `?limit=&offset=` clamped to sane bounds: page size 1 to 500 (default 50), offset from 0.
pub fn page_bounds(limit: Option<i64>, offset: Option<i64>) -> (i64, i64) {
    (
        limit.unwrap_or(50).clamp(1, 500),
        offset.unwrap_or(0).max(0),
    )
}
