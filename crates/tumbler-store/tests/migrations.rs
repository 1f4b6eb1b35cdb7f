//! Databases created by Tumbler's earlier, hand-written migrator (bookkeeping in
//! `schema_migrations`) keep working: the first migration run adopts them, applies only what
//! came later, and keeps their data. Runs against SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sqlx::Row;
use tumbler_store::{Backend, Store, StoreError};
use tumbler_testkit::postgres_store::PgStoreDb;

/// The earlier migrator's list, frozen as it was: (version, sqlite, postgres).
const LEGACY: &[(i64, &str, &str)] = &[
    (
        1,
        include_str!("../migrations/sqlite/0001_init.sql"),
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        include_str!("../migrations/sqlite/0002_roles.sql"),
        include_str!("../migrations/postgres/0002_roles.sql"),
    ),
    (
        3,
        include_str!("../migrations/sqlite/0003_totp.sql"),
        include_str!("../migrations/postgres/0003_totp.sql"),
    ),
    (
        4,
        include_str!("../migrations/sqlite/0004_domains.sql"),
        include_str!("../migrations/postgres/0004_domains.sql"),
    ),
    (
        5,
        include_str!("../migrations/sqlite/0005_password_history.sql"),
        include_str!("../migrations/postgres/0005_password_history.sql"),
    ),
    (
        6,
        include_str!("../migrations/sqlite/0006_certificates.sql"),
        include_str!("../migrations/postgres/0006_certificates.sql"),
    ),
    (
        7,
        include_str!("../migrations/shared/0007_inventory.sql"),
        include_str!("../migrations/shared/0007_inventory.sql"),
    ),
    (
        8,
        include_str!("../migrations/shared/0008_change_secret.sql"),
        include_str!("../migrations/shared/0008_change_secret.sql"),
    ),
    (
        9,
        include_str!("../migrations/shared/0009_webhooks.sql"),
        include_str!("../migrations/shared/0009_webhooks.sql"),
    ),
    (
        10,
        include_str!("../migrations/shared/0010_device_keys.sql"),
        include_str!("../migrations/shared/0010_device_keys.sql"),
    ),
    (
        13,
        include_str!("../migrations/shared/0013_asset_connection_security.sql"),
        include_str!("../migrations/shared/0013_asset_connection_security.sql"),
    ),
    (
        14,
        include_str!("../migrations/shared/0014_change_retries.sql"),
        include_str!("../migrations/shared/0014_change_retries.sql"),
    ),
    (
        15,
        include_str!("../migrations/shared/0015_reconcile_account.sql"),
        include_str!("../migrations/shared/0015_reconcile_account.sql"),
    ),
];

/// Migrates `store` the way the earlier migrator did, up to and including `upto`.
async fn legacy_migrate(store: &Store, url: &str, upto: i64) {
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    for (version, sqlite, postgres) in LEGACY.iter().filter(|m| m.0 <= upto) {
        let sql = match store.backend() {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        };
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(*version)
            .bind(1_700_000_000_000_i64)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    sqlx::Connection::close(conn).await.unwrap();
}

async fn count(url: &str, sql: &str) -> i64 {
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    let row = sqlx::query(sql).fetch_one(&mut conn).await.unwrap();
    row.try_get::<i64, _>(0).unwrap()
}

async fn table_count(store: &Store, url: &str, table: &str) -> i64 {
    let sql = match store.backend() {
        Backend::Sqlite => format!(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
        ),
        Backend::Postgres => format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
    };
    count(url, &sql).await
}

/// A store at the earlier migrator's `upto` version, with one domain row in it, is adopted.
async fn adopts(url: &str, upto: i64) {
    let store = Store::connect(url).await.unwrap();
    legacy_migrate(&store, url, upto).await;
    assert_eq!(store.schema_version().await.unwrap(), upto);
    sqlx::raw_sql(
        "INSERT INTO domains (id, name, description, created_at) VALUES ('d-old', 'Old', '', 1)",
    )
    .execute(
        &mut <sqlx::AnyConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap(),
    )
    .await
    .unwrap();

    // At least what the earlier migrator had after `upto` (more once newer migrations exist).
    let later = LEGACY.iter().filter(|m| m.0 > upto).count();
    assert!(store.migrate().await.unwrap() >= later);
    assert_eq!(
        store.schema_version().await.unwrap(),
        store.latest_schema_version()
    );
    assert_eq!(table_count(&store, url, "schema_migrations").await, 0);
    assert!(
        count(
            url,
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE version <= 15"
        )
        .await
            == i64::try_from(LEGACY.len()).unwrap()
    );
    assert_eq!(
        count(url, "SELECT COUNT(*) FROM domains WHERE id = 'd-old'").await,
        1
    );
    // Once adopted, nothing is left to do.
    assert_eq!(store.migrate().await.unwrap(), 0);
    store.close().await;
}

/// A database whose legacy table names a version this build does not know is refused
/// untouched.
async fn refuses_newer(url: &str) {
    let store = Store::connect(url).await.unwrap();
    legacy_migrate(&store, url, 15).await;
    sqlx::raw_sql("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 1)")
        .execute(
            &mut <sqlx::AnyConnection as sqlx::Connection>::connect(url)
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    let err = store.migrate().await.unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "schema_too_new");
    assert_eq!(table_count(&store, url, "schema_migrations").await, 1);
    assert_eq!(count(url, "SELECT COUNT(*) FROM _sqlx_migrations").await, 0);
    store.close().await;
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display())
}

#[tokio::test]
async fn sqlite_store_of_the_earlier_migrator_is_adopted() {
    for upto in [10, 15] {
        let dir = tempfile::tempdir().unwrap();
        adopts(&sqlite_url(&dir), upto).await;
    }
}

#[tokio::test]
async fn postgres_store_of_the_earlier_migrator_is_adopted() {
    for upto in [10, 15] {
        let pg = PgStoreDb::create().await;
        adopts(&pg.url(), upto).await;
        pg.drop_db().await;
    }
}

#[tokio::test]
async fn sqlite_store_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    refuses_newer(&sqlite_url(&dir)).await;
}

#[tokio::test]
async fn postgres_store_from_a_newer_build_is_refused() {
    let pg = PgStoreDb::create().await;
    refuses_newer(&pg.url()).await;
    pg.drop_db().await;
}

#[tokio::test]
async fn two_stores_migrating_one_postgres_database_at_once_both_succeed() {
    let pg = PgStoreDb::create().await;
    let a = Store::connect(&pg.url()).await.unwrap();
    let b = Store::connect(&pg.url()).await.unwrap();
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    // The advisory lock serialises them: one applies everything, the other nothing.
    assert!(ra.min(rb) == 0 && ra.max(rb) >= LEGACY.len(), "{ra} {rb}");
    assert_eq!(a.schema_version().await.unwrap(), a.latest_schema_version());
    a.close().await;
    b.close().await;
    pg.drop_db().await;
}
