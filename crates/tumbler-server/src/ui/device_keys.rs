//! Device keys in the console: Settings > Device key (the system key, regenerate, export with
//! a passphrase), the Resolve Key Conflict dialog for the devices selected on the asset list,
//! Modify authentication on a device's page, and a job's page with each device's outcome.

use super::console_form::{ConsoleForm, Fields};
use super::pages::{active, not_active, render, render_uncached, UiSession};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use tumbler_core::device_keys::{
    AuthMode, AuthenticationInput, ConflictDevice, DeviceOutcome, JobView, ResolveInput,
    ResolveMode, SystemKeyView,
};
use tumbler_core::{DeviceKeyError, Principal};
use tumbler_domain::ids::AssetId;
use tumbler_domain::ssh_key::KeyAlgorithm;

#[derive(Template)]
#[template(path = "device_key.html")]
struct KeyPage {
    display_name: String,
    csrf: String,
    key: SystemKeyView,
    algorithms: Vec<&'static str>,
    exported: Option<String>,
    error: Option<String>,
}

/// One device row of the Resolve Key Conflict dialog.
struct ConflictRow {
    id: String,
    name: String,
    address: String,
    status: String,
}

#[derive(Template)]
#[template(path = "resolve_conflict.html")]
struct ResolvePage {
    display_name: String,
    csrf: String,
    devices: Vec<ConflictRow>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    display_name: String,
    csrf: String,
    job: JobView,
    outcomes: Vec<DeviceOutcome>,
    running: bool,
}

fn get<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// A message to show for `e`, or the error page for what the user cannot act on.
fn shown(e: DeviceKeyError) -> Result<String, Box<Response>> {
    match e {
        DeviceKeyError::Forbidden => Err(Box::new(
            (
                StatusCode::FORBIDDEN,
                "You do not have permission for this.",
            )
                .into_response(),
        )),
        e @ (DeviceKeyError::Store(_)
        | DeviceKeyError::Vault(_)
        | DeviceKeyError::KeyGeneration(_)) => {
            tracing::error!(error = %e, "device key page failed");
            Err(Box::new(
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
            ))
        }
        e => Ok(e.to_string()),
    }
}

async fn key_page(
    state: &AppState,
    p: &Principal,
    csrf: String,
    exported: Option<String>,
    error: Option<String>,
) -> Response {
    let key = match state.device_keys.system_key(p).await {
        Ok(k) => k,
        Err(e) => {
            return match shown(e) {
                Ok(m) => (StatusCode::NOT_FOUND, m).into_response(),
                Err(r) => *r,
            }
        }
    };
    render_uncached(&KeyPage {
        display_name: p.user.display_name.clone(),
        csrf,
        key,
        algorithms: KeyAlgorithm::ALL.iter().map(|a| a.as_str()).collect(),
        exported,
        error,
    })
}

/// `GET /settings/device-key`
pub async fn show(State(state): State<AppState>, UiSession(session, _): UiSession) -> Response {
    match active(session) {
        Ok((p, csrf)) => key_page(&state, &p, csrf, None, None).await,
        Err(to) => Redirect::to(to).into_response(),
    }
}

/// `POST /settings/device-key/regenerate`: starts the job and shows it.
pub async fn regenerate(
    State(state): State<AppState>,
    ConsoleForm {
        principal: p,
        csrf,
        origin,
        form: f,
    }: ConsoleForm<Fields>,
) -> Response {
    if let Some(to) = not_active(&p) {
        return to;
    }
    let Some(algorithm) = KeyAlgorithm::parse(get(&f, "algorithm")) else {
        let error = Some("Choose an algorithm.".to_owned());
        return key_page(&state, &p, csrf, None, error).await;
    };
    match state.device_keys.regenerate(&p, algorithm, &origin).await {
        Ok(job) => Redirect::to(&format!("/jobs/{job}")).into_response(),
        Err(e) => match shown(e) {
            Ok(m) => key_page(&state, &p, csrf, None, Some(m)).await,
            Err(r) => *r,
        },
    }
}

/// `POST /settings/device-key/export`: the private key encrypted with the passphrase.
pub async fn export(
    State(state): State<AppState>,
    ConsoleForm {
        principal: p,
        csrf,
        origin,
        form: f,
    }: ConsoleForm<Fields>,
) -> Response {
    if let Some(to) = not_active(&p) {
        return to;
    }
    let passphrase = SecretString::from(get(&f, "passphrase").to_owned());
    match state
        .device_keys
        .export_system_key(&p, &passphrase, Some(get(&f, "totp")), &origin)
        .await
    {
        Ok(key) => key_page(&state, &p, csrf, Some(key), None).await,
        Err(e) => match shown(e) {
            Ok(m) => key_page(&state, &p, csrf, None, Some(m)).await,
            Err(r) => *r,
        },
    }
}

