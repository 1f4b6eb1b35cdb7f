//! Change-secret tasks, their executions (runs) and records (one account in one run).
//!
//! The shapes are defined once in `tumbler-domain` (the store keeps records in them and the
//! services answer with them) and re-exported here under their API names.

pub use tumbler_domain::change_views::{ExecutionView, RecordRow, TaskSpec, TaskView};
