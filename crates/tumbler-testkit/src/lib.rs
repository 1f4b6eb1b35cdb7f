//! Test-only kit: spawn Tumbler, real sshd hosts, throwaway databases, an SMTP sink, a browser.

// test-only crate: setup failures panic with a message
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod app;
pub mod browser;
pub mod logs;
pub mod ports;
pub mod postgres_store;
mod util;
