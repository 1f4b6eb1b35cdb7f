//! Operational endpoints, the error shape, headers and the OpenAPI document.

use super::support::error_code;
use serde_json::Value;
use tumbler_api_types::answers::Readiness;
use tumbler_testkit::app::TestApp;

#[tokio::test]
async fn health_readiness_metrics_and_headers() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(!h["x-request-id"].is_empty());

    let ready: Readiness = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready.status, "ready");

    let metrics = app.get_text("/metrics").await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("tumbler_http_requests_total{class=\"2xx\"}"))
        .unwrap();
    let count: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        count >= 2,
        "two 2xx answers counted before this one: {line}"
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_bad_bodies_get_json_errors_with_codes() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(app.url("/api/v1/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "not_found");

    let res = app
        .client
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "unauthenticated");

    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn openapi_document_lists_the_skeleton() {
    let app = TestApp::spawn().await;
    // The OpenAPI document is raw JSON by nature: no API type describes it.
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/healthz",
        "/readyz",
        "/api/v1/auth/login",
        "/api/v1/users/me/password",
        "/api/v1/users/me/tokens",
        "/api/v1/audit/verify",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    app.stop().await;
}
