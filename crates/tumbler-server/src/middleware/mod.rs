//! Request-level concerns: who is calling, security headers, metrics.

pub mod auth;
pub mod client_cert;
pub mod headers;
