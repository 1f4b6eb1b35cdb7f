//! The change engine against real targets: tasks change passwords on sshd hosts (sudo and
//! su), a private PostgreSQL cluster and MariaDB; the new secret logs in and the old one does
//! not; secure mode, failure reasons, the schedule, recovery of a crashed run and the record
//! actions; and no password in logs, audit, command lines or statement logs.

use super::support::{call, ok, user, Authenticator};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus, Trigger};
use tumbler_domain::ids::{ExecutionId, RecordId};
use tumbler_domain::inventory::AccountStatus;
use tumbler_domain::{Clock, ManualClock};
use tumbler_store::{ExecutionRow, RecordRow};
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::logs::LogCapture;
use tumbler_testkit::mariadb::MariaDbScratch;
use tumbler_testkit::pg_cluster::PgCluster;
use tumbler_testkit::sshd::{SshHost, TestUser};

pub(super) const OPS_PASSWORD: &str = "canary-Ops-Sudo-3c91e";
pub(super) const APP_PASSWORD: &str = "canary-App-Old-77a0b";
const DB_PASSWORD: &str = "canary-Db-Old-51f2d";

pub(super) async fn admin(app: &TestApp) -> String {
    app.activate_admin().await;
    app.admin_token().await
}

pub(super) async fn account(
    app: &TestApp,
    token: &str,
    asset_id: &str,
    username: &str,
    secret: &str,
    privileged: bool,
    options: Value,
) -> String {
    let body = ok(
        app,
        token,
        Method::POST,
        "/api/v1/accounts",
        Some(
            json!({"asset_id": asset_id, "username": username, "secret": secret,
                    "privileged": privileged, "options": options}),
        ),
        201,
    )
    .await;
    body["id"].as_str().unwrap().to_owned()
}

/// A PostgreSQL asset on the private cluster, its superuser as the privileged account.
async fn pg_asset(app: &TestApp, token: &str, name: &str, cluster: &PgCluster) -> String {
    let body = ok(
        app,
        token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": name, "address": "127.0.0.1", "port": cluster.port(), "platform": "postgresql"})),
        201,
    )
    .await;
    let asset = body["id"].as_str().unwrap().to_owned();
    account(
        app,
        token,
        &asset,
        cluster.superuser(),
        cluster.superuser_password(),
        true,
        json!({}),
    )
    .await;
    asset
}

/// A Linux asset for the host, its key pinned and acknowledged.
pub(super) async fn linux_asset(app: &TestApp, token: &str, name: &str, host: &SshHost) -> String {
    let body = ok(
        app,
        token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": name, "address": host.address(), "port": host.port(), "platform": "linux"})),
        201,
    )
    .await;
    let id = body["id"].as_str().unwrap().to_owned();
    ok(
        app,
        token,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
        200,
    )
    .await;
    ok(
        app,
        token,
        Method::POST,
        &format!("/api/v1/assets/{id}/host-key/acknowledge"),
        Some(json!({"fingerprint": host.host_key_fingerprint()})),
        200,
    )
    .await;
    id
}

pub(super) async fn task(app: &TestApp, token: &str, body: Value) -> String {
    let t = ok(
        app,
        token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(body),
        201,
    )
    .await;
    assert!(t.get("secret").is_none(), "no secret in answers: {t}");
    t["id"].as_str().unwrap().to_owned()
}

/// Starts the task and waits for its execution to end; returns the execution.
pub(super) async fn run(app: &TestApp, token: &str, task_id: &str) -> Value {
    let started = ok(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/tasks/{task_id}/execute"),
        None,
        202,
    )
    .await;
    let id = started["execution_id"].as_str().unwrap().to_owned();
    wait_for_execution(app, token, &id).await
}

