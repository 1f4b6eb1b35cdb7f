//! Device access keys: Tumbler's system SSH key pair, the authentication mode of each device
//! (stored password, the system key, or an uploaded custom key), regenerating the system key
//! across key-based devices without locking any out, and resolving the key conflicts of
//! devices that missed a regeneration. Long operations run as jobs.

mod authentication;
mod conflicts;
mod install;
mod jobs;
mod login;
mod regenerate;
mod system_key;

pub use authentication::{AuthMode, AuthenticationInput};
pub use conflicts::{ConflictDevice, ResolveInput, ResolveMode, MAX_DEVICES};
pub use jobs::JobView;
pub(crate) use login::{connect_device, DeviceLogin};
pub use system_key::SystemKeyView;
pub use tumbler_domain::job::DeviceOutcome;

use crate::vault::{Vault, VaultError};
use crate::{AuthError, AuthService, Principal};
use std::sync::Arc;
use std::time::Duration;
use tumbler_connectors::ssh::SshConnector;
use tumbler_domain::object::ObjectKind;
use tumbler_domain::permission::Permission;
use tumbler_domain::Clock;
use tumbler_store::{Store, StoreError};

/// What went wrong with device keys. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum DeviceKeyError {
    /// The caller lacks the permission.
    #[error("you do not have permission to do this")]
    Forbidden,
    /// No such object (or not visible to the caller).
    #[error("no such {0}")]
    NotFound(ObjectKind),
    /// A value was refused.
    #[error("{field}: {reason}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// An uploaded key file asks for a key derivation past Tumbler's caps (never decoded).
    #[error("{0}")]
    KeyDerivationTooCostly(String),
    /// A regeneration of the system key is under way.
    #[error("a regeneration of the system key is under way (job {0})")]
    RegenerationRunning(String),
    /// A key pair could not be generated or encoded.
    #[error("internal error: {0}")]
    KeyGeneration(String),
    /// The fresh second factor a sensitive action needs was missing or wrong.
    #[error("{0}")]
    StepUp(AuthError),
    /// The vault failed.
    #[error("internal error")]
    Vault(#[from] VaultError),
    /// The store failed.
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl DeviceKeyError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Invalid { .. } => "invalid_request",
            Self::KeyDerivationTooCostly(_) => "key_derivation_too_costly",
            Self::RegenerationRunning(_) => "key_regeneration_running",
            Self::StepUp(e) => e.code(),
            Self::Vault(_) | Self::Store(_) | Self::KeyGeneration(_) => "internal_error",
        }
    }
}

impl From<AuthError> for DeviceKeyError {
    fn from(_: AuthError) -> Self {
        Self::Forbidden
    }
}

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> DeviceKeyError {
    DeviceKeyError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn require(principal: &Principal, permission: Permission) -> Result<(), DeviceKeyError> {
    principal.require(permission)
}

impl crate::auth::Refusal for DeviceKeyError {
    fn forbidden() -> Self {
        Self::Forbidden
    }
}

/// Device keys and the jobs that use them.
#[derive(Clone)]
pub struct DeviceKeyService {
    store: Store,
    vault: Vault,
    clock: Arc<dyn Clock>,
    /// Asks for the fresh second factor of a key export.
    auth: AuthService,
    ssh: SshConnector,
    /// This node's name, recorded on the jobs it runs.
    node: String,
    /// The regeneration jobs this process is running (the periodic check never starts one
    /// twice).
    running: Arc<std::sync::Mutex<std::collections::HashSet<tumbler_domain::ids::JobId>>>,
}

impl DeviceKeyService {
    /// A service over `store` and `vault`, asking `auth` for step-up codes; `connect_timeout`
    /// bounds each connection to a device and `command_timeout` each command; jobs record
    /// `node` as theirs.
    pub fn new(
        store: Store,
        vault: Vault,
        clock: Arc<dyn Clock>,
        auth: AuthService,
        connect_timeout: Duration,
        command_timeout: Duration,
        node: String,
    ) -> Self {
        Self {
            store,
            vault,
            clock,
            auth,
            ssh: SshConnector::new()
                .with_connect_timeout(connect_timeout)
                .with_command_timeout(command_timeout),
            node,
            running: Arc::default(),
        }
    }

    /// Refuses work that installs the system key while a regeneration is under way (the key
    /// it would install is about to be retired).
    pub(super) async fn require_no_regeneration(&self) -> Result<(), DeviceKeyError> {
        match self.require_key_state().await?.pending {
            Some((_, job)) => Err(DeviceKeyError::RegenerationRunning(job.to_string())),
            None => Ok(()),
        }
    }

    /// At start: makes the system key pair if there is none, ends the jobs this node's
    /// previous process left that cannot go on (their one-time passwords and keys lived in its
    /// memory), and resumes this node's interrupted regeneration.
    pub async fn start(&self) -> Result<(), DeviceKeyError> {
        self.ensure_system_key().await?;
        self.interrupt_stale_jobs(true).await?;
        self.resume_regeneration().await
    }

    /// Every `every`: resumes a regeneration that stopped (here, or on a node that stopped
    /// making progress) and interrupts other nodes' stale jobs.
    pub fn spawn_background(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            loop {
                ticker.tick().await;
                if let Err(e) = service.interrupt_stale_jobs(false).await {
                    tracing::error!(error = %e, "checking stale device-key jobs failed");
                }
                if let Err(e) = service.resume_regeneration().await {
                    tracing::error!(error = %e, "resuming the key regeneration failed");
                }
            }
        })
    }
}
