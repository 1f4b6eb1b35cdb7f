//! Change-secret tasks, executions (with a log that streams while the run goes on), records
//! and their actions, and the overview. No answer holds a secret except a record's reveal
//! (permission + fresh TOTP code, audited, uncacheable).

use super::answers::{ExecutionStarted, RevealedRecordSecrets};
use crate::api::accounts::Reveal;
use crate::api::json_body::JsonBody;
use crate::api::Page;
use crate::error::ApiError;
use crate::middleware::auth::{Caller, Origin};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde::Deserialize;
use std::time::Duration;
use tumbler_api_types::change_secret::{ExecutionView, RecordRow, TaskView};
use tumbler_api_types::overview::Overview;
use tumbler_api_types::retries::RetryFailedOutcome;
use tumbler_core::change_secret::{RecordAction, RecordQuery, TaskInput, TaskPatch};
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::ids::{AssetId, ChangeTaskId, ExecutionId, RecordId};

/// How often a streaming log looks for new lines.
const LOG_POLL: Duration = Duration::from_millis(250);
/// How often a log stream checks that its caller is still signed in and enabled.
const CALLER_RECHECK: Duration = Duration::from_secs(2);

/// Every task of the caller's visible domains.
#[utoipa::path(get, path = "/api/v1/change-secret/tasks", responses((status = 200, description = "Every task of the caller's domains", body = Vec<TaskView>)))]
pub async fn list_tasks(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<Vec<TaskView>>, ApiError> {
    Ok(Json(state.change_secret.tasks(&p).await?))
}

/// Creates a task (`{name, usernames, asset_ids, nodes, secret_strategy, secret_type,
/// secret?, password_rules, params, schedule, recipients, enabled}`).
#[utoipa::path(post, path = "/api/v1/change-secret/tasks", request_body = tumbler_core::change_secret::TaskInput, responses((status = 201, description = "The task", body = TaskView), (status = 400), (status = 409)))]
pub async fn create_task(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(input): JsonBody<TaskInput>,
) -> Result<(StatusCode, Json<TaskView>), ApiError> {
    let task = state.change_secret.create_task(&p, input, &origin).await?;
    Ok((StatusCode::CREATED, Json(task)))
}

/// One task.
#[utoipa::path(get, path = "/api/v1/change-secret/tasks/{id}", params(("id" = String, Path)), responses((status = 200, description = "The task", body = TaskView), (status = 404)))]
pub async fn get_task(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<ChangeTaskId>,
) -> Result<Json<TaskView>, ApiError> {
    Ok(Json(state.change_secret.task(&p, &id).await?))
}

/// Changes a task: any field of the create body.
#[utoipa::path(patch, path = "/api/v1/change-secret/tasks/{id}", params(("id" = String, Path)), request_body = tumbler_core::change_secret::TaskPatch, responses((status = 200, description = "The task", body = TaskView), (status = 400), (status = 404)))]
pub async fn patch_task(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<ChangeTaskId>,
    JsonBody(patch): JsonBody<TaskPatch>,
) -> Result<Json<TaskView>, ApiError> {
    Ok(Json(
        state
            .change_secret
            .update_task(&p, &id, patch, &origin)
            .await?,
    ))
}

/// Deletes a task (its executions and records stay).
#[utoipa::path(delete, path = "/api/v1/change-secret/tasks/{id}", params(("id" = String, Path)), responses((status = 204), (status = 404), (status = 409, description = "task_running")))]
pub async fn delete_task(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<ChangeTaskId>,
) -> Result<StatusCode, ApiError> {
    state.change_secret.delete_task(&p, &id, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Copies a task (the copy is disabled).
#[utoipa::path(post, path = "/api/v1/change-secret/tasks/{id}/copy", params(("id" = String, Path)), responses((status = 201, description = "The copy (disabled)", body = TaskView), (status = 404)))]
pub async fn copy_task(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<ChangeTaskId>,
) -> Result<(StatusCode, Json<TaskView>), ApiError> {
    let task = state.change_secret.copy_task(&p, &id, &origin).await?;
    Ok((StatusCode::CREATED, Json(task)))
}

/// Starts a run now; answers at once with its execution id.
#[utoipa::path(post, path = "/api/v1/change-secret/tasks/{id}/execute", params(("id" = String, Path)), responses((status = 202, description = "`{execution_id}`", body = super::answers::ExecutionStarted), (status = 404), (status = 409, description = "task_disabled")))]
pub async fn execute_task(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<ChangeTaskId>,
) -> Result<(StatusCode, Json<ExecutionStarted>), ApiError> {
    let execution = state.change_secret.execute_task(&p, &id, &origin).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ExecutionStarted {
            execution_id: execution,
        }),
    ))
}

