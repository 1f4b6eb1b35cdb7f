//! Webhooks: created with a secret shown once, a finished run posted signed (HMAC-SHA256 over
//! timestamp and body, checked here independently), a failed delivery retried with the same
//! delivery id, every delivery audited; bad URLs refused.

use super::support::{call, ok};
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tumbler_testkit::app::TestApp;

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
        assert_eq!(out["error"]["details"]["field"], "url");
    }
    let (url, got) = receiver().await;
    let created = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/webhooks",
        Some(json!({"url": url})),
        201,
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{created}"
    );
    let hook_id = created["webhook"]["id"].as_str().unwrap().to_owned();
    let listed = ok(&app, &token, Method::GET, "/api/v1/webhooks", None, 200).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once only"
    );

    // A run (of a task whose asset no longer exists: it ends at once).
    let t = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(json!({"name": "hooked", "usernames": ["nobody"], "asset_ids": ["gone"], "secret_strategy": "random"})),
        201,
    )
    .await;
    let started = ok(
        &app,
        &token,
        Method::POST,
        &format!(
            "/api/v1/change-secret/tasks/{}/execute",
            t["id"].as_str().unwrap()
        ),
        None,
        202,
    )
    .await;
    let exec_id = started["execution_id"].as_str().unwrap().to_owned();
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
