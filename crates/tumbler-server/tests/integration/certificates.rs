//! X.509 client certificates: registered with subject and expiry, never a private key.

use chrono::{Duration, Utc};
use reqwest::Client;
use serde_json::{json, Value};
use std::process::Command;
use std::sync::Arc;
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
async fn certificates_are_registered_with_subject_and_expiry() {
    let logs = tumbler_testkit::logs::LogCapture::install();
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
            .json(&json!({"pem": pem}))
            .send()
    };
    let res = post(&pem).await.unwrap();
    assert_eq!(
        res.status(),
        201,
        "{}",
        logs.contents()
            .lines()
            .filter(|l| l.contains("ERROR"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let body: Value = res.json().await.unwrap();
    assert!(
        body["subject"]
            .as_str()
            .unwrap()
            .contains("CN=alice-laptop"),
        "{body}"
    );
    let not_after: chrono::DateTime<Utc> = body["not_after"].as_str().unwrap().parse().unwrap();
    assert!(not_after > Utc::now() && not_after < Utc::now() + Duration::days(2));
    assert_eq!(body["sha256"].as_str().unwrap().len(), 64);

    let res = post(&pem).await.unwrap();
    assert_eq!(res.status(), 409);
    let res = post(&key).await.unwrap();
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "invalid_certificate");
    assert!(
        !err.to_string().contains("PRIVATE KEY-----\n"),
        "the key is not echoed back"
    );
    assert_eq!(post("hello").await.unwrap().status(), 400);

    clock.advance(Duration::days(2));
    let (late, _) = self_signed(dir.path(), "too-late");
    let res = post(&late).await.unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "certificate_expired"
    );

    let list: Value = Client::new()
        .get(app.url("/api/v1/users/me/certificates"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    let id = list["items"][0]["id"].as_str().unwrap();
    let res = Client::new()
        .delete(app.url(&format!("/api/v1/users/me/certificates/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    app.stop().await;
}
