//! An asset's page: its fields, connectivity and host key (stored and presented fingerprints
//! side by side, the acknowledge dialog), test, delete, and its accounts: add, verify, reveal
//! (dialog asking for a fresh TOTP code), delete.

use super::asset_list::node_paths;
use super::console_form::{ConsoleForm, PathForm};
use super::flash::{
    redirect_after, redirect_revealed, Flash, RevealLink, Revealed, RevealedSecret,
};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame};
use super::labels::{reason_and_code, Labelled, Shown};
use super::pages::render_uncached;
use super::when::When;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use tumbler_core::inventory::{AccountInput, AccountQuery, InventoryError};
use tumbler_core::{Principal, RequestOrigin};
use tumbler_domain::ids::{AccountId, AssetId};
use tumbler_domain::inventory::{AuthStatus, HostKeyStatus, SecretType};
use tumbler_domain::permission::Permission;
use tumbler_domain::platform;

/// One account row.
pub struct AccountLine {
    id: String,
    username: String,
    secret_type: Shown,
    privileged: bool,
    status: Shown,
    reason: String,
    /// The reason's failure code, for support (empty when there is none).
    reason_code: String,
    last_verified: When,
    /// No stored secret may open it (needs attention, failed): reconcile is offered.
    reconcilable: bool,
    /// How many versions of its secret are stored (all lost when it is deleted).
    versions: i64,
    /// Deleting it needs a fresh TOTP code (protected, or its secret was changed).
    delete_needs_code: bool,
}

#[derive(Template)]
#[template(path = "asset_detail.html")]
struct AssetPage {
    frame: PageFrame,
    id: String,
    name: String,
    address: String,
    port: u16,
    /// The platform's name and id.
    platform: (String, String),
    nodes: String,
    domain: String,
    comment: String,
    connectivity: Shown,
    connectivity_error: String,
    checked_at: When,
    /// How Tumbler logs in to it.
    authentication: Shown,
    /// The current authentication mode as the Modify authentication dialog names it
    /// (`password`, `system_key`, `custom_key`), pre-selected there.
    auth_mode: &'static str,
    /// The device admin user a key logs in as (pre-filled in the dialog).
    auth_username: String,
    /// In key conflict: the page links to the Resolve Key Conflict dialog.
    in_key_conflict: bool,
    connection_security: String,
    /// Whether its host key is trusted (a separate thing from how Tumbler logs in).
    host_key_status: Shown,
    stored_fingerprint: String,
    presented_fingerprint: String,
    to_acknowledge: Option<String>,
    /// Moved and awaiting acceptance (reveal permission and a TOTP code).
    relocated: bool,
    /// Presents a key other than the pinned one, or a first key while it holds accounts
    /// (accepting it needs the same).
    conflict: bool,
    unix_like: bool,
    platform_is_ssh: bool,
    accounts: Vec<AccountLine>,
    can_manage: bool,
    can_operate: bool,
    can_reveal: bool,
    /// Reconcile is offered.
    can_run: bool,
    /// A revealed secret, reached once through its link.
    revealed: Option<Revealed>,
    /// Until when a recent fresh code on this session unlocks reveals (the code is optional).
    sensitive_until: Option<When>,
}

/// How Tumbler proves the asset's identity before sending it a secret, in words.
fn connection_security(a: &tumbler_store::AssetRow) -> String {
    use tumbler_domain::platform::Protocol;
    let sec = &a.security;
    match platform::find(&a.platform).map(|p| p.protocol) {
        Some(Protocol::Ssh) => format!(
            "secrets only after the host key is acknowledged; trust on first use {}",
            if sec.trust_on_first_use { "ON" } else { "off" }
        ),
        Some(Protocol::Redis) => format!(
            "no TLS; AUTH in clear to a non-loopback address {}",
            if sec.plaintext_auth_allowed {
                "ALLOWED"
            } else {
                "refused"
            }
        ),
        _ => format!(
            "{}{}",
            sec.tls_mode.label(),
            match (&sec.tls_mode, &sec.tls_ca_pem) {
                (tumbler_domain::inventory::TlsMode::VerifyFull, Some(_)) => " (asset's CA)",
                (tumbler_domain::inventory::TlsMode::VerifyFull, None) => " (system roots)",
                _ => " (loopback only)",
            }
        ),
    }
}

