//! Posting a signed JSON event to a webhook. The signature is HMAC-SHA256 over
//! `"{timestamp}.{body}"` with the webhook's secret, sent as `X-Tumbler-Signature:
//! sha256=<hex>` beside `X-Tumbler-Timestamp` (Unix seconds), `X-Tumbler-Event` and
//! `X-Tumbler-Delivery` (the same id on every retry). Redirects are not followed.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::time::Duration;

/// One delivery attempt's content.
#[derive(Debug)]
pub struct WebhookEvent<'a> {
    /// Where to post.
    pub url: &'a str,
    /// The event name (`change_execution.finished`).
    pub event: &'a str,
    /// The delivery's id, kept across retries so a receiver can drop duplicates.
    pub delivery_id: &'a str,
    /// Unix seconds when the delivery was made, part of the signed text.
    pub timestamp: i64,
    /// The JSON body.
    pub body: &'a [u8],
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The receiver answered with a status other than 2xx.
    #[error("the receiver answered {0}")]
    Status(u16),
    /// The receiver could not be reached or did not answer in time.
    #[error("the receiver could not be reached: {0}")]
    Unreachable(String),
}

impl WebhookError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Status(_) => "webhook_status",
            Self::Unreachable(_) => "webhook_unreachable",
        }
    }
}

/// `sha256=<hex>`: HMAC-SHA256 over `"{timestamp}.{body}"` keyed with `secret`.
pub fn webhook_signature(secret: &SecretString, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// An HTTP client for webhooks: a time limit per delivery, no redirects.
pub fn webhook_client(timeout: Duration) -> Result<reqwest::Client, WebhookError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| WebhookError::Unreachable(e.to_string()))
}

/// Posts `event`, signed with `secret`.
pub async fn post_webhook(
    client: &reqwest::Client,
    secret: &SecretString,
    event: &WebhookEvent<'_>,
) -> Result<(), WebhookError> {
    let response = client
        .post(event.url)
        .header("content-type", "application/json")
        .header("x-tumbler-event", event.event)
        .header("x-tumbler-delivery", event.delivery_id)
        .header("x-tumbler-timestamp", event.timestamp.to_string())
        .header(
            "x-tumbler-signature",
            webhook_signature(secret, event.timestamp, event.body),
        )
        .body(event.body.to_vec())
        .send()
        .await
        // Without the URL: it may carry a token in its query.
        .map_err(|e| WebhookError::Unreachable(e.without_url().to_string()))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(WebhookError::Status(status.as_u16()))
    }
}

/// Checks a webhook URL (http or https, a host, no user or password in it) and returns it
/// normalised; the error says why, for people.
pub fn check_webhook_url(url: &str) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "url: not a valid URL".to_owned())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("url: only http and https URLs".to_owned());
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("url: a host is required".to_owned());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("url: no credentials in the URL; requests are signed instead".to_owned());
    }
    Ok(parsed.to_string())
}

/// The host of a URL, for logs and audit details (a path or query may carry a token).
pub fn url_host(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}
