//! The console banner links to the Audit log and Jobs pages only for users who may open
//! them: an operator (assets, no audit) sees Jobs only, a user without roles neither, an
//! administrator both; the pages themselves still refuse the others.

use super::{admin, user_with_roles, NEW_PASSWORD};
use reqwest::Client;
use serde_json::json;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

/// `who`'s console session: the page at `path` and its status.
async fn page_as(app: &TestApp, who: &str, password: &str, path: &str) -> (u16, String) {
    let console = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = console
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": who, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{who} logs in");
    let res = console.get(app.url(path)).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn the_banner_links_to_audit_and_jobs_only_for_those_who_may_see_them() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    user_with_roles(&app, &token, "otto", &["operator"]).await;
    user_with_roles(&app, &token, "nora", &[]).await;

    let (_, page) = page_as(&app, "admin", ADMIN_PASSWORD, "/account/password").await;
    assert!(
        page.contains("id=\"audit-link\"") && page.contains("id=\"jobs-link\""),
        "{page}"
    );

    let (_, page) = page_as(&app, "otto", NEW_PASSWORD, "/account/password").await;
    assert!(page.contains("id=\"jobs-link\""), "{page}");
    assert!(!page.contains("id=\"audit-link\""), "{page}");
    let (status, _) = page_as(&app, "otto", NEW_PASSWORD, "/audit").await;
    assert_eq!(status, 403, "the operator may not open the audit log");

    let (_, page) = page_as(&app, "nora", NEW_PASSWORD, "/account/password").await;
    assert!(page.contains("id=\"current-user\""), "{page}");
    assert!(
        !page.contains("id=\"audit-link\"") && !page.contains("id=\"jobs-link\""),
        "{page}"
    );
    let (status, _) = page_as(&app, "nora", NEW_PASSWORD, "/jobs").await;
    assert_eq!(status, 403, "a user without roles may not open the jobs");
    app.stop().await;
}

/// The top bar holds the main pages and a menu under the user's name (user settings, API
/// tokens, sign out); it does not repeat the user-settings tabs, which the settings pages show
/// once, below the heading.
#[tokio::test]
async fn the_top_bar_has_a_user_menu_and_does_not_repeat_the_settings_tabs() {
    let app = TestApp::spawn().await;
    admin(&app).await;
    let (status, page) = page_as(&app, "admin", ADMIN_PASSWORD, "/account/password").await;
    assert_eq!(status, 200, "{page}");
    let start = page.find("<header").expect("a banner");
    let end = page.find("</header>").expect("the banner ends");
    let banner = &page[start..end];
    for tab in [
        "/account/mfa",
        "/account/sessions",
        "/account/domain",
        "/account/certificate",
    ] {
        assert!(!banner.contains(tab), "the banner repeats {tab}: {banner}");
        assert_eq!(
            page.matches(&format!("href=\"{tab}\"")).count(),
            1,
            "the settings page links {tab} once, in its tabs"
        );
    }
    let menu_start = banner
        .find("<details class=\"user-menu\">")
        .expect("the user's name is a menu");
    let menu = &banner[menu_start..];
    assert!(
        menu.contains("<summary id=\"current-user\">"),
        "the menu opens on the user's name: {menu}"
    );
    for item in [
        "href=\"/account/password\"",
        "href=\"/account/tokens\"",
        "action=\"/logout\"",
    ] {
        assert!(menu.contains(item), "the user menu holds {item}: {menu}");
    }
    assert!(
        !page.contains("<script>") && !page.contains(" onclick="),
        "no inline script"
    );
    app.stop().await;
}
