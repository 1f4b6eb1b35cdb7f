//! Webhooks: created with a secret shown once, a finished run posted signed (HMAC-SHA256 over
//! timestamp and body, checked here independently), a failed delivery retried with the same
//! delivery id, every delivery audited; bad URLs refused.

use super::support::{call, error_field, ok, ok_as, typed};
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tumbler_api_types::answers::ExecutionStarted;
use tumbler_api_types::change_secret::TaskView;
use tumbler_api_types::webhooks::{WebhookCreated, WebhookView};
use tumbler_testkit::app::TestApp;

/// Adds a webhook posting to `url`; the answer holds its secret.
async fn create_webhook(app: &TestApp, token: &str, url: &str) -> WebhookCreated {
    ok_as(
        app,
        token,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"url": url})),
        201,
    )
    .await
}

/// Starts a run of the task; returns the execution's id.
async fn execute(app: &TestApp, token: &str, task: &str) -> String {
    let started: ExecutionStarted = ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/tasks/{task}/execute"),
        None,
        202,
    )
    .await;
    started.execution_id.to_string()
}

/// What the receiver got: headers and body of every request.
type Received = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A receiver on loopback that answers 500 to the first request and 200 afterwards.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                let mut all = seen.lock().unwrap();
                all.push((headers, body.to_vec()));
                if all.len() == 1 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/hook?token=query-canary",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn a_finished_run_is_posted_signed_and_retried() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    for (url, why) in [
        ("ftp://example.test/x", "scheme"),
        ("http://user:pw@example.test/x", "credentials"),
        ("not a url", "syntax"),
    ] {
        let (status, out) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": url})),
        )
        .await;
        assert_eq!(status, 400, "{why}: {out}");
        assert_eq!(error_field(&out).as_deref(), Some("url"));
    }
    let (url, got) = receiver().await;
    let created = create_webhook(&app, &token, &url).await;
    let secret = created.secret;
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    let hook_id = created.webhook.id;
    let listed = ok(&app, &token, Method::GET, "/api/v1/webhooks", None, 200).await;
    assert_eq!(typed::<Vec<WebhookView>>(listed.clone()).len(), 1);
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once only"
    );

    // A run (of a task whose asset no longer exists: it ends at once).
    let t: TaskView = ok_as(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(json!({"name": "hooked", "usernames": ["nobody"], "asset_ids": ["gone"], "secret_strategy": "random"})),
        201,
    )
    .await;
    let exec_id = execute(&app, &token, t.id.as_str()).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "the delivery was not retried");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deliveries = got.lock().unwrap().clone();
    assert_eq!(deliveries.len(), 2, "delivered once after one failure");
    let (first, second) = (&deliveries[0], &deliveries[1]);
    assert_eq!(
        header(&first.0, "x-tumbler-event"),
        "change_execution.finished"
    );
    assert_eq!(
        header(&first.0, "x-tumbler-delivery"),
        header(&second.0, "x-tumbler-delivery"),
        "a retry keeps the delivery id"
    );
    for (headers, body) in &deliveries {
        let timestamp = header(headers, "x-tumbler-timestamp");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(header(headers, "x-tumbler-signature"), expected);
        // Raw JSON: the delivered event is the webhook's payload, not an API answer.
        let event: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(event["event"], "change_execution.finished");
        assert_eq!(event["execution"]["id"], exec_id.as_str());
        assert!(event["execution"]["status"].is_string(), "{event}");
        assert!(!String::from_utf8_lossy(body).contains(&secret));
    }
    // The delivery is audited with its attempt count; the URL's token is not.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let audit = ok(
            &app,
            &token,
            Method::GET,
            "/api/v1/audit?limit=200",
            None,
            200,
        )
        .await;
        let text = audit.to_string();
        assert!(!text.contains("query-canary") && !text.contains(&secret));
        if text.contains("delivered (attempt 2)") {
            break;
        }
        assert!(Instant::now() < deadline, "no audited delivery: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ok(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/webhooks/{hook_id}"),
        None,
        204,
    )
    .await;
    let (status, _) = call(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/webhooks/{hook_id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

/// A receiver on loopback that answers 200 to every request.
async fn accepting_receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push((headers, body.to_vec()));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

/// A run that really changes passwords on an sshd host (a specified one and a random one, one
/// account failing) is posted with its outcome, and no password, old or new, is in any
/// delivered body or header.
#[tokio::test]
async fn a_run_that_changes_real_accounts_posts_no_secret() {
    use super::change_secret::{
        account, linux_asset, records, ssh_logs_in, task, wait_for_execution, APP_PASSWORD,
        OPS_PASSWORD,
    };
    use tumbler_testkit::sshd::{SshHost, TestUser};
    const SPECIFIED: &str = "canary-Hook-Specified-0d3";
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let (url, got) = accepting_receiver().await;
    let hook_secret = create_webhook(&app, &token, &url).await.secret;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
        TestUser::new("app2", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "hooked", &host).await;
    account(
        &app,
        &token,
        &asset,
        "ops",
        OPS_PASSWORD,
        true,
        json!({"become": "sudo"}),
    )
    .await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    account(&app, &token, &asset, "app2", APP_PASSWORD, false, json!({})).await;
    // ghost has an account in Tumbler but no user on the host: its change fails.
    account(
        &app,
        &token,
        &asset,
        "ghost",
        "canary-Ghost-Old-5a",
        false,
        json!({}),
    )
    .await;
    let specified = task(
        &app,
        &token,
        json!({"name": "hook specified", "usernames": ["app2", "ghost"], "asset_ids": [asset],
               "secret_strategy": "specified", "secret": SPECIFIED}),
    )
    .await;
    let random = task(
        &app,
        &token,
        json!({"name": "hook random", "usernames": ["app1"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let mut execs = Vec::new();
    for t in [&specified, &random] {
        let id = execute(&app, &token, t).await;
        execs.push(wait_for_execution(&app, &token, &id).await);
    }
    assert_eq!(execs[0].status.as_str(), "partial", "{:?}", execs[0]);
    assert_eq!(execs[1].status.as_str(), "succeeded", "{:?}", execs[1]);
    assert!(ssh_logs_in(&host, "app2", SPECIFIED).await);
    let rs = records(&app, &token, execs[0].id.as_str()).await;
    assert!(rs.iter().any(|r| r.status.as_str() == "failed"), "{rs:?}");
    let row = app
        .services
        .store
        .account(&tumbler_domain::ids::AccountId::from_string(app1.clone()))
        .await
        .unwrap()
        .unwrap();
    let random_new = app
        .services
        .vault
        .open_secret(
            tumbler_domain::secret_owner::SecretOwner::Account,
            &app1,
            row.current_version,
        )
        .await
        .unwrap();
    let random_new = String::from_utf8(random_new.to_vec()).unwrap();
    assert!(ssh_logs_in(&host, "app1", &random_new).await);

    let deadline = Instant::now() + Duration::from_secs(60);
    while got.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "both runs were not delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deliveries = got.lock().unwrap().clone();
    let mut seen = Vec::new();
    for (headers, body) in &deliveries {
        let text = String::from_utf8_lossy(body);
        // Raw JSON: the delivered event is the webhook's payload, not an API answer.
        let event: Value = serde_json::from_slice(body).unwrap();
        seen.push((
            event["execution"]["id"].as_str().unwrap().to_owned(),
            event["execution"]["status"].as_str().unwrap().to_owned(),
        ));
        let all_headers = format!("{headers:?}");
        for canary in [
            SPECIFIED,
            random_new.as_str(),
            APP_PASSWORD,
            OPS_PASSWORD,
            "canary-Ghost-Old-5a",
            hook_secret.as_str(),
        ] {
            assert!(
                !text.contains(canary),
                "a secret in a delivered body: {text}"
            );
            assert!(!all_headers.contains(canary), "a secret in a header");
        }
    }
    seen.sort();
    let mut expected: Vec<(String, String)> = execs
        .iter()
        .map(|e| (e.id.as_str().to_owned(), e.status.as_str().to_owned()))
        .collect();
    expected.sort();
    assert_eq!(seen, expected, "each run delivered once with its outcome");
}
