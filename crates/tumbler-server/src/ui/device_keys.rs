//! Device keys in the console: Settings > Device key (the system key, regenerate, export with
//! a passphrase), the Resolve Key Conflict dialog for the devices selected on the asset list,
//! Modify authentication on a device's page, and a job's page with each device's outcome.

use super::console_form::{field as get, ConsoleForm, FieldIndex, Fields};
use super::flash::{
    redirect_after, redirect_revealed, Flash, RevealLink, Revealed, RevealedSecret,
};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame};
use super::labels::Labelled;
use super::pages::{rejected, render, render_uncached};
use super::when::When;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use secrecy::SecretString;
use tumbler_core::device_keys::{
    AuthMode, AuthenticationInput, ConflictDevice, DeviceOutcome, JobView, ResolveInput,
    ResolveMode, SystemKeyView, MAX_DEVICES,
};
use tumbler_core::{DeviceKeyError, Principal};
use tumbler_domain::ids::{AssetId, JobId};
use tumbler_domain::ssh_key::KeyAlgorithm;

#[derive(Template)]
#[template(path = "device_key.html")]
struct KeyPage {
    frame: PageFrame,
    key: SystemKeyView,
    generated_at: When,
    algorithms: Vec<&'static str>,
    exported: Option<Revealed>,
}

/// The device-key settings page's address.
const KEY_PAGE: &str = "/settings/device-key";

/// One device row of the Resolve Key Conflict dialog.
struct ConflictRow {
    id: String,
    name: String,
    address: String,
    status: String,
    /// The device admin user Tumbler knows (pre-filled).
    admin_user: String,
    /// The privileged account whose stored password may stand in for the typed one, offered
    /// to callers who may reveal it.
    stored_user: Option<String>,
}

#[derive(Template)]
#[template(path = "resolve_conflict.html")]
struct ResolvePage {
    frame: PageFrame,
    devices: Vec<ConflictRow>,
    /// Some device offers its stored password: the dialog asks for a fresh code.
    offers_stored: bool,
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    frame: PageFrame,
    job: JobView,
    /// Its readable label: what it does and when it started.
    label: String,
    started: When,
    outcomes: Vec<DeviceOutcome>,
    running: bool,
}

/// A secret field, `None` when left empty.
fn secret(fields: &[(String, String)], name: &str) -> Option<SecretString> {
    let v = get(fields, name);
    (!v.is_empty()).then(|| SecretString::from(v.to_owned()))
}

/// The page of a started job, or what `refused` answers with the reason it did not start.
async fn to_job<F, Fut>(started: Result<JobId, DeviceKeyError>, refused: F) -> ConsoleResult
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ConsoleResult>,
{
    match started {
        Ok(job) => Ok(Redirect::to(&format!("/jobs/{job}")).into_response()),
        Err(e) => refused(ConsoleError::from(e).inline()?).await,
    }
}

async fn key_page(
    state: &AppState,
    p: &Principal,
    frame: PageFrame,
    exported: Option<Revealed>,
) -> ConsoleResult {
    let key = match state.device_keys.system_key(p).await {
        Ok(k) => k,
        Err(e) => return Err(ConsoleError::NotFound(ConsoleError::from(e).inline()?)),
    };
    Ok(render_uncached(&KeyPage {
        frame,
        generated_at: When::at(key.generated_at),
        key,
        algorithms: KeyAlgorithm::ALL.iter().map(|a| a.as_str()).collect(),
        exported,
    }))
}

/// `GET /settings/device-key`, with `?revealed=` the one-time link to an exported key.
pub async fn show(
    State(state): State<AppState>,
    ConsolePage(p, mut frame): ConsolePage,
    link: RevealLink,
) -> ConsoleResult {
    let exported = link.open(&state, &mut frame);
    key_page(&state, &p, frame, exported).await
}

