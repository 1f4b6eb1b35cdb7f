//! The audit log: events for every mutation, a verifiable chain that reveals tampering, and
//! requests that fail when their event cannot be written.

use super::support::{error_code, typed};
use serde_json::{json, Value};
use sqlx::AnyPool;
use std::sync::Arc;
use tumbler_api_types::Page;
use tumbler_core::audit::ChainReport;
use tumbler_domain::audit::AuditEvent;
use tumbler_domain::SystemClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

async fn raw(app: &TestApp) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPool::connect(&app.config.database_url()).await.unwrap()
}

async fn verify(app: &TestApp, token: &str) -> ChainReport {
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/audit/verify"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    typed(res.json().await.unwrap())
}

/// The `audit.chain.keyed` marker events.
async fn keying_markers(app: &TestApp, token: &str) -> Page<AuditEvent> {
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/audit?action=audit.chain.keyed"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    typed(res.json().await.unwrap())
}

async fn tampering_is_found_at_the_altered_event(kind: StoreKind) {
    let app = TestApp::spawn_on(kind, Arc::new(SystemClock)).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    for _ in 0..3 {
        let res = reqwest::Client::new()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": "not-the-password-xyz"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let report = verify(&app, &token).await;
    assert!(report.ok, "{report:?}");
    let checked = report.events_checked;
    assert!(
        checked >= 6,
        "bootstrap, data key, password change, token, failures: {report:?}"
    );

    let list: Page<AuditEvent> = reqwest::Client::new()
        .get(app.url("/api/v1/audit?action=auth.login"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.total, 3);
    assert_eq!(list.items[0].outcome, "failure");
    assert_eq!(list.items[0].detail, "wrong_password");

    // An attacker with database access disables the append-only guard and edits one event.
    let pool = raw(&app).await;
    let victim = list.items[1].seq;
    let disable = match kind {
        StoreKind::Sqlite => "DROP TRIGGER audit_events_no_update",
        StoreKind::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change",
    };
    sqlx::query(disable).execute(&pool).await.unwrap();
    sqlx::query(&format!(
        "UPDATE audit_events SET detail = 'nothing happened' WHERE seq = {victim}"
    ))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let report = verify(&app, &token).await;
    assert!(!report.ok);
    assert_eq!(report.first_broken_seq, Some(victim), "{report:?}");
    app.stop().await;
}

#[tokio::test]
async fn sqlite_tampering_is_found_at_the_altered_event() {
    tampering_is_found_at_the_altered_event(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn postgres_tampering_is_found_at_the_altered_event() {
    tampering_is_found_at_the_altered_event(StoreKind::Postgres).await;
}

#[tokio::test]
async fn audit_events_cannot_be_updated_or_deleted_through_sql() {
    let app = TestApp::spawn().await;
    let pool = raw(&app).await;
    assert!(sqlx::query("UPDATE audit_events SET detail = 'x'")
        .execute(&pool)
        .await
        .is_err());
    assert!(sqlx::query("DELETE FROM audit_events")
        .execute(&pool)
        .await
        .is_err());
    pool.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_request_whose_audit_event_cannot_be_written_fails_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let pool = raw(&app).await;
    sqlx::query("CREATE TRIGGER audit_refuses BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        .execute(&pool)
        .await
        .unwrap();
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/users/me/tokens"))
        .bearer_auth(&token)
        .json(&json!({"name": "second", "current_password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    // Raw JSON on purpose: the detail must be nowhere in the answer's text.
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "internal_error");
    assert!(
        !body.to_string().contains("disk full"),
        "internal details stay in the log"
    );

    let res = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500, "no session without its audit event");
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let tokens: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((sessions, tokens), (0, 1));
    pool.close().await;
    app.stop().await;
}

#[tokio::test]
async fn only_admins_and_auditors_read_the_audit_log() {
    let app = TestApp::spawn().await;
    // The admin with a pending password change is refused like anyone without the right.
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/audit"))
        .basic_auth("admin", Some(&app.initial_admin_password))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    app.stop().await;
}

/// What an attacker who can write the SQLite file (but has no master key) does: rewrites the
/// details of the events after `from_seq` and recomputes every link from there as plain
/// SHA-256, the chain head included.
async fn rewrite_tail_with_plain_hashes(pool: &AnyPool, from_seq: i64) {
    rewrite_with_plain_hashes(pool, from_seq, i64::MAX).await;
}

/// [`rewrite_tail_with_plain_hashes`] for the events `from_seq..until_seq` only (the head is
/// rewritten only with the tail).
async fn rewrite_with_plain_hashes(pool: &AnyPool, from_seq: i64, until_seq: i64) {
    use sqlx::Row;
    let postgres = pool.acquire().await.unwrap().backend_name() == "PostgreSQL";
    let disable = if postgres {
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"
    } else {
        "DROP TRIGGER IF EXISTS audit_events_no_update"
    };
    sqlx::query(disable).execute(pool).await.unwrap();
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, object_kind, object_id, outcome, source, detail, prev_hash \
         FROM audit_events WHERE seq >= $1 AND seq < $2 ORDER BY seq",
    )
    .bind(from_seq)
    .bind(until_seq)
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(!rows.is_empty());
    let mut prev: String = rows[0].get("prev_hash");
    for r in &rows {
        let seq: i64 = r.get("seq");
        let at: i64 = r.get("at");
        let detail = "nothing happened";
        let hash = tumbler_domain::audit::chain_hash(
            None,
            &prev,
            seq,
            at,
            r.get("actor"),
            r.get("action"),
            r.get("object_kind"),
            r.get("object_id"),
            r.get("outcome"),
            r.get("source"),
            detail,
        );
        sqlx::query(
            "UPDATE audit_events SET detail = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
        )
        .bind(detail)
        .bind(&prev)
        .bind(&hash)
        .bind(seq)
        .execute(pool)
        .await
        .unwrap();
        prev = hash;
    }
    if until_seq == i64::MAX {
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
            .bind(&prev)
            .execute(pool)
            .await
            .unwrap();
    }
}

async fn failed_logins(app: &TestApp, n: usize) {
    for _ in 0..n {
        let res = reqwest::Client::new()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": "not-the-password-xyz"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
}

#[tokio::test]
async fn a_tail_rewritten_with_recomputed_plain_hashes_is_found() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    failed_logins(&app, 3).await;
    let report = verify(&app, &token).await;
    assert!(report.ok, "{report:?}");
    let total = report.events_checked;

    // The chain is keyed from a marker event near its start; events before it are plain.
    let marker = keying_markers(&app, &token).await;
    assert_eq!(marker.total, 1, "{marker:?}");
    let keyed_from = marker.items[0].seq;
    assert!(keyed_from > 1 && keyed_from < total, "{marker:?}");

    // The last two events rewritten, their links and the head recomputed as plain SHA-256.
    let pool = raw(&app).await;
    rewrite_tail_with_plain_hashes(&pool, total - 1).await;
    let report = verify(&app, &token).await;
    assert!(!report.ok, "{report:?}");
    assert_eq!(report.first_broken_seq, Some(total - 1), "{report:?}");

    // Rewriting the whole chain as plain SHA-256 (dropping the keying) is found too.
    rewrite_tail_with_plain_hashes(&pool, 1).await;
    pool.close().await;
    let report = verify(&app, &token).await;
    assert!(!report.ok, "{report:?}");
    assert_eq!(report.first_broken_seq, Some(keyed_from), "{report:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_chain_from_before_keying_is_upgraded_by_a_marker_that_anchors_it() {
    // A store an older Tumbler wrote: events with plain SHA-256 links only.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let store =
        tumbler_store::Store::connect(&format!("sqlite://{}", data.join("tumbler.db").display()))
            .await
            .unwrap();
    store.migrate().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    for action in [
        tumbler_domain::audit::AuditAction::UserCreate,
        tumbler_domain::audit::AuditAction::UserUpdate,
        tumbler_domain::audit::AuditAction::UserDelete,
    ] {
        tx.append_audit(
            &tumbler_domain::audit::NewAuditEvent {
                actor: "old".to_owned(),
                action,
                object_kind: "test".to_owned(),
                object_id: String::new(),
                outcome: tumbler_domain::audit::Outcome::Success,
                source: "host".to_owned(),
                detail: "before keying".to_owned(),
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    store.close().await;

    let app = TestApp::spawn_configured(StoreKind::Sqlite, Arc::new(SystemClock), |c| {
        c.data_dir = data.clone();
    })
    .await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let report = verify(&app, &token).await;
    assert!(report.ok, "{report:?}");
    let marker = keying_markers(&app, &token).await;
    assert_eq!(marker.total, 1, "{marker:?}");
    let keyed_from = marker.items[0].seq;
    assert!(keyed_from > 3, "the old events come first: {marker:?}");

    // The old, plain part is anchored by the keyed marker: rewriting it with recomputed
    // plain hashes breaks the marker's link.
    let pool = raw(&app).await;
    rewrite_with_plain_hashes(&pool, 2, keyed_from).await;
    pool.close().await;
    let report = verify(&app, &token).await;
    assert!(!report.ok, "{report:?}");
    assert_eq!(report.first_broken_seq, Some(keyed_from), "{report:?}");
    app.stop().await;
}

async fn count(pool: &AnyPool, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(pool)
        .await
        .unwrap()
        .get::<i64, _>(0)
}

/// The attack on keying: with the database but not the master key, rewrite the whole history
/// with plain SHA-256 links and delete the sealed chain key. The next start must not key the
/// chain again at its tail (which would make everything before the new marker verify), and
/// verification reports the tampering without writing anything.
/// With `drop_marker`, the `audit.chain.keyed` event is relabelled too, so that the store
/// looks as if it had never been keyed.
async fn a_deleted_chain_key_is_tampering_not_a_reason_to_key_again(
    kind: StoreKind,
    drop_marker: bool,
) {
    let app = TestApp::spawn_on(kind, Arc::new(SystemClock)).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    failed_logins(&app, 2).await;
    let report = verify(&app, &token).await;
    assert!(report.ok, "{report:?}");

    let TestApp {
        server,
        services,
        config,
        pg,
        data_dir: _data_dir,
        ..
    } = app;
    server.shutdown();
    services.store.close().await;
    server.wait().await.unwrap();

    let pool = {
        sqlx::any::install_default_drivers();
        AnyPool::connect(&config.database_url()).await.unwrap()
    };
    let marker_seq = count(
        &pool,
        "SELECT seq FROM audit_events WHERE action = 'audit.chain.keyed'",
    )
    .await;
    let markers_left = if drop_marker {
        let disable = match kind {
            StoreKind::Sqlite => "DROP TRIGGER audit_events_no_update",
            StoreKind::Postgres => {
                "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"
            }
        };
        sqlx::query(disable).execute(&pool).await.unwrap();
        sqlx::query("UPDATE audit_events SET action = 'auth.login' WHERE seq = $1")
            .bind(marker_seq)
            .execute(&pool)
            .await
            .unwrap();
        0
    } else {
        1
    };
    let broken_at = if drop_marker { 1 } else { marker_seq };
    rewrite_tail_with_plain_hashes(&pool, 1).await;
    let deleted = sqlx::query("DELETE FROM secrets WHERE owner_kind = 'audit_chain'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected(), 1);

    let master = tumbler_core::MasterKeySource::File {
        path: config.master_key_file(),
        create: false,
    };
    let server = tumbler_server::start(&config, &master, Arc::new(SystemClock))
        .await
        .expect("server restarts");
    // The start keyed nothing again: no new key, one marker only.
    let keys = "SELECT COUNT(*) FROM secrets WHERE owner_kind = 'audit_chain'";
    let markers = "SELECT COUNT(*) FROM audit_events WHERE action = 'audit.chain.keyed'";
    assert_eq!(count(&pool, keys).await, 0);
    assert_eq!(count(&pool, markers).await, markers_left);

    let verify_at = |url: String| {
        let token = token.clone();
        async move {
            let res = reqwest::Client::new()
                .get(format!("{url}/api/v1/audit/verify"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            typed::<ChainReport>(res.json().await.unwrap())
        }
    };
    let events = "SELECT COUNT(*) FROM audit_events";
    let before = count(&pool, events).await;
    for _ in 0..2 {
        let report = verify_at(server.url()).await;
        assert!(!report.ok, "{report:?}");
        assert_eq!(report.first_broken_seq, Some(broken_at), "{report:?}");
        assert!(
            report.reason.as_deref().unwrap().contains("tampered"),
            "{report:?}"
        );
    }
    // Verifying wrote nothing.
    assert_eq!(count(&pool, events).await, before);
    assert_eq!(count(&pool, keys).await, 0);
    assert_eq!(count(&pool, markers).await, markers_left);
    pool.close().await;
    server.shutdown();
    server.wait().await.unwrap();
    if let Some(pg) = pg {
        pg.drop_db().await;
    }
}

/// One test per store and per what was deleted (the key alone, or the key and its marker).
macro_rules! deleted_chain_key_tests {
    ($($name:ident: $kind:expr, $marker_too:expr;)+) => {$(
        #[tokio::test]
        async fn $name() {
            a_deleted_chain_key_is_tampering_not_a_reason_to_key_again($kind, $marker_too).await;
        }
    )+};
}

deleted_chain_key_tests! {
    sqlite_a_deleted_chain_key_is_tampering_not_a_reason_to_key_again: StoreKind::Sqlite, false;
    sqlite_a_deleted_chain_key_and_marker_are_tampering_not_a_new_store: StoreKind::Sqlite, true;
    postgres_a_deleted_chain_key_and_marker_are_tampering_not_a_new_store: StoreKind::Postgres, true;
    postgres_a_deleted_chain_key_is_tampering_not_a_reason_to_key_again: StoreKind::Postgres, false;
}

/// A second `audit.chain.keyed` marker, as a re-keying at the tail would leave, is reported.
#[tokio::test]
async fn a_second_keying_marker_is_reported() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let pool = raw(&app).await;
    sqlx::query("DROP TRIGGER IF EXISTS audit_events_no_update")
        .execute(&pool)
        .await
        .unwrap();
    failed_logins(&app, 1).await;
    // The newest event relabelled as a marker (and its link recomputed plain, as if keyed
    // from there on): verification stops at it.
    let last = count(&pool, "SELECT MAX(seq) FROM audit_events").await;
    sqlx::query("UPDATE audit_events SET action = 'audit.chain.keyed' WHERE seq = $1")
        .bind(last)
        .execute(&pool)
        .await
        .unwrap();
    rewrite_tail_with_plain_hashes(&pool, last).await;
    pool.close().await;
    let report = verify(&app, &token).await;
    assert!(!report.ok, "{report:?}");
    assert_eq!(report.first_broken_seq, Some(last), "{report:?}");
    assert!(
        report
            .reason
            .as_deref()
            .unwrap()
            .contains("second keying marker"),
        "{report:?}"
    );
    app.stop().await;
}