async fn page(
    state: &AppState,
    p: &Principal,
    frame: PageFrame,
    id: &AssetId,
    revealed: Option<Revealed>,
) -> ConsoleResult {
    let view = state.inventory.asset(p, id).await?;
    let query = AccountQuery {
        asset_id: Some(id.clone()),
        limit: Some(tumbler_domain::paging::MAX_PAGE),
        ..AccountQuery::default()
    };
    let (accounts, _) = state.inventory.accounts(p, &query).await?;
    let mut versions = Vec::with_capacity(accounts.len());
    for c in &accounts {
        versions.push(state.inventory.secret_versions(p, &c.id).await?);
    }
    let a = &view.asset;
    let key = &a.host_key;
    let to_acknowledge = match key.status {
        HostKeyStatus::FingerprintConflict => key.presented.clone(),
        HostKeyStatus::Unverified => key.fingerprint.clone(),
        HostKeyStatus::Relocated => key.presented.clone().or_else(|| key.fingerprint.clone()),
        HostKeyStatus::Verified => None,
    };
    let sensitive_until = state
        .auth
        .sensitive_window_until(p)
        .await
        .map_err(|e| ConsoleError::internal("sensitive window lookup failed", &e))?
        .map(When::at);
    Ok(render_uncached(&AssetPage {
        sensitive_until,
        frame,
        id: a.id.to_string(),
        name: a.name.clone(),
        address: a.address.clone(),
        port: a.port,
        platform: super::asset_list::platform_shown(&a.platform),
        nodes: node_paths(&view, ", "),
        domain: view.domain.clone(),
        comment: a.comment.clone(),
        connectivity: a.connectivity.shown(),
        connectivity_error: a.connectivity_error.clone(),
        checked_at: When(a.connectivity_at),
        authentication: a.auth_status.shown(),
        auth_mode: match a.auth_status {
            AuthStatus::PasswordBased => "password",
            AuthStatus::KeyBased | AuthStatus::KeyConflict => "system_key",
            AuthStatus::KeyBasedCustom => "custom_key",
        },
        auth_username: a.auth_username.clone(),
        in_key_conflict: a.auth_status == AuthStatus::KeyConflict,
        connection_security: connection_security(a),
        host_key_status: key.status.shown(),
        stored_fingerprint: key.fingerprint.clone().unwrap_or_else(|| "none yet".into()),
        presented_fingerprint: key.presented.clone().unwrap_or_default(),
        to_acknowledge,
        relocated: key.status == HostKeyStatus::Relocated,
        conflict: key.status == HostKeyStatus::FingerprintConflict
            || (key.status == HostKeyStatus::Unverified && !accounts.is_empty()),
        unix_like: platform::find(&a.platform).is_some_and(|p| p.unix_like),
        platform_is_ssh: platform::find(&a.platform)
            .is_some_and(|p| p.protocol == platform::Protocol::Ssh),
        accounts: accounts
            .into_iter()
            .zip(versions)
            .map(|(c, versions)| {
                let protected = c.privileged
                    || tumbler_domain::change_secret::secure_mode_skip(&c.username, false, false)
                        .is_some();
                AccountLine {
                    id: c.id.to_string(),
                    versions,
                    delete_needs_code: protected || versions > 1,
                    username: c.username,
                    secret_type: c.secret_type.shown(),
                    privileged: c.privileged,
                    reconcilable: matches!(
                        c.status,
                        tumbler_domain::inventory::AccountStatus::NeedsAttention
                            | tumbler_domain::inventory::AccountStatus::Failed
                    ),
                    status: c.status.shown(),
                    reason: reason_and_code(&c.status_reason).0,
                    reason_code: reason_and_code(&c.status_reason).1,
                    last_verified: When(c.last_verified_at),
                }
            })
            .collect(),
        can_manage: p.can(Permission::AssetsManage),
        can_operate: p.can(Permission::AssetsManage) || p.can(Permission::ChangesRun),
        can_reveal: p.can(Permission::SecretsReveal),
        can_run: p.can(Permission::ChangesRun),
        revealed,
    }))
}

/// `GET /assets/{id}`, with `?revealed=` the one-time link to an account's secret.
pub async fn show(
    State(state): State<AppState>,
    ConsolePage(p, mut frame): ConsolePage,
    Path(id): Path<String>,
    link: RevealLink,
) -> ConsoleResult {
    let id = AssetId::from_string(id);
    let revealed = link.open(&state, &mut frame);
    page(&state, &p, frame, &id, revealed).await
}

/// An asset page's address.
pub(super) fn asset_address(id: &AssetId) -> String {
    format!("/assets/{id}")
}

/// How an action on the asset page ended: a message, or a secret to show once.
enum Done {
    /// The message for the asset's page.
    Said(Flash),
    /// A secret, shown on the asset's page through a one-time link.
    Revealed(Revealed),
}

impl Done {
    fn success(message: String) -> Self {
        Self::Said(Flash::success(message))
    }
}

