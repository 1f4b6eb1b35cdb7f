//! Retries on real sshd hosts: a retry of any failed record (privileged login failed, host
//! key not verified, unreachable) is a run of its own linked to the record it retries, and
//! works once the cause is fixed; "Retry all failed"; the run's status and counts are
//! recomputed; the overview lists each account that needs a person once, with the action that
//! fits; a verify of a `changing` account is refused; and recovery's sweep settles an account
//! a dropped retry left staged. Webhooks get a retry's run.

use super::change_secret::{
    account, admin, linux_asset, record_for, records, run, ssh_logs_in, task, verify_account,
    wait_for_execution, APP_PASSWORD, OPS_PASSWORD,
};
use super::support::{call, ok, user, Authenticator};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus, Trigger};
use tumbler_domain::ids::{AccountId, ChangeTaskId, ExecutionId, RecordId};
use tumbler_domain::ManualClock;
use tumbler_store::{ExecutionRow, RecordRow, RetryLink};
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::sshd::{SshHost, TestUser};

async fn overview(app: &TestApp, token: &str) -> Value {
    ok(
        app,
        token,
        Method::GET,
        "/api/v1/change-secret/overview",
        None,
        200,
    )
    .await
}

/// The overview's entry for `who` (`user@asset`), checking it is there once at most.
fn attention<'a>(overview: &'a Value, who: &str) -> Option<&'a Value> {
    let entries: Vec<&Value> = overview["failed_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            format!(
                "{}@{}",
                f["username"].as_str().unwrap(),
                f["asset_name"].as_str().unwrap()
            ) == who
        })
        .collect();
    assert!(
        entries.len() <= 1,
        "{who} is listed more than once: {overview}"
    );
    entries.first().copied()
}

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
    let body = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "unacked", "address": host.address(), "port": host.port(), "platform": "linux"})),
        201,
    )
    .await;
    let unacked = body["id"].as_str().unwrap().to_owned();
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
    let e = run(&app, &token, &task_id).await;
    assert_eq!(e["status"], "failed", "{e}");
    let exec_id = e["id"].as_str().unwrap().to_owned();
    let rs = records(&app, &token, &exec_id).await;
    let r1 = record_for(&rs, "app1").clone();
    let r2 = record_for(&rs, "app2").clone();
    let r3 = record_for(&rs, "app3").clone();
    assert_eq!(r1["reason_code"], "privileged_login_failed", "{r1}");
    assert_eq!(r2["reason_code"], "host_key_unverified", "{r2}");
    assert_eq!(r3["reason_code"], "unreachable", "{r3}");

    // The overview lists each account once, with the action that fits.
    let o = overview(&app, &token).await;
    let f1 = attention(&o, "app1@wrong-priv").expect("app1 listed");
    assert_eq!(
        (f1["kind"].as_str(), f1["next_action"].as_str()),
        (Some("failed"), Some("retry")),
        "{f1}"
    );
    assert_eq!(f1["record_id"], r1["id"]);
    let f2 = attention(&o, "app2@unacked").expect("app2 listed");
    assert_eq!(f2["next_action"], "fix_asset", "{f2}");
    let f3 = attention(&o, "app3@down").expect("app3 listed");
    assert_eq!(f3["next_action"], "retry", "{f3}");

    // Retrying before the cause is fixed fails again, as a run of its own.
    let again = ok(
        &app,
        &token,
        Method::POST,
        &format!(
            "/api/v1/change-secret/records/{}/retry",
            r1["id"].as_str().unwrap()
        ),
        None,
        200,
    )
    .await;
    assert_ne!(again["id"], r1["id"], "the retry has its own record");
    assert_eq!(
        (again["status"].as_str(), again["reason_code"].as_str()),
        (Some("failed"), Some("privileged_login_failed")),
        "{again}"
    );

    // The overview still lists app1 once: by its latest change, the failed retry.
    let o = overview(&app, &token).await;
    let f1 = attention(&o, "app1@wrong-priv").expect("app1 listed");
    assert_eq!(f1["record_id"], again["id"], "{f1}");
    assert_eq!(f1["next_action"], "retry", "{f1}");

    // Fix the causes: the privileged password, the host key, the host.
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/accounts/{ops_wrong}"),
        Some(json!({"secret": OPS_PASSWORD})),
        200,
    )
    .await;
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
    let retried = ok(
        &app,
        &token,
        Method::POST,
        &format!(
            "/api/v1/change-secret/records/{}/retry",
            r1["id"].as_str().unwrap()
        ),
        None,
        200,
    )
    .await;
    assert_eq!(retried["status"], "success", "{retried}");
    assert_ne!(retried["id"], r1["id"]);
    let retry_run = ok(
        &app,
        &token,
        Method::GET,
        &format!(
            "/api/v1/change-secret/executions/{}",
            retried["execution_id"].as_str().unwrap()
        ),
        None,
        200,
    )
    .await;
    assert_eq!(retry_run["trigger"], "retry", "{retry_run}");
    assert_eq!(retry_run["retry_of_record_id"], r1["id"], "{retry_run}");
    assert_eq!(retry_run["retry_of_execution_id"], exec_id.as_str());
    assert_eq!(retry_run["status"], "succeeded");

    // Retry all failed: the two left, each as its own run; app1 is left alone (done).
    let out = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/executions/{exec_id}/retry-failed"),
        None,
        202,
    )
    .await;
    let started = out["started"].as_array().unwrap();
    assert_eq!(started.len(), 2, "{out}");
    let skipped = out["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{out}");
    assert_eq!(skipped[0]["record_id"], r1["id"]);
    assert_eq!(skipped[0]["code"], "completed_by_retry");
    for s in started {
        let run = wait_for_execution(&app, &token, s["execution_id"].as_str().unwrap()).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(run["retry_of_execution_id"], exec_id.as_str());
    }

    // The run is recomputed: every failure was completed by a retry.
    let e = ok(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/change-secret/executions/{exec_id}"),
        None,
        200,
    )
    .await;
    assert_eq!(e["status"], "succeeded", "{e}");
    assert_eq!(e["retried"], 3, "{e}");
    assert_eq!(e["completed_by_retries"], 3, "{e}");
    assert_eq!(
        e["counts"]["failed"], 3,
        "the run's own records stay as they were: {e}"
    );
    assert_eq!(
        (
            e["counts_after_retries"]["failed"].as_i64(),
            e["counts_after_retries"]["success"].as_i64()
        ),
        (None, Some(e["counts"]["success"].as_i64().unwrap_or(0) + 3)),
        "after retries every failure counts as the success its retry was: {e}"
    );
    let log = super::change_secret::log_text(&app, &token, &exec_id).await;
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
        let v = verify_account(&app, &token, id).await;
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["account"]["secret_version"], 2, "{v}");
        assert!(!ssh_logs_in(target, user, APP_PASSWORD).await, "{user}");
    }
    // Nothing stale in the overview, and the history shows the retries.
    let o = overview(&app, &token).await;
    for who in ["app1@wrong-priv", "app2@unacked", "app3@down"] {
        assert!(attention(&o, who).is_none(), "{who} is done: {o}");
    }
    let history = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/change-secret/executions?limit=50",
        None,
        200,
    )
    .await;
    let retries = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["trigger"] == "retry")
        .count();
    assert_eq!(retries, 4, "{history}");
    // A record already done is not retried.
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!(
            "/api/v1/change-secret/records/{}/retry",
            retried["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("record_state"))
    );
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

/// The state a retry dropped mid-way leaves: its run has ended, the account is still staged
/// (`changing`) with its record `pending`, and the target took the new secret.
async fn staged_by_a_dropped_retry(
    app: &TestApp,
    task_id: &str,
    account_id: &str,
    new_secret: &str,
) -> (ExecutionId, RecordId) {
    let store = &app.services.store;
    let account = store
        .account(&AccountId::from_string(account_id))
        .await
        .unwrap()
        .unwrap();
    let now = Utc::now();
    let first = ExecutionRow {
        id: ExecutionId::generate(),
        task_id: ChangeTaskId::from_string(task_id),
        task_name: "first".to_owned(),
        domain_id: account.domain_id.clone(),
        trigger: Trigger::Manual,
        status: ExecutionStatus::Failed,
        owner_node: "tumbler".to_owned(),
        heartbeat_at: now,
        created_by: "admin".to_owned(),
        created_at: now,
        started_at: Some(now),
        finished_at: Some(now),
    };
    let retry = ExecutionRow {
        id: ExecutionId::generate(),
        trigger: Trigger::Retry,
        task_name: "first".to_owned(),
        ..first.clone()
    };
    let failed = RecordRow {
        id: RecordId::generate(),
        execution_id: first.id.clone(),
        account_id: account.id.clone(),
        asset_id: account.asset_id.clone(),
        asset_name: account.asset_name.clone(),
        domain_id: account.domain_id.clone(),
        username: account.username.clone(),
        status: RecordStatus::Failed,
        reason_code: "unreachable".to_owned(),
        reason: "down".to_owned(),
        old_version: Some(account.current_version),
        new_version: None,
        attempts: 0,
        new_secret_verified_at: None,
        created_at: now,
        updated_at: now,
    };
    let version = account.next_version;
    let pending = RecordRow {
        id: RecordId::generate(),
        execution_id: retry.id.clone(),
        status: RecordStatus::Pending,
        reason_code: String::new(),
        reason: String::new(),
        new_version: Some(version),
        attempts: 1,
        ..failed.clone()
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_execution(&first).await.unwrap();
    tx.insert_execution(&retry).await.unwrap();
    tx.insert_record(&failed).await.unwrap();
    tx.insert_record(&pending).await.unwrap();
    tx.insert_retry_link(&RetryLink {
        execution_id: retry.id.clone(),
        retry_of_record_id: failed.id.clone(),
        retry_of_execution_id: first.id.clone(),
        root_record_id: failed.id.clone(),
        root_execution_id: first.id.clone(),
        account_id: account.id.clone(),
        created_at: now,
    })
    .await
    .unwrap();
    app.services
        .vault
        .seal(
            &mut tx,
            "account",
            account_id,
            version,
            new_secret.as_bytes(),
        )
        .await
        .unwrap();
    assert!(tx
        .stage_account_change(&account.id, account.current_version, version, now)
        .await
        .unwrap());
    tx.commit().await.unwrap();
    (first.id, pending.id)
}

#[tokio::test]
async fn a_changing_account_refuses_verify_and_the_sweep_settles_a_dropped_retry() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "dropped", &host).await;
    account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "dropped", "usernames": ["app1"], "asset_ids": [asset], "secret_strategy": "random"}),
    )
    .await;
    let (first, pending) =
        staged_by_a_dropped_retry(&app, &task_id, &app1, "canary-Dropped-Retry-9f").await;
    host.set_password("app1", "canary-Dropped-Retry-9f")
        .await
        .unwrap();

    // A verify would log in with the current secret the target no longer has: refused, and
    // the account is not marked failed.
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/accounts/{app1}/verify"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("account_changing")),
        "{body}"
    );
    let a = ok(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/accounts/{app1}"),
        None,
        200,
    )
    .await;
    assert_eq!(a["status"], "changing", "{a}");
    // Retry and ignore refuse a record in progress.
    for action in ["retry", "ignore"] {
        let (status, _) = call(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/change-secret/records/{pending}/{action}"),
            None,
        )
        .await;
        assert_eq!(status, 409, "{action}");
    }
    // The runs have ended, so run recovery has nothing to do; the sweep settles the stage.
    assert_eq!(app.services.change_secret.recover(false).await.unwrap(), 0);
    let counts = app.services.change_secret.recover_all(false).await.unwrap();
    assert_eq!((counts.interrupted_runs, counts.settled_accounts), (0, 1));
    let r = app.services.store.record(&pending).await.unwrap().unwrap();
    assert_eq!(r.status, RecordStatus::Success, "{r:?}");
    let v = verify_account(&app, &token, &app1).await;
    assert_eq!(
        (v["ok"].as_bool(), v["account"]["secret_version"].as_i64()),
        (Some(true), Some(2)),
        "{v}"
    );
    assert!(ssh_logs_in(&host, "app1", "canary-Dropped-Retry-9f").await);
    // The dropped retry completed the first run's failure.
    let e = ok(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/change-secret/executions/{first}"),
        None,
        200,
    )
    .await;
    assert_eq!(
        (e["retried"].as_i64(), e["completed_by_retries"].as_i64()),
        (Some(1), Some(1)),
        "{e}"
    );
    // Nothing is left.
    let counts = app.services.change_secret.recover_all(false).await.unwrap();
    assert_eq!(counts.settled_accounts, 0);
    assert!(attention(&overview(&app, &token).await, "app1@dropped").is_none());

    // An unverified change (the target took it, the login was inconclusive) is listed as
    // such: verify, then adopt once the new secret logged in. It is not `changing`, so the
    // sweep leaves it to the person.
    let (_, unverified) =
        staged_by_a_dropped_retry(&app, &task_id, &app1, "canary-Unverified-3b").await;
    host.set_password("app1", "canary-Unverified-3b")
        .await
        .unwrap();
    let store = &app.services.store;
    let mut r = store.record(&unverified).await.unwrap().unwrap();
    r.status = RecordStatus::Unverified;
    r.reason_code = "timeout".to_owned();
    r.reason = "the login with the new secret did not answer".to_owned();
    let mut tx = store.begin().await.unwrap();
    tx.update_record(&r).await.unwrap();
    tx.set_account_verification(
        &AccountId::from_string(&app1),
        tumbler_domain::inventory::AccountStatus::NeedsAttention,
        "timeout: the login with the new secret did not answer",
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let counts = app.services.change_secret.recover_all(false).await.unwrap();
    assert_eq!(counts.settled_accounts, 0, "held for a person");
    let o = overview(&app, &token).await;
    let f = attention(&o, "app1@dropped").expect("listed");
    assert_eq!(
        (f["kind"].as_str(), f["next_action"].as_str()),
        (Some("unverified"), Some("verify")),
        "{f}"
    );
    ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{unverified}/verify"),
        None,
        200,
    )
    .await;
    let o = overview(&app, &token).await;
    let f = attention(&o, "app1@dropped").expect("listed");
    assert_eq!(f["next_action"], "adopt", "{f}");
    // An account whose stored secret stopped working needs a person too, once.
    host.set_password("ops", "canary-Ops-Changed-Elsewhere")
        .await
        .unwrap();
    let ops = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/accounts?username=ops",
        None,
        200,
    )
    .await;
    let ops_id = ops["items"][0]["id"].as_str().unwrap().to_owned();
    let v = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/accounts/{ops_id}/verify"),
        None,
        200,
    )
    .await;
    assert_eq!(v["ok"], false, "{v}");
    let o = overview(&app, &token).await;
    let f = attention(&o, "ops@dropped").expect("listed");
    assert_eq!(
        (f["kind"].as_str(), f["next_action"].as_str()),
        (Some("needs_attention"), Some("fix_asset")),
        "{f}"
    );
    assert!(f["record_id"].is_null(), "{f}");
}

