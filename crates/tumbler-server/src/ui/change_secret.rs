//! The Account Password Change pages: the overview (counts, a chart of recent runs, the tasks
//! with "Run now", the accounts whose last change failed with a retry button, recent runs),
//! and a run's page (status, counts, CSV report, the live log, every
//! record with retry, verify, ignore, adopt and reveal, and "retry all failed"; adopt and
//! reveal ask for a fresh TOTP code). The run page's status, counts and records are marked
//! `data-live`: the console script fetches the page again while the run goes on and when its
//! log ends, and swaps them in until `#run-fields` carries `data-ended`.

use super::console_form::ConsoleForm;
use super::flash::{
    redirect_after, redirect_revealed, Flash, RevealLink, Revealed, RevealedSecret,
};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame};
use super::labels::{account_status_meaning, Labelled, Shown};
use super::pages::{render, render_uncached};
use super::run_chart::RunChart;
use super::when::When;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use std::collections::HashMap;
use tumbler_core::change_secret::{
    ExecutionView, NextAction, RecordAction, RecordQuery, DRIFT_CODE,
};
use tumbler_core::{ChangeSecretError, Principal};
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::ids::{AccountId, ChangeTaskId, ExecutionId, RecordId};
use tumbler_domain::inventory::AccountStatus;
use tumbler_domain::permission::Permission;

/// Runs the chart shows.
const CHART_RUNS: usize = 20;

/// One run in a list.
pub struct RunLine {
    pub(super) id: String,
    pub(super) task_name: String,
    /// Its readable label: task name and start time.
    pub(super) label: String,
    pub(super) trigger: Shown,
    pub(super) status: Shown,
    pub(super) started: When,
    pub(super) success: i64,
    pub(super) failed: i64,
    /// For a retry: the run whose record it retries, and that run's label.
    pub(super) retry_of: Option<String>,
    pub(super) retry_of_label: String,
    /// How many records retries completed.
    pub(super) completed_by_retries: i64,
}

pub(super) fn run_line(e: &ExecutionView) -> RunLine {
    let n = |s: RecordStatus| e.counts_after_retries.get(&s).copied().unwrap_or(0);
    RunLine {
        id: e.id.to_string(),
        task_name: e.task_name.clone(),
        label: super::when::label(&e.task_name, e.started_at.unwrap_or(e.created_at)),
        trigger: e.trigger.shown(),
        status: e.status.shown(),
        started: When::at(e.started_at.unwrap_or(e.created_at)),
        success: n(RecordStatus::Success),
        failed: n(RecordStatus::Failed) + n(RecordStatus::Unverified),
        retry_of: e.retry_of_execution_id.as_ref().map(|id| id.to_string()),
        retry_of_label: "an earlier run".to_owned(),
        completed_by_retries: e.completed_by_retries,
    }
}

/// Names the runs that `runs` retry by their labels: from `runs` where they are listed, else
/// looked up (a run the caller may not see keeps "an earlier run").
pub(super) async fn name_retried(state: &AppState, p: &Principal, runs: &mut [RunLine]) {
    let known: HashMap<String, String> = runs
        .iter()
        .map(|r| (r.id.clone(), r.label.clone()))
        .collect();
    let mut looked_up: HashMap<String, String> = HashMap::new();
    for r in runs.iter_mut() {
        let Some(of) = r.retry_of.clone() else {
            continue;
        };
        if let Some(label) = known.get(&of).or_else(|| looked_up.get(&of)) {
            r.retry_of_label = label.clone();
            continue;
        }
        if let Ok(e) = state
            .change_secret
            .execution(p, &ExecutionId::from_string(of.clone()))
            .await
        {
            let label = run_line(&e).label;
            r.retry_of_label = label.clone();
            looked_up.insert(of, label);
        }
    }
}

/// One account health of the overview: its label and code, what it means, how many.
pub struct AccountHealth {
    status: Shown,
    meaning: &'static str,
    count: i64,
}

/// One task row.
pub struct TaskLine {
    id: String,
    name: String,
    usernames: String,
    enabled: bool,
    next_run: When,
    /// The zone its schedule is in.
    zone: String,
    /// Whether the task holds a specified secret, lost with it when it is deleted.
    has_secret: bool,
}