pub(super) async fn wait_for_execution(app: &TestApp, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let e = ok(
            app,
            token,
            Method::GET,
            &format!("/api/v1/change-secret/executions/{id}"),
            None,
            200,
        )
        .await;
        let status = e["status"].as_str().unwrap().to_owned();
        if status != "pending" && status != "running" {
            return e;
        }
        assert!(Instant::now() < deadline, "execution {id} did not end: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(super) async fn records(app: &TestApp, token: &str, execution_id: &str) -> Vec<Value> {
    let page = ok(
        app,
        token,
        Method::GET,
        &format!("/api/v1/change-secret/records?execution_id={execution_id}"),
        None,
        200,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

pub(super) fn record_for<'a>(records: &'a [Value], username: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["username"] == username)
        .unwrap_or_else(|| panic!("no record for {username}: {records:?}"))
}

pub(super) async fn verify_account(app: &TestApp, token: &str, id: &str) -> Value {
    ok(
        app,
        token,
        Method::POST,
        &format!("/api/v1/accounts/{id}/verify"),
        None,
        200,
    )
    .await
}

pub(super) async fn log_text(app: &TestApp, token: &str, execution_id: &str) -> String {
    reqwest::Client::new()
        .get(app.url(&format!(
            "/api/v1/change-secret/executions/{execution_id}/log"
        )))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The log as server-sent events, from after `last_event_id`.
async fn log_events(
    app: &TestApp,
    token: &str,
    execution_id: &str,
    last_event_id: Option<i64>,
) -> String {
    let mut req = reqwest::Client::new()
        .get(app.url(&format!(
            "/api/v1/change-secret/executions/{execution_id}/log"
        )))
        .bearer_auth(token)
        .header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id.to_string());
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    res.text().await.unwrap()
}

pub(super) async fn ssh_logs_in(host: &SshHost, user: &str, password: &str) -> bool {
    use tumbler_connectors::ssh::{HostKeyPolicy, SshConnector, SshCredentials, SshTarget};
    SshConnector::new()
        .with_connect_timeout(Duration::from_secs(30))
        .connect(
            &SshTarget::new(host.address(), host.port()),
            &HostKeyPolicy::Pinned(host.host_key_fingerprint().parse().unwrap()),
            &SshCredentials::password(user, secrecy::SecretString::from(password.to_owned())),
        )
        .await
        .is_ok()
}

async fn linux_sudo_run(kind: StoreKind) {
    let logs = LogCapture::install();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(kind, clock.clone()).await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
        TestUser::new("app2", APP_PASSWORD),
    ])
    .await
    .unwrap();
    host.set_password("root", "canary-Root-Unchanged-1")
        .await
        .unwrap();
    let root_shadow = host.shadow_entry("root").await.unwrap();
    let asset = linux_asset(&app, &token, "web1", &host).await;
    let ops = account(
        &app,
        &token,
        &asset,
        "ops",
        OPS_PASSWORD,
        true,
        json!({"become": "sudo"}),
    )
    .await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let app2 = account(&app, &token, &asset, "app2", APP_PASSWORD, false, json!({})).await;
    let root = account(
        &app,
        &token,
        &asset,
        "root",
        "canary-Root-Unchanged-1",
        false,
        json!({}),
    )
    .await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "rotate web", "usernames": ["app1", "app2", "ops", "root"],
               "asset_ids": [asset], "secret_strategy": "random",
               "password_rules": {"length": 20, "lowercase": 1, "uppercase": 1, "digit": 1, "symbol": 1}}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    assert_eq!(e["status"], "succeeded", "{e}");
    assert_eq!(e["trigger"], "manual");
    assert_eq!(e["counts"]["success"], 2, "{e}");
    assert_eq!(e["counts"]["ignored"], 2, "{e}");
    let id = e["id"].as_str().unwrap();
    let rs = records(&app, &token, id).await;
    assert_eq!(record_for(&rs, "app1")["status"], "success");
    assert_eq!(
        record_for(&rs, "ops")["reason_code"],
        "secure_mode_privileged"
    );
    assert_eq!(
        record_for(&rs, "root")["reason_code"],
        "secure_mode_reserved_name"
    );

    // The store's new current secrets log in; the old password does not.
    for acc in [&app1, &app2] {
        let out = verify_account(&app, &token, acc).await;
        assert_eq!(out["ok"], true, "{out}");
        assert_eq!(out["account"]["secret_version"], 2);
    }
    assert!(!ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    assert!(!ssh_logs_in(&host, "app2", APP_PASSWORD).await);
    // Secure mode left ops and root alone.
    assert!(ssh_logs_in(&host, "ops", OPS_PASSWORD).await);
    assert_eq!(host.shadow_entry("root").await.unwrap(), root_shadow);
    let root_row = ok(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/accounts/{root}"),
        None,
        200,
    )
    .await;
    assert_eq!(root_row["secret_version"], 1);
    assert_eq!(
        verify_account(&app, &token, &ops).await["account"]["secret_version"],
        1
    );

    // Reveal the record's secrets with a fresh code: the new one logs in.
    let auth = Authenticator::enrol(&app, &token, clock.clone()).await;
    let rec = record_for(&rs, "app1")["id"].as_str().unwrap().to_owned();
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec}/reveal"),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("totp_required"))
    );
    let revealed = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec}/reveal"),
        Some(json!({"totp": auth.fresh_code()})),
        200,
    )
    .await;
    assert_eq!(revealed["old_secret"], APP_PASSWORD);
    let new = revealed["new_secret"].as_str().unwrap().to_owned();
    assert_eq!(new.chars().count(), 20);
    assert!(ssh_logs_in(&host, "app1", &new).await);

    // The log tells the story; no secret anywhere.
    let log = log_text(&app, &token, id).await;
    assert!(
        log.contains("app1@web1: verified and committed as version 2"),
        "{log}"
    );
    assert!(log.contains("ops@web1: skipped, secure mode"), "{log}");
    let audit = reqwest::Client::new()
        .get(app.url("/api/v1/audit?limit=500"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(audit.contains("account.change"), "{audit}");
    let commands = host.command_log();
    assert!(commands.contains("chpasswd"), "snoopy watched: {commands}");
    for secret in [OPS_PASSWORD, APP_PASSWORD, new.as_str()] {
        assert!(!commands.contains(secret), "{secret} on a command line");
        assert!(!host.auth_log().contains(secret));
        assert!(!log.contains(secret));
        assert!(!audit.contains(secret));
        assert!(
            !logs.contents().contains(secret),
            "{secret} in the server log"
        );
    }
    // The store holds no clear password either (SQLite file or PostgreSQL dump).
    if kind == StoreKind::Sqlite {
        for entry in std::fs::read_dir(&app.config.data_dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            for secret in [OPS_PASSWORD, APP_PASSWORD, new.as_str()] {
                assert!(!text.contains(secret), "{secret} in the store files");
            }
        }
    } else {
        let url = app.config.database.url.clone().expect("a PostgreSQL store");
        let dump =
            std::process::Command::new(tumbler_testkit::pg_cluster::bin_dir().join("pg_dump"))
                .args(["--data-only", "--dbname", &url])
                .output()
                .unwrap();
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        let text = String::from_utf8_lossy(&dump.stdout);
        assert!(
            text.contains("account.change"),
            "the dump holds the audit log"
        );
        for secret in [OPS_PASSWORD, APP_PASSWORD, new.as_str()] {
            assert!(!text.contains(secret), "{secret} in the PostgreSQL store");
        }
    }
}

#[tokio::test]
async fn linux_passwords_change_through_sudo_with_secure_mode_on_sqlite() {
    linux_sudo_run(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn linux_passwords_change_through_sudo_with_secure_mode_on_postgres() {
    linux_sudo_run(StoreKind::Postgres).await;
}

#[tokio::test]
async fn su_and_a_specified_secret_change_a_linux_password() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    host.set_password("root", "canary-Root-Su-8d1")
        .await
        .unwrap();
    let asset = linux_asset(&app, &token, "su-host", &host).await;
    account(
        &app,
        &token,
        &asset,
        "ops",
        OPS_PASSWORD,
        true,
        json!({"become": "su"}),
    )
    .await;
    account(
        &app,
        &token,
        &asset,
        "root",
        "canary-Root-Su-8d1",
        false,
        json!({}),
    )
    .await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "su rotate", "usernames": ["app1"], "asset_ids": [asset],
               "secret_strategy": "specified", "secret": "canary-Specified-New-2e"}),
    )
    .await;
    let started = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/tasks/{task_id}/execute"),
        None,
        202,
    )
    .await;
    let id = started["execution_id"].as_str().unwrap().to_owned();
    // Asked for at once, the log streams while the run goes on and ends with it, as text and
    // as server-sent events.
    let (log, events) = tokio::join!(
        log_text(&app, &token, &id),
        log_events(&app, &token, &id, None)
    );
    assert!(log.contains("started: 1 asset(s), 1 account(s)"), "{log}");
    assert!(log.trim_end().ends_with("finished: succeeded"), "{log}");
    assert!(events.starts_with("id: 1\ndata: "), "{events}");
    assert!(
        events.contains("started: 1 asset(s), 1 account(s) to change\n\n"),
        "{events}"
    );
    assert!(
        events.ends_with("finished: succeeded\n\nevent: end\ndata: the run has ended\n\n"),
        "{events}"
    );
    assert_eq!(
        events.matches("\ndata: ").count(),
        log.lines().count() + 1,
        "one event per line, and the end"
    );
    // A client that reconnects after event 1 gets the rest only.
    let rest = log_events(&app, &token, &id, Some(1)).await;
    assert!(rest.starts_with("id: 2\n"), "{rest}");
    assert!(!rest.contains("started: 1 asset(s)"), "{rest}");
    let e = wait_for_execution(&app, &token, &id).await;
    assert_eq!(e["status"], "succeeded", "{e}");
    assert!(ssh_logs_in(&host, "app1", "canary-Specified-New-2e").await);
    assert!(!ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    assert_eq!(verify_account(&app, &token, &app1).await["ok"], true);
    assert!(!host.command_log().contains("canary-Root-Su-8d1"));
}

