//! The history of every change run, newest first, a page at a time.

use super::change_secret::{failure, run_line, RunLine};
use super::pages::{active, render, UiSession};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

/// Runs per page of the history.
const HISTORY_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "change_secret_history.html")]
struct HistoryPage {
    display_name: String,
    csrf: String,
    runs: Vec<RunLine>,
    total: i64,
    first: i64,
    last: i64,
    prev: Option<i64>,
    next: Option<i64>,
}

/// Paging of the history.
#[derive(Deserialize)]
pub struct HistoryQuery {
    offset: Option<i64>,
}

/// `GET /change-secret/executions`: every run, newest first, 50 a page.
pub async fn history(
    State(state): State<AppState>,
    UiSession(session, _): UiSession,
    axum::extract::Query(q): axum::extract::Query<HistoryQuery>,
) -> Response {
    let (p, csrf) = match active(session) {
        Ok(found) => found,
        Err(to) => return Redirect::to(to).into_response(),
    };
    let offset = q.offset.unwrap_or(0).max(0);
    let (runs, total) = match state
        .change_secret
        .executions(&p, None, Some(HISTORY_PAGE), Some(offset))
        .await
    {
        Ok(found) => found,
        Err(e) => return failure(e),
    };
    let shown = i64::try_from(runs.len()).unwrap_or(0);
    render(&HistoryPage {
        display_name: p.user.display_name.clone(),
        csrf,
        runs: runs.iter().map(run_line).collect(),
        total,
        first: if shown == 0 { 0 } else { offset + 1 },
        last: offset + shown,
        prev: (offset > 0).then(|| (offset - HISTORY_PAGE).max(0)),
        next: (offset + shown < total).then_some(offset + shown),
    })
}
