//! Opening SSH sessions: TCP, key exchange with host key pinning, then
//! authentication.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg};
use russh::Disconnect;
use secrecy::ExposeSecret;

use super::credentials::{SshCredentials, SshSecret};
use super::error::{SshError, TimeoutStage};
use super::host_key::{HostKeyFingerprint, HostKeyPolicy, PinningHandler};
use super::session::SshSession;

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// Host name or IP address.
    pub host: String,
    /// TCP port (usually 22).
    pub port: u16,
}

impl SshTarget {
    /// A target at `host:port`.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }

    fn display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Opens SSH sessions with fixed time limits. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SshConnector {
    connect_timeout: Duration,
    command_timeout: Duration,
    max_output: usize,
    config: Arc<client::Config>,
}

impl Default for SshConnector {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(15),
            command_timeout: Duration::from_secs(60),
            max_output: 16 * 1024 * 1024,
            config: Arc::new(client::Config {
                client_id: russh::SshId::Standard("SSH-2.0-Tumbler".to_owned()),
                ..client::Config::default()
            }),
        }
    }
}

impl SshConnector {
    /// A connector with a 15 s connect timeout, a 60 s command timeout and
    /// a 16 MiB output limit per command.
    pub fn new() -> Self {
        Self::default()
    }

    /// The limit for TCP connect, key exchange and authentication together.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The limit for each command run on a session.
    pub fn with_command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// The most output (stdout and stderr together) a command may produce.
    pub fn with_max_output(mut self, bytes: usize) -> Self {
        self.max_output = bytes;
        self
    }

    /// Connects, checks the host key against `policy` and logs in.
    ///
    /// - A pinned key that differs from the presented one ends the
    ///   connection before any credential is sent
    ///   ([`SshError::HostKeyMismatch`]).
    /// - With no pinned key, a private key is used, but a password is sent
    ///   only if the policy allows trust on first use; otherwise
    ///   [`SshError::HostKeyUnverified`] carries the presented key.
    ///
    /// The presented fingerprint is available from the session or from the
    /// error ([`SshError::presented_host_key`]).
    pub async fn connect(
        &self,
        target: &SshTarget,
        policy: &HostKeyPolicy,
        credentials: &SshCredentials,
    ) -> Result<SshSession, SshError> {
        // Decode the key before touching the network: a bad key or passphrase
        // is the caller's problem, not the target's.
        // Decoding may derive a key (bcrypt, Argon2): off the async runtime, after the
        // file's own cost was checked against fixed caps.
        let key = match &credentials.secret {
            SshSecret::Password(_) => None,
            SshSecret::PrivateKey { pem, passphrase } => {
                let (pem, passphrase) = (pem.clone(), passphrase.clone());
                let _permit = super::key_limits::decoding_permit().await?;
                Some(
                    tokio::task::spawn_blocking(move || decode_key(&pem, passphrase.as_ref()))
                        .await
                        .map_err(|_| SshError::InvalidPrivateKey {
                            reason: "the key could not be decoded",
                        })??,
                )
            }
        };
        tokio::time::timeout(
            self.connect_timeout,
            self.connect_unbounded(target, policy, credentials, key),
        )
        .await
        .map_err(|_| SshError::Timeout {
            stage: TimeoutStage::Connect,
        })?
    }

    /// Connects and returns the host key's fingerprint without
    /// authenticating, so that a caller can show it for pinning.
    pub async fn fetch_host_key(&self, target: &SshTarget) -> Result<HostKeyFingerprint, SshError> {
        tokio::time::timeout(self.connect_timeout, async {
            let (handle, presented) = self.handshake(target, &HostKeyPolicy::unpinned()).await?;
            disconnect(&handle).await;
            Ok(presented)
        })
        .await
        .map_err(|_| SshError::Timeout {
            stage: TimeoutStage::Connect,
        })?
    }

