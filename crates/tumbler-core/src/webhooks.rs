//! Webhooks (administrators): a URL and a signing secret generated here, shown once and sealed
//! in the vault. Events are posted signed and retried with back-off; each delivery's outcome
//! is audited.

use crate::{event, Principal, RequestOrigin, Vault, VaultError};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
use tumbler_connectors::webhook::{
    check_webhook_url, post_webhook, url_host, webhook_client, WebhookEvent,
};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::WebhookId;
use tumbler_domain::permission::Permission;
use tumbler_domain::secret_owner::SecretOwner;
use tumbler_domain::Clock;
use tumbler_store::{Store, StoreError, WebhookRow};
use zeroize::Zeroizing;

/// Tries per delivery.
const ATTEMPTS: u32 = 4;
/// The pause before the first retry, doubled for each further one.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The limit for one attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most webhooks.
const MAX_WEBHOOKS: usize = 20;

/// A webhook as shown (never its secret); the API answers with `tumbler-api-types`'
/// `WebhookView`, made from this one in the handler.
#[derive(Debug, Clone)]
pub struct WebhookView {
    /// Id.
    pub id: WebhookId,
    /// Where events are posted.
    pub url: String,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A new webhook with its signing secret, shown this once.
#[derive(Debug)]
pub struct CreatedWebhook {
    /// The webhook.
    pub webhook: WebhookView,
    /// The signing secret.
    pub secret: SecretString,
}

/// What went wrong with webhooks.
#[derive(Debug, thiserror::Error)]
pub enum WebhookServiceError {
    /// The caller lacks the permission.
    #[error("you do not have permission to change settings")]
    Forbidden,
    /// The URL was refused.
    #[error("{0}")]
    InvalidUrl(String),
    /// No such webhook.
    #[error("no such webhook")]
    NotFound,
    /// Too many webhooks.
    #[error("at most {MAX_WEBHOOKS} webhooks")]
    TooMany,
    /// The vault failed.
    #[error("internal error")]
    Vault(#[from] VaultError),
    /// The store failed.
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl WebhookServiceError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::InvalidUrl(_) => "invalid_request",
            Self::NotFound => "webhook_not_found",
            Self::TooMany => "too_many_webhooks",
            Self::Vault(_) | Self::Store(_) => "internal_error",
        }
    }
}

fn view(row: WebhookRow) -> WebhookView {
    WebhookView {
        id: row.id,
        url: row.url,
        created_by: row.created_by,
        created_at: row.created_at,
    }
}

/// Webhooks and their deliveries.
#[derive(Clone)]
pub struct WebhookService {
    store: Store,
    vault: Vault,
    clock: Arc<dyn Clock>,
}

