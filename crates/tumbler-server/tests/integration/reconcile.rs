//! Drift and reconcile on real sshd hosts and a private PostgreSQL cluster: a password
//! changed by hand on the host is found by a drift pass (`needs_attention`, code `drift`,
//! audited), reconciled through the privileged account's session without the old password,
//! and the new stored secret logs in over SSH; the bulk action refuses accounts not in
//! `needs_attention`; another domain's operator cannot reconcile; the privileged account
//! cannot reconcile itself, but a separate reconcile account set on the asset can; and no
//! password (the hand-set canary included) reaches a log, the audit or an answer.

mod browser;
mod by_hand;
mod dropped_stage;
mod periodic;
mod postgresql;
mod reconcile_account;

use super::change_secret::{account, linux_asset, APP_PASSWORD, OPS_PASSWORD};
use super::support::{call, error_code, ok, ok_as, typed, Authenticator};
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::answers::RevealedRecordSecrets;
use tumbler_api_types::change_secret::RecordRow;
use tumbler_api_types::inventory::{AccountOut, AssetOut};
use tumbler_api_types::reconcile::ReconcileOutcome;
use tumbler_core::change_secret::{DriftReport, DriftScope};
use tumbler_testkit::app::TestApp;
use tumbler_testkit::sshd::{SshHost, TestUser};

/// What someone set by hand on the host, outside Tumbler.
const HAND_PASSWORD: &str = "canary-Hand-Set-9d04e";
/// The separate reconcile account's password.
const REC_PASSWORD: &str = "canary-Reconciler-61b7a";

async fn get_account(app: &TestApp, token: &str, id: &str) -> AccountOut {
    ok_as(
        app,
        token,
        Method::GET,
        &format!("/api/v1/accounts/{id}"),
        None,
        200,
    )
    .await
}

/// Reconciles account `id`; returns the reconcile's record and the answer as sent (for the
/// tests that look for a secret in it).
async fn reconcile(app: &TestApp, token: &str, id: &str) -> (RecordRow, String) {
    let body = ok(
        app,
        token,
        Method::POST,
        &format!("/api/v1/accounts/{id}/reconcile"),
        None,
        200,
    )
    .await;
    let text = body.to_string();
    (typed(body), text)
}

/// A reconcile of account `id` is refused 409 with `code`; returns the answer as sent.
async fn reconcile_refused(app: &TestApp, token: &str, id: &str, code: &str) -> String {
    let (status, body) = call(
        app,
        token,
        Method::POST,
        &format!("/api/v1/accounts/{id}/reconcile"),
        None,
    )
    .await;
    assert_eq!((status, error_code(&body).as_str()), (409, code), "{body}");
    body.to_string()
}

/// The bulk reconcile of `ids` (answered at once, the reconciles going on in the background).
async fn reconcile_many(app: &TestApp, token: &str, ids: &[&str]) -> ReconcileOutcome {
    ok_as(
        app,
        token,
        Method::POST,
        "/api/v1/accounts/reconcile",
        Some(json!({ "account_ids": ids })),
        202,
    )
    .await
}

/// Registers a `platform` asset `name` at `address:port` with no account; returns its id.
async fn bare_asset(
    app: &TestApp,
    token: &str,
    name: &str,
    address: &str,
    port: u16,
    platform: &str,
) -> String {
    let asset: AssetOut = ok_as(
        app,
        token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": name, "address": address, "port": port, "platform": platform})),
        201,
    )
    .await;
    asset.id
}

/// The record's new secret (reveal with a fresh code).
async fn revealed_new(app: &TestApp, token: &str, auth: &Authenticator, record: &str) -> String {
    let revealed: RevealedRecordSecrets = ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{record}/reveal"),
        Some(json!({"totp": auth.fresh_code()})),
        200,
    )
    .await;
    revealed.new_secret.expect("a new secret")
}

async fn audit_text(app: &TestApp, token: &str) -> String {
    reqwest::Client::new()
        .get(app.url("/api/v1/audit?limit=500"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A host with `ops` (sudo) and the `apps`, each with `APP_PASSWORD`, registered as asset
/// `name` with their accounts; returns the host, the asset, `ops`'s account and the apps'
/// accounts, in order.
async fn linux_host(
    app: &TestApp,
    token: &str,
    name: &str,
    apps: &[&str],
) -> (SshHost, String, String, Vec<String>) {
    let mut users = vec![TestUser::new("ops", OPS_PASSWORD).with_sudo()];
    for user in apps {
        users.push(TestUser::new(*user, APP_PASSWORD));
    }
    let host = SshHost::start(&users).await.unwrap();
    let asset = linux_asset(app, token, name, &host).await;
    let ops = account(app, token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let mut ids = Vec::new();
    for user in apps {
        ids.push(account(app, token, &asset, user, APP_PASSWORD, false, json!({})).await);
    }
    (host, asset, ops, ids)
}

/// A drift pass over every account.
async fn drift_pass(app: &TestApp) -> DriftReport {
    app.services
        .change_secret
        .run_drift_pass(DriftScope::All)
        .await
        .unwrap()
}
