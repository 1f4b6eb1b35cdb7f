//! Retries on real sshd hosts: a retry of any failed record (privileged login failed, host
//! key not verified, unreachable) is a run of its own linked to the record it retries, and
//! works once the cause is fixed; "Retry all failed"; the run's status and counts are
//! recomputed; the overview lists each account that needs a person once, with the action that
//! fits; a verify of a `changing` account is refused; and recovery's sweep settles an account
//! a dropped retry left staged. Webhooks get a retry's run.

mod causes;
mod pending_secret;
mod refused;
mod staged;

use super::change_secret::{account, admin, linux_asset, task, APP_PASSWORD, OPS_PASSWORD};
use super::support::{call, error_code, ok, ok_as};
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::change_secret::ExecutionView;
use tumbler_api_types::overview::{AttentionAccount, Overview};
use tumbler_api_types::retries::RetryFailedOutcome;
use tumbler_testkit::app::TestApp;
use tumbler_testkit::sshd::{SshHost, TestUser};

async fn overview(app: &TestApp, token: &str) -> Overview {
    ok_as(
        app,
        token,
        Method::GET,
        "/api/v1/change-secret/overview",
        None,
        200,
    )
    .await
}

/// The overview's entry for `who` (`user@asset`), checking it is there once at most.
fn attention<'a>(overview: &'a Overview, who: &str) -> Option<&'a AttentionAccount> {
    let entries: Vec<&AttentionAccount> = overview
        .failed_accounts
        .iter()
        .filter(|f| f.who() == who)
        .collect();
    assert!(
        entries.len() <= 1,
        "{who} is listed more than once: {overview:?}"
    );
    entries.first().copied()
}

/// Stores the right password (`OPS_PASSWORD`) for the privileged account `ops`: the cause of a
/// `privileged_login_failed` is fixed.
async fn store_ops_password(app: &TestApp, token: &str, ops: &str) {
    ok(
        app,
        token,
        Method::PATCH,
        &format!("/api/v1/accounts/{ops}"),
        Some(json!({"secret": OPS_PASSWORD})),
        200,
    )
    .await;
}

/// The execution `id`.
async fn execution(app: &TestApp, token: &str, id: &str) -> ExecutionView {
    ok_as(
        app,
        token,
        Method::GET,
        &format!("/api/v1/change-secret/executions/{id}"),
        None,
        200,
    )
    .await
}

/// "Retry all failed" of the ended run `exec_id`.
async fn retry_all(app: &TestApp, token: &str, exec_id: &str) -> RetryFailedOutcome {
    ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/executions/{exec_id}/retry-failed"),
        None,
        202,
    )
    .await
}

/// A retry of `record_id` is refused 409 with `code`, sending nothing.
async fn retry_refused(app: &TestApp, token: &str, record_id: &str, code: &str) {
    let (status, body) = call(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{record_id}/retry"),
        None,
    )
    .await;
    assert_eq!((status, error_code(&body).as_str()), (409, code), "{body}");
}

/// A host with `ops` (sudo) and `app1`, registered as asset `name` with `ops_secret` stored
/// for `ops`, and a task `name` rotating `app1`.
struct OneApp {
    host: SshHost,
    asset: String,
    ops: String,
    app1: String,
    task_id: String,
}

async fn one_app(app: &TestApp, token: &str, name: &str, ops_secret: &str) -> OneApp {
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(app, token, name, &host).await;
    let ops = account(app, token, &asset, "ops", ops_secret, true, json!({})).await;
    let app1 = account(app, token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        app,
        token,
        json!({"name": name, "usernames": ["app1"], "asset_ids": [asset], "secret_strategy": "random"}),
    )
    .await;
    OneApp {
        host,
        asset,
        ops,
        app1,
        task_id,
    }
}

/// A fresh app, an administrator's token and [`one_app`] on it.
async fn spawn_one_app(name: &str, ops_secret: &str) -> (TestApp, String, OneApp) {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let one = one_app(&app, &token, name, ops_secret).await;
    (app, token, one)
}
