//! Drift: a periodic verify of every account. Each account has its own slot in the interval
//! (a stable hash of its id), so one interval's logins are spread evenly over it; a pass
//! checks the accounts whose slot has come and that nothing verified since, at most
//! `concurrency` at once, never an account that is `changing`. An account whose stored secret
//! no longer logs in (the target refused it, not merely did not answer) is marked
//! `needs_attention` with reason code `drift`, audited (`account.drift`), and reconciled when
//! `auto_reconcile` is on.

use super::target::Login;
use super::ChangeEngine;
use crate::change_secret::ChangeSecretError;
use crate::{event, RequestOrigin};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::AccountId;
use tumbler_domain::inventory::AccountStatus;
use tumbler_domain::platform;
use tumbler_store::{AccountFilter, AccountRow};

/// The reason code of an account whose stored secret stopped working.
pub const DRIFT_CODE: &str = "drift";

/// The most accounts one pass reads.
const MAX_ACCOUNTS: i64 = 1_000_000;

/// How drift checks run (the `[drift]` configuration).
#[derive(Debug, Clone)]
pub struct DriftSettings {
    /// Every account is verified once per interval; zero turns drift checks off.
    pub interval: Duration,
    /// Logins at once.
    pub concurrency: usize,
    /// Reconcile a drifted account at once.
    pub auto_reconcile: bool,
}

impl Default for DriftSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(86_400),
            concurrency: 4,
            auto_reconcile: false,
        }
    }
}

/// Which accounts a pass checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftScope {
    /// Every account (not `changing`), now.
    All,
    /// The accounts whose slot in the current interval has come and that were not verified
    /// since (what the periodic sweep runs).
    Due,
}

/// What a drift pass found.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DriftReport {
    /// Accounts logged in with.
    pub checked: usize,
    /// Of those, whose stored secret works.
    pub working: usize,
    /// Whose stored secret the target refused: marked `needs_attention` (`drift`).
    pub drifted: Vec<AccountId>,
    /// No conclusion (unreachable, host key, timeout): left as they were.
    pub inconclusive: usize,
    /// Left alone because a change holds them.
    pub changing: usize,
    /// Drifted accounts reconciled (with `auto_reconcile`).
    pub reconciled: usize,
}

/// What one account's check showed.
enum Checked {
    Working,
    Drifted(AccountId),
    Inconclusive,
    Changing,
}

/// A stable position in `0..interval` for `id` (FNV-1a).
fn slot_offset(id: &AccountId, interval_ms: i64) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.as_str().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let span = u64::try_from(interval_ms.max(1)).unwrap_or(1);
    i64::try_from(h % span).unwrap_or(0)
}