impl WebhookService {
    /// A service over `store`, sealing secrets in `vault`.
    pub fn new(store: Store, vault: Vault, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            vault,
            clock,
        }
    }

    /// Every webhook (administrators).
    pub async fn list(
        &self,
        principal: &Principal,
    ) -> Result<Vec<WebhookView>, WebhookServiceError> {
        if !principal.can(Permission::SettingsManage) {
            return Err(WebhookServiceError::Forbidden);
        }
        Ok(self.store.webhooks().await?.into_iter().map(view).collect())
    }

    /// Adds a webhook posting to `url` (http or https, no credentials in it); its signing
    /// secret is returned this once (audited, without the secret).
    pub async fn create(
        &self,
        principal: &Principal,
        url: &str,
        origin: &RequestOrigin,
    ) -> Result<CreatedWebhook, WebhookServiceError> {
        if !principal.can(Permission::SettingsManage) {
            return Err(WebhookServiceError::Forbidden);
        }
        let url = url.trim();
        let parsed = check_webhook_url(url).map_err(WebhookServiceError::InvalidUrl)?;
        if self.store.webhooks().await?.len() >= MAX_WEBHOOKS {
            return Err(WebhookServiceError::TooMany);
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        let secret = SecretString::from(format!("whsec_{}", hex::encode(bytes.as_ref())));
        let row = WebhookRow {
            id: WebhookId::from_string(format!("whk_{}", uuid::Uuid::now_v7().simple())),
            url: parsed,
            secret_version: 1,
            created_by: principal.user.username.clone(),
            created_at: self.clock.now(),
        };
        let mut tx = self.store.begin().await?;
        self.vault
            .seal(
                &mut tx,
                SecretOwner::Webhook,
                row.id.as_str(),
                1,
                secret.expose_secret().as_bytes(),
            )
            .await?;
        tx.insert_webhook(&row).await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::WebhookCreate,
                ("webhook", row.id.as_str()),
                Outcome::Success,
                origin,
                format!("url host {}", url_host(&row.url)),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedWebhook {
            webhook: view(row),
            secret,
        })
    }

    /// Removes a webhook (audited).
    pub async fn delete(
        &self,
        principal: &Principal,
        id: &WebhookId,
        origin: &RequestOrigin,
    ) -> Result<(), WebhookServiceError> {
        if !principal.can(Permission::SettingsManage) {
            return Err(WebhookServiceError::Forbidden);
        }
        let mut tx = self.store.begin().await?;
        if !tx.delete_webhook(id).await? {
            return Err(WebhookServiceError::NotFound);
        }
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::WebhookDelete,
                ("webhook", id.as_str()),
                Outcome::Success,
                origin,
                "",
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Posts `body` as `event_name` to every webhook, each in the background with retries;
    /// every delivery's outcome is audited as `actor`.
    pub async fn publish(&self, event_name: &'static str, body: Vec<u8>, origin: RequestOrigin) {
        let hooks = match self.store.webhooks().await {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "could not read the webhooks");
                return;
            }
        };
        let body = Arc::new(body);
        for hook in hooks {
            let me = self.clone();
            let body = body.clone();
            let origin = origin.clone();
            tokio::spawn(async move { me.deliver(hook, event_name, &body, &origin).await });
        }
    }

    async fn deliver(
        &self,
        hook: WebhookRow,
        event_name: &str,
        body: &[u8],
        origin: &RequestOrigin,
    ) {
        let delivery_id = format!("dlv_{}", uuid::Uuid::now_v7().simple());
        let result = async {
            let bytes = self
                .vault
                .open_secret(SecretOwner::Webhook, hook.id.as_str(), hook.secret_version)
                .await
                .map_err(|e| e.to_string())?;
            let secret = SecretString::from(String::from_utf8_lossy(&bytes).into_owned());
            let client = webhook_client(ATTEMPT_TIMEOUT).map_err(|e| e.to_string())?;
            let mut attempt = 1;
            loop {
                let event = WebhookEvent {
                    url: &hook.url,
                    event: event_name,
                    delivery_id: &delivery_id,
                    timestamp: self.clock.now().timestamp(),
                    body,
                };
                match post_webhook(&client, &secret, &event).await {
                    Ok(()) => return Ok(attempt),
                    Err(e) if attempt >= ATTEMPTS => return Err(format!("{}: {e}", e.code())),
                    Err(e) => {
                        tracing::info!(webhook = %hook.id, attempt, error = %e, "webhook delivery failed; retrying");
                        // A deliberate back-off between attempts.
                        tokio::time::sleep(FIRST_BACKOFF * 2u32.saturating_pow(attempt - 1)).await;
                        attempt += 1;
                    }
                }
            }
        }
        .await;
        let (outcome, detail) = match &result {
            Ok(n) => (
                Outcome::Success,
                format!("{event_name} {delivery_id} delivered (attempt {n})"),
            ),
            Err(why) => {
                tracing::warn!(webhook = %hook.id, "webhook delivery failed: {why}");
                (
                    Outcome::Failure,
                    format!("{event_name} {delivery_id} failed after {ATTEMPTS} attempts: {why}"),
                )
            }
        };
        let audit = async {
            let mut tx = self.store.begin().await?;
            tx.append_audit(
                &event(
                    "engine",
                    AuditAction::WebhookDeliver,
                    ("webhook", hook.id.as_str()),
                    outcome,
                    origin,
                    detail,
                ),
                self.clock.now(),
            )
            .await?;
            tx.commit().await
        };
        if let Err(e) = audit.await {
            tracing::error!(webhook = %hook.id, error = %e, "could not audit a webhook delivery");
        }
    }
}