/// One account the overview asks a person to look at.
pub struct FailedLine {
    /// The record of its latest change (empty when its status is the reason).
    id: String,
    execution_id: String,
    who: String,
    kind: Shown,
    reason: String,
    /// The reason's code, for support (empty when there is none).
    reason_code: String,
    next_action: Shown,
    retryable: bool,
    /// The account, for the bulk reconcile.
    account_id: String,
    /// Its status needs attention: the bulk reconcile takes it.
    reconcilable: bool,
}

#[derive(Template)]
#[template(path = "change_secret.html")]
struct OverviewPage {
    frame: PageFrame,
    tasks_total: usize,
    scheduled: usize,
    /// Every account health, with its count and what it means.
    accounts: Vec<AccountHealth>,
    tasks: Vec<TaskLine>,
    runs: Vec<RunLine>,
    chart: RunChart,
    failed: Vec<FailedLine>,
    /// Accounts listed whose stored secret stopped working (drift).
    drifted: usize,
    can_run: bool,
}

/// The overview in `frame` (with its notice or error).
pub(super) async fn overview_page(
    state: &AppState,
    p: &Principal,
    frame: PageFrame,
) -> ConsoleResult {
    let overview = state.change_secret.overview(p).await?;
    let tasks = state.change_secret.tasks(p).await?;
    let (runs, _) = state
        .change_secret
        .executions(p, None, Some(CHART_RUNS as i64), None)
        .await?;
    let mut runs = runs.iter().map(run_line).collect::<Vec<_>>();
    name_retried(state, p, &mut runs).await;
    let chart = RunChart::of(&runs);
    Ok(render(&OverviewPage {
        frame,
        tasks_total: overview.tasks,
        scheduled: overview.scheduled_tasks,
        accounts: AccountStatus::ALL
            .iter()
            .map(|s| AccountHealth {
                status: s.shown(),
                meaning: account_status_meaning(*s),
                count: overview.accounts.get(s).copied().unwrap_or(0),
            })
            .collect(),
        tasks: tasks
            .into_iter()
            .map(|t| TaskLine {
                id: t.id.to_string(),
                name: t.name,
                usernames: t.spec.usernames.join(", "),
                enabled: t.enabled,
                next_run: When(t.next_run_at),
                zone: t.time_zone,
                has_secret: t.has_secret,
            })
            .collect(),
        chart,
        runs,
        failed: overview
            .failed_accounts
            .iter()
            .map(|f| FailedLine {
                id: f
                    .record_id
                    .as_ref()
                    .map(|r| r.to_string())
                    .unwrap_or_default(),
                execution_id: f
                    .execution_id
                    .as_ref()
                    .map(|e| e.to_string())
                    .unwrap_or_default(),
                who: format!("{}@{}", f.username, f.asset_name),
                kind: f.kind.shown(),
                reason: f.reason.clone(),
                reason_code: f.reason_code.clone(),
                next_action: f.next_action.shown(),
                retryable: f.record_id.is_some() && f.next_action == NextAction::Retry,
                account_id: f.account_id.to_string(),
                reconcilable: f.account_status == AccountStatus::NeedsAttention,
            })
            .collect(),
        drifted: overview
            .failed_accounts
            .iter()
            .filter(|f| f.reason_code == DRIFT_CODE)
            .count(),
        can_run: p.can(Permission::ChangesRun),
    }))
}

/// `GET /change-secret`
pub async fn overview(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
) -> ConsoleResult {
    overview_page(&state, &p, frame).await
}

/// A form with the CSRF token and, for adopt and reveal, a TOTP code.
#[derive(Deserialize)]
pub struct ActionForm {
    totp: Option<String>,
    /// Sent by the delete dialog's confirm button; a task delete without it is refused.
    confirm: Option<String>,
}

impl ActionForm {
    /// Whether the form came from a confirmation dialog's button.
    pub(super) fn confirmed(&self) -> bool {
        self.confirm.is_some()
    }
}

