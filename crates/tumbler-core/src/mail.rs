//! Outgoing mail: the SMTP settings (administrators; the password sealed in the vault, never
//! shown again), a test mail to the caller, and mail to users by id (the change engine's run
//! reports). Settings live as JSON in the store's `meta` table.

use crate::{event, Principal, RequestOrigin, Vault, VaultError};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tumbler_connectors::mail::{
    parse_mailbox, send_mail, Mail, MailError, SmtpSecurity, SmtpServer,
};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::{DomainId, UserId};
use tumbler_domain::inventory::InvalidValue;
use tumbler_domain::permission::Permission;
use tumbler_domain::secret_owner::SecretOwner;
use tumbler_domain::user::UserStatus;
use tumbler_domain::Clock;
use tumbler_store::{Store, StoreError};
use zeroize::Zeroizing;

const META_KEY: &str = "smtp_settings";
/// The vault owner kind of the sealed SMTP password.
pub const SMTP_SECRET_OWNER: SecretOwner = SecretOwner::Smtp;
const SMTP_SECRET_ID: &str = "settings";
/// The limit for handing one message to the SMTP server.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// Plain SMTP.
    None,
    /// `STARTTLS`, required.
    Starttls,
    /// TLS from the first byte.
    Tls,
}

/// The stored settings: no password, only the version of the sealed one.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    host: String,
    port: u16,
    security: Security,
    username: Option<String>,
    from: String,
    password_version: Option<i64>,
}

/// The SMTP settings as shown: the password is write-only.
#[derive(Debug, Clone, Serialize)]
pub struct SmtpView {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Transport protection.
    pub security: Security,
    /// Login name, if any.
    pub username: Option<String>,
    /// The `From` address.
    pub from: String,
    /// Whether a password is stored.
    pub has_password: bool,
}

/// New SMTP settings. Without `password`, a stored one is kept while the username stays the
/// same; without `username`, no login is used and a stored password is forgotten.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpInput {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Transport protection.
    pub security: Security,
    /// Login name.
    #[serde(default)]
    pub username: Option<String>,
    /// Password (write-only).
    #[serde(default)]
    pub password: Option<SecretString>,
    /// The `From` address (`tumbler@example.com` or `Tumbler <tumbler@example.com>`).
    pub from: String,
}

/// What went wrong with mail settings or sending.
#[derive(Debug, thiserror::Error)]
pub enum MailServiceError {
    /// The caller lacks the permission.
    #[error("you do not have permission to change settings")]
    Forbidden,
    /// A field was refused.
    #[error("{0}")]
    Invalid(#[from] InvalidValue),
    /// No SMTP settings are saved.
    #[error("no SMTP server is configured")]
    NotConfigured,
    /// The caller has no address to send the test mail to.
    #[error("your user has no email address")]
    NoAddress,
    /// The server did not take the message.
    #[error(transparent)]
    Send(#[from] MailError),
    /// The vault failed.
    #[error("internal error")]
    Vault(#[from] VaultError),
    /// The store failed.
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl MailServiceError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::Invalid(_) => "invalid_request",
            Self::NotConfigured => "smtp_not_configured",
            Self::NoAddress => "no_email_address",
            Self::Send(e) => e.code(),
            Self::Vault(_) | Self::Store(_) => "internal_error",
        }
    }
}

/// Whether `host` names this machine.
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn invalid(field: &'static str, reason: impl Into<String>) -> MailServiceError {
    MailServiceError::Invalid(InvalidValue {
        field,
        reason: reason.into(),
    })
}

/// SMTP settings and sending.
#[derive(Clone)]
pub struct MailService {
    store: Store,
    vault: Vault,
    clock: Arc<dyn Clock>,
}

impl MailService {
    /// A service over `store`, sealing the SMTP password in `vault`.
    pub fn new(store: Store, vault: Vault, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            vault,
            clock,
        }
    }

