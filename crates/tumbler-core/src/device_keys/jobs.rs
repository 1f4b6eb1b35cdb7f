//! Jobs as people see them, and their bookkeeping: one outcome per device, stored as each
//! device finishes, so a job's page shows progress and a restart knows what is done.

use super::{require, DeviceKeyError, DeviceKeyService};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tumbler_domain::ids::AssetId;
use tumbler_domain::permission::Permission;
use tumbler_store::JobRow;

/// Minutes without progress after which another node takes a job over.
pub(super) const STALE_MINUTES: i64 = 15;

/// One device's outcome in a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceOutcome {
    /// The device.
    pub asset_id: AssetId,
    /// Its name.
    pub asset_name: String,
    /// Its domain (a job's page shows each caller only the devices it may see).
    #[serde(default)]
    pub domain_id: String,
    /// `succeeded`, `failed`, `unreachable` or `skipped`.
    pub status: String,
    /// A stable code for what happened: `ok`, `skipped`, `failed`, `unreachable`, or a
    /// specific failure (`admin_login_failed`: the typed admin password was refused;
    /// `key_login_failed`: the installed key did not log in; `user_not_created`: the admin
    /// user could not be created or given its password; `no_admin_password`).
    #[serde(default)]
    pub code: String,
    /// What happened, for people (never a secret).
    pub message: String,
}

impl DeviceOutcome {
    /// The same outcome with a more specific `code`.
    pub(super) fn with_code(mut self, code: &str) -> Self {
        self.code = code.to_owned();
        self
    }
}

/// A job as shown.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobView {
    /// Id.
    pub id: String,
    /// `modify_authentication`, `regenerate_key` or `resolve_key_conflict`.
    pub kind: String,
    /// `running`, `succeeded`, `partial`, `failed` or `interrupted`.
    pub status: String,
    /// Who started it.
    pub created_by: String,
    /// Devices in all.
    pub total: i64,
    /// Devices finished.
    pub done: i64,
    /// Each finished device's outcome.
    pub outcomes: Vec<DeviceOutcome>,
    /// Started at.
    pub created_at: DateTime<Utc>,
    /// Last progress.
    pub updated_at: DateTime<Utc>,
}

pub(super) fn outcomes_of(job: &JobRow) -> Vec<DeviceOutcome> {
    serde_json::from_str(&job.outcomes).unwrap_or_default()
}

/// The status a finished job ends in.
fn final_status(outcomes: &[DeviceOutcome]) -> &'static str {
    let ok = outcomes
        .iter()
        .filter(|o| o.status == "succeeded" || o.status == "skipped")
        .count();
    if ok == outcomes.len() {
        "succeeded"
    } else if ok == 0 {
        "failed"
    } else {
        "partial"
    }
}

impl DeviceKeyService {
    /// A new running job row.
    pub(super) fn new_job(
        &self,
        kind: &str,
        created_by: &str,
        total: usize,
        payload: String,
    ) -> JobRow {
        let now = self.clock.now();
        JobRow {
            id: uuid::Uuid::now_v7().to_string(),
            kind: kind.to_owned(),
            status: "running".to_owned(),
            created_by: created_by.to_owned(),
            node: self.node.clone(),
            total: i64::try_from(total).unwrap_or(i64::MAX),
            done: 0,
            payload,
            outcomes: "[]".to_owned(),
            created_at: now,
            updated_at: now,
        }
    }

    /// Stores one device's outcome (durably, before the next device starts).
    pub(super) async fn record_outcome(
        &self,
        job: &mut JobRow,
        outcome: DeviceOutcome,
    ) -> Result<(), DeviceKeyError> {
        let mut all = outcomes_of(job);
        all.retain(|o| o.asset_id != outcome.asset_id);
        all.push(outcome.clone());
        job.done = i64::try_from(all.len()).unwrap_or(i64::MAX);
        job.total = job.total.max(job.done);
        job.outcomes = serde_json::to_string(&all).unwrap_or_else(|_| "[]".to_owned());
        job.updated_at = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !tx.update_job(job).await? {
            return Err(DeviceKeyError::RegenerationRunning(format!(
                "job {} was taken over by another node",
                job.id
            )));
        }
        tx.append_audit(
            &crate::event(
                &job.created_by,
                &format!("{}.device", job.kind),
                ("asset", outcome.asset_id.as_str()),
                if outcome.status == "succeeded" || outcome.status == "skipped" {
                    tumbler_domain::audit::Outcome::Success
                } else {
                    tumbler_domain::audit::Outcome::Failure
                },
                &crate::RequestOrigin {
                    source: self.node.clone(),
                },
                format!(
                    "{} (job {}): {}: {}",
                    outcome.asset_name, job.id, outcome.status, outcome.message
                ),
            ),
            job.updated_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a job with the status its outcomes give.
    pub(super) fn finish_job(&self, job: &mut JobRow) {
        job.status = final_status(&outcomes_of(job)).to_owned();
        job.updated_at = self.clock.now();
    }

    /// Marks the running jobs that cannot resume (they held one-time passwords or uploaded
    /// keys in memory) as interrupted: this node's own at start, and at any time another
    /// node's that showed no progress for the stale limit (claimed first by compare-and-set).
    pub(super) async fn interrupt_stale_jobs(&self, at_start: bool) -> Result<(), DeviceKeyError> {
        let now = self.clock.now();
        for kind in ["modify_authentication", "resolve_key_conflict"] {
            for mut job in self.store.running_jobs(kind).await? {
                let own = job.node == self.node;
                let stale = now - job.updated_at > chrono::Duration::minutes(STALE_MINUTES);
                if !(own && at_start || !own && stale) {
                    continue;
                }
                let mut tx = self.store.begin().await?;
                if !own && !tx.claim_job(&job, &self.node, now).await? {
                    continue;
                }
                job.node = self.node.clone();
                job.status = "interrupted".to_owned();
                job.updated_at = now;
                tx.update_job(&job).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// A job, for anyone who may read assets.
    pub async fn job(
        &self,
        principal: &crate::Principal,
        id: &str,
    ) -> Result<JobView, DeviceKeyError> {
        require(principal, Permission::AssetsRead)?;
        let job = self
            .store
            .job(id)
            .await?
            .ok_or(DeviceKeyError::NotFound("job"))?;
        // Each caller sees only the outcomes of devices in its domains.
        let visible: Vec<String> = principal
            .visible_domains()
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut outcomes = outcomes_of(&job);
        outcomes.retain(|o| visible.contains(&o.domain_id));
        Ok(JobView {
            outcomes,
            id: job.id,
            kind: job.kind,
            status: job.status,
            created_by: job.created_by,
            total: job.total,
            done: job.done,
            created_at: job.created_at,
            updated_at: job.updated_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(status: &str) -> DeviceOutcome {
        DeviceOutcome {
            asset_id: AssetId::from_string(status.to_owned()),
            asset_name: String::new(),
            domain_id: String::new(),
            status: status.to_owned(),
            code: status.to_owned(),
            message: String::new(),
        }
    }

    #[test]
    fn a_job_is_partial_when_some_devices_failed() {
        assert_eq!(final_status(&[o("succeeded"), o("skipped")]), "succeeded");
        assert_eq!(final_status(&[o("succeeded"), o("unreachable")]), "partial");
        assert_eq!(final_status(&[o("failed")]), "failed");
        assert_eq!(final_status(&[]), "succeeded");
    }
}