#[tokio::test]
async fn postgresql_roles_change_with_a_verifier_on_a_private_cluster() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let cluster = PgCluster::start().await;
    cluster.create_role("app_role", DB_PASSWORD).await;
    let asset = pg_asset(&app, &token, "pg1", &cluster).await;
    let role = account(
        &app,
        &token,
        &asset,
        "app_role",
        DB_PASSWORD,
        false,
        json!({}),
    )
    .await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "pg rotate", "usernames": ["app_role"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    assert_eq!(e["status"], "succeeded", "{e}");
    let out = verify_account(&app, &token, &role).await;
    assert_eq!(
        (
            out["ok"].as_bool(),
            out["account"]["secret_version"].as_i64()
        ),
        (Some(true), Some(2))
    );
    let old = tumbler_connectors::database::verify_postgres(
        &tumbler_connectors::database::DbTarget::new("127.0.0.1", cluster.port()),
        "app_role",
        &secrecy::SecretString::from(DB_PASSWORD.to_owned()),
        "postgres",
    )
    .await;
    assert_eq!(old.unwrap_err().code(), "auth_failed");
    let statements = cluster.log_contents();
    assert!(
        statements.contains("ALTER ROLE \"app_role\" PASSWORD 'SCRAM-SHA-256$"),
        "{statements}"
    );
    // The new password is random: reveal it through the vault and look for it in the log.
    let account_row = app
        .services
        .store
        .account(&tumbler_domain::ids::AccountId::from_string(role.clone()))
        .await
        .unwrap()
        .unwrap();
    let new = app
        .services
        .vault
        .open_secret(
            tumbler_domain::secret_owner::SecretOwner::Account,
            &role,
            account_row.current_version,
        )
        .await
        .unwrap();
    let new = String::from_utf8(new.to_vec()).unwrap();
    assert!(
        !statements.contains(&new),
        "the clear password reached the statement log"
    );
    assert!(!statements.contains(DB_PASSWORD));
}

