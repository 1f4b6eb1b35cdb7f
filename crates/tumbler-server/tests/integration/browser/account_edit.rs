//! Editing an account from its asset's page (#17): a new gain-root option, the privileged
//! flag and a new password; without a code the change is refused and the page says why,
//! with a code it is saved and the revealed secret is the new one.

use super::super::change_secret::{account, asset};
use super::{admin_logs_in, EnrolledAdmin, WAIT};
use serde_json::json;

const OLD: &str = "canary-Browser-Edit-Old-5a";
const NEW: &str = "canary-Browser-Edit-New-6b";

#[tokio::test]
async fn browser_edits_an_account_and_reveals_its_new_secret() {
    let admin = EnrolledAdmin::start().await;
    let (app, token) = (&admin.app, admin.token.as_str());
    let id = asset(
        app,
        token,
        json!({"name": "edit-web", "address": "10.0.0.9", "platform": "linux"}),
    )
    .await;
    account(app, token, &id, "ops", OLD, false, json!({})).await;
    let browser = admin_logs_in(app, &admin.authenticator).await;
    browser.goto(&app.url(&format!("/assets/{id}"))).await;
    browser.click("tr[data-username=ops] .edit-account").await;
    browser
        .wait_for_text("h1", "Edit account ops on edit-web", WAIT)
        .await;
    assert!(
        !browser.source().await.contains(OLD),
        "no secret on the form"
    );

    // Without a code: refused, nothing saved, the new password not shown back.
    let fill = |code: Option<String>| {
        let browser = &browser;
        async move {
            browser.click("#option-become option[value=su]").await;
            browser.click("#account-edit-privileged").await;
            browser.fill("#account-edit-password", NEW).await;
            if let Some(code) = code {
                browser.fill("#account-edit-totp", &code).await;
            }
            browser.click("#account-edit-save").await;
        }
    };
    fill(None).await;
    browser
        .wait_for_text("#account-edit-error", "totp_required", WAIT)
        .await;
    assert!(!browser.source().await.contains(NEW), "not echoed");

    // With a code: saved, and the asset's page says what changed.
    fill(Some(admin.authenticator.fresh_code())).await;
    browser
        .wait_for_text(
            "#asset-notice",
            "Account ops saved: privileged flag, options, secret replaced.",
            WAIT,
        )
        .await;
    let row = browser.text("tr[data-username=ops]").await;
    assert!(row.contains("yes"), "privileged now: {row}");
    browser.click("tr[data-username=ops] .edit-account").await;
    browser
        .wait_for_text("h1", "Edit account ops on edit-web", WAIT)
        .await;
    let become_su = browser.find("#option-become option[value=su]").await;
    assert_eq!(
        become_su.prop("selected").await.unwrap().as_deref(),
        Some("true"),
        "the option was saved"
    );

    // The revealed secret is the new one.
    browser.goto(&app.url(&format!("/assets/{id}"))).await;
    browser.click("tr[data-username=ops] .open-reveal").await;
    browser
        .fill(
            "tr[data-username=ops] .reveal-totp",
            &admin.authenticator.fresh_code(),
        )
        .await;
    browser.click("tr[data-username=ops] .confirm-reveal").await;
    browser.wait_for_text("#revealed", "ops", WAIT).await;
    assert_eq!(browser.text("#revealed-0").await, NEW);
    browser.close().await;
    admin.app.stop().await;
}
