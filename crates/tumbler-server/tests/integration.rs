//! The server's integration tests: the real server on port 0 against real SQLite files and a
//! real PostgreSQL, driven over HTTP and, for the console, in headless Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod integration {
    pub mod api;
    pub mod audit;
    pub mod auth;
    pub mod browser;
    pub mod certificates;
    pub mod change_secret;
    pub mod custody;
    pub mod device_keys;
    pub mod domains;
    pub mod fuzz_import;
    pub mod inventory;
    pub mod mail;
    pub mod parser_limits;
    pub mod policy;
    pub mod ssh_methods;
    pub mod support;
    pub mod tls;
    pub mod totp;
    pub mod transfer;
    pub mod users;
    pub mod vault;
    pub mod webhooks;
}