/// Registers a webhook on a loopback receiver that answers 200; returns the bodies it gets.
async fn webhook_receiver(app: &TestApp, token: &str) -> Arc<std::sync::Mutex<Vec<Vec<u8>>>> {
    let got: Arc<std::sync::Mutex<Vec<Vec<u8>>>> = Arc::default();
    let seen = got.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(body.to_vec());
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    ok(
        app,
        token,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"url": url})),
        201,
    )
    .await;
    got
}

/// A retry of an unverified record re-uses the new secret staged for it; a retry of a record
/// whose account has changed since makes a fresh secret and never re-seals the old one.
#[tokio::test]
async fn a_retry_reuses_a_pending_secret_and_never_an_old_one() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let hooks = webhook_receiver(&app, &token).await;
    let asset = linux_asset(&app, &token, "reuse", &host).await;
    account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "reuse", "usernames": ["app1"], "asset_ids": [asset], "secret_strategy": "random"}),
    )
    .await;
    // An unverified change whose stage nobody owns any more (its run ended).
    let (_, rec) =
        super::change_secret::staged_by_a_dead_worker(&app, &task_id, &app1, "canary-Reuse-Me-2a")
            .await;
    let mut r = app.services.store.record(&rec).await.unwrap().unwrap();
    r.status = RecordStatus::Unverified;
    let mut tx = app.services.store.begin().await.unwrap();
    tx.update_record(&r).await.unwrap();
    tx.commit().await.unwrap();
    let retried = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec}/retry"),
        None,
        200,
    )
    .await;
    assert_eq!(retried["status"], "success", "{retried}");
    // Webhooks get the retry's run, linked to the record it retried.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let bodies: Vec<Value> = hooks
            .lock()
            .unwrap()
            .iter()
            .map(|b| serde_json::from_slice(b).unwrap())
            .collect();
        if let Some(b) = bodies
            .iter()
            .find(|b| b["execution"]["id"] == retried["execution_id"])
        {
            assert_eq!(b["execution"]["trigger"], "retry", "{b}");
            assert_eq!(b["execution"]["retry_of_record_id"], rec.as_str(), "{b}");
            assert!(
                !b.to_string().contains("canary-Reuse-Me-2a"),
                "no secret: {b}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no webhook for the retry: {bodies:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        retried["new_version"], 2,
        "the staged version is re-used: {retried}"
    );
    assert!(ssh_logs_in(&host, "app1", "canary-Reuse-Me-2a").await);
    // Retrying the old record now (the account changed since) makes a fresh secret.
    let again = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec}/retry"),
        None,
        200,
    )
    .await;
    assert_eq!(again["status"], "success", "{again}");
    assert_eq!(again["old_version"], 2, "{again}");
    assert_eq!(again["new_version"], 3, "{again}");
    assert!(!ssh_logs_in(&host, "app1", "canary-Reuse-Me-2a").await);
    let v = verify_account(&app, &token, &app1).await;
    assert_eq!(
        (v["ok"].as_bool(), v["account"]["secret_version"].as_i64()),
        (Some(true), Some(3))
    );
}

