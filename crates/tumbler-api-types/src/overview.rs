//! The change-secret overview (`GET /api/v1/change-secret/overview`): counts for the
//! dashboard, the latest runs, and the accounts that need a person (the attention list), each
//! with its reason and the action that fits. Defined once in `tumbler-domain`.

pub use tumbler_domain::change_secret::{AttentionKind, NextAction};
pub use tumbler_domain::change_summaries::{AttentionAccount, Overview};
