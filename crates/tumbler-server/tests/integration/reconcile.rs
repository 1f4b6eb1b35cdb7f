//! Drift and reconcile on real sshd hosts and a private PostgreSQL cluster: a password
//! changed by hand on the host is found by a drift pass (`needs_attention`, code `drift`,
//! audited), reconciled through the privileged account's session without the old password,
//! and the new stored secret logs in over SSH; the bulk action refuses accounts not in
//! `needs_attention`; another domain's operator cannot reconcile; the privileged account
//! cannot reconcile itself, but a separate reconcile account set on the asset can; and no
//! password (the hand-set canary included) reaches a log, the audit or an answer.

use super::change_secret::{
    account, admin, linux_asset, log_text, ssh_logs_in, APP_PASSWORD, OPS_PASSWORD,
};
use super::support::{call, ok, user, Authenticator};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_core::change_secret::DriftScope;
use tumbler_domain::ids::AccountId;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::logs::LogCapture;
use tumbler_testkit::pg_cluster::PgCluster;
use tumbler_testkit::sshd::{SshHost, TestUser};

/// What someone set by hand on the host, outside Tumbler.
const HAND_PASSWORD: &str = "canary-Hand-Set-9d04e";
/// The separate reconcile account's password.
const REC_PASSWORD: &str = "canary-Reconciler-61b7a";

async fn get_account(app: &TestApp, token: &str, id: &str) -> Value {
    ok(
        app,
        token,
        Method::GET,
        &format!("/api/v1/accounts/{id}"),
        None,
        200,
    )
    .await
}

/// The record's new secret (reveal with a fresh code).
async fn revealed_new(app: &TestApp, token: &str, auth: &Authenticator, record: &str) -> String {
    let revealed = ok(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{record}/reveal"),
        Some(json!({"totp": auth.fresh_code()})),
        200,
    )
    .await;
    revealed["new_secret"].as_str().unwrap().to_owned()
}

