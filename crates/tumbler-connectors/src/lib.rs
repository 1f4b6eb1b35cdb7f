//! Talking to the world outside Tumbler: verify, change and push secrets on targets over SSH
//! (`ssh`) and on PostgreSQL, MySQL/MariaDB and Redis (`database`), send mail over SMTP
//! (`mail`) and post signed webhook events (`webhook`).

pub mod database;
pub mod mail;
pub mod ssh;
pub mod webhook;