/// "Retry all failed": each failed or unverified record of the ended run is retried as a run
/// of its own (trigger `retry`), in the background; answers at once with the retries started
/// and the records left alone (already completed by a retry, a retry under way...).
#[utoipa::path(post, path = "/api/v1/change-secret/executions/{id}/retry-failed", params(("id" = String, Path)), responses((status = 202, description = "The retries started and the records skipped", body = RetryFailedOutcome), (status = 403), (status = 404), (status = 409, description = "record_state: the run is still going")))]
pub async fn retry_failed(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<ExecutionId>,
) -> Result<(StatusCode, Json<RetryFailedOutcome>), ApiError> {
    let outcome = state.change_secret.retry_failed(&p, &id, &origin).await?;
    Ok((StatusCode::ACCEPTED, Json(outcome)))
}

/// Filters of `GET /api/v1/change-secret/executions`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct ExecutionListQuery {
    /// Only this task's executions.
    pub task_id: Option<String>,
    /// Page size.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// Executions, newest first.
#[utoipa::path(get, path = "/api/v1/change-secret/executions", params(ExecutionListQuery), responses((status = 200, description = "A page of executions, newest first", body = Page<ExecutionView>)))]
pub async fn list_executions(
    State(state): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<ExecutionListQuery>,
) -> Result<Json<Page<ExecutionView>>, ApiError> {
    let (items, total) = state
        .change_secret
        .executions(
            &p,
            q.task_id
                .filter(|t| !t.is_empty())
                .map(ChangeTaskId::from_string),
            q.limit,
            q.offset,
        )
        .await?;
    Ok(Json(Page { items, total }))
}

/// One execution: status, trigger, times, counts.
#[utoipa::path(get, path = "/api/v1/change-secret/executions/{id}", params(("id" = String, Path)), responses((status = 200, description = "Status, trigger, times, counts", body = ExecutionView), (status = 404)))]
pub async fn get_execution(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<ExecutionId>,
) -> Result<Json<ExecutionView>, ApiError> {
    Ok(Json(state.change_secret.execution(&p, &id).await?))
}

/// The run's records as a CSV file (asset, username, status, reason, attempts, versions,
/// times; never a secret). Audited.
#[utoipa::path(get, path = "/api/v1/change-secret/executions/{id}/report", params(("id" = String, Path)), responses((status = 200, content_type = "text/csv", description = "The run's records", body = String), (status = 404)))]
pub async fn execution_report(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<ExecutionId>,
) -> Result<Response, ApiError> {
    let csv = state
        .change_secret
        .execution_report_csv(&p, &id, &origin)
        .await?;
    Ok(crate::api::transfer::csv_response(
        csv,
        &format!("execution-{id}.csv"),
    ))
}

