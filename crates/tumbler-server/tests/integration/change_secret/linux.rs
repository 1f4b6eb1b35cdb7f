//! Linux passwords change through sudo (SQLite and PostgreSQL stores) and through su with a
//! specified secret; the new password logs in, the old one does not, and the run's log streams as
//! server-sent events without a password in it.

use super::super::support::{call, error_code, ok_as, Authenticator};
use super::{
    account, admin, linux_asset, log_text, record_for, records, run, ssh_logs_in, start_run,
    sudo_ops, task, verify_account, wait_for_execution, APP_PASSWORD, OPS_PASSWORD,
};
use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::answers::RevealedRecordSecrets;
use tumbler_api_types::inventory::AccountOut;
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus, Trigger};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::logs::LogCapture;
use tumbler_testkit::sshd::{SshHost, TestUser};

/// The log as server-sent events, from after `last_event_id`.
async fn log_events(
    app: &TestApp,
    token: &str,
    execution_id: &str,
    last_event_id: Option<i64>,
) -> String {
    let mut req = reqwest::Client::new()
        .get(app.url(&format!(
            "/api/v1/change-secret/executions/{execution_id}/log"
        )))
        .bearer_auth(token)
        .header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id.to_string());
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    res.text().await.unwrap()
}

async fn linux_sudo_run(kind: StoreKind) {
    let logs = LogCapture::install();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(kind, clock.clone()).await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
        TestUser::new("app2", APP_PASSWORD),
    ])
    .await
    .unwrap();
    host.set_password("root", "canary-Root-Unchanged-1")
        .await
        .unwrap();
    let root_shadow = host.shadow_entry("root").await.unwrap();
    let asset = linux_asset(&app, &token, "web1", &host).await;
    let ops = sudo_ops(&app, &token, &asset).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let app2 = account(&app, &token, &asset, "app2", APP_PASSWORD, false, json!({})).await;
    let root = account(
        &app,
        &token,
        &asset,
        "root",
        "canary-Root-Unchanged-1",
        false,
        json!({}),
    )
    .await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "rotate web", "usernames": ["app1", "app2", "ops", "root"],
               "asset_ids": [asset], "secret_strategy": "random",
               "password_rules": {"length": 20, "lowercase": 1, "uppercase": 1, "digit": 1, "symbol": 1}}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    assert_eq!(
        (e.status, e.trigger),
        (ExecutionStatus::Succeeded, Trigger::Manual),
        "{e:?}"
    );
    assert_eq!(e.counts.get(&RecordStatus::Success), Some(&2), "{e:?}");
    assert_eq!(e.counts.get(&RecordStatus::Ignored), Some(&2), "{e:?}");
    let id = e.id.as_str();
    let rs = records(&app, &token, id).await;
    assert_eq!(record_for(&rs, "app1").status, RecordStatus::Success);
    assert_eq!(
        record_for(&rs, "ops").reason_code,
        Some(FailureCode::SecureModePrivileged)
    );
    assert_eq!(
        record_for(&rs, "root").reason_code,
        Some(FailureCode::SecureModeReservedName)
    );

    // The store's new current secrets log in; the old password does not.
    for acc in [&app1, &app2] {
        let out = verify_account(&app, &token, acc).await;
        assert_eq!((out.ok, out.account.secret_version), (true, 2), "{out:?}");
    }
    assert!(!ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    assert!(!ssh_logs_in(&host, "app2", APP_PASSWORD).await);
    // Secure mode left ops and root alone.
    assert!(ssh_logs_in(&host, "ops", OPS_PASSWORD).await);
    assert_eq!(host.shadow_entry("root").await.unwrap(), root_shadow);
    let root_row: AccountOut = ok_as(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/accounts/{root}"),
        None,
        200,
    )
    .await;
    assert_eq!(root_row.secret_version, 1);
    assert_eq!(
        verify_account(&app, &token, &ops)
            .await
            .account
            .secret_version,
        1
    );

    // Reveal the record's secrets with a fresh code: the new one logs in.
    let auth = Authenticator::enrol(&app, &token, clock.clone()).await;
    let rec = &record_for(&rs, "app1").id;
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec}/reveal"),
        Some(json!({})),
    )
    .await;
    assert_eq!((status, error_code(&body).as_str()), (401, "totp_required"));
    let revealed: RevealedRecordSecrets = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec}/reveal"),
        Some(json!({"totp": auth.fresh_code()})),
        200,
    )
    .await;
    assert_eq!(revealed.old_secret.as_deref(), Some(APP_PASSWORD));
    let new = revealed.new_secret.expect("a new secret was made");
    assert_eq!(new.chars().count(), 20);
    assert!(ssh_logs_in(&host, "app1", &new).await);

    // The log tells the story; no secret anywhere.
    let log = log_text(&app, &token, id).await;
    assert!(
        log.contains("app1@web1: verified and committed as version 2"),
        "{log}"
    );
    assert!(log.contains("ops@web1: skipped, secure mode"), "{log}");
    let audit = reqwest::Client::new()
        .get(app.url("/api/v1/audit?limit=500"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(audit.contains("account.change"), "{audit}");
    let commands = host.command_log();
    assert!(commands.contains("chpasswd"), "snoopy watched: {commands}");
    for secret in [OPS_PASSWORD, APP_PASSWORD, new.as_str()] {
        assert!(!commands.contains(secret), "{secret} on a command line");
        assert!(!host.auth_log().contains(secret));
        assert!(!log.contains(secret));
        assert!(!audit.contains(secret));
        assert!(
            !logs.contents().contains(secret),
            "{secret} in the server log"
        );
    }
    // The store holds no clear password either (SQLite file or PostgreSQL dump).
    if kind == StoreKind::Sqlite {
        for entry in std::fs::read_dir(&app.config.data_dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            for secret in [OPS_PASSWORD, APP_PASSWORD, new.as_str()] {
                assert!(!text.contains(secret), "{secret} in the store files");
            }
        }
    } else {
        let url = app.config.database_url();
        assert!(app.config.database.url.is_some(), "a PostgreSQL store");
        let dump =
            std::process::Command::new(tumbler_testkit::pg_cluster::bin_dir().join("pg_dump"))
                .args(["--data-only", "--dbname", &url])
                .output()
                .unwrap();
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        let text = String::from_utf8_lossy(&dump.stdout);
        assert!(
            text.contains("account.change"),
            "the dump holds the audit log"
        );
        for secret in [OPS_PASSWORD, APP_PASSWORD, new.as_str()] {
            assert!(!text.contains(secret), "{secret} in the PostgreSQL store");
        }
    }
}

#[tokio::test]
async fn linux_passwords_change_through_sudo_with_secure_mode_on_sqlite() {
    linux_sudo_run(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn linux_passwords_change_through_sudo_with_secure_mode_on_postgres() {
    linux_sudo_run(StoreKind::Postgres).await;
}

#[tokio::test]
async fn su_and_a_specified_secret_change_a_linux_password() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    host.set_password("root", "canary-Root-Su-8d1")
        .await
        .unwrap();
    let asset = linux_asset(&app, &token, "su-host", &host).await;
    account(
        &app,
        &token,
        &asset,
        "ops",
        OPS_PASSWORD,
        true,
        json!({"become": "su"}),
    )
    .await;
    account(
        &app,
        &token,
        &asset,
        "root",
        "canary-Root-Su-8d1",
        false,
        json!({}),
    )
    .await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "su rotate", "usernames": ["app1"], "asset_ids": [asset],
               "secret_strategy": "specified", "secret": "canary-Specified-New-2e"}),
    )
    .await;
    let id = start_run(&app, &token, &task_id).await;
    // Asked for at once, the log streams while the run goes on and ends with it, as text and
    // as server-sent events.
    let (log, events) = tokio::join!(
        log_text(&app, &token, &id),
        log_events(&app, &token, &id, None)
    );
    assert!(log.contains("started: 1 asset(s), 1 account(s)"), "{log}");
    assert!(log.trim_end().ends_with("finished: succeeded"), "{log}");
    assert!(events.starts_with("id: 1\ndata: "), "{events}");
    assert!(
        events.contains("started: 1 asset(s), 1 account(s) to change\n\n"),
        "{events}"
    );
    assert!(
        events.ends_with("finished: succeeded\n\nevent: end\ndata: the run has ended\n\n"),
        "{events}"
    );
    assert_eq!(
        events.matches("\ndata: ").count(),
        log.lines().count() + 1,
        "one event per line, and the end"
    );
    // A client that reconnects after event 1 gets the rest only.
    let rest = log_events(&app, &token, &id, Some(1)).await;
    assert!(rest.starts_with("id: 2\n"), "{rest}");
    assert!(!rest.contains("started: 1 asset(s)"), "{rest}");
    let e = wait_for_execution(&app, &token, &id).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{e:?}");
    assert!(ssh_logs_in(&host, "app1", "canary-Specified-New-2e").await);
    assert!(!ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    assert!(verify_account(&app, &token, &app1).await.ok);
    assert!(!host.command_log().contains("canary-Root-Su-8d1"));
    // The run's duration is in the change-duration histogram, labelled by how it ended.
    let metrics = app.get_text("/metrics").await;
    assert!(
        metrics
            .contains("tumbler_change_execution_duration_seconds_count{status=\"succeeded\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "tumbler_change_execution_duration_seconds_bucket{status=\"succeeded\",le=\""
        ),
        "{metrics}"
    );
    assert!(!metrics.contains("canary-"), "no secret in the metrics");
}
