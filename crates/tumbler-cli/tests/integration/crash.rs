//! A server SIGKILLed mid-change: at each step of a change, and during a record retry.

use super::{activate, Api, Server};
use std::time::Duration;
use std::time::Instant;
use tumbler_api_types::change_secret::{ExecutionView, RecordRow, TaskView};
use tumbler_api_types::inventory::{AccountOut, AssetOut};
use tumbler_api_types::Page;
use tumbler_domain::change_secret::{ExecutionStatus, Trigger};
use tumbler_domain::failure_code::FailureCode;

/// A host with a sudo account and `apps` app accounts, registered on the server with a task
/// rotating the app accounts; returns the host, the task id and the app accounts' ids.
async fn crash_fixture(
    server: &Server,
    api: &Api,
    apps: usize,
) -> (tumbler_testkit::sshd::SshHost, String, Vec<String>) {
    use tumbler_testkit::sshd::{SshHost, TestUser};
    let mut users = vec![TestUser::new("ops", "canary-Ops-Crash-7a").with_sudo()];
    for i in 0..apps {
        users.push(TestUser::new(
            format!("app{i}"),
            format!("canary-App-Crash-{i}"),
        ));
    }
    let host = SshHost::start(&users).await.unwrap();
    let post = reqwest::Method::POST;
    let asset: AssetOut = api
        .json(
            server,
            post.clone(),
            "/api/v1/assets",
            Some(
                serde_json::json!({"name": "crashy", "address": host.address(),
                "port": host.port(), "platform": "linux",
                "host_key_fingerprint": host.host_key_fingerprint()}),
            ),
        )
        .await;
    let asset_id = asset.id;
    let mut app_ids = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let a: AccountOut = api
            .json(
                server,
                post.clone(),
                "/api/v1/accounts",
                Some(serde_json::json!({"asset_id": asset_id, "username": u.name,
                    "secret": u.password, "privileged": i == 0})),
            )
            .await;
        if i > 0 {
            app_ids.push(a.id);
        }
    }
    let usernames: Vec<String> = users.iter().skip(1).map(|u| u.name.clone()).collect();
    let task: TaskView = api
        .json(
            server,
            post,
            "/api/v1/change-secret/tasks",
            Some(serde_json::json!({"name": "crash", "usernames": usernames,
                "asset_ids": [asset_id], "secret_strategy": "random"})),
        )
        .await;
    (host, task.id.as_str().to_owned(), app_ids)
}

#[tokio::test]
async fn a_server_killed_at_each_step_of_a_change_recovers_the_working_password() {
    // (crash point, the secret version each account has after recovery)
    for (point, expected) in [
        ("before_escrow_append", 1),
        ("after_escrow_append", 1),
        ("after_stage", 1),
        ("after_change", 2),
        ("after_verify", 2),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let server = Server::start(&data, &[("CHANGE_ENGINE_CRASH_POINT", point)]);
        let api = Api {
            password: activate(&server).await,
        };
        let (_host, task_id, accounts) = crash_fixture(&server, &api, 1).await;
        let execution = api.execute(&server, &task_id).await;
        server.wait_for_crash(point).await;
        let server = Server::start(&data, &[]);
        assert_eq!(
            api.ended(&server, &execution).await,
            "interrupted",
            "{point}"
        );
        let versions = api.all_verify(&server, &accounts, point).await;
        assert_eq!(versions, vec![expected], "{point}");
        let log = api.log(&server, &execution).await;
        if point.contains("escrow") {
            // Killed before the stage committed: nothing was staged or sent.
            assert!(
                log.contains("finished: interrupted") && !log.contains("recovery found"),
                "{point}: {log}"
            );
        } else {
            assert!(log.contains("recovery found"), "{point}: {log}");
        }
        server.stop();
    }
}

/// A server SIGKILLed during a record retry, after the target took the retry's new password:
/// the next start settles the staged account before `/readyz` says ready (and says how many
/// it settled), and the stored secret logs in.
#[tokio::test]
async fn a_server_killed_during_a_retry_settles_the_account_before_it_is_ready() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let api = Api {
        password: activate(&server).await,
    };
    let (mut host, task_id, accounts) = crash_fixture(&server, &api, 1).await;
    // The first run fails: the host is down.
    host.kill();
    let execution = api.execute(&server, &task_id).await;
    assert_eq!(api.ended(&server, &execution).await, "failed");
    let records: Page<RecordRow> = api
        .json(
            &server,
            reqwest::Method::GET,
            &format!("/api/v1/change-secret/records?execution_id={execution}"),
            None,
        )
        .await;
    let record = records.items[0].clone();
    assert_eq!(
        record.reason_code,
        Some(FailureCode::Unreachable),
        "{record:?}"
    );
    host.start_again().await.unwrap();
    server.stop();

    // The retry dies right after the target took its new password.
    let server = Server::start(
        &data,
        &[("CHANGE_ENGINE_CRASH_POINT", "retry_after_change")],
    );
    let retry = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/change-secret/records/{}/retry",
            server.url, record.id
        ))
        .basic_auth("admin", Some(&api.password))
        .send();
    // The answer never comes: the server dies mid-request.
    let _ = retry.await;
    server.wait_for_crash("retry_after_change").await;

    let server = Server::start(&data, &[]);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ready = reqwest::get(format!("{}/readyz", server.url))
            .await
            .unwrap();
        if ready.status() == 200 {
            break;
        }
        assert_eq!(ready.status(), 503);
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Ready means settled: nothing is left changing, before anyone verifies.
    let account: AccountOut = api
        .json(
            &server,
            reqwest::Method::GET,
            &format!("/api/v1/accounts/{}", accounts[0]),
            None,
        )
        .await;
    assert_eq!(account.status, "ok", "{account:?}");
    assert_eq!(account.secret_version, 2, "the retry's secret: {account:?}");
    let log = server.stderr.lock().unwrap().clone();
    assert!(
        log.contains("recovery at start: 1 interrupted run(s) ended, 1 staged account(s) settled"),
        "{log}"
    );
    let versions = api
        .all_verify(&server, &accounts, "after the retry crash")
        .await;
    assert_eq!(versions, vec![2]);
    // The retry run ended interrupted, and it completed the first run.
    let runs: Page<ExecutionView> = api
        .json(
            &server,
            reqwest::Method::GET,
            "/api/v1/change-secret/executions",
            None,
        )
        .await;
    let retry_run = runs
        .items
        .into_iter()
        .find(|e| e.trigger == Trigger::Retry)
        .unwrap();
    assert_eq!(
        retry_run.status,
        ExecutionStatus::Interrupted,
        "{retry_run:?}"
    );
    assert_eq!(
        retry_run.retry_of_execution_id.as_ref().map(|e| e.as_str()),
        Some(execution.as_str())
    );
    assert_eq!(api.ended(&server, &execution).await, "succeeded");
    server.stop();
}
