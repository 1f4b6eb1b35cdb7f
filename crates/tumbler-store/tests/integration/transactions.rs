//! Transactions and versions: an uncommitted change leaves nothing, a sealed secret version is
//! never overwritten, meta values upsert.

use super::*;

pub(super) async fn uncommitted_changes_leave_nothing_behind(store: &Store) {
    let u = user("frank");
    {
        let mut tx = store.begin().await.unwrap();
        tx.insert_user(
            NewUser {
                user: &u,
                password_hash: None,
            },
            t0(),
        )
        .await
        .unwrap();
        tx.append_audit(&ev(AuditAction::UserCreate), t0())
            .await
            .unwrap();
        // dropped without commit, as when a request fails half-way
    }
    assert!(store.user_by_username("frank").await.unwrap().is_none());
    assert_eq!(store.audit_head().await.unwrap().0, 0);
    assert!(store.audit_events_after(0, 10).await.unwrap().is_empty());
}

pub(super) async fn sealed_secret_versions_are_never_overwritten(store: &Store) {
    let key = DataKeyRow {
        id: DataKeyId::generate(),
        wrapped: vec![1, 2, 3],
        master_key_id: "m1".to_owned(),
        active: true,
        created_at: t0(),
    };
    let secret = SealedSecretRow {
        owner_kind: tumbler_domain::secret_owner::SecretOwner::Account,
        owner_id: "a1".to_owned(),
        version: 1,
        data_key_id: key.id.clone(),
        envelope: vec![0, 255, 7, 9],
        created_at: t0(),
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_data_key(&key).await.unwrap();
    tx.insert_sealed_secret(&secret).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let again = SealedSecretRow {
        envelope: vec![9, 9],
        ..secret.clone()
    };
    assert_eq!(
        tx.insert_sealed_secret(&again).await.unwrap_err().code(),
        "already_exists"
    );
    drop(tx);
    assert_eq!(
        store
            .sealed_secret(tumbler_domain::secret_owner::SecretOwner::Account, "a1", 1)
            .await
            .unwrap(),
        Some(secret)
    );
    assert_eq!(store.data_keys().await.unwrap(), vec![key.clone()]);
    let mut tx = store.begin().await.unwrap();
    tx.rewrap_data_key(&key.id, &[4, 5], "m2").await.unwrap();
    tx.commit().await.unwrap();
    let rewrapped = &store.data_keys().await.unwrap()[0];
    assert_eq!(
        (
            rewrapped.wrapped.as_slice(),
            rewrapped.master_key_id.as_str()
        ),
        ([4u8, 5].as_slice(), "m2")
    );
}

pub(super) async fn meta_values_upsert(store: &Store) {
    assert_eq!(store.meta("k").await.unwrap(), None);
    for v in ["one", "two"] {
        let mut tx = store.begin().await.unwrap();
        tx.set_meta("k", v).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(store.meta("k").await.unwrap().as_deref(), Some("two"));
}