/// A form with only the CSRF token (and, for acknowledge, the fingerprint compared).
#[derive(Deserialize)]
pub struct ActionForm {
    fingerprint: Option<String>,
    totp: Option<String>,
    /// Sent by a delete dialog's confirm button; a delete without it is refused.
    confirm: Option<String>,
}

/// Runs an action on the asset in the path with the state, the form's caller, origin and
/// fields, then shows the asset's page with the outcome.
async fn on_asset<T, F, Fut>(req: PathForm<T>, action: F) -> ConsoleResult
where
    F: FnOnce(AppState, Principal, AssetId, RequestOrigin, T) -> Fut,
    Fut: std::future::Future<Output = Result<Done, InventoryError>>,
{
    let asset = AssetId::from_string(req.id.clone());
    run(req, asset.clone(), asset, action).await
}

/// Runs an action on the account in the path, then shows its asset's page.
async fn on_account<T, F, Fut>(req: PathForm<T>, action: F) -> ConsoleResult
where
    F: FnOnce(AppState, Principal, AccountId, RequestOrigin, T) -> Fut,
    Fut: std::future::Future<Output = Result<Done, InventoryError>>,
{
    let id = AccountId::from_string(req.id.clone());
    // The account's asset, for the page shown afterwards (hidden accounts are "not found").
    let asset = req
        .state
        .inventory
        .account(&req.form.principal, &id)
        .await?
        .asset_id;
    run(req, asset, id, action).await
}

/// Runs `action` on `id` with the form's caller, origin and fields, then sends the browser to
/// `asset`'s page with the outcome (post/redirect/get; a refusal as an error message).
async fn run<T, I, F, Fut>(req: PathForm<T>, asset: AssetId, id: I, action: F) -> ConsoleResult
where
    F: FnOnce(AppState, Principal, I, RequestOrigin, T) -> Fut,
    Fut: std::future::Future<Output = Result<Done, InventoryError>>,
{
    let (p, frame, origin, form) = req.form.active()?;
    let to = asset_address(&asset);
    Ok(
        match action(req.state.clone(), p.clone(), id, origin, form).await {
            Ok(Done::Said(flash)) => redirect_after(&req.state, &frame, &to, flash),
            Ok(Done::Revealed(r)) => redirect_revealed(
                &req.state,
                &frame,
                &to,
                Flash::success("Revealed below, once; this view is audited."),
                r,
            ),
            Err(e) => {
                let code = e.code();
                let message = ConsoleError::from(e).inline()?;
                redirect_after(
                    &req.state,
                    &frame,
                    &to,
                    Flash::error(message).with_code(code),
                )
            }
        },
    )
}

/// `POST /assets/{id}/test`
pub async fn test(req: PathForm<ActionForm>) -> ConsoleResult {
    on_asset(req, |s, p, asset, origin, _| async move {
        let v = s.inventory.test_asset(&p, &asset, &origin).await?;
        Ok(Done::success(format!(
            "Connectivity: {}{}",
            v.asset.connectivity.label(),
            if v.asset.connectivity_error.is_empty() {
                String::new()
            } else {
                format!(" ({})", v.asset.connectivity_error)
            }
        )))
    })
    .await
}

/// `POST /assets/{id}/acknowledge`: the acknowledge dialog.
pub async fn acknowledge(req: PathForm<ActionForm>) -> ConsoleResult {
    on_asset(req, |s, p, asset, origin, form| async move {
        s.inventory
            .acknowledge_host_keys_with(
                &p,
                &[asset],
                form.fingerprint.as_deref().filter(|f| !f.is_empty()),
                form.totp.as_deref(),
                &origin,
            )
            .await?;
        Ok(Done::success(
            "Host key acknowledged: it is now pinned and verified.".into(),
        ))
    })
    .await
}

/// `POST /assets/{id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ConsoleForm<ActionForm>,
) -> ConsoleResult {
    let (p, frame, origin, form) = form.active()?;
    let id = AssetId::from_string(id);
    let name = state.inventory.asset(&p, &id).await?.asset.name;
    if form.confirm.is_none() {
        return Ok(redirect_after(
            &state,
            &frame,
            &asset_address(&id),
            Flash::unconfirmed(),
        ));
    }
    let query = AccountQuery {
        asset_id: Some(id.clone()),
        limit: Some(tumbler_domain::paging::MAX_PAGE),
        ..AccountQuery::default()
    };
    let (_, held) = state.inventory.accounts(&p, &query).await?;
    Ok(match state.inventory.delete_asset(&p, &id, &origin).await {
        Ok(_) => redirect_after(
            &state,
            &frame,
            "/assets",
            Flash::success(format!(
                "Asset {name} deleted with its {held} account(s) and their stored secrets."
            )),
        ),
        Err(e) => {
            let code = e.code();
            let message = ConsoleError::from(e).inline()?;
            redirect_after(
                &state,
                &frame,
                &asset_address(&id),
                Flash::error(message).with_code(code),
            )
        }
    })
}

