//! The audit log (`/audit`, for holders of the audit permission): the chain's verification
//! result, events filtered by user, action, object, time and outcome, a page at a time, and
//! the filtered set as CSV. The audit service checks the permission.

use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame};
use super::pages::{rejected, render};
use super::when::When;
use crate::middleware::auth::Origin;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::IntoEnumIterator;
use tumbler_core::audit::AuditError;
use tumbler_core::{ChainReport, Principal};
use tumbler_domain::audit::AuditAction;
use tumbler_store::AuditFilter;

/// Events per page.
const PAGE_SIZE: i64 = 50;

/// The filters and page of `/audit` (also the query of the CSV export).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct AuditQuery {
    /// Only this user (actor), exactly.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    user: String,
    /// Only this action (its stored name).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    action: String,
    /// Only this object id, exactly.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    object: String,
    /// `success` or `failure`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    outcome: String,
    /// From this time (UTC): `YYYY-MM-DD` or `YYYY-MM-DD HH:MM`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    from: String,
    /// Until this time (UTC), exclusive; a date alone means the end of that day.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    until: String,
    /// The page, from 1.
    #[serde(default, skip_serializing)]
    page: Option<i64>,
    /// Check the whole chain on this load (it reads every event, so only when asked).
    #[serde(default, skip_serializing)]
    verify: Option<String>,
}

/// A time typed in a filter; a date alone is the start of the day, or (`end_of_day`) the
/// start of the next one.
pub(super) fn parse_time(text: &str, end_of_day: bool) -> Result<Option<DateTime<Utc>>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let normalized = text.replace('T', " ");
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&normalized, format) {
            return Ok(Some(t.and_utc()));
        }
    }
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(day) => {
            let day = if end_of_day {
                day.succ_opt()
            } else {
                Some(day)
            };
            Ok(day.map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()))
        }
        Err(_) => Err(format!(
            "\"{text}\" is not a time: write YYYY-MM-DD or YYYY-MM-DD HH:MM (UTC)."
        )),
    }
}

impl AuditQuery {
    /// The store filter for this query (page bounds for `page`), or why a field is refused.
    fn filter(&self) -> Result<AuditFilter, String> {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let outcome = match self.outcome.as_str() {
            "" => None,
            o @ ("success" | "failure") => Some(o.to_owned()),
            _ => return Err("Choose an outcome from the list.".to_owned()),
        };
        let from = parse_time(&self.from, false)?;
        let until = parse_time(&self.until, true)?;
        if let (Some(f), Some(u)) = (from, until) {
            if u <= f {
                return Err("The end of the time range is before its start.".to_owned());
            }
        }
        Ok(AuditFilter {
            action: some(&self.action),
            actor: some(&self.user),
            object_id: some(&self.object),
            outcome,
            from,
            until,
            limit: PAGE_SIZE,
            offset: (self.page() - 1).saturating_mul(PAGE_SIZE),
        })
    }

    fn page(&self) -> i64 {
        self.page.unwrap_or(1).clamp(1, i64::MAX / PAGE_SIZE)
    }

    /// The query string of these filters, at `page` (none: no page).
    fn link(&self, page: Option<i64>) -> String {
        let mut q = self.clone();
        q.page = None;
        let mut s = serde_urlencoded::to_string(&q).unwrap_or_default();
        if let Some(page) = page {
            if !s.is_empty() {
                s.push('&');
            }
            s.push_str(&format!("page={page}"));
        }
        s
    }
}

/// A readable label for a stored action name (`user.password.change` → "User: password
/// change"); the name stays beside it in small print.
pub fn action_label(name: &str) -> String {
    let mut parts = name.split('.');
    let area = match parts.next().unwrap_or_default() {
        "auth" => "Sign-in",
        "token" => "API token",
        "user" => "User",
        "domain" => "Domain",
        "role" => "Role",
        "settings" => "Settings",
        "webhook" => "Webhook",
        "vault" => "Vault",
        "system_key" => "Device key",
        "key_conflict" => "Key conflict",
        "node" => "Node",
        "asset" => "Asset",
        "account" => "Account",
        "modify_authentication" => "Modify authentication",
        "regenerate_key" => "Key regeneration",
        "resolve_key_conflict" => "Key conflict resolution",
        "change_task" => "Change task",
        "change_execution" => "Change run",
        "change_record" => "Change record",
        "audit" => "Audit log",
        other => return other.replace('_', " "),
    };
    let rest: Vec<String> = parts
        .map(|p| match p {
            "totp" => "TOTP".to_owned(),
            "smtp" => "SMTP".to_owned(),
            "mfa" | "require_mfa" => p.replace("mfa", "MFA").replace('_', " "),
            other => other.replace('_', " "),
        })
        .collect();
    if rest.is_empty() {
        area.to_owned()
    } else {
        format!("{area}: {}", rest.join(" "))
    }
}

