//! A password change task run from the console: the live log, reveal, retry.

use super::admin_logs_in;
use super::WAIT;
use std::time::Duration;
use tumbler_testkit::app::TestApp;

#[tokio::test]
async fn browser_runs_a_task_watches_the_log_reveals_and_retries() {
    use super::super::change_secret::{account, linux_asset};
    use super::super::support::{ok_as, Authenticator};
    use reqwest::Method;
    use serde_json::json;
    use std::sync::Arc;
    use tumbler_api_types::change_secret::ExecutionView;
    use tumbler_api_types::inventory::AccountOut;
    use tumbler_api_types::Page;
    use tumbler_domain::change_secret::{ExecutionStatus, Trigger};
    use tumbler_domain::ManualClock;
    use tumbler_testkit::app::StoreKind;
    use tumbler_testkit::sshd::{SshHost, TestUser};

    let ops = "canary-Browser-Ops-1a2";
    let old = "canary-Browser-Old-3b4";
    let host = SshHost::start(&[
        TestUser::new("ops", ops).with_sudo(),
        TestUser::new("app1", old),
    ])
    .await
    .unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;
    // Two assets on the host: on the second, the target has no user "ghost" (a failure).
    for (name, user) in [("web-a", "app1"), ("web-b", "ghost")] {
        let id = linux_asset(&app, &token, name, &host).await;
        for (username, secret, privileged) in [("ops", ops, true), (user, old, false)] {
            account(&app, &token, &id, username, secret, privileged, json!({})).await;
        }
    }

    let browser = admin_logs_in(&app, &authenticator).await;
    browser.click("#change-secret-link").await;
    browser
        .wait_for_text("h1", "Account Password Change", WAIT)
        .await;
    // A task for both assets, made in the form; the rules' example follows the rules.
    browser.click("#new-task").await;
    browser
        .wait_for_text("h1", "New password change task", WAIT)
        .await;
    browser.fill("#task-name", "nightly-web").await;
    browser.fill("#task-usernames", "app1, ghost").await;
    browser.click("input[data-label^=web-a]").await;
    browser.click("input[data-label^=web-b]").await;
    browser.find("#rule-length").await.clear().await.unwrap();
    browser.fill("#rule-length", "12").await;
    let deadline = std::time::Instant::now() + WAIT;
    while browser.text("#rule-example").await.chars().count() != 12 {
        assert!(
            std::time::Instant::now() < deadline,
            "the example did not follow the rules"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.fill("#task-cron", "0 3 * * *").await;
    browser.click("#save-task").await;
    browser
        .wait_for_text("#change-notice", "Task nightly-web saved.", WAIT)
        .await;
    // The next run is a time like every other, not raw RFC 3339.
    let next_run = browser
        .text("tr[data-task=nightly-web] .next-run time")
        .await;
    assert!(next_run.ends_with(" 03:00 UTC"), "{next_run}");
    browser.click("tr[data-task=nightly-web] .run-task").await;
    browser
        .wait_for_text("h1", "Run of nightly-web", WAIT)
        .await;
    // The log arrives live and ends with the run.
    let log = browser
        .wait_for_text(
            "#execution-log",
            "finished: partial",
            Duration::from_secs(120),
        )
        .await;
    assert!(log.contains("app1@web-a: verified and committed"), "{log}");
    let run_url = browser.current_url().await;
    // The page follows the run to its end without a reload: status, counts and records.
    browser.wait_for_text("#run-status", "partial", WAIT).await;
    browser.find("#run-fields[data-ended]").await;
    assert!(browser.text("#run-fields").await.contains("success"));
    browser
        .wait_for_text("tr[data-username=app1] .record-status", "success", WAIT)
        .await;
    // Its heading names it by task and start time, not by id.
    assert!(browser.text("h1").await.contains("nightly-web · "));
    assert!(browser
        .text("tr[data-username=ghost] .record-reason small.code")
        .await
        .starts_with("target_refused"));

    // Reveal the changed account's secrets with a fresh code: the new one logs in.
    browser.click("tr[data-username=app1] .open-reveal").await;
    browser
        .fill(
            "tr[data-username=app1] .reveal-totp",
            &authenticator.fresh_code(),
        )
        .await;
    browser
        .click("tr[data-username=app1] .confirm-reveal")
        .await;
    browser.wait_for_text("#revealed", "app1@web-a", WAIT).await;
    assert_eq!(browser.text("#revealed-0").await, old);
    let new = browser.text("#revealed-1").await;
    assert_ne!(new, old);
    assert_eq!(new.chars().count(), 12, "the task's rules made it");
    // The secrets came by a one-time link, not as the answer to the POST: a reload shows
    // them no more and says why.
    let revealed_url = browser.current_url().await;
    assert!(revealed_url.contains("?revealed="), "{revealed_url}");
    browser.goto(&revealed_url).await;
    browser
        .wait_for_text("#run-warning", "reveal again", WAIT)
        .await;
    assert!(!browser.text("main").await.contains(&new), "shown again");
    let page: Page<AccountOut> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/accounts?username=app1",
        None,
        200,
    )
    .await;
    let app1 = page.items[0].id.clone();
    let stored = app
        .services
        .vault
        .open_secret(tumbler_domain::secret_owner::SecretOwner::Account, &app1, 2)
        .await
        .unwrap();
    assert_eq!(
        new.as_bytes(),
        stored.as_slice(),
        "the revealed new secret is the stored one"
    );

    // Retry the failed one: a run of its own, which fails again for the same reason and
    // says so on its page ("retry of" the run).
    browser.click("tr[data-username=ghost] .record-retry").await;
    browser
        .wait_for_text(
            "#run-warning",
            "ghost@web-b: retry done; the record is failed",
            WAIT,
        )
        .await;
    let run_id = run_url.rsplit('/').next().unwrap().to_owned();
    let retry_of = browser.find("#run-retry-of a").await;
    assert_eq!(
        retry_of.attr("href").await.unwrap(),
        Some(format!("/change-secret/executions/{run_id}"))
    );
    assert!(browser
        .text("#run-retry-of")
        .await
        .contains("retry of nightly-web · "));

    // The overview counts them, in the table and the chart.
    browser.click("#change-secret-link").await;
    browser
        .wait_for_text("h1", "Account Password Change", WAIT)
        .await;
    assert_eq!(
        browser
            .text("#runs-table tr[data-trigger=manual] .run-success")
            .await,
        "1"
    );
    assert_eq!(
        browser
            .text("#runs-table tr[data-trigger=manual] .run-failed")
            .await,
        "1"
    );
    let bar = browser.find("#runs-chart .bar-success").await;
    assert_ne!(bar.attr("height").await.unwrap().as_deref(), Some("0"));
    let failed_bar = browser.find("#runs-chart .bar-failed").await;
    assert_ne!(
        failed_bar.attr("height").await.unwrap().as_deref(),
        Some("0")
    );
    assert!(browser.text("#failed-table").await.contains("ghost@web-b"));
    browser.click("#history-link").await;
    browser.wait_for_text("h1", "Execution history", WAIT).await;
    assert_eq!(browser.text("#history-range").await, "Runs 1–2 of 2");
    assert!(browser.text("#history-table").await.contains("nightly-web"));
    let history = browser.text("#history-table").await;
    assert!(!history.contains(&run_id), "runs shown by id: {history}");
    assert!(browser
        .text("#history-table .retry-of")
        .await
        .contains("retry of nightly-web · "));

    // Retry all failed: the one failed account, in the background, until it is settled again.
    browser.goto(&run_url).await;
    browser.click("#retry-all-failed").await;
    browser
        .wait_for_text("#run-notice", "Retrying 1 account(s)", WAIT)
        .await;
    // A second retry run of the same record, which fails again.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let runs: Page<ExecutionView> = ok_as(
            &app,
            &token,
            Method::GET,
            "/api/v1/change-secret/executions?limit=50",
            None,
            200,
        )
        .await;
        let retries: Vec<&ExecutionView> = runs
            .items
            .iter()
            .filter(|e| {
                e.trigger == Trigger::Retry
                    && e.retry_of_execution_id.as_ref().map(|id| id.as_str())
                        == Some(run_id.as_str())
            })
            .collect();
        if retries.len() == 2 && retries.iter().all(|e| e.status == ExecutionStatus::Failed) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the background retry did not settle: {runs:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await;
    app.stop().await;
}
