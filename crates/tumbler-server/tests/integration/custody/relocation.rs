//! Moving an asset (SSH, PostgreSQL, MariaDB, Redis) sends no secret to its new location until
//! someone who may reveal its secrets accepts it with a fresh code.

use super::super::change_secret::{account, admin, linux_asset, records, run, task, OPS_PASSWORD};
use super::super::support::{call, error_code, ok, ok_as, typed, user, Authenticator};
use super::{audit_text, operator_cannot_accept, patch_asset};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::answers::JobStarted;
use tumbler_api_types::change_secret::{ExecutionView, RecordRow};
use tumbler_api_types::device_keys::JobView;
use tumbler_api_types::inventory::{AssetOut, VerifyOut};
use tumbler_domain::change_secret::ExecutionStatus;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::job::JobStatus;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::mariadb::MariaDbScratch;
use tumbler_testkit::pg_cluster::PgCluster;
use tumbler_testkit::redis::{RedisServer, RedisUser};
use tumbler_testkit::sshd::{SshHost, TestUser};

const ALICE_PASSWORD: &str = "canary-Relocated-Alice-4b7d";

async fn verify_status(app: &TestApp, token: &str, account_id: &str) -> (u16, Value) {
    call(
        app,
        token,
        Method::POST,
        &format!("/api/v1/accounts/{account_id}/verify"),
        None,
    )
    .await
}

/// A verify of `account_id` that answers 200; whether the stored secret logged in.
async fn verifies(app: &TestApp, token: &str, account_id: &str) -> bool {
    let (status, out) = verify_status(app, token, account_id).await;
    assert_eq!(status, 200, "{out}");
    typed::<VerifyOut>(out).ok
}

