//! Jobs as people see them, and their bookkeeping: one outcome per device, stored as each
//! device finishes, so a job's page shows progress and a restart knows what is done.

use super::{require, DeviceKeyError, DeviceKeyService};
use tumbler_domain::ids::JobId;
use tumbler_domain::job::{DeviceOutcome, JobKind, JobStatus};
use tumbler_domain::object::ObjectKind;
use tumbler_domain::permission::Permission;
use tumbler_store::JobRow;

pub use tumbler_domain::job::JobView;

/// Minutes without progress after which another node takes a job over.
pub(super) const STALE_MINUTES: i64 = 15;

impl DeviceKeyService {
    /// A new running job row.
    pub(super) fn new_job(
        &self,
        kind: JobKind,
        created_by: &str,
        total: usize,
        payload: serde_json::Value,
    ) -> JobRow {
        let now = self.clock.now();
        JobRow {
            id: JobId::generate(),
            kind,
            status: JobStatus::Running,
            created_by: created_by.to_owned(),
            node: self.node.clone(),
            total: i64::try_from(total).unwrap_or(i64::MAX),
            done: 0,
            payload,
            outcomes: Vec::new(),
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
        job.outcomes.retain(|o| o.asset_id != outcome.asset_id);
        job.outcomes.push(outcome.clone());
        job.done = i64::try_from(job.outcomes.len()).unwrap_or(i64::MAX);
        job.total = job.total.max(job.done);
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
                tumbler_domain::audit::AuditAction::job_device(job.kind),
                ("asset", outcome.asset_id.as_str()),
                if outcome.status.is_ok() {
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
        job.status = JobStatus::finished(&job.outcomes);
        job.updated_at = self.clock.now();
    }

    /// Marks the running jobs that cannot resume (they held one-time passwords or uploaded
    /// keys in memory) as interrupted: this node's own at start, and at any time another
    /// node's that showed no progress for the stale limit (claimed first by compare-and-set).
    pub(super) async fn interrupt_stale_jobs(&self, at_start: bool) -> Result<(), DeviceKeyError> {
        let now = self.clock.now();
        for kind in [JobKind::ModifyAuthentication, JobKind::ResolveKeyConflict] {
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
                job.status = JobStatus::Interrupted;
                job.updated_at = now;
                tx.update_job(&job).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// A page of jobs, newest first, with how many there are in all, for anyone who may read
    /// assets; each with only the outcomes of devices in the caller's domains (as
    /// [`DeviceKeyService::job`]).
    pub async fn jobs(
        &self,
        principal: &crate::Principal,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<JobView>, i64), DeviceKeyError> {
        require(principal, Permission::AssetsRead)?;
        let (rows, total) = self.store.jobs(limit, offset).await?;
        let visible: Vec<String> = principal
            .visible_domains()
            .iter()
            .map(ToString::to_string)
            .collect();
        let views = rows
            .into_iter()
            .map(|job| {
                let mut outcomes = job.outcomes;
                outcomes.retain(|o| visible.contains(&o.domain_id));
                JobView {
                    outcomes,
                    id: job.id,
                    kind: job.kind,
                    status: job.status,
                    created_by: job.created_by,
                    total: job.total,
                    done: job.done,
                    created_at: job.created_at,
                    updated_at: job.updated_at,
                }
            })
            .collect();
        Ok((views, total))
    }

    /// A job, for anyone who may read assets.
    pub async fn job(
        &self,
        principal: &crate::Principal,
        id: &JobId,
    ) -> Result<JobView, DeviceKeyError> {
        require(principal, Permission::AssetsRead)?;
        let job = self
            .store
            .job(id)
            .await?
            .ok_or(DeviceKeyError::NotFound(ObjectKind::Job))?;
        // Each caller sees only the outcomes of devices in its domains.
        let visible: Vec<String> = principal
            .visible_domains()
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut outcomes = job.outcomes;
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
