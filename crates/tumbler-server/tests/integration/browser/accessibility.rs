//! Accessibility and layout (#17): every console page passes axe-core's checks with no
//! serious or critical violation and fits a phone's width; long values wrap instead of
//! widening the page; the login form and the asset list work by keyboard, with a visible focus.

use super::super::change_secret::{account, asset, linux_asset, run, task};
use super::super::device_keys::wait_for_job;
use super::super::support::ok_as;
use super::{admin_logs_in_to, EnrolledAdmin, WAIT};
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::answers::JobStarted;
use tumbler_api_types::users::CreatedUserOut;
use tumbler_testkit::app::ADMIN_PASSWORD;
use tumbler_testkit::browser::Browser;
use tumbler_testkit::browser_checks::Focused;
use tumbler_testkit::sshd::{SshHost, TestUser};

/// A phone's viewport, in CSS pixels.
const PHONE_WIDTH: u32 = 390;
const PHONE_HEIGHT: u32 = 844;
/// A value longer than any screen is wide.
const LONG: usize = 10_000;

/// The ids of what the console shows: an SSH asset with accounts, a task and its run, a
/// device-key job, a second user.
struct Data {
    asset: String,
    account: String,
    task: String,
    run: String,
    job: String,
    user: String,
}

/// Fills the app with one of everything the console pages list.
async fn with_data(admin: &EnrolledAdmin, host: &SshHost) -> Data {
    let (app, token) = (&admin.app, admin.token.as_str());
    let id = linux_asset(app, token, "web-a", host).await;
    let ops = account(
        app,
        token,
        &id,
        "ops",
        "canary-A11y-Ops-1a",
        true,
        json!({}),
    )
    .await;
    account(
        app,
        token,
        &id,
        "app1",
        "canary-A11y-Old-2b",
        false,
        json!({}),
    )
    .await;
    let task_id = task(
        app,
        token,
        json!({"name": "nightly-web", "usernames": ["app1"], "asset_ids": [id],
               "secret_strategy": "random"}),
    )
    .await;
    let execution = run(app, token, &task_id).await;
    let started: JobStarted = ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/assets/{id}/authentication"),
        Some(json!({"mode": "system_key", "admin_user": "tumbler", "create_user": true})),
        202,
    )
    .await;
    wait_for_job(app, token, started.job_id.as_str()).await;
    let created: CreatedUserOut = ok_as(
        app,
        token,
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": "nina", "roles": ["operator"],
                    "current_password": ADMIN_PASSWORD})),
        201,
    )
    .await;
    Data {
        asset: id,
        account: ops,
        task: task_id,
        run: execution.id.to_string(),
        job: started.job_id.to_string(),
        user: created.user.user.id.to_string(),
    }
}

/// Every console page a signed-in administrator reaches (the router's GET routes).
fn pages(d: &Data) -> Vec<String> {
    let fixed = [
        "/",
        "/assets",
        "/assets/new",
        "/change-secret",
        "/change-secret/tasks/new",
        "/change-secret/executions",
        "/jobs",
        "/users",
        "/settings/password",
        "/settings/mail",
        "/settings/webhooks",
        "/settings/device-key",
        "/audit",
        "/account/password",
        "/account/certificate",
        "/account/domain",
        "/account/mfa",
        "/account/sessions",
        "/account/tokens",
    ];
    let mut all: Vec<String> = fixed.iter().map(|p| (*p).to_owned()).collect();
    all.extend([
        format!("/assets/{}", d.asset),
        format!("/assets/{}/edit", d.asset),
        format!("/assets/resolve-conflict?asset_id={}", d.asset),
        format!("/assets/acknowledge?asset_id={}", d.asset),
        format!("/change-secret/tasks/{}/edit", d.task),
        format!("/change-secret/executions/{}", d.run),
        format!("/jobs/{}", d.job),
        format!("/users/{}/edit", d.user),
        format!("/accounts/{}/edit", d.account),
    ]);
    all
}