#[tokio::test]
async fn moving_an_asset_sends_no_secret_until_a_revealer_accepts_the_new_location() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let admin = admin(&app).await;
    let authenticator = Authenticator::enrol(&app, &admin, clock.clone()).await;
    let real = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("alice", ALICE_PASSWORD),
    ])
    .await
    .unwrap();
    // The operator's own host: it would accept any password and log it.
    let rogue = SshHost::start(&[TestUser::new("alice", "rogue-does-not-know-it")])
        .await
        .unwrap();
    let asset = linux_asset(&app, &admin, "web", &real).await;
    account(&app, &admin, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let alice = account(
        &app,
        &admin,
        &asset,
        "alice",
        ALICE_PASSWORD,
        false,
        json!({}),
    )
    .await;
    assert!(verifies(&app, &admin, &alice).await);
    // Trust on first use does not open a door for a moved asset.
    ok(
        &app,
        &admin,
        Method::PUT,
        "/api/v1/settings/inventory",
        Some(json!({"trust_on_first_use_for_passwords": true})),
        200,
    )
    .await;

    let olga = user(&app, &admin, "olga", &["operator"], &["Default"]).await;
    let moved = patch_asset(&app, &olga, &asset, json!({"port": rogue.port()})).await;
    assert_eq!(moved.host_key_status, "relocated", "{moved:?}");
    assert_eq!(moved.host_key_fingerprint, None);

    // Verify: refused before any connection.
    let (status, body) = verify_status(&app, &olga, &alice).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (409, "asset_relocated"),
        "{body}"
    );
    // Testing it only reads the key the new location presents.
    let tested: AssetOut = ok_as(
        &app,
        &olga,
        Method::POST,
        &format!("/api/v1/assets/{asset}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(tested.host_key_status, "relocated");
    assert_eq!(
        tested.host_key_fingerprint.as_deref(),
        Some(rogue.host_key_fingerprint())
    );
    let (status, body) = verify_status(&app, &olga, &alice).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (409, "asset_relocated")
    );
    // A change run sends nothing either.
    let task_id = task(
        &app,
        &olga,
        json!({"name": "moved", "usernames": ["alice"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let e: ExecutionView = run(&app, &olga, &task_id).await;
    assert_ne!(e.status, ExecutionStatus::Succeeded, "{e:?}");
    let rs = records(&app, &olga, e.id.as_str()).await;
    assert_eq!(rs.len(), 1, "{rs:?}");
    let r: RecordRow = rs[0].clone();
    assert_eq!(r.reason_code, Some(FailureCode::AssetRelocated), "{r:?}");
    // The operator cannot accept the new location, with or without the fingerprint.
    operator_cannot_accept(&app, &olga, &asset, rogue.host_key_fingerprint()).await;
    // Pinning a fingerprint "from a trusted source" is a move too.
    let pinned = patch_asset(
        &app,
        &olga,
        &asset,
        json!({"host_key_fingerprint": rogue.host_key_fingerprint()}),
    )
    .await;
    assert_eq!(pinned.host_key_status, "relocated");
    let (status, _) = verify_status(&app, &olga, &alice).await;
    assert_eq!(status, 409);
    // Nor does moving the device to Tumbler's key (a login, then typed become secrets).
    let started: JobStarted = ok_as(
        &app,
        &admin,
        Method::POST,
        &format!("/api/v1/assets/{asset}/authentication"),
        Some(json!({"mode": "system_key", "admin_user": "tumbler", "create_user": true})),
        202,
    )
    .await;
    let job: JobView =
        typed(super::super::device_keys::wait_for_job(&app, &admin, started.job_id.as_str()).await);
    assert_ne!(job.status, JobStatus::Succeeded, "{job:?}");
    assert!(format!("{job:?}").contains("moved"), "{job:?}");
    let log = rogue.auth_log();
    assert!(
        !log.contains("alice") && !log.contains("ops") && !log.contains("Accepted"),
        "no authentication reached the operator's host: {log}"
    );
    assert!(!rogue.command_log().contains(ALICE_PASSWORD));

    // The administrator: the reveal permission and a fresh code.
    let path = format!("/api/v1/assets/{asset}/host-key/acknowledge");
    let (status, body) = call(&app, &admin, Method::POST, &path, Some(json!({}))).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "totp_required"));
    // Moved back to where it was: the administrator accepts the real host.
    patch_asset(&app, &admin, &asset, json!({"port": real.port()})).await;
    ok(
        &app,
        &admin,
        Method::POST,
        &format!("/api/v1/assets/{asset}/test"),
        None,
        200,
    )
    .await;
    let (status, body) = call(
        &app,
        &admin,
        Method::POST,
        &path,
        Some(
            json!({"fingerprint": real.host_key_fingerprint(), "totp": authenticator.fresh_code()}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let accepted: AssetOut = typed(body);
    assert_eq!(accepted.host_key_status, "verified");
    assert_eq!(
        accepted.host_key_fingerprint.as_deref(),
        Some(real.host_key_fingerprint())
    );
    assert!(verifies(&app, &olga, &alice).await);

    // The audit names the old and new places and keys.
    let audit = audit_text(&app, &admin).await;
    assert!(audit.contains("asset.relocate"), "{audit}");
    assert!(
        audit.contains(&format!(
            "127.0.0.1:{} -> 127.0.0.1:{}",
            real.port(),
            rogue.port()
        )),
        "{audit}"
    );
    assert!(audit.contains(real.host_key_fingerprint()), "{audit}");
    assert!(audit.contains("asset.location.accept"), "{audit}");
    assert!(!audit.contains(ALICE_PASSWORD));
    app.stop().await;
}

#[tokio::test]
async fn a_moved_database_asset_gets_no_password_until_its_address_is_accepted() {
    let cluster = PgCluster::start().await;
    let password = "canary-Pg-Relocated-6c1e";
    cluster.create_role("app_owner", password).await;
    moved_database_asset_waits_for_acceptance("postgresql", cluster.port(), "app_owner", password)
        .await;
}

#[tokio::test]
async fn a_moved_mariadb_asset_gets_no_password_until_its_address_is_accepted() {
    let password = "canary-Maria-Relocated-2b7d";
    let db =
        MariaDbScratch::create_with_password(&format!("tmb_mv{}", std::process::id()), password)
            .await;
    moved_database_asset_waits_for_acceptance("mysql", db.port(), db.user(), password).await;
    db.drop_all().await;
}

#[tokio::test]
async fn a_moved_redis_asset_gets_no_password_until_its_address_is_accepted() {
    let password = "canary-Redis-Relocated-9e41";
    let server = RedisServer::start(&[RedisUser::new("app_cache", password)]).await;
    moved_database_asset_waits_for_acceptance("redis", server.port(), "app_cache", password).await;
}

/// A database asset on 127.0.0.1 whose account verifies; an operator moves it to `localhost`
/// (another name for the same server still counts as a move): verify is refused, the operator
/// cannot accept the new address, an administrator with a fresh code can, and the audit names
/// both addresses.
async fn moved_database_asset_waits_for_acceptance(
    platform: &str,
    port: u16,
    username: &str,
    password: &str,
) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let admin = admin(&app).await;
    let authenticator = Authenticator::enrol(&app, &admin, clock.clone()).await;
    let a: AssetOut = ok_as(
        &app,
        &admin,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "db", "address": "127.0.0.1", "port": port, "platform": platform})),
        201,
    )
    .await;
    let asset = a.id;
    let acct = account(&app, &admin, &asset, username, password, false, json!({})).await;
    assert!(verifies(&app, &admin, &acct).await, "{platform}");

    let olga = user(&app, &admin, "olga", &["operator"], &["Default"]).await;
    let moved = patch_asset(&app, &olga, &asset, json!({"address": "localhost"})).await;
    assert_eq!(moved.host_key_status, "relocated", "{platform}");
    let (status, body) = verify_status(&app, &olga, &acct).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (409, "asset_relocated"),
        "{platform}"
    );
    let path = format!("/api/v1/assets/{asset}/host-key/acknowledge");
    let (status, _) = call(&app, &olga, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(status, 403, "{platform}");
    let accepted: AssetOut = ok_as(
        &app,
        &admin,
        Method::POST,
        &path,
        Some(json!({"totp": authenticator.fresh_code()})),
        200,
    )
    .await;
    assert_ne!(accepted.host_key_status, "relocated", "{platform}");
    assert!(verifies(&app, &olga, &acct).await, "{platform}");
    let audit = audit_text(&app, &admin).await;
    assert!(
        audit.contains(&format!("127.0.0.1:{port} -> localhost:{port}")),
        "{platform}: {audit}"
    );
    assert!(audit.contains("asset.location.accept"), "{platform}");
    app.stop().await;
}
