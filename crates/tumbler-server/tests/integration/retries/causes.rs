//! A retry of each kind of failure (privileged login failed, host key not verified,
//! unreachable) fails again until its cause is fixed, then works as a run of its own;
//! "Retry all failed"; the run's status and counts are recomputed.

use super::super::change_secret::{
    account, admin, linux_asset, record_for, records, run, ssh_logs_in, task, verify_account,
    wait_for_execution, APP_PASSWORD, OPS_PASSWORD,
};
use super::super::support::{ok, ok_as, Authenticator};
use super::{attention, execution, overview, retry_all, retry_refused, store_ops_password};
use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::change_secret::{ExecutionView, RecordRow};
use tumbler_api_types::inventory::{AssetOut, VerifyOut};
use tumbler_api_types::overview::{AttentionKind, NextAction};
use tumbler_api_types::Page;
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::sshd::{SshHost, TestUser};

async fn retries_fix_each_cause(kind: StoreKind) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(kind, clock.clone()).await;
    let token = admin(&app).await;
    let authenticator = Authenticator::enrol(&app, &token, clock).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
        TestUser::new("app2", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let mut down = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app3", APP_PASSWORD),
    ])
    .await
    .unwrap();
    // A wrong stored privileged password.
    let wrong = linux_asset(&app, &token, "wrong-priv", &host).await;
    let ops_wrong = account(
        &app,
        &token,
        &wrong,
        "ops",
        "not-the-password",
        true,
        json!({}),
    )
    .await;
    let app1 = account(&app, &token, &wrong, "app1", APP_PASSWORD, false, json!({})).await;
    // A host key nobody acknowledged.
    let body: AssetOut = ok_as(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "unacked", "address": host.address(), "port": host.port(), "platform": "linux"})),
        201,
    )
    .await;
    let unacked = body.id;
    account(&app, &token, &unacked, "ops", OPS_PASSWORD, true, json!({})).await;
    let app2 = account(
        &app,
        &token,
        &unacked,
        "app2",
        APP_PASSWORD,
        false,
        json!({}),
    )
    .await;
    // A host that is down.
    let gone = linux_asset(&app, &token, "down", &down).await;
    account(&app, &token, &gone, "ops", OPS_PASSWORD, true, json!({})).await;
    let app3 = account(&app, &token, &gone, "app3", APP_PASSWORD, false, json!({})).await;
    down.kill();

    let task_id = task(
        &app,
        &token,
        json!({"name": "retry me", "usernames": ["app1", "app2", "app3"],
               "asset_ids": [wrong, unacked, gone], "secret_strategy": "random"}),
    )
    .await;
    let e: ExecutionView = run(&app, &token, &task_id).await;
    assert_eq!(e.status.as_str(), "failed", "{e:?}");
    let exec_id = e.id.to_string();
    let rs = records(&app, &token, &exec_id).await;
    let r1: RecordRow = record_for(&rs, "app1").clone();
    let r2: RecordRow = record_for(&rs, "app2").clone();
    let r3: RecordRow = record_for(&rs, "app3").clone();
    assert_eq!(
        r1.reason_code,
        Some(FailureCode::PrivilegedLoginFailed),
        "{r1:?}"
    );
    assert_eq!(
        r2.reason_code,
        Some(FailureCode::HostKeyUnverified),
        "{r2:?}"
    );
    assert_eq!(r3.reason_code, Some(FailureCode::Unreachable), "{r3:?}");

    // The overview lists each account once, with the action that fits.
    let o = overview(&app, &token).await;
    let f1 = attention(&o, "app1@wrong-priv").expect("app1 listed");
    assert_eq!(
        (f1.kind, f1.next_action),
        (AttentionKind::Failed, NextAction::Retry),
        "{f1:?}"
    );
    assert_eq!(f1.record_id.as_ref(), Some(&r1.id));
    let f2 = attention(&o, "app2@unacked").expect("app2 listed");
    assert_eq!(f2.next_action, NextAction::FixAsset, "{f2:?}");
    let f3 = attention(&o, "app3@down").expect("app3 listed");
    assert_eq!(f3.next_action, NextAction::Retry, "{f3:?}");

    // Retrying before the cause is fixed fails again, as a run of its own.
    let again: RecordRow = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{}/retry", r1.id),
        None,
        200,
    )
    .await;
    assert_ne!(again.id, r1.id, "the retry has its own record");
    assert_eq!(
        (
            again.status.as_str(),
            again.reason_code.map_or("", FailureCode::as_str)
        ),
        ("failed", "privileged_login_failed"),
        "{again:?}"
    );

    // The overview still lists app1 once: by its latest change, the failed retry.
    let o = overview(&app, &token).await;
    let f1 = attention(&o, "app1@wrong-priv").expect("app1 listed");
    assert_eq!(f1.record_id.as_ref(), Some(&again.id), "{f1:?}");
    assert_eq!(f1.next_action, NextAction::Retry, "{f1:?}");

    // Fix the causes: the privileged password, the host key, the host.
    store_ops_password(&app, &token, &ops_wrong).await;
    ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{unacked}/test"),
        None,
        200,
    )
    .await;
    ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{unacked}/host-key/acknowledge"),
        Some(
            json!({"fingerprint": host.host_key_fingerprint(), "totp": authenticator.fresh_code()}),
        ),
        200,
    )
    .await;
    down.start_again().await.unwrap();

    // One retry answers with its own record, linked to the one it retries.
    let retried: RecordRow = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{}/retry", r1.id),
        None,
        200,
    )
    .await;
    assert_eq!(retried.status.as_str(), "success", "{retried:?}");
    assert_ne!(retried.id, r1.id);
    let retry_run: ExecutionView = execution(&app, &token, retried.execution_id.as_str()).await;
    assert_eq!(retry_run.trigger.as_str(), "retry", "{retry_run:?}");
    assert_eq!(
        retry_run.retry_of_record_id.as_ref(),
        Some(&r1.id),
        "{retry_run:?}"
    );
    assert_eq!(
        retry_run.retry_of_execution_id.as_ref().map(|i| i.as_str()),
        Some(exec_id.as_str())
    );
    assert_eq!(retry_run.status.as_str(), "succeeded");

    // Retry all failed: the two left, each as its own run; app1 is left alone (done).
    let out = retry_all(&app, &token, &exec_id).await;
    assert_eq!(out.started.len(), 2, "{out:?}");
    assert_eq!(out.skipped.len(), 1, "{out:?}");
    assert_eq!(out.skipped[0].record_id, r1.id);
    assert_eq!(out.skipped[0].code, "completed_by_retry");
    for s in &out.started {
        let run: ExecutionView = wait_for_execution(&app, &token, s.execution_id.as_str()).await;
        assert_eq!(run.status.as_str(), "succeeded", "{run:?}");
        assert_eq!(
            run.retry_of_execution_id.as_ref().map(|i| i.as_str()),
            Some(exec_id.as_str())
        );
    }

    // The run is recomputed: every failure was completed by a retry.
    let e: ExecutionView = execution(&app, &token, &exec_id).await;
    assert_eq!(e.status.as_str(), "succeeded", "{e:?}");
    assert_eq!(e.retried, 3, "{e:?}");
    assert_eq!(e.completed_by_retries, 3, "{e:?}");
    assert_eq!(
        e.counts.get(&RecordStatus::Failed),
        Some(&3),
        "the run's own records stay as they were: {e:?}"
    );
    assert_eq!(
        (
            e.counts_after_retries.get(&RecordStatus::Failed).copied(),
            e.counts_after_retries.get(&RecordStatus::Success).copied()
        ),
        (
            None,
            Some(e.counts.get(&RecordStatus::Success).copied().unwrap_or(0) + 3)
        ),
        "after retries every failure counts as the success its retry was: {e:?}"
    );
    let log = super::super::change_secret::log_text(&app, &token, &exec_id).await;
    assert!(
        log.contains("1 of its records completed by retries; failed -> partial")
            && log.contains("3 of its records completed by retries; partial -> succeeded"),
        "{log}"
    );

    // Every stored secret logs in, and the old password does not.
    for (id, user, target) in [
        (&app1, "app1", &host),
        (&app2, "app2", &host),
        (&app3, "app3", &down),
    ] {
        let v: VerifyOut = verify_account(&app, &token, id).await;
        assert!(v.ok, "{v:?}");
        assert_eq!(v.account.secret_version, 2, "{v:?}");
        assert!(!ssh_logs_in(target, user, APP_PASSWORD).await, "{user}");
    }
    // Nothing stale in the overview, and the history shows the retries.
    let o = overview(&app, &token).await;
    for who in ["app1@wrong-priv", "app2@unacked", "app3@down"] {
        assert!(attention(&o, who).is_none(), "{who} is done: {o:?}");
    }
    let history: Page<ExecutionView> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/change-secret/executions?limit=50",
        None,
        200,
    )
    .await;
    let retries = history
        .items
        .iter()
        .filter(|e| e.trigger.as_str() == "retry")
        .count();
    assert_eq!(retries, 4, "{history:?}");
    // A record already done is not retried.
    retry_refused(&app, &token, retried.id.as_str(), "record_state").await;
    app.stop().await;
}

#[tokio::test]
async fn a_retry_fixes_unreachable_host_key_and_privileged_login_failures_on_sqlite() {
    retries_fix_each_cause(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn a_retry_fixes_unreachable_host_key_and_privileged_login_failures_on_postgres() {
    retries_fix_each_cause(StoreKind::Postgres).await;
}
