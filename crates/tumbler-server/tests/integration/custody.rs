//! An operator must not obtain a secret they may not reveal: moving an asset sends nothing
//! until someone who may reveal its secrets accepts the new location; secret placeholders in
//! templates, the privileged flag, role and domain grants and foreign nodes are out of an
//! operator's reach; a task that matches nothing does not claim success.

use super::change_secret::{account, admin, linux_asset, records, run, task, OPS_PASSWORD};
use super::support::{call, ok, user, Authenticator};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::mariadb::MariaDbScratch;
use tumbler_testkit::pg_cluster::PgCluster;
use tumbler_testkit::redis::{RedisServer, RedisUser};
use tumbler_testkit::sshd::{SshHost, TestUser};

const ALICE_PASSWORD: &str = "canary-Relocated-Alice-4b7d";

async fn audit_text(app: &TestApp, token: &str) -> String {
    ok(
        app,
        token,
        Method::GET,
        "/api/v1/audit?limit=500",
        None,
        200,
    )
    .await
    .to_string()
}

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
    let (status, out) = verify_status(&app, &admin, &alice).await;
    assert_eq!((status, out["ok"].as_bool()), (200, Some(true)), "{out}");
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
    let moved = ok(
        &app,
        &olga,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"port": rogue.port()})),
        200,
    )
    .await;
    assert_eq!(moved["host_key_status"], "relocated", "{moved}");
    assert_eq!(moved["host_key_fingerprint"], Value::Null);

    // Verify: refused before any connection.
    let (status, body) = verify_status(&app, &olga, &alice).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("asset_relocated")),
        "{body}"
    );
    // Testing it only reads the key the new location presents.
    let tested = ok(
        &app,
        &olga,
        Method::POST,
        &format!("/api/v1/assets/{asset}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(tested["host_key_status"], "relocated");
    assert_eq!(tested["host_key_fingerprint"], rogue.host_key_fingerprint());
    let (status, body) = verify_status(&app, &olga, &alice).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("asset_relocated"))
    );
    // A change run sends nothing either.
    let task_id = task(
        &app,
        &olga,
        json!({"name": "moved", "usernames": ["alice"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let e = run(&app, &olga, &task_id).await;
    assert_ne!(e["status"], "succeeded", "{e}");
    let rs = records(&app, &olga, e["id"].as_str().unwrap()).await;
    assert_eq!(rs.len(), 1, "{rs:?}");
    assert_eq!(rs[0]["reason_code"], "asset_relocated", "{rs:?}");
    // The operator cannot accept the new location, with or without the fingerprint.
    for (path, body) in [
        (
            format!("/api/v1/assets/{asset}/host-key/acknowledge"),
            json!({"fingerprint": rogue.host_key_fingerprint()}),
        ),
        (
            "/api/v1/assets/host-keys/acknowledge".to_owned(),
            json!({"asset_ids": [asset]}),
        ),
    ] {
        let (status, body) = call(&app, &olga, Method::POST, &path, Some(body)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("forbidden"))
        );
    }
    // Pinning a fingerprint "from a trusted source" is a move too.
    let pinned = ok(
        &app,
        &olga,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"host_key_fingerprint": rogue.host_key_fingerprint()})),
        200,
    )
    .await;
    assert_eq!(pinned["host_key_status"], "relocated");
    let (status, _) = verify_status(&app, &olga, &alice).await;
    assert_eq!(status, 409);
    // Nor does moving the device to Tumbler's key (a login, then typed become secrets).
    let started = ok(
        &app,
        &admin,
        Method::POST,
        &format!("/api/v1/assets/{asset}/authentication"),
        Some(json!({"mode": "system_key", "admin_user": "tumbler", "create_user": true})),
        202,
    )
    .await;
    let job =
        super::device_keys::wait_for_job(&app, &admin, started["job_id"].as_str().unwrap()).await;
    assert_ne!(job["status"], "succeeded", "{job}");
    assert!(job.to_string().contains("moved"), "{job}");
    let log = rogue.auth_log();
    assert!(
        !log.contains("alice") && !log.contains("ops") && !log.contains("Accepted"),
        "no authentication reached the operator's host: {log}"
    );
    assert!(!rogue.command_log().contains(ALICE_PASSWORD));

    // The administrator: the reveal permission and a fresh code.
    let path = format!("/api/v1/assets/{asset}/host-key/acknowledge");
    let (status, body) = call(&app, &admin, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("totp_required"))
    );
    // Moved back to where it was: the administrator accepts the real host.
    ok(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"port": real.port()})),
        200,
    )
    .await;
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
    assert_eq!(body["host_key_status"], "verified");
    assert_eq!(body["host_key_fingerprint"], real.host_key_fingerprint());
    let (status, out) = verify_status(&app, &olga, &alice).await;
    assert_eq!((status, out["ok"].as_bool()), (200, Some(true)), "{out}");

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
    let a = ok(
        &app,
        &admin,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "db", "address": "127.0.0.1", "port": port, "platform": platform})),
        201,
    )
    .await;
    let asset = a["id"].as_str().unwrap().to_owned();
    let acct = account(&app, &admin, &asset, username, password, false, json!({})).await;
    let (_, out) = verify_status(&app, &admin, &acct).await;
    assert_eq!(out["ok"], true, "{platform}: {out}");

    let olga = user(&app, &admin, "olga", &["operator"], &["Default"]).await;
    let moved = ok(
        &app,
        &olga,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"address": "localhost"})),
        200,
    )
    .await;
    assert_eq!(moved["host_key_status"], "relocated", "{platform}");
    let (status, body) = verify_status(&app, &olga, &acct).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("asset_relocated")),
        "{platform}"
    );
    let path = format!("/api/v1/assets/{asset}/host-key/acknowledge");
    let (status, _) = call(&app, &olga, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(status, 403, "{platform}");
    let accepted = ok(
        &app,
        &admin,
        Method::POST,
        &path,
        Some(json!({"totp": authenticator.fresh_code()})),
        200,
    )
    .await;
    assert_ne!(accepted["host_key_status"], "relocated", "{platform}");
    let (_, out) = verify_status(&app, &olga, &acct).await;
    assert_eq!(out["ok"], true, "{platform}: {out}");
    let audit = audit_text(&app, &admin).await;
    assert!(
        audit.contains(&format!("127.0.0.1:{port} -> localhost:{port}")),
        "{platform}: {audit}"
    );
    assert!(audit.contains("asset.location.accept"), "{platform}");
    app.stop().await;
}

