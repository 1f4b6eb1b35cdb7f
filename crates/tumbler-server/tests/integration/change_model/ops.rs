//! The steps a model case is made of: where a run is crashed, and what happens next.

use proptest::prelude::*;

/// Where a run is crashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Point {
    /// The new secret is staged; nothing was sent.
    Staged,
    /// The target took the new secret.
    Changed,
    /// A login with the new secret worked; not committed.
    Verified,
}

impl Point {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Staged => "after_stage",
            Self::Changed => "after_change",
            Self::Verified => "after_verify",
        }
    }
}

/// One step.
#[derive(Debug, Clone)]
pub(super) enum Op {
    /// Runs the task: stage, send, verify, commit; crashed at `crash`; the reply to the change
    /// lost (the target carried it out) when `lose_reply`.
    Run {
        crash: Option<Point>,
        lose_reply: bool,
    },
    /// Runs the task and kills the process `micros` after it started: wherever that lands.
    RunKilledAfter { micros: u64 },
    /// Runs the task with the reply to the old password's removal lost (after the commit).
    RunLosingRemoval,
    /// Runs the task with the change command itself lost before the server (the engine sees
    /// the same as a lost reply).
    RunLosingCommand,
    /// Kills the process (if it runs) and starts a new one, which recovers.
    Restart,
    /// The same, but a person verifies the account (`POST /accounts/{id}/verify`) before
    /// recovery has run: the window right after a start.
    RestartVerifyFirst,
    /// A person verifies the account (a login with its current secret).
    AccountVerify,
    /// The target answers (`true`) or not.
    Target { up: bool },
    /// A person retries the `pick`-th newest record.
    Retry { pick: usize },
    /// A person retries it and the process crashes at `point` of the retry.
    RetryCrash { pick: usize, point: Point },
    /// A person verifies the `pick`-th newest record's new secret.
    Verify { pick: usize },
    /// A person adopts it (fresh TOTP code).
    Adopt { pick: usize },
    /// A person ignores it.
    Ignore { pick: usize },
}

fn point() -> impl Strategy<Value = Point> {
    prop_oneof![
        Just(Point::Staged),
        Just(Point::Changed),
        Just(Point::Verified)
    ]
}

/// The steps the model draws from.
pub(super) fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (prop::option::of(point()), prop::bool::weighted(0.3))
            .prop_map(|(crash, lose_reply)| Op::Run { crash, lose_reply }),
        2 => Just(Op::Restart),
        1 => Just(Op::RestartVerifyFirst),
        1 => Just(Op::RunLosingRemoval),
        2 => (0u64..30_000).prop_map(|micros| Op::RunKilledAfter { micros }),
        1 => Just(Op::RunLosingCommand),
        1 => Just(Op::AccountVerify),
        1 => any::<bool>().prop_map(|up| Op::Target { up }),
        1 => (0usize..4).prop_map(|pick| Op::Retry { pick }),
        1 => (0usize..4).prop_map(|pick| Op::Verify { pick }),
        1 => (0usize..4).prop_map(|pick| Op::Adopt { pick }),
        1 => (0usize..4).prop_map(|pick| Op::Ignore { pick }),
        1 => ((0usize..4), point()).prop_map(|(pick, point)| Op::RetryCrash { pick, point }),
    ]
}
