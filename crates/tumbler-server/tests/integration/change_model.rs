//! A model test of the change state machine: random interleavings of runs (stage, send,
//! verify, commit), crashes at each crash point, a reply lost after the change reached the
//! target, the target going down and up, restarts (recovery), and a person's retry, verify,
//! adopt and ignore, driven against the real engine on SQLite and a private Redis (through a
//! lossy proxy). After every step the store must hold a secret the target accepts (or, while
//! no process runs, have one staged), no account may stay `changing` without a live run, and
//! store and target must be what a small model of both says.
//!
//! CI runs a few cases (`CHANGE_MODEL_CASES`, default 16, of up to `CHANGE_MODEL_STEPS`
//! steps, default 10); `CHANGE_MODEL_CASES=200 CHANGE_MODEL_STEPS=25` is the long run. Crashes
//! in the middle of a person's retry are among the random steps, and
//! [`cases::a_crash_in_the_middle_of_a_retry_is_settled_at_restart`] pins the case down.

mod cases;
mod invariants;
mod ops;
mod process;
mod step;

use invariants::{check, Model};
use ops::{op, Op};
use process::{Process, World};
use proptest::prelude::*;
use step::step;

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `ops` in a fresh world, checking the invariants after each.
fn run_case(ops: &[Op]) {
    let world = World::new();
    let mut model = Model::new();
    let mut process = Some(Process::start(&world));
    check(&model, &world.observe(), "start");
    for (i, op) in ops.iter().enumerate() {
        step(&world, &mut process, &mut model, op);
        if let Some(p) = &process {
            p.wait_idle();
        }
        check(
            &model,
            &world.observe(),
            &format!("step {i} {op:?} of {ops:?}"),
        );
    }
    // The end of every case: a restart with the target up settles everything.
    world.proxy.set_down(false);
    model.target_up = true;
    step(&world, &mut process, &mut model, &Op::Restart);
    let seen = world.observe();
    check(&model, &seen, &format!("final restart of {ops:?}"));
    drop(process);
    world.finish();
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: env_number("CHANGE_MODEL_CASES", 16),
        max_shrink_iters: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random interleavings keep the store and the target in step and no account stuck.
    #[test]
    fn random_interleavings_keep_a_working_secret_and_no_account_stuck(
        ops in prop::collection::vec(op(), 1..=env_number("CHANGE_MODEL_STEPS", 10) as usize)
    ) {
        run_case(&ops);
    }
}