#[tokio::test]
async fn mariadb_users_change_and_the_old_password_stops_working() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let scratch = MariaDbScratch::create().await;
    let body = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "maria", "address": scratch.host(), "port": scratch.port(), "platform": "mysql"})),
        201,
    )
    .await;
    let asset = body["id"].as_str().unwrap().to_owned();
    // A privileged account of its own, allowed to change other users' passwords.
    let dba = format!("{}_dba", scratch.user());
    tumbler_testkit::mariadb::admin_exec(&format!(
        "CREATE USER '{dba}'@'%' IDENTIFIED BY 'canary-Dba-Pw-0c4'; \
         GRANT CREATE USER, SELECT ON *.* TO '{dba}'@'%'; \
         GRANT UPDATE ON mysql.* TO '{dba}'@'%';"
    ))
    .await;
    account(
        &app,
        &token,
        &asset,
        &dba,
        "canary-Dba-Pw-0c4",
        true,
        json!({}),
    )
    .await;
    let user_acc = account(
        &app,
        &token,
        &asset,
        scratch.user(),
        scratch.password(),
        false,
        json!({}),
    )
    .await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "maria rotate", "usernames": [scratch.user()], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    assert_eq!(e["status"], "succeeded", "{e}");
    let out = verify_account(&app, &token, &user_acc).await;
    assert_eq!(out["ok"], true, "{out}");
    let old = tumbler_connectors::database::verify_mysql(
        &tumbler_connectors::database::DbTarget::new(scratch.host(), scratch.port()),
        scratch.user(),
        &secrecy::SecretString::from(scratch.password().to_owned()),
    )
    .await;
    assert_eq!(old.unwrap_err().code(), "auth_failed");
    tumbler_testkit::mariadb::admin_exec(&format!("DROP USER '{dba}'@'%';")).await;
    scratch.drop_all().await;
}

