//! tumbler-connectors: verify, change and push secrets on real targets.

pub mod database;
pub mod ssh;
