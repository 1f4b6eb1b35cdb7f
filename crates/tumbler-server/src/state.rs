//! What every handler can reach: the services, metrics and server facts.

use crate::startup::Services;
use std::ops::Deref;
use std::sync::Arc;

/// Shared state of the HTTP layer: the services (reached through `Deref`, so a handler
/// writes `state.inventory`), and what only the HTTP layer has.
#[derive(Clone)]
pub struct AppState {
    /// Every service, the store (readiness checks only; handlers call services) and the
    /// metrics.
    pub services: Services,
    /// Whether the server speaks HTTPS (cookies get `Secure`).
    pub tls: bool,
    /// Open log streams per user.
    pub streams: Arc<crate::streams::StreamSlots>,
    /// Console messages and revealed secrets waiting for the page after a redirect.
    pub console: Arc<crate::ui::flash::ConsoleMemory>,
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}
