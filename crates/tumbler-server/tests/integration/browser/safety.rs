//! Safety of every click: a delete asks first in a dialog naming what goes with it (an
//! account's secret versions, an asset's accounts, a task's schedule, a node's sub-nodes), an account whose secret was changed needs
//! a fresh code, the page says what was deleted, and the browser ends at a GET page, so
//! Refresh repeats nothing.

use super::super::support::{ok, Authenticator};
use super::admin_logs_in;
use super::WAIT;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};

async fn account(app: &TestApp, token: &str, asset: &str, username: &str, secret: &str) -> String {
    ok(
        app,
        token,
        Method::POST,
        "/api/v1/accounts",
        Some(json!({"asset_id": asset, "username": username, "secret": secret})),
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn browser_deletes_an_account_and_an_asset_only_after_a_dialog_naming_what_goes() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;
    let asset = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "web-9", "address": "10.0.0.9", "platform": "linux"})),
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    account(&app, &token, &asset, "app1", "canary-App1-Only-1").await;
    let app2 = account(&app, &token, &asset, "app2", "canary-App2-Old-2").await;
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/accounts/{app2}"),
        Some(json!({"secret": "canary-App2-New-3"})),
        200,
    )
    .await;

    let browser = admin_logs_in(&app, &authenticator).await;
    browser.goto(&app.url(&format!("/assets/{asset}"))).await;
    browser.wait_for_text("#asset-name", "web-9", WAIT).await;

    // The account dialog names its versions and, the secret having changed, asks for a code.
    browser
        .click("tr[data-username=app2] .open-delete-account")
        .await;
    let what = browser
        .text("tr[data-username=app2] .delete-account-what")
        .await;
    assert!(
        what.contains("2 stored secret version(s)") && what.contains("only copy"),
        "{what}"
    );
    browser
        .fill(
            "tr[data-username=app2] .delete-account-totp",
            &authenticator.fresh_code(),
        )
        .await;
    browser
        .click("tr[data-username=app2] .confirm-delete-account")
        .await;
    browser
        .wait_for_text(
            "#asset-notice",
            "Account app2 deleted with its 2 secret version(s)",
            WAIT,
        )
        .await;
    let url = browser.current_url().await;
    assert!(url.ends_with(&format!("/assets/{asset}")), "{url}");

    // Refresh shows the page again: nothing repeated, the message was shown once.
    browser.goto(&url).await;
    browser.wait_for_text("#asset-name", "web-9", WAIT).await;
    let page = browser.text("main").await;
    assert!(!page.contains("deleted"), "{page}");
    assert!(page.contains("app1") && !page.contains("app2"), "{page}");

    // The asset dialog names its accounts.
    browser.click("#open-delete-asset").await;
    let what = browser.text("#delete-asset-what").await;
    assert!(what.contains("1 account(s) (app1)"), "{what}");
    browser.click("#confirm-delete-asset").await;
    browser
        .wait_for_text(
            "#assets-notice",
            "Asset web-9 deleted with its 1 account(s)",
            WAIT,
        )
        .await;
    assert!(browser.current_url().await.ends_with("/assets"));
    app.stop().await;
}

#[tokio::test]
async fn browser_deletes_a_task_and_a_node_only_after_a_dialog_naming_what_goes() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;
    ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(
            json!({"name": "nightly", "usernames": ["app1"], "asset_ids": ["x"],
            "secret_strategy": "random"}),
        ),
        201,
    )
    .await;
    ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/nodes",
        Some(json!({"path": "/Default/Spare/Inner"})),
        201,
    )
    .await;

    let browser = admin_logs_in(&app, &authenticator).await;
    browser.goto(&app.url("/change-secret")).await;
    browser
        .click("tr[data-task=nightly] .open-delete-task")
        .await;
    let what = browser
        .text("tr[data-task=nightly] .delete-task-what")
        .await;
    assert!(
        what.contains("nightly") && what.contains("never runs again") && what.contains("past runs"),
        "{what}"
    );
    browser.click("tr[data-task=nightly] .delete-task").await;
    browser
        .wait_for_text(
            "#change-notice",
            "Task nightly deleted with its schedule",
            WAIT,
        )
        .await;
    assert!(browser.current_url().await.ends_with("/change-secret"));
    assert!(!browser.text("#tasks-table").await.contains("nightly"));

    browser
        .goto(&app.url("/assets?node=%2FDefault%2FSpare"))
        .await;
    browser
        .wait_for_text("h1", "Assets in /Default/Spare", WAIT)
        .await;
    browser.click("#open-node-dialog").await;
    browser.click("#open-delete-node").await;
    let what = browser.text("#delete-node-what").await;
    assert!(
        what.contains("Spare") && what.contains("every node under it"),
        "{what}"
    );
    browser.click("#delete-node").await;
    browser
        .wait_for_text(
            "#assets-notice",
            "Node /Default/Spare deleted with the nodes under it",
            WAIT,
        )
        .await;
    let tree = browser.text("#node-tree").await;
    assert!(!tree.contains("Spare") && !tree.contains("Inner"), "{tree}");
    app.stop().await;
}
