//! The change engine against real targets: tasks change passwords on sshd hosts (sudo and
//! su), a private PostgreSQL cluster and MariaDB; the new secret logs in and the old one does
//! not; secure mode, failure reasons, the schedule, recovery of a crashed run and the record
//! actions; and no password in logs, audit, command lines or statement logs.

mod bad_input;
mod databases;
mod failures;
mod linux;
mod record_actions;
mod recovery;
mod schedule;

use super::support::{ok, ok_as, typed};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tumbler_api_types::answers::ExecutionStarted;
use tumbler_api_types::change_secret::{ExecutionView, RecordRow as ApiRecord, TaskView};
use tumbler_api_types::inventory::{AccountOut, AssetOut, VerifyOut};
use tumbler_api_types::Page;
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus, Trigger};
use tumbler_domain::ids::{ExecutionId, RecordId};
use tumbler_store::{ExecutionRow, RecordRow};
use tumbler_testkit::app::TestApp;
use tumbler_testkit::mariadb::MariaDbScratch;
use tumbler_testkit::pg_cluster::PgCluster;
use tumbler_testkit::sshd::SshHost;

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
    let body: AccountOut = ok_as(
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
    body.id
}

/// The privileged `ops` account on the asset, becoming root with sudo; returns its id.
pub(super) async fn sudo_ops(app: &TestApp, token: &str, asset_id: &str) -> String {
    account(
        app,
        token,
        asset_id,
        "ops",
        OPS_PASSWORD,
        true,
        json!({"become": "sudo"}),
    )
    .await
}

/// A MariaDB user allowed to change other users' passwords (named after the scratch's user),
/// made on the server and added as the asset's privileged account; returns its name, for the
/// test's `DROP USER`.
pub(super) async fn mariadb_dba(
    app: &TestApp,
    token: &str,
    asset_id: &str,
    scratch: &MariaDbScratch,
    password: &str,
) -> String {
    let dba = format!("{}_dba", scratch.user());
    tumbler_testkit::mariadb::admin_exec(&format!(
        "CREATE USER '{dba}'@'%' IDENTIFIED BY '{password}'; \
         GRANT CREATE USER, SELECT ON *.* TO '{dba}'@'%'; \
         GRANT UPDATE ON mysql.* TO '{dba}'@'%';"
    ))
    .await;
    account(app, token, asset_id, &dba, password, true, json!({})).await;
    dba
}

/// A PostgreSQL asset on the private cluster, its superuser as the privileged account.
async fn pg_asset(app: &TestApp, token: &str, name: &str, cluster: &PgCluster) -> String {
    let asset = asset(
        app,
        token,
        json!({"name": name, "address": "127.0.0.1", "port": cluster.port(), "platform": "postgresql"}),
    )
    .await;
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
    let id = asset(
        app,
        token,
        json!({"name": name, "address": host.address(), "port": host.port(), "platform": "linux"}),
    )
    .await;
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

/// Creates a task; returns its id.
pub(super) async fn task(app: &TestApp, token: &str, body: Value) -> String {
    task_view(app, token, body).await.id.to_string()
}

/// Creates a task; returns it as answered.
pub(super) async fn task_view(app: &TestApp, token: &str, body: Value) -> TaskView {
    let t = ok(
        app,
        token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(body),
        201,
    )
    .await;
    // Raw JSON on purpose: no `secret` key at all, which a typed read cannot see.
    assert!(t.get("secret").is_none(), "no secret in answers: {t}");
    typed(t)
}

/// Starts the task; returns the id of its execution.
pub(super) async fn start_run(app: &TestApp, token: &str, task_id: &str) -> String {
    let started: ExecutionStarted = ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/tasks/{task_id}/execute"),
        None,
        202,
    )
    .await;
    started.execution_id.to_string()
}

/// Starts the task and waits for its execution to end; returns the execution.
pub(super) async fn run(app: &TestApp, token: &str, task_id: &str) -> ExecutionView {
    let id = start_run(app, token, task_id).await;
    wait_for_execution(app, token, &id).await
}

/// An execution as it is now.
pub(super) async fn execution(app: &TestApp, token: &str, id: &str) -> ExecutionView {
    ok_as(
        app,
        token,
        Method::GET,
        &format!("/api/v1/change-secret/executions/{id}"),
        None,
        200,
    )
    .await
}

/// Waits for the execution to end; returns it.
pub(super) async fn wait_for_execution(app: &TestApp, token: &str, id: &str) -> ExecutionView {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let e = execution(app, token, id).await;
        if e.status.is_final() {
            return e;
        }
        assert!(
            Instant::now() < deadline,
            "execution {id} did not end: {e:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The records of an execution.
pub(super) async fn records(app: &TestApp, token: &str, execution_id: &str) -> Vec<ApiRecord> {
    let page: Page<ApiRecord> = ok_as(
        app,
        token,
        Method::GET,
        &format!("/api/v1/change-secret/records?execution_id={execution_id}"),
        None,
        200,
    )
    .await;
    page.items
}

/// The record of the account with this username (panics when there is none).
pub(super) fn record_for<'a>(records: &'a [ApiRecord], username: &str) -> &'a ApiRecord {
    records
        .iter()
        .find(|r| r.username == username)
        .unwrap_or_else(|| panic!("no record for {username}: {records:?}"))
}

/// The record of the account on the asset with this name (panics when there is none).
pub(super) fn record_on<'a>(records: &'a [ApiRecord], asset_name: &str) -> &'a ApiRecord {
    records
        .iter()
        .find(|r| r.asset_name == asset_name)
        .unwrap_or_else(|| panic!("no record on {asset_name}: {records:?}"))
}

/// Logs in with the account's stored secret (`POST /accounts/{id}/verify`).
pub(super) async fn verify_account(app: &TestApp, token: &str, id: &str) -> VerifyOut {
    ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/accounts/{id}/verify"),
        None,
        200,
    )
    .await
}

/// A record action (`verify`, `adopt`, `retry`, `ignore`) that succeeds; returns the record.
pub(super) async fn record_action(
    app: &TestApp,
    token: &str,
    record_id: &RecordId,
    action: &str,
    body: Option<Value>,
) -> ApiRecord {
    ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{record_id}/{action}"),
        body,
        200,
    )
    .await
}

/// Creates an asset from its JSON body; returns its id.
pub(super) async fn asset(app: &TestApp, token: &str, body: Value) -> String {
    let created: AssetOut =
        ok_as(app, token, Method::POST, "/api/v1/assets", Some(body), 201).await;
    created.id
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
        reason_code: None,
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