/// What is wrong with the page `browser` shows: serious or critical axe violations, and a
/// page wider than the viewport.
async fn problems_of(browser: &Browser, page: &str) -> Vec<String> {
    let mut found: Vec<String> = browser
        .axe_violations()
        .await
        .into_iter()
        .filter(|v| v.is_serious())
        .map(|v| format!("{page}: {} ({}): {} {:?}", v.id, v.impact, v.help, v.nodes))
        .collect();
    let (width, viewport) = browser.page_and_viewport_width().await;
    if width > viewport {
        let wide = browser
            .client()
            .execute(
                "return [...document.querySelectorAll('body *')]\
                 .filter(e => e.getBoundingClientRect().right > window.innerWidth)\
                 .slice(0, 6).map(e => e.tagName + '#' + e.id + '.' + e.className);",
                vec![],
            )
            .await
            .unwrap();
        found.push(format!(
            "{page}: {width}px wide in a {viewport}px viewport, past its edge: {wide}"
        ));
    }
    found
}

#[tokio::test]
async fn every_console_page_passes_axe_and_fits_a_phone() {
    let admin = EnrolledAdmin::start().await;
    let host = SshHost::start(&[
        TestUser::new("ops", "canary-A11y-Ops-1a").with_sudo(),
        TestUser::new("app1", "canary-A11y-Old-2b"),
    ])
    .await
    .unwrap();
    let data = with_data(&admin, &host).await;
    let browser = Browser::start().await;
    let viewport = browser.set_viewport_width(PHONE_WIDTH, PHONE_HEIGHT).await;
    assert_eq!(viewport, u64::from(PHONE_WIDTH), "a phone's viewport");

    browser.goto(&admin.app.url("/login")).await;
    browser.wait_for_text("h1", "Log in", WAIT).await;
    let mut problems = problems_of(&browser, "/login").await;
    // The check can fail: an input without a label is a serious violation.
    browser
        .client()
        .execute(
            "document.querySelector('main').insertAdjacentHTML('beforeend', '<input id=\"probe\">');",
            vec![],
        )
        .await
        .unwrap();
    let probe = browser.axe_violations().await;
    assert!(
        probe.iter().any(|v| v.id == "label" && v.is_serious()),
        "axe reports an unlabelled input: {probe:?}"
    );
    let browser = admin_logs_in_to(browser, &admin.app, &admin.authenticator).await;
    for page in pages(&data) {
        browser.goto(&admin.app.url(&page)).await;
        browser.find("main h1").await;
        assert!(
            !browser.source().await.contains("id=\"console-error\""),
            "{page} opens without an error"
        );
        problems.extend(problems_of(&browser, &page).await);
    }
    // An error page (an asset that is not there) is checked too.
    browser
        .goto(
            &admin
                .app
                .url("/assets/00000000-0000-4000-8000-000000000000"),
        )
        .await;
    browser.find("#console-error").await;
    problems.extend(problems_of(&browser, "error page").await);
    assert!(problems.is_empty(), "{problems:#?}");
    browser.close().await;
    admin.app.stop().await;
}

#[tokio::test]
async fn a_long_comment_and_a_long_value_in_an_error_wrap_at_a_phones_width() {
    let admin = EnrolledAdmin::start().await;
    let (app, token) = (&admin.app, admin.token.as_str());
    let long = "x".repeat(LONG);
    let id = asset(
        app,
        token,
        json!({"name": "long-note", "address": "10.0.0.9", "port": 22, "platform": "linux",
               "comment": long}),
    )
    .await;
    let browser = Browser::start().await;
    let browser = admin_logs_in_to(browser, app, &admin.authenticator).await;
    let viewport = browser.set_viewport_width(PHONE_WIDTH, PHONE_HEIGHT).await;
    assert_eq!(viewport, u64::from(PHONE_WIDTH), "a phone's viewport");

    browser.goto(&app.url(&format!("/assets/{id}"))).await;
    browser.wait_for_text("main", &long[..100], WAIT).await;
    let (width, viewport) = browser.page_and_viewport_width().await;
    assert!(
        width <= viewport,
        "the asset page with a long comment is {width}px wide in {viewport}px"
    );
    assert_wraps(&browser, "#asset-comment-value").await;

    // A 10,000-character address is refused, and the error quoting it wraps.
    browser.goto(&app.url("/assets/new")).await;
    browser.fill("#asset-name-input", "long-address").await;
    browser
        .client()
        .execute(
            "document.querySelector('#asset-address').value = 'a'.repeat(arguments[0]);",
            vec![json!(LONG)],
        )
        .await
        .unwrap();
    browser.click("#save-asset").await;
    let error = browser
        .wait_for_text(".flash.error", "neither an IP address", WAIT)
        .await;
    assert!(
        error.contains(&"a".repeat(LONG)),
        "the error quotes the value"
    );
    let (width, viewport) = browser.page_and_viewport_width().await;
    assert!(
        width <= viewport,
        "the error with a long value is {width}px wide in {viewport}px"
    );
    assert_wraps(&browser, ".flash.error").await;
    browser.close().await;
    admin.app.stop().await;
}

