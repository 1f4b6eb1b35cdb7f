//! The inventory against real targets: SSH host keys pinned, acknowledged and refused when
//! they change (before any credential is sent); accounts verified on real sshd hosts, a
//! private PostgreSQL cluster and MariaDB; domains scoping every list and lookup; reveal with
//! permission and a fresh TOTP code; bad input refused with nothing stored.

use super::support::{call, ok, user, Authenticator};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::logs::LogCapture;
use tumbler_testkit::mariadb::MariaDbScratch;
use tumbler_testkit::pg_cluster::PgCluster;
use tumbler_testkit::sshd::{SshHost, TestUser};

const ALICE_PASSWORD: &str = "canary-Alice-7f3e9b21-pass";

async fn admin(app: &TestApp) -> String {
    app.activate_admin().await;
    app.admin_token().await
}

async fn asset(app: &TestApp, token: &str, body: Value) -> Value {
    ok(app, token, Method::POST, "/api/v1/assets", Some(body), 201).await
}

async fn account(
    app: &TestApp,
    token: &str,
    asset_id: &str,
    username: &str,
    secret: &str,
) -> String {
    let body = ok(
        app,
        token,
        Method::POST,
        "/api/v1/accounts",
        Some(json!({"asset_id": asset_id, "username": username, "secret": secret})),
        201,
    )
    .await;
    assert!(body.get("secret").is_none(), "no secret in answers: {body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn verify(app: &TestApp, token: &str, account_id: &str) -> Value {
    ok(
        app,
        token,
        Method::POST,
        &format!("/api/v1/accounts/{account_id}/verify"),
        None,
        200,
    )
    .await
}

async fn set_secret(app: &TestApp, token: &str, account_id: &str, secret: &str) {
    ok(
        app,
        token,
        Method::PATCH,
        &format!("/api/v1/accounts/{account_id}"),
        Some(json!({"secret": secret})),
        200,
    )
    .await;
}

async fn get_asset(app: &TestApp, token: &str, id: &str) -> Value {
    ok(
        app,
        token,
        Method::GET,
        &format!("/api/v1/assets/{id}"),
        None,
        200,
    )
    .await
}

#[tokio::test]
async fn ssh_host_keys_are_pinned_acknowledged_and_a_changed_key_stops_the_login() {
    let logs = LogCapture::install();
    let mut host = SshHost::start(&[TestUser::new("alice", ALICE_PASSWORD)])
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let token = admin(&app).await;
    let web = asset(
        &app,
        &token,
        json!({"name": "web-1", "address": host.address(), "port": host.port(), "platform": "linux", "nodes": ["/Default/Prod/Web"]}),
    )
    .await;
    let asset_id = web["id"].as_str().unwrap().to_owned();
    assert_eq!(web["host_key_status"], "unverified");
    assert_eq!(web["host_key_fingerprint"], Value::Null);
    assert_eq!(web["connectivity"], "unknown");
    assert_eq!(web["nodes"], json!(["/Default/Prod/Web"]));
    let alice = account(&app, &token, &asset_id, "alice", ALICE_PASSWORD).await;

    // First contact pins the key as unverified; no password goes to an unverified host.
    let out = verify(&app, &token, &alice).await;
    assert_eq!(
        (out["ok"].as_bool(), out["code"].as_str()),
        (Some(false), Some("host_key_unverified"))
    );
    let a = get_asset(&app, &token, &asset_id).await;
    assert_eq!(a["host_key_fingerprint"], host.host_key_fingerprint());
    assert_eq!(a["host_key_status"], "unverified");
    assert_eq!(a["connectivity"], "ok");
    assert!(
        !host.auth_log().contains("alice"),
        "no authentication was attempted: {}",
        host.auth_log()
    );

    // The asset holds an account already: only someone who may reveal, with a fresh code,
    // vouches for its first key.
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{asset_id}/host-key/acknowledge"),
        Some(json!({"fingerprint": host.host_key_fingerprint()})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("mfa_not_enrolled")),
        "{body}"
    );
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;
    // Acknowledged, the right password verifies and the wrong one fails.
    let a = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{asset_id}/host-key/acknowledge"),
        Some(json!({"fingerprint": host.host_key_fingerprint(),
                    "totp": authenticator.fresh_code()})),
        200,
    )
    .await;
    assert_eq!(a["host_key_status"], "verified");
    let out = verify(&app, &token, &alice).await;
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(out["account"]["status"], "ok");
    assert!(out["account"]["last_verified_at"].is_string());
    host.wait_for_auth_log("accepted login", Duration::from_secs(10), |l| {
        l.contains("Accepted password for alice")
    })
    .await
    .unwrap();
    set_secret(&app, &token, &alice, "wrong-password-for-alice").await;
    let out = verify(&app, &token, &alice).await;
    assert_eq!(
        (out["ok"].as_bool(), out["code"].as_str()),
        (Some(false), Some("auth_failed"))
    );
    assert_eq!(out["account"]["status"], "failed");
    set_secret(&app, &token, &alice, ALICE_PASSWORD).await;

    // The host comes back with another key: stopped before authentication.
    let seen = host.auth_log().len();
    let old_fp = host.host_key_fingerprint().to_owned();
    let new_fp = host.restart_with_new_host_key().await.unwrap();
    assert_ne!(old_fp, new_fp);
    let out = verify(&app, &token, &alice).await;
    assert_eq!(
        (out["ok"].as_bool(), out["code"].as_str()),
        (Some(false), Some("host_key_mismatch"))
    );
    let a = get_asset(&app, &token, &asset_id).await;
    assert_eq!(a["host_key_status"], "fingerprint_conflict");
    assert_eq!(a["host_key_fingerprint"], old_fp.as_str());
    assert_eq!(a["presented_host_key_fingerprint"], new_fp.as_str());
    let since = host.auth_log()[seen..].to_owned();
    assert!(
        !since.contains("alice") && !since.contains("password") && !since.contains("Accepted"),
        "no authentication reached the new host: {since}"
    );
    let (status, body) = call(
        &app,
        &token,
        Method::GET,
        "/api/v1/assets?host_key_status=fingerprint_conflict",
        None,
    )
    .await;
    assert_eq!((status, body["total"].as_i64()), (200, Some(1)));

    // A key other than the pinned one: only someone who may reveal, with a fresh code.
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets/host-keys/acknowledge",
        Some(json!({"asset_ids": [asset_id]})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("totp_required")),
        "{body}"
    );
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets/host-keys/acknowledge",
        Some(json!({"asset_ids": [asset_id], "totp": authenticator.fresh_code()})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["host_key_fingerprint"], new_fp.as_str());
    assert_eq!(body["items"][0]["host_key_status"], "verified");
    let out = verify(&app, &token, &alice).await;
    assert_eq!(out["ok"], true, "{out}");

    // The audit names versions and fingerprints, never the password; neither do the logs.
    let (_, audit) = call(&app, &token, Method::GET, "/api/v1/audit?limit=500", None).await;
    let text = audit.to_string();
    assert!(text.contains("asset.host_key.acknowledge"));
    assert!(text.contains(&new_fp));
    assert!(text.contains("account.verify"));
    assert!(!text.contains(ALICE_PASSWORD));
    assert!(!logs.contents().contains(ALICE_PASSWORD));
    app.stop().await;
}

