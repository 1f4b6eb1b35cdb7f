//! Mail: the SMTP settings (password write-only, sealed), the test mail, and the run report a
//! task's recipients get when a run ends, read back from a real SMTP server on loopback; no
//! secret in any of it, and a record retry sends no mail.

use super::support::{call, error_code, error_field, ok, ok_as, typed};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use tumbler_api_types::answers::ExecutionStarted;
use tumbler_api_types::auth::MeOut;
use tumbler_api_types::change_secret::{RecordRow, TaskView};
use tumbler_api_types::inventory::{AccountOut, AssetOut};
use tumbler_api_types::settings::{SmtpOut, TestMailOut};
use tumbler_api_types::users::CreatedUserOut;
use tumbler_api_types::Page;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};
use tumbler_testkit::smtp::SmtpSink;
use tumbler_testkit::sshd::{SshHost, TestUser};

const SMTP_PASSWORD: &str = "canary-Smtp-Pass-5e1";
const OPS_PASSWORD: &str = "canary-Mail-Ops-8b2";
const APP_PASSWORD: &str = "canary-Mail-App-3d4";

async fn admin(app: &TestApp) -> String {
    app.activate_admin().await;
    app.admin_token().await
}

/// A user with an email address (never logs in); returns its id.
async fn recipient(app: &TestApp, token: &str, name: &str, email: Option<&str>) -> String {
    let body: CreatedUserOut = ok_as(
        app,
        token,
        Method::POST,
        "/api/v1/users",
        Some(
            json!({"username": name, "email": email, "roles": ["auditor"], "domains": ["Default"], "current_password": ADMIN_PASSWORD}),
        ),
        201,
    )
    .await;
    body.user.user.id
}

async fn put_smtp(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    call(app, token, Method::PUT, "/api/v1/settings/smtp", Some(body)).await
}

/// Starts a run of the task; returns the execution's id.
async fn execute(app: &TestApp, token: &str, task_id: &str) -> String {
    let started: ExecutionStarted = ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/tasks/{task_id}/execute"),
        None,
        202,
    )
    .await;
    started.execution_id.to_string()
}

/// Whether the saved SMTP settings hold a password (asserting they were saved).
fn has_password(status: u16, out: Value) -> bool {
    assert_eq!(status, 200, "{out}");
    typed::<SmtpOut>(out).has_password
}

