//! A retry of an unverified record re-uses its staged secret, never an old one; webhooks get
//! the retry's run.

use super::super::change_secret::{ssh_logs_in, verify_account, OPS_PASSWORD};
use super::super::support::{ok, ok_as, typed};
use super::{spawn_one_app, OneApp};
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::change_secret::{ExecutionView, RecordRow};
use tumbler_api_types::inventory::VerifyOut;
use tumbler_domain::change_secret::{RecordStatus, Trigger};
use tumbler_domain::ids::RecordId;
use tumbler_testkit::app::TestApp;

/// The `change_execution.finished` webhook's body: the run, as the API shows it.
#[derive(serde::Deserialize)]
struct Finished {
    execution: ExecutionView,
}

/// A retry of `rec`, which answers with the retry's record.
async fn retry(app: &TestApp, token: &str, rec: &RecordId) -> RecordRow {
    ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec}/retry"),
        None,
        200,
    )
    .await
}

/// Registers a webhook on a loopback receiver that answers 200; returns the bodies it gets.
async fn webhook_receiver(app: &TestApp, token: &str) -> Arc<std::sync::Mutex<Vec<Vec<u8>>>> {
    let got: Arc<std::sync::Mutex<Vec<Vec<u8>>>> = Arc::default();
    let seen = got.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(body.to_vec());
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    ok(
        app,
        token,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"url": url})),
        201,
    )
    .await;
    got
}

/// A retry of an unverified record re-uses the new secret staged for it; a retry of a record
/// whose account has changed since makes a fresh secret and never re-seals the old one.
#[tokio::test]
async fn a_retry_reuses_a_pending_secret_and_never_an_old_one() {
    let (app, token, one) = spawn_one_app("reuse", OPS_PASSWORD).await;
    let OneApp {
        host,
        app1,
        task_id,
        ..
    } = one;
    let hooks = webhook_receiver(&app, &token).await;
    // An unverified change whose stage nobody owns any more (its run ended).
    let (_, rec) = super::super::change_secret::staged_by_a_dead_worker(
        &app,
        &task_id,
        &app1,
        "canary-Reuse-Me-2a",
    )
    .await;
    let mut r = app.services.store.record(&rec).await.unwrap().unwrap();
    r.status = RecordStatus::Unverified;
    let mut tx = app.services.store.begin().await.unwrap();
    tx.update_record(&r).await.unwrap();
    tx.commit().await.unwrap();
    let retried = retry(&app, &token, &rec).await;
    assert_eq!(retried.status, RecordStatus::Success, "{retried:?}");
    // Webhooks get the retry's run, linked to the record it retried.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let bodies: Vec<String> = hooks
            .lock()
            .unwrap()
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        if let Some((b, hook)) = bodies
            .iter()
            .map(|b| (b, typed::<Finished>(serde_json::from_str(b).unwrap())))
            .find(|(_, hook)| hook.execution.id == retried.execution_id)
        {
            assert_eq!(hook.execution.trigger, Trigger::Retry, "{b}");
            assert_eq!(hook.execution.retry_of_record_id, Some(rec.clone()), "{b}");
            assert!(!b.contains("canary-Reuse-Me-2a"), "no secret: {b}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no webhook for the retry: {bodies:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        retried.new_version,
        Some(2),
        "the staged version is re-used: {retried:?}"
    );
    assert!(ssh_logs_in(&host, "app1", "canary-Reuse-Me-2a").await);
    // Retrying the old record now (the account changed since) makes a fresh secret.
    let again = retry(&app, &token, &rec).await;
    assert_eq!(
        (again.status, again.old_version, again.new_version),
        (RecordStatus::Success, Some(2), Some(3)),
        "{again:?}"
    );
    assert!(!ssh_logs_in(&host, "app1", "canary-Reuse-Me-2a").await);
    let v: VerifyOut = verify_account(&app, &token, &app1).await;
    assert_eq!((v.ok, v.account.secret_version), (true, 3), "{v:?}");
}
