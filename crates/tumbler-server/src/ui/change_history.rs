//! The history of every change run, newest first, a page at a time.

use super::change_secret::{run_line, RunLine};
use super::frame::{ConsolePage, ConsoleResult, PageFrame};
use super::pages::render;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use serde::Deserialize;

/// Runs per page of the history.
const HISTORY_PAGE: i64 = tumbler_domain::paging::DEFAULT_PAGE;

#[derive(Template)]
#[template(path = "change_secret_history.html")]
struct HistoryPage {
    frame: PageFrame,
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
    ConsolePage(p, frame): ConsolePage,
    axum::extract::Query(q): axum::extract::Query<HistoryQuery>,
) -> ConsoleResult {
    let offset = q.offset.unwrap_or(0).max(0);
    let (runs, total) = state
        .change_secret
        .executions(&p, None, Some(HISTORY_PAGE), Some(offset))
        .await?;
    let shown = i64::try_from(runs.len()).unwrap_or(0);
    Ok(render(&HistoryPage {
        frame,
        runs: runs.iter().map(run_line).collect(),
        total,
        first: if shown == 0 { 0 } else { offset + 1 },
        last: offset + shown,
        prev: (offset > 0).then(|| (offset - HISTORY_PAGE).max(0)),
        next: (offset + shown < total).then_some(offset + shown),
    }))
}
