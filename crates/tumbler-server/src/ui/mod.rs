//! The console: server-rendered pages and their forms. Every form carries a CSRF token; the
//! pages call the same services as the API.
//!
//! A page handler takes [`frame::ConsolePage`] (or [`frame::SignedIn`] for the pages a pending
//! password change still reaches), a form handler [`console_form::ConsoleForm`]; each gives
//! the caller and the [`frame::PageFrame`] the page struct embeds (`frame: PageFrame`, read by
//! `templates/page.html`). Handlers answer [`frame::ConsoleResult`]: a page, or a
//! [`frame::ConsoleError`] shown as the error page in the caller's frame.

mod account_edit;
mod asset_detail;
mod asset_form;
mod asset_list;
mod assets;
mod audit;
mod bulk_acknowledge;
mod certificate;
mod certificate_paste;
mod change_history;
mod change_secret;
mod change_task_form;
pub mod console_form;
mod dashboard;
mod device_keys;
mod domain;
mod error_page;
mod failures;
pub mod flash;
pub mod frame;
mod jobs;
pub(crate) mod labels;
mod mfa;
mod node_forms;
pub(crate) mod pages;
pub mod qr;
mod run_chart;
mod sessions;
mod settings;
mod settings_mail;
mod settings_webhooks;
mod tokens;
mod user_edit;
mod user_reset;
mod users;
pub mod when;

use crate::state::AppState;
use axum::routing::{get, post, MethodRouter};
use axum::Router;

/// The console's form routes: every `POST` but the login form, each handler taking a
/// [`console_form::ConsoleForm`] (the router test posts to each one without a CSRF token).
fn form_routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/logout", post(pages::logout)),
        ("/account/password", post(pages::password_submit)),
        ("/account/mfa/begin", post(mfa::begin)),
        ("/account/mfa/confirm", post(mfa::confirm)),
        ("/account/mfa/cancel", post(mfa::cancel)),
        ("/account/mfa/recovery-codes", post(mfa::recovery_codes)),
        ("/account/mfa/disable", post(mfa::disable)),
        ("/users", post(users::create)),
        ("/users/{id}/unlock", post(users::unlock)),
        ("/users/{id}/status", post(users::set_status)),
        ("/account/sessions/{id}/end", post(sessions::end)),
        ("/account/domain", post(domain::save)),
        ("/users/{id}/edit", post(user_edit::save)),
        ("/users/{id}/end-sessions", post(user_edit::end_sessions)),
        ("/users/{id}/delete", post(user_edit::delete)),
        ("/users/{id}/reset-password", post(user_reset::reset)),
        ("/settings/password", post(settings::save)),
        ("/settings/mail", post(settings_mail::save)),
        ("/settings/webhooks", post(settings_webhooks::add)),
        (
            "/settings/webhooks/{id}/delete",
            post(settings_webhooks::delete),
        ),
        ("/account/certificate", post(certificate::register)),
        (
            "/account/certificate/{id}/remove",
            post(certificate::remove),
        ),
        ("/assets/resolve-conflict", post(device_keys::resolve)),
        ("/assets/{id}/authentication", post(device_keys::modify)),
        (
            "/settings/device-key/regenerate",
            post(device_keys::regenerate),
        ),
        ("/settings/device-key/export", post(device_keys::export)),
        ("/nodes", post(node_forms::create)),
        ("/nodes/{id}", post(node_forms::change)),
        ("/assets/acknowledge", post(bulk_acknowledge::acknowledge)),
        ("/assets/new", post(asset_form::create)),
        ("/assets/{id}/edit", post(asset_form::save)),
        ("/assets/{id}/test", post(asset_detail::test)),
        ("/assets/{id}/acknowledge", post(asset_detail::acknowledge)),
        ("/assets/{id}/delete", post(asset_detail::delete)),
        ("/assets/{id}/accounts", post(asset_detail::add_account)),
        ("/accounts/{id}/verify", post(asset_detail::verify_account)),
        (
            "/accounts/{id}/reconcile",
            post(asset_detail::reconcile_account),
        ),
        ("/accounts/{id}/reveal", post(asset_detail::reveal_account)),
        ("/accounts/{id}/delete", post(asset_detail::delete_account)),
        ("/accounts/{id}", post(account_edit::save)),
        (
            "/change-secret/reconcile",
            post(change_secret::reconcile_selected),
        ),
        ("/change-secret/tasks", post(change_task_form::create)),
        ("/change-secret/tasks/{id}", post(change_task_form::update)),
        (
            "/change-secret/tasks/{id}/execute",
            post(change_secret::execute),
        ),
        (
            "/change-secret/tasks/{id}/{action}",
            post(change_task_form::task_button),
        ),
        (
            "/change-secret/executions/{id}/retry-failed",
            post(change_secret::retry_failed),
        ),
        (
            "/change-secret/records/{id}/{action}",
            post(change_secret::record_action),
        ),
        ("/account/tokens", post(tokens::create)),
        ("/account/tokens/{id}/revoke", post(tokens::revoke)),
    ]
}

