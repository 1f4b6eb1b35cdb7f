//! The shapes of small JSON answers, from `tumbler-api-types` (re-exported here).

pub use tumbler_api_types::answers::{
    ExecutionStarted, ExportedKey, JobStarted, RevealedRecordSecrets, RevealedSecret,
};