/// Redis: the new password is added beside the old one as its SHA-256 hash, a login with it
/// is verified, then the old one is removed and the ACL file saved; no clear password in the
/// saved file. A user the server does not have is refused, not created.
#[tokio::test]
async fn redis_acl_users_change_by_adding_verifying_then_removing() {
    use tumbler_testkit::redis::{RedisServer, RedisUser};
    const REDIS_ADMIN: &str = "canary-Redis-Admin-71c";
    const REDIS_OLD: &str = "canary-Redis-Old-2f9";
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let redis = RedisServer::start(&[
        RedisUser::new("acl_admin", REDIS_ADMIN).admin(),
        RedisUser::new("cache_app", REDIS_OLD),
    ])
    .await;
    let body = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "cache", "address": "127.0.0.1", "port": redis.port(), "platform": "redis"})),
        201,
    )
    .await;
    let asset = body["id"].as_str().unwrap().to_owned();
    account(
        &app,
        &token,
        &asset,
        "acl_admin",
        REDIS_ADMIN,
        true,
        json!({}),
    )
    .await;
    let app_account = account(
        &app,
        &token,
        &asset,
        "cache_app",
        REDIS_OLD,
        false,
        json!({}),
    )
    .await;
    account(
        &app,
        &token,
        &asset,
        "ghost_user",
        REDIS_OLD,
        false,
        json!({}),
    )
    .await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "redis", "usernames": ["cache_app", "ghost_user"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    let rs = records(&app, &token, e["id"].as_str().unwrap()).await;
    assert_eq!(record_for(&rs, "cache_app")["status"], "success", "{rs:?}");
    assert_eq!(
        record_for(&rs, "ghost_user")["reason_code"],
        "target_refused",
        "{rs:?}"
    );
    let target = tumbler_connectors::database::DbTarget::new("127.0.0.1", redis.port());
    let login = |user: &'static str, password: String| {
        let target = target.clone();
        async move {
            tumbler_connectors::database::verify_redis(
                &target,
                user,
                &secrecy::SecretString::from(password),
            )
            .await
        }
    };
    let row = app
        .services
        .store
        .account(&tumbler_domain::ids::AccountId::from_string(
            app_account.clone(),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.current_version, 2);
    let new = app
        .services
        .vault
        .open_secret(
            tumbler_domain::secret_owner::SecretOwner::Account,
            &app_account,
            2,
        )
        .await
        .unwrap();
    let new = String::from_utf8(new.to_vec()).unwrap();
    login("cache_app", new.clone()).await.unwrap();
    assert_eq!(
        login("cache_app", REDIS_OLD.to_owned())
            .await
            .unwrap_err()
            .code(),
        "auth_failed",
        "the old password was removed"
    );
    let log = log_text(&app, &token, e["id"].as_str().unwrap()).await;
    assert!(log.contains("cache_app@cache: old secret removed"), "{log}");
    // The user the server did not have was not created.
    assert_eq!(
        login("ghost_user", REDIS_OLD.to_owned())
            .await
            .unwrap_err()
            .code(),
        "auth_failed"
    );
    let saved = std::fs::read_to_string(redis.acl_file()).unwrap();
    assert!(saved.contains("user cache_app"), "{saved}");
    assert!(!saved.contains("ghost_user"), "{saved}");
    for secret in [new.as_str(), REDIS_OLD, REDIS_ADMIN] {
        assert!(!saved.contains(secret), "a clear password in the ACL file");
        assert!(!log.contains(secret));
    }
}

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
    let body = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "unacked", "address": host.address(), "port": host.port(), "platform": "linux"})),
        201,
    )
    .await;
    let a3 = body["id"].as_str().unwrap().to_owned();
    account(&app, &token, &a3, "ops", OPS_PASSWORD, true, json!({})).await;
    account(&app, &token, &a3, "app1", APP_PASSWORD, false, json!({})).await;
    // No privileged account on a Linux host.
    let a4 = linux_asset(&app, &token, "no-priv", &host).await;
    account(&app, &token, &a4, "app1", APP_PASSWORD, false, json!({})).await;
    // Nothing listens.
    let closed = tumbler_testkit::ports::free_port();
    let body = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "gone", "address": "127.0.0.1", "port": closed, "platform": "postgresql"})),
        201,
    )
    .await;
    let a5 = body["id"].as_str().unwrap().to_owned();
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
    assert_eq!(e["status"], "failed", "{e}");
    let rs = records(&app, &token, e["id"].as_str().unwrap()).await;
    let reason = |asset: &str| {
        rs.iter()
            .find(|r| r["asset_name"] == asset)
            .map(|r| r["reason_code"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(reason("wrong-priv"), "privileged_login_failed");
    assert_eq!(reason("no-sudo"), "become_refused");
    assert_eq!(reason("unacked"), "host_key_unverified");
    assert_eq!(reason("no-priv"), "no_privileged_account");
    assert_eq!(reason("gone"), "unreachable");
    assert_eq!(reason("no-user"), "target_refused");
    assert_eq!(reason("rekeyed"), "host_key_conflict");
    let rekeyed_asset = ok(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/assets/{a7}"),
        None,
        200,
    )
    .await;
    assert_eq!(rekeyed_asset["host_key_status"], "fingerprint_conflict");
    assert!(!rekeyed.auth_log().contains("app1") && !rekeyed.auth_log().contains("Accepted"));
    // Nothing changed on the host, and each account asks for a person.
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    let page = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/accounts?username=app1",
        None,
        200,
    )
    .await;
    for a in page["items"].as_array().unwrap() {
        assert_eq!(a["status"], "needs_attention", "{a}");
        assert_eq!(a["secret_version"], 1);
    }
    // The unreachable target was retried with back-off, a bounded number of times.
    let log = log_text(&app, &token, e["id"].as_str().unwrap()).await;
    assert!(log.contains("gone: unreachable"), "{log}");
    assert!(log.contains("(attempt 2); retrying"), "{log}");
    assert!(!log.contains("(attempt 3); retrying"), "{log}");
    // The overview lists the failures.
    let overview = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/change-secret/overview",
        None,
        200,
    )
    .await;
    assert_eq!(overview["accounts"]["needs_attention"], 7, "{overview}");
    // One entry per account whose latest change failed, each with the action that fits.
    let failed = overview["failed_accounts"].as_array().unwrap();
    assert_eq!(failed.len(), 7, "{overview}");
    let next = |asset: &str| {
        failed
            .iter()
            .find(|f| f["asset_name"] == asset)
            .map(|f| f["next_action"].as_str().unwrap().to_owned())
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
    assert_eq!(e["status"], "failed", "{e}");
    let rs = records(&app, &token, e["id"].as_str().unwrap()).await;
    assert_eq!(
        record_for(&rs, "stuck_role")["reason_code"],
        "timeout",
        "{rs:?}"
    );
    assert_eq!(
        record_for(&rs, "nologin_role")["reason_code"],
        "verify_failed",
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

#[tokio::test]
async fn bad_task_input_is_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let cases = [
        (
            json!({"name": "", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "random"}),
            "name",
        ),
        (
            json!({"name": "t", "usernames": [], "asset_ids": ["x"], "secret_strategy": "random"}),
            "usernames",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "secret_strategy": "random"}),
            "asset_ids",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "specified"}),
            "secret",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "random",
                "password_rules": {"length": 8, "lowercase": 9, "uppercase": 0, "digit": 0, "symbol": 0}}),
            "password_rules",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "random",
                "schedule": {"cron": "61 * * * *"}}),
            "schedule",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "random",
                "params": {"become": "doas"}}),
            "params",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "specified",
                "secret": "a-key", "secret_type": "ssh_key"}),
            "secret_strategy",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "random",
                "custom_ssh": {"command": "passwd", "steps": [{"expect": "(", "answer": "{new_secret}"}]}}),
            "custom_ssh",
        ),
        (
            json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "random",
                "recipients": ["usr_does_not_exist"]}),
            "recipients",
        ),
    ];
    for (body, field) in cases {
        let (status, out) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/change-secret/tasks",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{body}: {out}");
        assert_eq!(out["error"]["code"], "invalid_request");
        assert_eq!(out["error"]["details"]["field"], field, "{body}: {out}");
    }
    let (status, out) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "specified", "secret": "canary-Leak-9f"})),
    )
    .await;
    assert_eq!(status, 201, "{out}");
    assert!(!out.to_string().contains("canary-Leak-9f"));
    let (status, out) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"], "secret_strategy": "random", "bogus": 1})),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].as_str()),
        (422, Some("invalid_json")),
        "{out}"
    );
    let tasks = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/change-secret/tasks",
        None,
        200,
    )
    .await;
    assert_eq!(
        tasks.as_array().unwrap().len(),
        1,
        "only the valid task is stored"
    );
    // An auditor reads tasks but cannot create or run them.
    let auditor = user(&app, &token, "audrey", &["auditor"], &["Default"]).await;
    let id = tasks[0]["id"].as_str().unwrap();
    ok(
        &app,
        &auditor,
        Method::GET,
        &format!("/api/v1/change-secret/tasks/{id}"),
        None,
        200,
    )
    .await;
    let (status, _) = call(
        &app,
        &auditor,
        Method::POST,
        &format!("/api/v1/change-secret/tasks/{id}/execute"),
        None,
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_schedule_fires_once_per_slot_with_one_catch_up_after_downtime() {
    let start = Utc::now();
    let clock = Arc::new(ManualClock::new(start));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let token = admin(&app).await;
    let t = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(json!({"name": "hourly", "usernames": ["nobody"], "asset_ids": ["none"],
                    "secret_strategy": "random",
                    "schedule": {"interval_hours": 1, "start_at": (start + chrono::Duration::minutes(30)).to_rfc3339()}})),
        201,
    )
    .await;
    let id = tumbler_domain::ids::ChangeTaskId::from_string(t["id"].as_str().unwrap());
    assert!(t["next_run_at"].is_string());
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
    let page = ok(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/change-secret/executions?task_id={id}"),
        None,
        200,
    )
    .await;
    assert_eq!(page["total"], 2);
    for e in page["items"].as_array().unwrap() {
        assert_eq!(e["trigger"], "schedule");
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
        c.change_secret.time_zone = "Europe/Berlin".to_owned();
    })
    .await;
    let token = admin(&app).await;
    let t = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(
            json!({"name": "nightly", "usernames": ["nobody"], "asset_ids": ["none"],
                    "secret_strategy": "random", "schedule": {"cron": "0 3 * * *"}}),
        ),
        201,
    )
    .await;
    assert_eq!(t["time_zone"], "Europe/Berlin", "{t}");
    assert_eq!(t["next_run_at"], "2026-11-23T02:00:00Z", "{t}");
    assert_eq!(t["next_run_at_local"], "2026-11-23T03:00:00+01:00", "{t}");
    let engine = &app.services.change_secret;
    clock.advance(chrono::Duration::minutes(13 * 60 + 59));
    assert!(
        engine.run_due_tasks().await.unwrap().is_empty(),
        "01:59 UTC is 02:59 in Berlin"
    );
    clock.advance(chrono::Duration::minutes(1));
    assert_eq!(engine.run_due_tasks().await.unwrap().len(), 1);
    assert!(engine.run_due_tasks().await.unwrap().is_empty());
    let id = t["id"].as_str().unwrap();
    let after = ok(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/change-secret/tasks/{id}"),
        None,
        200,
    )
    .await;
    assert_eq!(
        after["next_run_at_local"], "2026-11-24T03:00:00+01:00",
        "{after}"
    );
}

