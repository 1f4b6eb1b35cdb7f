//! Uploaded key files cannot ask for an unbounded key derivation, files the cost check and the
//! decoder would read differently are refused, and nobody without the permission gets one decoded.

use super::super::change_secret::{admin, OPS_PASSWORD};
use super::super::support::{call, error_code, error_field, typed, user};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;
use serde_json::Value;
use tumbler_api_types::ErrorAnswer;
use tumbler_connectors::ssh::{encrypt_private_key, generate_key_pair};
use tumbler_domain::ssh_key::KeyAlgorithm;
use tumbler_testkit::app::TestApp;
use tumbler_testkit::sshd::{SshHost, TestUser};

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

/// Every place a private key is uploaded for `asset` (resolving key conflicts, switching the
/// asset's authentication, an SSH-key account): each path with its body carrying `key`.
fn uploads(asset: &str, key: &str) -> Vec<(String, Value)> {
    vec![
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
    ]
}

#[tokio::test]
async fn key_files_read_differently_by_check_and_decoder_are_refused_with_a_code() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[TestUser::new("ops", OPS_PASSWORD).with_sudo()])
        .await
        .unwrap();
    let asset = super::super::change_secret::linux_asset(&app, &token, "decoys", &host).await;
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
        for (path, body) in uploads(&asset, key) {
            let (status, body) = call(&app, &token, Method::POST, &path, Some(body)).await;
            let message = typed::<ErrorAnswer>(body.clone()).error.message;
            if *code == "invalid_private_key" {
                // Reported as a bad field (`invalid_request`) whose message says why.
                assert_eq!(status, 400, "{path}: {body}");
                assert!(message.contains("exactly one PEM block"), "{path}: {body}");
            } else {
                assert_eq!(
                    (status, error_code(&body).as_str()),
                    (400, *code),
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
    // The answer may be any other refusal (the passphrase opens it; the device may not).
    let code = serde_json::from_value::<ErrorAnswer>(body.clone())
        .ok()
        .map(|e| e.error.code);
    assert!(
        !matches!(
            code.as_deref(),
            Some("invalid_private_key" | "key_derivation_too_costly")
        ),
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
    let asset = super::super::change_secret::linux_asset(&app, &token, "keys", &host).await;
    let crafted = openssh_key_with_rounds(u32::MAX);
    let ppk = ppk_with_huge_argon2_memory();

    // Someone without assets_manage: 403, nothing decoded (the cost check would say 400);
    // an administrator gets the code that says why, for each place a key is uploaded.
    let audrey = user(&app, &token, "audrey", &["auditor"], &["Default"]).await;
    for key in [&crafted, &ppk] {
        for (path, body) in uploads(&asset, key) {
            for (caller, expected) in [
                (&audrey, (403, "forbidden")),
                (&token, (400, "key_derivation_too_costly")),
            ] {
                let (status, out) =
                    call(&app, caller, Method::POST, &path, Some(body.clone())).await;
                assert_eq!(
                    (status, error_code(&out).as_str()),
                    expected,
                    "{path}: {out}"
                );
            }
        }
    }
    let (path, body) = uploads(&asset, &crafted).swap_remove(0);
    let (_, out) = call(&app, &token, Method::POST, &path, Some(body)).await;
    let message = typed::<ErrorAnswer>(out).error.message;
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
        (status, error_field(&body).as_deref()),
        (400, Some("private_key")),
        "{body}"
    );
    app.stop().await;
}
