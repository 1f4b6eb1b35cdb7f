//! States read as words (issue #17): the asset list, an asset's page, the change-secret
//! overview, its history, the jobs, a job and the users show no raw vocabulary code as text (the code
//! stays in `<small class="code">` for support); authentication and host key are two cells;
//! the overview explains account health in one vocabulary; the chart of runs has labelled
//! axes and a link per run, a run that changed nothing included; a refused field reads as a
//! sentence.

use super::WAIT;
use super::{admin_logs_in, EnrolledAdmin};
use serde::Serialize;
use std::collections::BTreeSet;
use tumbler_testkit::browser::Browser;

/// Every vocabulary code that is not an ordinary word (it has an underscore).
fn raw_codes() -> BTreeSet<String> {
    use tumbler_domain::change_secret::{
        AttentionKind, ExecutionStatus, NextAction, RecordStatus, SecretStrategy, Trigger,
    };
    use tumbler_domain::failure_code::FailureCode;
    use tumbler_domain::inventory::{
        AccountStatus, AuthStatus, Connectivity, HostKeyStatus, SecretType, TlsMode,
    };
    use tumbler_domain::job::{JobKind, JobStatus, OutcomeStatus};
    use tumbler_domain::password_status::PasswordStatus;

    fn names<T: Serialize>(all: &[T]) -> Vec<String> {
        all.iter()
            .filter_map(|v| serde_json::to_value(v).ok()?.as_str().map(str::to_owned))
            .collect()
    }
    let mut codes = Vec::new();
    codes.extend(names(AuthStatus::ALL));
    codes.extend(names(HostKeyStatus::ALL));
    codes.extend(names(Connectivity::ALL));
    codes.extend(names(AccountStatus::ALL));
    codes.extend(names(SecretType::ALL));
    codes.extend(names(TlsMode::ALL));
    codes.extend(names(ExecutionStatus::ALL));
    codes.extend(names(RecordStatus::ALL));
    codes.extend(names(NextAction::ALL));
    codes.extend(names(AttentionKind::ALL));
    codes.extend(names(Trigger::ALL));
    codes.extend(names(SecretStrategy::ALL));
    codes.extend(names(FailureCode::ALL));
    codes.extend(names(&[
        JobKind::ModifyAuthentication,
        JobKind::RegenerateKey,
        JobKind::ResolveKeyConflict,
    ]));
    codes.extend(names(&[JobStatus::Partial, JobStatus::Interrupted]));
    codes.extend(names(&[OutcomeStatus::Unreachable, OutcomeStatus::Skipped]));
    codes.extend(PasswordStatus::ALL.iter().map(|s| s.as_str().to_owned()));
    codes.extend(
        ["asset_ids", "exclude_symbols"]
            .iter()
            .map(|s| (*s).to_owned()),
    );
    let codes: BTreeSet<String> = codes.into_iter().filter(|c| c.contains('_')).collect();
    assert!(codes.contains("password_based") && codes.contains("regenerate_key"));
    codes
}

/// The text of the page's `main`, hidden parts and filter options included, without the small
/// print that carries codes for support, nor a run's verbatim engine log (`#execution-log`,
/// the same lines the API and CLI stream; it is support material).
async fn words_outside_small_print(browser: &Browser) -> String {
    let text = browser
        .client()
        .execute(
            "const m = document.querySelector('main').cloneNode(true);
             m.querySelectorAll('small.code, #execution-log').forEach(e => e.remove());
             return m.textContent;",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("page text: {e}"));
    text.as_str().unwrap_or_default().to_owned()
}

/// How many elements match `css`.
async fn count(browser: &Browser, css: &str) -> u64 {
    browser
        .client()
        .execute(
            "return document.querySelectorAll(arguments[0]).length;",
            vec![serde_json::json!(css)],
        )
        .await
        .unwrap_or_else(|e| panic!("counting {css}: {e}"))
        .as_u64()
        .unwrap_or_default()
}

/// Fails when the page at `path` shows a raw code as text.
async fn shows_no_raw_code(browser: &Browser, codes: &BTreeSet<String>, what: &str) {
    let text = words_outside_small_print(browser).await;
    let shown: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| codes.contains(*w))
        .collect();
    assert!(
        shown.is_empty(),
        "{what} shows raw codes {shown:?}:\n{text}"
    );
}

