//! The add and edit forms of an asset.

use super::asset_list::node_paths;
use super::console_form::ConsoleForm;
use super::flash::{redirect_after, Flash};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame};
use super::pages::{rejected, render};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use serde::Deserialize;
use tumbler_core::inventory::{AssetInput, AssetPatch, InventoryError};
use tumbler_core::Principal;
use tumbler_domain::ids::AssetId;
use tumbler_domain::platform;

/// A platform in the select.
pub struct PlatformChoice {
    id: &'static str,
    name: &'static str,
    port: u16,
    selected: bool,
}

#[derive(Template)]
#[template(path = "asset_form.html")]
struct AssetFormPage {
    frame: PageFrame,
    /// `None` when adding.
    id: Option<AssetId>,
    form: AssetFields,
    platforms: Vec<PlatformChoice>,
    domains: Vec<(String, bool)>,
}

/// The form's fields (also what is shown again after a refusal).
#[derive(Deserialize, Default, Clone)]
pub struct AssetFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    port: String,
    #[serde(default)]
    platform: String,
    /// One node path per line.
    #[serde(default)]
    nodes: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    fingerprint: String,
}

impl AssetFields {
    fn node_paths(&self) -> Vec<String> {
        self.nodes
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn port(&self) -> Result<Option<i64>, InventoryError> {
        let p = self.port.trim();
        if p.is_empty() {
            return Ok(None);
        }
        p.parse().map(Some).map_err(|_| {
            tumbler_domain::inventory::InvalidValue {
                field: "port",
                reason: format!("{p:?} is not a port (1 to 65535)"),
            }
            .into()
        })
    }
}

fn optional(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

async fn show_form(
    state: &AppState,
    p: &Principal,
    frame: PageFrame,
    id: Option<AssetId>,
    form: AssetFields,
) -> ConsoleResult {
    let domains = match state.domains.mine(p).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "listing domains failed");
            return Err(ConsoleError::denied());
        }
    };
    Ok(render(&AssetFormPage {
        frame,
        id,
        platforms: platform::catalogue()
            .iter()
            .map(|pl| PlatformChoice {
                id: pl.id,
                name: pl.name,
                port: pl.default_port,
                selected: pl.id == form.platform,
            })
            .collect(),
        domains: domains
            .into_iter()
            .map(|d| {
                let selected = d.name == form.domain;
                (d.name, selected)
            })
            .collect(),
        form,
    }))
}

/// `GET /assets/new`
pub async fn new_form(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
) -> ConsoleResult {
    let form = AssetFields {
        platform: "linux".into(),
        nodes: "/Default".into(),
        ..AssetFields::default()
    };
    show_form(&state, &p, frame, None, form).await
}

/// `POST /assets/new`
pub async fn create(
    State(state): State<AppState>,
    form: ConsoleForm<AssetFields>,
) -> ConsoleResult {
    let (p, frame, origin, form) = form.active()?;
    let result = async {
        let input = AssetInput {
            name: form.name.clone(),
            address: form.address.clone(),
            port: form.port()?,
            platform: form.platform.clone(),
            nodes: form.node_paths(),
            domain: optional(&form.domain),
            comment: form.comment.clone(),
            host_key_fingerprint: optional(&form.fingerprint),
            security: Default::default(),
        };
        state.inventory.create_asset(&p, &input, &origin).await
    }
    .await;
    match result {
        Ok(view) => Ok(redirect_after(
            &state,
            &frame,
            &format!("/assets/{}", view.asset.id),
            Flash::success(format!("Asset {} added.", view.asset.name)),
        )),
        Err(
            e @ (InventoryError::Forbidden | InventoryError::Store(_) | InventoryError::Vault(_)),
        ) => Err(e.into()),
        Err(e) => rejected(
            show_form(
                &state,
                &p,
                frame.with_error(Some(e.to_string())),
                None,
                form,
            )
            .await,
        ),
    }
}

/// `GET /assets/{id}/edit`
pub async fn edit_form(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
    Path(id): Path<AssetId>,
) -> ConsoleResult {
    let view = state.inventory.asset(&p, &id).await?;
    let a = &view.asset;
    let form = AssetFields {
        name: a.name.clone(),
        address: a.address.clone(),
        port: a.port.to_string(),
        platform: a.platform.clone(),
        nodes: node_paths(&view, "\n"),
        domain: view.domain.clone(),
        comment: a.comment.clone(),
        ..AssetFields::default()
    };
    show_form(&state, &p, frame, Some(id), form).await
}

/// `POST /assets/{id}/edit`
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<AssetId>,
    form: ConsoleForm<AssetFields>,
) -> ConsoleResult {
    let (p, frame, origin, form) = form.active()?;
    let result = async {
        let patch = AssetPatch {
            name: Some(form.name.clone()),
            address: Some(form.address.clone()),
            port: form.port()?,
            nodes: Some(form.node_paths()),
            domain: optional(&form.domain),
            comment: Some(form.comment.clone()),
            host_key_fingerprint: optional(&form.fingerprint),
            reconcile_account_id: None,
            totp: None,
            security: Default::default(),
        };
        state.inventory.update_asset(&p, &id, &patch, &origin).await
    }
    .await;
    match result {
        Ok(view) => Ok(redirect_after(
            &state,
            &frame,
            &format!("/assets/{id}"),
            Flash::success(format!("Asset {} saved.", view.asset.name)),
        )),
        Err(e) => {
            let error = ConsoleError::from(e).inline()?;
            rejected(show_form(&state, &p, frame.with_error(Some(error)), Some(id), form).await)
        }
    }
}
