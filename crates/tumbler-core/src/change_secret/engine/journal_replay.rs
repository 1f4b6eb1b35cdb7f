//! Rolling a restored store forward from the escrow journal: every account whose journal
//! holds a secret newer than the backup gets it staged, with the versions it may have come
//! from as fallbacks, in a run (trigger `restore`) that recovery settles by login at the next
//! start (pending, then current, then previous: the one that logs in is kept).

use super::ChangeEngine;
use crate::change_secret::ChangeSecretError;
use crate::{event, RequestOrigin};
use std::collections::{BTreeMap, HashSet};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus, Trigger};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::{AccountId, ChangeTaskId, DomainId, ExecutionId, RecordId};
use tumbler_escrow::{EntryKind, JournalScan, OpenedEntry};
use tumbler_store::{AccountRow, ExecutionRow, RecordRow, RollForward};
use zeroize::Zeroizing;

/// The node name a replay's runs carry: no node runs them, so the first recovery pass of any
/// node takes them over and settles their accounts.
pub const REPLAY_OWNER: &str = "journal-replay";

/// What a journal replay did. Names accounts by id, never a secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Entries read (every copy's duplicates counted once).
    pub entries_read: usize,
    /// Accounts staged with a newer secret from the journal, for recovery to settle.
    pub rolled_forward: usize,
    /// Accounts the journal names whose store already holds everything it says.
    pub up_to_date: usize,
    /// Accounts that could not be rolled forward, each with the reason.
    pub not_settled: Vec<String>,
    /// Entries that failed to open (altered, moved to another account or version, or sealed
    /// under another master key): never applied.
    pub refused_entries: Vec<String>,
    /// Lines that are not entries (an append cut short by a crash, or damage).
    pub damaged_lines: Vec<String>,
}

/// An account's versions after the replay: `pending` is tried first, then `current`, then
/// `previous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) pending: i64,
    pub(crate) current: i64,
    pub(crate) previous: Option<i64>,
    pub(crate) next_version: i64,
}

/// Where the journal says an account stands, from its entries in journal order, for an
/// account the store has at `current` (with `previous`, and `pending` staged or not).
/// `has_secret` says whether a version's secret is at hand (in the store or the journal).
/// `None` when the journal holds nothing newer than the store; `Some(Err(version))` when the
/// newest version the target may hold has no secret at hand (its entry was refused).
pub(crate) fn plan(
    current: i64,
    previous: Option<i64>,
    pending: Option<i64>,
    next_version: i64,
    entries: &[&OpenedEntry],
    has_secret: impl Fn(i64) -> bool,
) -> Option<Result<Layout, i64>> {
    let mut cur = current;
    let mut pend = pending;
    let mut history = Vec::new();
    let mut highest = next_version - 1;
    for e in entries {
        // Entries about versions the backup had already settled are older than the backup.
        if e.version <= current {
            continue;
        }
        highest = highest.max(e.version);
        match (e.kind, e.current) {
            (EntryKind::Staged, _) => pend = Some(e.version),
            (EntryKind::Settled, Some(now)) => {
                if now != cur {
                    history.push(cur);
                    cur = now;
                }
                if pend == Some(e.version) {
                    pend = None;
                }
            }
            (EntryKind::Settled, None) => {}
        }
    }
    if cur == current && pend == pending {
        return None;
    }
    let newest = pend.unwrap_or(cur);
    if !has_secret(newest) {
        return Some(Err(newest));
    }
    let mut candidates: Vec<i64> = Vec::new();
    let ordered = pend
        .into_iter()
        .chain(std::iter::once(cur))
        .chain(history.into_iter().rev())
        .chain(std::iter::once(current))
        .chain(previous);
    for v in ordered {
        if !candidates.contains(&v) && has_secret(v) {
            candidates.push(v);
        }
    }
    let (&first, rest) = candidates.split_first()?;
    let layout = Layout {
        pending: first,
        current: rest.first().copied().unwrap_or(current),
        previous: rest.get(1).copied(),
        next_version: highest + 1,
    };
    (layout.pending != layout.current).then_some(Ok(layout))
}