/// An asset moved to another domain after its run failed: "Retry all failed" by an operator of
/// the run's domain (who no longer sees the asset) and by an administrator who sees both
/// domains, and a single retry, all send nothing (the run's task and domain no longer cover
/// the asset); the operator's overview no longer lists the account.
#[tokio::test]
async fn retries_of_an_asset_moved_to_another_domain_send_nothing() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "moving", &host).await;
    let ops = account(
        &app,
        &token,
        &asset,
        "ops",
        "not-the-password",
        true,
        json!({}),
    )
    .await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "moving", "usernames": ["app1"], "asset_ids": [asset], "secret_strategy": "random"}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    assert_eq!(e["status"], "failed", "{e}");
    let exec_id = e["id"].as_str().unwrap().to_owned();
    let r1 = record_for(&records(&app, &token, &exec_id).await, "app1").clone();
    assert_eq!(r1["reason_code"], "privileged_login_failed", "{r1}");
    let operator = user(&app, &token, "opa", &["operator"], &["Default"]).await;
    assert!(attention(&overview(&app, &operator).await, "app1@moving").is_some());

    // The cause is fixed (a retry would change the account), then the asset moves away.
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/accounts/{ops}"),
        Some(json!({"secret": OPS_PASSWORD})),
        200,
    )
    .await;
    ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Elsewhere"})),
        201,
    )
    .await;
    let me = ok(&app, &token, Method::GET, "/api/v1/users/me", None, 200).await;
    let admin_id = me["id"].as_str().unwrap();
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/users/{admin_id}"),
        Some(json!({"domains": ["Default", "Elsewhere"]})),
        200,
    )
    .await;
    ok(
        &app,
        &token,
        Method::PUT,
        "/api/v1/users/me/object-visibility",
        Some(json!({"all_domains": true})),
        204,
    )
    .await;
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"domain": "Elsewhere"})),
        200,
    )
    .await;

    let retry_failed = format!("/api/v1/change-secret/executions/{exec_id}/retry-failed");
    for caller in [&operator, &token] {
        let out = ok(&app, caller, Method::POST, &retry_failed, None, 202).await;
        assert_eq!(out["started"].as_array().unwrap().len(), 0, "{out}");
        assert_eq!(out["skipped"][0]["record_id"], r1["id"], "{out}");
        assert_eq!(out["skipped"][0]["code"], "asset_moved", "{out}");
    }
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!(
            "/api/v1/change-secret/records/{}/retry",
            r1["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("asset_moved")),
        "{body}"
    );
    // Nothing was sent: the old password still logs in, the account is at its first version
    // and no retry run exists.
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    let a = ok(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/accounts/{app1}"),
        None,
        200,
    )
    .await;
    assert_eq!(a["secret_version"], 1, "{a}");
    let history = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/change-secret/executions?limit=50",
        None,
        200,
    )
    .await;
    assert!(
        history["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["trigger"] != "retry"),
        "{history}"
    );
    // The account is no longer the operator's to act on.
    assert!(attention(&overview(&app, &operator).await, "app1@moving").is_none());
    assert!(attention(&overview(&app, &token).await, "app1@moving").is_some());
    app.stop().await;
}

