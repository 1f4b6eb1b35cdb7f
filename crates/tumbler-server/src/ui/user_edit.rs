//! Editing one user from the Users page: name, email, roles, domains; ending their sessions;
//! deleting them. The service checks every permission and rule (e.g. the last administrator).

use super::console_form::{ConsoleForm, PathForm};
use super::flash::{redirect_after, Flash, RevealLink, Revealed};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame};
use super::pages::{rejected, render_uncached};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use secrecy::SecretString;
use tumbler_core::users::{UserEdit, UserError};
use tumbler_core::{ErrorKind, Principal, ServiceFailure};
use tumbler_domain::ids::UserId;
use tumbler_store::UserChanges;

#[derive(Template)]
#[template(path = "user_edit.html")]
struct EditPage {
    frame: PageFrame,
    id: String,
    username: String,
    display_name_value: String,
    email: String,
    roles: Vec<(String, bool)>,
    domains: Vec<(String, bool)>,
    password_status: super::labels::Shown,
    /// A new temporary password, reached once through its link.
    revealed: Option<Revealed>,
}

/// The page's address.
pub(super) fn edit_address(id: &UserId) -> String {
    format!("/users/{id}/edit")
}

async fn page(
    state: &AppState,
    p: &Principal,
    frame: PageFrame,
    id: &UserId,
    revealed: Option<Revealed>,
) -> ConsoleResult {
    let user = match state.users.get(p, id).await {
        Ok(u) => u,
        Err(e @ (UserError::Forbidden | UserError::NotFound)) => {
            return Err(ConsoleError::NotFound(e.to_string()))
        }
        Err(e) => return Err(ConsoleError::internal("loading a user failed", &e)),
    };
    let roles = state.roles.list(p).await.unwrap_or_default();
    let domains = state.domains.list(p).await.unwrap_or_default();
    Ok(render_uncached(&EditPage {
        frame,
        id: id.to_string(),
        username: user.user.username.clone(),
        display_name_value: user.user.display_name.clone(),
        email: user.user.email.clone().unwrap_or_default(),
        roles: roles
            .into_iter()
            .map(|r| (r.name.clone(), user.user.roles.contains(&r.name)))
            .collect(),
        domains: domains
            .into_iter()
            .map(|d| (d.name.clone(), user.domains.contains(&d.name)))
            .collect(),
        password_status: super::labels::Labelled::shown(user.password_status),
        revealed,
    }))
}

/// `GET /users/{id}/edit`, with `?revealed=` the one-time link to a temporary password.
pub async fn show(
    State(state): State<AppState>,
    ConsolePage(p, mut frame): ConsolePage,
    Path(id): Path<UserId>,
    link: RevealLink,
) -> ConsoleResult {
    let revealed = link.open(&state, &mut frame);
    page(&state, &p, frame, &id, revealed).await
}

/// The edit form (roles and domains arrive as repeated `role` and `domain` fields).
#[derive(serde::Deserialize)]
pub struct EditForm {
    display_name: Option<String>,
    email: Option<String>,
    #[serde(default)]
    role: Vec<String>,
    #[serde(default)]
    domain: Vec<String>,
    /// The caller's current password (or `totp`), needed when roles change or a domain is
    /// added.
    #[serde(default)]
    current_password: Option<SecretString>,
    /// The caller's fresh authentication code.
    #[serde(default)]
    totp: Option<String>,
}

