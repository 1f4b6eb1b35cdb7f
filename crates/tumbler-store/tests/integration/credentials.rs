//! Users, sessions and API tokens: unique names, round trips, ending and revoking once.

use super::*;

pub(super) async fn users_are_unique_by_name_and_round_trip(store: &Store) {
    let alice = user("alice");
    insert_user(store, &alice).await.unwrap();
    let err = insert_user(store, &user("alice")).await.unwrap_err();
    assert_eq!(err.code(), "already_exists");
    let row = store.user_by_username("alice").await.unwrap().unwrap();
    assert_eq!(row.user, alice);
    assert_eq!(row.password_hash.as_deref(), Some("$argon2id$fake"));
    assert!(
        !format!("{row:?}").contains("argon2id"),
        "Debug leaves the hash out"
    );
    assert_eq!(
        store
            .user_by_id(&alice.id)
            .await
            .unwrap()
            .unwrap()
            .user
            .username,
        "alice"
    );
    assert!(store.user_by_username("bob").await.unwrap().is_none());

    let mut tx = store.begin().await.unwrap();
    tx.set_login_failures(&alice.id, 3, Some(t0() + Duration::minutes(5)), t0())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let row = store.user_by_id(&alice.id).await.unwrap().unwrap();
    assert_eq!(
        (row.failed_logins, row.locked_until),
        (3, Some(t0() + Duration::minutes(5)))
    );
    let mut tx = store.begin().await.unwrap();
    assert!(tx
        .set_password(&alice.id, "$argon2id$new", None, t0())
        .await
        .unwrap());
    tx.commit().await.unwrap();
    let row = store.user_by_id(&alice.id).await.unwrap().unwrap();
    assert_eq!(
        (
            row.failed_logins,
            row.locked_until,
            row.user.must_change_password
        ),
        (0, None, false)
    );
    assert_eq!(store.count_users().await.unwrap(), 1);
}

pub(super) async fn sessions_insert_find_and_end(store: &Store) {
    let u = user("carol");
    insert_user(store, &u).await.unwrap();
    let s = SessionRow {
        id: SessionId::generate(),
        user_id: u.id.clone(),
        csrf_token: "csrf".to_owned(),
        source: "10.0.0.1".to_owned(),
        created_at: t0(),
        last_seen_at: t0(),
        expires_at: t0() + Duration::hours(12),
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_session(NewSession {
        session: &s,
        secret_hash: "hash-1",
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.session_by_secret_hash("hash-1").await.unwrap(),
        Some(s.clone())
    );
    store
        .touch_session(&s.id, t0() + Duration::minutes(3))
        .await
        .unwrap();
    assert_eq!(
        store
            .session_by_secret_hash("hash-1")
            .await
            .unwrap()
            .unwrap()
            .last_seen_at,
        t0() + Duration::minutes(3)
    );
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.delete_user_sessions(&u.id).await.unwrap(), 1);
    assert!(!tx.delete_session(&s.id).await.unwrap());
    tx.commit().await.unwrap();
    assert!(store
        .session_by_secret_hash("hash-1")
        .await
        .unwrap()
        .is_none());
}

pub(super) async fn tokens_revoke_once_and_only_for_their_owner(store: &Store) {
    let (a, b) = (user("dave"), user("erin"));
    insert_user(store, &a).await.unwrap();
    insert_user(store, &b).await.unwrap();
    let tok = ApiTokenRow {
        id: TokenId::generate(),
        user_id: a.id.clone(),
        name: "ci".to_owned(),
        prefix: "tmb_abcdef".to_owned(),
        created_at: t0(),
        expires_at: Some(t0() + Duration::days(1)),
        last_used_at: None,
        revoked_at: None,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_api_token(NewApiToken {
        token: &tok,
        secret_hash: "th",
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.api_token_by_hash("th").await.unwrap(),
        Some(tok.clone())
    );
    let mut tx = store.begin().await.unwrap();
    assert!(
        !tx.revoke_api_token(&b.id, &tok.id, t0()).await.unwrap(),
        "not erin's token"
    );
    assert!(tx.revoke_api_token(&a.id, &tok.id, t0()).await.unwrap());
    assert!(
        !tx.revoke_api_token(&a.id, &tok.id, t0()).await.unwrap(),
        "already revoked"
    );
    tx.commit().await.unwrap();
    assert_eq!(
        store.api_tokens_of(&a.id).await.unwrap()[0].revoked_at,
        Some(t0())
    );
    assert!(store.api_tokens_of(&b.id).await.unwrap().is_empty());
}