/// Builds the state a crash leaves: a running execution of a dead node, and the account
/// staged with a new version that the target already took.
pub(super) async fn staged_by_a_dead_worker(
    app: &TestApp,
    task_id: &str,
    account_id: &str,
    new_secret: &str,
) -> (ExecutionId, RecordId) {
    let store = &app.services.store;
    let account = store
        .account(&tumbler_domain::ids::AccountId::from_string(account_id))
        .await
        .unwrap()
        .unwrap();
    let now = Utc::now();
    let exec = ExecutionRow {
        id: ExecutionId::generate(),
        task_id: tumbler_domain::ids::ChangeTaskId::from_string(task_id),
        task_name: "crashed".to_owned(),
        domain_id: account.domain_id.clone(),
        trigger: Trigger::Manual,
        status: ExecutionStatus::Running,
        owner_node: "a-node-that-died".to_owned(),
        heartbeat_at: now - chrono::Duration::hours(1),
        created_by: "admin".to_owned(),
        created_at: now - chrono::Duration::hours(1),
        started_at: Some(now - chrono::Duration::hours(1)),
        finished_at: None,
    };
    let version = account.next_version;
    let record = RecordRow {
        id: RecordId::generate(),
        execution_id: exec.id.clone(),
        account_id: account.id.clone(),
        asset_id: account.asset_id.clone(),
        asset_name: account.asset_name.clone(),
        domain_id: account.domain_id.clone(),
        username: account.username.clone(),
        status: RecordStatus::Pending,
        reason_code: String::new(),
        reason: String::new(),
        old_version: Some(account.current_version),
        new_version: Some(version),
        attempts: 1,
        new_secret_verified_at: None,
        created_at: now,
        updated_at: now,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_execution(&exec).await.unwrap();
    tx.insert_record(&record).await.unwrap();
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
    // One change at a time: a second stage of the same account is refused.
    assert!(!tx
        .stage_account_change(&account.id, account.current_version, version + 1, now)
        .await
        .unwrap());
    tx.commit().await.unwrap();
    (exec.id, record.id)
}

#[tokio::test]
async fn recovery_settles_a_crashed_run_by_logging_in_with_pending_then_current() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
        TestUser::new("app2", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "crashy", &host).await;
    account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let app2 = account(&app, &token, &asset, "app2", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "crash", "usernames": ["app1"], "asset_ids": [asset], "secret_strategy": "random"}),
    )
    .await;
    // app1: the crash came after the target took the new password.
    let (exec1, rec1) =
        staged_by_a_dead_worker(&app, &task_id, &app1, "canary-Pending-Took-1a").await;
    host.set_password("app1", "canary-Pending-Took-1a")
        .await
        .unwrap();
    // app2: the crash came before the target was touched.
    let (exec2, rec2) =
        staged_by_a_dead_worker(&app, &task_id, &app2, "canary-Pending-Never-2b").await;

    // While staged, the account refuses edits of its secret and another change.
    let (status, _) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/accounts/{app1}"),
        Some(json!({"secret": "x-y-z-1"})),
    )
    .await;
    assert_eq!(status, 400);

    let recovered = app.services.change_secret.recover(false).await.unwrap();
    assert_eq!(recovered, 2);
    for (exec, rec, acc, expect_status, expect_version) in [
        (&exec1, &rec1, &app1, "success", 2),
        (&exec2, &rec2, &app2, "failed", 1),
    ] {
        let e = ok(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/change-secret/executions/{exec}"),
            None,
            200,
        )
        .await;
        assert_eq!(e["status"], "interrupted");
        let r = app.services.store.record(rec).await.unwrap().unwrap();
        assert_eq!(r.status.as_str(), expect_status, "{r:?}");
        let out = verify_account(&app, &token, acc).await;
        assert_eq!(out["ok"], true, "the stored current secret logs in: {out}");
        assert_eq!(out["account"]["secret_version"], expect_version);
        let log = log_text(&app, &token, exec.as_str()).await;
        assert!(log.contains("recovery found"), "{log}");
    }
    // Nothing is left to recover.
    assert_eq!(app.services.change_secret.recover(false).await.unwrap(), 0);
}