/// `POST /settings/device-key/regenerate`: starts the job and shows it.
pub async fn regenerate(State(state): State<AppState>, form: ConsoleForm<Fields>) -> ConsoleResult {
    let (p, frame, origin, f) = form.active()?;
    let Some(algorithm) = KeyAlgorithm::parse(get(&f, "algorithm")) else {
        let flash = Flash::error("Choose an algorithm.");
        return Ok(redirect_after(&state, &frame, KEY_PAGE, flash));
    };
    let started = state.device_keys.regenerate(&p, algorithm, &origin).await;
    to_job(started, |error| async {
        Ok(redirect_after(
            &state,
            &frame,
            KEY_PAGE,
            Flash::error(error),
        ))
    })
    .await
}

/// `POST /settings/device-key/export`: the private key encrypted with the passphrase.
pub async fn export(State(state): State<AppState>, form: ConsoleForm<Fields>) -> ConsoleResult {
    let (p, frame, origin, f) = form.active()?;
    let passphrase = SecretString::from(get(&f, "passphrase").to_owned());
    match state
        .device_keys
        .export_system_key(&p, &passphrase, Some(get(&f, "totp")), &origin)
        .await
    {
        Ok(key) => {
            let revealed = Revealed {
                subject: "the system key".to_owned(),
                secrets: vec![RevealedSecret {
                    label: "Encrypted private key".to_owned(),
                    value: key.into(),
                }],
            };
            Ok(redirect_revealed(
                &state,
                &frame,
                KEY_PAGE,
                Flash::success("System key exported below, once; this export is audited."),
                revealed,
            ))
        }
        Err(e) => {
            let error = ConsoleError::from(e).inline()?;
            Ok(redirect_after(
                &state,
                &frame,
                KEY_PAGE,
                Flash::error(error),
            ))
        }
    }
}

async fn resolve_page(
    state: &AppState,
    p: &Principal,
    frame: PageFrame,
    ids: &[String],
) -> ConsoleResult {
    let may_reveal = p.can(tumbler_domain::permission::Permission::SecretsReveal);
    let mut devices = Vec::new();
    for id in ids {
        let id = AssetId::from_string(id.clone());
        if let Ok(v) = state.inventory.asset(p, &id).await {
            let stored_user = if may_reveal {
                state
                    .device_keys
                    .stored_password_user(p, &id)
                    .await
                    .ok()
                    .flatten()
            } else {
                None
            };
            devices.push(ConflictRow {
                id: v.asset.id.to_string(),
                name: v.asset.name.clone(),
                address: v.asset.address.clone(),
                status: format!(
                    "authentication: {}; host key: {}",
                    v.asset.auth_status.label(),
                    v.asset.host_key.status.label()
                ),
                admin_user: v.asset.auth_username.clone(),
                stored_user,
            });
        }
    }
    let offers_stored = devices.iter().any(|d| d.stored_user.is_some());
    Ok(render(&ResolvePage {
        frame,
        devices,
        offers_stored,
    }))
}

