//! The dashboard: what needs a person now (accounts whose change failed or that need
//! attention, devices in key conflict, assets whose host key nobody checked, console users
//! whose passwords expire soon), then the next scheduled runs and the last runs, each a link.
//! Every list comes from a service called with the viewer, so it holds only what the viewer
//! may see; a list the viewer has no permission for is left out.

use super::change_secret::{run_line, RunLine};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame};
use super::labels::Labelled;
use super::pages::render;
use super::when::When;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use tumbler_core::inventory::AssetQuery;
use tumbler_core::{ChangeSecretError, InventoryError, Principal, UserError};
use tumbler_domain::inventory::{AuthStatus, HostKeyStatus};
use tumbler_domain::password_status::PasswordStatus;
use tumbler_store::UserFilter;

/// The most entries each list shows (each links to the full list).
const LISTED: usize = 10;

/// One entry of a list: a link, what it is and why it is listed.
pub struct Entry {
    href: String,
    name: String,
    why: String,
    /// When it happened or happens, if that matters.
    when: When,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    frame: PageFrame,
    /// The viewer's own password expires at this time (soon).
    expires: Option<When>,
    /// Whether the viewer may see assets, accounts and runs.
    sees_assets: bool,
    /// Whether the viewer may see console users.
    sees_users: bool,
    accounts: Vec<Entry>,
    key_conflicts: Vec<Entry>,
    unverified: Vec<Entry>,
    expiring: Vec<Entry>,
    next_runs: Vec<Entry>,
    last_runs: Vec<RunLine>,
}

impl DashboardPage {
    /// Whether nothing needs a person.
    fn all_clear(&self) -> bool {
        self.accounts.is_empty()
            && self.key_conflicts.is_empty()
            && self.unverified.is_empty()
            && self.expiring.is_empty()
    }
}

/// `None` when the viewer lacks the permission, the value otherwise, an error for the rest.
fn permitted<T, E: std::fmt::Display>(
    r: Result<T, E>,
    forbidden: impl Fn(&E) -> bool,
    what: &str,
) -> Result<Option<T>, ConsoleError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if forbidden(&e) => Ok(None),
        Err(e) => Err(ConsoleError::internal(what, &e)),
    }
}

async fn assets_where(
    state: &AppState,
    p: &Principal,
    query: AssetQuery,
    why: &str,
) -> Result<Vec<Entry>, ConsoleError> {
    let found = permitted(
        state.inventory.assets(p, &query).await,
        |e| matches!(e, InventoryError::Forbidden),
        "dashboard assets",
    )?;
    Ok(found
        .map(|(assets, _)| assets)
        .unwrap_or_default()
        .into_iter()
        .map(|a| Entry {
            href: format!("/assets/{}", a.asset.id),
            name: format!("{} ({}:{})", a.asset.name, a.asset.address, a.asset.port),
            why: why.to_owned(),
            when: When(a.asset.connectivity_at),
        })
        .collect())
}

/// Console users whose password expires soon or has expired by age.
async fn expiring_users(
    state: &AppState,
    p: &Principal,
) -> Result<Option<Vec<Entry>>, ConsoleError> {
    let mut out = Vec::new();
    for status in [PasswordStatus::Active, PasswordStatus::ExpiredByAge] {
        let filter = UserFilter {
            password_status: Some(status),
            limit: tumbler_domain::paging::MAX_PAGE,
            ..UserFilter::default()
        };
        let Some((users, _)) = permitted(
            state.users.list(p, &filter).await,
            |e| matches!(e, UserError::Forbidden),
            "dashboard users",
        )?
        else {
            return Ok(None);
        };
        for u in users {
            let at = if status == PasswordStatus::ExpiredByAge {
                state.auth.password_expires_at(&u.user).await
            } else {
                state.auth.password_expiry_warning(&u.user).await
            }
            .map_err(|e| ConsoleError::internal("password expiry lookup failed", &e))?;
            let Some(at) = at else { continue };
            out.push(Entry {
                href: format!("/users/{}/edit", u.user.id),
                name: format!("{} ({})", u.user.display_name, u.user.username),
                why: if status == PasswordStatus::ExpiredByAge {
                    "password expired".to_owned()
                } else {
                    "password expires soon".to_owned()
                },
                when: When::at(at),
            });
        }
    }
    out.sort_by_key(|e| e.when.0);
    Ok(Some(out))
}

