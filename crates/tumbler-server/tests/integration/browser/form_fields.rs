//! Forms show only the fields that apply: the account form shows the password or the key
//! field by secret type; the task form shows the SSH-key options only for keys and the
//! specified secret only for a specified strategy, and a hidden field is not posted.

use super::super::change_secret::asset;
use super::super::support::ok_as;
use super::{admin_logs_in, EnrolledAdmin, WAIT};
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::change_secret::TaskView;
use tumbler_testkit::browser::Browser;

/// Whether the element matching `css` is shown and whether it is enabled (posted).
async fn shown_and_enabled(browser: &Browser, css: &str) -> (bool, bool) {
    let answer = browser
        .client()
        .execute(
            "const e = document.querySelector(arguments[0]);
             return [e.getClientRects().length > 0, !e.matches(':disabled')];",
            vec![json!(css)],
        )
        .await
        .unwrap_or_else(|e| panic!("state of {css}: {e}"));
    let pair = answer.as_array().unwrap();
    (pair[0].as_bool().unwrap(), pair[1].as_bool().unwrap())
}

/// Asserts each of `fields` is shown and enabled (`on`), or hidden and disabled.
async fn expect(browser: &Browser, fields: &[&str], on: bool, when: &str) {
    for css in fields {
        assert_eq!(
            shown_and_enabled(browser, css).await,
            (on, on),
            "{css} {when}: shown and enabled should be {on}"
        );
    }
}

/// The names the task form would post now.
async fn posted_names(browser: &Browser) -> Vec<String> {
    let answer = browser
        .client()
        .execute(
            "return [...new FormData(document.getElementById('task-form')).keys()];",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("form data: {e}"));
    serde_json::from_value(answer).unwrap()
}

async fn task_named(e: &EnrolledAdmin, name: &str) -> TaskView {
    let tasks: Vec<TaskView> = ok_as(
        &e.app,
        &e.token,
        Method::GET,
        "/api/v1/change-secret/tasks",
        None,
        200,
    )
    .await;
    tasks
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no task {name}"))
}

#[tokio::test]
async fn switching_the_selects_shows_only_the_fields_that_apply() {
    let e = EnrolledAdmin::start().await;
    let id = asset(
        &e.app,
        &e.token,
        json!({"name": "fields-web", "address": "127.0.0.1", "port": 22, "platform": "linux"}),
    )
    .await;
    let browser = admin_logs_in(&e.app, &e.authenticator).await;

    // The account form: the password for passwords, the key for keys.
    browser.goto(&e.app.url(&format!("/assets/{id}"))).await;
    browser
        .wait_for_text("#asset-name", "fields-web", WAIT)
        .await;
    let (password, key) = (&["#account-password"][..], &["#account-private-key"][..]);
    expect(&browser, password, true, "at load").await;
    expect(&browser, key, false, "at load").await;
    let select = browser.find("#account-secret-type").await;
    select.select_by_value("ssh_key").await.unwrap();
    expect(&browser, key, true, "for a key").await;
    expect(&browser, password, false, "for a key").await;
    select.select_by_value("password").await.unwrap();
    expect(&browser, password, true, "for a password").await;
    expect(&browser, key, false, "for a password").await;

    // The task form: key options for keys, the specified secret for a specified strategy.
    browser.goto(&e.app.url("/change-secret/tasks/new")).await;
    browser
        .wait_for_text("h1", "New password change task", WAIT)
        .await;
    let key_options = &["#key-algorithm", "#key-replace-all"][..];
    let secret = &["#task-secret"][..];
    expect(&browser, key_options, false, "for passwords").await;
    expect(&browser, secret, false, "for random secrets").await;
    expect(&browser, &["#task-custom-ssh"], true, "for passwords").await;
    browser.click("#type-ssh-key").await;
    expect(&browser, key_options, true, "for keys").await;
    expect(&browser, &["#task-custom-ssh"], false, "for keys").await;
    browser.click("#type-password").await;
    expect(&browser, key_options, false, "for passwords again").await;
    browser.click("#strategy-specified").await;
    expect(&browser, secret, true, "for a specified secret").await;
    browser
        .fill("#task-secret", "canary-Typed-Then-Random-7q")
        .await;
    assert!(posted_names(&browser).await.contains(&"secret".to_owned()));
    browser.click("#strategy-random").await;
    expect(&browser, secret, false, "for random secrets again").await;
    let names = posted_names(&browser).await;
    assert!(
        !names.contains(&"secret".to_owned()) && !names.contains(&"key_algorithm".to_owned()),
        "hidden fields are not posted: {names:?}"
    );
    assert!(names.contains(&"strategy".to_owned()), "{names:?}");
}

#[tokio::test]
async fn a_task_saved_with_random_secrets_posts_no_specified_secret() {
    let e = EnrolledAdmin::start().await;
    let asset_id = asset(
        &e.app,
        &e.token,
        json!({"name": "random-web", "address": "127.0.0.1", "port": 22, "platform": "linux"}),
    )
    .await;
    let browser = admin_logs_in(&e.app, &e.authenticator).await;
    browser.goto(&e.app.url("/change-secret/tasks/new")).await;
    browser
        .wait_for_text("h1", "New password change task", WAIT)
        .await;
    browser.fill("#task-name", "random-nightly").await;
    browser.fill("#task-usernames", "app1").await;
    browser
        .click(&format!("input[name=asset][value='{asset_id}']"))
        .await;
    browser.fill("#task-cron", "0 3 * * *").await;
    browser.click("#save-task").await;
    browser
        .wait_for_text("#change-notice", "Task random-nightly saved.", WAIT)
        .await;
    let task = task_named(&e, "random-nightly").await;
    assert!(!task.has_secret);

    // Editing it: a secret typed, then random chosen again; the save stores no secret.
    browser
        .goto(&e.app.url(&format!("/change-secret/tasks/{}/edit", task.id)))
        .await;
    browser.find("#task-form").await;
    browser.click("#strategy-specified").await;
    browser
        .fill("#task-secret", "canary-Edited-Not-Kept-5w")
        .await;
    browser.click("#strategy-random").await;
    browser.click("#save-task").await;
    browser
        .wait_for_text("#change-notice", "Task random-nightly saved.", WAIT)
        .await;
    let task = task_named(&e, "random-nightly").await;
    assert!(
        !task.has_secret,
        "a task saved with random secrets keeps no specified secret"
    );
    // The edit page agrees: nothing stored to keep.
    browser
        .goto(&e.app.url(&format!("/change-secret/tasks/{}/edit", task.id)))
        .await;
    let source = browser.source().await;
    assert!(!source.contains("one is stored"), "{source}");
}
