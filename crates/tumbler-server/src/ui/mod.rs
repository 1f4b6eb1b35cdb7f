//! The console: server-rendered pages and their forms. Every form carries a CSRF token; the
//! pages call the same services as the API.

mod assets;
mod certificate;
mod domain;
mod mfa;
pub(crate) mod pages;
pub mod qr;
mod sessions;
mod settings;
mod user_edit;
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
            "/settings/password",
            get(settings::show).post(settings::save),
        )
        .route(
            "/account/certificate",
            get(certificate::show).post(certificate::register),
        )
        .route(
            "/account/certificate/{id}/remove",
            axum::routing::post(certificate::remove),
        )
        .route("/static/{file}", get(assets::serve))
}
