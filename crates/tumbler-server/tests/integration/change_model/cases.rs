//! Cases the model found or that pin a crash down, run as fixed steps.

use super::ops::{Op, Point};
use super::run_case;

/// Found by the model: Redis carried `ACL SETUSER` out but the reply was lost; the connector
/// called it a protocol error and the engine "target refused" (not changed), leaving the new
/// password working on the target beside the old one, then sent the removal on the dead
/// session. A lost reply is now ambiguous: the engine logs in, commits, and removes the old
/// password on a fresh session.
#[test]
fn lost_reply_to_the_change_is_settled_by_login_and_committed() {
    run_case(&[Op::Run {
        crash: None,
        lose_reply: true,
    }]);
}

/// Found by the model: a lost reply right after a run staged (and so, on the same session, the
/// next account of the asset) must not break later changes.
#[test]
fn lost_reply_then_crash_after_change_then_restart() {
    run_case(&[
        Op::Run {
            crash: None,
            lose_reply: true,
        },
        Op::Run {
            crash: Some(Point::Changed),
            lose_reply: false,
        },
        Op::Restart,
        Op::Run {
            crash: None,
            lose_reply: false,
        },
    ]);
}

/// A crash after the change with the target down at restart leaves the account staged for a
/// person (unverified); verify, then adopt with a fresh code, commits it.
#[test]
fn unverified_after_restart_is_verified_then_adopted() {
    run_case(&[
        Op::Run {
            crash: Some(Point::Verified),
            lose_reply: false,
        },
        Op::Target { up: false },
        Op::Restart,
        Op::Target { up: true },
        Op::Verify { pick: 0 },
        Op::Adopt { pick: 0 },
    ]);
}

/// A person verifies the account right after a restart, before recovery settled the change a
/// crash left staged (the target holds both passwords): the verify changes no stored secret,
/// and recovery then commits the new one.
#[test]
fn verify_before_recovery_leaves_the_change_to_recovery() {
    run_case(&[
        Op::Run {
            crash: Some(Point::Changed),
            lose_reply: false,
        },
        Op::RestartVerifyFirst,
        Op::AccountVerify,
    ]);
}

/// The reply to the old password's removal is lost: the old password must not stay valid on
/// the target.
#[test]
fn lost_reply_to_the_removal_leaves_only_the_new_password() {
    run_case(&[Op::RunLosingRemoval, Op::RunLosingRemoval]);
}

/// The change command is lost before the server: the engine cannot tell this from a lost
/// reply, logs in, finds the old password working and keeps it (nothing staged stays).
#[test]
fn lost_change_command_keeps_the_old_password() {
    run_case(&[
        Op::RunLosingCommand,
        Op::Run {
            crash: None,
            lose_reply: false,
        },
    ]);
}

/// Kills at several moments of a run (before, during and after the change), each settled by
/// the restart.
#[test]
fn killed_at_several_moments_of_a_run_is_settled_at_restart() {
    let mut ops = Vec::new();
    for micros in [0, 5_000, 8_000, 10_000, 12_000, 15_000, 30_000] {
        ops.push(Op::RunKilledAfter { micros });
        ops.push(Op::Restart);
    }
    run_case(&ops);
}

/// A crash before anything was sent, then a person's ignore and retry.
#[test]
fn crash_after_stage_then_ignore_then_retry() {
    run_case(&[
        Op::Run {
            crash: Some(Point::Staged),
            lose_reply: false,
        },
        Op::Restart,
        Op::Ignore { pick: 0 },
        Op::Retry { pick: 0 },
    ]);
}

/// A crash in the middle of a person's retry used to leave the account `changing` and the
/// record `pending` for ever (recovery only looked at unfinished executions, and the retried
/// one had ended); a retry is now a run of its own that owns its stage, and recovery sweeps
/// every staged account without a live owner.
#[test]
fn a_crash_in_the_middle_of_a_retry_is_settled_at_restart() {
    for point in [Point::Staged, Point::Changed] {
        run_case(&[
            Op::Run {
                crash: Some(Point::Staged),
                lose_reply: false,
            },
            Op::Restart,
            Op::RetryCrash { pick: 0, point },
            Op::Restart,
        ]);
    }
}
