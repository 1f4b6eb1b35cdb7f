//! The README's screenshots of the console: the dashboard, a run and the Resolve Key Conflict
//! dialog, taken from an app with demo data on real sshd hosts.
//!
//! `scripts/screenshots` runs this test with `TUMBLER_SCREENSHOTS_DIR=docs/screenshots`; without
//! that variable the PNGs go to a temporary directory, so the test suite checks that the
//! screenshots can still be taken and stay small.

use super::super::change_secret::{account, linux_asset, run, task};
use super::super::device_keys::wait_for_job;
use super::super::support::ok_as;
use super::{admin_logs_in_to, EnrolledAdmin, WAIT};
use reqwest::Method;
use serde_json::json;
use std::path::{Path, PathBuf};
use tumbler_api_types::answers::JobStarted;
use tumbler_api_types::inventory::AssetOut;
use tumbler_testkit::browser::Browser;
use tumbler_testkit::sshd::{SshHost, TestUser};

/// Where the PNGs go when the screenshots are taken for the README.
const DIR_VARIABLE: &str = "TUMBLER_SCREENSHOTS_DIR";
/// The README's limit on a screenshot's size.
const MAX_BYTES: usize = 300 * 1024;
/// A laptop's viewport.
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 900;

/// Writes the PNG the browser shows now as `dir/name`, after checking it is a PNG that fits.
async fn shoot(browser: &Browser, dir: &Path, name: &str) -> PathBuf {
    // Let the focus ring and any caret go: the picture shows the page at rest.
    browser
        .client()
        .execute(
            "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);",
            vec![],
        )
        .await
        .unwrap();
    let png = browser.screenshot_png().await;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is a PNG");
    assert!(
        png.len() <= MAX_BYTES,
        "{name} is {} bytes, more than {MAX_BYTES}",
        png.len()
    );
    let path = dir.join(name);
    std::fs::write(&path, &png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

#[tokio::test]
async fn the_readme_screenshots_can_be_taken() {
    let temporary = tempfile::tempdir().unwrap();
    let dir = std::env::var_os(DIR_VARIABLE)
        .map(PathBuf::from)
        .unwrap_or_else(|| temporary.path().to_owned());
    std::fs::create_dir_all(&dir).unwrap();

    let admin = EnrolledAdmin::start().await;
    let (app, token) = (&admin.app, admin.token.as_str());
    let ops = "canary-Shots-Ops-7c";
    let old = "canary-Shots-Old-8d";
    let host = SshHost::start(&[
        TestUser::new("ops", ops).with_sudo(),
        TestUser::new("app1", old),
    ])
    .await
    .unwrap();
    // Two web servers and a router; the run changes app1 on both, and web-b has no app1.
    let mut ids = Vec::new();
    for (name, user) in [("web-a", "app1"), ("web-b", "ghost"), ("db-1", "app1")] {
        let id = linux_asset(app, token, name, &host).await;
        account(app, token, &id, "ops", ops, true, json!({})).await;
        account(app, token, &id, user, old, false, json!({})).await;
        ids.push(id);
    }
    let task_id = task(
        app,
        token,
        json!({"name": "nightly-web", "usernames": ["app1", "ghost"],
               "asset_ids": [ids[0], ids[1]], "secret_strategy": "random"}),
    )
    .await;
    let execution = run(app, token, &task_id).await;
    // The router loses Tumbler's key: the next contact finds a key conflict.
    let router = linux_asset(app, token, "edge-router", &host).await;
    account(app, token, &router, "ops", ops, true, json!({})).await;
    let started: JobStarted = ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/assets/{router}/authentication"),
        Some(json!({"mode": "system_key", "admin_user": "tumbler", "create_user": true})),
        202,
    )
    .await;
    wait_for_job(app, token, started.job_id.as_str()).await;
    host.run_inside_ok(&["sh", "-c", ": > /home/tumbler/.ssh/authorized_keys"])
        .await
        .unwrap();
    let a: AssetOut = ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/assets/{router}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(a.auth_status, "key_conflict", "{a:?}");

    let browser = Browser::start().await;
    browser.set_viewport_width(WIDTH, HEIGHT).await;
    let browser = admin_logs_in_to(browser, app, &admin.authenticator).await;
    let mut taken = vec![shoot(&browser, &dir, "dashboard.png").await];

    browser
        .goto(&app.url(&format!("/change-secret/executions/{}", execution.id)))
        .await;
    browser.find("#run-fields[data-ended]").await;
    browser.wait_for_text("#run-status", "partial", WAIT).await;
    taken.push(shoot(&browser, &dir, "run.png").await);

    browser
        .goto(&app.url("/assets?auth_status=key_conflict"))
        .await;
    browser
        .click("input[aria-label='Select edge-router']")
        .await;
    browser.click("#resolve-selected").await;
    browser
        .wait_for_text("#conflict-devices", "edge-router", WAIT)
        .await;
    taken.push(shoot(&browser, &dir, "resolve-key-conflict.png").await);

    for path in &taken {
        assert!(path.is_file(), "{} was written", path.display());
    }
    browser.close().await;
    admin.app.stop().await;
}
