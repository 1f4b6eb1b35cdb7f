//! A hostile host or network gets nothing (issue 14): no secret is written into an SSH session
//! whose host key nobody acknowledged, whatever the login method; database passwords go only
//! over verified TLS (or to loopback); uploaded key files cannot ask for an unbounded key
//! derivation, and nobody without the permission gets one decoded.

use super::change_secret::{
    account, admin, record_for, records, run, ssh_logs_in, task, APP_PASSWORD, OPS_PASSWORD,
};
use super::support::{call, ok, user, Authenticator};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_connectors::ssh::{encrypt_private_key, generate_key_pair, public_key_line};
use tumbler_domain::ids::AssetId;
use tumbler_domain::inventory::HostKeyStatus;
use tumbler_domain::ssh_key::KeyAlgorithm;
use tumbler_domain::ManualClock;
use tumbler_store::HostKeyState;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::pg_cluster::PgCluster;
use tumbler_testkit::sshd::{SshHost, TestUser};

const ROOT_PASSWORD: &str = "canary-Root-Su-Unverified-5b2e";

/// A Linux asset for the host, tested (its key pinned `unverified`) but never acknowledged.
async fn unverified_linux_asset(app: &TestApp, token: &str, name: &str, host: &SshHost) -> String {
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
    let tested = ok(
        app,
        token,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(tested["host_key_status"], "unverified", "{tested}");
    assert_eq!(tested["trust_on_first_use"], false, "{tested}");
    id
}

#[tokio::test]
async fn a_key_login_on_an_unverified_host_gets_no_su_password_and_no_chpasswd_line() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    host.set_password("root", ROOT_PASSWORD).await.unwrap();
    // The privileged account logs in with a key: before the fix only password logins were
    // held back on an unverified host key.
    let ops_key = generate_key_pair(KeyAlgorithm::Ed25519, "ops@tumbler").unwrap();
    host.authorize_key("ops", &public_key_line(&ops_key).unwrap())
        .await
        .unwrap();
    let asset = unverified_linux_asset(&app, &token, "unverified-host", &host).await;
    ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/accounts",
        Some(
            json!({"asset_id": asset, "username": "ops", "secret_type": "ssh_key",
                    "secret": ops_key.expose_secret(), "privileged": true,
                    "options": {"become": "su"}}),
        ),
        201,
    )
    .await;
    account(
        &app,
        &token,
        &asset,
        "root",
        ROOT_PASSWORD,
        false,
        json!({}),
    )
    .await;
    account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "rotate on an unverified host", "usernames": ["app1"],
               "asset_ids": [asset], "secret_strategy": "specified",
               "secret": "canary-New-Unverified-81c4"}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    let rs = records(&app, &token, e["id"].as_str().unwrap()).await;
    let rec = record_for(&rs, "app1");
    assert_eq!(rec["status"], "failed", "{rec}");
    assert_eq!(rec["reason_code"], "host_key_unverified", "{rec}");
    // The key login happened (sshd saw it) but nothing ran: no su, no chpasswd.
    let commands = host.command_log();
    assert!(!commands.contains("su root"), "{commands}");
    assert!(!commands.contains("chpasswd"), "{commands}");
    assert!(!commands.contains(ROOT_PASSWORD));
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    assert!(!ssh_logs_in(&host, "app1", "canary-New-Unverified-81c4").await);

    // Trust on first use for this asset is an administrator's decision.
    operators_may_not_patch(&app, &token, &asset, json!({"trust_on_first_use": true})).await;
    // With it on, the same run goes through the same unverified key.
    let patched = ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"trust_on_first_use": true})),
        200,
    )
    .await;
    assert_eq!(patched["trust_on_first_use"], true, "{patched}");
    assert_eq!(patched["host_key_status"], "unverified", "{patched}");
    let (_, audit) = call(
        &app,
        &token,
        Method::GET,
        "/api/v1/audit?action=asset.connection_security",
        None,
    )
    .await;
    let text = audit.to_string();
    assert!(text.contains("trust_on_first_use false -> true"), "{text}");
    let e = run(&app, &token, &task_id).await;
    assert_eq!(e["status"], "succeeded", "{e}");
    assert!(host.command_log().contains("chpasswd"));
    assert!(ssh_logs_in(&host, "app1", "canary-New-Unverified-81c4").await);
    assert!(!host.command_log().contains(ROOT_PASSWORD));
    app.stop().await;
}

