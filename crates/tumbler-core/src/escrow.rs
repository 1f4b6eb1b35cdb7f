//! The escrow journal as the change engine uses it: a staged secret is appended (sealed under
//! the master key) before it can reach a target, and how each change settled after, so a
//! restored backup can be rolled forward (see `ChangeSecretService::replay_journal`).

use crate::Vault;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tumbler_escrow::{EscrowEntry, EscrowError, EscrowJournal};

/// Where the engine escrows its new secrets. Without a journal (tests that build the engine
/// by hand) nothing is escrowed; a server always has one.
#[derive(Clone)]
pub struct Escrow {
    journal: Option<Arc<EscrowJournal>>,
    vault: Vault,
    /// How long journal entries are kept (the oldest backup that can be rolled forward).
    keep: chrono::Duration,
    /// When old segments were last removed.
    last_compaction: Arc<std::sync::Mutex<Option<DateTime<Utc>>>>,
}

impl std::fmt::Debug for Escrow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Escrow")
            .field("journal", &self.journal)
            .finish_non_exhaustive()
    }
}

impl Escrow {
    /// Escrows into `journal`, sealing under `vault`'s master key, keeping entries for
    /// `keep_days`.
    pub fn new(journal: Arc<EscrowJournal>, vault: Vault, keep_days: u32) -> Self {
        Self {
            journal: Some(journal),
            vault,
            keep: chrono::Duration::days(i64::from(keep_days)),
            last_compaction: Arc::default(),
        }
    }

    /// Escrows nothing.
    pub fn none(vault: Vault) -> Self {
        Self {
            journal: None,
            vault,
            keep: chrono::Duration::MAX,
            last_compaction: Arc::default(),
        }
    }

    /// The journal, if any.
    pub fn journal(&self) -> Option<&Arc<EscrowJournal>> {
        self.journal.as_ref()
    }

    /// Appends `secret`, staged as `version` of `account`, and fsyncs it; the change must
    /// not go on when this fails.
    pub async fn staged(
        &self,
        account: &str,
        version: i64,
        at: DateTime<Utc>,
        secret: &[u8],
    ) -> Result<(), EscrowError> {
        let Some(journal) = self.journal.clone() else {
            return Ok(());
        };
        let entry = self
            .vault
            .with_master(|m| EscrowEntry::staged(m, account, version, at, secret))?;
        append(journal, entry).await
    }

    /// Appends that the change staging `version` of `account` settled with `current`
    /// working. Best effort (logged): without it a replay settles the account by login.
    pub async fn settled(&self, account: &str, version: i64, current: i64, at: DateTime<Utc>) {
        let Some(journal) = self.journal.clone() else {
            return;
        };
        let entry = self
            .vault
            .with_master(|m| EscrowEntry::settled(m, account, version, current, at));
        let done = match entry {
            Ok(entry) => append(journal, entry).await,
            Err(e) => Err(e),
        };
        if let Err(e) = done {
            tracing::warn!(account, version, error = %e, code = e.code(), "could not journal how a change settled; a replay will settle it by login");
        }
    }

    /// Removes the segments older than the kept days, at most once an hour (called by the
    /// background loop with the clock's now). Failures are logged.
    pub async fn compact_if_due(&self, now: DateTime<Utc>) {
        {
            let mut last = self
                .last_compaction
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| now - at < chrono::Duration::hours(1)) {
                return;
            }
            *last = Some(now);
        }
        let Some(keep_after) = now.checked_sub_signed(self.keep) else {
            return;
        };
        match self.compact(keep_after).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                removed = n,
                "escrow journal: segments past the kept days removed"
            ),
            Err(e) => {
                tracing::error!(error = %e, code = e.code(), "escrow journal compaction failed")
            }
        }
    }

    /// Removes journal segments whose newest entry is older than `keep_after`.
    pub async fn compact(&self, keep_after: DateTime<Utc>) -> Result<usize, EscrowError> {
        let Some(journal) = self.journal.clone() else {
            return Ok(0);
        };
        tokio::task::spawn_blocking(move || journal.compact(keep_after))
            .await
            .map_err(|e| EscrowError::Write {
                dir: "journal".to_owned(),
                source: std::io::Error::other(e.to_string()),
            })?
    }
}

/// How long an append may take (a hung network disk): past it the change does not go on.
const APPEND_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

async fn append(journal: Arc<EscrowJournal>, entry: EscrowEntry) -> Result<(), EscrowError> {
    let dir = journal.settings().dir.display().to_string();
    let failed = |why: String| EscrowError::Write {
        dir: dir.clone(),
        source: std::io::Error::other(why),
    };
    match tokio::time::timeout(
        APPEND_LIMIT,
        tokio::task::spawn_blocking(move || journal.append(&entry)),
    )
    .await
    {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => Err(failed(e.to_string())),
        Err(_) => Err(failed(format!(
            "the append took longer than {} s",
            APPEND_LIMIT.as_secs()
        ))),
    }
}