    async fn stored(&self) -> Result<Option<Stored>, MailServiceError> {
        match self.store.meta(META_KEY).await? {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|_| StoreError::Corrupt("SMTP settings".to_owned()).into()),
        }
    }

    /// The settings (administrators), `None` when none are saved.
    pub async fn settings(
        &self,
        principal: &Principal,
    ) -> Result<Option<SmtpView>, MailServiceError> {
        if !principal.can(Permission::SettingsManage) {
            return Err(MailServiceError::Forbidden);
        }
        Ok(self.stored().await?.map(|s| SmtpView {
            has_password: s.password_version.is_some(),
            host: s.host,
            port: s.port,
            security: s.security,
            username: s.username,
            from: s.from,
        }))
    }

    /// Saves the settings (administrators; audited, the password never in the event).
    pub async fn set_settings(
        &self,
        principal: &Principal,
        input: SmtpInput,
        origin: &RequestOrigin,
    ) -> Result<SmtpView, MailServiceError> {
        if !principal.can(Permission::SettingsManage) {
            return Err(MailServiceError::Forbidden);
        }
        let host = input.host.trim().to_owned();
        if host.is_empty()
            || host.len() > 253
            || host.contains(|c: char| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err(invalid("host", "a host name or address is required"));
        }
        if input.port == 0 {
            return Err(invalid("port", "the port must be 1 to 65535"));
        }
        parse_mailbox(input.from.trim())
            .map_err(|_| invalid("from", "the From address is not a valid mail address"))?;
        let username = input
            .username
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        if username
            .as_deref()
            .is_some_and(|u| u.len() > 256 || u.chars().any(char::is_control))
        {
            return Err(invalid(
                "username",
                "the username is too long or has control characters",
            ));
        }
        if let Some(p) = &input.password {
            let p = p.expose_secret();
            if p.is_empty() || p.len() > 1024 || p.chars().any(char::is_control) {
                return Err(invalid(
                    "password",
                    "the password must be 1 to 1024 characters without control characters",
                ));
            }
            if username.is_none() {
                return Err(invalid("password", "a password needs a username"));
            }
        }
        let previous = self.stored().await?;
        let latest = previous.as_ref().and_then(|p| p.password_version);
        // A stored password goes only to the server it was entered for: a new host, port,
        // protection or login needs it entered again.
        let same_server = |p: &Stored| {
            p.host == host
                && p.port == input.port
                && p.security == input.security
                && p.username == username
        };
        let kept = match (&username, &input.password, &previous) {
            (Some(_), None, Some(p)) if same_server(p) => latest,
            (Some(_), None, Some(p)) if p.password_version.is_some() => {
                return Err(invalid(
                    "password",
                    "the server or login changed: enter the password again",
                ))
            }
            _ => None,
        };
        if input.password.is_some() && input.security == Security::None && !is_loopback(&host) {
            return Err(invalid(
                "security",
                "a password is sent only over STARTTLS or TLS (plain SMTP only to this host)",
            ));
        }
        let mut tx = self.store.begin().await?;
        if kept.is_none() {
            // The stored password is replaced or forgotten: no old version stays sealed.
            tx.delete_sealed_secrets(SMTP_SECRET_OWNER, SMTP_SECRET_ID)
                .await?;
        }
        let password_version = match &input.password {
            Some(p) => {
                let version = latest.unwrap_or(0) + 1;
                self.vault
                    .seal(
                        &mut tx,
                        SMTP_SECRET_OWNER,
                        SMTP_SECRET_ID,
                        version,
                        p.expose_secret().as_bytes(),
                    )
                    .await?;
                Some(version)
            }
            None => kept,
        };
        let stored = Stored {
            host,
            port: input.port,
            security: input.security,
            username,
            from: input.from.trim().to_owned(),
            password_version,
        };
        let json =
            serde_json::to_string(&stored).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.set_meta(META_KEY, &json).await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::SettingsSmtpUpdate,
                ("settings", "smtp"),
                Outcome::Success,
                origin,
                format!(
                    "host={} port={} security={:?} login={} password={}",
                    stored.host,
                    stored.port,
                    stored.security,
                    stored.username.is_some(),
                    if input.password.is_some() {
                        "changed"
                    } else if stored.password_version.is_some() {
                        "kept"
                    } else {
                        "none"
                    }
                ),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(SmtpView {
            has_password: stored.password_version.is_some(),
            host: stored.host,
            port: stored.port,
            security: stored.security,
            username: stored.username,
            from: stored.from,
        })
    }

    /// Sends a test mail to the caller's own address (administrators; audited).
    pub async fn send_test(
        &self,
        principal: &Principal,
        origin: &RequestOrigin,
    ) -> Result<String, MailServiceError> {
        if !principal.can(Permission::SettingsManage) {
            return Err(MailServiceError::Forbidden);
        }
        let to = principal
            .user
            .email
            .clone()
            .ok_or(MailServiceError::NoAddress)?;
        let result = self
            .send(
                std::slice::from_ref(&to),
                "Tumbler test mail",
                format!(
                    "This is a test mail from Tumbler, sent at {} by {}.\n\nMail from Tumbler reaches you.\n",
                    self.clock.now().to_rfc3339(),
                    principal.user.username
                ),
            )
            .await;
        let mut tx = self.store.begin().await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::SettingsSmtpTest,
                ("settings", "smtp"),
                if result.is_ok() {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                origin,
                match &result {
                    Ok(()) => format!("to {to}"),
                    Err(e) => format!("to {to}: {}", e.code()),
                },
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        result.map(|()| to)
    }

    /// The addresses of these users that may read about `domain`: enabled users who belong
    /// to it and have an address (the others are left out).
    pub async fn addresses_in(
        &self,
        users: &[UserId],
        domain: &DomainId,
    ) -> Result<Vec<String>, MailServiceError> {
        let mut out = Vec::new();
        for id in users {
            let Some(row) = self.store.user_by_id(id).await? else {
                continue;
            };
            if row.user.status != UserStatus::Enabled {
                continue;
            }
            if !self
                .store
                .user_domains(id)
                .await?
                .iter()
                .any(|d| &d.id == domain)
            {
                continue;
            }
            if let Some(email) = row.user.email {
                out.push(email);
            }
        }
        Ok(out)
    }

    /// Sends one plain-text message to `to` through the saved SMTP server.
    pub async fn send(
        &self,
        to: &[String],
        subject: &str,
        body: String,
    ) -> Result<(), MailServiceError> {
        let stored = self
            .stored()
            .await?
            .ok_or(MailServiceError::NotConfigured)?;
        let credentials = match (&stored.username, stored.password_version) {
            (Some(user), Some(version)) => {
                let bytes = self
                    .vault
                    .open_secret(SMTP_SECRET_OWNER, SMTP_SECRET_ID, version)
                    .await?;
                let text = Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
                Some((user.clone(), SecretString::from(text.as_str().to_owned())))
            }
            _ => None,
        };
        let server = SmtpServer {
            host: stored.host,
            port: stored.port,
            security: match stored.security {
                Security::None => SmtpSecurity::None,
                Security::Starttls => SmtpSecurity::StartTls,
                Security::Tls => SmtpSecurity::Tls,
            },
            credentials,
            timeout: SEND_TIMEOUT,
        };
        let mail = Mail {
            from: stored.from,
            to: to.to_vec(),
            subject: subject.to_owned(),
            body,
        };
        send_mail(&server, &mail).await?;
        Ok(())
    }
}
