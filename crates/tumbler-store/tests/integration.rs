//! The store contract: every test runs against SQLite and PostgreSQL. A PostgreSQL that
//! cannot be reached fails the run (the test kit panics), so neither leg is skipped silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, TimeZone, Utc};
use tumbler_domain::audit::{AuditAction, NewAuditEvent, Outcome};
use tumbler_domain::ids::{DataKeyId, SessionId, TokenId, UserId};
use tumbler_domain::user::{User, UserKind, UserStatus};
use tumbler_store::{
    ApiTokenRow, DataKeyRow, NewApiToken, NewSession, NewUser, SealedSecretRow, SessionRow, Store,
    StoreError,
};
use tumbler_testkit::postgres_store::PgStoreDb;

#[path = "integration/jobs.rs"]
mod jobs;
use jobs::a_job_is_written_only_by_the_node_that_holds_it;
#[path = "integration/host_keys.rs"]
mod host_keys;
#[path = "integration/records.rs"]
mod records;
use host_keys::a_stale_host_key_write_does_not_undo_a_move;

/// A migrated store of one backend, removed afterwards.
struct Fixture {
    store: Store,
    /// The database's URL, for tests that write behind the store's back.
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<PgStoreDb>,
}

impl Fixture {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::connect(&url).await.unwrap();
        let applied = store.migrate().await.unwrap();
        // Every migration ran (version numbers need not be contiguous).
        assert!(applied > 0);
        assert_eq!(
            store.schema_version().await.unwrap(),
            store.latest_schema_version()
        );
        Self {
            store,
            url,
            _dir: Some(dir),
            pg: None,
        }
    }

    async fn postgres() -> Self {
        let pg = PgStoreDb::create().await;
        let store = Store::connect(&pg.url()).await.unwrap();
        let applied = store.migrate().await.unwrap();
        // Every migration ran (version numbers need not be contiguous).
        assert!(applied > 0);
        assert_eq!(
            store.schema_version().await.unwrap(),
            store.latest_schema_version()
        );
        Self {
            store,
            url: pg.url(),
            _dir: None,
            pg: Some(pg),
        }
    }

    async fn done(self) {
        self.store.close().await;
        if let Some(pg) = self.pg {
            pg.drop_db().await;
        }
    }
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let f = super::Fixture::sqlite().await;
                super::$name(&f.store).await;
                f.done().await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let f = super::Fixture::postgres().await;
                super::$name(&f.store).await;
                f.done().await;
            })*
        }
    };
}

contract!(
    migrations_are_idempotent,
    users_are_unique_by_name_and_round_trip,
    sessions_insert_find_and_end,
    tokens_revoke_once_and_only_for_their_owner,
    audit_chain_stays_linear_under_concurrent_appends,
    uncommitted_changes_leave_nothing_behind,
    sealed_secret_versions_are_never_overwritten,
    meta_values_upsert,
    a_domain_with_change_tasks_is_not_deleted,
    a_job_is_written_only_by_the_node_that_holds_it,
    a_stale_host_key_write_does_not_undo_a_move,
);

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
}

fn user(name: &str) -> User {
    User {
        id: UserId::generate(),
        username: name.to_owned(),
        display_name: format!("{name} display"),
        email: Some(format!("{name}@example.test")),
        kind: UserKind::Local,
        status: UserStatus::Enabled,
        roles: vec!["admin".to_owned(), "auditor".to_owned()],
        must_change_password: true,
        password_changed_at: Some(t0()),
        temp_password_expires_at: Some(t0() + Duration::hours(72)),
        mfa_enabled: false,
        created_at: t0(),
    }
}

fn ev(action: AuditAction) -> NewAuditEvent {
    NewAuditEvent {
        actor: "tester".to_owned(),
        action,
        object_kind: "thing".to_owned(),
        object_id: "1".to_owned(),
        outcome: Outcome::Success,
        source: "127.0.0.1".to_owned(),
        detail: String::new(),
    }
}

async fn insert_user(store: &Store, u: &User) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    tx.insert_user(
        NewUser {
            user: u,
            password_hash: Some("$argon2id$fake"),
        },
        t0(),
    )
    .await?;
    tx.commit().await
}

async fn migrations_are_idempotent(store: &Store) {
    assert_eq!(store.migrate().await.unwrap(), 0);
    assert_eq!(
        store.schema_version().await.unwrap(),
        store.latest_schema_version()
    );
    store.ping().await.unwrap();
}

async fn users_are_unique_by_name_and_round_trip(store: &Store) {
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

async fn sessions_insert_find_and_end(store: &Store) {
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

async fn tokens_revoke_once_and_only_for_their_owner(store: &Store) {
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

async fn audit_chain_stays_linear_under_concurrent_appends(store: &Store) {
    use strum::IntoEnumIterator;
    // Sixteen different actions, so the filter below finds exactly one event.
    let actions: Vec<AuditAction> = AuditAction::iter().take(16).collect();
    let writers = actions.iter().map(|&action| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            tx.append_audit(&ev(action), t0()).await.unwrap();
            tx.commit().await.unwrap();
        })
    });
    for w in futures::future::join_all(writers).await {
        w.unwrap();
    }
    let events = store.audit_events_after(0, 100).await.unwrap();
    assert_eq!(events.len(), 16);
    let mut prev = tumbler_domain::audit::GENESIS_HASH.to_owned();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1);
        assert_eq!(e.prev_hash, prev);
        assert_eq!(e.expected_hash(&prev, None), e.hash);
        prev = e.hash.clone();
    }
    assert_eq!(store.audit_head().await.unwrap(), (16, prev));
    let filter = tumbler_store::AuditFilter {
        action: Some(actions[3].as_str().to_owned()),
        limit: 10,
        ..Default::default()
    };
    let (found, total) = store.audit_events(&filter).await.unwrap();
    assert_eq!((found.len(), total), (1, 1));
    // Outcome and time range: every event is at t0 with the same outcome.
    let second = chrono::Duration::seconds(1);
    let count = |filter: tumbler_store::AuditFilter| {
        let store = store.clone();
        async move {
            let filter = tumbler_store::AuditFilter {
                limit: 100,
                ..filter
            };
            store.audit_events(&filter).await.unwrap().1
        }
    };
    let of = |outcome: &str| tumbler_store::AuditFilter {
        outcome: Some(outcome.to_owned()),
        ..Default::default()
    };
    let outcome = events[0].outcome.clone();
    assert_eq!(count(of(&outcome)).await, 16);
    assert_eq!(count(of("no-such-outcome")).await, 0);
    let within = |from, until| tumbler_store::AuditFilter {
        from,
        until,
        ..Default::default()
    };
    assert_eq!(count(within(Some(t0()), Some(t0() + second))).await, 16);
    assert_eq!(count(within(Some(t0() + second), None)).await, 0);
    assert_eq!(
        count(within(None, Some(t0()))).await,
        0,
        "until is exclusive"
    );
}

async fn uncommitted_changes_leave_nothing_behind(store: &Store) {
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

async fn sealed_secret_versions_are_never_overwritten(store: &Store) {
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

async fn meta_values_upsert(store: &Store) {
    assert_eq!(store.meta("k").await.unwrap(), None);
    for v in ["one", "two"] {
        let mut tx = store.begin().await.unwrap();
        tx.set_meta("k", v).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(store.meta("k").await.unwrap().as_deref(), Some("two"));
}

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

async fn a_domain_with_change_tasks_is_not_deleted(store: &Store) {
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
