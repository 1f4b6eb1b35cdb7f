//! The audit log page: the chain's verification at the top, filters by outcome, action, user,
//! object and time, paging, the CSV export of the filtered set, and the 403 page for a user
//! without the audit permission; all over events real actions wrote.

use super::WAIT;
use super::{admin_logs_in, EnrolledAdmin};

#[tokio::test]
async fn browser_filters_pages_and_exports_the_audit_log() {
    use super::super::support::{ok, user, USER_PASSWORD};
    use reqwest::Method;
    use serde_json::json;
    use tumbler_domain::clock::Clock;

    let EnrolledAdmin {
        app,
        clock,
        token: admin,
        authenticator,
    } = EnrolledAdmin::start().await;

    // Real audited actions: two refused logins, a new user, and enough updates for 2 pages.
    for _ in 0..2 {
        let res = reqwest::Client::new()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": "not-the-password-xyz"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    user(&app, &admin, "olav", &["operator"], &["Default"]).await;
    let me = ok(&app, &admin, Method::GET, "/api/v1/users/me", None, 200).await;
    let admin_id = me["id"].as_str().unwrap().to_owned();
    for i in 0..50 {
        ok(
            &app,
            &admin,
            Method::PATCH,
            &format!("/api/v1/users/{admin_id}"),
            Some(json!({"email": format!("admin{i}@example.test")})),
            200,
        )
        .await;
    }

    let browser = admin_logs_in(&app, &authenticator).await;
    browser.click("#audit-link").await;
    browser.wait_for_text("h1", "Audit log", WAIT).await;
    // The whole chain is read only when asked: a page load does not check it.
    browser
        .wait_for_text("#audit-chain", "Check the chain now", WAIT)
        .await;
    browser.click("#audit-verify").await;
    let chain = browser
        .wait_for_text("#audit-chain", "Chain verified", WAIT)
        .await;
    assert!(chain.contains("events are linked and unaltered"), "{chain}");
    // Actions read as labels, their stored names in small print.
    let first = browser.text("#audit-events tbody tr").await;
    assert!(first.contains("Sign-in: session create"), "{first}");
    assert!(first.contains("auth.session.create"), "{first}");

    // Paging: 50 a page, the range shown, Next and Previous.
    let range = browser.text("#audit-range").await;
    assert!(range.starts_with("Events 1–50 of "), "{range}");
    let total: i64 = range.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(total > 55, "{range}");
    browser.click("#audit-next").await;
    browser
        .wait_for_text("#audit-range", "Events 51–", WAIT)
        .await;
    browser.click("#audit-previous").await;
    browser
        .wait_for_text("#audit-range", "Events 1–50 of", WAIT)
        .await;

    // Outcome: the two refused logins only.
    browser
        .find("#audit-outcome option[value=failure]")
        .await
        .click()
        .await
        .unwrap();
    browser.click("#audit-filter").await;
    browser
        .wait_for_text("#audit-range", "Events 1–2 of 2", WAIT)
        .await;
    let rows = browser.text("#audit-events tbody").await;
    assert_eq!(rows.matches("Failed").count(), 2, "{rows}");
    assert!(rows.contains("auth.login"), "{rows}");

    // The export is the filtered set, with every column.
    let href = browser
        .find("#audit-export")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(href.contains("outcome=failure"), "{href}");
    let csv = browser
        .client()
        .execute(
            "return fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text());",
            vec![json!(href)],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap().to_owned();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "seq,at,actor,action,object_kind,object_id,outcome,source,detail,hash"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1..].iter().all(|l| l.contains(",failure,")), "{csv}");

    // Action (from the labelled list) and user: the new user's creation by admin.
    browser.goto(&app.url("/audit")).await;
    browser
        .find("#audit-action option[value='user.create']")
        .await
        .click()
        .await
        .unwrap();
    browser.fill("#audit-user", "admin").await;
    browser.click("#audit-filter").await;
    browser
        .wait_for_text("#audit-range", "Events 1–1 of 1", WAIT)
        .await;
    let row = browser.text("#audit-events tbody tr").await;
    assert!(row.contains("User: create"), "{row}");
    let object_id = row
        .split_whitespace()
        .find(|w| w.len() > 20 && !w.contains('.'))
        .unwrap_or_else(|| panic!("no object id in {row}"))
        .to_owned();

    // Object: that user's events (created, its password changed, its token made).
    browser.goto(&app.url("/audit")).await;
    browser.fill("#audit-object", &object_id).await;
    browser.click("#audit-filter").await;
    browser
        .wait_for_text("#audit-range", "Events 1–", WAIT)
        .await;
    let rows = browser.text("#audit-events tbody").await;
    assert!(rows.contains("User: create"), "{rows}");
    assert!(!rows.contains("admin0@"), "{rows}");

    // Time: nothing after tomorrow; a bad time says how to write it.
    let tomorrow = (clock.now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    browser.goto(&app.url("/audit")).await;
    browser.fill("#audit-from", &tomorrow).await;
    browser.click("#audit-filter").await;
    browser
        .wait_for_text("#audit-range", "No events match.", WAIT)
        .await;
    browser.goto(&app.url("/audit")).await;
    browser.fill("#audit-until", "last week").await;
    browser.click("#audit-filter").await;
    browser
        .wait_for_text("#audit-error", "YYYY-MM-DD", WAIT)
        .await;
    browser.close().await;

    // Without the audit permission: the console's 403 page, and no export.
    let olav = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let res = olav
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "olav", "password": USER_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for path in ["/audit", "/audit/export.csv"] {
        let res = olav.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
        let body = res.text().await.unwrap();
        assert!(body.contains("permission to read the audit log"), "{body}");
    }
    app.stop().await;
}
