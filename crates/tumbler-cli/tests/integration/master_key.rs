//! The master key: rotated while the server runs, and taken from the environment or a
//! passphrase.

use super::{basic_me, stderr, stdout, tumbler, tumbler_with, Server, BIN};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

#[tokio::test]
async fn master_key_rotation_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let pw = server.initial_password.clone().unwrap();
    let key = data.join("master.key");
    let old = std::fs::read_to_string(&key).unwrap();
    let out = tumbler(&["admin", "rotate-master-key"], &data);
    assert!(out.status.success(), "{}", stderr(&out));
    let new = std::fs::read_to_string(&key).unwrap();
    assert_ne!(old, new);
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let retired: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("retired"))
        .collect();
    assert_eq!(retired.len(), 1);
    assert_eq!(
        basic_me(&server.url, "admin", &pw).await,
        200,
        "the running server keeps working"
    );
    server.stop();

    let restarted = Server::start(&data, &[]);
    assert_eq!(basic_me(&restarted.url, "admin", &pw).await, 200);
    restarted.stop();
    let out = tumbler(&["audit", "verify"], &data);
    assert!(
        out.status.success(),
        "the chain key is sealed in the vault and survives the rotation: {}",
        stdout(&out)
    );

    std::fs::write(&key, &old).unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("does not match this store"),
        "{}",
        stderr(&out)
    );
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Starts on a master key from `source` (`env` or `passphrase`, the value in `var`), keeps a
/// secret in the vault, rotates the key with the same source while the server runs, and checks
/// that only the new key opens the store afterwards.
async fn master_key_from(source: &str, var: &str, new_var: &str, old: &str, new: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let with = |key: &str| {
        vec![
            (
                "TUMBLER_VAULT__MASTER_KEY_SOURCE".to_owned(),
                source.to_owned(),
            ),
            (var.to_owned(), key.to_owned()),
        ]
    };
    let old_env = with(old);
    let server = Server::start(&data, &pairs(&old_env));
    assert!(
        !data.join("master.key").exists(),
        "{source}: no key file is written"
    );
    let pw = server.initial_password.clone().unwrap();
    assert_eq!(basic_me(&server.url, "admin", &pw).await, 200);

    let mut rotate_env = pairs(&old_env);
    rotate_env.push((new_var, new));
    let out = tumbler_with(&["admin", "rotate-master-key"], &data, &rotate_env);
    assert!(out.status.success(), "{source}: {}", stderr(&out));
    assert_eq!(
        basic_me(&server.url, "admin", &pw).await,
        200,
        "{source}: the running server keeps working"
    );
    server.stop();

    // The old key no longer opens the store; the new one does, vault included (the audit
    // chain's key is sealed in it).
    let out = tumbler_with(&["audit", "verify"], &data, &pairs(&old_env));
    assert!(!out.status.success(), "{source}: the old key still works");
    assert!(
        stderr(&out).contains("does not match this store"),
        "{source}: {}",
        stderr(&out)
    );
    let new_env = with(new);
    let out = tumbler_with(&["audit", "verify"], &data, &pairs(&new_env));
    assert!(
        out.status.success(),
        "{source}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let restarted = Server::start(&data, &pairs(&new_env));
    assert_eq!(basic_me(&restarted.url, "admin", &pw).await, 200);
    restarted.stop();
}

#[tokio::test]
async fn the_master_key_comes_from_the_environment_and_rotates() {
    master_key_from(
        "env",
        "TUMBLER_MASTER_KEY",
        "TUMBLER_NEW_MASTER_KEY",
        &"1f".repeat(32),
        &"a2".repeat(32),
    )
    .await;
}

#[tokio::test]
async fn the_master_key_comes_from_a_passphrase_and_rotates() {
    master_key_from(
        "passphrase",
        "TUMBLER_MASTER_PASSPHRASE",
        "TUMBLER_NEW_MASTER_PASSPHRASE",
        "first passphrase of the vault, long enough",
        "second passphrase of the vault, also long",
    )
    .await;
}