#[tokio::test]
async fn testing_an_asset_pins_its_key_and_trust_on_first_use_sends_passwords() {
    let host = SshHost::start(&[TestUser::new("alice", ALICE_PASSWORD)])
        .await
        .unwrap();
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let a = asset(
        &app,
        &token,
        json!({"name": "web-2", "address": host.address(), "port": host.port(), "platform": "linux"}),
    )
    .await;
    let id = a["id"].as_str().unwrap().to_owned();
    assert_eq!(a["nodes"], json!(["/Default"]));
    let tested = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(tested["connectivity"], "ok");
    assert_eq!(tested["host_key_fingerprint"], host.host_key_fingerprint());
    assert_eq!(tested["host_key_status"], "unverified");
    assert!(tested["connectivity_checked_at"].is_string());

    let alice = account(&app, &token, &id, "alice", ALICE_PASSWORD).await;
    ok(
        &app,
        &token,
        Method::PUT,
        "/api/v1/settings/inventory",
        Some(json!({"trust_on_first_use_for_passwords": true})),
        200,
    )
    .await;
    let out = verify(&app, &token, &alice).await;
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(
        get_asset(&app, &token, &id).await["host_key_status"],
        "unverified"
    );

    // A host that is down is unreachable, and says why.
    drop(host);
    let tested = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(tested["connectivity"], "unreachable");
    assert!(!tested["connectivity_error"].as_str().unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn postgres_accounts_verify_against_a_private_cluster() {
    let cluster = PgCluster::start().await;
    let password = "canary-Pg-1d2c3b4a-pass";
    cluster.create_role("app_owner", password).await;
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let a = asset(
        &app,
        &token,
        json!({"name": "pg-1", "address": "127.0.0.1", "port": cluster.port(), "platform": "postgresql"}),
    )
    .await;
    let id = a["id"].as_str().unwrap();
    let acct = account(&app, &token, id, "app_owner", password).await;
    let out = verify(&app, &token, &acct).await;
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(out["account"]["options"]["database"], "postgres");
    set_secret(&app, &token, &acct, "not-the-password").await;
    let out = verify(&app, &token, &acct).await;
    assert_eq!(
        (out["ok"].as_bool(), out["code"].as_str()),
        (Some(false), Some("auth_failed"))
    );
    assert_eq!(out["account"]["status"], "failed");
    assert!(
        !cluster.log_contents().contains(password),
        "never in the server's statement log"
    );
    app.stop().await;
}

#[tokio::test]
async fn mariadb_accounts_verify_with_the_right_password_only() {
    let name = format!("tmb_v{}", std::process::id());
    let password = "canary-Maria-5e6f7a8b-pass";
    let db = MariaDbScratch::create_with_password(&name, password).await;
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let a = asset(
        &app,
        &token,
        json!({"name": "maria-1", "address": db.host(), "port": db.port(), "platform": "mysql"}),
    )
    .await;
    let acct = account(&app, &token, a["id"].as_str().unwrap(), db.user(), password).await;
    let out = verify(&app, &token, &acct).await;
    assert_eq!(out["ok"], true, "{out}");
    set_secret(&app, &token, &acct, "not-the-password").await;
    let out = verify(&app, &token, &acct).await;
    assert_eq!(
        (out["ok"].as_bool(), out["code"].as_str()),
        (Some(false), Some("auth_failed"))
    );
    app.stop().await;
    db.drop_all().await;
}

#[tokio::test]
async fn users_see_verify_and_reveal_only_assets_of_their_domains() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
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
    let me = ok(&app, &admin, Method::GET, "/api/v1/users/me", None, 200).await;
    let admin_id = me["id"].as_str().unwrap();
    ok(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/users/{admin_id}"),
        Some(json!({"domains": ["Default", "Dev", "Ops"]})),
        200,
    )
    .await;
    // The administrator works in Default; to manage Dev and Ops too, all assigned domains.
    ok(
        &app,
        &admin,
        Method::PUT,
        "/api/v1/users/me/object-visibility",
        Some(json!({"all_domains": true})),
        204,
    )
    .await;
    let mut accounts = std::collections::HashMap::new();
    for (name, domain) in [("dev-1", "Dev"), ("ops-1", "Ops"), ("def-1", "Default")] {
        let a = asset(
            &app,
            &admin,
            json!({"name": name, "address": "127.0.0.1", "port": 1, "platform": "linux", "domain": domain}),
        )
        .await;
        assert_eq!(a["domain"], domain);
        let id = account(
            &app,
            &admin,
            a["id"].as_str().unwrap(),
            "svc",
            &format!("secret-of-{name}"),
        )
        .await;
        accounts.insert(name, (a["id"].as_str().unwrap().to_owned(), id));
    }
    let (status, body) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/assets",
        Some(
            json!({"name": "x", "address": "127.0.0.1", "platform": "linux", "domain": "Nowhere"}),
        ),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("domain_not_assigned"))
    );

    let dana = user(&app, &admin, "dana", &["admin"], &["Dev", "Ops"]).await;
    let names = |body: &Value| -> Vec<String> {
        let mut n: Vec<String> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                i["name"]
                    .as_str()
                    .or(i["asset_name"].as_str())
                    .unwrap()
                    .to_owned()
            })
            .collect();
        n.sort();
        n
    };
    // One active domain (the first assigned) by default.
    let list = ok(&app, &dana, Method::GET, "/api/v1/assets", None, 200).await;
    assert_eq!(names(&list), ["dev-1"]);
    for hidden in ["ops-1", "def-1"] {
        let (asset_id, account_id) = &accounts[hidden];
        let (status, _) = call(
            &app,
            &dana,
            Method::GET,
            &format!("/api/v1/assets/{asset_id}"),
            None,
        )
        .await;
        assert_eq!(status, 404);
        let (status, _) = call(
            &app,
            &dana,
            Method::POST,
            &format!("/api/v1/accounts/{account_id}/verify"),
            None,
        )
        .await;
        assert_eq!(status, 404);
    }
    // All assigned domains, and still nothing else.
    ok(
        &app,
        &dana,
        Method::PUT,
        "/api/v1/users/me/object-visibility",
        Some(json!({"all_domains": true})),
        204,
    )
    .await;
    let list = ok(&app, &dana, Method::GET, "/api/v1/assets", None, 200).await;
    assert_eq!(names(&list), ["dev-1", "ops-1"]);
    let list = ok(&app, &dana, Method::GET, "/api/v1/accounts", None, 200).await;
    assert_eq!(names(&list), ["dev-1", "ops-1"]);
    let nodes = ok(&app, &dana, Method::GET, "/api/v1/nodes", None, 200).await;
    assert_eq!(nodes["items"][0]["path"], "/Default");
    assert_eq!(
        nodes["items"][0]["assets"], 2,
        "counts cover visible domains only"
    );

    // Reveal: needs TOTP, a fresh code each time, and only within the domains.
    let (dev_asset, dev_account) = &accounts["dev-1"];
    let reveal = |account: &str, totp: Option<String>| {
        let account = account.to_owned();
        let app = &app;
        let dana = dana.clone();
        async move {
            call(
                app,
                &dana,
                Method::POST,
                &format!("/api/v1/accounts/{account}/reveal"),
                Some(json!({"totp": totp})),
            )
            .await
        }
    };
    let (status, body) = reveal(dev_account, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("mfa_not_enrolled"))
    );
    let authenticator = Authenticator::enrol(&app, &dana, clock.clone()).await;
    let (status, body) = reveal(dev_account, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("totp_required"))
    );
    let code = authenticator.fresh_code();
    let (status, body) = reveal(dev_account, Some(code.clone())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["secret"], "secret-of-dev-1");
    let (status, body) = reveal(dev_account, Some(code)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_totp"))
    );
    let (status, _) = reveal(&accounts["def-1"].1, Some(authenticator.fresh_code())).await;
    assert_eq!(status, 404);
    let (_, audit) = call(
        &app,
        &admin,
        Method::GET,
        "/api/v1/audit?action=account.reveal",
        None,
    )
    .await;
    let reveals: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "success")
        .collect();
    assert_eq!(reveals.len(), 1, "one reveal succeeded: {audit}");
    assert_eq!(reveals[0]["actor"], "dana");
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "failure"),
        "the reused code is audited as a failed reveal: {audit}"
    );
    assert!(!audit.to_string().contains("secret-of-dev-1"));

    // Operators and auditors never reveal; auditors do not change anything.
    let olga = user(&app, &admin, "olga", &["operator"], &["Dev"]).await;
    let audrey = user(&app, &admin, "audrey", &["auditor"], &["Dev"]).await;
    for t in [&olga, &audrey] {
        let (status, body) = call(
            &app,
            t,
            Method::POST,
            &format!("/api/v1/accounts/{dev_account}/reveal"),
            Some(json!({"totp": "123456"})),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("forbidden"))
        );
    }
    let list = ok(&app, &audrey, Method::GET, "/api/v1/assets", None, 200).await;
    assert_eq!(names(&list), ["dev-1"]);
    let (status, _) = call(
        &app,
        &audrey,
        Method::DELETE,
        &format!("/api/v1/assets/{dev_asset}"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &app,
        &audrey,
        Method::POST,
        &format!("/api/v1/accounts/{dev_account}/verify"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_with_its_field_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    for (body, field) in [
        (
            json!({"name": "a", "address": "a b", "platform": "linux"}),
            Some("address"),
        ),
        (
            json!({"name": "a", "address": "10.0.0.1", "port": 0, "platform": "linux"}),
            Some("port"),
        ),
        (
            json!({"name": "a", "address": "10.0.0.1", "port": 70000, "platform": "linux"}),
            Some("port"),
        ),
        (
            json!({"name": "a", "address": "10.0.0.1", "platform": "linux", "nodes": ["Default"]}),
            Some("node"),
        ),
        (
            json!({"name": "a", "address": "10.0.0.1", "platform": "linux", "host_key_fingerprint": "MD5:aa"}),
            Some("host_key_fingerprint"),
        ),
        (
            json!({"name": "", "address": "10.0.0.1", "platform": "linux"}),
            Some("name"),
        ),
        (
            json!({"name": "a", "address": "10.0.0.1", "platform": "windows"}),
            None,
        ),
    ] {
        let (status, err) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/assets",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{body} -> {err}");
        assert_eq!(err["error"]["details"]["field"].as_str(), field, "{err}");
        assert!(
            err["error"]["code"] == "invalid_request" || err["error"]["code"] == "unknown_platform"
        );
    }
    let (status, err) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": 5})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (422, Some("invalid_json"))
    );
    let list = ok(&app, &token, Method::GET, "/api/v1/assets", None, 200).await;
    assert_eq!(list["total"], 0, "nothing half-stored");
    let nodes = ok(&app, &token, Method::GET, "/api/v1/nodes", None, 200).await;
    assert_eq!(nodes["total"], 0, "no node created by a refused asset");

    let a = asset(
        &app,
        &token,
        json!({"name": "srv", "address": "srv.example.com", "platform": "linux"}),
    )
    .await;
    assert_eq!(a["port"], 22, "the platform's default port");
    let id = a["id"].as_str().unwrap();
    let (status, err) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "srv", "address": "10.0.0.2", "platform": "linux"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("asset_exists"))
    );
    for username in [
        "a\nb", "a:b", "-rf", "a;b", "$(id)", "a b", "`id`", "a|b", "",
    ] {
        let (status, err) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"asset_id": id, "username": username, "secret": "x-secret"})),
        )
        .await;
        assert_eq!(status, 400, "{username:?}: {err}");
        assert_eq!(err["error"]["details"]["field"], "username", "{username:?}");
    }
    for (body, field) in [
        (
            json!({"asset_id": id, "username": "u", "secret": "x", "options": {"become": "doas"}}),
            "options",
        ),
        (
            json!({"asset_id": id, "username": "u", "secret": "x", "options": {"shell": "sh;id"}}),
            "options",
        ),
        (
            json!({"asset_id": id, "username": "u", "secret": "x", "options": {"database": "d"}}),
            "options",
        ),
        (
            json!({"asset_id": id, "username": "u", "secret": "not a key", "secret_type": "ssh_key"}),
            "secret",
        ),
        (
            json!({"asset_id": id, "username": "u", "secret": "two\nlines"}),
            "secret",
        ),
        (
            json!({"asset_id": id, "username": "u", "secret": ""}),
            "secret",
        ),
    ] {
        let (status, err) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/accounts",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{body} -> {err}");
        assert_eq!(err["error"]["details"]["field"], field, "{err}");
    }
    let list = ok(&app, &token, Method::GET, "/api/v1/accounts", None, 200).await;
    assert_eq!(list["total"], 0, "no account half-stored");
    let (status, err) = call(
        &app,
        &token,
        Method::GET,
        "/api/v1/assets?connectivity=bogus",
        None,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
    app.stop().await;
}