/// `POST /assets/resolve-conflict`: the dialog for the selected devices, and (with
/// `resolve`) starting the job. Cancel is a link back to the list: nothing changes.
pub async fn resolve(State(state): State<AppState>, form: ConsoleForm<Fields>) -> ConsoleResult {
    let (p, frame, origin, f) = form.active()?;
    let named = FieldIndex::new(&f);
    let ids = named.all("asset_id");
    too_many_devices(&ids)?;
    if ids.is_empty() {
        let flash = Flash::error("Select the devices in key conflict first.");
        return Ok(redirect_after(&state, &frame, "/assets", flash));
    }
    if get(&f, "resolve").is_empty() {
        // Opening the dialog changes nothing: it is a page of its own.
        let query = serde_urlencoded::to_string(
            ids.iter()
                .map(|id| ("asset_id", id.as_str()))
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default();
        return Ok(Redirect::to(&format!("/assets/resolve-conflict?{query}")).into_response());
    }
    let one = |name: String| named.one(&name);
    let custom = get(&f, "mode") == "custom_key";
    let input = ResolveInput {
        mode: if custom {
            ResolveMode::CustomKey
        } else {
            ResolveMode::SystemKey
        },
        devices: ids
            .iter()
            .map(|id| {
                let stored = !custom && !one(format!("use_stored_password_{id}")).is_empty();
                let typed = one(format!("admin_password_{id}"));
                ConflictDevice {
                    asset_id: AssetId::from_string(id.clone()),
                    admin_user: one(format!("admin_user_{id}")).trim().to_owned(),
                    // The stored password, when chosen, replaces anything typed.
                    admin_password: (!custom && !stored && !typed.is_empty())
                        .then(|| SecretString::from(typed.to_owned())),
                    create_user: !custom && !one(format!("create_user_{id}")).is_empty(),
                    use_stored_password: stored,
                }
            })
            .collect(),
        private_key: if custom {
            secret(&f, "private_key")
        } else {
            None
        },
        passphrase: if custom {
            secret(&f, "passphrase")
        } else {
            None
        },
        totp: Some(get(&f, "totp").trim().to_owned()).filter(|c| !c.is_empty()),
    };
    let started = state
        .device_keys
        .resolve_conflicts(&p, input, &origin)
        .await;
    to_job(started, |error| async {
        rejected(resolve_page(&state, &p, frame.with_error(Some(error)), &ids).await)
    })
    .await
}

/// `GET /assets/resolve-conflict?asset_id=...`: the Resolve Key Conflict dialog for the
/// devices chosen on the asset list.
pub async fn resolve_dialog(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
    uri: axum::http::Uri,
) -> ConsoleResult {
    let q: DialogQuery = serde_html_form::from_str(uri.query().unwrap_or_default())
        .map_err(|_| ConsoleError::Invalid("Choose the devices on the asset list.".to_owned()))?;
    too_many_devices(&q.asset_id)?;
    resolve_page(&state, &p, frame, &q.asset_id).await
}

/// Refuses more devices than one resolution takes, before any is looked up.
fn too_many_devices(ids: &[String]) -> Result<(), ConsoleError> {
    if ids.len() > MAX_DEVICES {
        return Err(ConsoleError::Invalid(format!(
            "Resolve at most {MAX_DEVICES} devices at once."
        )));
    }
    Ok(())
}

/// The devices of the Resolve Key Conflict dialog.
#[derive(serde::Deserialize)]
pub struct DialogQuery {
    #[serde(default)]
    asset_id: Vec<String>,
}

/// `POST /assets/{id}/authentication`: Modify authentication from a device's page.
pub async fn modify(
    State(state): State<AppState>,
    Path(id): Path<AssetId>,
    form: ConsoleForm<Fields>,
) -> ConsoleResult {
    let (p, _, origin, f) = form.active()?;
    let mode = match get(&f, "mode") {
        "system_key" => AuthMode::SystemKey,
        "custom_key" => AuthMode::CustomKey,
        "password" => AuthMode::Password,
        _ => {
            return Err(ConsoleError::Invalid(
                "Choose how Tumbler should log in. Go back to the device's page.".to_owned(),
            ))
        }
    };
    let input = AuthenticationInput {
        mode,
        admin_user: get(&f, "admin_user").trim().to_owned(),
        create_user: !get(&f, "create_user").is_empty(),
        private_key: secret(&f, "private_key"),
        passphrase: secret(&f, "passphrase"),
    };
    let started = state
        .device_keys
        .modify_authentication(&p, &id, input, &origin)
        .await;
    to_job(started, |m| async move {
        Err(ConsoleError::Invalid(format!(
            "{m}. Go back to the device's page and correct it."
        )))
    })
    .await
}

/// `GET /jobs/{id}`: a job and each device's outcome (reloads while it runs).
pub async fn job(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
    Path(id): Path<JobId>,
) -> ConsoleResult {
    match state.device_keys.job(&p, &id).await {
        Ok(job) => Ok(render(&JobPage {
            frame,
            label: super::when::label(job.kind.label(), job.created_at),
            started: When::at(job.created_at),
            running: job.status == tumbler_domain::job::JobStatus::Running,
            outcomes: job.outcomes.clone(),
            job,
        })),
        Err(e) => Err(ConsoleError::NotFound(ConsoleError::from(e).inline()?)),
    }
}
