//! One step of a model case, carried out on the world and on the model.

use super::invariants::Model;
use super::ops::{Op, Point};
use super::process::{origin, Process, World};
use tumbler_core::change_secret::{CrashHold, RecordAction};
use tumbler_domain::change_secret::RecordStatus;

/// What the proxy looks for in `ACL SETUSER user #<hash>` (adding the new password).
const ADD_RULE: &[u8] = b"SETUSER\r\n$9\r\ncache_app\r\n$65\r\n#";
/// What it looks for in `ACL SETUSER user !<hash>` (removing the old one).
const REMOVE_RULE: &[u8] = b"SETUSER\r\n$9\r\ncache_app\r\n$65\r\n!";

/// The record `pick` places from the newest.
fn pick_record(
    records: &[tumbler_store::RecordRow],
    pick: usize,
) -> Option<&tumbler_store::RecordRow> {
    if records.is_empty() {
        None
    } else {
        records.get(records.len() - 1 - pick % records.len())
    }
}

/// A record action by the process's engine, as the API would ask it.
fn record_action(
    world: &World,
    p: &Process,
    id: &tumbler_domain::ids::RecordId,
    action: RecordAction,
    totp: Option<&str>,
) -> Result<tumbler_store::RecordRow, tumbler_core::change_secret::ChangeSecretError> {
    let engine = p.engine(world, None);
    p.block_on(engine.record_action(&p.principal, id, action, totp, &origin()))
}

/// Runs the task once with a proxy fault armed (`arm(true)`, then `arm(false)`); when a change
/// was due (nothing pending, the target up), asserts that the fault fired and returns true.
fn run_with_fault(
    world: &World,
    p: &Process,
    model: &Model,
    op: &Op,
    fault: &str,
    arm: impl Fn(bool),
) -> bool {
    let dropped = world.proxy.dropped();
    arm(true);
    let engine = p.engine(world, None);
    let id = p.execute(&engine, world);
    assert!(p.wait_run(&id, None), "{op:?}: the run ended");
    arm(false);
    let due = model.pending.is_none() && model.target_up;
    if due {
        assert_eq!(world.proxy.dropped(), dropped + 1, "{op:?}: {fault}");
    }
    due
}

