//! tumbler-testkit: test-only infrastructure that runs the real thing on this
//! machine, never a stand-in where the real one can run: Tumbler itself on port
//! 0 (`app`), real OpenSSH test hosts (`sshd`), throwaway databases for
//! Tumbler's own store, a private password-checking PostgreSQL cluster,
//! throwaway MariaDB users, a private Redis, an SMTP sink, a headless browser,
//! and capture of everything the code under test logs.
//!
//! Every spawned process dies with the test: it is killed on `Drop`, and when
//! the test process itself dies (`setpriv --pdeathsig KILL`; as root also a
//! PID namespace via `unshare --pid --fork --kill-child`, which takes down
//! everything the process started).

// test-only crate: setup failures panic with a message
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod app;
pub mod browser;
pub mod browser_checks;
pub mod logs;
pub mod mariadb;
pub mod pg_cluster;
pub mod ports;
pub mod postgres_store;
pub mod redis;
pub mod smtp;
pub mod sshd;
mod util;