/// One event as the table shows it.
pub struct EventLine {
    seq: i64,
    at: When,
    actor: String,
    action: String,
    action_label: String,
    object: String,
    failed: bool,
    source: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    frame: PageFrame,
    query: AuditQuery,
    /// Every action: (stored name, label).
    actions: Vec<(&'static str, String)>,
    events: Vec<EventLine>,
    /// "Events 1–50 of 230", or that none match.
    range: String,
    previous: Option<String>,
    next: Option<String>,
    export: String,
    /// The most events one export holds.
    export_max_rows: i64,
    /// More events match than one export holds: the page says so instead of offering it.
    too_many_to_export: bool,
    /// The chain's check, when asked for (`?verify=1`).
    chain: Option<ChainReport>,
    /// This page's address with the chain check asked for.
    verify_link: String,
}

fn refused(e: AuditError) -> ConsoleError {
    match e {
        AuditError::Forbidden => {
            ConsoleError::Forbidden("You do not have permission to read the audit log.".to_owned())
        }
        e => ConsoleError::internal("reading the audit log failed", &e),
    }
}

/// `GET /audit`
pub async fn show(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
    Query(query): Query<AuditQuery>,
) -> ConsoleResult {
    audit_page(&state, &p, frame, query).await
}

/// The audit page for `query`.
async fn audit_page(
    state: &AppState,
    p: &Principal,
    mut frame: PageFrame,
    query: AuditQuery,
) -> ConsoleResult {
    // Reading the log needs the permission whether or not the chain is checked.
    let chain = if query.verify.is_some() {
        Some(state.audit.verify_as(p).await.map_err(refused)?)
    } else {
        None
    };
    let (events, total) = match query.filter() {
        Ok(filter) => state.audit.list(p, &filter).await.map_err(refused)?,
        Err(why) => {
            frame = frame.with_error(Some(why));
            (Vec::new(), 0)
        }
    };
    let page = query.page();
    let first = (page - 1) * PAGE_SIZE + 1;
    let last = (page - 1) * PAGE_SIZE + events.len() as i64;
    let range = if events.is_empty() {
        if total > 0 {
            format!("No events on this page; {total} match in all.")
        } else {
            "No events match.".to_owned()
        }
    } else {
        format!("Events {first}–{last} of {total}")
    };
    let events = events
        .into_iter()
        .map(|e| EventLine {
            seq: e.seq,
            at: When::at(e.at),
            action_label: action_label(&e.action),
            action: e.action,
            object: if e.object_id.is_empty() {
                e.object_kind
            } else {
                format!("{} {}", e.object_kind, e.object_id)
            },
            failed: e.outcome != "success",
            actor: e.actor,
            source: e.source,
            detail: e.detail,
        })
        .collect();
    let mut actions: Vec<(&'static str, String)> = AuditAction::iter()
        .map(|a| (a.as_str(), action_label(a.as_str())))
        .collect();
    actions.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(render(&AuditPage {
        frame,
        previous: (page > 1).then(|| query.link(Some(page - 1))),
        next: (last < total).then(|| query.link(Some(page + 1))),
        export: query.link(None),
        export_max_rows: state.audit.export_max_rows(),
        too_many_to_export: total > state.audit.export_max_rows(),
        verify_link: {
            let here = query.link(Some(page));
            format!(
                "/audit?{here}{}verify=1",
                if here.is_empty() { "" } else { "&" }
            )
        },
        query,
        actions,
        events,
        range,
        chain,
    }))
}

/// `GET /audit/export.csv`: every event matching the filters, as CSV, up to the configured
/// maximum; over it, the audit page again (422) saying how many match and the maximum. The
/// export, or its refusal, is itself audited.
pub async fn export(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
    Origin(origin): Origin,
    Query(query): Query<AuditQuery>,
) -> ConsoleResult {
    let filter = query.filter().map_err(ConsoleError::Invalid)?;
    match state.audit.export_csv(&p, &filter, &origin).await {
        Ok(csv) => Ok(crate::api::transfer::csv_response(csv, "audit-log.csv")),
        Err(e @ AuditError::ExportTooLarge { .. }) => {
            let message = format!("Nothing was exported: {e}.");
            rejected(audit_page(&state, &p, frame.with_error(Some(message)), query).await)
        }
        Err(e) => Err(refused(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_label_without_dots() {
        for a in AuditAction::iter() {
            let label = action_label(a.as_str());
            assert!(!label.contains('.'), "{label}");
            assert!(!label.contains('_'), "{label}");
        }
        assert_eq!(
            action_label("user.password.change"),
            "User: password change"
        );
        assert_eq!(action_label("user.totp.enable"), "User: TOTP enable");
    }

    #[test]
    fn times_are_dates_or_minutes_and_a_date_ends_its_day() {
        let t = |s| parse_time(s, false).unwrap().unwrap().to_rfc3339();
        assert_eq!(t("2026-12-06"), "2026-12-06T00:00:00+00:00");
        assert_eq!(t("2026-12-06 05:10"), "2026-12-06T05:10:00+00:00");
        assert_eq!(t("2026-12-06T05:10"), "2026-12-06T05:10:00+00:00");
        let end = parse_time("2026-12-06", true).unwrap().unwrap();
        assert_eq!(end.to_rfc3339(), "2026-12-07T00:00:00+00:00");
        assert!(parse_time("yesterday", false).is_err());
        assert_eq!(parse_time(" ", false), Ok(None));
    }

    #[test]
    fn links_keep_the_filters() {
        let q = AuditQuery {
            user: "ad min".to_owned(),
            outcome: "failure".to_owned(),
            page: Some(3),
            ..AuditQuery::default()
        };
        assert_eq!(q.link(Some(4)), "user=ad+min&outcome=failure&page=4");
        assert_eq!(q.link(None), "user=ad+min&outcome=failure");
    }
}