#[tokio::test]
async fn a_key_based_device_pins_its_host_key_on_first_contact_and_gets_nothing_until_acknowledged()
{
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let token = admin(&app).await;
    // Accepting the first key of an asset that holds accounts takes a fresh code.
    let authenticator = Authenticator::enrol(&app, &token, clock).await;
    let mut host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = super::change_secret::linux_asset(&app, &token, "device", &host).await;
    account(
        &app,
        &token,
        &asset,
        "ops",
        OPS_PASSWORD,
        true,
        json!({"become": "sudo"}),
    )
    .await;
    account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    // The device switches to the system key (through the verified host key).
    let job = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{asset}/authentication"),
        Some(json!({"mode": "system_key", "admin_user": "netadmin", "create_user": true})),
        202,
    )
    .await;
    let job = super::device_keys::wait_for_job(&app, &token, job["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    // Its pin is gone (as after the asset moved): the next key login is a first contact.
    let mut tx = app.services.store.begin().await.unwrap();
    tx.set_asset_host_key(
        &AssetId::from_string(asset.clone()),
        &HostKeyState {
            fingerprint: None,
            presented: None,
            status: HostKeyStatus::Unverified,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let sudo_runs = |host: &SshHost| host.command_log().matches("sudo -S").count();
    let switched = sudo_runs(&host);
    let task_id = task(
        &app,
        &token,
        json!({"name": "rotate on a device", "usernames": ["app1"],
               "asset_ids": [asset], "secret_strategy": "specified",
               "secret": "canary-New-Device-0d3a"}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    let rs = records(&app, &token, e["id"].as_str().unwrap()).await;
    let rec = record_for(&rs, "app1");
    assert_eq!(rec["status"], "failed", "{rec}");
    assert_eq!(rec["reason_code"], "host_key_unverified", "{rec}");
    let get = |app: &TestApp| {
        let path = format!("/api/v1/assets/{asset}");
        let token = token.clone();
        let app_url = app.url(&path);
        async move {
            reqwest::Client::new()
                .get(app_url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let a = get(&app).await;
    assert_eq!(a["auth_status"], "key_based", "{a}");
    assert_eq!(
        a["host_key_fingerprint"],
        host.host_key_fingerprint(),
        "{a}"
    );
    assert_eq!(a["host_key_status"], "unverified", "{a}");
    assert!(!host.command_log().contains("chpasswd"));
    assert_eq!(sudo_runs(&host), switched, "nothing ran through sudo");
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);

    // Acknowledged, the change goes through: on a key-based device passwords change through
    // the privileged account (ops logs in with its stored password and sudo takes it), not
    // through the device admin user Tumbler created, which has no sudo rule.
    ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{asset}/host-key/acknowledge"),
        Some(
            json!({"fingerprint": host.host_key_fingerprint(), "totp": authenticator.fresh_code()}),
        ),
        200,
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    let rs = records(&app, &token, e["id"].as_str().unwrap()).await;
    assert_eq!(record_for(&rs, "app1")["status"], "success", "{rs:?}");
    assert!(sudo_runs(&host) > switched);
    assert!(ssh_logs_in(&host, "app1", "canary-New-Device-0d3a").await);
    assert!(!ssh_logs_in(&host, "app1", APP_PASSWORD).await);

    // Its host key changes: the next key login is a conflict and nothing is sent.
    host.restart_with_new_host_key().await.unwrap();
    let before = sudo_runs(&host);
    let e = run(&app, &token, &task_id).await;
    let rs = records(&app, &token, e["id"].as_str().unwrap()).await;
    let rec = record_for(&rs, "app1");
    assert_eq!(rec["reason_code"], "host_key_conflict", "{rec}");
    let a = get(&app).await;
    assert_eq!(a["host_key_status"], "fingerprint_conflict", "{a}");
    assert_eq!(
        a["presented_host_key_fingerprint"],
        host.host_key_fingerprint()
    );
    assert_eq!(sudo_runs(&host), before);
    assert!(ssh_logs_in(&host, "app1", "canary-New-Device-0d3a").await);
    app.stop().await;
}

async fn pg_asset(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    call(app, token, Method::POST, "/api/v1/assets", Some(body)).await
}

#[tokio::test]
async fn database_tls_is_verified_off_loopback_and_verify_full_fails_closed() {
    let cluster = PgCluster::start().await;
    let role = "tls_canary_role_7f3e";
    let password = "canary-Pg-Tls-Password-2b81";
    cluster.create_role(role, password).await;
    let app = TestApp::spawn().await;
    let token = admin(&app).await;

    // `disable` and `require` are for loopback only: refused at save, nothing stored.
    for mode in ["disable", "require"] {
        let (status, body) = pg_asset(
            &app,
            &token,
            json!({"name": "pg-remote", "address": "10.20.30.40", "platform": "postgresql",
                   "tls_mode": mode}),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("tls_mode_not_allowed")),
            "{body}"
        );
    }
    let list = ok(&app, &token, Method::GET, "/api/v1/assets", None, 200).await;
    assert_eq!(list["total"], 0, "{list}");
    // Without a mode a remote database gets verify_full, a loopback one disable.
    let (status, remote) = pg_asset(
        &app,
        &token,
        json!({"name": "pg-remote", "address": "10.20.30.40", "platform": "postgresql"}),
    )
    .await;
    assert_eq!(
        (status, remote["tls_mode"].as_str()),
        (201, Some("verify_full")),
        "{remote}"
    );
    // Moving a loopback asset away keeps refusing `disable`.
    let (status, local) = pg_asset(
        &app,
        &token,
        json!({"name": "pg-local", "address": "127.0.0.1", "port": cluster.port(),
               "platform": "postgresql"}),
    )
    .await;
    assert_eq!(
        (status, local["tls_mode"].as_str()),
        (201, Some("disable")),
        "{local}"
    );
    let local_id = local["id"].as_str().unwrap().to_owned();
    let (status, body) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"address": "10.20.30.41"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("tls_mode_not_allowed")),
        "{body}"
    );
    // A CA bundle is bounded and must hold certificates.
    let (status, body) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"tls_ca_pem": "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["details"]["field"].as_str()),
        (400, Some("tls_ca_pem")),
        "{body}"
    );
    let huge = "-----BEGIN CERTIFICATE-----\nMAAA\n-----END CERTIFICATE-----\n".repeat(3000);
    let (status, body) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"tls_ca_pem": huge})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["details"]["field"].as_str()),
        (400, Some("tls_ca_pem")),
        "{body}"
    );

    // verify_full against the cluster, which has no TLS: fails closed before the startup
    // message, so the server never even hears the role's name.
    let patched = ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"tls_mode": "verify_full"})),
        200,
    )
    .await;
    assert_eq!(patched["tls_mode"], "verify_full");
    let acct = account(&app, &token, &local_id, role, password, false, json!({})).await;
    let out = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/accounts/{acct}/verify"),
        None,
        200,
    )
    .await;
    assert_eq!(
        (out["ok"].as_bool(), out["code"].as_str()),
        (Some(false), Some("tls_failed")),
        "{out}"
    );
    assert!(!cluster.log_contents().contains(role));
    // On loopback without TLS the same login works (and the log shows it, so the check above
    // could have failed).
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"tls_mode": "disable"})),
        200,
    )
    .await;
    let out = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/accounts/{acct}/verify"),
        None,
        200,
    )
    .await;
    assert_eq!(out["ok"], true, "{out}");
    assert!(cluster.log_contents().contains(role));

    // With TLS on, verify_full against the asset's CA logs in; against another CA (the
    // system's roots) it fails closed.
    let ca = cluster.enable_tls().await;
    let verify = |acct: String| {
        let app_url = app.url(&format!("/api/v1/accounts/{acct}/verify"));
        let token = token.clone();
        async move {
            reqwest::Client::new()
                .post(app_url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"tls_mode": "verify_full"})),
        200,
    )
    .await;
    let out = verify(acct.clone()).await;
    assert_eq!(out["code"], "tls_failed", "{out}");
    let patched = ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"tls_ca_pem": ca})),
        200,
    )
    .await;
    assert!(patched["tls_ca_pem"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    let out = verify(acct.clone()).await;
    assert_eq!(out["ok"], true, "{out}");

    // One server certificate is pinned by giving it as the CA: the server's own self-signed
    // certificate logs in; the old CA no longer matches.
    let pinned = cluster.enable_self_signed_tls().await;
    let out = verify(acct.clone()).await;
    assert_eq!(out["code"], "tls_failed", "{out}");
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"tls_ca_pem": pinned})),
        200,
    )
    .await;
    let out = verify(acct.clone()).await;
    assert_eq!(out["ok"], true, "{out}");
    app.stop().await;
}