    async fn connect_unbounded(
        &self,
        target: &SshTarget,
        policy: &HostKeyPolicy,
        credentials: &SshCredentials,
        key: Option<PrivateKey>,
    ) -> Result<SshSession, SshError> {
        let (mut handle, presented) = self.handshake(target, policy).await?;
        let verified = matches!(policy, HostKeyPolicy::Pinned(_));
        let username = credentials.username.as_str();

        let result = match (&credentials.secret, key) {
            (SshSecret::Password(password), _) => {
                if !policy.allows_password() {
                    disconnect(&handle).await;
                    return Err(SshError::HostKeyUnverified { presented });
                }
                handle
                    .authenticate_password(username, password.expose_secret())
                    .await
            }
            (SshSecret::PrivateKey { .. }, Some(key)) => {
                let hash = if key.algorithm().is_rsa() {
                    rsa_hash(&handle).await
                } else {
                    None
                };
                handle
                    .authenticate_publickey(
                        username,
                        PrivateKeyWithHashAlg::new(Arc::new(key), hash),
                    )
                    .await
            }
            (SshSecret::PrivateKey { .. }, None) => {
                // Unreachable by construction: `connect` decodes every key.
                disconnect(&handle).await;
                return Err(SshError::InvalidPrivateKey {
                    reason: "key was not decoded",
                });
            }
        }
        .map_err(SshError::Protocol)?;

        if !result.success() {
            disconnect(&handle).await;
            return Err(SshError::AuthFailed { presented });
        }
        Ok(SshSession::new(
            handle,
            presented,
            verified,
            policy.allows_secrets(),
            self.command_timeout,
            self.max_output,
        ))
    }

    /// TCP connect and key exchange; the handler refuses a key other than
    /// the pinned one, so nothing past this point runs on a mismatch.
    async fn handshake(
        &self,
        target: &SshTarget,
        policy: &HostKeyPolicy,
    ) -> Result<(Handle<PinningHandler>, HostKeyFingerprint), SshError> {
        let stream = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|source| SshError::Unreachable {
                address: target.display(),
                source,
            })?;
        // Latency matters more than packet count for short exchanges.
        let _ = stream.set_nodelay(true);

        let presented_cell = Arc::new(OnceLock::new());
        let handler = PinningHandler::new(policy, Arc::clone(&presented_cell));
        let connected = client::connect_stream(Arc::clone(&self.config), stream, handler).await;
        let presented = presented_cell.get().cloned();
        let handle = match connected {
            Ok(handle) => handle,
            Err(e) => {
                return Err(match (policy.pinned(), presented) {
                    (Some(expected), Some(presented)) if *expected != presented => {
                        SshError::HostKeyMismatch {
                            expected: expected.clone(),
                            presented,
                        }
                    }
                    _ => SshError::Protocol(e),
                })
            }
        };
        let Some(presented) = presented else {
            // russh completed a key exchange without showing us the key.
            disconnect(&handle).await;
            return Err(SshError::Protocol(russh::Error::UnknownKey));
        };
        if let Some(expected) = policy.pinned() {
            if *expected != presented {
                // The handler refused it already; this is a second lock.
                disconnect(&handle).await;
                return Err(SshError::HostKeyMismatch {
                    expected: expected.clone(),
                    presented,
                });
            }
        }
        Ok((handle, presented))
    }
}

fn decode_key(
    pem: &secrecy::SecretString,
    passphrase: Option<&secrecy::SecretString>,
) -> Result<PrivateKey, SshError> {
    let text = super::key_limits::checked_key_text(pem.expose_secret())?;
    russh::keys::decode_secret_key(text.expose_secret(), passphrase.map(|p| p.expose_secret()))
        .map_err(|e| SshError::InvalidPrivateKey {
            reason: match e {
                russh::keys::Error::KeyIsEncrypted => "the key is encrypted and needs a passphrase",
                russh::keys::Error::UnsupportedKeyType { .. } => "unsupported key type",
                _ => "not an OpenSSH/PEM private key, or the passphrase is wrong",
            },
        })
}

/// The RSA signature hash the server prefers; SHA-256 when it does not say.
async fn rsa_hash(handle: &Handle<PinningHandler>) -> Option<HashAlg> {
    match handle.best_supported_rsa_hash().await {
        Ok(Some(hash)) => hash,
        Ok(None) | Err(_) => Some(HashAlg::Sha256),
    }
}

/// Best-effort goodbye; the connection is dropped either way.
async fn disconnect(handle: &Handle<PinningHandler>) {
    let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
}

/// Checks that `pem` is an unencrypted OpenSSH/PEM private key this connector can use,
/// without touching the network.
pub fn check_private_key(pem: &secrecy::SecretString) -> Result<(), SshError> {
    decode_key(pem, None).map(|_| ())
}
