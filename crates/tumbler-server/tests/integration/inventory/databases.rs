//! Database accounts verify against real servers with the right password only: a private
//! PostgreSQL cluster, MariaDB and Redis ACL users.

use super::{account, admin, asset, set_secret, verify};
use serde_json::json;
use tumbler_testkit::app::TestApp;
use tumbler_testkit::mariadb::MariaDbScratch;
use tumbler_testkit::pg_cluster::PgCluster;

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
    let id = &a.id;
    let acct = account(&app, &token, id, "app_owner", password).await;
    let out = verify(&app, &token, &acct).await;
    assert!(out.ok, "{out:?}");
    assert_eq!(
        out.account.options.get("database").map(String::as_str),
        Some("postgres")
    );
    set_secret(&app, &token, &acct, "not-the-password").await;
    let out = verify(&app, &token, &acct).await;
    assert_eq!((out.ok, out.code.as_deref()), (false, Some("auth_failed")));
    assert_eq!(out.account.status, "failed");
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
    let acct = account(&app, &token, &a.id, db.user(), password).await;
    let out = verify(&app, &token, &acct).await;
    assert!(out.ok, "{out:?}");
    set_secret(&app, &token, &acct, "not-the-password").await;
    let out = verify(&app, &token, &acct).await;
    assert_eq!((out.ok, out.code.as_deref()), (false, Some("auth_failed")));
    app.stop().await;
    db.drop_all().await;
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
    assert_eq!(a.port, 6379);
    let acct = account(&app, &token, &a.id, &user, password).await;
    let out = verify(&app, &token, &acct).await;
    assert!(out.ok, "{out:?}");
    set_secret(&app, &token, &acct, "not-the-password").await;
    let out = verify(&app, &token, &acct).await;
    assert_eq!((out.ok, out.code.as_deref()), (false, Some("auth_failed")));
    redis_cli(&format!("ACL DELUSER {user}\n"));
    app.stop().await;
}
