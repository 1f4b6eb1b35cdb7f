//! The Users page: password status, lockout, type and status with filters; create, unlock,
//! enable and disable. The service checks every permission.

use super::console_form::ConsoleForm;
use super::flash::{redirect_after, redirect_revealed, Flash, RevealLink, Revealed};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame};
use super::labels::{choices, Choice, Labelled, Shown};
use super::pages::render;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use secrecy::SecretString;
use serde::Deserialize;
use tumbler_core::users::{NewUserRequest, UserEdit, UserError};
use tumbler_core::{ErrorKind, Principal, ServiceFailure};
use tumbler_domain::ids::UserId;
use tumbler_domain::password_status::PasswordStatus;
use tumbler_domain::permission::Permission;
use tumbler_domain::user::{UserKind, UserStatus};
use tumbler_store::{UserChanges, UserFilter};

/// One row of the table.
pub struct UserLine {
    id: String,
    username: String,
    display_name: String,
    kind: Shown,
    status: Shown,
    password_status: Shown,
    locked_out: bool,
    roles: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    frame: PageFrame,
    users: Vec<UserLine>,
    total: i64,
    roles: Vec<String>,
    can_manage: bool,
    q: String,
    status: String,
    kind: String,
    locked: String,
    password_states: Vec<Choice>,
    created: Option<Revealed>,
}

/// Filters of the page.
#[derive(Deserialize, Default)]
pub struct UsersQuery {
    q: Option<String>,
    status: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    password: Option<String>,
    /// `yes`: only users locked out now; `no`: only those who are not.
    locked: Option<String>,
}

async fn page(
    state: &AppState,
    p: &Principal,
    frame: PageFrame,
    q: UsersQuery,
    created: Option<Revealed>,
) -> ConsoleResult {
    let filter = UserFilter {
        status: q.status.as_deref().and_then(UserStatus::parse),
        kind: q.kind.as_deref().and_then(UserKind::parse),
        search: q.q.clone().filter(|s| !s.trim().is_empty()),
        password_status: q.password.as_deref().and_then(PasswordStatus::parse),
        locked_out: match q.locked.as_deref() {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        },
        limit: tumbler_domain::paging::MAX_PAGE,
        offset: 0,
        ..UserFilter::default()
    };
    let (users, total) = match state.users.list(p, &filter).await {
        Ok(found) => found,
        Err(UserError::Forbidden) => {
            return Err(ConsoleError::Forbidden(
                "You do not have permission to see users.".to_owned(),
            ))
        }
        Err(e) => return Err(ConsoleError::internal("listing users failed", &e)),
    };
    let roles = state
        .roles
        .list(p)
        .await
        .map(|r| r.into_iter().map(|r| r.name).collect())
        .unwrap_or_default();
    Ok(render(&UsersPage {
        frame,
        users: users
            .into_iter()
            .map(|s| UserLine {
                id: s.user.id.to_string(),
                username: s.user.username,
                display_name: s.user.display_name,
                kind: s.user.kind.shown(),
                status: s.user.status.shown(),
                password_status: s.password_status.shown(),
                locked_out: s.locked_until.is_some(),
                roles: s.user.roles.join(", "),
            })
            .collect(),
        total,
        roles,
        can_manage: p.can(Permission::UsersManage),
        q: q.q.unwrap_or_default(),
        status: q.status.unwrap_or_default(),
        kind: q.kind.unwrap_or_default(),
        password_states: choices(&PasswordStatus::ALL, q.password.as_deref()),
        locked: q.locked.unwrap_or_default(),
        created,
    }))
}

/// The page's address.
const PAGE: &str = "/users";

/// `GET /users`, with `?revealed=` the one-time link to a new user's temporary password.
pub async fn list(
    State(state): State<AppState>,
    ConsolePage(p, mut frame): ConsolePage,
    Query(q): Query<UsersQuery>,
    link: RevealLink,
) -> ConsoleResult {
    let created = link.open(&state, &mut frame);
    page(&state, &p, frame, q, created).await
}

/// The create form (roles arrive as repeated `role` fields).
#[derive(Deserialize)]
pub struct CreateForm {
    username: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    role: Vec<String>,
    /// The caller's current password (or `totp`): proof it is still them.
    #[serde(default)]
    current_password: Option<SecretString>,
    /// The caller's fresh authentication code.
    #[serde(default)]
    totp: Option<String>,
}

