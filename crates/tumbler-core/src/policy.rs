//! The password policy setting: read by everyone (it feeds the rules tooltip), changed by
//! administrators, audited. Stored as JSON in the store's `meta` table.

use crate::{Principal, RequestOrigin};
use std::sync::Arc;
use tumbler_domain::audit::AuditAction;
use tumbler_domain::password_policy::PasswordPolicy;
use tumbler_domain::permission::Permission;
use tumbler_domain::Clock;
use tumbler_store::{Store, StoreError};

const META_KEY: &str = "password_policy";

/// What went wrong reading or changing the policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The caller lacks the permission.
    #[error("you do not have permission to change settings")]
    Forbidden,
    /// The policy makes no sense.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl PolicyError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::Invalid(_) => "invalid_policy",
            Self::Store(_) => "internal_error",
        }
    }
}

/// The policy in force (the default when none was saved).
pub async fn load_policy(store: &Store) -> Result<PasswordPolicy, StoreError> {
    match store.meta(META_KEY).await? {
        None => Ok(PasswordPolicy::default()),
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("password policy: {e}"))),
    }
}

/// The password policy as one caller may read it ([`PolicyService::view`]).
#[derive(Debug, Clone)]
pub struct PolicyView {
    /// The settings; `custom_blocklist` is empty unless `blocklist_shown`.
    pub policy: PasswordPolicy,
    /// The rules in words (the console's rules tooltip).
    pub rules: Vec<String>,
    /// Whether the caller may read the custom blocklist.
    pub blocklist_shown: bool,
}

/// Reading and changing the password policy.
#[derive(Clone)]
pub struct PolicyService {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl PolicyService {
    /// A service over `store`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The whole policy in force, custom blocklist included: for callers that checked
    /// `settings_manage` (the settings page) or need it to check a password.
    pub async fn get(&self) -> Result<PasswordPolicy, PolicyError> {
        Ok(load_policy(&self.store).await?)
    }

    /// The policy as `principal` may read it: everything for administrators
    /// (`settings_manage`); for anyone else the same without the custom blocklist, whose
    /// entries are refused passwords (often the organisation's own guessable ones). The
    /// rules in words are those of the whole policy.
    pub async fn view(&self, principal: &Principal) -> Result<PolicyView, PolicyError> {
        let mut policy = load_policy(&self.store).await?;
        let rules = policy.describe();
        let blocklist_shown = principal.can(Permission::SettingsManage);
        if !blocklist_shown {
            policy.custom_blocklist.clear();
        }
        Ok(PolicyView {
            policy,
            rules,
            blocklist_shown,
        })
    }

    /// Replaces the policy. Tightening takes effect at each user's next login.
    pub async fn set(
        &self,
        principal: &Principal,
        policy: PasswordPolicy,
        origin: &RequestOrigin,
    ) -> Result<PasswordPolicy, PolicyError> {
        if !principal.can(Permission::SettingsManage) {
            return Err(PolicyError::Forbidden);
        }
        policy.validate().map_err(|e| PolicyError::Invalid(e.0))?;
        let json =
            serde_json::to_string(&policy).map_err(|e| PolicyError::Invalid(e.to_string()))?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.set_meta(META_KEY, &json).await?;
        // The custom blocklist's entries are passwords: the event names the change, not them.
        let detail = format!(
            "min_length={} min_strength={} history={} expiry_days={:?} custom_blocklist_entries={}",
            policy.min_length,
            policy.min_strength,
            policy.history,
            policy.expiry_days,
            policy.custom_blocklist.len()
        );
        crate::commit_audited(
            tx,
            principal,
            AuditAction::SettingsPasswordPolicyUpdate,
            ("settings", "password_policy"),
            origin,
            detail,
            now,
        )
        .await?;
        Ok(policy)
    }
}
