//! Tumbler's domain: ids, value types, vocabularies, policies and pure state machines (a
//! change's outcome, schedules, jobs). No IO happens here, and time comes in through a
//! [`Clock`].

pub mod audit;
pub mod audit_action;
mod blocklist;
pub mod change_outcome;
pub mod change_secret;
pub mod change_summaries;
pub mod change_views;
pub mod clock;
pub mod custom_ssh;
pub mod failure_code;
pub mod ids;
pub mod inventory;
pub mod job;
pub mod object;
pub mod paging;
pub mod password;
pub mod password_policy;
pub mod password_status;
pub mod permission;
pub mod platform;
pub mod schedule;
pub mod secret_owner;
pub mod ssh_key;
pub mod totp;
pub mod user;

pub use clock::{Clock, ManualClock, SystemClock};
