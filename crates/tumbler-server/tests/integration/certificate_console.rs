//! The X.509 Certificate page removes a certificate only after its dialog's confirmation,
//! naming the certificate; a remove posted without it leaves the certificate working.

use super::credentials::TlsApp;
use super::support::{csrf_in, typed};
use reqwest::Client;
use serde_json::json;
use tumbler_api_types::certificates::CertificateOut;
use tumbler_testkit::app::ADMIN_PASSWORD;

async fn page(t: &TlsApp, console: &Client) -> String {
    console
        .get(t.app.url("/account/certificate"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_certificate_remove_without_confirmation_removes_nothing() {
    let t = TlsApp::start(50).await;
    let token = t.token().await;
    let (status, body) = t
        .register(
            Some("alice"),
            &token,
            json!({"current_password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let registered: CertificateOut = typed(body);
    assert_eq!(t.me_with("alice").await, 200);

    let console = t.console();
    let res = console
        .post(t.app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let shown = page(&t, &console).await;
    assert!(
        shown.contains("remove-certificate-what")
            && shown.contains("alice")
            && shown.contains("It no longer logs you in"),
        "the dialog names what goes: {shown}"
    );
    let csrf = csrf_in(&shown);
    let address = t
        .app
        .url(&format!("/account/certificate/{}/remove", registered.id));

    let res = console
        .post(&address)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let shown = page(&t, &console).await;
    assert!(
        shown.contains("Nothing was deleted") && shown.contains("confirmation_required"),
        "{shown}"
    );
    assert_eq!(t.me_with("alice").await, 200, "nothing was removed");

    let res = console
        .post(&address)
        .form(&[("csrf", csrf.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let shown = page(&t, &console).await;
    assert!(
        shown.contains("removed; it no longer logs you in") && shown.contains("alice"),
        "{shown}"
    );
    assert_eq!(t.me_with("alice").await, 401, "the certificate was removed");
    t.app.stop().await;
}