pub(super) fn step(world: &World, process: &mut Option<Process>, model: &mut Model, op: &Op) {
    let before = world.observe();
    match op {
        Op::Target { up } => {
            world.proxy.set_down(!up);
            model.target_up = *up;
        }
        Op::Restart | Op::RestartVerifyFirst => {
            if let Some(p) = process.take() {
                p.crash();
            }
            let p = Process::start(world);
            if matches!(op, Op::RestartVerifyFirst) {
                account_verify(world, &p, model, op);
            }
            p.recover(world);
            if let (Some(v), true) = (model.pending, model.staged_by_dead_run) {
                // Recovery logs in with pending, then current.
                if model.target_up {
                    if model.accepted.contains(&v) {
                        model.commit(v, true);
                    } else {
                        model.pending = None;
                    }
                }
                // Unreachable: it stays staged for a person (unverified).
                model.staged_by_dead_run = false;
            }
            model.alive = true;
            *process = Some(p);
        }
        Op::Run { crash, lose_reply } => {
            let Some(p) = process.as_ref() else { return };
            let hold = crash.map(|c| CrashHold::new(c.name()));
            if *lose_reply {
                world.proxy.lose_reply_to(Some(ADD_RULE));
            }
            let dropped = world.proxy.dropped();
            let engine = p.engine(world, hold.as_ref());
            let id = p.execute(&engine, world);
            let ended = p.wait_run(&id, hold.as_ref());
            world.proxy.lose_reply_to(None);
            if model.pending.is_some() || !model.target_up {
                // Another change holds the account, or the target cannot be reached:
                // nothing is staged, nothing sent.
                assert!(
                    ended,
                    "{op:?}: the run parked though nothing could be staged"
                );
                return;
            }
            let v = before.account.next_version;
            let crashed = match (crash, lose_reply) {
                (Some(Point::Staged), _) => {
                    model.pending = Some(v);
                    true
                }
                (_, true) => {
                    // The target took it, the reply was lost: the engine finds out by login.
                    assert_eq!(
                        world.proxy.dropped(),
                        dropped + 1,
                        "{op:?}: a reply was lost"
                    );
                    model.accepted.insert(v);
                    model.commit(v, true);
                    false
                }
                (Some(_), false) => {
                    model.accepted.insert(v);
                    model.pending = Some(v);
                    true
                }
                (None, false) => {
                    model.accepted.insert(v);
                    model.commit(v, true);
                    false
                }
            };
            assert_eq!(ended, !crashed, "{op:?}");
            if crashed {
                model.staged_by_dead_run = true;
                model.alive = false;
                if let Some(p) = process.take() {
                    p.crash();
                }
            }
        }
        Op::RunLosingRemoval => {
            let Some(p) = process.as_ref() else { return };
            let lost = run_with_fault(world, p, model, op, "a reply was lost", |armed| {
                world.proxy.lose_reply_to(armed.then_some(REMOVE_RULE))
            });
            if lost {
                let v = before.account.next_version;
                model.accepted.insert(v);
                // The removal was carried out though its reply was lost.
                model.commit(v, true);
            }
        }
        Op::RunKilledAfter { micros } => {
            let Some(p) = process.take() else { return };
            let engine = p.engine(world, None);
            p.execute(&engine, world);
            // The random moment of the kill (not a wait for anything).
            std::thread::sleep(std::time::Duration::from_micros(*micros));
            p.crash();
            model.alive = false;
            // Where it landed is not known: the store and the target must be one of the
            // states a change passes through, which the restart then settles.
            let seen = world.observe();
            let a = &seen.account;
            let v = before.account.next_version;
            let old = model.current;
            let allowed: std::collections::BTreeSet<i64> =
                model.accepted.iter().copied().chain([v]).collect();
            assert!(
                seen.accepted.is_subset(&allowed),
                "{op:?}: the target took a secret no change sent: {:?}",
                seen.accepted
            );
            match (a.current_version, a.pending_version) {
                (c, None) if c == old => {}
                (c, None) if c == v => model.commit(v, false),
                (c, Some(p)) if c == old && p == v && model.pending.is_none() => {
                    model.pending = Some(v);
                    model.staged_by_dead_run = true;
                }
                (c, p) if c == old && p == model.pending => {}
                other => panic!("{op:?}: the store is in no state of a change: {other:?}"),
            }
            // The target: as it was, with the new one added, or with the old one removed.
            model.accepted = seen.accepted.clone();
        }
        Op::RunLosingCommand => {
            let Some(p) = process.as_ref() else { return };
            // When the command was lost, the login finds the old password still working: not
            // changed, nothing staged.
            run_with_fault(world, p, model, op, "a command was lost", |armed| {
                world.proxy.lose_command(armed.then_some(ADD_RULE))
            });
        }
        Op::AccountVerify => {
            if let Some(p) = process.as_ref() {
                account_verify(world, p, model, op);
            }
        }
        Op::Verify { pick } => {
            let (Some(p), Some(r)) = (process.as_ref(), pick_record(&before.records, *pick)) else {
                return;
            };
            let result = record_action(world, p, &r.id, RecordAction::Verify, None);
            match r.new_version {
                None => assert!(result.is_err(), "{op:?}: verify without a new secret"),
                Some(v) => {
                    let r = result.expect("verify");
                    assert_eq!(
                        r.new_secret_verified_at.is_some(),
                        model.target_up && model.accepted.contains(&v),
                        "{op:?}: verify says what the target does"
                    );
                }
            }
        }
        Op::Adopt { pick } => {
            let (Some(p), Some(r)) = (process.as_ref(), pick_record(&before.records, *pick)) else {
                return;
            };
            let code = world.fresh_code();
            let result = record_action(world, p, &r.id, RecordAction::Adopt, Some(&code));
            let a = &before.account;
            let eligible = r.new_secret_verified_at.is_some()
                && r.new_version.is_some()
                && a.pending_version == r.new_version
                && r.old_version == Some(a.current_version);
            match (eligible, r.new_version) {
                (true, Some(v)) => {
                    result.expect("adopt of a verified staged secret");
                    let up = model.target_up;
                    model.commit(v, up);
                }
                _ => assert!(result.is_err(), "{op:?}: adopt refused"),
            }
        }
        Op::Ignore { pick } => {
            let (Some(p), Some(r)) = (process.as_ref(), pick_record(&before.records, *pick)) else {
                return;
            };
            let result = record_action(world, p, &r.id, RecordAction::Ignore, None);
            let staged_here =
                r.new_version.is_some() && before.account.pending_version == r.new_version;
            if matches!(r.status, RecordStatus::Success | RecordStatus::Pending) {
                assert!(result.is_err(), "{op:?}: a done record is not ignored");
            } else if staged_here {
                let v = r.new_version.unwrap_or_default();
                if !model.target_up {
                    assert!(result.is_err(), "{op:?}: nothing proved, nothing dropped");
                } else {
                    result.expect("ignore of a staged record");
                    if model.accepted.contains(&v) {
                        model.commit(v, true);
                    } else {
                        model.pending = None;
                    }
                }
            } else {
                result.expect("ignore");
            }
        }
        Op::Retry { pick } => {
            let (Some(p), Some(r)) = (process.as_ref(), pick_record(&before.records, *pick)) else {
                return;
            };
            let result = record_action(world, p, &r.id, RecordAction::Retry, None);
            p.wait_idle();
            if matches!(r.status, RecordStatus::Success | RecordStatus::Pending) {
                assert!(result.is_err(), "{op:?}: only a failed record is retried");
                return;
            }
            if !model.target_up || result.is_err() {
                // Nothing can be sent, or the retry was refused: nothing changes.
                return;
            }
            // Either the retried secret (or a fresh one) is committed, or nothing changed;
            // either way nothing stays staged.
            let after = world.observe();
            let current = after.account.current_version;
            if current != model.current {
                assert!(
                    Some(current) == r.new_version || current >= before.account.next_version,
                    "{op:?}: the retry committed a version it did not stage: {:?}",
                    after.account
                );
                model.accepted = std::collections::BTreeSet::from([current]);
                model.commit(current, false);
            }
            model.pending = None;
        }
        Op::RetryCrash { pick, point } => {
            let (Some(p), Some(r)) = (process.as_ref(), pick_record(&before.records, *pick)) else {
                return;
            };
            let hold = CrashHold::new(point.name());
            let engine = p.engine(world, Some(&hold));
            let (principal, id) = (p.principal.clone(), r.id.clone());
            let work = p.spawn(async move {
                let _ = engine
                    .record_action(&principal, &id, RecordAction::Retry, None, &origin())
                    .await;
            });
            if !p.wait_parked_or(&hold, &work) {
                // The retry was refused or ended without reaching the point.
                return p.wait_idle();
            }
            if let Some(p) = process.take() {
                p.crash();
            }
            let after = world.observe();
            let staged = after
                .account
                .pending_version
                .expect("the retry staged a version");
            model.pending = Some(staged);
            if *point != Point::Staged {
                model.accepted.insert(staged);
            }
            model.staged_by_dead_run = true;
            model.alive = false;
        }
    }
}