impl ChangeEngine {
    /// Replays the journal(s) `scans` into the store (a restored backup): see the module
    /// documentation. Run with the server stopped, before it starts again.
    /// Entries sealed under another master key than the vault's (written before or after a
    /// master key rotation) open with the matching key of `other_keys`.
    pub async fn replay_journal(
        &self,
        scans: &[JournalScan],
        other_keys: &[tumbler_crypto::MasterKey],
        origin: &RequestOrigin,
    ) -> Result<ReplayReport, ChangeSecretError> {
        let mut report = ReplayReport::default();
        let mut seen = HashSet::new();
        let mut by_account: BTreeMap<String, Vec<JournalItem>> = BTreeMap::new();
        for scan in scans {
            for d in &scan.damaged {
                report.damaged_lines.push(format!(
                    "{} line {}: {}",
                    d.segment.display(),
                    d.line,
                    d.what
                ));
            }
            for s in &scan.entries {
                let e = &s.entry;
                // The same entry in the journal and its copy (or two nodes' journals) counts once.
                if !seen.insert(e.to_line()?) {
                    continue;
                }
                report.entries_read += 1;
                let opened = self.vault.with_master(|m| {
                    if m.id() == e.key {
                        return e.open(m);
                    }
                    match other_keys.iter().find(|k| k.id() == e.key) {
                        Some(k) => e.open(k),
                        None => Err(tumbler_escrow::EscrowError::Open),
                    }
                });
                if let Err(err) = &opened {
                    report.refused_entries.push(format!(
                        "{} line {} (account {}, version {}): {err}",
                        s.segment.display(),
                        s.line,
                        e.account,
                        e.version
                    ));
                }
                let items = by_account.entry(e.account.clone()).or_default();
                items.push(JournalItem {
                    at_ms: e.at_ms,
                    order: items.len(),
                    version: e.version,
                    opened: opened.ok(),
                });
            }
        }
        let mut runs: BTreeMap<DomainId, ExecutionId> = BTreeMap::new();
        for (account_id, entries) in by_account {
            let id = AccountId::from_string(account_id.clone());
            let Some(account) = self.store.account(&id).await? else {
                report.not_settled.push(format!(
                    "account {account_id}: not in the restored store (created after the backup, or deleted)"
                ));
                continue;
            };
            match self.roll_forward(&account, entries, &mut runs, origin).await? {
                Rolled::Forward => report.rolled_forward += 1,
                Rolled::UpToDate => report.up_to_date += 1,
                Rolled::SecretMissing(v) => report.not_settled.push(format!(
                    "account {account_id} ({}@{}): the journal says version {v} may be on the target, but holds no readable secret for it (a refused entry?); nothing applied to it: give the missing key with --journal-key, or reconcile the account",
                    account.username, account.asset_name
                )),
                Rolled::ChangedMeanwhile => report.not_settled.push(format!(
                    "account {account_id} ({}@{}): changed while the replay ran (is a server running on this store? stop it first); nothing applied to it",
                    account.username, account.asset_name
                )),
            }
        }
        Ok(report)
    }

