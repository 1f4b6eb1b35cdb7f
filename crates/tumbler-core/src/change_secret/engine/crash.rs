//! Crash points for the crash tests: with the `crash-points` feature (enabled only by tests),
//! the process kills itself with SIGKILL when it reaches the point named by the
//! `CHANGE_ENGINE_CRASH_POINT` environment variable, and an engine whose settings carry a
//! [`CrashHold`] parks there for ever, so an in-process test can drop the whole service (its
//! runtime) at that moment: a crash. Without the feature they compile to nothing.

/// Where a change can be interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::change_secret) enum CrashPoint {
    /// The new secret is about to be escrowed in the journal; nothing is committed yet.
    BeforeEscrow,
    /// The new secret is in the journal (fsynced); the stage is not committed yet.
    AfterEscrow,
    /// The new secret is staged and durable; the target is untouched.
    Staged,
    /// The target took the new secret; nothing more is stored.
    Changed,
    /// A login with the new secret worked; the commit has not happened.
    Verified,
    /// A retry's target took the new secret; nothing more is stored.
    RetryChanged,
}

/// Parks the engine at a named crash point (`after_stage`, `after_change`, `after_verify`), the
/// first time a change reaches it, and says so: the test then drops the service's runtime,
/// which is a crash at exactly that point (model and fault tests only).
#[cfg(feature = "crash-points")]
#[derive(Debug, Clone)]
pub struct CrashHold {
    point: String,
    reached: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

#[cfg(feature = "crash-points")]
impl CrashHold {
    /// A hold at the point named `point`.
    pub fn new(point: &str) -> Self {
        Self {
            point: point.to_owned(),
            reached: std::sync::Arc::default(),
        }
    }

    /// Whether a change reached the point and is parked there.
    pub fn reached(&self) -> bool {
        self.reached.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Parks for ever when `point` is the held one (once: later changes pass).
    pub(in crate::change_secret) async fn park(&self, point: CrashPoint) {
        if point.name() == self.point
            && !self.reached.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(feature = "crash-points")]
impl CrashPoint {
    fn name(self) -> &'static str {
        match self {
            Self::Staged => "after_stage",
            Self::BeforeEscrow => "before_escrow_append",
            Self::AfterEscrow => "after_escrow_append",
            Self::Changed => "after_change",
            Self::Verified => "after_verify",
            Self::RetryChanged => "retry_after_change",
        }
    }
}

/// Dies like a power cut at `point` when asked to (test builds only).
#[cfg(feature = "crash-points")]
pub(in crate::change_secret) fn crash_point(point: CrashPoint) {
    if std::env::var("CHANGE_ENGINE_CRASH_POINT").as_deref() == Ok(point.name()) {
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status();
        // Should the signal not have landed yet, no destructor runs either way.
        std::process::abort();
    }
}

/// Does nothing: crash points exist only in test builds.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub(in crate::change_secret) fn crash_point(_point: CrashPoint) {}