/// Puts a record in the state a run would have left it in.
async fn set_record_status(app: &TestApp, id: &RecordId, status: RecordStatus) {
    let mut r = app.services.store.record(id).await.unwrap().unwrap();
    r.status = status;
    let mut tx = app.services.store.begin().await.unwrap();
    tx.update_record(&r).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn record_actions_verify_adopt_retry_and_ignore() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let token = admin(&app).await;
    let auth = Authenticator::enrol(&app, &token, clock.clone()).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "acts", &host).await;
    account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "acts", "usernames": ["app1"], "asset_ids": [asset], "secret_strategy": "random"}),
    )
    .await;
    // A staged change whose new password the target took, but nobody committed it.
    let (_, rec) = staged_by_a_dead_worker(&app, &task_id, &app1, "canary-Adopt-Me-4c").await;
    host.set_password("app1", "canary-Adopt-Me-4c")
        .await
        .unwrap();
    set_record_status(&app, &rec, RecordStatus::Unverified).await;
    let path = |action: &str| format!("/api/v1/change-secret/records/{rec}/{action}");

    // Adopt needs a successful verify first, then a fresh code.
    let (status, out) = call(
        &app,
        &token,
        Method::POST,
        &path("adopt"),
        Some(json!({"totp": auth.fresh_code()})),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].as_str()),
        (409, Some("record_state")),
        "{out}"
    );
    let v = ok(&app, &token, Method::POST, &path("verify"), None, 200).await;
    assert!(v["new_secret_verified_at"].is_string(), "{v}");
    let (status, out) = call(&app, &token, Method::POST, &path("adopt"), Some(json!({}))).await;
    assert_eq!(
        (status, out["error"]["code"].as_str()),
        (401, Some("totp_required"))
    );
    let adopted = ok(
        &app,
        &token,
        Method::POST,
        &path("adopt"),
        Some(json!({"totp": auth.fresh_code()})),
        200,
    )
    .await;
    assert_eq!(adopted["status"], "success");
    let out = verify_account(&app, &token, &app1).await;
    assert_eq!(
        (
            out["ok"].as_bool(),
            out["account"]["secret_version"].as_i64()
        ),
        (Some(true), Some(2))
    );
    // Adopting twice is refused: the account changed since.
    let (status, _) = call(
        &app,
        &token,
        Method::POST,
        &path("adopt"),
        Some(json!({"totp": auth.fresh_code()})),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = call(&app, &token, Method::POST, &path("ignore"), None).await;
    assert_eq!(status, 409, "a successful record cannot be ignored");

    // A failed record is retried with the same new secret.
    let (_, rec2) = staged_by_a_dead_worker(&app, &task_id, &app1, "canary-Retry-Same-5d").await;
    set_record_status(&app, &rec2, RecordStatus::Failed).await;
    let retried = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec2}/retry"),
        None,
        200,
    )
    .await;
    assert_eq!(retried["status"], "success", "{retried}");
    assert!(ssh_logs_in(&host, "app1", "canary-Retry-Same-5d").await);
    assert_eq!(
        verify_account(&app, &token, &app1).await["account"]["secret_version"],
        3
    );

    // Ignoring an unverified record releases the account and keeps the current secret.
    let (_, rec3) = staged_by_a_dead_worker(&app, &task_id, &app1, "canary-Ignored-6e").await;
    // A record still in progress is not ignored.
    let (status, _) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec3}/ignore"),
        None,
    )
    .await;
    assert_eq!(status, 409);
    set_record_status(&app, &rec3, RecordStatus::Unverified).await;
    // Ignoring first settles the account by login: the target never took the new secret,
    // so the current one stays and the stage is released.
    let ignored = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec3}/ignore"),
        None,
        200,
    )
    .await;
    assert_eq!(ignored["status"], "ignored");
    let out = verify_account(&app, &token, &app1).await;
    assert_eq!(
        (
            out["ok"].as_bool(),
            out["account"]["secret_version"].as_i64()
        ),
        (Some(true), Some(3))
    );
    let unknown = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec3}/dance"),
        None,
    )
    .await;
    assert_eq!(unknown.0, 404);
}
