//! Each failure has a reason a person can act on; a change past its time limit or refused at
//! verify keeps the working secret.

use super::super::support::ok_as;
use super::{
    account, admin, asset, linux_asset, log_text, pg_asset, record_for, record_on, records, run,
    ssh_logs_in, task, APP_PASSWORD, DB_PASSWORD, OPS_PASSWORD,
};
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::inventory::{AccountOut, AssetOut};
use tumbler_api_types::Page;
use tumbler_domain::change_secret::ExecutionStatus;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::inventory::AccountStatus;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::pg_cluster::PgCluster;
use tumbler_testkit::sshd::{SshHost, TestUser};

#[tokio::test]
async fn each_failure_has_a_reason_a_person_can_act_on() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("nosudo", OPS_PASSWORD),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    // Wrong stored privileged password.
    let a1 = linux_asset(&app, &token, "wrong-priv", &host).await;
    account(
        &app,
        &token,
        &a1,
        "ops",
        "not-the-password",
        true,
        json!({}),
    )
    .await;
    account(&app, &token, &a1, "app1", APP_PASSWORD, false, json!({})).await;
    // A privileged account sudo refuses.
    let a2 = linux_asset(&app, &token, "no-sudo", &host).await;
    account(&app, &token, &a2, "nosudo", OPS_PASSWORD, true, json!({})).await;
    account(&app, &token, &a2, "app1", APP_PASSWORD, false, json!({})).await;
    // A user the target does not have: chpasswd refuses.
    let a6 = linux_asset(&app, &token, "no-user", &host).await;
    account(&app, &token, &a6, "ops", OPS_PASSWORD, true, json!({})).await;
    account(&app, &token, &a6, "ghost", APP_PASSWORD, false, json!({})).await;
    // A host whose key changed since it was acknowledged.
    let mut rekeyed = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let a7 = linux_asset(&app, &token, "rekeyed", &rekeyed).await;
    account(&app, &token, &a7, "ops", OPS_PASSWORD, true, json!({})).await;
    account(&app, &token, &a7, "app1", APP_PASSWORD, false, json!({})).await;
    rekeyed.restart_with_new_host_key().await.unwrap();
    // A host whose key nobody acknowledged.
    let a3 = asset(
        &app,
        &token,
        json!({"name": "unacked", "address": host.address(), "port": host.port(), "platform": "linux"}),
    )
    .await;
    account(&app, &token, &a3, "ops", OPS_PASSWORD, true, json!({})).await;
    account(&app, &token, &a3, "app1", APP_PASSWORD, false, json!({})).await;
    // No privileged account on a Linux host.
    let a4 = linux_asset(&app, &token, "no-priv", &host).await;
    account(&app, &token, &a4, "app1", APP_PASSWORD, false, json!({})).await;
    // Nothing listens.
    let closed = tumbler_testkit::ports::free_port();
    let a5 = asset(
        &app,
        &token,
        json!({"name": "gone", "address": "127.0.0.1", "port": closed, "platform": "postgresql"}),
    )
    .await;
    account(&app, &token, &a5, "postgres", "x", true, json!({})).await;
    account(&app, &token, &a5, "app1", APP_PASSWORD, false, json!({})).await;

    let task_id = task(
        &app,
        &token,
        json!({"name": "failures", "usernames": ["app1", "ghost"], "asset_ids": [a1, a2, a3, a4, a5, a6, a7],
               "secret_strategy": "random"}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    assert_eq!(e.status, ExecutionStatus::Failed, "{e:?}");
    let rs = records(&app, &token, e.id.as_str()).await;
    let reason = |asset: &str| record_on(&rs, asset).reason_code;
    assert_eq!(
        reason("wrong-priv"),
        Some(FailureCode::PrivilegedLoginFailed)
    );
    assert_eq!(reason("no-sudo"), Some(FailureCode::BecomeRefused));
    assert_eq!(reason("unacked"), Some(FailureCode::HostKeyUnverified));
    assert_eq!(reason("no-priv"), Some(FailureCode::NoPrivilegedAccount));
    assert_eq!(reason("gone"), Some(FailureCode::Unreachable));
    assert_eq!(reason("no-user"), Some(FailureCode::TargetRefused));
    assert_eq!(reason("rekeyed"), Some(FailureCode::HostKeyConflict));
    let rekeyed_asset: AssetOut = ok_as(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/assets/{a7}"),
        None,
        200,
    )
    .await;
    assert_eq!(rekeyed_asset.host_key_status, "fingerprint_conflict");
    assert!(!rekeyed.auth_log().contains("app1") && !rekeyed.auth_log().contains("Accepted"));
    // Nothing changed on the host, and each account asks for a person.
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    let page: Page<AccountOut> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/accounts?username=app1",
        None,
        200,
    )
    .await;
    for a in &page.items {
        assert_eq!(
            (a.status.as_str(), a.secret_version),
            ("needs_attention", 1),
            "{a:?}"
        );
    }
    // The unreachable target was retried with back-off, a bounded number of times.
    let log = log_text(&app, &token, e.id.as_str()).await;
    assert!(log.contains("gone: unreachable"), "{log}");
    assert!(log.contains("(attempt 2); retrying"), "{log}");
    assert!(!log.contains("(attempt 3); retrying"), "{log}");
    // The overview lists the failures.
    let overview: tumbler_api_types::overview::Overview = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/change-secret/overview",
        None,
        200,
    )
    .await;
    assert_eq!(
        overview
            .accounts
            .get(&tumbler_domain::inventory::AccountStatus::NeedsAttention)
            .copied(),
        Some(7),
        "{overview:?}"
    );
    // One entry per account whose latest change failed, each with the action that fits.
    let failed = &overview.failed_accounts;
    assert_eq!(failed.len(), 7, "{overview:?}");
    let next = |asset: &str| {
        failed
            .iter()
            .find(|f| f.asset_name == asset)
            .map(|f| f.next_action.to_string())
            .unwrap()
    };
    assert_eq!(next("gone"), "retry");
    assert_eq!(next("wrong-priv"), "retry");
    assert_eq!(next("unacked"), "fix_asset");
    assert_eq!(next("rekeyed"), "fix_asset");
    assert_eq!(next("no-priv"), "fix_asset");
}

