//! A password changed by hand on the host is found by a drift pass (`needs_attention`, code
//! `drift`, audited) and reconciled through the privileged account's session without the old
//! password; the bulk action refuses accounts not in `needs_attention`; the privileged account
//! cannot reconcile itself; no password reaches a log, the audit or an answer.

use super::super::change_secret::{admin, log_text, ssh_logs_in, APP_PASSWORD, OPS_PASSWORD};
use super::super::support::{call, ok, ok_as, typed, Authenticator};
use super::{
    audit_text, drift_pass, get_account, linux_host, reconcile, reconcile_many, reconcile_refused,
    revealed_new, HAND_PASSWORD,
};
use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::change_secret::ExecutionView;
use tumbler_api_types::overview::{NextAction, Overview};
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus, Trigger};
use tumbler_domain::ids::AccountId;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::logs::LogCapture;

async fn drift_is_found_and_reconciled(kind: StoreKind) {
    let logs = LogCapture::install();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(kind, clock.clone()).await;
    let token = admin(&app).await;
    let auth = Authenticator::enrol(&app, &token, clock.clone()).await;
    let (host, _asset, ops, apps) = linux_host(&app, &token, "web1", &["app1", "app2"]).await;
    let (app1, app2) = (apps[0].clone(), apps[1].clone());

    // Someone changes app1's password by hand on the host.
    host.set_password("app1", HAND_PASSWORD).await.unwrap();
    let mut answers = String::new();

    // A drift pass finds it, and only it.
    let report = drift_pass(&app).await;
    assert_eq!(
        report.drifted,
        vec![AccountId::from_string(app1.clone())],
        "{report:?}"
    );
    assert_eq!((report.checked, report.working), (3, 2), "{report:?}");
    let a1 = get_account(&app, &token, &app1).await;
    assert_eq!(a1.status, "needs_attention", "{a1:?}");
    assert!(a1.status_reason.starts_with("drift: "), "{a1:?}");
    assert_eq!(get_account(&app, &token, &app2).await.status, "ok");
    // The dashboard's overview lists it with reconcile as the next action.
    let body = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/change-secret/overview",
        None,
        200,
    )
    .await;
    answers.push_str(&body.to_string());
    let overview: Overview = typed(body);
    let entry = overview
        .failed_accounts
        .iter()
        .find(|f| f.account_id.as_str() == app1)
        .unwrap_or_else(|| panic!("app1 listed: {overview:?}"));
    assert_eq!(
        (entry.reason_code.as_str(), entry.next_action),
        ("drift", NextAction::Reconcile),
        "{entry:?}"
    );

    // The bulk action refuses accounts not in needs_attention, each with a code.
    let bulk = reconcile_many(&app, &token, &[&app2, "no-such-account"]).await;
    assert!(bulk.started.is_empty(), "{bulk:?}");
    let codes: Vec<(&str, &str)> = bulk
        .skipped
        .iter()
        .map(|s| (s.account_id.as_str(), s.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            (app2.as_str(), "not_needs_attention"),
            ("no-such-account", "not_found")
        ],
        "{bulk:?}"
    );
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/accounts/reconcile",
        Some(json!({"account_ids": []})),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    // The privileged account cannot reconcile itself: its own secret is never used.
    host.set_password("ops", HAND_PASSWORD).await.unwrap();
    answers.push_str(&reconcile_refused(&app, &token, &ops, "reconcile_account_is_self").await);
    host.set_password("ops", OPS_PASSWORD).await.unwrap();

    // Reconcile app1: a new password through ops's sudo session, verified and committed.
    let (record, text) = reconcile(&app, &token, &app1).await;
    answers.push_str(&text);
    assert_eq!(record.status, RecordStatus::Success, "{record:?}");
    let exec_id = record.execution_id.to_string();
    let exec: ExecutionView = ok_as(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/change-secret/executions/{exec_id}"),
        None,
        200,
    )
    .await;
    assert_eq!(
        (exec.trigger, exec.status),
        (Trigger::Reconcile, ExecutionStatus::Succeeded),
        "{exec:?}"
    );
    let a1 = get_account(&app, &token, &app1).await;
    assert_eq!(
        (Some(a1.status.as_str()), Some(a1.secret_version)),
        (Some("ok"), Some(2)),
        "{a1:?}"
    );
    let new = revealed_new(&app, &token, &auth, record.id.as_str()).await;
    assert!(
        ssh_logs_in(&host, "app1", &new).await,
        "the new secret logs in"
    );
    assert!(!ssh_logs_in(&host, "app1", HAND_PASSWORD).await);
    // The old (hand-set) password was never typed: chpasswd ran through sudo, by ops.
    let commands = host.command_log();
    assert!(commands.contains("chpasswd"), "snoopy watched: {commands}");

    // The next pass finds nothing.
    let report = drift_pass(&app).await;
    assert!(report.drifted.is_empty(), "{report:?}");

    // Audited; no password anywhere.
    let audit = audit_text(&app, &token).await;
    assert!(audit.contains("account.drift"), "{audit}");
    assert!(audit.contains("account.reconcile"), "{audit}");
    let log = log_text(&app, &token, &exec_id).await;
    assert!(log.contains("reconcile of app1@web1 through ops"), "{log}");
    for secret in [HAND_PASSWORD, OPS_PASSWORD, APP_PASSWORD, new.as_str()] {
        assert!(!commands.contains(secret), "{secret} on a command line");
        assert!(!log.contains(secret), "{secret} in the run's log");
        assert!(!audit.contains(secret), "{secret} in the audit");
        assert!(!answers.contains(secret), "{secret} in an answer");
        assert!(
            !logs.contents().contains(secret),
            "{secret} in the server log"
        );
    }
}

#[tokio::test]
async fn a_password_changed_by_hand_is_found_by_drift_and_reconciled_on_sqlite() {
    drift_is_found_and_reconciled(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn a_password_changed_by_hand_is_found_by_drift_and_reconciled_on_postgres() {
    drift_is_found_and_reconciled(StoreKind::Postgres).await;
}
