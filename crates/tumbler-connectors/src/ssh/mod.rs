//! The SSH connector: log in to a target over SSH (`russh`, ring crypto)
//! and run commands on it.
//!
//! Security rules, enforced here rather than left to callers:
//! - the server's host key is identified by its SHA-256 fingerprint in
//!   OpenSSH's format ([`HostKeyFingerprint`]) and checked against the
//!   [`HostKeyPolicy`] during the key exchange, so a changed key stops the
//!   connection before any credential is sent;
//! - a password is never sent to a host whose key is not pinned, unless the
//!   caller explicitly allows trust on first use;
//! - the presented fingerprint is always reported (on the session and on the
//!   errors that happen after the key exchange) so that it can be pinned;
//! - secrets live in `secrecy` types, and no error or `Debug` text holds one;
//! - secrets reach commands through standard input, never the command line.

mod authorized_keys;
mod become_root;
mod chpasswd;
mod connector;
mod credentials;
mod error;
mod host_key;
mod key_limits;
mod key_pair;
mod scripted;
mod session;
mod shell;

pub use authorized_keys::{add_authorized_key, ensure_user, remove_authorized_keys, KeyRemoval};
pub use become_root::{Become, ChangeError, TargetShell};
pub use chpasswd::{change_password_chpasswd, set_new_user_password_chpasswd};
pub use connector::{check_private_key, SshConnector, SshTarget};
pub use credentials::{SshCredentials, SshSecret};
pub use error::{SshError, TimeoutStage};
pub use host_key::{HostKeyFingerprint, HostKeyPolicy};
pub use key_limits::{
    check_key_cost, check_private_key_blocking, MAX_ARGON2_MEMORY_KIB, MAX_ARGON2_PARALLELISM,
    MAX_ARGON2_PASSES, MAX_BCRYPT_ROUNDS, MAX_KEY_FILE_BYTES,
};
pub use key_pair::{
    check_private_key_with, encrypt_private_key, generate_key_pair, key_fingerprint,
    public_key_fingerprint, public_key_line,
};
pub use scripted::{run_template, ScriptError, ScriptFailure, ScriptStep};
pub use session::{CommandOutput, Conversation, PromptStep, SshSession};
