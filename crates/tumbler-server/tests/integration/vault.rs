//! The vault: a canary secret never appears in the store or the logs, a ciphertext moved to
//! another row does not open, and master key rotation keeps every secret readable.

use std::sync::Arc;
use tumbler_core::{RequestOrigin, Vault, VaultError};
use tumbler_crypto::MasterKey;
use tumbler_domain::SystemClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};
use tumbler_testkit::logs::LogCapture;

const CANARY: &str = "canary-7Yq2-SECRET-must-never-leak-91x";

async fn seal_canary(app: &TestApp, owner: &str) {
    let mut tx = app.services.store.begin().await.unwrap();
    app.services
        .vault
        .seal(
            &mut tx,
            tumbler_domain::secret_owner::SecretOwner::Account,
            owner,
            1,
            CANARY.as_bytes(),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn sqlite_canary_is_absent_from_the_file_and_the_logs() {
    let logs = LogCapture::install();
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    seal_canary(&app, "acct-1").await;
    let opened = app
        .services
        .vault
        .open_secret(
            tumbler_domain::secret_owner::SecretOwner::Account,
            "acct-1",
            1,
        )
        .await
        .unwrap();
    assert_eq!(opened.as_slice(), CANARY.as_bytes());

    let mut bytes = Vec::new();
    for f in ["tumbler.db", "tumbler.db-wal"] {
        bytes.extend(std::fs::read(app.config.data_dir.join(f)).unwrap_or_default());
    }
    assert!(bytes.len() > 4096, "read the store");
    assert!(!contains(&bytes, CANARY));
    assert!(!contains(&bytes, ADMIN_PASSWORD));
    assert!(!contains(&bytes, &app.initial_admin_password));
    let log = logs.contents();
    assert!(
        log.contains("applied migration"),
        "the capture sees the server's log"
    );
    assert!(
        !log.contains(CANARY)
            && !log.contains(ADMIN_PASSWORD)
            && !log.contains(&app.initial_admin_password)
    );
    app.stop().await;
}

#[tokio::test]
async fn postgres_canary_is_absent_from_every_table_and_the_logs() {
    let logs = LogCapture::install();
    let app = TestApp::spawn_on(StoreKind::Postgres, Arc::new(SystemClock)).await;
    app.activate_admin().await;
    seal_canary(&app, "acct-1").await;
    assert_eq!(
        open_account_secret(&app, "acct-1", 1)
            .await
            .unwrap()
            .as_slice(),
        CANARY.as_bytes()
    );

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.config.database_url())
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(tables.iter().any(|t| t == "secrets"));
    let mut dump = String::new();
    for t in &tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM \"{t}\" t"))
            .fetch_all(&pool)
            .await
            .unwrap();
        dump.extend(rows);
    }
    assert!(dump.contains("argon2id"), "the dump covers the users table");
    assert!(!dump.contains(CANARY) && !dump.contains(ADMIN_PASSWORD));
    // bytea columns print as hex: look for the canary's hex too.
    assert!(!dump.contains(&hex_of(CANARY)));
    pool.close().await;
    assert!(!logs.contents().contains(CANARY));
    app.stop().await;
}

/// Opens an account's sealed secret of one version.
async fn open_account_secret(
    app: &TestApp,
    owner: &str,
    version: i64,
) -> Result<zeroize::Zeroizing<Vec<u8>>, VaultError> {
    app.services
        .vault
        .open_secret(
            tumbler_domain::secret_owner::SecretOwner::Account,
            owner,
            version,
        )
        .await
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

async fn moved_ciphertext_fails_to_open(kind: StoreKind) {
    let app = TestApp::spawn_on(kind, Arc::new(SystemClock)).await;
    seal_canary(&app, "acct-1").await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.config.database_url())
        .await
        .unwrap();
    sqlx::query("UPDATE secrets SET owner_id = 'acct-2' WHERE owner_id = 'acct-1'")
        .execute(&pool)
        .await
        .unwrap();
    let err = app
        .services
        .vault
        .open_secret(
            tumbler_domain::secret_owner::SecretOwner::Account,
            "acct-2",
            1,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "decrypt_failed");
    sqlx::query("UPDATE secrets SET owner_id = 'acct-1', version = 2")
        .execute(&pool)
        .await
        .unwrap();
    assert!(matches!(
        open_account_secret(&app, "acct-1", 2).await,
        Err(VaultError::Crypto(_))
    ));
    sqlx::query("UPDATE secrets SET version = 1")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        open_account_secret(&app, "acct-1", 1)
            .await
            .unwrap()
            .as_slice(),
        CANARY.as_bytes()
    );
    pool.close().await;
    app.stop().await;
}

#[tokio::test]
async fn sqlite_moved_ciphertext_fails_to_open() {
    moved_ciphertext_fails_to_open(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn postgres_moved_ciphertext_fails_to_open() {
    moved_ciphertext_fails_to_open(StoreKind::Postgres).await;
}

#[tokio::test]
async fn master_key_rotation_keeps_secrets_and_retires_the_old_key() {
    let app = TestApp::spawn().await;
    seal_canary(&app, "acct-1").await;
    let store = app.services.store.clone();
    let old_id = app.services.vault.master_key_id();
    let new = MasterKey::generate();
    app.services
        .vault
        .rotate_master_key(new.clone(), &RequestOrigin::host())
        .await
        .unwrap();
    assert_ne!(app.services.vault.master_key_id(), old_id);
    assert_eq!(
        open_account_secret(&app, "acct-1", 1)
            .await
            .unwrap()
            .as_slice(),
        CANARY.as_bytes()
    );

    // A fresh start with the new key opens every secret; the old key is refused by name.
    let reopened = Vault::open(store.clone(), Arc::new(SystemClock), new)
        .await
        .unwrap();
    assert_eq!(
        reopened
            .open_secret(
                tumbler_domain::secret_owner::SecretOwner::Account,
                "acct-1",
                1
            )
            .await
            .unwrap()
            .as_slice(),
        CANARY.as_bytes()
    );
    let old_key_file = tumbler_crypto::load_master_key_file(&app.config.master_key_file()).unwrap();
    let err = Vault::open(store, Arc::new(SystemClock), old_key_file)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "wrong_master_key");
    // The running server's own vault (unwrapped keys in memory) keeps working.
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    app.stop().await;
}
