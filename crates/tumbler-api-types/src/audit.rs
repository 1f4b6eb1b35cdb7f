//! The audit log (`GET /api/v1/audit`, a page of events, newest first) and its chain check
//! (`GET /api/v1/audit/verify`). Defined once in `tumbler-domain`.

pub use tumbler_domain::audit::{AuditEvent, ChainReport, Outcome};
