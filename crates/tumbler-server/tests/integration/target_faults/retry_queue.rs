//! Retries queued against each other and the node: two retries of one record at once, retries
//! queued when their asset moves to another domain, a retry waiting for a change slot.

use super::super::change_secret::{account, admin, linux_asset, task};
use super::super::support::{error_code, ok, ok_as, typed};
use super::{
    account_row, all_log_in, app_password, changed_on_host, ended, fixture,
    hold_after_password_written, hook_reached, release_hook, retry_failed, run_to_end, server,
    shadows, start_run, sudo_asks_for_root_password, OPS,
};
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tumbler_api_types::change_secret::{ExecutionView, RecordRow};
use tumbler_api_types::Page;
use tumbler_domain::failure_code::FailureCode;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::sshd::{SshHost, TestUser};

/// Two retries of one record at once (two people, or a double click): one changes the
/// account, the other is refused with `retry_in_progress` before anything is sent.
#[tokio::test]
async fn two_retries_of_one_record_at_once_change_the_account_once() {
    let app = Arc::new(server(10, 2).await);
    let token = admin(&app).await;
    let (host, task_id, accounts) = fixture(&app, &token, 1).await;
    // The first run fails: sudo asks for a password Tumbler does not have.
    let rule = sudo_asks_for_root_password(&host);
    let (e, rs, _) = run_to_end(&app, &token, &task_id).await;
    assert_eq!(e.status.as_str(), "failed", "{e:?}");
    let record = rs[0].id.to_string();
    // Fixed; the retry's chpasswd is held on the host until the test lets it go.
    std::fs::remove_file(&rule).unwrap();
    hold_after_password_written(&host);
    let retry = |app: Arc<TestApp>, token: String, record: String| async move {
        super::super::support::call(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/change-secret/records/{record}/retry"),
            None,
        )
        .await
    };
    let first = tokio::spawn(retry(app.clone(), token.clone(), record.clone()));
    let second = tokio::spawn(retry(app.clone(), token.clone(), record.clone()));
    hook_reached(&host).await;
    // A third, once a retry is surely under way, and "Retry all failed" too.
    let (status, body) = retry(app.clone(), token.clone(), record.clone()).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (409, "retry_in_progress"),
        "{body}"
    );
    release_hook(&host);
    let mut answers = vec![first.await.unwrap(), second.await.unwrap()];
    answers.sort_by_key(|(status, _)| *status);
    assert_eq!(answers[0].0, 200, "{answers:?}");
    let settled: RecordRow = typed(answers[0].1.clone());
    assert_eq!(settled.status.as_str(), "success", "{answers:?}");
    assert_eq!(
        (answers[1].0, error_code(&answers[1].1).as_str()),
        (409, "retry_in_progress"),
        "{answers:?}"
    );
    assert_eq!(
        host.command_log()
            .lines()
            .filter(|l| l.trim_end().ends_with("]: chpasswd"))
            .count(),
        1,
        "one change on the host: {}",
        host.command_log()
    );
    // Version 2 was the refused run's new secret; the retry's fresh one is 3.
    assert_eq!(all_log_in(&app, &token, &accounts).await, vec![3]);
}

/// An asset moved to another domain while its "Retry all failed" queue is under way: the
/// retries still queued end `asset_moved` and send nothing.
#[tokio::test]
async fn retries_queued_when_their_asset_moves_to_another_domain_send_nothing() {
    let app = server(10, 2).await;
    let token = admin(&app).await;
    let (host, task_id, accounts) = fixture(&app, &token, 2).await;
    let rule = sudo_asks_for_root_password(&host);
    let (e, _, _) = run_to_end(&app, &token, &task_id).await;
    assert_eq!(e.status.as_str(), "failed", "{e:?}");
    std::fs::remove_file(&rule).unwrap();
    hold_after_password_written(&host);
    let before = shadows(&host, 2).await;
    let started = retry_failed(&app, &token, e.id.as_str()).await;
    assert_eq!(started.len(), 2, "{started:?}");
    // The first retry's chpasswd is held; the asset moves meanwhile.
    hook_reached(&host).await;
    ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Elsewhere"})),
        201,
    )
    .await;
    let asset = account_row(&app, &accounts[0]).await.asset_id;
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"domain": "Elsewhere"})),
        200,
    )
    .await;
    release_hook(&host);
    let mut ends = Vec::new();
    for id in &started {
        let (_, rs, _) = ended(&app, &token, id).await;
        ends.push(rs[0].clone());
    }
    let moved: Vec<&RecordRow> = ends
        .iter()
        .filter(|r| r.reason_code == Some(FailureCode::AssetMoved))
        .collect();
    assert_eq!(moved.len(), 1, "{ends:?}");
    assert_eq!(moved[0].status.as_str(), "failed", "{ends:?}");
    // Only the retry under way when the asset moved changed its account.
    assert_eq!(changed_on_host(&host, &before).await.len(), 1, "{ends:?}");
    assert_eq!(
        host.command_log()
            .lines()
            .filter(|l| l.trim_end().ends_with("]: chpasswd"))
            .count(),
        1,
        "{}",
        host.command_log()
    );
}

