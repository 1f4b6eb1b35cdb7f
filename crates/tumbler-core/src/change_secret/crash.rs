//! Crash points for the crash tests: with the `crash-points` feature (enabled only by the CLI's
//! tests), the process kills itself with SIGKILL when it reaches the point named by the
//! `CHANGE_ENGINE_CRASH_POINT` environment variable. Without the feature they compile to
//! nothing.

/// Where a change can be interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CrashPoint {
    /// The new secret is staged and durable; the target is untouched.
    Staged,
    /// The target took the new secret; nothing more is stored.
    Changed,
    /// A login with the new secret worked; the commit has not happened.
    Verified,
    /// A retry's target took the new secret; nothing more is stored.
    RetryChanged,
}

#[cfg(feature = "crash-points")]
impl CrashPoint {
    fn name(self) -> &'static str {
        match self {
            Self::Staged => "after_stage",
            Self::Changed => "after_change",
            Self::Verified => "after_verify",
            Self::RetryChanged => "retry_after_change",
        }
    }
}

/// Dies like a power cut at `point` when asked to (test builds only).
#[cfg(feature = "crash-points")]
pub(super) fn crash_point(point: CrashPoint) {
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
pub(super) fn crash_point(_point: CrashPoint) {}
