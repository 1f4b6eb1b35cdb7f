//! A domain that still has change tasks is not deleted.

use super::*;

pub(super) async fn a_domain_with_change_tasks_is_not_deleted(store: &Store) {
    use tumbler_domain::ids::{ChangeTaskId, DomainId};
    use tumbler_store::{DomainRow, TaskRow};
    let domain = DomainRow {
        id: DomainId::generate(),
        name: "with-tasks".to_owned(),
        description: String::new(),
        created_at: t0(),
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_domain(&domain).await.unwrap();
    let task = TaskRow {
        id: ChangeTaskId::generate(),
        domain_id: domain.id.clone(),
        name: "t".to_owned(),
        spec: "{}".to_owned(),
        specified_secret_version: None,
        enabled: true,
        next_run_at: None,
        created_by: "tester".to_owned(),
        created_at: t0(),
        updated_at: t0(),
    };
    tx.insert_change_task(&task).await.unwrap();
    tx.commit().await.unwrap();
    // Refused (not a foreign-key failure) while the task is there.
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.delete_unused_domain(&domain.id).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.delete_change_task(&task.id).await.unwrap();
    assert!(tx.delete_unused_domain(&domain.id).await.unwrap());
    tx.commit().await.unwrap();
}
