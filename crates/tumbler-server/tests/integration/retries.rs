//! Retries on real sshd hosts: a retry of any failed record (privileged login failed, host
//! key not verified, unreachable) is a run of its own linked to the record it retries, and
//! works once the cause is fixed; "Retry all failed"; the run's status and counts are
//! recomputed; the overview lists each account that needs a person once, with the action that
//! fits; a verify of a `changing` account is refused; and recovery's sweep settles an account
//! a dropped retry left staged. Webhooks get a retry's run.

mod causes;
mod pending_secret;
mod refused;
mod staged;

use super::change_secret::{account, linux_asset, task, APP_PASSWORD, OPS_PASSWORD};
use super::support::ok;
use reqwest::Method;
use serde_json::{json, Value};
use tumbler_testkit::app::TestApp;
use tumbler_testkit::sshd::{SshHost, TestUser};

async fn overview(app: &TestApp, token: &str) -> Value {
    ok(
        app,
        token,
        Method::GET,
        "/api/v1/change-secret/overview",
        None,
        200,
    )
    .await
}

/// The overview's entry for `who` (`user@asset`), checking it is there once at most.
fn attention<'a>(overview: &'a Value, who: &str) -> Option<&'a Value> {
    let entries: Vec<&Value> = overview["failed_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            format!(
                "{}@{}",
                f["username"].as_str().unwrap(),
                f["asset_name"].as_str().unwrap()
            ) == who
        })
        .collect();
    assert!(
        entries.len() <= 1,
        "{who} is listed more than once: {overview}"
    );
    entries.first().copied()
}

/// A host with `ops` (sudo) and `app1`, registered as asset `name` with `ops_secret` stored
/// for `ops`, and a task `name` rotating `app1`.
struct OneApp {
    host: SshHost,
    asset: String,
    ops: String,
    app1: String,
    task_id: String,
}

async fn one_app(app: &TestApp, token: &str, name: &str, ops_secret: &str) -> OneApp {
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(app, token, name, &host).await;
    let ops = account(app, token, &asset, "ops", ops_secret, true, json!({})).await;
    let app1 = account(app, token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        app,
        token,
        json!({"name": name, "usernames": ["app1"], "asset_ids": [asset], "secret_strategy": "random"}),
    )
    .await;
    OneApp {
        host,
        asset,
        ops,
        app1,
        task_id,
    }
}