#[tokio::test]
async fn nodes_form_a_tree_with_counts_and_refuse_deletion_while_they_hold_assets() {
    let app = TestApp::spawn_on(StoreKind::Postgres, Arc::new(tumbler_domain::SystemClock)).await;
    let token = admin(&app).await;
    let db = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/nodes",
        Some(json!({"path": "/Default/Prod/DB"})),
        201,
    )
    .await;
    assert_eq!(db["path"], "/Default/Prod/DB");
    let (status, err) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/nodes",
        Some(json!({"path": "/Default/Prod/DB"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("node_exists"))
    );
    asset(&app, &token, json!({"name": "db-1", "address": "10.0.0.5", "platform": "postgresql", "nodes": ["/Default/Prod/DB"]})).await;
    let nodes = ok(&app, &token, Method::GET, "/api/v1/nodes", None, 200).await;
    let by_path = |path: &str| -> Value {
        nodes["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["path"] == path)
            .cloned()
            .unwrap_or_else(|| panic!("{path} in {nodes}"))
    };
    assert_eq!(by_path("/Default/Prod")["assets"], 0);
    assert_eq!(by_path("/Default/Prod")["assets_in_subtree"], 1);
    assert_eq!(by_path("/Default/Prod/DB")["assets"], 1);
    let prod_id = by_path("/Default/Prod")["id"].as_str().unwrap().to_owned();
    let db_id = db["id"].as_str().unwrap();

    let (status, err) = call(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/nodes/{prod_id}"),
        None,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("node_not_empty"))
    );
    let renamed = ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/nodes/{db_id}"),
        Some(json!({"name": "Databases"})),
        200,
    )
    .await;
    assert_eq!(renamed["path"], "/Default/Prod/Databases");
    let moved = ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/nodes/{db_id}"),
        Some(json!({"parent": "/"})),
        200,
    )
    .await;
    assert_eq!(moved["path"], "/Databases");
    let (status, _) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/nodes/{prod_id}"),
        Some(json!({"parent": "/Default/Prod"})),
    )
    .await;
    assert_eq!(status, 400, "a node cannot move below itself");
    let list = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/assets?node=/Databases",
        None,
        200,
    )
    .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["nodes"], json!(["/Databases"]));
    let list = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/assets?node=/Default",
        None,
        200,
    )
    .await;
    assert_eq!(list["total"], 0);
    ok(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/nodes/{prod_id}"),
        None,
        204,
    )
    .await;
    let nodes = ok(&app, &token, Method::GET, "/api/v1/nodes", None, 200).await;
    let paths: Vec<&str> = nodes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/Databases", "/Default"]);
    app.stop().await;
}

/// Runs redis-cli commands, read from standard input (never arguments), on the machine's Redis.
fn redis_cli(commands: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", "6379"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(commands.as_bytes())
        .unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
}

#[tokio::test]
async fn redis_acl_users_verify_with_the_right_password_only() {
    let user = format!("tmb_verify_{}", std::process::id());
    let password = "canary-Redis-0a1b2c3d-pass";
    assert!(redis_cli(&format!("ACL SETUSER {user} on >{password} ~* +ping\n")).contains("OK"));
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let a = asset(
        &app,
        &token,
        json!({"name": "cache-1", "address": "127.0.0.1", "platform": "redis"}),
    )
    .await;
    assert_eq!(a["port"], 6379);
    let acct = account(&app, &token, a["id"].as_str().unwrap(), &user, password).await;
    let out = verify(&app, &token, &acct).await;
    assert_eq!(out["ok"], true, "{out}");
    set_secret(&app, &token, &acct, "not-the-password").await;
    let out = verify(&app, &token, &acct).await;
    assert_eq!(
        (out["ok"].as_bool(), out["code"].as_str()),
        (Some(false), Some("auth_failed"))
    );
    redis_cli(&format!("ACL DELUSER {user}\n"));
    app.stop().await;
}
