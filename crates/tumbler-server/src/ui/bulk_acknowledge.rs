//! Acknowledging the host keys of the assets selected on the asset list: a dialog that lists
//! each one with its pinned and presented fingerprints to compare (and the `ssh-keygen -lf`
//! hint), then pins exactly the fingerprints it showed. A key that changed in between
//! refuses the whole confirmation and the dialog shows the new one.

use super::console_form::{field as get, ConsoleForm, FieldIndex, Fields};
use super::flash::{redirect_after, Flash};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame};
use super::pages::render;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use tumbler_core::inventory::{key_to_acknowledge, InventoryError};
use tumbler_core::Principal;
use tumbler_domain::ids::AssetId;
use tumbler_domain::inventory::HostKeyStatus;
use tumbler_domain::permission::Permission;
use tumbler_domain::platform::{self, Protocol};

/// The most assets one dialog takes (more than a page of the asset list).
pub const MAX_ASSETS: usize = 200;

/// The dialog's address: where it opens and where a refused confirmation returns.
const DIALOG: &str = "/assets/acknowledge";

/// One selected asset in the dialog.
struct AckRow {
    id: String,
    name: String,
    address: String,
    /// Its host-key state, in words.
    state: String,
    /// The pinned fingerprint ("none yet").
    pinned: String,
    /// The key it presents other than the pinned one ("" when none).
    presented: String,
    /// The fingerprint acknowledging it pins (sent back with the confirmation); `None`:
    /// nothing to acknowledge here.
    to_acknowledge: Option<String>,
    /// Why there is nothing to acknowledge.
    nothing: String,
}

#[derive(Template)]
#[template(path = "bulk_acknowledge.html")]
struct AckPage {
    frame: PageFrame,
    rows: Vec<AckRow>,
    /// How many rows would be acknowledged.
    acknowledgeable: usize,
    /// A selected key lets stored secrets go to what presented it: a TOTP code is asked.
    needs_code: bool,
    can_reveal: bool,
}

/// The host-key state in words.
fn state_in_words(status: HostKeyStatus) -> &'static str {
    match status {
        HostKeyStatus::Verified => "verified: its pinned key was compared and acknowledged",
        HostKeyStatus::Unverified => "unverified: a first key was seen, nobody has compared it yet",
        HostKeyStatus::FingerprintConflict => {
            "fingerprint conflict: it presents a key other than the pinned one"
        }
        HostKeyStatus::Relocated => "relocated: it moved, its new location awaits acceptance",
    }
}

/// The selected assets of the dialog (the query's repeated `asset_id`).
#[derive(serde::Deserialize)]
pub struct DialogQuery {
    #[serde(default)]
    asset_id: Vec<String>,
}

/// Refuses more assets than one dialog takes, before any is looked up.
fn too_many(ids: &[String]) -> Result<(), ConsoleError> {
    if ids.len() > MAX_ASSETS {
        return Err(ConsoleError::Invalid(format!(
            "Acknowledge at most {MAX_ASSETS} assets at once."
        )));
    }
    Ok(())
}