/// `GET /`
pub async fn show(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
) -> ConsoleResult {
    let expires = match state.auth.password_expiry_warning(&p.user).await {
        Ok(at) => at.map(When::at),
        Err(e) => {
            tracing::warn!(error = %e, "password expiry lookup failed");
            None
        }
    };
    let forbidden = |e: &ChangeSecretError| matches!(e, ChangeSecretError::Forbidden);
    let overview = permitted(
        state.change_secret.overview(&p).await,
        forbidden,
        "dashboard overview",
    )?;
    let sees_assets = overview.is_some();
    let (accounts, last_runs) = match overview {
        None => (Vec::new(), Vec::new()),
        Some(o) => (
            o.failed_accounts
                .iter()
                .map(|f| Entry {
                    href: match &f.execution_id {
                        Some(run) => format!("/change-secret/executions/{run}"),
                        None => format!("/assets/{}", f.asset_id),
                    },
                    name: format!("{}@{}", f.username, f.asset_name),
                    why: if f.reason.is_empty() {
                        format!("{} ({})", f.kind.label(), f.account_status.label())
                    } else {
                        format!(
                            "{} ({}): {}",
                            f.kind.label(),
                            f.account_status.label(),
                            f.reason
                        )
                    },
                    when: When::at(f.updated_at),
                })
                .collect(),
            o.recent_executions
                .iter()
                .take(LISTED)
                .map(run_line)
                .collect(),
        ),
    };
    let mut next_runs: Vec<Entry> = if sees_assets {
        state
            .change_secret
            .tasks(&p)
            .await?
            .into_iter()
            .filter(|t| t.enabled)
            .filter_map(|t| {
                t.next_run_at.map(|at| Entry {
                    href: format!("/change-secret/tasks/{}/edit", t.id),
                    name: t.name,
                    why: t.spec.usernames.join(", "),
                    when: When::at(at),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    next_runs.sort_by_key(|e| e.when.0);
    next_runs.truncate(LISTED);
    let (key_conflicts, unverified) = if sees_assets {
        let mut conflicts = assets_where(
            &state,
            &p,
            AssetQuery {
                auth_status: Some(AuthStatus::KeyConflict),
                limit: Some(LISTED as i64),
                ..AssetQuery::default()
            },
            "refuses the system key: resolve the key conflict",
        )
        .await?;
        conflicts.extend(
            assets_where(
                &state,
                &p,
                AssetQuery {
                    host_key_status: Some(HostKeyStatus::FingerprintConflict),
                    limit: Some(LISTED as i64),
                    ..AssetQuery::default()
                },
                "presented a different host key: compare and acknowledge it",
            )
            .await?,
        );
        let unverified = assets_where(
            &state,
            &p,
            AssetQuery {
                host_key_status: Some(HostKeyStatus::Unverified),
                limit: Some(LISTED as i64),
                ..AssetQuery::default()
            },
            "host key not checked by a person: compare its fingerprint",
        )
        .await?;
        (conflicts, unverified)
    } else {
        (Vec::new(), Vec::new())
    };
    let expiring = expiring_users(&state, &p).await?;
    let page = DashboardPage {
        frame,
        expires,
        sees_assets,
        sees_users: expiring.is_some(),
        accounts,
        key_conflicts,
        unverified,
        expiring: expiring.unwrap_or_default(),
        next_runs,
        last_runs,
    };
    Ok(render(&page))
}