fn pg_logs_in(
    cluster: &PgCluster,
    role: &str,
    password: &str,
) -> impl std::future::Future<Output = Result<(), tumbler_connectors::database::DbError>> {
    let target = tumbler_connectors::database::DbTarget::new("127.0.0.1", cluster.port());
    let role = role.to_owned();
    let password = secrecy::SecretString::from(password.to_owned());
    async move {
        tumbler_connectors::database::verify_postgres(&target, &role, &password, "postgres").await
    }
}

/// A change that waits on a lock past the account time limit fails with `timeout` and is
/// cancelled by the server, so it never lands after the lock is gone; a change the target
/// accepts but whose new secret it then refuses fails with `verify_failed` and keeps the new
/// secret pending (nothing the target holds is dropped).
#[tokio::test]
async fn timeout_and_verify_failed_keep_the_working_secret() {
    let app = TestApp::spawn_configured(
        StoreKind::Sqlite,
        Arc::new(tumbler_domain::SystemClock),
        |c| {
            c.change_secret.account_timeout_seconds = 2;
            c.change_secret.max_attempts = 1;
        },
    )
    .await;
    let token = admin(&app).await;
    let cluster = PgCluster::start().await;
    cluster.create_role("stuck_role", DB_PASSWORD).await;
    cluster.create_role("nologin_role", DB_PASSWORD).await;
    let asset = pg_asset(&app, &token, "pg-locks", &cluster).await;
    let stuck = account(
        &app,
        &token,
        &asset,
        "stuck_role",
        DB_PASSWORD,
        false,
        json!({}),
    )
    .await;
    let nologin = account(
        &app,
        &token,
        &asset,
        "nologin_role",
        DB_PASSWORD,
        false,
        json!({}),
    )
    .await;
    // The target takes a password for this role but refuses its logins.
    cluster.exec("ALTER ROLE nologin_role NOLOGIN").await;
    // Another session holds the row of stuck_role: an ALTER ROLE on it waits.
    let mut blocker = cluster.connect_superuser().await;
    sqlx::raw_sql("BEGIN; ALTER ROLE stuck_role CONNECTION LIMIT 7")
        .execute(&mut blocker)
        .await
        .unwrap();
    let task_id = task(
        &app,
        &token,
        json!({"name": "pg locks", "usernames": ["stuck_role", "nologin_role"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    assert_eq!(e.status, ExecutionStatus::Failed, "{e:?}");
    let rs = records(&app, &token, e.id.as_str()).await;
    assert_eq!(
        record_for(&rs, "stuck_role").reason_code,
        Some(FailureCode::Timeout),
        "{rs:?}"
    );
    assert_eq!(
        record_for(&rs, "nologin_role").reason_code,
        Some(FailureCode::VerifyFailed),
        "{rs:?}"
    );
    // The lock goes; the cancelled change must not land now.
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap();
    drop(blocker);
    assert!(
        cluster
            .log_contents()
            .contains("canceling statement due to statement timeout"),
        "the server cancelled the waiting change"
    );
    pg_logs_in(&cluster, "stuck_role", DB_PASSWORD)
        .await
        .unwrap();
    let stuck_row = app
        .services
        .store
        .account(&tumbler_domain::ids::AccountId::from_string(stuck.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            stuck_row.current_version,
            stuck_row.pending_version,
            stuck_row.status
        ),
        (1, None, AccountStatus::NeedsAttention)
    );
    // The refused role: the old secret is gone on the target, the new one is kept pending
    // and works once the role may log in again.
    let row = app
        .services
        .store
        .account(&tumbler_domain::ids::AccountId::from_string(
            nologin.clone(),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.current_version, row.status),
        (1, AccountStatus::NeedsAttention)
    );
    let pending = row.pending_version.expect("the new secret is kept pending");
    let new = app
        .services
        .vault
        .open_secret(
            tumbler_domain::secret_owner::SecretOwner::Account,
            &nologin,
            pending,
        )
        .await
        .unwrap();
    let new = String::from_utf8(new.to_vec()).unwrap();
    cluster.exec("ALTER ROLE nologin_role LOGIN").await;
    pg_logs_in(&cluster, "nologin_role", &new).await.unwrap();
    assert_eq!(
        pg_logs_in(&cluster, "nologin_role", DB_PASSWORD)
            .await
            .unwrap_err()
            .code(),
        "auth_failed"
    );
}
