//! Reading and verifying the audit log. Events are appended by the services, inside the
//! transaction of the change they describe.

use crate::audit_chain::ChainState;
use crate::{event, Principal, RequestOrigin};
use std::sync::Arc;
pub use tumbler_domain::audit::ChainReport;
use tumbler_domain::audit::{AuditAction, AuditEvent, Outcome, CHAIN_KEYED_ACTION, GENESIS_HASH};
use tumbler_domain::permission::Permission;
use tumbler_domain::Clock;
use tumbler_store::{AuditFilter, Store, StoreError};

fn require_reader(principal: &Principal) -> Result<(), AuditError> {
    if principal.can(Permission::AuditRead) {
        Ok(())
    } else {
        Err(AuditError::Forbidden)
    }
}

/// What went wrong reading the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The caller may not read the audit log.
    #[error("you do not have permission to read the audit log")]
    Forbidden,
    /// The store failed.
    #[error("internal error")]
    Store(#[from] StoreError),
    /// Writing the CSV export failed.
    #[error("internal error")]
    Csv(#[from] crate::csv_cells::CsvWriteError),
    /// More events match than one export may hold.
    #[error("{matched} events match, and an export holds at most {max}: narrow the filters (a shorter time range, one action or actor)")]
    ExportTooLarge {
        /// Events matching the filters.
        matched: i64,
        /// The most one export holds.
        max: i64,
    },
}

/// The most events one CSV export holds unless configured otherwise.
pub const DEFAULT_EXPORT_MAX_ROWS: u32 = 100_000;

impl AuditError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::ExportTooLarge { .. } => "export_too_large",
            Self::Store(_) | Self::Csv(_) => "internal_error",
        }
    }
}

/// The filters of an export, as its audit event records them (`filters: none` for all).
fn describe(filter: &AuditFilter) -> String {
    let mut parts = Vec::new();
    for (name, value) in [
        ("action", &filter.action),
        ("actor", &filter.actor),
        ("object", &filter.object_id),
        ("outcome", &filter.outcome),
    ] {
        if let Some(v) = value {
            parts.push(format!("{name}={v}"));
        }
    }
    if let Some(from) = filter.from {
        parts.push(format!("from={}", from.to_rfc3339()));
    }
    if let Some(until) = filter.until {
        parts.push(format!("until={}", until.to_rfc3339()));
    }
    if parts.is_empty() {
        "filters: none".to_owned()
    } else {
        format!("filters: {}", parts.join(", "))
    }
}

/// Audit log reads and chain verification.
#[derive(Clone)]
pub struct AuditService {
    store: Store,
    /// The chain key, or why there is none (verification then reports the chain broken).
    chain: ChainState,
    /// The time of the export's own audit event.
    clock: Arc<dyn Clock>,
    /// The most events one export holds.
    export_max_rows: i64,
}

const PAGE: i64 = 1000;

/// The columns of the CSV export.
const CSV_HEADER: [&str; 10] = [
    "seq",
    "at",
    "actor",
    "action",
    "object_kind",
    "object_id",
    "outcome",
    "source",
    "detail",
    "hash",
];

impl std::fmt::Debug for AuditService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditService")
            .field("store", &self.store)
            .field("chain", &self.chain)
            .field("export_max_rows", &self.export_max_rows)
            .finish_non_exhaustive()
    }
}

