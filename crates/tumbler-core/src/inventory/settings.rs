//! Inventory settings administrators change at run time (stored in `meta`, audited).

use super::{require, InventoryError, InventoryService};
use crate::{event, Principal, RequestOrigin};
use serde::{Deserialize, Serialize};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::permission::Permission;
use tumbler_store::StoreError;

const META_KEY: &str = "inventory_settings";

/// How Tumbler treats targets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventorySettings {
    /// Send secrets to SSH hosts whose pinned key nobody has acknowledged yet (trust on
    /// first use), for every asset (each asset also has its own switch). Off by default:
    /// until someone acknowledges the key, password logins stop with `host_key_unverified`,
    /// and key logins proceed but nothing secret (a sudo or su password, a `chpasswd` line,
    /// a template's answer, a key to install) is written into their sessions.
    #[serde(default)]
    pub trust_on_first_use_for_passwords: bool,
}

impl InventoryService {
    /// The current settings.
    pub async fn settings(&self) -> Result<InventorySettings, InventoryError> {
        match self.store.meta(META_KEY).await? {
            None => Ok(InventorySettings::default()),
            Some(json) => serde_json::from_str(&json)
                .map_err(|_| StoreError::Corrupt("inventory settings".to_owned()).into()),
        }
    }

    /// Replaces the settings (administrators), audited.
    pub async fn set_settings(
        &self,
        principal: &Principal,
        settings: &InventorySettings,
        origin: &RequestOrigin,
    ) -> Result<(), InventoryError> {
        require(principal, Permission::SettingsManage)?;
        let json = serde_json::to_string(settings)
            .map_err(|e| StoreError::Corrupt(format!("inventory settings: {e}")))?;
        let mut tx = self.store.begin().await?;
        tx.set_meta(META_KEY, &json).await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::SettingsInventoryUpdate,
                ("settings", META_KEY),
                Outcome::Success,
                origin,
                json.clone(),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        if settings.trust_on_first_use_for_passwords {
            tracing::warn!(
                "trust on first use is on for every asset: secrets may be sent to SSH hosts whose key nobody acknowledged"
            );
        }
        Ok(())
    }
}
