//! `tumbler audit verify`: a tampered event, a tail rewritten with plain hashes, a deleted
//! chain key.

use super::{basic_me, stdout, tumbler, Server};

#[tokio::test]
async fn audit_verify_reports_the_tampered_event() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let pw = server.initial_password.clone().unwrap();
    for _ in 0..2 {
        basic_me(&server.url, "admin", "wrong-password-1234567").await;
        basic_me(&server.url, "admin", &pw).await;
    }
    let out = tumbler(&["audit", "verify"], dir.path());
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("intact"));

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!(
        "sqlite://{}",
        dir.path().join("tumbler.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("DROP TRIGGER audit_events_no_update")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET detail = 'edited' WHERE seq = 4")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = tumbler(&["audit", "verify"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("BROKEN at event 4"),
        "{}",
        stdout(&out)
    );
    server.stop();
}

#[tokio::test]
async fn audit_verify_finds_a_tail_rewritten_with_plain_hashes() {
    use sqlx::Row;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let pw = server.initial_password.clone().unwrap();
    for _ in 0..2 {
        basic_me(&server.url, "admin", "wrong-password-1234567").await;
        basic_me(&server.url, "admin", &pw).await;
    }
    server.stop();
    let out = tumbler(&["audit", "verify"], dir.path());
    assert!(out.status.success(), "{}", stdout(&out));

    // Someone with the database file but not the master key rewrites the last event and
    // recomputes its link and the head as plain SHA-256.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!(
        "sqlite://{}",
        dir.path().join("tumbler.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("DROP TRIGGER audit_events_no_update")
        .execute(&pool)
        .await
        .unwrap();
    let last = sqlx::query(
        "SELECT seq, at, actor, action, object_kind, object_id, outcome, source, prev_hash \
         FROM audit_events ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let seq: i64 = last.get("seq");
    let hash = tumbler_domain::audit::chain_hash(
        None,
        last.get("prev_hash"),
        seq,
        last.get("at"),
        last.get("actor"),
        last.get("action"),
        last.get("object_kind"),
        last.get("object_id"),
        last.get("outcome"),
        last.get("source"),
        "edited",
    );
    sqlx::query("UPDATE audit_events SET detail = 'edited', hash = $1 WHERE seq = $2")
        .bind(&hash)
        .bind(seq)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = tumbler(&["audit", "verify"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!("BROKEN at event {seq}")),
        "{}",
        stdout(&out)
    );
}

/// With the database but not the master key: the whole history rewritten with plain SHA-256
/// links and the sealed chain key deleted. `tumbler audit verify` reports tampering and, run
/// twice, writes nothing (it used to key the chain again at its tail, accepting the rewrite).
#[tokio::test]
async fn audit_verify_reports_a_deleted_chain_key_and_writes_nothing() {
    use sqlx::Row;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let pw = server.initial_password.clone().unwrap();
    basic_me(&server.url, "admin", "wrong-password-1234567").await;
    basic_me(&server.url, "admin", &pw).await;
    server.stop();

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!(
        "sqlite://{}",
        dir.path().join("tumbler.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("DROP TRIGGER audit_events_no_update")
        .execute(&pool)
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, object_kind, object_id, outcome, source, detail \
         FROM audit_events ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut prev = tumbler_domain::audit::GENESIS_HASH.to_owned();
    for r in &rows {
        let seq: i64 = r.get("seq");
        let hash = tumbler_domain::audit::chain_hash(
            None,
            &prev,
            seq,
            r.get("at"),
            r.get("actor"),
            r.get("action"),
            r.get("object_kind"),
            r.get("object_id"),
            r.get("outcome"),
            r.get("source"),
            r.get("detail"),
        );
        sqlx::query("UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE seq = $3")
            .bind(&prev)
            .bind(&hash)
            .bind(seq)
            .execute(&pool)
            .await
            .unwrap();
        prev = hash;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM secrets WHERE owner_kind = 'audit_chain'")
        .execute(&pool)
        .await
        .unwrap();
    let state = "SELECT (SELECT COUNT(*) FROM audit_events) * 1000 \
                 + (SELECT COUNT(*) FROM secrets WHERE owner_kind = 'audit_chain')";
    let before: i64 = sqlx::query(state).fetch_one(&pool).await.unwrap().get(0);
    for _ in 0..2 {
        let out = tumbler(&["audit", "verify"], dir.path());
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        assert!(stdout(&out).contains("tampered"), "{}", stdout(&out));
    }
    let after: i64 = sqlx::query(state).fetch_one(&pool).await.unwrap().get(0);
    assert_eq!(after, before, "verify wrote an event or a key");
    pool.close().await;
}
