//! The history of every change run, newest first, a page at a time, filtered by task, status,
//! trigger and time range.

use super::audit::parse_time;
use super::change_secret::{name_retried, run_line, RunLine};
use super::frame::{ConsolePage, ConsoleResult, PageFrame};
use super::labels::Labelled;
use super::pages::render;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tumbler_domain::change_secret::{ExecutionStatus, Trigger};
use tumbler_domain::ids::ChangeTaskId;
use tumbler_store::ExecutionFilter;

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
    prev: Option<String>,
    next: Option<String>,
    query: HistoryQuery,
    /// (id, name) of every task the caller sees.
    tasks: Vec<(String, String)>,
    /// (value, label) of every status and trigger.
    statuses: Vec<(&'static str, String)>,
    triggers: Vec<(&'static str, String)>,
}

/// Filters and paging of the history.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct HistoryQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    task: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    trigger: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    from: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    until: String,
    #[serde(default, skip_serializing)]
    offset: Option<i64>,
}

impl HistoryQuery {
    /// The store filter, or why a field is refused.
    fn filter(&self, offset: i64) -> Result<ExecutionFilter, String> {
        let status = pick(&self.status, ExecutionStatus::parse(&self.status), "status")?;
        let trigger = pick(&self.trigger, Trigger::parse(&self.trigger), "trigger")?;
        let from = parse_time(&self.from, false)?;
        let until = parse_time(&self.until, true)?;
        Ok(ExecutionFilter {
            task_id: Some(self.task.trim())
                .filter(|t| !t.is_empty())
                .map(ChangeTaskId::from_string),
            status,
            trigger,
            from,
            until,
            limit: HISTORY_PAGE,
            offset,
            ..ExecutionFilter::default()
        })
    }

    /// `/change-secret/executions?...` with these filters at `offset`.
    fn link(&self, offset: i64) -> String {
        let mut s = serde_urlencoded::to_string(self).unwrap_or_default();
        if !s.is_empty() {
            s.push('&');
        }
        format!("/change-secret/executions?{s}offset={offset}")
    }
}

/// A chosen value: none when the field is empty, a refusal when it names nothing known.
fn pick<T>(value: &str, parsed: Option<T>, what: &str) -> Result<Option<T>, String> {
    match (value.is_empty(), parsed) {
        (true, _) => Ok(None),
        (false, Some(p)) => Ok(Some(p)),
        (false, None) => Err(format!("Choose a {what} from the list.")),
    }
}

/// `GET /change-secret/executions`: the runs matching the filters, newest first, 50 a page.
pub async fn history(
    State(state): State<AppState>,
    ConsolePage(p, mut frame): ConsolePage,
    axum::extract::Query(q): axum::extract::Query<HistoryQuery>,
) -> ConsoleResult {
    // Far enough below the largest number that adding a page cannot overflow.
    let offset = q.offset.unwrap_or(0).clamp(0, i64::MAX / 2);
    let (runs, total) = match q.filter(offset) {
        Ok(filter) => state.change_secret.executions_matching(&p, filter).await?,
        Err(why) => {
            frame = frame.with_error(Some(why));
            (Vec::new(), 0)
        }
    };
    let tasks = state
        .change_secret
        .tasks(&p)
        .await?
        .into_iter()
        .map(|t| (t.id.to_string(), t.name))
        .collect();
    let shown = i64::try_from(runs.len()).unwrap_or(0);
    let mut runs: Vec<RunLine> = runs.iter().map(run_line).collect();
    name_retried(&state, &p, &mut runs).await;
    Ok(render(&HistoryPage {
        frame,
        runs,
        total,
        first: if shown == 0 { 0 } else { offset + 1 },
        last: offset + shown,
        prev: (offset > 0).then(|| q.link((offset - HISTORY_PAGE).max(0))),
        next: (offset + shown < total).then(|| q.link(offset + shown)),
        tasks,
        statuses: ExecutionStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.label().to_owned()))
            .collect(),
        triggers: Trigger::ALL
            .iter()
            .map(|t| (t.as_str(), t.label().to_owned()))
            .collect(),
        query: q,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_refuses_unknown_values_and_links_keep_it() {
        let q = HistoryQuery {
            status: "failed".to_owned(),
            trigger: "schedule".to_owned(),
            from: "2026-12-01".to_owned(),
            ..HistoryQuery::default()
        };
        let f = q.filter(0).unwrap();
        assert_eq!(f.status, Some(ExecutionStatus::Failed));
        assert_eq!(f.trigger, Some(Trigger::Schedule));
        assert!(f.from.is_some() && f.until.is_none() && f.task_id.is_none());
        assert_eq!(
            q.link(50),
            "/change-secret/executions?status=failed&trigger=schedule&from=2026-12-01&offset=50"
        );
        let bad = HistoryQuery {
            status: "nope".to_owned(),
            ..HistoryQuery::default()
        };
        assert!(bad.filter(0).is_err());
        assert_eq!(ExecutionStatus::NothingChanged.label(), "Nothing changed");
    }
}
