//! Editing one account from its asset's page: its platform options, its privileged flag and
//! a new secret (a password, or an OpenSSH private key). The inventory service checks every
//! rule (protected accounts, secure mode, a fresh code) and audits the change; the page never
//! shows a secret, not even the one just entered when the change is refused.

use super::asset_detail::asset_address;
use super::console_form::{ConsoleForm, Fields};
use super::flash::{redirect_after, Flash};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame};
use super::labels::{Labelled, Shown};
use super::pages::{rejected, render_uncached};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use secrecy::SecretString;
use std::collections::BTreeMap;
use tumbler_core::inventory::AccountPatch;
use tumbler_core::Principal;
use tumbler_domain::ids::AccountId;
use tumbler_domain::inventory::SecretType;
use tumbler_domain::platform;
use tumbler_store::AccountRow;

/// The prefix of an option's form field (`option.become`).
const OPTION_FIELD: &str = "option.";

/// One platform option as the form shows it.
struct OptionLine {
    name: &'static str,
    description: &'static str,
    /// The values it accepts (a select); empty: free text.
    values: &'static [&'static str],
    /// The account's value.
    current: String,
}

impl OptionLine {
    /// Whether `value` is the account's value (the select's chosen option).
    fn is(&self, value: &str) -> bool {
        self.current == value
    }
}

#[derive(Template)]
#[template(path = "account_edit.html")]
struct EditPage {
    frame: PageFrame,
    id: String,
    username: String,
    asset_id: String,
    asset_name: String,
    secret_type: Shown,
    /// The account holds a private key (the key field comes first).
    holds_key: bool,
    privileged: bool,
    /// Secure mode protects it (privileged, root or administrator): changing how it becomes
    /// root needs a fresh code too.
    protected: bool,
    options: Vec<OptionLine>,
}

/// The account, and its asset's platform (`None` for a platform this build does not know).
async fn load(
    state: &AppState,
    p: &Principal,
    id: &AccountId,
) -> Result<(AccountRow, Option<&'static platform::Platform>), ConsoleError> {
    let account = state.inventory.account(p, id).await?;
    let asset = state.inventory.asset(p, &account.asset_id).await?;
    Ok((account, platform::find(&asset.asset.platform)))
}

async fn page(state: &AppState, p: &Principal, frame: PageFrame, id: &AccountId) -> ConsoleResult {
    let (account, platform) = load(state, p, id).await?;
    let options = platform
        .map(|pl| pl.options)
        .unwrap_or_default()
        .iter()
        .map(|o| OptionLine {
            name: o.name,
            description: o.description,
            values: o.values,
            current: account
                .options
                .get(o.name)
                .cloned()
                .unwrap_or_else(|| o.default.to_owned()),
        })
        .collect();
    Ok(render_uncached(&EditPage {
        frame,
        id: account.id.to_string(),
        protected: account.privileged
            || tumbler_domain::change_secret::secure_mode_skip(&account.username, false, false)
                .is_some(),
        username: account.username,
        asset_id: account.asset_id.to_string(),
        asset_name: account.asset_name,
        secret_type: account.secret_type.shown(),
        holds_key: account.secret_type == SecretType::SshKey,
        privileged: account.privileged,
        options,
    }))
}

/// `GET /accounts/{id}/edit`
pub async fn show(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
    Path(id): Path<String>,
) -> ConsoleResult {
    page(&state, &p, frame, &AccountId::from_string(id)).await
}

