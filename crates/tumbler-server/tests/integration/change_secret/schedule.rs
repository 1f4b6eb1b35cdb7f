//! Schedules: a task fires once per slot with one catch-up after downtime, and a cron schedule
//! fires at wall-clock time in the configured zone.

use super::super::support::{ok, ok_as};
use super::{admin, task_view};
use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::change_secret::{ExecutionView, TaskView};
use tumbler_api_types::Page;
use tumbler_domain::change_secret::Trigger;
use tumbler_domain::{Clock, ManualClock};
use tumbler_testkit::app::{StoreKind, TestApp};

#[tokio::test]
async fn a_schedule_fires_once_per_slot_with_one_catch_up_after_downtime() {
    let start = Utc::now();
    let clock = Arc::new(ManualClock::new(start));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let token = admin(&app).await;
    let t = task_view(
        &app,
        &token,
        json!({"name": "hourly", "usernames": ["nobody"], "asset_ids": ["none"],
                "secret_strategy": "random",
                "schedule": {"interval_hours": 1, "start_at": (start + chrono::Duration::minutes(30)).to_rfc3339()}}),
    )
    .await;
    let id = t.id;
    assert!(t.next_run_at.is_some());
    let engine = &app.services.change_secret;
    // Not due yet.
    assert!(engine.run_due_tasks().await.unwrap().is_empty());
    clock.advance(chrono::Duration::minutes(31));
    let fired = engine.run_due_tasks().await.unwrap();
    assert_eq!(fired.len(), 1);
    // The same slot never fires twice, whoever asks.
    assert!(engine.run_due_tasks().await.unwrap().is_empty());
    // Five missed slots (downtime): one catch-up run, and the next slot is in the future.
    clock.advance(chrono::Duration::hours(5));
    assert_eq!(engine.run_due_tasks().await.unwrap().len(), 1);
    assert!(engine.run_due_tasks().await.unwrap().is_empty());
    let task = app.services.store.change_task(&id).await.unwrap().unwrap();
    assert!(task.next_run_at.unwrap() > clock.now());
    // Both runs were scheduled runs.
    let page: Page<ExecutionView> = ok_as(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/change-secret/executions?task_id={id}"),
        None,
        200,
    )
    .await;
    assert_eq!(page.total, 2);
    for e in &page.items {
        assert_eq!(e.trigger, Trigger::Schedule);
    }
    // A disabled task does not fire.
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/change-secret/tasks/{id}"),
        Some(json!({"enabled": false})),
        200,
    )
    .await;
    clock.advance(chrono::Duration::hours(2));
    assert!(engine.run_due_tasks().await.unwrap().is_empty());
}

/// A cron schedule is read in the configured time zone: 03:00 in Berlin is 02:00 UTC in
/// winter, and the task fires then, once.
#[tokio::test]
async fn a_cron_schedule_fires_at_wall_clock_time_in_the_configured_zone() {
    let start: chrono::DateTime<Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock.clone(), |c| {
        c.change_secret.time_zone = chrono_tz::Tz::Europe__Berlin;
    })
    .await;
    let token = admin(&app).await;
    let t = task_view(
        &app,
        &token,
        json!({"name": "nightly", "usernames": ["nobody"], "asset_ids": ["none"],
                "secret_strategy": "random", "schedule": {"cron": "0 3 * * *"}}),
    )
    .await;
    assert_eq!(t.time_zone, "Europe/Berlin", "{t:?}");
    assert_eq!(
        t.next_run_at,
        Some("2026-11-23T02:00:00Z".parse().unwrap()),
        "{t:?}"
    );
    assert_eq!(
        t.next_run_at_local.as_deref(),
        Some("2026-11-23T03:00:00+01:00"),
        "{t:?}"
    );
    let engine = &app.services.change_secret;
    clock.advance(chrono::Duration::minutes(13 * 60 + 59));
    assert!(
        engine.run_due_tasks().await.unwrap().is_empty(),
        "01:59 UTC is 02:59 in Berlin"
    );
    clock.advance(chrono::Duration::minutes(1));
    assert_eq!(engine.run_due_tasks().await.unwrap().len(), 1);
    assert!(engine.run_due_tasks().await.unwrap().is_empty());
    let id = &t.id;
    let after: TaskView = ok_as(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/change-secret/tasks/{id}"),
        None,
        200,
    )
    .await;
    assert_eq!(
        after.next_run_at_local.as_deref(),
        Some("2026-11-24T03:00:00+01:00"),
        "{after:?}"
    );
}