/// A retry of a disabled task's record is refused as running the task is.
#[tokio::test]
async fn a_disabled_task_is_not_retried() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "off", &host).await;
    let ops = account(
        &app,
        &token,
        &asset,
        "ops",
        "not-the-password",
        true,
        json!({}),
    )
    .await;
    account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "off", "usernames": ["app1"], "asset_ids": [asset], "secret_strategy": "random"}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    let exec_id = e["id"].as_str().unwrap().to_owned();
    let r1 = record_for(&records(&app, &token, &exec_id).await, "app1").clone();
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/accounts/{ops}"),
        Some(json!({"secret": OPS_PASSWORD})),
        200,
    )
    .await;
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/change-secret/tasks/{task_id}"),
        Some(json!({"enabled": false})),
        200,
    )
    .await;
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!(
            "/api/v1/change-secret/records/{}/retry",
            r1["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("task_disabled")),
        "{body}"
    );
    let out = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/executions/{exec_id}/retry-failed"),
        None,
        202,
    )
    .await;
    assert_eq!(out["started"].as_array().unwrap().len(), 0, "{out}");
    assert_eq!(out["skipped"][0]["code"], "task_disabled", "{out}");
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    app.stop().await;
}

/// An account staged on purpose (an unverified change waiting for a person: `needs_attention`
/// with its new secret pending) is not verified with its current secret: that login proves
/// nothing while the target may hold the new one, and would mark it `ok` while still staged.
#[tokio::test]
async fn verify_of_an_account_with_a_staged_secret_is_refused() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "staged", &host).await;
    account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "staged", "usernames": ["app1"], "asset_ids": [asset], "secret_strategy": "random"}),
    )
    .await;
    // The target kept the current password; the new one is staged, waiting for a person.
    let (_, unverified) =
        staged_by_a_dropped_retry(&app, &task_id, &app1, "canary-Staged-Verify-5e").await;
    let store = &app.services.store;
    let mut r = store.record(&unverified).await.unwrap().unwrap();
    r.status = RecordStatus::Unverified;
    r.reason_code = "timeout".to_owned();
    r.reason = "the login with the new secret did not answer".to_owned();
    let mut tx = store.begin().await.unwrap();
    tx.update_record(&r).await.unwrap();
    tx.set_account_verification(
        &AccountId::from_string(&app1),
        tumbler_domain::inventory::AccountStatus::NeedsAttention,
        "timeout: the login with the new secret did not answer",
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/accounts/{app1}/verify"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("account_staged")),
        "{body}"
    );
    let row = store
        .account(&AccountId::from_string(&app1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.status, row.pending_version),
        (
            tumbler_domain::inventory::AccountStatus::NeedsAttention,
            Some(2)
        ),
        "{row:?}"
    );
    // The record's verify (a login with the new secret) is the way on.
    ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{unverified}/verify"),
        None,
        200,
    )
    .await;
    app.stop().await;
}