/// `POST /users`: the create form (roles arrive as repeated `role` fields).
pub async fn create(State(state): State<AppState>, form: ConsoleForm<CreateForm>) -> ConsoleResult {
    let (p, frame, origin, form) = form.active()?;
    let get = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let req = NewUserRequest {
        username: get(form.username).unwrap_or_default(),
        display_name: get(form.display_name),
        email: get(form.email),
        kind: get(form.kind)
            .as_deref()
            .and_then(UserKind::parse)
            .unwrap_or(UserKind::Local),
        roles: form.role,
        domains: Vec::new(),
    };
    let proof = super::console_form::proof(form.current_password, form.totp);
    match state
        .users
        .create(&state.auth, &p, req, proof, &origin)
        .await
    {
        Ok(created) => {
            let name = created.user.username;
            let Some(pw) = created.temporary_password else {
                let text = format!(
                    "User {name} created; a remote user logs in with the directory's password."
                );
                return Ok(redirect_after(&state, &frame, PAGE, Flash::success(text)));
            };
            let text = format!("User {name} created. Give them the temporary password below (shown once); they must change it at their first login.");
            let revealed = Revealed::temporary_password(name, &pw);
            Ok(redirect_revealed(
                &state,
                &frame,
                PAGE,
                Flash::success(text),
                revealed,
            ))
        }
        Err(
            e @ (UserError::Invalid(_)
            | UserError::Duplicate
            | UserError::UnknownRole(_)
            | UserError::UnknownDomain(_)
            | UserError::RoleNotHeld(_)
            | UserError::DomainNotHeld(_)
            | UserError::Forbidden),
        ) => Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            Flash::error(e.to_string()).with_code(e.code()),
        )),
        Err(e @ UserError::Auth(_)) if e.kind() != ErrorKind::Internal => Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            Flash::error(e.message()).with_code(e.code()),
        )),
        Err(e) => Err(ConsoleError::internal("creating a user failed", &e)),
    }
}

/// An action form: enabling a user needs the caller's current password or a fresh code.
#[derive(Deserialize)]
pub struct ActionForm {
    status: Option<String>,
    #[serde(default)]
    current_password: Option<SecretString>,
    #[serde(default)]
    totp: Option<String>,
}

/// Unlocks a user (`unlock`) or sets their status, then goes back to the list.
async fn act(
    state: &AppState,
    id: UserId,
    form: ConsoleForm<ActionForm>,
    unlock: bool,
) -> ConsoleResult {
    let (p, frame, origin, form) = form.active()?;
    let result = if unlock {
        state.users.unlock(&p, &id, &origin).await
    } else {
        let status = form.status.as_deref().and_then(UserStatus::parse);
        let edit = UserEdit {
            changes: UserChanges {
                status,
                ..UserChanges::default()
            },
            domains: None,
            proof: super::console_form::proof(form.current_password, form.totp),
        };
        state
            .users
            .update(&state.auth, &p, &id, edit, &origin)
            .await
            .map(|_| ())
    };
    let done = if unlock { "unlocked" } else { "status changed" };
    match result {
        Ok(()) => Ok(redirect_after(
            state,
            &frame,
            PAGE,
            Flash::success(format!("User {done}.")),
        )),
        Err(e @ (UserError::Forbidden | UserError::LastAdmin | UserError::NotFound)) => {
            Ok(redirect_after(
                state,
                &frame,
                PAGE,
                Flash::error(e.to_string()).with_code(e.code()),
            ))
        }
        Err(e @ UserError::Auth(_)) if e.kind() != ErrorKind::Internal => Ok(redirect_after(
            state,
            &frame,
            PAGE,
            Flash::error(e.message()).with_code(e.code()),
        )),
        Err(e) => Err(ConsoleError::internal("user action failed", &e)),
    }
}

/// `POST /users/{id}/unlock`
pub async fn unlock(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    form: ConsoleForm<ActionForm>,
) -> ConsoleResult {
    act(&state, id, form, true).await
}

/// `POST /users/{id}/status`
pub async fn set_status(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    form: ConsoleForm<ActionForm>,
) -> ConsoleResult {
    act(&state, id, form, false).await
}
