//! Reconcile: what a bulk reconcile (`POST /api/v1/accounts/reconcile`) started and left
//! alone. A single account's reconcile answers with its
//! [`RecordRow`](crate::change_secret::RecordRow). Defined once in `tumbler-domain`.

pub use tumbler_domain::change_summaries::{ReconcileOutcome, SkippedReconcile, StartedReconcile};
