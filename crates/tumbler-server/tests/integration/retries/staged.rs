//! An account a retry left staged: a verify of a `changing` or staged account is refused,
//! recovery's sweep settles a dropped retry, an unverified change waits for a person (verify,
//! then adopt), and a platform no longer known is left to a person once.

use super::super::change_secret::{ssh_logs_in, verify_account, APP_PASSWORD, OPS_PASSWORD};
use super::super::support::{call, error_code, ok, ok_as};
use super::{attention, execution, overview, spawn_one_app, OneApp};
use chrono::Utc;
use reqwest::Method;
use tumbler_api_types::inventory::{AccountOut, VerifyOut};
use tumbler_api_types::overview::{AttentionKind, NextAction};
use tumbler_api_types::Page;
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus, Trigger};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::{AccountId, ChangeTaskId, ExecutionId, RecordId};
use tumbler_store::{ExecutionRow, RecordRow, RetryLink};
use tumbler_testkit::app::TestApp;

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
        reason_code: Some(FailureCode::Unreachable),
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
        reason_code: None,
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
            tumbler_domain::secret_owner::SecretOwner::Account,
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

/// Marks a staged record `unverified` (`timeout`) and its account `needs_attention`: an
/// unverified change waiting for a person, its new secret pending.
async fn left_unverified(app: &TestApp, record: &RecordId, account_id: &str) {
    let store = &app.services.store;
    let mut r = store.record(record).await.unwrap().unwrap();
    r.status = RecordStatus::Unverified;
    r.reason_code = Some(FailureCode::Timeout);
    r.reason = "the login with the new secret did not answer".to_owned();
    let mut tx = store.begin().await.unwrap();
    tx.update_record(&r).await.unwrap();
    tx.set_account_verification(
        &AccountId::from_string(account_id),
        tumbler_domain::inventory::AccountStatus::NeedsAttention,
        "timeout: the login with the new secret did not answer",
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// A verify of `account_id` is refused 409 with `code`.
async fn verify_refused(app: &TestApp, token: &str, account_id: &str, code: &str) {
    let (status, body) = call(
        app,
        token,
        Method::POST,
        &format!("/api/v1/accounts/{account_id}/verify"),
        None,
    )
    .await;
    assert_eq!((status, error_code(&body).as_str()), (409, code), "{body}");
}

/// The record `record`'s verify (a login with its new secret) answers 200.
async fn verify_record(app: &TestApp, token: &str, record: &RecordId) {
    ok(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{record}/verify"),
        None,
        200,
    )
    .await;
}

#[tokio::test]
async fn a_changing_account_refuses_verify_and_the_sweep_settles_a_dropped_retry() {
    let (app, token, one) = spawn_one_app("dropped", OPS_PASSWORD).await;
    let OneApp {
        host,
        app1,
        task_id,
        ..
    } = one;
    let (first, pending) =
        staged_by_a_dropped_retry(&app, &task_id, &app1, "canary-Dropped-Retry-9f").await;
    host.set_password("app1", "canary-Dropped-Retry-9f")
        .await
        .unwrap();

    // A verify would log in with the current secret the target no longer has: refused, and
    // the account is not marked failed.
    verify_refused(&app, &token, &app1, "account_changing").await;
    let a: AccountOut = ok_as(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/accounts/{app1}"),
        None,
        200,
    )
    .await;
    assert_eq!(a.status, "changing", "{a:?}");
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
    let v: VerifyOut = verify_account(&app, &token, &app1).await;
    assert_eq!((v.ok, v.account.secret_version), (true, 2), "{v:?}");
    assert!(ssh_logs_in(&host, "app1", "canary-Dropped-Retry-9f").await);
    // The dropped retry completed the first run's failure.
    let e = execution(&app, &token, first.as_str()).await;
    assert_eq!((e.retried, e.completed_by_retries), (1, 1), "{e:?}");
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
    left_unverified(&app, &unverified, &app1).await;
    let counts = app.services.change_secret.recover_all(false).await.unwrap();
    assert_eq!(counts.settled_accounts, 0, "held for a person");
    let o = overview(&app, &token).await;
    let f = attention(&o, "app1@dropped").expect("listed");
    assert_eq!(
        (f.kind, f.next_action),
        (AttentionKind::Unverified, NextAction::Verify),
        "{f:?}"
    );
    verify_record(&app, &token, &unverified).await;
    let o = overview(&app, &token).await;
    let f = attention(&o, "app1@dropped").expect("listed");
    assert_eq!(f.next_action, NextAction::Adopt, "{f:?}");
    // An account whose stored secret stopped working needs a person too, once.
    host.set_password("ops", "canary-Ops-Changed-Elsewhere")
        .await
        .unwrap();
    let ops: Page<AccountOut> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/accounts?username=ops",
        None,
        200,
    )
    .await;
    let v: VerifyOut = verify_account(&app, &token, &ops.items[0].id).await;
    assert!(!v.ok, "{v:?}");
    let o = overview(&app, &token).await;
    let f = attention(&o, "ops@dropped").expect("listed");
    assert_eq!(
        (f.kind, f.next_action),
        (AttentionKind::NeedsAttention, NextAction::FixAsset),
        "{f:?}"
    );
    assert!(f.record_id.is_none(), "{f:?}");
}

/// An account staged on purpose (an unverified change waiting for a person: `needs_attention`
/// with its new secret pending) is not verified with its current secret: that login proves
/// nothing while the target may hold the new one, and would mark it `ok` while still staged.
#[tokio::test]
async fn verify_of_an_account_with_a_staged_secret_is_refused() {
    let (app, token, one) = spawn_one_app("staged", OPS_PASSWORD).await;
    let OneApp { app1, task_id, .. } = one;
    // The target kept the current password; the new one is staged, waiting for a person.
    let (_, unverified) =
        staged_by_a_dropped_retry(&app, &task_id, &app1, "canary-Staged-Verify-5e").await;
    left_unverified(&app, &unverified, &app1).await;
    let store = &app.services.store;
    verify_refused(&app, &token, &app1, "account_staged").await;
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
    verify_record(&app, &token, &unverified).await;
    app.stop().await;
}

/// A staged account whose asset's platform is no longer known cannot be settled by login: the
/// sweep marks it `needs_attention` with the reason once, and does not try (and log) again on
/// every pass.
#[tokio::test]
async fn a_staged_account_on_an_unknown_platform_is_left_to_a_person_once() {
    let (app, token, one) = spawn_one_app("retired", OPS_PASSWORD).await;
    let OneApp {
        host,
        asset,
        app1,
        task_id,
        ..
    } = one;
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
    assert_eq!(
        r.reason_code,
        Some(FailureCode::UnsupportedPlatform),
        "{r:?}"
    );
    let log = super::super::change_secret::log_text(&app, &token, r.execution_id.as_str()).await;
    assert_eq!(
        log.matches("left staged after the run ended").count(),
        1,
        "{log}"
    );
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    app.stop().await;
}
