//! The retry gate: one retry at a time per account on this node, and the queued retries of an
//! asset a host-wide failure stopped.

use crate::change_secret::ChangeSecretError;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::{AccountId, ExecutionId};

/// This node's retries: the accounts one is queued or running for, and the queued retries a
/// host-wide failure stopped (with the code and reason their record ends with).
#[derive(Default)]
pub(in crate::change_secret) struct RetryGate {
    accounts: Mutex<HashSet<AccountId>>,
    halted: Mutex<HashMap<ExecutionId, (FailureCode, String)>>,
}

/// An account held by a retry, let go when dropped (its run ended, or it never started).
pub(super) struct RetryHold {
    gate: Arc<RetryGate>,
    account: AccountId,
}

impl Drop for RetryHold {
    fn drop(&mut self) {
        locked(&self.gate.accounts).remove(&self.account);
    }
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RetryGate {
    /// Holds `account` for a retry: none when a retry of it is already queued or running.
    pub(super) fn hold(self: &Arc<Self>, account: &AccountId) -> Option<RetryHold> {
        locked(&self.accounts)
            .insert(account.clone())
            .then(|| RetryHold {
                gate: self.clone(),
                account: account.clone(),
            })
    }

    pub(super) fn halt(&self, id: &ExecutionId, code: FailureCode, reason: String) {
        locked(&self.halted).insert(id.clone(), (code, reason));
    }

    pub(super) fn take_halt(&self, id: &ExecutionId) -> Option<(FailureCode, String)> {
        locked(&self.halted).remove(id)
    }
}

pub(super) fn retry_in_progress() -> ChangeSecretError {
    ChangeSecretError::Conflict(
        "retry_in_progress",
        "a retry of this account is queued or under way; nothing was sent".to_owned(),
    )
}