/// What the form asks to change, as a patch with only what differs from `account`, and the
/// words naming it (empty: nothing changes). A password and a key at once is refused.
fn patch_of(
    fields: &Fields,
    account: &AccountRow,
) -> Result<(AccountPatch, Vec<&'static str>), String> {
    let value = |name: &str| {
        super::console_form::value(fields, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let mut patch = AccountPatch {
        totp: value("totp").map(str::to_owned),
        ..AccountPatch::default()
    };
    let mut what = Vec::new();
    let privileged = value("privileged").is_some();
    if privileged != account.privileged {
        patch.privileged = Some(privileged);
        what.push("privileged flag");
    }
    let options: BTreeMap<String, String> = fields
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix(OPTION_FIELD)?;
            let v = v.trim();
            (!v.is_empty()).then(|| (name.to_owned(), v.to_owned()))
        })
        .collect();
    if options
        .iter()
        .any(|(k, v)| account.options.get(k) != Some(v))
    {
        patch.options = Some(options);
        what.push("options");
    }
    // Secrets are not trimmed: a password may begin or end with a space.
    let raw = |name: &str| super::console_form::value(fields, name).filter(|v| !v.is_empty());
    let secret = match (raw("password"), raw("private_key")) {
        (Some(_), Some(_)) => {
            return Err("Enter a new password or a private key, not both.".to_owned())
        }
        (Some(pw), None) => Some((SecretType::Password, pw)),
        (None, Some(key)) => Some((SecretType::SshKey, key)),
        (None, None) => None,
    };
    if let Some((secret_type, secret)) = secret {
        patch.secret = Some(SecretString::from(secret.to_owned()));
        patch.secret_type = Some(secret_type);
        what.push("secret replaced");
    }
    Ok((patch, what))
}

/// `POST /accounts/{id}`: saves the edit form, then the asset's page says what changed; a
/// refusal shows the form again (422) with the reason, nothing written.
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ConsoleForm<Fields>,
) -> ConsoleResult {
    let (p, frame, origin, fields) = form.active()?;
    let id = AccountId::from_string(id);
    let (account, _) = load(&state, &p, &id).await?;
    let (at, by, of) = (&state, &p, &id);
    let refuse = move |frame: PageFrame, message: String, code: &str| {
        let frame = frame.with_flash(Some(Flash::error(message).with_code(code)));
        async move { rejected(page(at, by, frame, of).await) }
    };
    let (patch, what) = match patch_of(&fields, &account) {
        Ok(found) => found,
        Err(message) => return refuse(frame, message, "invalid_request").await,
    };
    let to = asset_address(&account.asset_id);
    if what.is_empty() {
        return Ok(redirect_after(
            &state,
            &frame,
            &to,
            Flash::success(format!("Nothing changed on account {}.", account.username)),
        ));
    }
    match state
        .inventory
        .update_account(&p, &id, &patch, &origin)
        .await
    {
        Ok(saved) => Ok(redirect_after(
            &state,
            &frame,
            &to,
            Flash::success(format!(
                "Account {} saved: {}.",
                saved.username,
                what.join(", ")
            )),
        )),
        Err(e) => {
            let code = e.code();
            let message = ConsoleError::from(e).inline()?;
            refuse(frame, message, code).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> AccountRow {
        AccountRow {
            id: AccountId::from_string("a1".to_owned()),
            asset_id: tumbler_domain::ids::AssetId::from_string("s1".to_owned()),
            asset_name: "web".to_owned(),
            domain_id: tumbler_domain::ids::DomainId::from_string("d1".to_owned()),
            username: "app".to_owned(),
            secret_type: SecretType::Password,
            privileged: false,
            options: BTreeMap::from([("become".to_owned(), "sudo".to_owned())]),
            current_version: 1,
            previous_version: None,
            pending_version: None,
            next_version: 2,
            status: tumbler_domain::inventory::AccountStatus::Unknown,
            status_reason: String::new(),
            last_verified_at: None,
            last_changed_at: None,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn only_what_differs_is_patched() {
        let (patch, what) = patch_of(
            &fields(&[("option.become", "sudo"), ("password", "")]),
            &account(),
        )
        .unwrap();
        assert!(what.is_empty(), "{what:?}");
        assert!(patch.options.is_none() && patch.privileged.is_none() && patch.secret.is_none());
        let (patch, what) = patch_of(
            &fields(&[
                ("option.become", "su"),
                ("privileged", "on"),
                ("password", " pw "),
            ]),
            &account(),
        )
        .unwrap();
        assert_eq!(what, ["privileged flag", "options", "secret replaced"]);
        assert_eq!(patch.privileged, Some(true));
        assert_eq!(patch.secret_type, Some(SecretType::Password));
    }

    #[test]
    fn a_password_and_a_key_at_once_are_refused() {
        assert!(patch_of(
            &fields(&[("password", "a"), ("private_key", "b")]),
            &account()
        )
        .is_err());
    }
}
