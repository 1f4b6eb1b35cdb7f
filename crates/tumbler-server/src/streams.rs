//! Long-lived answers (the execution log stream) per user: a fixed number at once, so one
//! account (or a stolen session) cannot hold the server's connections and store polls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tumbler_domain::ids::UserId;

/// Streams one user may hold open at once.
pub const MAX_STREAMS_PER_USER: usize = 4;

/// Open streams per user.
#[derive(Debug, Default)]
pub struct StreamSlots {
    open: Mutex<HashMap<UserId, usize>>,
}

/// One open stream; the slot is given back when it drops (the stream ended or the client left).
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    user: UserId,
}

impl StreamSlots {
    /// Takes a slot for `user`, unless the user already holds [`MAX_STREAMS_PER_USER`].
    pub fn take(self: &Arc<Self>, user: &UserId) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(user.clone()).or_default();
        if *n >= MAX_STREAMS_PER_USER {
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            slots: Arc::clone(self),
            user: user.clone(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.user);
            }
        }
    }
}
