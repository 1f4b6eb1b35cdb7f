//! The console in headless Chromium, one file per story: the first login, a new user's
//! password and TOTP enrolment, one's own password, assets and accounts, a change run with its
//! live log, the settings pages, a device-key conflict, accessibility and layout, the README's
//! screenshots.

mod accessibility;
mod account_edit;
mod api_tokens;
mod assets;
mod audit_log;
mod bulk_acknowledge;
mod change_run;
mod dashboard;
mod first_login;
mod form_fields;
mod jobs;
mod key_conflict;
mod new_user;
mod own_password;
mod readable_states;
mod safety;
mod screenshots;
mod settings;
mod times;
mod two_factor;

use std::sync::Arc;
use std::time::Duration;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};
use tumbler_testkit::browser::Browser;

const WAIT: Duration = Duration::from_secs(20);

/// A browser where the administrator (enrolled in TOTP) has logged in and sees the dashboard.
pub(super) async fn admin_logs_in(
    app: &TestApp,
    authenticator: &super::support::Authenticator,
) -> Browser {
    admin_logs_in_to(Browser::start().await, app, authenticator).await
}

/// The administrator (enrolled in TOTP) logs in on `browser` and sees the dashboard.
pub(super) async fn admin_logs_in_to(
    browser: Browser,
    app: &TestApp,
    authenticator: &super::support::Authenticator,
) -> Browser {
    browser.goto(&app.url("/login")).await;
    browser.fill("#username", "admin").await;
    browser.fill("#password", ADMIN_PASSWORD).await;
    browser.fill("#totp", &authenticator.fresh_code()).await;
    browser.click("#login-submit").await;
    browser
        .wait_for_text("#dashboard-title", "Dashboard", WAIT)
        .await;
    browser
}

/// A fresh app on SQLite with a manual clock, its administrator enrolled in TOTP and holding
/// an API token: what most console stories start from.
pub(super) struct EnrolledAdmin {
    /// The app.
    pub app: TestApp,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    /// The administrator's API token.
    pub token: String,
    /// The administrator's authenticator app.
    pub authenticator: super::support::Authenticator,
}

impl EnrolledAdmin {
    /// Starts the app and enrols the administrator.
    pub async fn start() -> Self {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
        app.activate_admin().await;
        let token = app.admin_token().await;
        let authenticator = super::support::Authenticator::enrol(&app, &token, clock.clone()).await;
        Self {
            app,
            clock,
            token,
            authenticator,
        }
    }
}

/// A browser where the administrator (no second factor yet) has logged in with the password.
pub(super) async fn admin_logs_in_with_password(app: &TestApp) -> Browser {
    let browser = Browser::start().await;
    browser.goto(&app.url("/login")).await;
    browser.fill("#username", "admin").await;
    browser.fill("#password", ADMIN_PASSWORD).await;
    browser.click("#login-submit").await;
    browser
        .wait_for_text("#dashboard-title", "Dashboard", WAIT)
        .await;
    browser
}