async fn audit_text(app: &TestApp, token: &str) -> String {
    reqwest::Client::new()
        .get(app.url("/api/v1/audit?limit=500"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn drift_is_found_and_reconciled(kind: StoreKind) {
    let logs = LogCapture::install();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(kind, clock.clone()).await;
    let token = admin(&app).await;
    let auth = Authenticator::enrol(&app, &token, clock.clone()).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
        TestUser::new("app2", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "web1", &host).await;
    let ops = account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let app2 = account(&app, &token, &asset, "app2", APP_PASSWORD, false, json!({})).await;

    // Someone changes app1's password by hand on the host.
    host.set_password("app1", HAND_PASSWORD).await.unwrap();
    let mut answers = String::new();

    // A drift pass finds it, and only it.
    let report = app
        .services
        .change_secret
        .run_drift_pass(DriftScope::All)
        .await
        .unwrap();
    assert_eq!(
        report.drifted,
        vec![AccountId::from_string(app1.clone())],
        "{report:?}"
    );
    assert_eq!((report.checked, report.working), (3, 2), "{report:?}");
    let a1 = get_account(&app, &token, &app1).await;
    assert_eq!(a1["status"], "needs_attention", "{a1}");
    assert!(
        a1["status_reason"].as_str().unwrap().starts_with("drift: "),
        "{a1}"
    );
    assert_eq!(get_account(&app, &token, &app2).await["status"], "ok");
    // The dashboard's overview lists it with reconcile as the next action.
    let overview = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/change-secret/overview",
        None,
        200,
    )
    .await;
    let entry = overview["failed_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["account_id"] == app1.as_str())
        .unwrap_or_else(|| panic!("app1 listed: {overview}"))
        .clone();
    assert_eq!(
        (entry["reason_code"].as_str(), entry["next_action"].as_str()),
        (Some("drift"), Some("reconcile")),
        "{entry}"
    );
    answers.push_str(&overview.to_string());

    // The bulk action refuses accounts not in needs_attention, each with a code.
    let bulk = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/accounts/reconcile",
        Some(json!({"account_ids": [app2, "no-such-account"]})),
        202,
    )
    .await;
    assert_eq!(bulk["started"], json!([]), "{bulk}");
    let codes: Vec<(&str, &str)> = bulk["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["account_id"].as_str().unwrap(),
                s["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            (app2.as_str(), "not_needs_attention"),
            ("no-such-account", "not_found")
        ],
        "{bulk}"
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
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/accounts/{ops}/reconcile"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("reconcile_account_is_self")),
        "{body}"
    );
    answers.push_str(&body.to_string());
    host.set_password("ops", OPS_PASSWORD).await.unwrap();

    // Reconcile app1: a new password through ops's sudo session, verified and committed.
    let record = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/accounts/{app1}/reconcile"),
        None,
        200,
    )
    .await;
    answers.push_str(&record.to_string());
    assert_eq!(record["status"], "success", "{record}");
    let exec_id = record["execution_id"].as_str().unwrap().to_owned();
    let exec = ok(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/change-secret/executions/{exec_id}"),
        None,
        200,
    )
    .await;
    assert_eq!(exec["trigger"], "reconcile", "{exec}");
    assert_eq!(exec["status"], "succeeded", "{exec}");
    let a1 = get_account(&app, &token, &app1).await;
    assert_eq!(
        (a1["status"].as_str(), a1["secret_version"].as_i64()),
        (Some("ok"), Some(2)),
        "{a1}"
    );
    let new = revealed_new(&app, &token, &auth, record["id"].as_str().unwrap()).await;
    assert!(
        ssh_logs_in(&host, "app1", &new).await,
        "the new secret logs in"
    );
    assert!(!ssh_logs_in(&host, "app1", HAND_PASSWORD).await);
    // The old (hand-set) password was never typed: chpasswd ran through sudo, by ops.
    let commands = host.command_log();
    assert!(commands.contains("chpasswd"), "snoopy watched: {commands}");

    // The next pass finds nothing.
    let report = app
        .services
        .change_secret
        .run_drift_pass(DriftScope::All)
        .await
        .unwrap();
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

#[tokio::test]
async fn another_domain_cannot_reconcile_and_a_separate_reconcile_account_fixes_the_privileged_one()
{
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock.clone(), |c| {
        c.drift.auto_reconcile = true;
    })
    .await;
    let token = admin(&app).await;
    let auth = Authenticator::enrol(&app, &token, clock.clone()).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("recon", REC_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "web2", &host).await;
    let ops = account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let recon = account(
        &app,
        &token,
        &asset,
        "recon",
        REC_PASSWORD,
        false,
        json!({}),
    )
    .await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;

    // An operator of another domain sees nothing to reconcile; an auditor may not.
    ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Other"})),
        201,
    )
    .await;
    let stranger = user(&app, &token, "stranger", &["operator"], &["Other"]).await;
    let auditor = user(&app, &token, "audrey", &["auditor"], &["Default"]).await;
    host.set_password("app1", HAND_PASSWORD).await.unwrap();
    let (status, body) = call(
        &app,
        &stranger,
        Method::POST,
        &format!("/api/v1/accounts/{app1}/reconcile"),
        None,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = call(
        &app,
        &auditor,
        Method::POST,
        &format!("/api/v1/accounts/{app1}/reconcile"),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = call(
        &app,
        &auditor,
        Method::POST,
        "/api/v1/accounts/reconcile",
        Some(json!({"account_ids": [app1]})),
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // With auto_reconcile, the drift pass reconciles what it finds.
    let report = app
        .services
        .change_secret
        .run_drift_pass(DriftScope::All)
        .await
        .unwrap();
    assert_eq!(report.drifted.len(), 1, "{report:?}");
    assert_eq!(report.reconciled, 1, "{report:?}");
    let a1 = get_account(&app, &token, &app1).await;
    assert_eq!(
        (a1["status"].as_str(), a1["secret_version"].as_i64()),
        (Some("ok"), Some(2)),
        "{a1}"
    );
    let (status, body) = call(
        &app,
        &stranger,
        Method::POST,
        "/api/v1/accounts/reconcile",
        Some(json!({"account_ids": [app1]})),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["skipped"][0]["code"], "not_found", "{body}");

    // The privileged account's password changed by hand: only a separate reconcile account
    // (set by an administrator) can fix it.
    host.set_password("ops", HAND_PASSWORD).await.unwrap();
    let operator = user(&app, &token, "olga", &["operator"], &["Default"]).await;
    let (status, body) = call(
        &app,
        &operator,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"reconcile_account_id": recon})),
    )
    .await;
    assert_eq!(
        status, 403,
        "operators do not choose the reconcile account: {body}"
    );
    let patched = ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"reconcile_account_id": recon})),
        200,
    )
    .await;
    assert_eq!(patched["reconcile_account_id"], recon.as_str(), "{patched}");
    let (status, body) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"reconcile_account_id": "not-an-account-here"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // The reconcile account itself is refused now, the privileged one is not.
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/accounts/{recon}/reconcile"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("reconcile_account_is_self")),
        "{body}"
    );
    let report = app
        .services
        .change_secret
        .run_drift_pass(DriftScope::All)
        .await
        .unwrap();
    // ops drifted, and was reconciled through recon.
    assert!(
        report
            .drifted
            .contains(&AccountId::from_string(ops.clone())),
        "{report:?}"
    );
    let a = get_account(&app, &token, &ops).await;
    assert_eq!(a["status"], "ok", "{a}");
    let (records, _) = app
        .services
        .store
        .records(&tumbler_store::RecordFilter {
            domains: app
                .services
                .store
                .domains()
                .await
                .unwrap()
                .into_iter()
                .map(|d| d.id)
                .collect(),
            status: Some(tumbler_domain::change_secret::RecordStatus::Success),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let rec = records
        .iter()
        .filter(|r| r.account_id.as_str() == ops)
        .max_by_key(|r| r.created_at)
        .expect("a reconcile record of ops");
    let new = revealed_new(&app, &token, &auth, rec.id.as_str()).await;
    assert!(
        ssh_logs_in(&host, "ops", &new).await,
        "ops's new secret logs in"
    );
    let audit = audit_text(&app, &token).await;
    assert!(audit.contains("asset.reconcile_account"), "{audit}");
    assert!(audit.contains("through recon"), "{audit}");
    for secret in [HAND_PASSWORD, REC_PASSWORD, new.as_str()] {
        assert!(!audit.contains(secret), "{secret} in the audit");
        assert!(!host.command_log().contains(secret));
    }
}

#[tokio::test]
async fn a_postgresql_role_whose_password_changed_outside_is_reconciled_through_the_superuser() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let token = admin(&app).await;
    let cluster = PgCluster::start().await;
    cluster.create_role("drift_role", APP_PASSWORD).await;
    let body = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "pg-drift", "address": "127.0.0.1", "port": cluster.port(), "platform": "postgresql"})),
        201,
    )
    .await;
    let asset = body["id"].as_str().unwrap().to_owned();
    account(
        &app,
        &token,
        &asset,
        cluster.superuser(),
        cluster.superuser_password(),
        true,
        json!({}),
    )
    .await;
    let role = account(
        &app,
        &token,
        &asset,
        "drift_role",
        APP_PASSWORD,
        false,
        json!({}),
    )
    .await;
    cluster
        .exec(&format!("ALTER ROLE drift_role PASSWORD '{HAND_PASSWORD}'"))
        .await;
    let report = app
        .services
        .change_secret
        .run_drift_pass(DriftScope::All)
        .await
        .unwrap();
    assert_eq!(
        report.drifted,
        vec![AccountId::from_string(role.clone())],
        "{report:?}"
    );
    let bulk = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/accounts/reconcile",
        Some(json!({"account_ids": [role]})),
        202,
    )
    .await;
    assert_eq!(bulk["started"].as_array().unwrap().len(), 1, "{bulk}");
    // The bulk reconcile runs in the background: poll its record with a deadline.
    let record_id = bulk["started"][0]["record_id"].as_str().unwrap().to_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let r = app
            .services
            .store
            .record(&tumbler_domain::ids::RecordId::from_string(
                record_id.clone(),
            ))
            .await
            .unwrap()
            .unwrap();
        if r.status != tumbler_domain::change_secret::RecordStatus::Pending {
            assert_eq!(
                r.status,
                tumbler_domain::change_secret::RecordStatus::Success,
                "{r:?}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reconcile never ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let a = get_account(&app, &token, &role).await;
    assert_eq!(
        (a["status"].as_str(), a["secret_version"].as_i64()),
        (Some("ok"), Some(2)),
        "{a}"
    );
    // The stored secret logs in now; a later pass agrees.
    let report = app
        .services
        .change_secret
        .run_drift_pass(DriftScope::All)
        .await
        .unwrap();
    assert!(report.drifted.is_empty(), "{report:?}");
    assert_eq!(report.working, 2, "{report:?}");
}

#[tokio::test]
async fn browser_shows_drifted_accounts_and_reconciles_them_one_and_in_bulk() {
    use std::time::Duration;
    const WAIT: Duration = Duration::from_secs(30);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let token = admin(&app).await;
    let auth = Authenticator::enrol(&app, &token, clock.clone()).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
        TestUser::new("app2", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "web3", &host).await;
    account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let app2 = account(&app, &token, &asset, "app2", APP_PASSWORD, false, json!({})).await;
    host.set_password("app1", HAND_PASSWORD).await.unwrap();
    host.set_password("app2", HAND_PASSWORD).await.unwrap();
    let report = app
        .services
        .change_secret
        .run_drift_pass(DriftScope::All)
        .await
        .unwrap();
    assert_eq!(report.drifted.len(), 2, "{report:?}");

    let browser = super::browser::admin_logs_in(&app, &auth).await;
    browser.goto(&app.url("/change-secret")).await;
    browser
        .wait_for_text("#drifted-count", "2: stored secret no longer logs in", WAIT)
        .await;
    // Bulk: app2 selected and reconciled in the background.
    browser
        .click("tr[data-account=\"app2@web3\"] .reconcile-select")
        .await;
    browser.click("#reconcile-selected").await;
    browser
        .wait_for_text("#change-notice", "Reconciling 1 account(s)", WAIT)
        .await;
    // One: app1 from its asset's page.
    browser.goto(&app.url(&format!("/assets/{asset}"))).await;
    browser
        .click("tr[data-username=app1] .reconcile-account")
        .await;
    browser
        .wait_for_text("#asset-notice", "app1 reconciled", Duration::from_secs(90))
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    for id in [&app1, &app2] {
        loop {
            let a = get_account(&app, &token, id).await;
            if a["status"] == "ok" {
                assert_eq!(a["secret_version"], 2, "{a}");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "not reconciled: {a}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let stored = app
            .services
            .vault
            .open_secret("account", id, 2)
            .await
            .unwrap();
        let user = if id == &app1 { "app1" } else { "app2" };
        let secret = String::from_utf8(stored.to_vec()).unwrap();
        assert!(ssh_logs_in(&host, user, &secret).await, "{user} logs in");
    }
    browser.goto(&app.url("/change-secret")).await;
    browser.wait_for_text("#drifted-count", "0", WAIT).await;
    browser.close().await;
}

#[tokio::test]
async fn a_stage_nobody_owns_and_no_secret_opens_is_dropped_and_reconciled() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "web4", &host).await;
    account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    // A run that died after staging a secret the host never got; then the password changed
    // by hand: neither stored secret logs in.
    super::change_secret::staged_by_a_dead_worker(
        &app,
        "a-deleted-task",
        &app1,
        "canary-Staged-Never-Sent-0c1",
    )
    .await;
    host.set_password("app1", HAND_PASSWORD).await.unwrap();
    let record = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/accounts/{app1}/reconcile"),
        None,
        200,
    )
    .await;
    assert_eq!(record["status"], "success", "{record}");
    let a = get_account(&app, &token, &app1).await;
    assert_eq!(a["status"], "ok", "{a}");
    let version = a["secret_version"].as_i64().unwrap();
    assert_eq!(record["new_version"].as_i64(), Some(version), "{record}");
    let stored = app
        .services
        .vault
        .open_secret("account", &app1, version)
        .await
        .unwrap();
    let secret = String::from_utf8(stored.to_vec()).unwrap();
    assert!(ssh_logs_in(&host, "app1", &secret).await);

    // An asset without a privileged (or reconcile) account has no way to reconcile.
    let body = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "bare", "address": host.address(), "port": host.port(), "platform": "linux"})),
        201,
    )
    .await;
    let bare = body["id"].as_str().unwrap().to_owned();
    let lone = account(&app, &token, &bare, "app1", APP_PASSWORD, false, json!({})).await;
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/accounts/{lone}/reconcile"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("no_reconcile_account")),
        "{body}"
    );
}