/// The run's log as text, one line per event; while the run goes on, the answer streams
/// new lines until it ends. With `Accept: text/event-stream`, server-sent events (resumable
/// with `Last-Event-ID`) ending with an `end` event.
#[utoipa::path(get, path = "/api/v1/change-secret/executions/{id}/log", params(("id" = String, Path)), responses((status = 200, content_type = "text/plain", description = "The log, streamed while running", body = String), (status = 404)))]
pub async fn execution_log(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<ExecutionId>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    // `Accept: text/event-stream` asks for server-sent events: each line an event whose id is
    // its number, so a reconnecting client (`Last-Event-ID`) gets only what it missed, and an
    // `end` event when the run has ended.
    let sse = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    let after = if sse {
        headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0)
            .max(0)
    } else {
        0
    };
    // A user holds a few streams at once, no more.
    let slot = state.streams.take(&p.user.id).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            "you already follow the most log streams allowed at once; close one first",
        )
    })?;
    // The first read checks access; later reads use the same principal, which is checked
    // again every few seconds: the stream ends when the session ends, the token is revoked,
    // the password changes or the user is disabled.
    let (first, ended) = state.change_secret.execution_log(&p, &id, after).await?;
    let service = state.change_secret.clone();
    let auth = state.auth.clone();
    struct Cursor {
        seq: i64,
        pending: Vec<tumbler_store::LogLine>,
        ended: bool,
        done: bool,
        checked: std::time::Instant,
        _slot: crate::streams::StreamSlot,
    }
    let start = Cursor {
        seq: after,
        pending: first,
        ended,
        done: false,
        checked: std::time::Instant::now(),
        _slot: slot,
    };
    // The reads, in batches of lines, then `None` after the last batch of an ended run.
    let batches = futures::stream::unfold(start, move |mut c| {
        let service = service.clone();
        let auth = auth.clone();
        let p = p.clone();
        let id = id.clone();
        async move {
            loop {
                if !c.pending.is_empty() {
                    let lines = std::mem::take(&mut c.pending);
                    c.seq = lines.last().map(|l| l.seq).unwrap_or(c.seq);
                    return Some((Some(lines), c));
                }
                if c.done {
                    return None;
                }
                if c.ended {
                    c.done = true;
                    return Some((None, c));
                }
                tokio::time::sleep(LOG_POLL).await;
                if c.checked.elapsed() >= CALLER_RECHECK {
                    c.checked = std::time::Instant::now();
                    if !matches!(auth.still_authenticated(&p).await, Ok(true)) {
                        return None;
                    }
                }
                match service.execution_log(&p, &id, c.seq).await {
                    Ok((lines, ended)) => {
                        c.pending = lines;
                        c.ended = ended;
                    }
                    Err(_) => c.done = true,
                }
            }
        }
    });
    let mut response = if sse {
        // One event per line, its id the line's number; `end` once the run has ended.
        let events = batches.flat_map(|batch| {
            let events: Vec<Event> = match batch {
                Some(lines) => lines
                    .iter()
                    .map(|l| {
                        // Line breaks a target's answer might carry would split the event (or
                        // forge one).
                        let line = l.line.replace(['\r', '\n'], " ");
                        Event::default()
                            .id(l.seq.to_string())
                            .data(format!("{} {line}", l.at.to_rfc3339()))
                    })
                    .collect(),
                None => vec![Event::default().event("end").data("the run has ended")],
            };
            futures::stream::iter(events.into_iter().map(Ok::<_, std::convert::Infallible>))
        });
        Sse::new(events)
            .keep_alive(KeepAlive::default())
            .into_response()
    } else {
        let text = batches.filter_map(|batch| {
            futures::future::ready(batch.map(|lines| {
                Ok::<_, std::io::Error>(
                    lines
                        .iter()
                        .map(|l| format!("{} {}\n", l.at.to_rfc3339(), l.line))
                        .collect::<String>(),
                )
            }))
        });
        let mut response = Body::from_stream(text).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Filters of `GET /api/v1/change-secret/records`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct RecordListQuery {
    /// Only this execution's records.
    pub execution_id: Option<String>,
    /// Only this status.
    #[param(value_type = Option<tumbler_domain::change_secret::RecordStatus>)]
    pub status: Option<String>,
    /// Only this asset's records.
    pub asset_id: Option<String>,
    /// Page size.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// Records, filtered by execution, status or asset.
#[utoipa::path(get, path = "/api/v1/change-secret/records", params(RecordListQuery), responses((status = 200, description = "A page of records", body = Page<RecordRow>)))]
pub async fn list_records(
    State(state): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<RecordListQuery>,
) -> Result<Json<Page<RecordRow>>, ApiError> {
    let query = RecordQuery {
        execution_id: q
            .execution_id
            .filter(|e| !e.is_empty())
            .map(ExecutionId::from_string),
        status: crate::api::assets::parse_state(
            q.status.as_deref(),
            RecordStatus::parse,
            "status",
        )?,
        asset_id: q
            .asset_id
            .filter(|a| !a.is_empty())
            .map(AssetId::from_string),
        limit: q.limit,
        offset: q.offset,
    };
    let (items, total) = state.change_secret.records(&p, &query).await?;
    Ok(Json(Page { items, total }))
}

/// `POST /api/v1/change-secret/records/{id}/{action}` body (adopt takes a TOTP code).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// A fresh TOTP code (adopt).
    pub totp: Option<String>,
}

/// Retry, verify, adopt (fresh TOTP code) or ignore a record. A retry is a run of its own
/// (trigger `retry`): the answer is the retry's record (another id), once its run has ended
/// or after `account_timeout x (max_attempts + 2)` (then still `pending`; the run goes on).
#[utoipa::path(post, path = "/api/v1/change-secret/records/{id}/{action}", params(("id" = String, Path), ("action" = String, Path, description = "retry, verify, adopt or ignore")), request_body = ActionBody, responses((status = 200, description = "The record", body = RecordRow), (status = 404), (status = 409, description = "record_state; retry: retry_in_progress (a retry of the account is queued or running), asset_moved (the asset left the run's domain), task_disabled")))]
pub async fn record_action(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path((id, action)): Path<(RecordId, String)>,
    body: Option<JsonBody<ActionBody>>,
) -> Result<Json<RecordRow>, ApiError> {
    let Ok(action) = action.parse::<RecordAction>() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such record action (retry, verify, adopt, ignore, reveal)",
        ));
    };
    let body = body.map(|JsonBody(b)| b).unwrap_or_default();
    let record = state
        .change_secret
        .record_action(&p, &id, action, body.totp.as_deref(), &origin)
        .await?;
    Ok(Json(record))
}

/// The record's old and new secrets: reveal permission and a fresh TOTP code; audited.
#[utoipa::path(post, path = "/api/v1/change-secret/records/{id}/reveal", params(("id" = String, Path)), request_body = Reveal, responses((status = 200, description = "`{old_secret, new_secret}`", body = super::answers::RevealedRecordSecrets), (status = 401), (status = 403), (status = 404)))]
pub async fn reveal_record(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<RecordId>,
    JsonBody(req): JsonBody<Reveal>,
) -> Result<Response, ApiError> {
    let revealed = state
        .change_secret
        .reveal_record(&p, &id, req.totp.as_deref(), &origin)
        .await?;
    let mut response = Json(RevealedRecordSecrets {
        new_secret: revealed.new_secret.as_ref().map(|s| s.as_str().to_owned()),
        old_secret: revealed.old_secret.as_ref().map(|s| s.as_str().to_owned()),
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Counts for the dashboard.
#[utoipa::path(get, path = "/api/v1/change-secret/overview", responses((status = 200, description = "Counts, recent executions, failed accounts with reasons", body = Overview)))]
pub async fn overview(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<Overview>, ApiError> {
    Ok(Json(state.change_secret.overview(&p).await?))
}
