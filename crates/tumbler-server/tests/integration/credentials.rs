//! Credentials a stolen session or token could add, and the client certificates: only the
//! certificate presented on the connection (so verified against the client CA, its key held)
//! is registered, after the current password or a fresh code; certificates authenticate API
//! clients only, never a cross-site form; certificate logins pass the source throttle; a
//! password change or reset ends tokens and certificates.

use super::tls::pki;
use reqwest::{Client, Identity};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tumbler_domain::SystemClock;
use tumbler_server::config::TlsConfig;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

/// A TLS app that accepts client certificates of the test CA, its admin activated.
struct TlsApp {
    app: TestApp,
    pki: PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsApp {
    async fn start(max_failures_per_source: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pki = pki(dir.path());
        let tls = TlsConfig {
            cert_file: pki.join("server.pem"),
            key_file: pki.join("server.key"),
            client_ca_file: Some(pki.join("ca.pem")),
        };
        let app = TestApp::spawn_configured(StoreKind::Sqlite, Arc::new(SystemClock), |c| {
            c.tls = Some(tls);
            c.auth.max_failures_per_source = max_failures_per_source;
        })
        .await;
        let me = Self {
            app,
            pki,
            _dir: dir,
        };
        let temp = me.app.initial_admin_password.clone();
        let res = me
            .client(None)
            .post(me.app.url("/api/v1/users/me/password"))
            .basic_auth("admin", Some(&temp))
            .json(&json!({"old_password": temp, "new_password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        me
    }

    fn read(&self, f: &str) -> Vec<u8> {
        std::fs::read(self.pki.join(f)).unwrap()
    }

    /// A client trusting the server, presenting `who`'s certificate when given.
    fn client(&self, who: Option<&str>) -> Client {
        let root = reqwest::Certificate::from_pem(&self.read("server.pem")).unwrap();
        let mut b = Client::builder().add_root_certificate(root);
        if let Some(who) = who {
            let mut pem = self.read(&format!("{who}.key"));
            pem.extend(self.read(&format!("{who}.pem")));
            b = b.identity(Identity::from_pem(&pem).unwrap());
        }
        b.build().unwrap()
    }

    fn pem(&self, who: &str) -> String {
        String::from_utf8(self.read(&format!("{who}.pem"))).unwrap()
    }

    async fn token(&self) -> String {
        let res: Value = self
            .client(None)
            .post(self.app.url("/api/v1/users/me/tokens"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&json!({"name": "t"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        res["token"].as_str().unwrap().to_owned()
    }

    async fn register(&self, who: Option<&str>, token: &str, body: Value) -> (u16, Value) {
        let res = self
            .client(who)
            .post(self.app.url("/api/v1/users/me/certificates"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn audit(&self, token: &str, action: &str) -> Vec<Value> {
        let page: Value = self
            .client(None)
            .get(
                self.app
                    .url(&format!("/api/v1/audit?action={action}&limit=500")),
            )
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["items"].as_array().unwrap().clone()
    }

    async fn me_with(&self, who: &str) -> u16 {
        self.client(Some(who))
            .get(self.app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

#[tokio::test]
async fn only_the_presented_certificate_is_registered_after_reauthentication() {
    let t = TlsApp::start(50).await;
    let token = t.token().await;
    let alice = t.pem("alice");
    let pw = json!({"current_password": ADMIN_PASSWORD});

    // Pasting a colleague's certificate is not enough: the connection must present it.
    let (status, body) = t
        .register(
            None,
            &token,
            json!({"pem": alice, "current_password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("certificate_not_presented"))
    );
    let (status, body) = t
        .register(
            Some("mallory"),
            &token,
            json!({"pem": alice, "current_password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("certificate_not_presented"))
    );

    // A stolen token alone cannot add a credential.
    let (status, body) = t.register(Some("alice"), &token, json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("reauthentication_required"))
    );
    let (status, body) = t
        .register(
            Some("alice"),
            &token,
            json!({"current_password": "Not-The-Password-1"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("wrong_current_password"))
    );

    let (status, body) = t.register(Some("alice"), &token, pw.clone()).await;
    assert_eq!(status, 201, "{body}");
    assert!(
        body["subject"].as_str().unwrap().contains("CN=alice"),
        "{body}"
    );
    assert_eq!(body["sha256"].as_str().unwrap().len(), 64);
    let (status, _) = t.register(Some("alice"), &token, pw.clone()).await;
    assert_eq!(status, 409, "registered once");
    assert_eq!(t.me_with("alice").await, 200);
    assert_eq!(
        t.me_with("mallory").await,
        401,
        "signed by the CA but not registered"
    );
    let list: Value = t
        .client(None)
        .get(t.app.url("/api/v1/users/me/certificates"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1);
    assert!(list["items"][0]["not_after"].is_string());

    // A password change ends the certificate and the token.
    let res = t
        .client(None)
        .post(t.app.url("/api/v1/users/me/password"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({"old_password": ADMIN_PASSWORD, "new_password": "Rotated-Passphrase-After-Theft-8"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(t.me_with("alice").await, 401, "the certificate was removed");
    let res = t
        .client(None)
        .get(t.app.url("/api/v1/users/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the token was revoked");
    t.app.stop().await;
}

#[tokio::test]
async fn a_cross_site_form_cannot_use_a_client_certificate() {
    let t = TlsApp::start(50).await;
    let token = t.token().await;
    let (status, _) = t
        .register(
            Some("alice"),
            &token,
            json!({"pem": t.pem("alice"), "current_password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(status, 201);
    let created: Value = t
        .client(None)
        .post(t.app.url("/api/v1/users"))
        .bearer_auth(&token)
        .json(&json!({"username": "bob", "roles": ["operator"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bob = created["user"]["id"].as_str().unwrap().to_owned();
    let unlock = t.app.url(&format!("/api/v1/users/{bob}/unlock"));
    // What Chromium sends for a cross-site <form method=post> auto-submitted by another site:
    // no cookie (SameSite), the client certificate, and its origin headers.
    let res = t
        .client(Some("alice"))
        .post(&unlock)
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-dest", "document")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "csrf_failed"
    );
    // A script's same-site fetch is refused too (the console uses its session, not this).
    let res = t
        .client(Some("alice"))
        .post(&unlock)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(
        t.audit(&token, "user.unlock").await.is_empty(),
        "nothing was unlocked"
    );
    // An API client (no browser headers) uses the certificate as before.
    let res = t.client(Some("alice")).post(&unlock).send().await.unwrap();
    assert_eq!(res.status(), 204);
    t.app.stop().await;
}

#[tokio::test]
async fn certificate_logins_pass_the_source_throttle() {
    let t = TlsApp::start(3).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(t.me_with("mallory").await);
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 429],
        "unregistered certificates are counted"
    );
    t.app.stop().await;
}
