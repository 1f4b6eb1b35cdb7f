//! The model of the target and the store, what really is (read from the store and from the
//! real Redis, not through the proxy), and the checks made after every step.

use super::process::{World, USERNAME};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use tumbler_connectors::database::{verify_redis, DbTarget};
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::inventory::AccountStatus;
use tumbler_store::{AccountRow, RecordFilter, RecordRow};

/// What the model expects of the account and of the target.
#[derive(Debug, Clone)]
pub struct Model {
    /// The stored current version.
    pub current: i64,
    /// The staged version, if any.
    pub pending: Option<i64>,
    /// The versions the target accepts.
    pub accepted: BTreeSet<i64>,
    /// Whether the target answers (the proxy passes connections).
    pub target_up: bool,
    /// Whether a process runs (after a crash, none until the restart).
    pub alive: bool,
    /// Whether the staged version belongs to a run that died (recovery settles it).
    pub staged_by_dead_run: bool,
}

impl Model {
    /// The start: version 1 current and accepted, the target up, a process running.
    pub fn new() -> Self {
        Self {
            current: 1,
            pending: None,
            accepted: BTreeSet::from([1]),
            target_up: true,
            alive: true,
            staged_by_dead_run: false,
        }
    }

    /// `version` becomes current; the old one goes from the target when `removes_old`.
    pub fn commit(&mut self, version: i64, removes_old: bool) {
        if removes_old {
            self.accepted.remove(&self.current);
        }
        self.current = version;
        self.pending = None;
        self.staged_by_dead_run = false;
    }
}

/// What really is.
#[derive(Debug)]
pub struct Observed {
    /// The account's row.
    pub account: AccountRow,
    /// The versions the real Redis accepts (every stored version, tried).
    pub accepted: BTreeSet<i64>,
    /// Each stored version's secret, hashed (a retry may store a record's secret again under
    /// a new version: the same secret).
    pub secrets: BTreeMap<i64, Vec<u8>>,
    /// The account's records, oldest first.
    pub records: Vec<RecordRow>,
    /// Runs not ended.
    pub unfinished: usize,
}

impl World {
    /// Reads the store and asks the real Redis which stored versions it accepts.
    pub fn observe(&self) -> Observed {
        let store = &self.services().store;
        let vault = &self.services().vault;
        let target = DbTarget::new("127.0.0.1", self.redis_port());
        self.rt.block_on(async {
            let account = store
                .account(&self.account)
                .await
                .expect("account read")
                .expect("account row");
            let mut accepted = BTreeSet::new();
            let mut secrets = BTreeMap::new();
            for version in 1..account.next_version {
                let Ok(bytes) = vault
                    .open_secret(
                        tumbler_domain::secret_owner::SecretOwner::Account,
                        self.account.as_str(),
                        version,
                    )
                    .await
                else {
                    continue;
                };
                secrets.insert(version, Sha256::digest(&bytes[..]).to_vec());
                let secret = SecretString::from(String::from_utf8(bytes.to_vec()).expect("utf-8"));
                if verify_redis(&target, USERNAME, &secret).await.is_ok() {
                    accepted.insert(version);
                }
            }
            let (mut records, _) = store
                .records(&RecordFilter {
                    domains: vec![account.domain_id.clone()],
                    limit: 10_000,
                    ..RecordFilter::default()
                })
                .await
                .expect("records");
            records.retain(|r| r.account_id == self.account);
            records
                .sort_by(|a, b| (a.created_at, a.id.as_str()).cmp(&(b.created_at, b.id.as_str())));
            let unfinished = store
                .unfinished_executions()
                .await
                .expect("executions")
                .len();
            Observed {
                account,
                accepted,
                secrets,
                records,
                unfinished,
            }
        })
    }
}

/// The checks after every step: the store holds a secret the target accepts (or, while no
/// process runs, has one staged that it accepts), no account is `changing` and no record
/// `pending` without a live run, and the store and the target are what the model says.
pub fn check(model: &Model, seen: &Observed, step: &str) {
    let a = &seen.account;
    let holds = seen.accepted.contains(&a.current_version)
        || (!model.alive
            && a.pending_version
                .is_some_and(|p| seen.accepted.contains(&p)));
    assert!(
        holds,
        "{step}: the store holds no secret the target accepts: {a:?}, accepted {:?}",
        seen.accepted
    );
    if model.alive {
        assert_ne!(
            a.status,
            AccountStatus::Changing,
            "{step}: the account stays changing with no run owning it: {a:?}"
        );
        assert_eq!(seen.unfinished, 0, "{step}: a run is still going");
        let stuck: Vec<_> = seen
            .records
            .iter()
            .filter(|r| r.status == RecordStatus::Pending)
            .collect();
        assert!(stuck.is_empty(), "{step}: records stay pending: {stuck:?}");
    }
    assert_eq!(
        (a.current_version, a.pending_version),
        (model.current, model.pending),
        "{step}: the store is not what the model says ({a:?}; records {:?})",
        seen.records
    );
    let by_secret = |versions: &BTreeSet<i64>| -> BTreeSet<Vec<u8>> {
        versions
            .iter()
            .filter_map(|v| seen.secrets.get(v).cloned())
            .collect()
    };
    assert_eq!(
        by_secret(&seen.accepted),
        by_secret(&model.accepted),
        "{step}: the target accepts other secrets than the model says: versions {:?}, model {:?} (store {a:?})",
        seen.accepted,
        model.accepted
    );
}