/// A retry holds one of the node's change slots as a run's asset does: with one slot, taken by
/// a run held on its host, a retry on another host waits and touches nothing until it is free.
#[tokio::test]
async fn a_retry_waits_for_a_change_slot_of_the_node() {
    let app = TestApp::spawn_configured(
        StoreKind::Sqlite,
        Arc::new(tumbler_domain::SystemClock),
        |c| {
            // Long enough for the held change not to time out while the test looks.
            c.change_secret.account_timeout_seconds = 30;
            c.change_secret.max_attempts = 2;
            c.change_secret.max_parallel_assets = 1;
        },
    )
    .await;
    let token = admin(&app).await;
    let busy = SshHost::start(&[
        TestUser::new("ops", OPS).with_sudo(),
        TestUser::new("app0", app_password(0)),
    ])
    .await
    .unwrap();
    let busy_asset = linux_asset(&app, &token, "busy", &busy).await;
    account(&app, &token, &busy_asset, "ops", OPS, true, json!({})).await;
    account(
        &app,
        &token,
        &busy_asset,
        "app0",
        &app_password(0),
        false,
        json!({}),
    )
    .await;
    let busy_task = task(
        &app,
        &token,
        json!({"name": "busy", "usernames": ["app0"], "asset_ids": [busy_asset],
               "secret_strategy": "random"}),
    )
    .await;
    // A failed record on a second host (sudo asked for a password Tumbler does not have).
    let (other, other_task, other_accounts) = fixture(&app, &token, 1).await;
    let rule = sudo_asks_for_root_password(&other);
    let (e, rs, _) = run_to_end(&app, &token, &other_task).await;
    assert_eq!(e.status.as_str(), "failed", "{e:?}");
    std::fs::remove_file(&rule).unwrap();
    let record = rs[0].id.to_string();
    // The only slot: a run held in chpasswd on the first host.
    hold_after_password_written(&busy);
    let run_id = start_run(&app, &token, &busy_task).await;
    hook_reached(&busy).await;
    let before = shadows(&other, 1).await;
    let sudo_runs = || other.command_log().matches("]: sudo -S").count();
    let sudo_before = sudo_runs();
    let retry = {
        let (url, token) = (
            app.url(&format!("/api/v1/change-secret/records/{record}/retry")),
            token.clone(),
        );
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    // The retry's run says it waits for a slot, having sent nothing.
    let deadline = Instant::now() + Duration::from_secs(60);
    let retry_run = loop {
        let page: Page<ExecutionView> = ok_as(
            &app,
            &token,
            Method::GET,
            "/api/v1/change-secret/executions?limit=50",
            None,
            200,
        )
        .await;
        let found = page
            .items
            .iter()
            .find(|e| e.trigger.as_str() == "retry")
            .map(|e| e.id.as_str().to_owned());
        if let Some(id) = found {
            // Read from the store: the log endpoint streams until the run ends.
            let lines = app
                .services
                .store
                .log_lines(
                    &tumbler_domain::ids::ExecutionId::from_string(id.clone()),
                    0,
                )
                .await
                .unwrap();
            if lines.iter().any(|l| {
                l.line
                    .contains("waiting for one of the node's change slots")
            }) {
                break id;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the retry did not wait for a slot"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        shadows(&other, 1).await,
        before,
        "nothing sent while waiting"
    );
    assert_eq!(sudo_runs(), sudo_before, "{}", other.command_log());
    release_hook(&busy);
    let (e, _, _) = ended(&app, &token, &run_id).await;
    assert_eq!(e.status.as_str(), "succeeded", "{e:?}");
    assert_eq!(retry.await.unwrap(), 200);
    let (e, rs, _) = ended(&app, &token, &retry_run).await;
    assert_eq!(e.status.as_str(), "succeeded", "{e:?} {rs:?}");
    assert_eq!(changed_on_host(&other, &before).await, vec![0]);
    assert_eq!(all_log_in(&app, &token, &other_accounts).await, vec![3]);
}
