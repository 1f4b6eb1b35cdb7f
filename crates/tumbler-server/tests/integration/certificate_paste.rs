//! The X.509 tab takes only the certificate from a pasted bundle of key and certificate,
//! discards the key and says it must be treated as exposed; on a server without TLS it says
//! certificate login cannot work.

use super::credentials::TlsApp;
use super::support::{console_admin, csrf_in};
use reqwest::Client;
use serde_json::json;
use sha2::{Digest, Sha256};
use tumbler_api_types::certificates::CertificateOut;
use tumbler_api_types::Page;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

async fn text(console: &Client, url: String) -> String {
    console.get(url).send().await.unwrap().text().await.unwrap()
}

/// The DER of the first certificate in `pem`, hashed as the API shows it.
fn sha256_of(pem: &str) -> String {
    use base64::Engine;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    hex::encode(Sha256::digest(der))
}

#[tokio::test]
async fn a_pasted_key_and_certificate_bundle_registers_only_the_certificate_and_warns() {
    let t = TlsApp::start(50).await;
    let console = t.console_as(Some("alice"));
    let res = console
        .post(t.app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let shown = text(&console, t.app.url("/account/certificate")).await;
    assert!(
        !shown.contains("certificate-no-tls"),
        "a TLS server has no such note: {shown}"
    );
    let csrf = csrf_in(&shown);
    let key = String::from_utf8(t.read("alice.key")).unwrap();
    assert!(key.contains("PRIVATE KEY-----"), "{key}");

    // A bundle whose certificate is not the one presented: refused, and still the warning.
    let mallory = format!("{key}\n{}", t.pem("mallory"));
    let res = console
        .post(t.app.url("/account/certificate"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("pem", mallory.as_str()),
            ("current_password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let shown = text(&console, t.app.url("/account/certificate")).await;
    assert!(
        shown.contains("certificate_not_presented") && shown.contains("treat it as exposed"),
        "{shown}"
    );

    let bundle = format!("{key}\n{}", t.pem("alice"));
    let res = console
        .post(t.app.url("/account/certificate"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("pem", bundle.as_str()),
            ("current_password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let shown = text(&console, t.app.url("/account/certificate")).await;
    assert!(
        shown.contains("Certificate registered")
            && shown.contains("private key you pasted with it was discarded")
            && shown.contains("treat it as exposed")
            && shown.contains("private_key_discarded"),
        "the flash warns: {shown}"
    );
    assert!(
        !shown.contains("PRIVATE KEY") && !shown.contains(key.lines().nth(1).unwrap()),
        "the key is not echoed: {shown}"
    );

    // Stored: alice's certificate, once, and it logs in.
    let token = t.token().await;
    let list: Page<CertificateOut> = t
        .client(None)
        .get(t.app.url("/api/v1/users/me/certificates"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hashes: Vec<_> = list.items.iter().map(|c| c.sha256.clone()).collect();
    assert_eq!(hashes, [sha256_of(&t.pem("alice"))]);
    assert_eq!(t.me_with("alice").await, 200);
    t.app.stop().await;
}

#[tokio::test]
async fn without_tls_the_tab_says_certificate_login_cannot_work() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let console = console_admin(&app).await;
    let shown = text(&console, app.url("/account/certificate")).await;
    assert!(
        shown.contains("id=\"certificate-no-tls\"")
            && shown.contains("certificate login cannot work here"),
        "{shown}"
    );
    app.stop().await;
}
