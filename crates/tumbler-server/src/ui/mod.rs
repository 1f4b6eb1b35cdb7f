//! The console: server-rendered pages and their forms. Every form carries a CSRF token; the
//! pages call the same services as the API.

mod asset_detail;
mod asset_form;
mod asset_list;
mod assets;
mod certificate;
mod change_secret;
mod change_task_form;
mod device_keys;
mod domain;
mod mfa;
mod node_forms;
pub(crate) mod pages;
pub mod qr;
mod sessions;
mod settings;
mod settings_mail;
mod settings_webhooks;
mod user_edit;
mod user_reset;
mod users;

use crate::state::AppState;
use axum::routing::get;
use axum::Router;

/// The console routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::dashboard))
        .route("/login", get(pages::login_page).post(pages::login_submit))
        .route("/logout", axum::routing::post(pages::logout))
        .route(
            "/account/password",
            get(pages::password_page).post(pages::password_submit),
        )
        .route("/account/mfa", get(mfa::show))
        .route("/account/mfa/begin", axum::routing::post(mfa::begin))
        .route("/account/mfa/confirm", axum::routing::post(mfa::confirm))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}/unlock", axum::routing::post(users::unlock))
        .route("/users/{id}/status", axum::routing::post(users::set_status))
        .route("/account/sessions", get(sessions::list))
        .route(
            "/account/sessions/{id}/end",
            axum::routing::post(sessions::end),
        )
        .route("/account/domain", get(domain::show).post(domain::save))
        .route(
            "/users/{id}/edit",
            get(user_edit::show).post(user_edit::save),
        )
        .route(
            "/users/{id}/end-sessions",
            axum::routing::post(user_edit::end_sessions),
        )
        .route("/users/{id}/delete", axum::routing::post(user_edit::delete))
        .route(
            "/users/{id}/reset-password",
            axum::routing::post(user_reset::reset),
        )
        .route(
            "/settings/password",
            get(settings::show).post(settings::save),
        )
        .route(
            "/settings/mail",
            get(settings_mail::show).post(settings_mail::save),
        )
        .route(
            "/settings/webhooks",
            get(settings_webhooks::show).post(settings_webhooks::add),
        )
        .route(
            "/settings/webhooks/{id}/delete",
            axum::routing::post(settings_webhooks::delete),
        )
        .route(
            "/account/certificate",
            get(certificate::show).post(certificate::register),
        )
        .route(
            "/account/certificate/{id}/remove",
            axum::routing::post(certificate::remove),
        )
        .route("/assets", get(asset_list::list))
        .route(
            "/assets/resolve-conflict",
            axum::routing::post(device_keys::resolve),
        )
        .route(
            "/assets/{id}/authentication",
            axum::routing::post(device_keys::modify),
        )
        .route("/jobs/{id}", get(device_keys::job))
        .route("/settings/device-key", get(device_keys::show))
        .route(
            "/settings/device-key/regenerate",
            axum::routing::post(device_keys::regenerate),
        )
        .route(
            "/settings/device-key/export",
            axum::routing::post(device_keys::export),
        )
        .route("/nodes", axum::routing::post(node_forms::create))
        .route("/nodes/{id}", axum::routing::post(node_forms::change))
        .route(
            "/assets/acknowledge",
            axum::routing::post(asset_list::acknowledge),
        )
        .route(
            "/assets/new",
            get(asset_form::new_form).post(asset_form::create),
        )
        .route("/assets/{id}", get(asset_detail::show))
        .route(
            "/assets/{id}/edit",
            get(asset_form::edit_form).post(asset_form::save),
        )
        .route("/assets/{id}/test", axum::routing::post(asset_detail::test))
        .route(
            "/assets/{id}/acknowledge",
            axum::routing::post(asset_detail::acknowledge),
        )
        .route(
            "/assets/{id}/delete",
            axum::routing::post(asset_detail::delete),
        )
        .route(
            "/assets/{id}/accounts",
            axum::routing::post(asset_detail::add_account),
        )
        .route(
            "/accounts/{id}/verify",
            axum::routing::post(asset_detail::verify_account),
        )
        .route(
            "/accounts/{id}/reconcile",
            axum::routing::post(asset_detail::reconcile_account),
        )
        .route(
            "/accounts/{id}/reveal",
            axum::routing::post(asset_detail::reveal_account),
        )
        .route(
            "/accounts/{id}/delete",
            axum::routing::post(asset_detail::delete_account),
        )
        .route("/change-secret", get(change_secret::overview))
        .route(
            "/change-secret/reconcile",
            axum::routing::post(change_secret::reconcile_selected),
        )
        .route(
            "/change-secret/tasks",
            axum::routing::post(change_task_form::create),
        )
        .route("/change-secret/tasks/new", get(change_task_form::new_form))
        .route(
            "/change-secret/tasks/{id}",
            axum::routing::post(change_task_form::update),
        )
        .route(
            "/change-secret/tasks/{id}/edit",
            get(change_task_form::edit_form),
        )
        .route(
            "/change-secret/tasks/{id}/execute",
            axum::routing::post(change_secret::execute),
        )
        .route(
            "/change-secret/tasks/{id}/{action}",
            axum::routing::post(change_task_form::task_button),
        )
        .route("/change-secret/executions", get(change_secret::history))
        .route("/change-secret/executions/{id}", get(change_secret::run))
        .route(
            "/change-secret/executions/{id}/retry-failed",
            axum::routing::post(change_secret::retry_failed),
        )
        .route(
            "/change-secret/records/{id}/{action}",
            axum::routing::post(change_secret::record_action),
        )
        .route("/static/{file}", get(assets::serve))
}
