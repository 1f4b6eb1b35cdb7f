//! X.509 client certificates over plain HTTP: none is presented, so none is registered (the
//! TLS registration is tested in `credentials`); a pasted private key is not echoed.

use super::support::error_code;
use chrono::{Duration, Utc};
use reqwest::Client;
use serde_json::{json, Value};
use std::process::Command;
use std::sync::Arc;
use tumbler_api_types::certificates::CertificateOut;
use tumbler_api_types::Page;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};

fn self_signed(dir: &std::path::Path, cn: &str) -> (String, String) {
    let (cert, key) = (dir.join(format!("{cn}.pem")), dir.join(format!("{cn}.key")));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args(["-subj", &format!("/CN={cn}/O=Tumbler Tests")])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        std::fs::read_to_string(cert).unwrap(),
        std::fs::read_to_string(key).unwrap(),
    )
}

#[tokio::test]
async fn without_a_presented_certificate_nothing_is_registered() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let dir = tempfile::tempdir().unwrap();
    let (pem, key) = self_signed(dir.path(), "alice-laptop");
    let post = |pem: &str| {
        Client::new()
            .post(app.url("/api/v1/users/me/certificates"))
            .bearer_auth(&token)
            .json(&json!({"pem": pem, "current_password": tumbler_testkit::app::ADMIN_PASSWORD}))
            .send()
    };
    // Plain HTTP carries no client certificate: a pasted one (anyone's) is not registered.
    let res = post(&pem).await.unwrap();
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(error_code(&err), "certificate_not_presented");
    let res = post(&key).await.unwrap();
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert!(
        !err.to_string().contains("PRIVATE KEY-----\n"),
        "the key is not echoed back"
    );
    clock.advance(Duration::days(2));
    let list: Page<CertificateOut> = Client::new()
        .get(app.url("/api/v1/users/me/certificates"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.total, 0);
    app.stop().await;
}