/// `POST /users/{id}/edit`
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    form: ConsoleForm<EditForm>,
) -> ConsoleResult {
    let (p, frame, origin, form) = form.active()?;
    let trimmed = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let changes = UserChanges {
        display_name: trimmed(form.display_name),
        email: Some(trimmed(form.email)),
        roles: Some(form.role),
        status: None,
        domains: None,
    };
    let edit = UserEdit {
        changes,
        domains: Some(form.domain),
        proof: super::console_form::proof(form.current_password, form.totp),
    };
    match state
        .users
        .update(&state.auth, &p, &id, edit, &origin)
        .await
    {
        Ok(user) => Ok(redirect_after(
            &state,
            &frame,
            "/users",
            Flash::success(format!("User {} saved.", user.user.username)),
        )),
        Err(
            e @ (UserError::Invalid(_)
            | UserError::UnknownRole(_)
            | UserError::UnknownDomain(_)
            | UserError::LastAdmin
            | UserError::RoleNotHeld(_)
            | UserError::DomainNotHeld(_)
            | UserError::OwnGrants
            | UserError::Forbidden),
        ) => rejected(
            page(
                &state,
                &p,
                frame.with_flash(Some(Flash::error(e.to_string()).with_code(e.code()))),
                &id,
                None,
            )
            .await,
        ),
        Err(e @ UserError::Auth(_)) if e.kind() != ErrorKind::Internal => rejected(
            page(
                &state,
                &p,
                frame.with_flash(Some(Flash::error(e.message()).with_code(e.code()))),
                &id,
                None,
            )
            .await,
        ),
        Err(UserError::NotFound) => Err(ConsoleError::NotFound("No such user.".to_owned())),
        Err(e) => Err(ConsoleError::internal("editing a user failed", &e)),
    }
}

/// Does `action` to the user `id`, then sends the browser to `to` with `done` (the user's
/// name filled in), or back to the user's page with the refusal (post/redirect/get).
async fn user_action<F, Fut, T>(
    req: PathForm<ConfirmForm>,
    confirm_needed: bool,
    to: &str,
    done: &str,
    action: F,
) -> ConsoleResult
where
    F: FnOnce(AppState, Principal, UserId, tumbler_core::RequestOrigin) -> Fut,
    Fut: std::future::Future<Output = Result<T, UserError>>,
{
    let (p, frame, origin, form) = req.form.active()?;
    let id = UserId::from_string(req.id);
    let state = req.state;
    if confirm_needed && form.confirm.is_none() {
        return Ok(redirect_after(
            &state,
            &frame,
            &edit_address(&id),
            Flash::unconfirmed(),
        ));
    }
    let username = match state.users.get(&p, &id).await {
        Ok(u) => u.user.username,
        Err(e @ (UserError::Forbidden | UserError::NotFound)) => {
            return Err(ConsoleError::NotFound(e.to_string()))
        }
        Err(e) => return Err(ConsoleError::internal("loading a user failed", &e)),
    };
    Ok(
        match action(state.clone(), p.clone(), id.clone(), origin).await {
            Ok(_) => redirect_after(
                &state,
                &frame,
                to.replace("{id}", id.as_str()).as_str(),
                Flash::success(done.replace("{user}", &username)),
            ),
            Err(e) => redirect_after(
                &state,
                &frame,
                &edit_address(&id),
                Flash::error(e.to_string()).with_code(e.code()),
            ),
        },
    )
}

/// The fields of the end-sessions and delete forms: `confirm`, sent by the delete dialog's
/// button (a delete without it is refused).
#[derive(serde::Deserialize)]
pub struct ConfirmForm {
    confirm: Option<String>,
}

/// `POST /users/{id}/end-sessions`
pub async fn end_sessions(req: PathForm<ConfirmForm>) -> ConsoleResult {
    user_action(
        req,
        false,
        "/users/{id}/edit",
        "Every session of {user} ended.",
        |s, p, id, origin| async move { s.users.end_sessions(&p, &id, None, &origin).await },
    )
    .await
}

/// `POST /users/{id}/delete`
pub async fn delete(req: PathForm<ConfirmForm>) -> ConsoleResult {
    user_action(
        req,
        true,
        "/users",
        "User {user} deleted; their sessions and tokens are gone.",
        |s, p, id, origin| async move { s.users.delete(&p, &id, &origin).await },
    )
    .await
}