/// A staged account whose asset's platform is no longer known cannot be settled by login: the
/// sweep marks it `needs_attention` with the reason once, and does not try (and log) again on
/// every pass.
#[tokio::test]
async fn a_staged_account_on_an_unknown_platform_is_left_to_a_person_once() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "retired", &host).await;
    account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "retired", "usernames": ["app1"], "asset_ids": [asset], "secret_strategy": "random"}),
    )
    .await;
    let (_, pending) =
        staged_by_a_dropped_retry(&app, &task_id, &app1, "canary-Retired-Os-1d").await;
    let store = &app.services.store;
    let mut row = store
        .asset(&tumbler_domain::ids::AssetId::from_string(&asset))
        .await
        .unwrap()
        .unwrap();
    row.platform = "retired-os".to_owned();
    let mut tx = store.begin().await.unwrap();
    tx.update_asset(&row).await.unwrap();
    tx.commit().await.unwrap();
    for _ in 0..3 {
        app.services.change_secret.recover_all(false).await.unwrap();
    }
    let a = store
        .account(&AccountId::from_string(&app1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        a.status,
        tumbler_domain::inventory::AccountStatus::NeedsAttention,
        "{a:?}"
    );
    assert!(a.status_reason.contains("unsupported_platform"), "{a:?}");
    assert_eq!(a.pending_version, Some(2), "kept for a person: {a:?}");
    let r = store.record(&pending).await.unwrap().unwrap();
    assert_eq!(r.reason_code, "unsupported_platform", "{r:?}");
    let log = super::change_secret::log_text(&app, &token, r.execution_id.as_str()).await;
    assert_eq!(
        log.matches("left staged after the run ended").count(),
        1,
        "{log}"
    );
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    app.stop().await;
}
