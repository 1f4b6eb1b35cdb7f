//! tumbler-connectors: verify, change and push secrets on real targets.

pub mod ssh;
