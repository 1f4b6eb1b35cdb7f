//! The dashboard after real work: a run that failed, an asset whose host key nobody checked
//! and a scheduled task are listed, each a link to its page.

use super::admin_logs_in;
use super::WAIT;
use tumbler_testkit::app::TestApp;

#[tokio::test]
async fn browser_dashboard_lists_what_needs_attention_and_the_runs() {
    use super::super::change_secret::{account, asset, linux_asset, run, task};
    use super::super::support::Authenticator;
    use serde_json::json;
    use std::sync::Arc;
    use tumbler_domain::change_secret::ExecutionStatus;
    use tumbler_domain::ManualClock;
    use tumbler_testkit::app::StoreKind;
    use tumbler_testkit::sshd::{SshHost, TestUser};

    let ops = "canary-Dash-Ops-5c6";
    let host = SshHost::start(&[TestUser::new("ops", ops).with_sudo()])
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;
    // A checked asset whose account "ghost" does not exist on the host: its change fails.
    let web = linux_asset(&app, &token, "web-dash", &host).await;
    account(&app, &token, &web, "ops", ops, true, json!({})).await;
    account(
        &app,
        &token,
        &web,
        "ghost",
        "canary-Dash-Old-7d8",
        false,
        json!({}),
    )
    .await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "nightly-dash", "usernames": ["ghost"], "asset_ids": [web],
               "secret_strategy": "random", "schedule": {"cron": "0 3 * * *"}}),
    )
    .await;
    let failed = run(&app, &token, &task_id).await;
    assert_eq!(failed.status, ExecutionStatus::Failed, "{failed:?}");
    // An asset nobody has contacted or checked: its host key is unverified.
    let unchecked = asset(
        &app,
        &token,
        json!({"name": "db-unchecked", "address": "127.0.0.1", "port": host.port(), "platform": "linux"}),
    )
    .await;

    let browser = admin_logs_in(&app, &authenticator).await;
    let page = browser.text("main").await;
    assert!(!page.contains("will appear here"), "{page}");
    // The failed account, linked to its run.
    let accounts = browser.text("#attention-accounts").await;
    assert!(accounts.contains("ghost@web-dash"), "{accounts}");
    let link = browser.find("#attention-accounts a").await;
    assert_eq!(
        link.attr("href").await.unwrap().as_deref(),
        Some(format!("/change-secret/executions/{}", failed.id).as_str())
    );
    // The unverified asset, not the checked one.
    let unverified = browser.text("#attention-unverified").await;
    assert!(unverified.contains("db-unchecked"), "{unverified}");
    assert!(!unverified.contains("web-dash"), "{unverified}");
    // The next scheduled run and the last run.
    assert!(browser.text("#next-runs").await.contains("nightly-dash"));
    let last = browser.text("#last-runs").await;
    assert!(last.contains("nightly-dash"), "{last}");
    assert!(browser
        .text("#last-runs tr[data-status=failed] .run-status")
        .await
        .contains("failed"));
    // Times carry their zone.
    let when = browser.text("#next-runs time").await;
    assert!(when.contains(':'), "{when}");

    // The links work: the run, then the asset.
    browser.click("#attention-accounts a").await;
    browser
        .wait_for_text("h1", "Run of nightly-dash", WAIT)
        .await;
    browser.goto(&app.url("/")).await;
    browser
        .wait_for_text("#dashboard-title", "Dashboard", WAIT)
        .await;
    browser.click("#attention-unverified a").await;
    browser.wait_for_text("h1", "db-unchecked", WAIT).await;
    assert!(browser
        .current_url()
        .await
        .ends_with(&format!("/assets/{unchecked}")));
    browser.goto(&app.url("/")).await;
    browser.click("#last-runs a.run-link").await;
    browser
        .wait_for_text("h1", "Run of nightly-dash", WAIT)
        .await;
    browser.close().await;
    app.stop().await;
}