/// Asserts that the element matching `css` wraps its text within the viewport: it ends inside
/// it (not cut off in a box that scrolls sideways) and runs over many lines.
async fn assert_wraps(browser: &Browser, css: &str) {
    let shape = browser
        .client()
        .execute(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect();\
             return [Math.ceil(r.right), Math.ceil(r.height), window.innerWidth];",
            vec![json!(css)],
        )
        .await
        .unwrap();
    let n = |i: usize| shape[i].as_u64().unwrap_or(u64::MAX);
    let (right, height, viewport) = (n(0), n(1), n(2));
    assert!(
        right <= viewport && height > 200,
        "{css} ends at {right}px in a {viewport}px viewport, {height}px high: it does not wrap"
    );
}

/// Tabs from where the focus is, up to `count` times or until the focus leaves the page's
/// last element; returns each element reached.
async fn tab_through(browser: &Browser, count: usize) -> Vec<Focused> {
    let mut reached = Vec::new();
    for _ in 0..count {
        browser.press_tab().await;
        let focused = browser.focused().await;
        if focused.tag == "body" {
            break;
        }
        reached.push(focused);
    }
    reached
}

#[tokio::test]
async fn the_login_form_and_the_asset_list_work_by_keyboard_with_a_visible_focus() {
    let admin = EnrolledAdmin::start().await;
    let (app, token) = (&admin.app, admin.token.as_str());
    asset(
        app,
        token,
        json!({"name": "db-1", "address": "10.0.0.7", "port": 22, "platform": "linux"}),
    )
    .await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/login")).await;
    browser.wait_for_text("h1", "Log in", WAIT).await;
    let start = browser.focused().await;
    assert_eq!(start.id, "username", "the username has the focus first");
    let ids: Vec<String> = tab_through(&browser, 3)
        .await
        .into_iter()
        .inspect(|f| assert!(f.visible_focus, "no visible focus on {f:?}"))
        .map(|f| f.id)
        .collect();
    assert_eq!(ids, ["password", "totp", "login-submit"]);

    let browser = admin_logs_in_to(browser, app, &admin.authenticator).await;
    browser.goto(&app.url("/assets")).await;
    browser.wait_for_text("#assets-table", "db-1", WAIT).await;
    let reached = tab_through(&browser, 60).await;
    for f in &reached {
        assert!(f.visible_focus, "no visible focus on {f:?}");
    }
    let ids: Vec<&str> = reached.iter().map(|f| f.id.as_str()).collect();
    for wanted in [
        "skip-link",
        "assets-link",
        "current-user",
        "asset-search",
        "add-asset",
        "acknowledge-selected",
    ] {
        assert!(
            ids.contains(&wanted),
            "Tab never reaches #{wanted}: {reached:#?}"
        );
    }
    assert!(
        reached.iter().any(|f| f.label.contains("db-1")),
        "Tab reaches the asset's link: {reached:#?}"
    );
    // The user menu opens from the keyboard.
    browser
        .find("#current-user")
        .await
        .send_keys("\u{e007}")
        .await
        .unwrap();
    let open = browser
        .client()
        .execute("return document.querySelector('.user-menu').open;", vec![])
        .await
        .unwrap();
    assert_eq!(open, json!(true), "Enter on the name opens the menu");
    browser.close().await;
    admin.app.stop().await;
}