/// Whether `account`'s slot in the interval that holds `now` has come and nothing verified
/// it since (`attempted`: this node's last inconclusive try).
fn due(
    account: &AccountRow,
    now: DateTime<Utc>,
    interval: Duration,
    attempted: Option<DateTime<Utc>>,
) -> bool {
    let interval_ms = i64::try_from(interval.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let now_ms = now.timestamp_millis();
    let window = now_ms - now_ms.rem_euclid(interval_ms);
    let mut slot = window.saturating_add(slot_offset(&account.id, interval_ms));
    if slot > now_ms {
        // Not yet in this interval: its slot in the last one.
        slot = slot.saturating_sub(interval_ms);
    }
    // A new account counts as checked when it was created: its first check is at its slot.
    let last = [
        Some(account.created_at),
        account.last_verified_at,
        attempted,
    ]
    .into_iter()
    .flatten()
    .map(|t| t.timestamp_millis())
    .max();
    last.is_none_or(|l| l < slot)
}

impl ChangeEngine {
    /// How often the periodic sweep should run [`Self::run_drift_pass`] with
    /// [`DriftScope::Due`]; `None` when drift checks are off.
    pub fn drift_tick(&self) -> Option<Duration> {
        let interval = self.settings.drift.interval;
        if interval.is_zero() {
            return None;
        }
        Some((interval / 1000).clamp(Duration::from_secs(1), Duration::from_secs(60)))
    }

    /// Runs [`Self::run_drift_pass`] over the accounts due, every [`Self::drift_tick`],
    /// until the process ends; `None` when drift checks are off.
    pub fn spawn_drift(&self) -> Option<tokio::task::JoinHandle<()>> {
        let every = self.drift_tick()?;
        let service = self.clone();
        Some(tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                match service.run_drift_pass(DriftScope::Due).await {
                    Ok(r) if r.checked > 0 => tracing::info!(
                        checked = r.checked,
                        drifted = r.drifted.len(),
                        inconclusive = r.inconclusive,
                        reconciled = r.reconciled,
                        "drift pass"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "a drift pass failed"),
                }
            }
        }))
    }

    /// Runs a drift pass now: logs in to each account in `scope` with its current secret
    /// (at most `concurrency` at once), marks those the target refused `needs_attention`
    /// (`drift`), audited, and with `auto_reconcile` reconciles them before answering.
    pub async fn run_drift_pass(
        &self,
        scope: DriftScope,
    ) -> Result<DriftReport, ChangeSecretError> {
        let _one_pass = self.drift_lock.lock().await;
        let domains: Vec<_> = self
            .store
            .domains()
            .await?
            .into_iter()
            .map(|d| d.id)
            .collect();
        let (accounts, _) = self
            .store
            .accounts(&AccountFilter {
                domains,
                limit: MAX_ACCOUNTS,
                ..AccountFilter::default()
            })
            .await?;
        let now = self.clock.now();
        let interval = self.settings.drift.interval;
        let accounts: Vec<AccountRow> = {
            let attempts = self.drift_attempts.lock().await;
            accounts
                .into_iter()
                .filter(|a| {
                    scope == DriftScope::All
                        || (!interval.is_zero()
                            && due(a, now, interval, attempts.get(&a.id).copied()))
                })
                .collect()
        };
        let trust_unverified_host_key = self.trust_unverified_host_key().await;
        let permits = Arc::new(Semaphore::new(self.settings.drift.concurrency.max(1)));
        let mut checks = tokio::task::JoinSet::new();
        for account in accounts {
            let me = self.clone();
            let permits = permits.clone();
            checks.spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return Checked::Inconclusive;
                };
                me.check_drift(&account, trust_unverified_host_key).await
            });
        }
        let mut report = DriftReport::default();
        while let Some(joined) = checks.join_next().await {
            match joined {
                Ok(Checked::Working) => {
                    report.checked += 1;
                    report.working += 1;
                }
                Ok(Checked::Drifted(id)) => {
                    report.checked += 1;
                    report.drifted.push(id);
                }
                Ok(Checked::Inconclusive) => {
                    report.checked += 1;
                    report.inconclusive += 1;
                }
                Ok(Checked::Changing) => report.changing += 1,
                Err(e) => tracing::error!(error = %e, "a drift check panicked"),
            }
        }
        if !report.drifted.is_empty() {
            tracing::warn!(
                drifted = report.drifted.len(),
                "drift: stored secrets no longer log in"
            );
        }
        if self.settings.drift.auto_reconcile && !report.drifted.is_empty() {
            let origin = RequestOrigin {
                source: format!("{} (drift)", self.settings.node_name),
            };
            let outcome = self.reconcile_accounts(&report.drifted, &origin).await?;
            report.reconciled = outcome
                .started
                .iter()
                .filter(|s| s.status == tumbler_domain::change_secret::RecordStatus::Success)
                .count();
        }
        Ok(report)
    }

    /// Checks one account and stores what the login showed.
    async fn check_drift(&self, account: &AccountRow, trust_unverified_host_key: bool) -> Checked {
        match self
            .check_drift_inner(account, trust_unverified_host_key)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(account = %account.id, error = %e, "a drift check failed");
                Checked::Inconclusive
            }
        }
    }

    async fn check_drift_inner(
        &self,
        account: &AccountRow,
        trust_unverified_host_key: bool,
    ) -> Result<Checked, ChangeSecretError> {
        if account.status == AccountStatus::Changing || account.pending_version.is_some() {
            return Ok(Checked::Changing);
        }
        let Some(asset) = self.store.asset(&account.asset_id).await? else {
            return Ok(Checked::Inconclusive);
        };
        let Some(platform) = platform::find(&asset.platform) else {
            return Ok(Checked::Inconclusive);
        };
        let secret = self
            .open_account_secret(account.id.as_str(), account.current_version)
            .await?;
        let login = self
            .login_with(
                &asset,
                platform,
                account,
                &secret,
                trust_unverified_host_key,
            )
            .await;
        let now = self.clock.now();
        let works = match login {
            Login::Works => true,
            Login::Refused => false,
            Login::Inconclusive(f) => {
                tracing::info!(account = %account.id, code = %f.code, "drift check inconclusive");
                self.drift_attempts
                    .lock()
                    .await
                    .insert(account.id.clone(), now);
                return Ok(Checked::Inconclusive);
            }
        };
        self.drift_attempts.lock().await.remove(&account.id);
        let mut tx = self.store.begin().await?;
        // Only over what was checked: a change since owns the account.
        let Some(fresh) = tx.account(&account.id).await? else {
            return Ok(Checked::Inconclusive);
        };
        if fresh.pending_version.is_some()
            || fresh.status == AccountStatus::Changing
            || fresh.current_version != account.current_version
        {
            return Ok(Checked::Changing);
        }
        let who = format!("{}@{}", account.username, asset.name);
        let drifted_before = fresh.status == AccountStatus::NeedsAttention
            && fresh.status_reason.starts_with("drift:");
        if works {
            let (status, reason) = match fresh.status {
                AccountStatus::Unknown | AccountStatus::Failed => {
                    (AccountStatus::Ok, String::new())
                }
                AccountStatus::NeedsAttention if drifted_before => {
                    (AccountStatus::Ok, String::new())
                }
                s => (s, fresh.status_reason.clone()),
            };
            tx.set_account_verification(&account.id, status, &reason, Some(now))
                .await?;
            if drifted_before {
                tx.append_audit(
                    &event(
                        "engine",
                        AuditAction::AccountDrift,
                        ("account", account.id.as_str()),
                        Outcome::Success,
                        &self.drift_origin(),
                        format!(
                            "{who} secret version {}: logs in again",
                            account.current_version
                        ),
                    ),
                    now,
                )
                .await?;
            }
            tx.commit().await?;
            return Ok(Checked::Working);
        }
        tx.set_account_verification(
            &account.id,
            AccountStatus::NeedsAttention,
            &format!(
                "{DRIFT_CODE}: the stored secret no longer logs in (changed outside Tumbler?); reconcile sets a new one"
            ),
            Some(now),
        )
        .await?;
        tx.append_audit(
            &event(
                "engine",
                AuditAction::AccountDrift,
                ("account", account.id.as_str()),
                Outcome::Failure,
                &self.drift_origin(),
                format!(
                    "{who} secret version {}: refused by the target",
                    account.current_version
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Checked::Drifted(account.id.clone()))
    }

    fn drift_origin(&self) -> RequestOrigin {
        RequestOrigin {
            source: format!("{} (drift)", self.settings.node_name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tumbler_domain::ids::{AssetId, DomainId};

    fn account(id: &str, last: Option<DateTime<Utc>>) -> AccountRow {
        let now = Utc::now();
        AccountRow {
            id: AccountId::from_string(id.to_owned()),
            asset_id: AssetId::generate(),
            asset_name: "web1".to_owned(),
            domain_id: DomainId::generate(),
            username: "app".to_owned(),
            secret_type: tumbler_domain::inventory::SecretType::Password,
            privileged: false,
            options: Default::default(),
            current_version: 1,
            previous_version: None,
            pending_version: None,
            next_version: 2,
            status: AccountStatus::Ok,
            status_reason: String::new(),
            last_verified_at: last,
            last_changed_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn each_account_is_due_once_per_interval_at_its_own_slot() {
        let interval = Duration::from_secs(3600);
        let start = DateTime::from_timestamp(1_800_000_000 / 3600 * 3600, 0).unwrap();
        let mut slots = Vec::new();
        for i in 0..200 {
            let id = format!("acc-{i}");
            let offset = slot_offset(&AccountId::from_string(id.clone()), 3_600_000);
            assert!((0..3_600_000).contains(&offset));
            slots.push(offset);
            let slot = start + chrono::Duration::milliseconds(offset);
            let before = slot - chrono::Duration::milliseconds(1);
            // Verified as the interval began: not due before its slot, due at it.
            let mut a = account(&id, Some(start));
            a.created_at = start - chrono::Duration::days(30);
            if offset > 0 {
                assert!(!due(&a, before, interval, None));
                assert!(due(&a, slot, interval, None));
            }
            // Verified at its slot: not due again in this interval.
            let mut b = account(&id, Some(slot));
            b.created_at = a.created_at;
            assert!(!due(
                &b,
                start + chrono::Duration::seconds(3599),
                interval,
                None
            ));
            // A try that did not conclude counts as this interval's.
            assert!(!due(&a, slot, interval, Some(slot)));
        }
        // Spread: every quarter of the interval holds some slots.
        for q in 0..4 {
            assert!(slots
                .iter()
                .any(|s| (q * 900_000..(q + 1) * 900_000).contains(s)));
        }
    }
}
