//! A SQLite backup is a consistent copy that restores.

use super::*;

#[tokio::test]
async fn sqlite_backup_is_a_consistent_restorable_copy() {
    let f = Fixture::sqlite().await;
    insert_user(&f.store, &user("gina")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    f.store.backup_to(&backup).await.unwrap();
    assert!(
        f.store.backup_to(&backup).await.is_err(),
        "never overwrites"
    );
    insert_user(&f.store, &user("hank")).await.unwrap();
    let target = dir.path().join("restored.db");
    tumbler_store::restore_sqlite(&backup, &target)
        .await
        .unwrap();
    let restored = Store::connect(&format!("sqlite://{}", target.display()))
        .await
        .unwrap();
    assert!(restored.user_by_username("gina").await.unwrap().is_some());
    assert!(restored.user_by_username("hank").await.unwrap().is_none());
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    assert!(tumbler_store::restore_sqlite(&junk, &target).await.is_err());
    assert!(
        restored.user_by_username("gina").await.unwrap().is_some(),
        "a failed restore leaves the store intact"
    );
    restored.close().await;
    f.done().await;
}
