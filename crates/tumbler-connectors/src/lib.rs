//! tumbler-connectors: verify, change and push secrets on real targets, and send mail.

pub mod database;
pub mod mail;
pub mod ssh;
pub mod webhook;
