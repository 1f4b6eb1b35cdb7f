//! The console's audit CSV export holds at most the configured number of events: over it,
//! the page says so and the export is refused (422) with nothing exported; and every export,
//! or its refusal, is itself an `audit.export` event naming who and which filters.

use super::support::{console_admin, ok, ok_as};
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::Page;
use tumbler_domain::audit::AuditEvent;
use tumbler_domain::SystemClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

#[tokio::test]
async fn an_export_over_its_stated_maximum_is_refused_and_every_export_is_audited() {
    let app = TestApp::spawn_configured(StoreKind::Sqlite, Arc::new(SystemClock), |c| {
        c.audit.export_max_rows = 3;
    })
    .await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    for name in ["ann", "bob", "cy", "dee"] {
        ok(
            &app,
            &token,
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": name, "roles": [], "current_password": ADMIN_PASSWORD})),
            201,
        )
        .await;
    }
    let console = console_admin(&app).await;

    // Five users created (the admin and four): more than an export holds, which the page says instead of a link.
    let page = console
        .get(app.url("/audit?action=user.create"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("an export holds at most 3"), "{page}");
    assert!(!page.contains("id=\"audit-export\""), "{page}");
    let res = console
        .get(app.url("/audit/export.csv?action=user.create"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("Nothing was exported: 5 events match, and an export holds at most 3"),
        "{body}"
    );

    // Within the maximum: the CSV, its header and one line per event, and the link stated.
    let page = console
        .get(app.url("/audit?action=token.create"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("id=\"audit-export\"") && page.contains("all matching events, at most 3"),
        "{page}"
    );
    let res = console
        .get(app.url("/audit/export.csv?action=token.create"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("seq,at,actor,action"), "{csv}");
    assert!(lines[1].contains("token.create"), "{csv}");

    // Both are audited: who, which filters, and what came of it.
    let events: Page<AuditEvent> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/audit?action=audit.export",
        None,
        200,
    )
    .await;
    assert_eq!(events.total, 2, "{:?}", events.items);
    let refused = events
        .items
        .iter()
        .find(|e| e.outcome == "failure")
        .expect("the refused export is recorded");
    assert_eq!(refused.actor, "admin");
    assert!(
        refused.detail.contains("action=user.create") && refused.detail.contains("5 events match"),
        "{}",
        refused.detail
    );
    let done = events
        .items
        .iter()
        .find(|e| e.outcome == "success")
        .expect("the export is recorded");
    assert_eq!(done.actor, "admin");
    assert!(
        done.detail.contains("action=token.create") && done.detail.contains("1 events"),
        "{}",
        done.detail
    );
    app.stop().await;
}