impl AuditService {
    /// A service over `store` that checks the keyed part of the chain with the key in `chain`
    /// ([`crate::audit_chain::ensure_chain_key`], [`crate::audit_chain::read_chain_state`]).
    pub fn new(store: Store, chain: ChainState, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            chain,
            clock,
            export_max_rows: i64::from(DEFAULT_EXPORT_MAX_ROWS),
        }
    }

    /// The same service with at most `max` events in one export.
    pub fn with_export_max_rows(mut self, max: u32) -> Self {
        self.export_max_rows = i64::from(max);
        self
    }

    /// The most events one export holds.
    pub fn export_max_rows(&self) -> i64 {
        self.export_max_rows
    }

    /// Events matching `filter`, newest first, with the total count.
    pub async fn list(
        &self,
        principal: &Principal,
        filter: &AuditFilter,
    ) -> Result<(Vec<AuditEvent>, i64), AuditError> {
        require_reader(principal)?;
        Ok(self.store.audit_events(filter).await?)
    }

    /// Every event matching `filter` (its page bounds ignored), newest first, as CSV: the
    /// columns of an event, each cell made inert for spreadsheets. Events carry no secret.
    ///
    /// At most [`AuditService::export_max_rows`] events: when more match, nothing is exported
    /// and [`AuditError::ExportTooLarge`] says how many. Either way the export is itself
    /// audited (`audit.export`: who, with which filters, how many events).
    pub async fn export_csv(
        &self,
        principal: &Principal,
        filter: &AuditFilter,
        origin: &RequestOrigin,
    ) -> Result<String, AuditError> {
        require_reader(principal)?;
        let mut all = filter.clone();
        all.limit = self.export_max_rows;
        all.offset = 0;
        let (events, matched) = self.store.audit_events(&all).await?;
        let described = describe(filter);
        if matched > self.export_max_rows {
            self.record_export(
                principal,
                origin,
                Outcome::Failure,
                format!(
                    "{described}; refused: {matched} events match, at most {} per export",
                    self.export_max_rows
                ),
            )
            .await?;
            return Err(AuditError::ExportTooLarge {
                matched,
                max: self.export_max_rows,
            });
        }
        let mut writer = crate::csv_cells::InertCsvWriter::new();
        writer.row(CSV_HEADER)?;
        for e in &events {
            writer.row([
                e.seq.to_string(),
                e.at.to_rfc3339(),
                e.actor.clone(),
                e.action.clone(),
                e.object_kind.clone(),
                e.object_id.clone(),
                e.outcome.clone(),
                e.source.clone(),
                e.detail.clone(),
                e.hash.clone(),
            ])?;
        }
        let csv = writer.finish()?.as_str().to_owned();
        self.record_export(
            principal,
            origin,
            Outcome::Success,
            format!("{described}; {} events", events.len()),
        )
        .await?;
        Ok(csv)
    }

    /// Appends the `audit.export` event.
    async fn record_export(
        &self,
        principal: &Principal,
        origin: &RequestOrigin,
        outcome: Outcome,
        detail: String,
    ) -> Result<(), AuditError> {
        let mut tx = self.store.begin().await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::AuditExport,
                ("audit", ""),
                outcome,
                origin,
                detail,
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`AuditService::verify`] for a caller, who must be allowed to read the audit log.
    pub async fn verify_as(&self, principal: &Principal) -> Result<ChainReport, AuditError> {
        require_reader(principal)?;
        self.verify().await
    }

    /// Walks the whole chain and reports the first broken link: an altered event, a missing or
    /// reordered one, or a chain head that does not match the last event. Links from the
    /// `audit.chain.keyed` event on are checked as HMAC-SHA256 under the chain key, so a
    /// tail rewritten with recomputed plain hashes is found. A keying marker anywhere but at
    /// the keyed chain's start, or a marker without a sealed key, is tampering. Writes nothing.
    pub async fn verify(&self) -> Result<ChainReport, AuditError> {
        let chain = match &self.chain {
            ChainState::Keyed(k) => k,
            ChainState::NotKeyed => {
                return Ok(ChainReport {
                    ok: false,
                    events_checked: 0,
                    first_broken_seq: Some(1),
                    reason: Some(
                        "the audit chain is not keyed yet: start the server once to key it"
                            .to_owned(),
                    ),
                })
            }
            ChainState::KeyMissing { marker_seq } => {
                return Ok(ChainReport {
                    ok: false,
                    events_checked: 0,
                    first_broken_seq: Some(*marker_seq),
                    reason: Some(
                        "the audit chain key is missing from the vault although the chain was \
                         keyed: the store has been tampered with"
                            .to_owned(),
                    ),
                })
            }
        };
        let key = chain.key.bytes();
        let (head_seq, head_hash) = self.store.audit_head().await?;
        let mut prev_hash = GENESIS_HASH.to_owned();
        let mut expected_seq = 1;
        let mut checked = 0;
        let broken = |seq: i64, checked: i64, reason: &str| ChainReport {
            ok: false,
            events_checked: checked,
            first_broken_seq: Some(seq),
            reason: Some(reason.to_owned()),
        };
        loop {
            let page = self
                .store
                .audit_events_after(expected_seq - 1, PAGE)
                .await?;
            if page.is_empty() {
                break;
            }
            for ev in &page {
                if ev.seq != expected_seq {
                    return Ok(broken(expected_seq, checked, "event missing"));
                }
                if ev.prev_hash != prev_hash {
                    return Ok(broken(ev.seq, checked, "previous hash does not match"));
                }
                let link_key = (ev.seq >= chain.keyed_from).then_some(key);
                if ev.seq == chain.keyed_from && ev.action != CHAIN_KEYED_ACTION.as_str() {
                    return Ok(broken(
                        ev.seq,
                        checked,
                        "the keyed chain's first event is missing",
                    ));
                }
                if ev.action == CHAIN_KEYED_ACTION.as_str() && ev.seq != chain.keyed_from {
                    return Ok(broken(
                        ev.seq,
                        checked,
                        "a second keying marker: the chain was keyed again",
                    ));
                }
                if ev.expected_hash(&prev_hash, link_key) != ev.hash {
                    return Ok(broken(
                        ev.seq,
                        checked,
                        "event content does not match its hash",
                    ));
                }
                prev_hash = ev.hash.clone();
                expected_seq += 1;
                checked += 1;
            }
        }
        if checked < chain.keyed_from {
            return Ok(broken(
                checked + 1,
                checked,
                "events from the keyed chain's first event on are missing",
            ));
        }
        if checked != head_seq || prev_hash != head_hash {
            return Ok(broken(
                checked + 1,
                checked,
                "chain head does not match the last event",
            ));
        }
        Ok(ChainReport {
            ok: true,
            events_checked: checked,
            first_broken_seq: None,
            reason: None,
        })
    }
}
