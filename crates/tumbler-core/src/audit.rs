//! Reading and verifying the audit log. Events are appended by the services, inside the
//! transaction of the change they describe.

use crate::Principal;
use tumbler_domain::audit::{AuditEvent, GENESIS_HASH};
use tumbler_domain::permission::Permission;
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
}

impl AuditError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::Store(_) => "internal_error",
        }
    }
}

/// The result of checking the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainReport {
    /// Whether every link holds.
    pub ok: bool,
    /// Events checked.
    pub events_checked: i64,
    /// Sequence number of the first broken link, if any.
    pub first_broken_seq: Option<i64>,
    /// Why that link is broken.
    pub reason: Option<String>,
}

/// Audit log reads and chain verification.
#[derive(Debug, Clone)]
pub struct AuditService {
    store: Store,
}

const PAGE: i64 = 1000;

impl AuditService {
    /// A service over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
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

    /// [`AuditService::verify`] for a caller, who must be allowed to read the audit log.
    pub async fn verify_as(&self, principal: &Principal) -> Result<ChainReport, AuditError> {
        require_reader(principal)?;
        self.verify().await
    }

    /// Walks the whole chain and reports the first broken link: an altered event, a missing or
    /// reordered one, or a chain head that does not match the last event.
    pub async fn verify(&self) -> Result<ChainReport, AuditError> {
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
                if ev.expected_hash(&prev_hash) != ev.hash {
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