#[tokio::test]
async fn smtp_settings_keep_the_password_write_only_and_the_test_mail_arrives() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let sink = SmtpSink::start().await;
    // Nothing configured yet.
    let (status, out) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/settings/smtp/test",
        None,
    )
    .await;
    assert_eq!(status, 400, "{out}");
    // Bad input names the field.
    for (body, field) in [
        (
            json!({"host": "", "port": 25, "security": "none", "from": "t@example.test"}),
            "host",
        ),
        (
            json!({"host": "h", "port": 0, "security": "none", "from": "t@example.test"}),
            "port",
        ),
        (
            json!({"host": "h", "port": 25, "security": "none", "from": "not an address"}),
            "from",
        ),
        (
            json!({"host": "h", "port": 25, "security": "none", "from": "t@example.test", "password": "x"}),
            "password",
        ),
    ] {
        let (status, out) = put_smtp(&app, &token, body.clone()).await;
        assert_eq!(status, 400, "{body}: {out}");
        assert_eq!(error_field(&out).as_deref(), Some(field), "{out}");
    }
    let (status, out) = put_smtp(
        &app,
        &token,
        json!({"host": "smtp.example.test", "port": 587, "security": "starttls",
               "username": "relay", "password": SMTP_PASSWORD, "from": "Tumbler <tumbler@example.test>"}),
    )
    .await;
    assert!(has_password(status, out));
    // Saved again without a password: the stored one is kept; never shown.
    let (status, out) = put_smtp(
        &app,
        &token,
        json!({"host": "smtp.example.test", "port": 587, "security": "starttls",
               "username": "relay", "from": "Tumbler <tumbler@example.test>"}),
    )
    .await;
    assert!(has_password(status, out));
    // A stored password never follows the settings to another server.
    let (status, out) = put_smtp(
        &app,
        &token,
        json!({"host": "elsewhere.example.test", "port": 587, "security": "starttls",
               "username": "relay", "from": "Tumbler <tumbler@example.test>"}),
    )
    .await;
    assert_eq!(
        (status, error_field(&out).as_deref()),
        (400, Some("password")),
        "{out}"
    );
    let (status, out) = put_smtp(
        &app,
        &token,
        json!({"host": "smtp.example.test", "port": 25, "security": "none",
               "username": "relay", "password": SMTP_PASSWORD, "from": "tumbler@example.test"}),
    )
    .await;
    assert_eq!(
        (status, error_field(&out).as_deref()),
        (400, Some("security")),
        "{out}"
    );
    let shown = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/settings/smtp",
        None,
        200,
    )
    .await;
    assert_eq!(
        typed::<SmtpOut>(shown.clone()).username.as_deref(),
        Some("relay")
    );
    assert!(!shown.to_string().contains(SMTP_PASSWORD), "{shown}");
    // The sink on loopback takes plain SMTP without a login.
    let (status, out) = put_smtp(
        &app,
        &token,
        json!({"host": sink.host(), "port": sink.port(), "security": "none",
               "from": "Tumbler <tumbler@example.test>"}),
    )
    .await;
    assert!(!has_password(status, out));
    // The forgotten password is gone from the vault, and a new one can be stored again
    // (plain SMTP with a password only to this host).
    let sealed = |v: i64| {
        let store = app.services.store.clone();
        async move {
            store
                .sealed_secret(
                    tumbler_domain::secret_owner::SecretOwner::Smtp,
                    "settings",
                    v,
                )
                .await
                .unwrap()
        }
    };
    assert!(sealed(1).await.is_none() && sealed(2).await.is_none());
    let (status, out) = put_smtp(
        &app,
        &token,
        json!({"host": sink.host(), "port": sink.port(), "security": "none",
               "username": "relay", "password": SMTP_PASSWORD, "from": "tumbler@example.test"}),
    )
    .await;
    assert!(has_password(status, out));
    let (status, out) = put_smtp(
        &app,
        &token,
        json!({"host": sink.host(), "port": sink.port(), "security": "none",
               "from": "Tumbler <tumbler@example.test>"}),
    )
    .await;
    assert!(!has_password(status, out));
    // The admin has no address yet.
    let (status, out) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/settings/smtp/test",
        None,
    )
    .await;
    assert_eq!(
        (status, error_code(&out).as_str()),
        (400, "no_email_address")
    );
    let me: MeOut = ok_as(&app, &token, Method::GET, "/api/v1/users/me", None, 200).await;
    let id = me.user.id;
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(json!({"email": "admin@example.test"})),
        200,
    )
    .await;
    let out: TestMailOut = ok_as(
        &app,
        &token,
        Method::POST,
        "/api/v1/settings/smtp/test",
        None,
        200,
    )
    .await;
    assert_eq!(out.sent_to, "admin@example.test");
    let mail = sink.wait_for_messages(1, Duration::from_secs(30)).await;
    assert_eq!(mail[0].to, vec!["admin@example.test".to_owned()]);
    assert_eq!(mail[0].subject, "Tumbler test mail");
    // The audit log names the changes, never the password.
    let audit = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/audit?limit=100",
        None,
        200,
    )
    .await;
    let text = audit.to_string();
    assert!(text.contains("settings.smtp.update") && text.contains("settings.smtp.test"));
    assert!(!text.contains(SMTP_PASSWORD));
    // Only administrators touch mail settings.
    let auditor = super::support::user(&app, &token, "reader", &["auditor"], &["Default"]).await;
    let (status, _) = call(&app, &auditor, Method::GET, "/api/v1/settings/smtp", None).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn recipients_get_the_run_report_without_secrets_and_retries_send_none() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let sink = SmtpSink::start().await;
    ok(
        &app,
        &token,
        Method::PUT,
        "/api/v1/settings/smtp",
        Some(
            json!({"host": sink.host(), "port": sink.port(), "security": "none",
                    "from": "tumbler@example.test"}),
        ),
        200,
    )
    .await;
    let alice = recipient(&app, &token, "alice", Some("alice@example.test")).await;
    let bob = recipient(&app, &token, "bob", Some("bob@example.test")).await;
    let nomail = recipient(&app, &token, "carol", None).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let body: AssetOut = ok_as(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "mailhost", "address": host.address(), "port": host.port(), "platform": "linux"})),
        201,
    )
    .await;
    let asset = body.id;
    ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{asset}/test"),
        None,
        200,
    )
    .await;
    ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{asset}/host-key/acknowledge"),
        Some(json!({"fingerprint": host.host_key_fingerprint()})),
        200,
    )
    .await;
    for (name, secret, privileged) in [
        ("ops", OPS_PASSWORD, true),
        ("app1", APP_PASSWORD, false),
        ("ghost", APP_PASSWORD, false),
    ] {
        ok(
            &app,
            &token,
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"asset_id": asset, "username": name, "secret": secret, "privileged": privileged})),
            201,
        )
        .await;
    }
    let t: TaskView = ok_as(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(
            json!({"name": "mailed", "usernames": ["app1", "ghost"], "asset_ids": [asset],
                    "secret_strategy": "random", "recipients": [alice, bob, nomail]}),
        ),
        201,
    )
    .await;
    let task_id = t.id.as_str();
    let exec_id = execute(&app, &token, task_id).await;
    // One message per recipient with an address (carol has none).
    let mail = sink.wait_for_messages(2, Duration::from_secs(120)).await;
    let mut to: Vec<String> = mail.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    assert_eq!(to, vec!["alice@example.test", "bob@example.test"]);
    assert_eq!(mail[0].body, mail[1].body);
    let report = &mail[0];
    assert_eq!(
        report.subject,
        "Tumbler: password change \"mailed\" partial"
    );
    assert!(
        report.body.contains("Changed and verified: 1"),
        "{}",
        report.body
    );
    assert!(report.body.contains("Failed: 1"), "{}", report.body);
    assert!(
        report.body.contains("- ghost@mailhost: target_refused:"),
        "{}",
        report.body
    );
    assert!(
        report
            .body
            .contains(&format!("/change-secret/executions/{exec_id}\n")),
        "{}",
        report.body
    );
    // The new password: revealed through the vault, it is nowhere in the mail.
    let page: Page<AccountOut> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/accounts?username=app1",
        None,
        200,
    )
    .await;
    let account_id = page.items[0].id.clone();
    let new = app
        .services
        .vault
        .open_secret(
            tumbler_domain::secret_owner::SecretOwner::Account,
            &account_id,
            2,
        )
        .await
        .unwrap();
    let new = String::from_utf8(new.to_vec()).unwrap();
    // The run's console page (it can show revealed secrets) is never cached.
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": tumbler_testkit::app::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = app
        .client
        .get(app.url(&format!("/change-secret/executions/{exec_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.text().await.unwrap().contains("ghost"));
    // The run's CSV report: one row per account, no secret.
    let res = reqwest::Client::new()
        .get(app.url(&format!(
            "/api/v1/change-secret/executions/{exec_id}/report"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("asset,username,status,reason_code,reason,attempts"),
        "{csv}"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(csv.contains("mailhost,app1,success,"), "{csv}");
    // The verified and committed record says when its new secret was proved.
    let header: Vec<&str> = lines[0].split(',').collect();
    let verified_at = header
        .iter()
        .position(|c| *c == "new_secret_verified_at")
        .expect("the column");
    let app1_row: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("mailhost,app1,"))
        .expect("app1's row")
        .split(',')
        .collect();
    assert!(
        !app1_row[verified_at].is_empty(),
        "verified and committed, but no verification time: {csv}"
    );
    assert!(
        csv.contains("mailhost,ghost,failed,target_refused,"),
        "{csv}"
    );
    for secret in [new.as_str(), OPS_PASSWORD, APP_PASSWORD] {
        assert!(!report.raw.contains(secret), "a secret in the mail");
        assert!(!csv.contains(secret), "a secret in the CSV report");
    }
    // Retrying the failed record sends no mail; the next run sends the next one.
    let records: Page<RecordRow> = ok_as(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/change-secret/records?execution_id={exec_id}&status=failed"),
        None,
        200,
    )
    .await;
    let failed = records.items[0].id.to_string();
    // The retry answers when it is done (it fails again: the target has no such user).
    let retried: RecordRow = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{failed}/retry"),
        Some(json!({})),
        200,
    )
    .await;
    assert_eq!(retried.status.as_str(), "failed", "{retried:?}");
    let second_id = execute(&app, &token, task_id).await;
    let mail = sink.wait_for_messages(4, Duration::from_secs(120)).await;
    assert_eq!(mail.len(), 4, "two mails per run, none for the retry");
    for later in &mail[2..] {
        assert!(later.body.contains(&second_id), "{}", later.body);
    }
    let audit = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/audit?limit=200",
        None,
        200,
    )
    .await;
    assert!(audit.to_string().contains("change_execution.notify"));
}
