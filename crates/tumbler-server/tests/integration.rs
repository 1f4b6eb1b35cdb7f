//! The server's integration tests: the real server on port 0 against real SQLite files and a
//! real PostgreSQL, driven over HTTP and, for the console, in headless Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod integration {
    pub mod api;
    pub mod asset_contact;
    pub mod audit;
    pub mod audit_export;
    pub mod auth;
    pub mod boundaries;
    pub mod browser;
    pub mod certificate_console;
    pub mod certificate_paste;
    pub mod certificates;
    pub mod change_databases;
    pub mod change_model;
    pub mod change_paths;
    pub mod change_secret;
    pub mod change_tasks;
    pub mod confirm_deletes;
    pub mod console_router;
    pub mod credentials;
    pub mod custody;
    pub mod device_keys;
    pub mod domains;
    pub mod fuzz_import;
    pub mod hostile_target;
    pub mod hostile_values;
    pub mod inventory;
    pub mod key_admin;
    pub mod key_conflict_stored;
    pub mod log_stream;
    pub mod lossy_proxy;
    pub mod mail;
    pub mod metrics;
    pub mod openapi_contract;
    pub mod openapi_snapshot;
    pub mod parser_limits;
    pub mod policy;
    pub mod reconcile;
    pub mod retries;
    pub mod schemathesis;
    pub mod secure_mode_off;
    pub mod ssh_methods;
    pub mod stolen;
    pub mod support;
    pub mod target_faults;
    pub mod tls;
    pub mod totp;
    pub mod transfer;
    pub mod user_reset;
    pub mod users;
    pub mod vault;
    pub mod webhooks;
}