/// `POST /change-secret/tasks/{id}/execute`: starts a run and opens its page.
pub async fn execute(
    State(state): State<AppState>,
    Path(id): Path<ChangeTaskId>,
    form: ConsoleForm<ActionForm>,
) -> ConsoleResult {
    let (p, frame, origin, _) = form.active()?;
    match state.change_secret.execute_task(&p, &id, &origin).await {
        Ok(run) => Ok(Redirect::to(&format!("/change-secret/executions/{run}")).into_response()),
        Err(e @ (ChangeSecretError::TaskDisabled | ChangeSecretError::Forbidden)) => {
            Ok(redirect_after(
                &state,
                &frame,
                OVERVIEW,
                Flash::error(e.to_string()).with_code(e.code()),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// One record row of a run.
pub struct RecordLine {
    id: String,
    asset: String,
    username: String,
    status: Shown,
    reason: String,
    /// The reason's code, for support (empty when there is none).
    reason_code: String,
    updated: When,
    retryable: bool,
}

#[derive(Template)]
#[template(path = "change_secret_run.html")]
struct RunPage {
    frame: PageFrame,
    run: RunLine,
    finished: When,
    /// The run is over: the page stops following it.
    ended: bool,
    counts: Vec<(Shown, i64)>,
    records: Vec<RecordLine>,
    can_run: bool,
    can_reveal: bool,
    revealed: Option<Revealed>,
}

/// The overview's address.
const OVERVIEW: &str = "/change-secret";

/// A run page's address.
fn run_address(id: &ExecutionId) -> String {
    format!("/change-secret/executions/{id}")
}

async fn run_page(
    state: &AppState,
    p: &Principal,
    frame: PageFrame,
    id: &ExecutionId,
    revealed: Option<Revealed>,
) -> ConsoleResult {
    let run = state.change_secret.execution(p, id).await?;
    let query = RecordQuery {
        execution_id: Some(id.clone()),
        status: None,
        asset_id: None,
        limit: Some(tumbler_domain::paging::MAX_PAGE),
        offset: None,
    };
    let (records, _) = state.change_secret.records(p, &query).await?;
    let mut line = [run_line(&run)];
    name_retried(state, p, &mut line).await;
    let [line] = line;
    Ok(render_uncached(&RunPage {
        frame,
        finished: When(run.finished_at),
        ended: run.status.is_final(),
        counts: run.counts.iter().map(|(s, n)| (s.shown(), *n)).collect(),
        run: line,
        records: records
            .into_iter()
            .map(|r| RecordLine {
                retryable: r.status.retryable(r.reason_code),
                id: r.id.to_string(),
                asset: r.asset_name,
                username: r.username,
                status: r.status.shown(),
                reason_code: r.reason_code.map(|c| c.to_string()).unwrap_or_default(),
                reason: r.reason,
                updated: When::at(r.updated_at),
            })
            .collect(),
        can_run: p.can(Permission::ChangesRun),
        can_reveal: p.can(Permission::SecretsReveal),
        revealed,
    }))
}

/// `GET /change-secret/executions/{id}`, with `?revealed=` the one-time link to the secrets a
/// reveal showed.
pub async fn run(
    State(state): State<AppState>,
    ConsolePage(p, mut frame): ConsolePage,
    Path(id): Path<ExecutionId>,
    link: RevealLink,
) -> ConsoleResult {
    let revealed = link.open(&state, &mut frame);
    run_page(&state, &p, frame, &id, revealed).await
}

/// `POST /change-secret/records/{id}/{action}`: retry, verify, ignore, adopt (TOTP) or reveal
/// (TOTP); shows the record's run with the outcome.
pub async fn record_action(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    form: ConsoleForm<ActionForm>,
) -> ConsoleResult {
    let (p, frame, origin, form) = form.active()?;
    let id = RecordId::from_string(id);
    let record = state.change_secret.record(&p, &id).await?;
    let who = format!("{}@{}", record.username, record.asset_name);
    let mut page = record.execution_id.clone();
    let totp = form
        .totp
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let flash = match action.as_str() {
        "reveal" => match state
            .change_secret
            .reveal_record(&p, &id, totp, &origin)
            .await
        {
            Ok(r) => {
                let secret = |label: &str, value: Option<String>| RevealedSecret {
                    label: label.to_owned(),
                    value: value.unwrap_or_default().into(),
                };
                let revealed = Revealed {
                    subject: who,
                    secrets: vec![
                        secret("Old secret", r.old_secret.map(|s| s.as_str().to_owned())),
                        secret("New secret", r.new_secret.map(|s| s.as_str().to_owned())),
                    ],
                };
                return Ok(redirect_revealed(
                    &state,
                    &frame,
                    &run_address(&page),
                    Flash::success("Revealed below, once; this view is audited."),
                    revealed,
                ));
            }
            Err(e) => Err(e),
        },
        other => {
            let Ok(action) = other.parse::<RecordAction>() else {
                return Err(ConsoleError::NotFound("No such action.".to_owned()));
            };
            state
                .change_secret
                .record_action(&p, &id, action, totp, &origin)
                .await
                .map(|r| {
                    // A retry is a run of its own: its page follows it.
                    page = r.execution_id.clone();
                    let text = format!(
                        "{who}: {other} done; the record is {}.",
                        r.status.label().to_lowercase()
                    );
                    if r.status == RecordStatus::Success {
                        Flash::success(text)
                    } else {
                        Flash::warning(text)
                    }
                })
        }
    };
    let flash = match flash {
        Ok(f) => f,
        Err(e @ (ChangeSecretError::Store(_) | ChangeSecretError::Vault(_))) => {
            return Err(e.into())
        }
        Err(e) => Flash::error(format!("{who}: {e}")).with_code(e.code()),
    };
    Ok(redirect_after(&state, &frame, &run_address(&page), flash))
}

/// `POST /change-secret/executions/{id}/retry-failed`: retries every failed or unverified
/// record of the run, each as a run of its own in the background (audited like a single
/// retry); the page says how many.
pub async fn retry_failed(
    State(state): State<AppState>,
    Path(id): Path<ExecutionId>,
    form: ConsoleForm<ActionForm>,
) -> ConsoleResult {
    let (p, frame, origin, _) = form.active()?;
    let flash = match state.change_secret.retry_failed(&p, &id, &origin).await {
        Ok(outcome) => Flash::success(format!(
                "Retrying {} account(s) in the background, each as a run of its own ({} left alone); reload the page to follow them.",
                outcome.started.len(),
                outcome.skipped.len()
            )),
        Err(e @ (ChangeSecretError::Store(_) | ChangeSecretError::Vault(_))) => {
            return Err(e.into())
        }
        Err(e) => Flash::error(e.to_string()).with_code(e.code()),
    };
    Ok(redirect_after(&state, &frame, &run_address(&id), flash))
}

/// The reconcile form: the selected accounts as repeated `account_id` fields.
#[derive(Deserialize)]
pub struct ReconcileForm {
    #[serde(default)]
    account_id: Vec<String>,
}

/// `POST /change-secret/reconcile`: reconciles the selected accounts (those in
/// `needs_attention`), each as a run of its own in the background; the page says how many.
pub async fn reconcile_selected(
    State(state): State<AppState>,
    form: ConsoleForm<ReconcileForm>,
) -> ConsoleResult {
    let (p, frame, origin, form) = form.active()?;
    let ids: Vec<AccountId> = form
        .account_id
        .into_iter()
        .map(AccountId::from_string)
        .collect();
    let flash = if ids.is_empty() {
        Flash::error("Select the accounts to reconcile.")
    } else {
        match state
            .change_secret
            .reconcile_selected(&p, &ids, &origin)
            .await
        {
            Ok(outcome) => {
                let skipped: Vec<String> = outcome
                    .skipped
                    .iter()
                    .map(|s| format!("{} ({})", s.code, s.reason))
                    .collect();
                let text = format!(
                    "Reconciling {} account(s) in the background, each as a run of its own; reload the page to follow them.{}",
                    outcome.started.len(),
                    if skipped.is_empty() {
                        String::new()
                    } else {
                        format!(" Left alone: {}", skipped.join("; "))
                    }
                );
                if skipped.is_empty() {
                    Flash::success(text)
                } else {
                    Flash::warning(text)
                }
            }
            Err(e @ (ChangeSecretError::Store(_) | ChangeSecretError::Vault(_))) => {
                return Err(e.into())
            }
            Err(e) => Flash::error(e.to_string()).with_code(e.code()),
        }
    };
    Ok(redirect_after(&state, &frame, OVERVIEW, flash))
}
