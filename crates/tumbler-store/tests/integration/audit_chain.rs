//! The audit chain stays one line under concurrent appends.

use super::*;

pub(super) async fn audit_chain_stays_linear_under_concurrent_appends(store: &Store) {
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