async fn resolve_page(
    state: &AppState,
    p: &Principal,
    csrf: String,
    ids: &[String],
    error: Option<String>,
) -> Response {
    let mut devices = Vec::new();
    for id in ids {
        if let Ok(v) = state
            .inventory
            .asset(p, &AssetId::from_string(id.clone()))
            .await
        {
            devices.push(ConflictRow {
                id: v.asset.id.to_string(),
                name: v.asset.name.clone(),
                address: v.asset.address.clone(),
                status: super::asset_list::authentication_label(&v),
            });
        }
    }
    render(&ResolvePage {
        display_name: p.user.display_name.clone(),
        csrf,
        devices,
        error,
    })
}

/// `POST /assets/resolve-conflict`: the dialog for the selected devices, and (with
/// `resolve`) starting the job. Cancel is a link back to the list: nothing changes.
pub async fn resolve(
    State(state): State<AppState>,
    ConsoleForm {
        principal: p,
        csrf,
        origin,
        form: f,
    }: ConsoleForm<Fields>,
) -> Response {
    if let Some(to) = not_active(&p) {
        return to;
    }
    let ids: Vec<String> = f
        .iter()
        .filter(|(k, _)| k == "asset_id")
        .map(|(_, v)| v.clone())
        .collect();
    if ids.is_empty() {
        return super::asset_list::page(
            &state,
            &p,
            csrf,
            Default::default(),
            None,
            Some("Select the devices in key conflict first.".to_owned()),
        )
        .await;
    }
    if get(&f, "resolve").is_empty() {
        return resolve_page(&state, &p, csrf, &ids, None).await;
    }
    let custom = get(&f, "mode") == "custom_key";
    let secret = |name: &str| {
        let v = get(&f, name);
        (!v.is_empty()).then(|| SecretString::from(v.to_owned()))
    };
    let input = ResolveInput {
        mode: if custom {
            ResolveMode::CustomKey
        } else {
            ResolveMode::SystemKey
        },
        devices: ids
            .iter()
            .map(|id| ConflictDevice {
                asset_id: AssetId::from_string(id.clone()),
                admin_user: get(&f, &format!("admin_user_{id}")).trim().to_owned(),
                admin_password: if custom {
                    None
                } else {
                    secret(&format!("admin_password_{id}"))
                },
                create_user: !custom && !get(&f, &format!("create_user_{id}")).is_empty(),
            })
            .collect(),
        private_key: if custom { secret("private_key") } else { None },
        passphrase: if custom { secret("passphrase") } else { None },
    };
    match state
        .device_keys
        .resolve_conflicts(&p, input, &origin)
        .await
    {
        Ok(job) => Redirect::to(&format!("/jobs/{job}")).into_response(),
        Err(e) => match shown(e) {
            Ok(m) => resolve_page(&state, &p, csrf, &ids, Some(m)).await,
            Err(r) => *r,
        },
    }
}

/// `POST /assets/{id}/authentication`: Modify authentication from a device's page.
pub async fn modify(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm {
        principal: p,
        csrf: _,
        origin,
        form: f,
    }: ConsoleForm<Fields>,
) -> Response {
    if let Some(to) = not_active(&p) {
        return to;
    }
    let mode = match get(&f, "mode") {
        "system_key" => AuthMode::SystemKey,
        "custom_key" => AuthMode::CustomKey,
        "password" => AuthMode::Password,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                "Choose how Tumbler should log in. Go back to the device's page.",
            )
                .into_response()
        }
    };
    let secret = |name: &str| {
        let v = get(&f, name);
        (!v.is_empty()).then(|| SecretString::from(v.to_owned()))
    };
    let input = AuthenticationInput {
        mode,
        admin_user: get(&f, "admin_user").trim().to_owned(),
        create_user: !get(&f, "create_user").is_empty(),
        private_key: secret("private_key"),
        passphrase: secret("passphrase"),
    };
    match state
        .device_keys
        .modify_authentication(&p, &AssetId::from_string(id.clone()), input, &origin)
        .await
    {
        Ok(job) => Redirect::to(&format!("/jobs/{job}")).into_response(),
        Err(e) => match shown(e) {
            Ok(m) => (
                StatusCode::BAD_REQUEST,
                format!("{m}. Go back to the device's page and correct it."),
            )
                .into_response(),
            Err(r) => *r,
        },
    }
}

/// `GET /jobs/{id}`: a job and each device's outcome (reloads while it runs).
pub async fn job(
    State(state): State<AppState>,
    UiSession(session, _): UiSession,
    Path(id): Path<tumbler_domain::ids::JobId>,
) -> Response {
    let (p, csrf) = match active(session) {
        Ok(found) => found,
        Err(to) => return Redirect::to(to).into_response(),
    };
    match state.device_keys.job(&p, &id).await {
        Ok(job) => render(&JobPage {
            display_name: p.user.display_name.clone(),
            csrf,
            running: job.status == tumbler_domain::job::JobStatus::Running,
            outcomes: job.outcomes.clone(),
            job,
        }),
        Err(e) => match shown(e) {
            Ok(m) => (StatusCode::NOT_FOUND, m).into_response(),
            Err(r) => *r,
        },
    }
}
