//! The list of device-key jobs (`/jobs`): regenerations of the device key, authentication
//! changes and key-conflict resolutions, newest first, each linking to its page. The service
//! checks the permission and shows each caller only its domains' device outcomes.

use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame};
use super::pages::render;
use super::when::When;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;
use tumbler_core::device_keys::DeviceKeyError;
use tumbler_domain::job::{JobStatus, OutcomeStatus};

/// Jobs per page.
const PAGE_SIZE: i64 = 50;

/// One job as the list shows it.
pub struct JobLine {
    id: String,
    /// Its readable label: what it does and when it started.
    label: String,
    status: &'static str,
    running: bool,
    progress: String,
    /// Devices (in the viewer's domains) that did not succeed.
    problems: usize,
    created_by: String,
    created_at: When,
    updated_at: When,
}

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    frame: PageFrame,
    jobs: Vec<JobLine>,
    range: String,
    previous: Option<i64>,
    next: Option<i64>,
    any_running: bool,
}

/// The page asked for.
#[derive(Debug, Default, Deserialize)]
pub struct JobsQuery {
    page: Option<i64>,
}

/// `GET /jobs`
pub async fn list(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
    Query(q): Query<JobsQuery>,
) -> ConsoleResult {
    let page = q.page.unwrap_or(1).clamp(1, i64::MAX / PAGE_SIZE);
    let (views, total) = match state
        .device_keys
        .jobs(&p, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        .await
    {
        Ok(found) => found,
        Err(DeviceKeyError::Forbidden) => return Err(ConsoleError::denied()),
        Err(e) => return Err(ConsoleError::internal("listing jobs failed", &e)),
    };
    let first = (page - 1) * PAGE_SIZE + 1;
    let last = (page - 1) * PAGE_SIZE + views.len() as i64;
    let jobs: Vec<JobLine> = views
        .into_iter()
        .map(|j| JobLine {
            id: j.id.to_string(),
            label: super::when::label(j.kind.label(), j.created_at),
            status: j.status.label(),
            running: j.status == JobStatus::Running,
            progress: format!("{} of {} device(s)", j.done, j.total),
            problems: j
                .outcomes
                .iter()
                .filter(|o| !matches!(o.status, OutcomeStatus::Succeeded | OutcomeStatus::Skipped))
                .count(),
            created_by: j.created_by,
            created_at: When::at(j.created_at),
            updated_at: When::at(j.updated_at),
        })
        .collect();
    Ok(render(&JobsPage {
        frame,
        range: if jobs.is_empty() {
            "No jobs yet.".to_owned()
        } else {
            format!("Jobs {first}–{last} of {total}")
        },
        any_running: jobs.iter().any(|j| j.running),
        previous: (page > 1).then_some(page - 1),
        next: (last < total).then_some(page + 1),
        jobs,
    }))
}