/// The add-account form.
#[derive(Deserialize)]
pub struct AccountForm {
    username: String,
    secret_type: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    private_key: String,
    privileged: Option<String>,
    become_method: Option<String>,
    shell: Option<String>,
    totp: Option<String>,
}

/// `POST /assets/{id}/accounts`
pub async fn add_account(req: PathForm<AccountForm>) -> ConsoleResult {
    on_asset(req, |s, p, asset, origin, form| async move {
        let secret_type = SecretType::parse(&form.secret_type).unwrap_or(SecretType::Password);
        let secret = match secret_type {
            SecretType::Password => form.password,
            SecretType::SshKey => form.private_key,
        };
        let mut options = BTreeMap::new();
        for (k, v) in [("become", form.become_method), ("shell", form.shell)] {
            if let Some(v) = v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
                options.insert(k.to_owned(), v);
            }
        }
        let input = AccountInput {
            asset_id: asset,
            username: form.username.trim().to_owned(),
            secret_type,
            secret: SecretString::from(secret),
            privileged: form.privileged.is_some(),
            options,
            totp: form.totp.filter(|t| !t.trim().is_empty()),
        };
        let account = s.inventory.create_account(&p, &input, &origin).await?;
        Ok(Done::success(format!(
            "Account {} added.",
            account.username
        )))
    })
    .await
}

/// `POST /accounts/{id}/verify`
pub async fn verify_account(req: PathForm<ActionForm>) -> ConsoleResult {
    on_account(req, |s, p, id, origin, _| async move {
        let out = s.inventory.verify_account(&p, &id, &origin).await?;
        Ok(if out.ok {
            Done::success(format!(
                "{} verified: the stored secret works.",
                out.account.username
            ))
        } else {
            let flash = Flash::error(format!(
                "{} not verified: {}",
                out.account.username, out.message
            ));
            Done::Said(match out.code {
                Some(code) => flash.with_code(code),
                None => flash,
            })
        })
    })
    .await
}

/// `POST /accounts/{id}/reconcile`: the asset's reconcile account sets a new password
/// without the old one, verified and committed as a run of its own; the page says how it
/// ended.
pub async fn reconcile_account(req: PathForm<ActionForm>) -> ConsoleResult {
    on_account(req, |s, p, id, origin, _| async move {
        Ok(
            match s.change_secret.reconcile_account(&p, &id, &origin).await {
                Ok(r) if r.status == tumbler_domain::change_secret::RecordStatus::Success => {
                    Done::success(format!(
                        "{} reconciled: a new secret (version {}) is set and logs in.",
                        r.username,
                        r.new_version.unwrap_or_default()
                    ))
                }
                Ok(r) => Done::Said(
                    Flash::error(format!(
                        "{} not reconciled: {} (run {})",
                        r.username, r.reason, r.execution_id
                    ))
                    .with_code(
                        r.reason_code
                            .map_or_else(|| r.status.to_string(), |c| c.to_string()),
                    ),
                ),
                Err(e) => Done::Said(Flash::error(e.to_string()).with_code(e.code())),
            },
        )
    })
    .await
}

/// `POST /accounts/{id}/reveal`: the reveal dialog (a fresh TOTP code).
pub async fn reveal_account(req: PathForm<ActionForm>) -> ConsoleResult {
    on_account(req, |s, p, id, origin, form| async move {
        let account = s.inventory.account(&p, &id).await?;
        let totp = form.totp.as_deref();
        let secret = s.inventory.reveal(&p, &id, totp, &origin).await?;
        Ok(Done::Revealed(Revealed {
            subject: account.username,
            secrets: vec![RevealedSecret {
                label: match account.secret_type {
                    SecretType::Password => "Password",
                    SecretType::SshKey => "Private key",
                }
                .to_owned(),
                value: secret.as_str().to_owned().into(),
            }],
        }))
    })
    .await
}

/// `POST /accounts/{id}/delete`
pub async fn delete_account(req: PathForm<ActionForm>) -> ConsoleResult {
    on_account(req, |s, p, id, origin, form| async move {
        if form.confirm.is_none() {
            return Ok(Done::Said(Flash::unconfirmed()));
        }
        let account = s.inventory.account(&p, &id).await?;
        let versions = s.inventory.secret_versions(&p, &id).await?;
        let totp = form.totp.filter(|t| !t.trim().is_empty());
        s.inventory
            .delete_account(&p, &id, totp.as_deref(), &origin)
            .await?;
        Ok(Done::success(format!(
            "Account {} deleted with its {versions} secret version(s).",
            account.username
        )))
    })
    .await
}