#[tokio::test]
async fn browser_pages_show_states_as_words_with_codes_in_small_print() {
    use super::super::change_secret::{account, asset, linux_asset, run, task};
    use super::super::support::ok;
    use reqwest::Method;
    use serde_json::json;
    use tumbler_domain::change_secret::ExecutionStatus;
    use tumbler_testkit::sshd::{SshHost, TestUser};

    let codes = raw_codes();
    let ops = "canary-Read-Ops-3f1";
    let host = SshHost::start(&[TestUser::new("ops", ops).with_sudo()])
        .await
        .unwrap();
    let EnrolledAdmin {
        app,
        token,
        authenticator,
        ..
    } = EnrolledAdmin::start().await;
    // A checked asset with an account that does not exist on the host: its change fails and
    // the account needs a person.
    let web = linux_asset(&app, &token, "web-read", &host).await;
    account(&app, &token, &web, "ops", ops, true, json!({})).await;
    account(
        &app,
        &token,
        &web,
        "ghost",
        "canary-Read-Old-9a2",
        false,
        json!({}),
    )
    .await;
    let failing = task(
        &app,
        &token,
        json!({"name": "ghost-read", "usernames": ["ghost"], "asset_ids": [web],
               "secret_strategy": "random"}),
    )
    .await;
    let failed = run(&app, &token, &failing).await;
    assert_eq!(failed.status, ExecutionStatus::Failed, "{failed:?}");
    // A task whose usernames match no account: its run changes nothing.
    let empty = task(
        &app,
        &token,
        json!({"name": "nobody-read", "usernames": ["nobody"], "asset_ids": [web],
               "secret_strategy": "random"}),
    )
    .await;
    let nothing = run(&app, &token, &empty).await;
    assert_eq!(
        nothing.status,
        ExecutionStatus::NothingChanged,
        "{nothing:?}"
    );
    // An asset nobody checked: password authentication, host key not verified.
    let unchecked = asset(
        &app,
        &token,
        json!({"name": "db-unchecked-read", "address": "127.0.0.1", "port": host.port(), "platform": "linux"}),
    )
    .await;
    // A device-key job.
    let started = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/system/ssh-key/regenerate",
        Some(json!({"algorithm": "ed25519"})),
        202,
    )
    .await;
    let job_id = started["job_id"].as_str().unwrap().to_owned();
    super::super::device_keys::wait_for_job(&app, &token, &job_id).await;

    let browser = admin_logs_in(&app, &authenticator).await;
    shows_no_raw_code(&browser, &codes, "the dashboard").await;

    // The asset list: authentication and host key are two cells, each in words.
    browser.goto(&app.url("/assets")).await;
    browser
        .wait_for_text("#assets-table", "db-unchecked-read", WAIT)
        .await;
    let row = "#assets-table tr[data-asset='db-unchecked-read']";
    let auth = browser.text(&format!("{row} td.auth-mode")).await;
    let key = browser.text(&format!("{row} td.host-key")).await;
    assert!(auth.starts_with("Password"), "{auth}");
    assert!(!auth.to_lowercase().contains("verified"), "{auth}");
    assert!(key.starts_with("Not verified"), "{key}");
    assert_eq!(
        browser.text(&format!("{row} td.host-key small.code")).await,
        "unverified"
    );
    shows_no_raw_code(&browser, &codes, "the asset list").await;
    // The filters offer words and send codes.
    browser
        .find("select[name=auth_status] option[value=password_based]")
        .await;
    browser
        .goto(&app.url("/assets?host_key_status=fingerprint_conflict"))
        .await;
    browser.wait_for_text("h1", "Assets", WAIT).await;
    shows_no_raw_code(&browser, &codes, "the filtered asset list").await;

    // An asset's page: the same two things, apart.
    browser
        .goto(&app.url(&format!("/assets/{unchecked}")))
        .await;
    browser
        .wait_for_text("#asset-name", "db-unchecked-read", WAIT)
        .await;
    let auth = browser.text("#asset-authentication").await;
    assert!(auth.starts_with("Password"), "{auth}");
    assert!(!auth.to_lowercase().contains("verified"), "{auth}");
    assert!(browser
        .text("#asset-host-key")
        .await
        .starts_with("Not verified"));
    shows_no_raw_code(&browser, &codes, "an unchecked asset's page").await;
    browser.goto(&app.url(&format!("/assets/{web}"))).await;
    browser.wait_for_text("#asset-name", "web-read", WAIT).await;
    shows_no_raw_code(&browser, &codes, "an asset's page with accounts").await;

    // The overview: one vocabulary of account health, each state explained.
    browser.goto(&app.url("/change-secret")).await;
    let health = browser
        .wait_for_text("#account-health", "Needs a person", WAIT)
        .await;
    assert!(health.contains("Verification failed"), "{health}");
    assert!(health.contains("a person decides"), "{health}");
    assert!(
        !browser
            .text("#change-overview")
            .await
            .contains("Accounts failed"),
        "the counts are under Account health"
    );
    shows_no_raw_code(&browser, &codes, "the overview").await;
    // The chart: labelled axes and one link per run, the run that changed nothing included.
    assert!(browser.text("#chart-y-label").await.contains("Accounts"));
    assert!(browser.text("#chart-x-label").await.contains("Runs"));
    let links = count(&browser, "#runs-chart a.run-bar-link").await;
    assert_eq!(
        links,
        count(&browser, "#runs-table tbody tr").await,
        "a bar per run"
    );
    assert!(links >= 2, "{links}");
    let none = browser
        .find(&format!(
            "#runs-chart a[href='/change-secret/executions/{}'] .bar-nothing",
            nothing.id
        ))
        .await;
    let height: f64 = none
        .attr("height")
        .await
        .unwrap()
        .unwrap_or_default()
        .parse()
        .unwrap();
    assert!(height > 0.0, "a run that changed nothing is visible");
    browser
        .find(&format!(
            "#runs-chart a[href='/change-secret/executions/{}']",
            failed.id
        ))
        .await;

    // The history, a run, the jobs and a job.
    browser.goto(&app.url("/change-secret/executions")).await;
    browser.wait_for_text("h1", "Execution history", WAIT).await;
    shows_no_raw_code(&browser, &codes, "the history").await;
    browser
        .goto(&app.url(&format!("/change-secret/executions/{}", nothing.id)))
        .await;
    browser
        .wait_for_text("#run-status", "Nothing changed", WAIT)
        .await;
    shows_no_raw_code(&browser, &codes, "a run").await;
    browser.goto(&app.url("/jobs")).await;
    browser.wait_for_text("h1", "Jobs", WAIT).await;
    shows_no_raw_code(&browser, &codes, "the jobs").await;
    browser.goto(&app.url(&format!("/jobs/{job_id}"))).await;
    browser
        .wait_for_text("#job-status", "Succeeded", WAIT)
        .await;
    shows_no_raw_code(&browser, &codes, "a job").await;
    browser.goto(&app.url("/users")).await;
    browser.wait_for_text("#users-table", "admin", WAIT).await;
    shows_no_raw_code(&browser, &codes, "the users").await;

    // A refused field reads as a sentence, not `asset_ids: ...`.
    browser.goto(&app.url("/change-secret/tasks/new")).await;
    browser.fill("#task-name", "no-assets-read").await;
    browser.fill("#task-usernames", "ops").await;
    browser.click("#save-task").await;
    let error = browser
        .wait_for_text("#task-error", "Select at least one asset", WAIT)
        .await;
    assert!(!error.contains("asset_ids"), "{error}");
    shows_no_raw_code(&browser, &codes, "a refused task form").await;
}
