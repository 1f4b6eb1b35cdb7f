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
#[path = "integration/credentials.rs"]
mod credentials;
use credentials::{
    sessions_insert_find_and_end, tokens_revoke_once_and_only_for_their_owner,
    users_are_unique_by_name_and_round_trip,
};
#[path = "integration/audit_chain.rs"]
mod audit_chain;
use audit_chain::audit_chain_stays_linear_under_concurrent_appends;
#[path = "integration/transactions.rs"]
mod transactions;
use transactions::{
    meta_values_upsert, sealed_secret_versions_are_never_overwritten,
    uncommitted_changes_leave_nothing_behind,
};
#[path = "integration/backup.rs"]
mod backup;
#[path = "integration/domains.rs"]
mod domains;
use domains::a_domain_with_change_tasks_is_not_deleted;

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
