//! Host-side admin commands: first start, `admin reset-password` (with `--reset-totp`),
//! `check-config`, backup and restore, `migrate`, serving on PostgreSQL.

use super::{basic_me, stderr, stdout, tumbler, Server, BIN, WAIT};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::process::Output;
use std::time::Duration;
use std::time::Instant;

#[tokio::test]
async fn first_start_creates_the_store_and_key_and_prints_the_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let password = server
        .initial_password
        .clone()
        .expect("first start prints the admin password");
    let key = data.join("master.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert!(data.join("tumbler.db").exists());
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(format!("{}/healthz", server.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Ready once the recovery at start is done (at once on a new store).
    let deadline = Instant::now() + WAIT;
    loop {
        let status = client
            .get(format!("{}/readyz", server.url))
            .send()
            .await
            .unwrap()
            .status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let me: tumbler_api_types::auth::MeOut = client
        .get(format!("{}/api/v1/users/me", server.url))
        .basic_auth("admin", Some(&password))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(me.user.must_change_password);
    let (status, log) = server.stop();
    assert!(
        status.success(),
        "SIGTERM ends the server cleanly: {status:?}\n{log}"
    );
    assert!(log.contains("stopped"), "{log}");
    assert!(
        !log.contains(&password),
        "the one-time password never reaches the log"
    );

    let again = Server::start(&data, &[]);
    assert!(
        again.initial_password.is_none(),
        "only the first start creates admin"
    );
    again.stop();
}

#[tokio::test]
async fn reset_password_recovers_access_from_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let old = server.initial_password.clone().unwrap();
    let out = tumbler(&["admin", "reset-password", "admin"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let new = stdout(&out)
        .lines()
        .find_map(|l| {
            l.strip_prefix("One-time password for admin: ")
                .map(str::to_owned)
        })
        .unwrap();
    assert_ne!(new, old);
    assert_eq!(basic_me(&server.url, "admin", &new).await, 200);
    assert_eq!(basic_me(&server.url, "admin", &old).await, 401);
    let out = tumbler(&["admin", "reset-password", "nobody"], dir.path());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no such user"), "{}", stderr(&out));
    server.stop();
}

#[test]
fn check_config_names_unknown_keys_and_variables() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.toml");
    std::fs::write(&file, "[database]\nurll = \"x\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("urll"), "{}", stderr(&out));

    let out = Command::new(BIN)
        .arg("check-config")
        .env("TUMBLER_FOO__BAR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("TUMBLER_FOO__BAR"));

    std::fs::write(
        &file,
        "[database]\nurl = \"postgres://tumbler:s3cret-pw@db.example/tumbler\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("postgres://tumbler:***@db.example/tumbler"));
    assert!(!stdout(&out).contains("s3cret-pw"));

    // The help lists every variable, from the configuration's structs.
    let out = Command::new(BIN)
        .args(["check-config", "--help"])
        .output()
        .unwrap();
    let help = stdout(&out);
    for var in [
        "TUMBLER_DATABASE__URL",
        "TUMBLER_AUTH__SENSITIVE_WINDOW_MINUTES",
        "TUMBLER_AUDIT__EXPORT_MAX_ROWS",
        "TUMBLER_CHANGE_SECRET__TIME_ZONE",
    ] {
        assert!(help.contains(var), "{var} in {help}");
    }
}

#[tokio::test]
async fn backup_while_running_and_restore_after_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let pw = server.initial_password.clone().unwrap();
    let backup = dir.path().join("backup.db");
    let out = tumbler(
        &["admin", "backup", "--out", backup.to_str().unwrap()],
        &data,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let key_hex = std::fs::read_to_string(data.join("master.key")).unwrap();
    let bytes = std::fs::read(&backup).unwrap();
    assert!(
        !bytes.windows(64).any(|w| w == key_hex.trim().as_bytes()),
        "the backup never holds the master key"
    );
    server.stop();

    let out = tumbler(&["admin", "reset-password", "admin"], &data);
    assert!(out.status.success());
    let out = tumbler(
        &["admin", "restore", "--from", backup.to_str().unwrap()],
        &data,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let server = Server::start(&data, &[]);
    assert_eq!(
        basic_me(&server.url, "admin", &pw).await,
        200,
        "the password from before the reset works again"
    );
    server.stop();
}

#[test]
fn migrate_applies_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = tumbler(&["migrate"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).starts_with("Applied 0"), "{}", stdout(&out));
    let out = tumbler(&["migrate"], dir.path());
    assert!(
        stdout(&out).starts_with("Applied 0 migration(s)"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn serves_on_postgresql_from_the_environment() {
    let db = tumbler_testkit::postgres_store::PgStoreDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let url = db.url();
    let server = Server::start(dir.path(), &[("TUMBLER_DATABASE__URL", url.as_str())]);
    let pw = server.initial_password.clone().unwrap();
    assert_eq!(basic_me(&server.url, "admin", &pw).await, 200);
    assert!(
        !dir.path().join("tumbler.db").exists(),
        "no SQLite file on PostgreSQL"
    );
    let (status, _) = server.stop();
    assert!(status.success());
    db.drop_db().await;
}

/// The current TOTP code for a base32 secret.
fn totp_now(secret_b32: &str) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut secret) = (0u32, 0u64, Vec::new());
    for c in secret_b32.bytes() {
        let v = alphabet.iter().position(|a| *a == c).unwrap() as u64;
        value = (value << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            secret.push(((value >> bits) & 0xff) as u8);
        }
    }
    let now = chrono::Utc::now();
    tumbler_domain::totp::code_at(&secret, tumbler_domain::totp::step_of(now))
}

#[tokio::test]
async fn reset_password_with_reset_totp_lets_an_administrator_who_lost_the_authenticator_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let initial = server.initial_password.clone().unwrap();
    let client = reqwest::Client::new();
    let password = "Correct-Horse-Battery-Staple-42";
    let res = client
        .post(format!("{}/api/v1/users/me/password", server.url))
        .basic_auth("admin", Some(&initial))
        .json(&serde_json::json!({"old_password": initial, "new_password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let token: tumbler_api_types::users::CreatedToken = client
        .post(format!("{}/api/v1/users/me/tokens", server.url))
        .basic_auth("admin", Some(password))
        .json(&serde_json::json!({"name": "t"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token.token;
    let begun: tumbler_api_types::totp::EnrolmentOut = client
        .post(format!("{}/api/v1/users/me/totp", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"current_password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = client
        .post(format!("{}/api/v1/users/me/totp/confirm", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"code": totp_now(&begun.secret)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let login = |pw: String| {
        let url = format!("{}/api/v1/auth/login", server.url);
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&serde_json::json!({"username": "admin", "password": pw}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_ne!(
        login(password.to_owned()).await,
        200,
        "the authenticator is needed"
    );

    let new_password = |out: &Output| {
        stdout(out)
            .lines()
            .find_map(|l| {
                l.strip_prefix("One-time password for admin: ")
                    .map(str::to_owned)
            })
            .unwrap()
    };
    // Without the flag the second factor stays: the lost authenticator still locks them out.
    let out = tumbler(&["admin", "reset-password", "admin"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(login(new_password(&out)).await, 200);

    let out = tumbler(
        &["admin", "reset-password", "admin", "--reset-totp"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("second factor is off"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        login(new_password(&out)).await,
        200,
        "back in with the password alone"
    );
    server.stop();

    // Audited, and the keyed chain holds.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!(
        "sqlite://{}",
        dir.path().join("tumbler.db").display()
    ))
    .await
    .unwrap();
    let resets: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor, detail FROM audit_events WHERE action = 'user.password.reset' ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        resets,
        [
            (
                "host".to_owned(),
                // The token `tumbler login` stored ends with the old password.
                "tokens_revoked=1 certificates_removed=0; second factor kept".to_owned()
            ),
            (
                "host".to_owned(),
                "tokens_revoked=0 certificates_removed=0; second factor reset".to_owned()
            )
        ]
    );
    let totp: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'user.totp.reset'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(totp, 1);
    pool.close().await;
    let out = tumbler(&["audit", "verify"], dir.path());
    assert!(out.status.success(), "{}", stdout(&out));
}