/// A person's verify of the account: a login with the stored current secret that changes no
/// stored secret. While a change holds the account (`changing`) it is refused with
/// `account_changing` or settles the account as recovery would; either way the model's
/// versions stand (recovery, which follows, decides). With a new secret staged for a person
/// (`needs_attention`, pending set) it is refused with `account_staged`.
fn account_verify(world: &World, p: &Process, model: &Model, op: &Op) {
    let before = world.observe();
    let result = p.block_on(
        p.inventory()
            .verify_account(&p.principal, &world.account, &origin()),
    );
    let changing = before.account.status == tumbler_domain::inventory::AccountStatus::Changing;
    let staged = !changing && before.account.pending_version.is_some();
    match result {
        Err(e) => assert!(
            (changing && e.code() == "account_changing")
                || (staged && e.code() == "account_staged"),
            "{op:?}: the verify failed: {} ({e})",
            e.code()
        ),
        Ok(_) if staged => panic!("{op:?}: a staged account was verified with its current secret"),
        Ok(outcome) if !changing => {
            let works = model.target_up && model.accepted.contains(&model.current);
            assert_eq!(
                outcome.ok, works,
                "{op:?}: the verify says what the target does ({})",
                outcome.message
            );
        }
        Ok(_) => {}
    }
    if !changing {
        let after = world.observe();
        assert_eq!(
            (after.account.current_version, after.account.pending_version),
            (
                before.account.current_version,
                before.account.pending_version
            ),
            "{op:?}: a verify changed the stored secrets"
        );
    }
}