#[tokio::test]
async fn redis_auth_is_not_sent_in_clear_off_loopback_unless_an_administrator_allows_it() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let (status, a) = pg_asset(
        &app,
        &token,
        json!({"name": "redis-remote", "address": "192.0.2.10", "platform": "redis"}),
    )
    .await;
    assert_eq!(
        (status, a["plaintext_auth_allowed"].as_bool()),
        (201, Some(false)),
        "{a}"
    );
    let id = a["id"].as_str().unwrap().to_owned();
    let acct = account(
        &app,
        &token,
        &id,
        "app",
        "canary-Redis-Clear-9a0c",
        false,
        json!({}),
    )
    .await;
    let out = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/accounts/{acct}/verify"),
        None,
        200,
    )
    .await;
    assert_eq!(
        (out["ok"].as_bool(), out["code"].as_str()),
        (Some(false), Some("insecure_transport")),
        "{out}"
    );
    operators_may_not_patch(&app, &token, &id, json!({"plaintext_auth_allowed": true})).await;
    let patched = ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{id}"),
        Some(json!({"plaintext_auth_allowed": true})),
        200,
    )
    .await;
    assert_eq!(patched["plaintext_auth_allowed"], true, "{patched}");
    app.stop().await;
}

/// An OpenSSH key encrypted with a passphrase whose bcrypt-pbkdf rounds say `rounds`.
fn openssh_key_with_rounds(rounds: u32) -> String {
    let key = generate_key_pair(KeyAlgorithm::Ed25519, "crafted").unwrap();
    let encrypted = encrypt_private_key(
        &key,
        &SecretString::from("canary-Crafted-Phrase".to_owned()),
    )
    .unwrap();
    let body: String = encrypted
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let mut blob = STANDARD.decode(body).unwrap();
    // magic, cipher name, KDF name, KDF options (length, salt string, rounds).
    let mut at = b"openssh-key-v1\0".len();
    let read_len =
        |blob: &[u8], at: usize| u32::from_be_bytes(blob[at..at + 4].try_into().unwrap()) as usize;
    at += 4 + read_len(&blob, at); // cipher
    assert_eq!(&blob[at + 4..at + 10], b"bcrypt");
    at += 4 + read_len(&blob, at); // kdf name
    at += 4; // kdf options length
    at += 4 + read_len(&blob, at); // salt
    blob[at..at + 4].copy_from_slice(&rounds.to_be_bytes());
    let text = STANDARD.encode(blob);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(70)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

/// A PuTTY v3 key file asking for 4 TiB of Argon2 memory.
fn ppk_with_huge_argon2_memory() -> String {
    "PuTTY-User-Key-File-3: ssh-ed25519\n\
     Encryption: aes256-cbc\n\
     Comment: crafted\n\
     Public-Lines: 2\n\
     AAAAC3NzaC1lZDI1NTE5AAAAIBGLBzyOcXmcUbf/2NumxLSXsqJDHkqUpV8RbyvP\n\
     8BBc\n\
     Key-Derivation: Argon2id\n\
     Argon2-Memory: 4294967295\n\
     Argon2-Passes: 4294967295\n\
     Argon2-Parallelism: 1\n\
     Argon2-Salt: 0123456789abcdef0123456789abcdef\n\
     Private-Lines: 1\n\
     AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n\
     Private-MAC: 00000000000000000000000000000000000000000000000000000000000000\n"
        .to_owned()
}

/// A decoy: an indented `BEGIN` line (which the decoder skips) around a cheap key, then the
/// real block asking for `u32::MAX` bcrypt rounds (which the decoder reads).
fn decoy_block_then_costly_key() -> String {
    let cheap = openssh_key_with_rounds(16);
    format!(" {cheap}\n{}", openssh_key_with_rounds(u32::MAX))
}

/// A PKCS#8 `EncryptedPrivateKeyInfo` (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC; made with
/// `openssl pkcs8 -topk8 -v2 aes-256-cbc`, its iteration count then set to 2^31-1) under the
/// plain `PRIVATE KEY` label: with a passphrase the decoder would run PBKDF2 that many times.
const PKCS8_ENCRYPTED_AS_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGdMFkGCSqGSIb3DQEFDTBMMCsGCSqGSIb3DQEFDDAeBAiKHFD1+Wuc/AIEf///
/zAMBggqhkiG9w0CCQUAMB0GCWCGSAFlAwQBKgQQr4xIl4wkpmV6rKR9OMOrxARA
Jfa4mPTzMBmQxcyU2wisC/DIfHqjalbwfxTeSbwtUIVBKabwD5pSLeGfYH76lcwO
ZqzQY0nUZL13J/fLbcPchA==
-----END PRIVATE KEY-----
";

#[tokio::test]
async fn key_files_read_differently_by_check_and_decoder_are_refused_with_a_code() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[TestUser::new("ops", OPS_PASSWORD).with_sudo()])
        .await
        .unwrap();
    let asset = super::change_secret::linux_asset(&app, &token, "decoys", &host).await;
    let cases = [
        (decoy_block_then_costly_key(), "invalid_private_key"),
        (
            PKCS8_ENCRYPTED_AS_PRIVATE_KEY.to_owned(),
            "key_derivation_too_costly",
        ),
        (
            PKCS8_ENCRYPTED_AS_PRIVATE_KEY.replace("PRIVATE KEY", "EC PRIVATE KEY"),
            "key_derivation_too_costly",
        ),
        // Text after the block, or a second block: refused, not silently ignored.
        (
            format!("{}trailing\n", openssh_key_with_rounds(16)),
            "invalid_private_key",
        ),
        (
            format!(
                "{}{}",
                openssh_key_with_rounds(16),
                openssh_key_with_rounds(u32::MAX)
            ),
            "invalid_private_key",
        ),
    ];
    // Each answer comes back (the test would hang on a derivation that ran); every place a
    // key is uploaded answers the code.
    for (key, code) in &cases {
        for (path, body) in [
            (
                "/api/v1/key-conflicts/resolve".to_owned(),
                json!({"mode": "custom_key", "private_key": key, "passphrase": "x",
                        "devices": [{"asset_id": asset, "admin_user": "ops"}]}),
            ),
            (
                format!("/api/v1/assets/{asset}/authentication"),
                json!({"mode": "custom_key", "admin_user": "ops", "private_key": key,
                        "passphrase": "x"}),
            ),
            (
                "/api/v1/accounts".to_owned(),
                json!({"asset_id": asset, "username": "deploy", "secret_type": "ssh_key",
                        "secret": key}),
            ),
        ] {
            let (status, body) = call(&app, &token, Method::POST, &path, Some(body)).await;
            let message = body["error"]["message"].as_str().unwrap_or_default();
            if *code == "invalid_private_key" {
                // Reported as a bad field (`invalid_request`) whose message says why.
                assert_eq!(status, 400, "{path}: {body}");
                assert!(message.contains("exactly one PEM block"), "{path}: {body}");
            } else {
                assert_eq!(
                    (status, body["error"]["code"].as_str()),
                    (400, Some(*code)),
                    "{path}: {body}"
                );
                assert!(message.contains("PKCS#8"), "{path}: {body}");
            }
        }
    }
    // The same block without the decoy around it still opens (with its passphrase).
    let clean = openssh_key_with_rounds(16);
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{asset}/authentication"),
        Some(
            json!({"mode": "custom_key", "admin_user": "ops", "private_key": format!("\n\n{clean}\n"),
                    "passphrase": "canary-Crafted-Phrase"}),
        ),
    )
    .await;
    assert_ne!(
        body["error"]["code"].as_str(),
        Some("invalid_private_key"),
        "{status} {body}"
    );
    assert_ne!(
        body["error"]["code"].as_str(),
        Some("key_derivation_too_costly"),
        "{status} {body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn costly_key_files_are_refused_with_a_code_and_only_after_the_permission_check() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[TestUser::new("ops", OPS_PASSWORD).with_sudo()])
        .await
        .unwrap();
    let asset = super::change_secret::linux_asset(&app, &token, "keys", &host).await;
    let crafted = openssh_key_with_rounds(u32::MAX);
    let ppk = ppk_with_huge_argon2_memory();

    // Someone without assets_manage: 403, nothing decoded (the cost check would say 400).
    let audrey = user(&app, &token, "audrey", &["auditor"], &["Default"]).await;
    for key in [&crafted, &ppk] {
        let (status, body) = call(
            &app,
            &audrey,
            Method::POST,
            "/api/v1/key-conflicts/resolve",
            Some(
                json!({"mode": "custom_key", "private_key": key, "passphrase": "x",
                        "devices": [{"asset_id": asset, "admin_user": "ops"}]}),
            ),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{body}"
        );
    }

    // An administrator gets the code that says why, for each place a key is uploaded.
    for key in [&crafted, &ppk] {
        let (status, body) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/key-conflicts/resolve",
            Some(
                json!({"mode": "custom_key", "private_key": key, "passphrase": "x",
                        "devices": [{"asset_id": asset, "admin_user": "ops"}]}),
            ),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("key_derivation_too_costly")),
            "{body}"
        );
        let (status, body) = call(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/assets/{asset}/authentication"),
            Some(
                json!({"mode": "custom_key", "admin_user": "ops", "private_key": key,
                        "passphrase": "x"}),
            ),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("key_derivation_too_costly")),
            "{body}"
        );
        let (status, body) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/accounts",
            Some(
                json!({"asset_id": asset, "username": "deploy", "secret_type": "ssh_key",
                        "secret": key}),
            ),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("key_derivation_too_costly")),
            "{body}"
        );
    }
    let message = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/key-conflicts/resolve",
        Some(
            json!({"mode": "custom_key", "private_key": crafted, "passphrase": "x",
                    "devices": [{"asset_id": asset, "admin_user": "ops"}]}),
        ),
    )
    .await
    .1["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("bcrypt-pbkdf rounds"), "{message}");
    assert!(message.contains("256"), "{message}");
    // A key with an ordinary cost still opens (the cap is not a refusal of every key).
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/key-conflicts/resolve",
        Some(
            json!({"mode": "custom_key", "private_key": openssh_key_with_rounds(16),
                    "passphrase": "wrong", "devices": [{"asset_id": asset, "admin_user": "ops"}]}),
        ),
    )
    .await;
    assert_eq!(
        (status, body["error"]["details"]["field"].as_str()),
        (400, Some("private_key")),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn only_an_administrator_changes_or_removes_a_database_assets_ca_or_tls_mode() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    // A syntactically valid CA bundle (one DER SEQUENCE).
    let ca = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";
    let (status, a) = pg_asset(
        &app,
        &token,
        json!({"name": "pg-ca", "address": "192.0.2.20", "platform": "postgresql", "tls_ca_pem": ca}),
    )
    .await;
    assert_eq!(status, 201, "{a}");
    assert!(a["tls_ca_pem"].as_str().is_some(), "{a}");
    let id = a["id"].as_str().unwrap().to_owned();
    let operator = user(&app, &token, "olga", &["operator"], &["Default"]).await;
    let path = format!("/api/v1/assets/{id}");
    for body in [
        json!({"tls_ca_pem": ""}),
        json!({"tls_ca_pem": "  \n"}),
        json!({"tls_mode": "require"}),
    ] {
        let (status, answer) =
            call(&app, &operator, Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(status, 403, "{body}: {answer}");
    }
    // The CA is still there.
    let a = ok(&app, &token, Method::GET, &path, None, 200).await;
    assert!(
        a["tls_ca_pem"]
            .as_str()
            .is_some_and(|p| p.contains("BEGIN CERTIFICATE")),
        "{a}"
    );
    // The administrator may remove it.
    let a = ok(
        &app,
        &token,
        Method::PATCH,
        &path,
        Some(json!({"tls_ca_pem": ""})),
        200,
    )
    .await;
    assert!(a["tls_ca_pem"].is_null(), "{a}");
    app.stop().await;
}

/// An asset setting that is an administrator's: an operator's PATCH of it is `403 forbidden`.
async fn operators_may_not_patch(app: &TestApp, admin: &str, asset: &str, body: Value) {
    let olga = user(app, admin, "olga", &["operator"], &["Default"]).await;
    let (status, out) = call(
        app,
        &olga,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(body),
    )
    .await;
    assert_eq!(
        (status, out["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{out}"
    );
}
