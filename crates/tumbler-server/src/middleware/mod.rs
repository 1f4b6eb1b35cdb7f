//! Request-level concerns: who is calling, security headers, metrics, panics.

pub mod auth;
pub mod catch_panic;
pub mod client_cert;
pub mod error_shape;
pub mod headers;