#[tokio::test]
async fn the_periodic_sweep_checks_each_account_once_per_interval_by_the_clock() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock.clone(), |c| {
        c.drift.interval_seconds = 3600;
    })
    .await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "web5", &host).await;
    let ops = account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let engine = &app.services.change_secret;
    // New accounts wait for their slot: nothing is due while the clock stands.
    let r = engine.run_drift_pass(DriftScope::Due).await.unwrap();
    assert_eq!(r.checked, 0, "{r:?}");
    // One interval later every account's slot has come (the server's own sweep, which reads
    // the same clock, may have taken some): each is verified once.
    clock.advance(chrono::Duration::seconds(3601));
    engine.run_drift_pass(DriftScope::Due).await.unwrap();
    for id in [&ops, &app1] {
        let a = get_account(&app, &token, id).await;
        assert!(a["last_verified_at"].is_string(), "{a}");
        assert_eq!(a["status"], "ok", "{a}");
    }
    let r = engine.run_drift_pass(DriftScope::Due).await.unwrap();
    assert_eq!(r.checked, 0, "checked once per interval: {r:?}");
    // The password changed by hand is found at the next interval.
    host.set_password("app1", HAND_PASSWORD).await.unwrap();
    clock.advance(chrono::Duration::seconds(3600));
    engine.run_drift_pass(DriftScope::Due).await.unwrap();
    let a = get_account(&app, &token, &app1).await;
    assert_eq!(a["status"], "needs_attention", "{a}");
    assert!(
        a["status_reason"].as_str().unwrap().starts_with("drift: "),
        "{a}"
    );
}