fn names(page: &Value, field: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[field].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn user_managers_grant_only_what_they_hold_and_never_to_themselves() {
    let app = TestApp::spawn().await;
    let admin = admin(&app).await;
    ok(
        &app,
        &admin,
        Method::POST,
        "/api/v1/roles",
        Some(json!({"name": "usermgr", "description": "", "permissions": ["users_read", "users_manage"]})),
        201,
    )
    .await;
    // The administrator creates a domain and so belongs to it.
    ok(
        &app,
        &admin,
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Secret"})),
        201,
    )
    .await;
    let me = ok(&app, &admin, Method::GET, "/api/v1/users/me", None, 200).await;
    assert_eq!(me["domains"], json!(["Default", "Secret"]));
    let admin_id = me["id"].as_str().unwrap().to_owned();
    let ursula = user(&app, &admin, "ursula", &["usermgr"], &["Default"]).await;
    let ursula_id = ok(&app, &ursula, Method::GET, "/api/v1/users/me", None, 200).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Roles that allow more than she holds, and domains she is not in, are refused.
    for (roles, domains, code) in [
        (json!(["admin"]), json!(["Default"]), "role_not_held"),
        (json!(["operator"]), json!(["Default"]), "role_not_held"),
        (json!(["usermgr"]), json!(["Secret"]), "domain_not_held"),
    ] {
        let (status, body) = call(
            &app,
            &ursula,
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": "mallory", "roles": roles, "domains": domains})),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some(code)),
            "{roles} {domains}: {body}"
        );
    }
    let created = ok(
        &app,
        &ursula,
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": "mallory", "roles": ["usermgr"], "domains": ["Default"]})),
        201,
    )
    .await;
    let mallory_id = created["user"]["id"].as_str().unwrap().to_owned();
    for body in [
        json!({"roles": ["admin"]}),
        json!({"roles": ["usermgr", "auditor"]}),
    ] {
        let (status, out) = call(
            &app,
            &ursula,
            Method::PATCH,
            &format!("/api/v1/users/{mallory_id}"),
            Some(body),
        )
        .await;
        assert_eq!(
            (status, out["error"]["code"].as_str()),
            (403, Some("role_not_held"))
        );
    }
    let (status, out) = call(
        &app,
        &ursula,
        Method::PATCH,
        &format!("/api/v1/users/{mallory_id}"),
        Some(json!({"domains": ["Default", "Secret"]})),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].as_str()),
        (403, Some("domain_not_held"))
    );
    // Nobody changes their own roles or domains, not even an administrator.
    for (token, id, body) in [
        (&ursula, &ursula_id, json!({"roles": ["admin"]})),
        (
            &ursula,
            &ursula_id,
            json!({"domains": ["Default", "Secret"]}),
        ),
        (&admin, &admin_id, json!({"domains": ["Default"]})),
        (&admin, &admin_id, json!({"roles": ["admin", "auditor"]})),
    ] {
        let (status, out) = call(
            &app,
            token,
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(body),
        )
        .await;
        assert_eq!(
            (status, out["error"]["code"].as_str()),
            (403, Some("own_grants"))
        );
    }
    // Unchanged roles and domains may be sent back with other changes.
    ok(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/users/{admin_id}"),
        Some(json!({"roles": ["admin"], "domains": ["Secret", "Default"]})),
        200,
    )
    .await;
    // The administrator may grant both; the audit names old and new.
    ok(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/users/{mallory_id}"),
        Some(json!({"roles": ["usermgr", "auditor"], "domains": ["Default", "Secret"]})),
        200,
    )
    .await;
    let audit = audit_text(&app, &admin).await;
    assert!(
        audit.contains("roles=usermgr -> usermgr,auditor"),
        "{audit}"
    );
    assert!(
        audit.contains("domains=Default -> Default,Secret"),
        "{audit}"
    );

    // Domain names are not revealed to whoever may not manage users.
    let aldo = user(&app, &admin, "aldo", &["auditor"], &["Default"]).await;
    let domains = ok(&app, &aldo, Method::GET, "/api/v1/domains", None, 200).await;
    assert_eq!(names(&domains, "name"), ["Default"]);
    let users = ok(
        &app,
        &aldo,
        Method::GET,
        "/api/v1/users?limit=100",
        None,
        200,
    )
    .await;
    assert!(!users.to_string().contains("Secret"), "{users}");
    let listed = ok(&app, &ursula, Method::GET, "/api/v1/domains", None, 200).await;
    assert_eq!(names(&listed, "name"), ["Default", "Secret"]);
    for domains in [json!(["Secret"]), json!(["Nowhere"])] {
        let (status, out) = call(
            &app,
            &aldo,
            Method::PATCH,
            &format!("/api/v1/users/{mallory_id}"),
            Some(json!({"domains": domains})),
        )
        .await;
        assert_eq!(
            (status, out["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "the same answer whether the domain exists or not"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn only_an_administrator_with_a_fresh_code_takes_an_account_out_of_secure_mode() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let admin = admin(&app).await;
    let authenticator = Authenticator::enrol(&app, &admin, clock.clone()).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", "canary-App1-Secure-91ab"),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &admin, "secure", &host).await;
    let ops = account(&app, &admin, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let root = account(
        &app,
        &admin,
        &asset,
        "root",
        "canary-Root-Secure-1",
        false,
        json!({}),
    )
    .await;
    let app1 = account(
        &app,
        &admin,
        &asset,
        "app1",
        "canary-App1-Secure-91ab",
        false,
        json!({}),
    )
    .await;
    let olga = user(&app, &admin, "olga", &["operator"], &["Default"]).await;

    // The operator: no way out of protection, whatever the code.
    for (id, body) in [
        (&ops, json!({"privileged": false})),
        (&ops, json!({"privileged": false, "totp": "123456"})),
        (&root, json!({"username": "app2"})),
    ] {
        let (status, out) = call(
            &app,
            &olga,
            Method::PATCH,
            &format!("/api/v1/accounts/{id}"),
            Some(body),
        )
        .await;
        assert_eq!(
            (status, out["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{out}"
        );
    }
    let (status, _) = call(
        &app,
        &olga,
        Method::DELETE,
        &format!("/api/v1/accounts/{ops}"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    // Into protection is not free either (the login account is chosen among privileged
    // ones); other edits of a protected account are.
    let (status, out) = call(
        &app,
        &olga,
        Method::PATCH,
        &format!("/api/v1/accounts/{app1}"),
        Some(json!({"privileged": true})),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    ok(
        &app,
        &olga,
        Method::PATCH,
        &format!("/api/v1/accounts/{ops}"),
        Some(json!({"options": {"become": "sudo"}})),
        200,
    )
    .await;
    // So a change task cannot set a password the operator chose on the privileged account.
    let task_id = task(
        &app,
        &olga,
        json!({"name": "takeover", "usernames": ["ops"], "asset_ids": [asset],
               "secret_strategy": "specified", "secret": "canary-Operator-Chosen-5"}),
    )
    .await;
    let e = run(&app, &olga, &task_id).await;
    let rs = records(&app, &olga, e["id"].as_str().unwrap()).await;
    assert_eq!(rs[0]["reason_code"], "secure_mode_privileged", "{rs:?}");
    assert!(super::change_secret::ssh_logs_in(&host, "ops", OPS_PASSWORD).await);

    // The administrator: a fresh code, then done and audited with old and new values.
    let path = format!("/api/v1/accounts/{ops}");
    let (status, out) = call(
        &app,
        &admin,
        Method::PATCH,
        &path,
        Some(json!({"privileged": false})),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].as_str()),
        (401, Some("totp_required"))
    );
    let acct = ok(&app, &admin, Method::GET, &path, None, 200).await;
    assert_eq!(acct["privileged"], true, "nothing was written");
    let acct = ok(
        &app,
        &admin,
        Method::PATCH,
        &path,
        Some(json!({"privileged": false, "totp": authenticator.fresh_code()})),
        200,
    )
    .await;
    assert_eq!(acct["privileged"], false);
    let (status, _) = call(
        &app,
        &admin,
        Method::DELETE,
        &format!("/api/v1/accounts/{root}"),
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = call(
        &app,
        &admin,
        Method::DELETE,
        &format!("/api/v1/accounts/{root}"),
        Some(json!({"totp": authenticator.fresh_code()})),
    )
    .await;
    assert_eq!(status, 204);
    let audit = audit_text(&app, &admin).await;
    assert!(audit.contains("account.unprotect"), "{audit}");
    assert!(audit.contains("privileged true -> false"), "{audit}");
    app.stop().await;
}

#[tokio::test]
async fn a_task_that_matches_nothing_says_nothing_was_changed() {
    let app = TestApp::spawn().await;
    let admin = admin(&app).await;
    let host = SshHost::start(&[TestUser::new("ops", OPS_PASSWORD).with_sudo()])
        .await
        .unwrap();
    let asset = linux_asset(&app, &admin, "quiet", &host).await;
    account(&app, &admin, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    ok(
        &app,
        &admin,
        Method::POST,
        "/api/v1/nodes",
        Some(json!({"path": "/Default/Soon-Gone"})),
        201,
    )
    .await;

    // A node that never existed is refused when the task is saved, nothing stored.
    let (status, body) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(
            json!({"name": "ghost", "usernames": ["app1"], "nodes": ["/Default/Ghost"],
                    "secret_strategy": "random"}),
        ),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("unknown_node")),
        "{body}"
    );
    let tasks = ok(
        &app,
        &admin,
        Method::GET,
        "/api/v1/change-secret/tasks",
        None,
        200,
    )
    .await;
    assert_eq!(tasks, json!([]), "nothing stored");

    // Usernames that match no account: not `succeeded`.
    let by_name = task(
        &app,
        &admin,
        json!({"name": "nobody", "usernames": ["nobody"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let e = run(&app, &admin, &by_name).await;
    assert_eq!(e["status"], "nothing_changed", "{e}");
    assert!(
        e["reason"].as_str().unwrap().contains("matched no account"),
        "{e}"
    );
    let log = super::change_secret::log_text(&app, &admin, e["id"].as_str().unwrap()).await;
    assert!(log.contains("nothing was changed"), "{log}");
    assert!(
        log.trim_end().ends_with("finished: nothing_changed"),
        "{log}"
    );
    // Accounts matched but all skipped by secure mode: nothing changed either.
    let skipped = task(
        &app,
        &admin,
        json!({"name": "skipped", "usernames": ["ops"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let e = run(&app, &admin, &skipped).await;
    assert_eq!(e["status"], "nothing_changed", "{e}");
    assert!(e["reason"].as_str().unwrap().contains("skipped"), "{e}");

    // A node saved with the task and deleted since: the run says so, and changed nothing.
    let by_node = task(
        &app,
        &admin,
        json!({"name": "by node", "usernames": ["app1"], "nodes": ["/Default/Soon-Gone"],
               "secret_strategy": "random"}),
    )
    .await;
    let (status, body) = call(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/change-secret/tasks/{by_node}"),
        Some(json!({"nodes": ["/Nowhere"]})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("unknown_node"))
    );
    let nodes = ok(&app, &admin, Method::GET, "/api/v1/nodes", None, 200).await;
    let gone = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["path"] == "/Default/Soon-Gone")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        &app,
        &admin,
        Method::DELETE,
        &format!("/api/v1/nodes/{gone}"),
        None,
        204,
    )
    .await;
    let e = run(&app, &admin, &by_node).await;
    assert_eq!(e["status"], "nothing_changed", "{e}");
    let log = super::change_secret::log_text(&app, &admin, e["id"].as_str().unwrap()).await;
    assert!(
        log.contains("node /Default/Soon-Gone no longer exists"),
        "{log}"
    );
    app.stop().await;
}

/// A template that drives `passwd` through sudo, typing the login secret at sudo's prompt.
fn sudo_passwd_template() -> Value {
    json!({
        "command": "sudo -S -p 'SUDO-ASKS:' passwd {username}",
        "steps": [
            {"expect": "SUDO-ASKS:", "answer": "{login_secret}", "timeout_secs": 10},
            {"expect": "New password:", "answer": "{new_secret}", "timeout_secs": 10},
            {"expect": "Retype new password:", "answer": "{new_secret}", "timeout_secs": 10},
            {"expect": "updated successfully", "timeout_secs": 10}
        ]
    })
}

/// A template that types only the new secret (what a network device's CLI asks for).
fn device_template() -> Value {
    json!({
        "command": "",
        "pty": true,
        "steps": [
            {"expect": "New password:", "answer": "{new_secret}", "timeout_secs": 5},
            {"expect": "changed", "timeout_secs": 5}
        ]
    })
}

#[tokio::test]
async fn secret_templates_need_their_own_permission_checked_again_at_run_time() {
    let start = Utc::now();
    let clock = Arc::new(ManualClock::new(start));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let admin = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", "canary-App1-Template-3f"),
    ])
    .await
    .unwrap();
    let linux = linux_asset(&app, &admin, "linux", &host).await;
    account(&app, &admin, &linux, "ops", OPS_PASSWORD, true, json!({})).await;
    account(
        &app,
        &admin,
        &linux,
        "app1",
        "canary-App1-Template-3f",
        false,
        json!({}),
    )
    .await;
    let junos = ok(
        &app,
        &admin,
        Method::POST,
        "/api/v1/assets",
        Some(
            json!({"name": "edge", "address": "127.0.0.1", "port": 1, "platform": "junos",
                    "nodes": ["/Default/Net"]}),
        ),
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let olga = user(&app, &admin, "olga", &["operator"], &["Default"]).await;
    let create = |token: &str, body: Value| {
        let token = token.to_owned();
        let app = &app;
        async move {
            call(
                app,
                &token,
                Method::POST,
                "/api/v1/change-secret/tasks",
                Some(body),
            )
            .await
        }
    };

    // An operator: no template at all, not even one that types only the new secret to a
    // network device (what the device prints could be quoted into a record's reason).
    for (assets, template) in [
        (json!([junos]), sudo_passwd_template()),
        (json!([linux]), device_template()),
        (json!([junos]), device_template()),
        (json!([junos, linux]), device_template()),
    ] {
        let (status, body) = create(
            &olga,
            json!({"name": "t", "usernames": ["app1"], "asset_ids": assets,
                   "secret_strategy": "random", "custom_ssh": template}),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("template_not_allowed")),
            "{body}"
        );
    }
    let (status, body) = create(
        &olga,
        json!({"name": "devices", "usernames": ["app1"], "nodes": ["/Default/Net"],
               "secret_strategy": "random", "custom_ssh": device_template()}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let seen = host.auth_log().len();

    // An administrator may; the task's owner must still hold the permission when it runs.
    let ada = user(&app, &admin, "ada", &["admin"], &["Default"]).await;
    let (status, body) = create(
        &ada,
        json!({"name": "sudo passwd", "usernames": ["app1"], "asset_ids": [linux],
               "secret_strategy": "random", "custom_ssh": sudo_passwd_template(),
               "schedule": {"interval_hours": 1,
                            "start_at": (start + chrono::Duration::minutes(30)).to_rfc3339()}}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // Nor may an operator retarget a task whose template runs with its owner's permission.
    let (status, out) = call(
        &app,
        &olga,
        Method::PATCH,
        &format!(
            "/api/v1/change-secret/tasks/{}",
            body["id"].as_str().unwrap()
        ),
        Some(json!({"asset_ids": [junos]})),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].as_str()),
        (403, Some("template_not_allowed")),
        "{out}"
    );
    let ada_id = ok(&app, &ada, Method::GET, "/api/v1/users/me", None, 200).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/users/{ada_id}"),
        Some(json!({"roles": ["operator"]})),
        200,
    )
    .await;
    clock.advance(chrono::Duration::minutes(31));
    let fired = app.services.change_secret.run_due_tasks().await.unwrap();
    assert_eq!(fired.len(), 1);
    let e = super::change_secret::wait_for_execution(&app, &admin, fired[0].as_str()).await;
    assert_eq!(e["status"], "failed", "{e}");
    let rs = records(&app, &admin, e["id"].as_str().unwrap()).await;
    assert_eq!(rs[0]["reason_code"], "template_not_allowed", "{rs:?}");
    assert!(rs[0]["reason"].as_str().unwrap().contains("ada"), "{rs:?}");
    let since = host.auth_log()[seen..].to_owned();
    assert!(!since.contains("Accepted"), "nothing logged in: {since}");
    assert!(super::change_secret::ssh_logs_in(&host, "app1", "canary-App1-Template-3f").await);
    app.stop().await;
}

fn node_id(page: &Value, path: &str) -> Option<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["path"] == path)
        .map(|n| n["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn another_domain_neither_sees_nor_changes_nodes_it_does_not_share() {
    let app = TestApp::spawn().await;
    let admin = admin(&app).await;
    for d in ["Dev", "Ops"] {
        ok(
            &app,
            &admin,
            Method::POST,
            "/api/v1/domains",
            Some(json!({"name": d})),
            201,
        )
        .await;
    }
    let oscar = user(&app, &admin, "oscar", &["operator"], &["Ops"]).await;
    let dana = user(&app, &admin, "dana", &["operator"], &["Dev"]).await;
    ok(
        &app,
        &oscar,
        Method::POST,
        "/api/v1/assets",
        Some(
            json!({"name": "ops-db", "address": "127.0.0.1", "port": 1, "platform": "linux",
                    "nodes": ["/Default/OpsOnly", "/Default/Shared"]}),
        ),
        201,
    )
    .await;
    ok(
        &app,
        &oscar,
        Method::POST,
        "/api/v1/nodes",
        Some(json!({"path": "/Default/OpsPlanned"})),
        201,
    )
    .await;
    // An Ops task by node: the node holds nothing yet, but it is Ops's.
    task(
        &app,
        &oscar,
        json!({"name": "planned", "usernames": ["svc"], "nodes": ["/Default/OpsPlanned"],
               "secret_strategy": "random"}),
    )
    .await;
    ok(
        &app,
        &dana,
        Method::POST,
        "/api/v1/assets",
        Some(
            json!({"name": "dev-web", "address": "127.0.0.1", "port": 1, "platform": "linux",
                    "nodes": ["/Default/Shared", "/Default/DevOnly"]}),
        ),
        201,
    )
    .await;
    let ops_view = ok(&app, &oscar, Method::GET, "/api/v1/nodes", None, 200).await;
    let ops_only = node_id(&ops_view, "/Default/OpsOnly").unwrap();
    let planned = node_id(&ops_view, "/Default/OpsPlanned").unwrap();

    // Dev sees its own nodes and the shared ones, never Ops's.
    let dev_view = ok(&app, &dana, Method::GET, "/api/v1/nodes", None, 200).await;
    let mut paths = names(&dev_view, "path");
    paths.sort();
    assert_eq!(paths, ["/Default", "/Default/DevOnly", "/Default/Shared"]);
    assert!(!dev_view.to_string().contains("Ops"), "{dev_view}");
    let shared = node_id(&dev_view, "/Default/Shared").unwrap();
    let dev_only = node_id(&dev_view, "/Default/DevOnly").unwrap();
    let root = node_id(&dev_view, "/Default").unwrap();

    // Ops's nodes are "not found" to Dev, whatever is tried.
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/nodes/{ops_only}"),
            Some(json!({"name": "Mine"})),
        ),
        (Method::DELETE, format!("/api/v1/nodes/{planned}"), None),
        (
            Method::PATCH,
            format!("/api/v1/nodes/{dev_only}"),
            Some(json!({"parent": "/Default/OpsOnly"})),
        ),
    ] {
        refused(&app, &dana, method, &path, body, (404, "node_not_found")).await;
    }
    // Shared nodes (and those above Ops's) cannot be renamed, moved or deleted by Dev.
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/nodes/{shared}"),
            Some(json!({"name": "Taken"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/nodes/{shared}"),
            Some(json!({"parent": "/Default/DevOnly"})),
        ),
        (Method::DELETE, format!("/api/v1/nodes/{shared}"), None),
        (
            Method::PATCH,
            format!("/api/v1/nodes/{root}"),
            Some(json!({"name": "Renamed"})),
        ),
    ] {
        refused(&app, &dana, method, &path, body, (409, "node_shared")).await;
    }
    // A task cannot name a node Dev cannot see.
    let (status, out) = call(
        &app,
        &dana,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(
            json!({"name": "probe", "usernames": ["svc"], "nodes": ["/Default/OpsPlanned"],
                    "secret_strategy": "random"}),
        ),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].as_str()),
        (400, Some("unknown_node"))
    );
    // Its own node is Dev's to change.
    let renamed = ok(
        &app,
        &dana,
        Method::PATCH,
        &format!("/api/v1/nodes/{dev_only}"),
        Some(json!({"name": "DevRenamed"})),
        200,
    )
    .await;
    assert_eq!(renamed["path"], "/Default/DevRenamed");
    // Ops's tree is intact.
    let after = ok(&app, &oscar, Method::GET, "/api/v1/nodes", None, 200).await;
    assert!(node_id(&after, "/Default/OpsOnly").is_some());
    assert!(node_id(&after, "/Default/OpsPlanned").is_some());
    assert!(node_id(&after, "/Default/Shared").is_some());
    app.stop().await;
}

#[tokio::test]
async fn operators_choose_neither_the_login_account_nor_what_runs_as_root() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let admin = admin(&app).await;
    let mut host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("aaa", "canary-Operator-Own-7e"),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &admin, "root-ways", &host).await;
    let ops = account(&app, &admin, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let olga = user(&app, &admin, "olga", &["operator"], &["Default"]).await;
    let create = |token: &str, body: Value| {
        let token = token.to_owned();
        let app = &app;
        async move { call(app, &token, Method::POST, "/api/v1/accounts", Some(body)).await }
    };

    // Only system shells: a task parameter or an account option naming any other program
    // would have it started as root through sudo or su.
    let (status, body) = call(
        &app,
        &olga,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(
            json!({"name": "shell", "usernames": ["ops"], "asset_ids": [asset],
                    "secret_strategy": "random", "params": {"shell": "/tmp/grab"}}),
        ),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("shell"), "{body}");
    let (status, body) = create(
        &olga,
        json!({"asset_id": asset, "username": "svc", "secret": "canary-Svc-1",
               "options": {"shell": "/home/olga/grab"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    ok(
        &app,
        &olga,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(
            json!({"name": "bash", "usernames": ["nobody"], "asset_ids": [asset],
                    "secret_strategy": "random", "params": {"shell": "/bin/bash"}}),
        ),
        201,
    )
    .await;

    // The operator's own login "aaa", marked privileged, would be the login account (the
    // first privileged one), and su would type root's password into their session.
    let (status, body) = create(
        &olga,
        json!({"asset_id": asset, "username": "aaa", "secret": "canary-Operator-Own-7e",
               "privileged": true, "options": {"become": "su"}}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let aaa = account(
        &app,
        &olga,
        &asset,
        "aaa",
        "canary-Operator-Own-7e",
        false,
        json!({"become": "su"}),
    )
    .await;
    // Neither marking it, nor renaming the privileged account to free its name, nor
    // changing how the protected account becomes root.
    for (id, body) in [
        (&aaa, json!({"privileged": true})),
        (&aaa, json!({"privileged": true, "totp": "123456"})),
        (&ops, json!({"username": "zzz"})),
        (&ops, json!({"options": {"become": "su"}})),
        (&ops, json!({"options": {"shell": "/bin/bash"}})),
    ] {
        let (status, out) = call(
            &app,
            &olga,
            Method::PATCH,
            &format!("/api/v1/accounts/{id}"),
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (status, out["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{body} {out}"
        );
    }
    let acct = ok(
        &app,
        &admin,
        Method::GET,
        &format!("/api/v1/accounts/{ops}"),
        None,
        200,
    )
    .await;
    assert_eq!(
        (
            acct["username"].as_str(),
            acct["options"]["become"].as_str()
        ),
        (Some("ops"), Some("sudo")),
        "nothing was written"
    );

    // An administrator: a fresh code, audited with the old and new values.
    let authenticator = Authenticator::enrol(&app, &admin, clock.clone()).await;
    let path = format!("/api/v1/accounts/{ops}");
    let (status, out) = call(
        &app,
        &admin,
        Method::PATCH,
        &path,
        Some(json!({"username": "zzz"})),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].as_str()),
        (401, Some("totp_required"))
    );
    let renamed = ok(
        &app,
        &admin,
        Method::PATCH,
        &path,
        Some(
            json!({"username": "ops2", "options": {"become": "sudo", "shell": "/bin/bash"},
                    "totp": authenticator.fresh_code()}),
        ),
        200,
    )
    .await;
    assert_eq!(renamed["username"], "ops2");
    let marked = ok(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/accounts/{aaa}"),
        Some(json!({"privileged": true, "totp": authenticator.fresh_code()})),
        200,
    )
    .await;
    assert_eq!(marked["privileged"], true);
    let audit = audit_text(&app, &admin).await;
    assert!(audit.contains("account.protect"), "{audit}");
    assert!(audit.contains("username ops -> ops2"), "{audit}");
    assert!(audit.contains("shell /bin/sh -> /bin/bash"), "{audit}");
    assert!(audit.contains("privileged false -> true"), "{audit}");

    // A key other than the pinned one: the operator cannot accept it.
    let old_fp = host.host_key_fingerprint().to_owned();
    let new_fp = host.restart_with_new_host_key().await.unwrap();
    let tested = ok(
        &app,
        &olga,
        Method::POST,
        &format!("/api/v1/assets/{asset}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(
        tested["host_key_status"], "fingerprint_conflict",
        "{tested}"
    );
    for (path, body) in [
        (
            format!("/api/v1/assets/{asset}/host-key/acknowledge"),
            json!({"fingerprint": new_fp}),
        ),
        (
            "/api/v1/assets/host-keys/acknowledge".to_owned(),
            json!({"asset_ids": [asset]}),
        ),
    ] {
        let (status, out) = call(&app, &olga, Method::POST, &path, Some(body)).await;
        assert_eq!(
            (status, out["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{out}"
        );
    }
    let a = ok(
        &app,
        &admin,
        Method::GET,
        &format!("/api/v1/assets/{asset}"),
        None,
        200,
    )
    .await;
    assert_eq!(a["host_key_fingerprint"], old_fp.as_str());
    let path = format!("/api/v1/assets/{asset}/host-key/acknowledge");
    let (status, _) = call(&app, &admin, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(status, 401);
    let a = ok(
        &app,
        &admin,
        Method::POST,
        &path,
        Some(json!({"fingerprint": new_fp, "totp": authenticator.fresh_code()})),
        200,
    )
    .await;
    assert_eq!(a["host_key_status"], "verified");
    assert_eq!(a["host_key_fingerprint"], new_fp.as_str());

    // A first key: whoever sets up an empty asset vouches for it; once the asset holds
    // accounts, their secrets are at stake and the same rule applies.
    let mut first_contact = Vec::new();
    for name in ["empty", "filled"] {
        let id = ok(
            &app,
            &olga,
            Method::POST,
            "/api/v1/assets",
            Some(
                json!({"name": name, "address": host.address(), "port": host.port(),
                        "platform": "linux"}),
            ),
            201,
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        ok(
            &app,
            &olga,
            Method::POST,
            &format!("/api/v1/assets/{id}/test"),
            None,
            200,
        )
        .await;
        first_contact.push(id);
    }
    account(
        &app,
        &admin,
        &first_contact[1],
        "aaa",
        "canary-Operator-Own-7e",
        false,
        json!({}),
    )
    .await;
    let (status, out) = call(
        &app,
        &olga,
        Method::POST,
        &format!("/api/v1/assets/{}/host-key/acknowledge", first_contact[1]),
        Some(json!({"fingerprint": new_fp})),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{out}"
    );
    let (status, out) = call(
        &app,
        &olga,
        Method::POST,
        "/api/v1/assets/host-keys/acknowledge",
        Some(json!({"asset_ids": first_contact})),
    )
    .await;
    assert_eq!(status, 403, "all or nothing: {out}");
    let a = ok(
        &app,
        &olga,
        Method::POST,
        &format!("/api/v1/assets/{}/host-key/acknowledge", first_contact[0]),
        Some(json!({"fingerprint": new_fp})),
        200,
    )
    .await;
    assert_eq!(a["host_key_status"], "verified");
    app.stop().await;
}

/// Sends the request and asserts it is refused with `expected` (status, error code).
async fn refused(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: (u16, &str),
) {
    let (status, out) = call(app, token, method, path, body).await;
    assert_eq!(
        (status, out["error"]["code"].as_str()),
        (expected.0, Some(expected.1)),
        "{path}: {out}"
    );
}
