//! Jobs: written only by the node that holds them; a stored job that does not read back is an
//! error with a stable code, never an empty list.

use super::{t0, Fixture};
use chrono::Duration;
use tumbler_domain::ids::{AssetId, JobId};
use tumbler_domain::job::{DeviceOutcome, JobKind, JobStatus, OutcomeStatus};
use tumbler_store::{JobRow, Store, StoreError};

fn job(kind: JobKind) -> JobRow {
    JobRow {
        id: JobId::generate(),
        kind,
        status: JobStatus::Running,
        created_by: "admin".to_owned(),
        node: "node-a".to_owned(),
        total: 2,
        done: 0,
        payload: serde_json::json!({ "algorithm": "ed25519" }),
        outcomes: Vec::new(),
        created_at: t0(),
        updated_at: t0(),
    }
}

pub(super) async fn a_job_is_written_only_by_the_node_that_holds_it(store: &Store) {
    let job = job(JobKind::RegenerateKey);
    let mut tx = store.begin().await.unwrap();
    tx.insert_job(&job).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store
            .running_jobs(JobKind::RegenerateKey)
            .await
            .unwrap()
            .iter()
            .filter(|j| j.id == job.id)
            .count(),
        1
    );
    // node-b takes it over while it is as read; a second claim from the same view fails.
    let mut tx = store.begin().await.unwrap();
    assert!(tx
        .claim_job(&job, "node-b", t0() + Duration::minutes(20))
        .await
        .unwrap());
    assert!(!tx
        .claim_job(&job, "node-c", t0() + Duration::minutes(20))
        .await
        .unwrap());
    tx.commit().await.unwrap();
    // node-a's progress is no longer written; node-b's is.
    let mut stale = job.clone();
    stale.done = 1;
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.update_job(&stale).await.unwrap());
    let mut current = store.job(&job.id).await.unwrap().unwrap();
    assert_eq!(current.node, "node-b");
    current.done = 2;
    current.status = JobStatus::Succeeded;
    current.outcomes = vec![DeviceOutcome {
        asset_id: AssetId::generate(),
        asset_name: "web-1".to_owned(),
        domain_id: "d1".to_owned(),
        status: OutcomeStatus::Unreachable,
        code: "unreachable".to_owned(),
        message: "connection refused".to_owned(),
    }];
    assert!(tx.update_job(&current).await.unwrap());
    tx.commit().await.unwrap();
    let stored = store.job(&job.id).await.unwrap().unwrap();
    assert_eq!((stored.done, stored.status), (2, JobStatus::Succeeded));
    assert_eq!(stored.outcomes, current.outcomes);
    assert_eq!(stored.payload, job.payload);
    assert!(store
        .running_jobs(JobKind::RegenerateKey)
        .await
        .unwrap()
        .iter()
        .all(|j| j.id != job.id));
}

/// Overwrites one column of a stored job behind the store's back.
async fn overwrite(url: &str, id: &JobId, column: &str, value: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let done = sqlx::query(&format!("UPDATE jobs SET {column} = $1 WHERE id = $2"))
        .bind(value)
        .bind(id.as_str())
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
    pool.close().await;
}

/// Corrupt JSON (or an unknown state) in the jobs table is a `store_corrupt` error, both for
/// the job itself and for the list of running jobs: never an empty list of outcomes.
async fn corrupt_jobs_are_errors(f: &Fixture) {
    for (column, value) in [
        ("outcomes", "[{\"asset_id\": "),
        ("outcomes", "{\"not\": \"a list\"}"),
        ("payload", "not json"),
        ("status", "sleeping"),
    ] {
        let job = job(JobKind::ModifyAuthentication);
        let mut tx = f.store.begin().await.unwrap();
        tx.insert_job(&job).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(f.store.job(&job.id).await.unwrap(), Some(job.clone()));
        overwrite(&f.url, &job.id, column, value).await;
        let err = f.store.job(&job.id).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{column}: {err:?}");
        assert_eq!(err.code(), "store_corrupt");
        assert!(err.to_string().contains(job.id.as_str()), "{err}");
        if column != "status" {
            let err = f
                .store
                .running_jobs(JobKind::ModifyAuthentication)
                .await
                .unwrap_err();
            assert_eq!(err.code(), "store_corrupt", "{column}");
        }
        // Put it right again for the next round.
        overwrite(&f.url, &job.id, "status", "interrupted").await;
        overwrite(&f.url, &job.id, "outcomes", "[]").await;
        overwrite(&f.url, &job.id, "payload", "{}").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_corrupt_jobs_are_errors() {
    let f = Fixture::sqlite().await;
    corrupt_jobs_are_errors(&f).await;
    f.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_corrupt_jobs_are_errors() {
    let f = Fixture::postgres().await;
    corrupt_jobs_are_errors(&f).await;
    f.done().await;
}
