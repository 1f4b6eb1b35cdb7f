//! Change records: the reason code reads back as written (none as `""`), and a stored code
//! that names no known reason is a `store_corrupt` error, never mapped to another code.

use super::{t0, Fixture};
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::{AccountId, AssetId, DomainId, ExecutionId, RecordId};
use tumbler_store::{RecordFilter, RecordRow, StoreError};

/// Runs one statement behind the store's back.
async fn execute(url: &str, sql: &str, binds: &[&str]) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let mut query = sqlx::query(sql);
    for b in binds {
        query = query.bind(*b);
    }
    let done = query.execute(&pool).await.unwrap();
    assert_eq!(done.rows_affected(), 1);
    pool.close().await;
}

async fn corrupt_reason_codes_are_errors(f: &Fixture) {
    let exec = ExecutionId::generate();
    let domain = DomainId::from_string("d-records");
    execute(
        &f.url,
        "INSERT INTO change_executions (id, task_id, task_name, domain_id, trigger_kind, status, \
         owner_node, heartbeat_at, created_by, created_at) \
         VALUES ($1, 't', 'task', $2, 'manual', 'running', 'node-a', 0, 'admin', 0)",
        &[exec.as_str(), domain.as_str()],
    )
    .await;
    let mut record = RecordRow {
        id: RecordId::generate(),
        execution_id: exec.clone(),
        account_id: AccountId::generate(),
        asset_id: AssetId::generate(),
        asset_name: "web1".to_owned(),
        domain_id: domain.clone(),
        username: "app".to_owned(),
        status: RecordStatus::Pending,
        reason_code: None,
        reason: String::new(),
        old_version: Some(1),
        new_version: None,
        attempts: 0,
        new_secret_verified_at: None,
        created_at: t0(),
        updated_at: t0(),
    };
    let mut tx = f.store.begin().await.unwrap();
    tx.insert_record(&record).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        f.store.record(&record.id).await.unwrap(),
        Some(record.clone())
    );
    record.status = RecordStatus::Ignored;
    record.reason_code = Some(FailureCode::SecureModePrivileged);
    let mut tx = f.store.begin().await.unwrap();
    tx.update_record(&record).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        f.store.record(&record.id).await.unwrap(),
        Some(record.clone())
    );

    execute(
        &f.url,
        "UPDATE change_records SET reason_code = $1 WHERE id = $2",
        &["unreachabel", record.id.as_str()],
    )
    .await;
    let err = f.store.record(&record.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    let err = f
        .store
        .records(&RecordFilter {
            domains: vec![domain],
            execution_id: Some(exec),
            limit: 10,
            ..RecordFilter::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_corrupt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_corrupt_reason_codes_are_errors() {
    let f = Fixture::sqlite().await;
    corrupt_reason_codes_are_errors(&f).await;
    f.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_corrupt_reason_codes_are_errors() {
    let f = Fixture::postgres().await;
    corrupt_reason_codes_are_errors(&f).await;
    f.done().await;
}