/// The paths of the console's form routes (`POST`, CSRF token and session required), as the
/// router is built from them.
pub fn console_post_paths() -> Vec<&'static str> {
    form_routes().into_iter().map(|(path, _)| path).collect()
}

/// A console page route: `GET` only, by construction (a page never changes anything, so it
/// needs no CSRF token; every action is a form route).
pub struct PageRoute(MethodRouter<AppState>);

/// A page handler as a [`PageRoute`].
fn page<H, T>(handler: H) -> PageRoute
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    PageRoute(get(handler))
}

/// The console's pages (`GET`), the login page among them.
fn page_routes() -> Vec<(&'static str, PageRoute)> {
    vec![
        ("/", page(dashboard::show)),
        ("/login", page(pages::login_page)),
        ("/account/password", page(pages::password_page)),
        ("/account/mfa", page(mfa::show)),
        ("/users", page(users::list)),
        ("/account/sessions", page(sessions::list)),
        ("/account/domain", page(domain::show)),
        ("/users/{id}/edit", page(user_edit::show)),
        ("/settings/password", page(settings::show)),
        ("/settings/mail", page(settings_mail::show)),
        ("/settings/webhooks", page(settings_webhooks::show)),
        ("/account/certificate", page(certificate::show)),
        ("/assets", page(asset_list::list)),
        ("/jobs", page(jobs::list)),
        ("/jobs/{id}", page(device_keys::job)),
        (
            "/assets/resolve-conflict",
            page(device_keys::resolve_dialog),
        ),
        ("/assets/acknowledge", page(bulk_acknowledge::dialog)),
        ("/settings/device-key", page(device_keys::show)),
        ("/assets/new", page(asset_form::new_form)),
        ("/assets/{id}", page(asset_detail::show)),
        ("/assets/{id}/edit", page(asset_form::edit_form)),
        ("/accounts/{id}/edit", page(account_edit::show)),
        ("/change-secret", page(change_secret::overview)),
        ("/change-secret/tasks/new", page(change_task_form::new_form)),
        (
            "/change-secret/tasks/{id}/edit",
            page(change_task_form::edit_form),
        ),
        ("/change-secret/executions", page(change_history::history)),
        ("/change-secret/executions/{id}", page(change_secret::run)),
        ("/static/{file}", page(assets::serve)),
        ("/account/tokens", page(tokens::show)),
        ("/audit", page(audit::show)),
        ("/audit/export.csv", page(audit::export)),
    ]
}

/// The paths of the console's pages (`GET` only), as the router is built from them.
pub fn console_page_paths() -> Vec<&'static str> {
    page_routes().into_iter().map(|(path, _)| path).collect()
}

/// The console routes: the pages (`GET`), the login form (the one `POST` without a session
/// and so without a CSRF token), then the form routes.
pub fn routes() -> Router<AppState> {
    let router = Router::new().route("/login", post(pages::login_submit));
    let router = page_routes()
        .into_iter()
        .fold(router, |router, (path, PageRoute(handler))| {
            router.route(path, handler)
        });
    form_routes()
        .into_iter()
        .fold(router, |router, (path, handler)| {
            router.route(path, handler)
        })
        .layer(axum::middleware::from_fn(error_page::frame_errors))
}