/// The dialog's address for `ids`.
fn dialog_address(ids: &[String]) -> String {
    let query = serde_urlencoded::to_string(
        ids.iter()
            .map(|id| ("asset_id", id.as_str()))
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    format!("{DIALOG}?{query}")
}

async fn dialog_page(
    state: &AppState,
    p: &Principal,
    frame: PageFrame,
    ids: &[String],
) -> ConsoleResult {
    let mut rows = Vec::new();
    let mut needs_code = false;
    for id in ids {
        let id = AssetId::from_string(id.clone());
        let view = match state.inventory.asset(p, &id).await {
            Ok(v) => v,
            // Gone or hidden since the list was shown: not listed, not sent.
            Err(InventoryError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        let a = &view.asset;
        let key = &a.host_key;
        let ssh = platform::find(&a.platform).is_some_and(|p| p.protocol == Protocol::Ssh);
        let to_acknowledge = key_to_acknowledge(key).filter(|_| ssh).map(str::to_owned);
        if to_acknowledge.is_some() {
            needs_code |= state.inventory.acknowledgement_needs_code(p, &id).await?;
        }
        let nothing = match key.status {
            HostKeyStatus::Verified => "Nothing to acknowledge: its key is already verified.",
            HostKeyStatus::Relocated => {
                "Nothing to compare: accept its new location on its own page."
            }
            _ => "Nothing to acknowledge: it has presented no host key yet (test it first).",
        };
        rows.push(AckRow {
            id: a.id.to_string(),
            name: a.name.clone(),
            address: format!("{}:{}", a.address, a.port),
            state: state_in_words(key.status).to_owned(),
            pinned: key.fingerprint.clone().unwrap_or_else(|| "none yet".into()),
            presented: key.presented.clone().unwrap_or_default(),
            to_acknowledge,
            nothing: nothing.to_owned(),
        });
    }
    Ok(render(&AckPage {
        frame,
        acknowledgeable: rows.iter().filter(|r| r.to_acknowledge.is_some()).count(),
        rows,
        needs_code,
        can_reveal: p.can(Permission::SecretsReveal),
    }))
}

/// `GET /assets/acknowledge?asset_id=...`: the dialog for the assets chosen on the list.
pub async fn dialog(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
    uri: axum::http::Uri,
) -> ConsoleResult {
    let q: DialogQuery = serde_html_form::from_str(uri.query().unwrap_or_default())
        .map_err(|_| ConsoleError::Invalid("Choose the assets on the asset list.".to_owned()))?;
    too_many(&q.asset_id)?;
    dialog_page(&state, &p, frame, &q.asset_id).await
}

/// `POST /assets/acknowledge`: from the asset list (the selected `asset_id`s), opens the
/// dialog and changes nothing; from the dialog (`confirm`, and `fingerprint_<id>` for each
/// asset it showed), pins exactly those fingerprints, all or nothing.
pub async fn acknowledge(
    State(state): State<AppState>,
    form: ConsoleForm<Fields>,
) -> ConsoleResult {
    let (p, frame, origin, f) = form.active()?;
    let named = FieldIndex::new(&f);
    let ids = named.all("asset_id");
    too_many(&ids)?;
    if ids.is_empty() {
        let flash = Flash::error("Select the assets whose host keys you compared first.");
        return Ok(redirect_after(&state, &frame, "/assets", flash));
    }
    if get(&f, "confirm").is_empty() {
        // Nothing is pinned without the dialog's fingerprints: open it.
        return Ok(Redirect::to(&dialog_address(&ids)).into_response());
    }
    let shown: Vec<(AssetId, String)> = ids
        .iter()
        .map(|id| {
            let fingerprint = named.one(&format!("fingerprint_{id}")).to_owned();
            (AssetId::from_string(id.clone()), fingerprint)
        })
        .collect();
    let asset_ids: Vec<AssetId> = shown.iter().map(|(id, _)| id.clone()).collect();
    let totp = Some(get(&f, "totp").trim()).filter(|t| !t.is_empty());
    match state
        .inventory
        .acknowledge_shown_host_keys(&p, &asset_ids, &shown, totp, &origin)
        .await
    {
        Ok(done) => {
            let names: Vec<String> = done.into_iter().map(|v| v.asset.name).collect();
            let flash = Flash::success(format!(
                "Acknowledged the host keys of {} asset(s): {}. They are pinned and verified.",
                names.len(),
                names.join(", ")
            ));
            Ok(redirect_after(&state, &frame, "/assets", flash))
        }
        Err(e) => {
            // Back to the dialog, which shows what the assets present now.
            let code = e.code();
            let message = ConsoleError::from(e).inline()?;
            let flash = Flash::error(format!("Nothing was acknowledged: {message}"));
            Ok(redirect_after(
                &state,
                &frame,
                &dialog_address(&ids),
                flash.with_code(code),
            ))
        }
    }
}
