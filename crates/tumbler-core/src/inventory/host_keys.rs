//! Acknowledging the SSH host key an asset presents, or the new location of a relocated
//! asset (a fresh TOTP code when stored secrets would go to what presented it).

use super::assets::find_platform;
use super::{require, AssetView, InventoryError, InventoryService};
use crate::{event, Principal, RequestOrigin};
use std::collections::BTreeMap;
use tumbler_connectors::ssh::HostKeyFingerprint;
use tumbler_domain::audit::AuditAction;
use tumbler_domain::audit::Outcome;
use tumbler_domain::ids::AssetId;
use tumbler_domain::inventory::{HostKeyStatus, InvalidValue};
use tumbler_domain::object::ObjectKind;
use tumbler_domain::permission::Permission;
use tumbler_domain::platform::Protocol;
use tumbler_store::{AssetRow, HostKeyState};

impl InventoryService {
    /// Accepts the host key each asset presented: the pinned key of an `unverified` asset,
    /// or the new key of one in `fingerprint_conflict`. When `expected` is given, it must be
    /// the presented fingerprint (so that what the operator compared is what gets pinned).
    /// All or nothing: one asset that cannot be acknowledged stops the whole request.
    /// Each acknowledgement is audited with the old and new fingerprints.
    pub async fn acknowledge_host_keys(
        &self,
        principal: &Principal,
        ids: &[AssetId],
        expected: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<Vec<AssetView>, InventoryError> {
        self.acknowledge_host_keys_with(principal, ids, expected, None, origin)
            .await
    }

    /// Whether any account is stored for `asset`.
    async fn holds_accounts(&self, asset: &AssetRow) -> Result<bool, InventoryError> {
        let (_, total) = self
            .store
            .accounts(&tumbler_store::AccountFilter {
                domains: vec![asset.domain_id.clone()],
                asset_id: Some(asset.id.clone()),
                limit: 1,
                ..tumbler_store::AccountFilter::default()
            })
            .await?;
        Ok(total > 0)
    }

    /// [`Self::acknowledge_host_keys`] with a TOTP code, which accepting the new location
    /// of a `relocated` asset, a key that differs from the pinned one, or a first key of an
    /// asset that already holds accounts needs: that acceptance lets stored secrets go to
    /// whatever presented the key, so it takes the reveal permission and a fresh second
    /// factor, like revealing. The audit event names the accepted address, port and
    /// fingerprint.
    pub async fn acknowledge_host_keys_with(
        &self,
        principal: &Principal,
        ids: &[AssetId],
        expected: Option<&str>,
        totp: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<Vec<AssetView>, InventoryError> {
        require(principal, Permission::AssetsManage)?;
        let expected = match expected {
            Some(e) => Expected::Same(parse_fingerprint(e)?),
            None => Expected::Presented,
        };
        self.acknowledge(principal, ids, &expected, totp, origin)
            .await
    }

    /// [`Self::acknowledge_host_keys_with`] where each asset comes with the fingerprint the
    /// operator was shown for it (`shown` names every asset of `ids` once, and no other):
    /// only those keys are pinned. An asset that presents another key by now, or that has
    /// no key to pin, is refused with [`InventoryError::FingerprintMismatch`] (or
    /// [`InventoryError::NoHostKeySeen`]) before any code is checked, and nothing is pinned.
    pub async fn acknowledge_shown_host_keys(
        &self,
        principal: &Principal,
        ids: &[AssetId],
        shown: &[(AssetId, String)],
        totp: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<Vec<AssetView>, InventoryError> {
        require(principal, Permission::AssetsManage)?;
        let mut each = BTreeMap::new();
        for (id, fingerprint) in shown {
            let fingerprint = parse_fingerprint(fingerprint)?;
            if each.insert(id.clone(), fingerprint).is_some() || !ids.contains(id) {
                return Err(InvalidValue {
                    field: "expected",
                    reason: format!("name each selected asset once; {id} is not one of them"),
                }
                .into());
            }
        }
        if let Some(missing) = ids.iter().find(|id| !each.contains_key(*id)) {
            return Err(InvalidValue {
                field: "expected",
                reason: format!("the fingerprint shown for asset {missing} is missing"),
            }
            .into());
        }
        self.acknowledge(principal, ids, &Expected::Each(each), totp, origin)
            .await
    }

    /// Whether acknowledging `asset`'s host key now takes the reveal permission and a fresh
    /// TOTP code: it moved, presents a key other than the pinned one, or presents a first key
    /// while it holds accounts.
    pub async fn acknowledgement_needs_code(
        &self,
        principal: &Principal,
        asset: &AssetId,
    ) -> Result<bool, InventoryError> {
        let view = self.asset(principal, asset).await?;
        self.needs_code(&view.asset).await
    }

    async fn needs_code(&self, a: &AssetRow) -> Result<bool, InventoryError> {
        Ok(match a.host_key.status {
            HostKeyStatus::Relocated | HostKeyStatus::FingerprintConflict => true,
            // A first key, once the asset holds accounts: their secrets would go to whatever
            // answered (an empty asset's key is vouched for by whoever set it up).
            HostKeyStatus::Unverified => self.holds_accounts(a).await?,
            HostKeyStatus::Verified => false,
        })
    }

    async fn acknowledge(
        &self,
        principal: &Principal,
        ids: &[AssetId],
        expected: &Expected,
        totp: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<Vec<AssetView>, InventoryError> {
        if ids.is_empty() {
            return Err(InvalidValue {
                field: "asset_ids",
                reason: "select at least one asset".to_owned(),
            }
            .into());
        }
        let visible = principal.visible_domains();
        // Relocated assets, or keys that differ from the pinned one (someone who controls
        // names or routes would otherwise have their own host trusted), among them: reveal
        // permission and a fresh code, checked before anything is written (the code is used
        // once for the whole request).
        let needs_revealer = |status: HostKeyStatus| {
            matches!(
                status,
                HostKeyStatus::Relocated | HostKeyStatus::FingerprintConflict
            )
        };
        let mut relocated = false;
        let mut conflict = false;
        for id in ids {
            if let Some(a) = self.store.asset(id).await? {
                if visible.contains(&a.domain_id) {
                    // What the operator was shown is checked first: a stale dialog is
                    // refused without spending the code.
                    if let Expected::Each(each) = expected {
                        expected_matches(&a, each.get(id), is_ssh(&a)?)?;
                    }
                    relocated |= a.host_key.status == HostKeyStatus::Relocated;
                    if !relocated && !conflict {
                        conflict |= self.needs_code(&a).await?;
                    }
                }
            }
        }
        if relocated || conflict {
            require(principal, Permission::SecretsReveal)?;
            let action = if relocated {
                AuditAction::AssetLocationAccept
            } else {
                AuditAction::AssetHostKeyAcknowledge
            };
            self.auth.step_up(principal, totp, action, origin).await?;
        }
        let stepped_up = relocated || conflict;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let mut done = Vec::new();
        for id in ids {
            let asset = tx
                .asset(id)
                .await?
                .filter(|a| visible.contains(&a.domain_id))
                .ok_or(InventoryError::NotFound(ObjectKind::Asset))?;
            if needs_revealer(asset.host_key.status) && !stepped_up {
                // Moved or conflicting since the check above: accept it in a request that
                // carries a code.
                return Err(match asset.host_key.status {
                    HostKeyStatus::Relocated => InventoryError::Relocated(asset.name.clone()),
                    _ => crate::auth::AuthError::TotpRequired.into(),
                });
            }
            let is_ssh = is_ssh(&asset)?;
            if let Expected::Each(each) = expected {
                expected_matches(&asset, each.get(id), is_ssh)?;
            }
            if asset.host_key.status == HostKeyStatus::Relocated && !is_ssh {
                // A database has no host key: accepting is accepting its address and port.
                let key = HostKeyState {
                    fingerprint: None,
                    presented: None,
                    status: HostKeyStatus::Unverified,
                };
                tx.set_asset_host_key(id, &key).await?;
                tx.append_audit(
                    &event(
                        &principal.user.username,
                        AuditAction::AssetLocationAccept,
                        ("asset", id.as_str()),
                        Outcome::Success,
                        origin,
                        format!("{} at {}:{}", asset.name, asset.address, asset.port),
                    ),
                    now,
                )
                .await?;
                done.push(AssetRow {
                    host_key: key,
                    ..asset
                });
                continue;
            }
            let old = asset.host_key.fingerprint.clone();
            let new = match asset.host_key.status {
                HostKeyStatus::FingerprintConflict => asset.host_key.presented.clone(),
                HostKeyStatus::Relocated => asset
                    .host_key
                    .presented
                    .clone()
                    .or_else(|| asset.host_key.fingerprint.clone()),
                _ => asset.host_key.fingerprint.clone(),
            }
            .ok_or_else(|| InventoryError::NoHostKeySeen(asset.name.clone()))?;
            if let Expected::Same(e) = expected {
                if e.as_str() != new {
                    return Err(InventoryError::FingerprintMismatch {
                        asset: asset.name.clone(),
                        presented: new,
                    });
                }
            }
            let key = HostKeyState {
                fingerprint: Some(new.clone()),
                presented: None,
                status: HostKeyStatus::Verified,
            };
            tx.set_asset_host_key(id, &key).await?;
            let (action, at) = if asset.host_key.status == HostKeyStatus::Relocated {
                (
                    AuditAction::AssetLocationAccept,
                    format!(" at {}:{}", asset.address, asset.port),
                )
            } else {
                (AuditAction::AssetHostKeyAcknowledge, String::new())
            };
            tx.append_audit(
                &event(
                    &principal.user.username,
                    action,
                    ("asset", id.as_str()),
                    Outcome::Success,
                    origin,
                    format!(
                        "{}: {} -> {new}{at}",
                        asset.host_key.status,
                        old.as_deref().unwrap_or("none")
                    ),
                ),
                now,
            )
            .await?;
            done.push(AssetRow {
                host_key: key,
                ..asset
            });
        }
        tx.commit().await?;
        self.views(done).await
    }
}

/// What the operator compared before acknowledging.
enum Expected {
    /// Nothing: whatever each asset presents is pinned (the API without a fingerprint).
    Presented,
    /// One fingerprint every asset must present.
    Same(HostKeyFingerprint),
    /// The fingerprint shown for each asset.
    Each(BTreeMap<AssetId, HostKeyFingerprint>),
}

fn parse_fingerprint(text: &str) -> Result<HostKeyFingerprint, InvalidValue> {
    text.trim()
        .parse::<HostKeyFingerprint>()
        .map_err(|_| InvalidValue {
            field: "fingerprint",
            reason: "expected SHA256:<base64> as ssh-keygen -l prints it".to_owned(),
        })
}

fn is_ssh(asset: &AssetRow) -> Result<bool, InventoryError> {
    Ok(find_platform(&asset.platform)?.protocol == Protocol::Ssh)
}

/// The host key acknowledging `key` would pin, as the dialogs show it: the presented key of
/// a conflict, the pinned key of an unverified asset, the key seen at a relocated asset's new
/// location; `None` when there is nothing to acknowledge (verified, or no key seen yet).
pub fn key_to_acknowledge(key: &HostKeyState) -> Option<&str> {
    match key.status {
        HostKeyStatus::FingerprintConflict => key.presented.as_deref(),
        HostKeyStatus::Unverified => key.fingerprint.as_deref(),
        HostKeyStatus::Relocated => key.presented.as_deref().or(key.fingerprint.as_deref()),
        HostKeyStatus::Verified => None,
    }
}

/// Refuses `asset` unless it presents the key the operator was `shown`.
fn expected_matches(
    asset: &AssetRow,
    shown: Option<&HostKeyFingerprint>,
    is_ssh: bool,
) -> Result<(), InventoryError> {
    let key = &asset.host_key;
    // Acknowledged meanwhile with the very key shown: pinning it again changes nothing.
    let pinned = (key.status == HostKeyStatus::Verified)
        .then_some(key.fingerprint.as_deref())
        .flatten();
    let now = key_to_acknowledge(key).or(pinned).filter(|_| is_ssh);
    match (now, shown) {
        (Some(now), Some(shown)) if now == shown.as_str() => Ok(()),
        (None, _) => Err(InventoryError::NoHostKeySeen(asset.name.clone())),
        (Some(now), _) => Err(InventoryError::FingerprintMismatch {
            asset: asset.name.clone(),
            presented: now.to_owned(),
        }),
    }
}