    /// Rolls one account forward from its journal entries (in any order: they are put in time
    /// order first; an entry that did not open counts as a version whose secret is missing).
    async fn roll_forward(
        &self,
        account: &AccountRow,
        mut items: Vec<JournalItem>,
        runs: &mut BTreeMap<DomainId, ExecutionId>,
        origin: &RequestOrigin,
    ) -> Result<Rolled, ChangeSecretError> {
        items.sort_by_key(|i| (i.at_ms, i.order));
        let refused: Vec<OpenedEntry> = items
            .iter()
            .filter(|i| i.opened.is_none())
            .map(|i| OpenedEntry {
                kind: EntryKind::Staged,
                account: account.id.to_string(),
                version: i.version,
                current: None,
                at: chrono::DateTime::from_timestamp_millis(i.at_ms).unwrap_or_default(),
                secret: Zeroizing::new(Vec::new()),
            })
            .collect();
        let mut refused_iter = refused.iter();
        let ordered: Vec<&OpenedEntry> = items
            .iter()
            .filter_map(|i| i.opened.as_ref().or_else(|| refused_iter.next()))
            .collect();
        let highest = items.iter().map(|i| i.version).max().unwrap_or(0);
        let mut journal_secrets: BTreeMap<i64, &Zeroizing<Vec<u8>>> = BTreeMap::new();
        for e in items
            .iter()
            .filter_map(|i| i.opened.as_ref())
            .filter(|e| e.kind == EntryKind::Staged)
        {
            // In time order: a version staged twice (a store restored before) keeps its newest.
            journal_secrets.insert(e.version, &e.secret);
        }
        let mut in_store = HashSet::new();
        let mut versions: Vec<i64> = journal_secrets.keys().copied().collect();
        versions.extend([account.current_version]);
        versions.extend(account.previous_version);
        versions.extend(account.pending_version);
        for v in versions {
            if self
                .store
                .sealed_secret(
                    tumbler_domain::secret_owner::SecretOwner::Account,
                    account.id.as_str(),
                    v,
                )
                .await?
                .is_some()
            {
                in_store.insert(v);
            }
        }
        // Whatever is applied, no later change may reuse a version the journal has seen.
        if highest >= account.next_version {
            let mut tx = self.store.begin().await?;
            tx.raise_next_version(&account.id, highest + 1).await?;
            tx.commit().await?;
        }
        let layout = match plan(
            account.current_version,
            account.previous_version,
            account.pending_version,
            account.next_version,
            &ordered,
            |v| in_store.contains(&v) || journal_secrets.contains_key(&v),
        ) {
            None => return Ok(Rolled::UpToDate),
            Some(Err(v)) => return Ok(Rolled::SecretMissing(v)),
            Some(Ok(layout)) => layout,
        };
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        for v in [Some(layout.pending), Some(layout.current), layout.previous]
            .into_iter()
            .flatten()
        {
            if in_store.contains(&v) {
                continue;
            }
            if let Some(secret) = journal_secrets.get(&v) {
                self.vault
                    .seal(
                        &mut tx,
                        tumbler_domain::secret_owner::SecretOwner::Account,
                        account.id.as_str(),
                        v,
                        secret,
                    )
                    .await?;
            }
        }
        if !tx
            .roll_forward_account(
                &account.id,
                (account.current_version, account.pending_version),
                &RollForward {
                    current: layout.current,
                    previous: layout.previous,
                    pending: layout.pending,
                    next_version: layout.next_version,
                },
                "restored from a backup: the escrow journal holds a newer secret; settling by login",
                now,
            )
            .await?
        {
            return Ok(Rolled::ChangedMeanwhile);
        }
        // The backup's own change of the account (staged when the backup was taken) is
        // superseded unless it stages the same version.
        let keeps_backup_record = account.pending_version == Some(layout.pending)
            && tx
                .record_of_pending_change(&account.id, layout.pending)
                .await?
                .is_some();
        if let Some(p) = account.pending_version.filter(|p| *p != layout.pending) {
            if let Some(mut old) = tx.record_of_pending_change(&account.id, p).await? {
                if old.status == RecordStatus::Pending {
                    old.status = RecordStatus::Failed;
                    old.reason_code = Some(FailureCode::Restored);
                    old.reason = "superseded by the journal replay after a restore".to_owned();
                    old.updated_at = now;
                    tx.update_record(&old).await?;
                }
            }
        }
        if !keeps_backup_record {
            let exec_id = match runs.get(&account.domain_id) {
                Some(id) => id.clone(),
                None => {
                    let id = ExecutionId::generate();
                    tx.insert_execution(&ExecutionRow {
                        id: id.clone(),
                        task_id: ChangeTaskId::from_string(REPLAY_OWNER),
                        task_name: "Journal replay after a restore".to_owned(),
                        domain_id: account.domain_id.clone(),
                        trigger: Trigger::Restore,
                        status: ExecutionStatus::Running,
                        owner_node: REPLAY_OWNER.to_owned(),
                        heartbeat_at: chrono::DateTime::UNIX_EPOCH,
                        created_by: origin.source.clone(),
                        created_at: now,
                        started_at: Some(now),
                        finished_at: None,
                    })
                    .await?;
                    tx.append_log_line(
                        &id,
                        now,
                        "journal replay: accounts whose escrowed secret is newer than the backup are staged; the next start settles each by login",
                    )
                    .await?;
                    runs.insert(account.domain_id.clone(), id.clone());
                    id
                }
            };
            tx.insert_record(&RecordRow {
                id: RecordId::generate(),
                execution_id: exec_id.clone(),
                account_id: account.id.clone(),
                asset_id: account.asset_id.clone(),
                asset_name: account.asset_name.clone(),
                domain_id: account.domain_id.clone(),
                username: account.username.clone(),
                status: RecordStatus::Pending,
                reason_code: None,
                reason: String::new(),
                old_version: Some(layout.current),
                new_version: Some(layout.pending),
                attempts: 0,
                new_secret_verified_at: None,
                created_at: now,
                updated_at: now,
            })
            .await?;
            tx.append_log_line(
                &exec_id,
                now,
                &format!(
                    "{}@{}: journal holds version {}; staged over {} (backup had {})",
                    account.username,
                    account.asset_name,
                    layout.pending,
                    layout.current,
                    account.current_version
                ),
            )
            .await?;
        }
        tx.append_audit(
            &event(
                &origin.source,
                AuditAction::AccountChangeReplay,
                ("account", account.id.as_str()),
                Outcome::Success,
                origin,
                format!(
                    "{}@{}: secret version {} from the escrow journal staged after a restore (store had {})",
                    account.username, account.asset_name, layout.pending, account.current_version
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Rolled::Forward)
    }
}

/// One journal entry of an account, opened or refused, with where it stood in the journal.
struct JournalItem {
    at_ms: i64,
    order: usize,
    version: i64,
    opened: Option<OpenedEntry>,
}

/// What the replay did to one account.
enum Rolled {
    /// The account changed between reading and writing it (a server runs on the store).
    ChangedMeanwhile,
    /// Staged with a newer secret.
    Forward,
    /// The store already holds what the journal says.
    UpToDate,
    /// The newest version the target may hold has no readable secret (its entry refused).
    SecretMissing(i64),
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn staged(v: i64) -> OpenedEntry {
        OpenedEntry {
            kind: EntryKind::Staged,
            account: "a".into(),
            version: v,
            current: None,
            at: Utc::now(),
            secret: Zeroizing::new(vec![]),
        }
    }

    fn settled(v: i64, now: i64) -> OpenedEntry {
        OpenedEntry {
            kind: EntryKind::Settled,
            current: Some(now),
            ..staged(v)
        }
    }

    fn run(entries: &[OpenedEntry], pending: Option<i64>) -> Option<(i64, i64, Option<i64>, i64)> {
        let refs: Vec<&OpenedEntry> = entries.iter().collect();
        plan(3, Some(2), pending, 4, &refs, |_| true)
            .map(|l| l.unwrap())
            .map(|l| (l.pending, l.current, l.previous, l.next_version))
    }

    #[test]
    fn two_committed_rotations_stage_the_newest_over_the_one_before() {
        let e = [staged(4), settled(4, 4), staged(5), settled(5, 5)];
        assert_eq!(run(&e, None), Some((5, 4, Some(3), 6)));
    }

    #[test]
    fn an_unsettled_stage_is_tried_first_then_the_last_commit() {
        let e = [staged(4), settled(4, 4), staged(5)];
        assert_eq!(run(&e, None), Some((5, 4, Some(3), 6)));
    }

    #[test]
    fn a_stage_that_never_reached_the_target_is_not_staged_again() {
        let e = [staged(4), settled(4, 3)];
        assert_eq!(run(&e, None), None);
        let e = [staged(4), settled(4, 3), staged(5), settled(5, 5)];
        assert_eq!(run(&e, None), Some((5, 3, Some(2), 6)));
    }

    #[test]
    fn entries_older_than_the_backup_change_nothing() {
        let e = [staged(2), settled(2, 2), staged(3), settled(3, 3)];
        assert_eq!(run(&e, None), None);
    }

    #[test]
    fn a_backup_taken_mid_change_rolls_forward_to_its_outcome() {
        // The backup has 4 staged; the journal says 4 was committed after it.
        let e = [staged(4), settled(4, 4)];
        assert_eq!(run(&e, Some(4)), Some((4, 3, Some(2), 5)));
        // Nothing after the stage: the store already says what the journal says.
        assert_eq!(run(&[staged(4)], Some(4)), None);
    }

    #[test]
    fn a_version_without_a_secret_is_skipped_and_a_missing_newest_is_said() {
        let e = [staged(4), settled(4, 4), staged(5), settled(5, 5)];
        let refs: Vec<&OpenedEntry> = e.iter().collect();
        let l = plan(3, Some(2), None, 4, &refs, |v| v != 4)
            .unwrap()
            .unwrap();
        assert_eq!((l.pending, l.current, l.previous), (5, 3, Some(2)));
        assert_eq!(plan(3, Some(2), None, 4, &refs, |v| v != 5), Some(Err(5)));
    }
}
