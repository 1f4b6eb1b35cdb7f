//! The escrow journal.
//!
//! A backup of the store knows only the secrets it held when it was taken; every rotation since
//! lives on the targets alone. Before a new secret is sent to a target, the change engine
//! appends it here, sealed under the master key with its account, version and time as
//! associated data, in a file outside the database, and fsyncs it. After a restore, replaying
//! the entries newer than the backup rolls every account forward.
//!
//! Entries are JSON lines in numbered segment files (`escrow-00000001.journal`), appended only,
//! rotated by size, removed only by [`EscrowJournal::compact`]. A line cut short by a crash
//! during the append, or one that fails to open (altered, or moved to another account), is
//! reported by [`scan`] and never applied.

mod entry;
mod error;
mod journal;
mod scan;

pub use entry::{EntryKind, EscrowEntry, OpenedEntry};
pub use error::EscrowError;
pub use journal::{EscrowJournal, JournalSettings};
pub use scan::{scan, Damage, JournalScan, ScannedEntry};
