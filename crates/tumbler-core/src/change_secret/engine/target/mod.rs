//! Talking to one asset during a change: opening the session used to change its accounts
//! (the privileged account's, reused for every account of the asset), changing one account's
//! password on it, and logging in as an account to prove a secret works (no shell opened).

mod changer;
mod failure;
mod on_target;
mod session;

pub(in crate::change_secret) use changer::{Changer, Method};
pub(in crate::change_secret) use failure::{Failure, Login};
pub(in crate::change_secret) use session::{close, connection_lost, ChangeSession};
