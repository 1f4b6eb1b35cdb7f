//! What the engine reports about finished runs to whoever watches (the server's metrics).

use std::time::Duration;
use tumbler_domain::change_secret::ExecutionStatus;

/// Told when an execution ends. Implementations must be cheap and must not block.
pub trait RunObserver: Send + Sync {
    /// An execution ended with `status` after running `duration` (by the engine's clock).
    fn execution_finished(&self, status: ExecutionStatus, duration: Duration);
}
