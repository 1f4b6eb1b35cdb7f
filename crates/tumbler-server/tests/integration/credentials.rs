//! Credentials a stolen session or token could add, and the client certificates: only the
//! certificate presented on the connection (so verified against the client CA, its key held)
//! is registered, after the current password or a fresh code; certificates authenticate API
//! clients only, never a cross-site form; certificate logins pass the source throttle; a
//! password change or reset ends tokens and certificates.

use super::support::{error_code, typed};
use super::tls::{openssl, pki};
use reqwest::{Client, Identity};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tumbler_api_types::certificates::CertificateOut;
use tumbler_api_types::users::{CreatedToken, CreatedUserOut};
use tumbler_api_types::Page;
use tumbler_domain::audit::AuditEvent;
use tumbler_domain::SystemClock;
use tumbler_server::config::TlsConfig;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

/// A TLS app that accepts client certificates of the test CA, its admin activated.
pub(super) struct TlsApp {
    pub(super) app: TestApp,
    pki: PathBuf,
    /// The certificate clients trust the server by: its own, or the CA that signed it.
    root: &'static str,
    _dir: tempfile::TempDir,
}

impl TlsApp {
    pub(super) async fn start(max_failures_per_source: u32) -> Self {
        Self::start_with(max_failures_per_source, false).await
    }

    /// With `ca_signed_server`, the server's certificate is signed by the test CA (a browser
    /// trusts a CA, not a self-signed leaf) and clients trust the CA.
    async fn start_with(max_failures_per_source: u32, ca_signed_server: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pki = pki(dir.path());
        let (server, root) = if ca_signed_server {
            ca_signed_server_certificate(&pki);
            ("server-ca", "ca.pem")
        } else {
            ("server", "server.pem")
        };
        let tls = TlsConfig {
            cert_file: pki.join(format!("{server}.pem")),
            key_file: pki.join(format!("{server}.key")),
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
            root,
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

    pub(super) fn read(&self, f: &str) -> Vec<u8> {
        std::fs::read(self.pki.join(f)).unwrap()
    }

    /// A client trusting the server, presenting `who`'s certificate when given.
    pub(super) fn client(&self, who: Option<&str>) -> Client {
        let root = reqwest::Certificate::from_pem(&self.read(self.root)).unwrap();
        let mut b = Client::builder().add_root_certificate(root);
        if let Some(who) = who {
            let mut pem = self.read(&format!("{who}.key"));
            pem.extend(self.read(&format!("{who}.pem")));
            b = b.identity(Identity::from_pem(&pem).unwrap());
        }
        b.build().unwrap()
    }

    /// A console client: trusts the server, keeps cookies, follows no redirect.
    pub(super) fn console(&self) -> Client {
        self.console_as(None)
    }

    /// A console client presenting `who`'s certificate when given.
    pub(super) fn console_as(&self, who: Option<&str>) -> Client {
        let root = reqwest::Certificate::from_pem(&self.read(self.root)).unwrap();
        let mut b = Client::builder().add_root_certificate(root);
        if let Some(who) = who {
            let mut pem = self.read(&format!("{who}.key"));
            pem.extend(self.read(&format!("{who}.pem")));
            b = b.identity(Identity::from_pem(&pem).unwrap());
        }
        b.cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub(super) fn pem(&self, who: &str) -> String {
        String::from_utf8(self.read(&format!("{who}.pem"))).unwrap()
    }

    pub(super) async fn token(&self) -> String {
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
        typed::<CreatedToken>(res).token
    }

    pub(super) async fn register(
        &self,
        who: Option<&str>,
        token: &str,
        body: Value,
    ) -> (u16, Value) {
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

    /// The admin registers alice's certificate (presenting it) and creates the user bob;
    /// returns the URL that unlocks bob.
    async fn alice_registered_and_bob(&self, token: &str) -> String {
        let (status, body) = self
            .register(
                Some("alice"),
                token,
                json!({"pem": self.pem("alice"), "current_password": ADMIN_PASSWORD}),
            )
            .await;
        assert_eq!(
            status, 201,
            "the admin registers alice's certificate: {body}"
        );
        let created: Value = self
            .client(None)
            .post(self.app.url("/api/v1/users"))
            .bearer_auth(token)
            .json(&json!({"username": "bob", "roles": ["operator"], "current_password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let bob = typed::<CreatedUserOut>(created).user.user.id;
        self.app.url(&format!("/api/v1/users/{bob}/unlock"))
    }

    async fn audit(&self, token: &str, action: &str) -> Vec<AuditEvent> {
        let page: Page<AuditEvent> = self
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
        page.items
    }

    pub(super) async fn me_with(&self, who: &str) -> u16 {
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
        (status, error_code(&body).as_str()),
        (400, "certificate_not_presented")
    );
    let (status, body) = t
        .register(
            Some("mallory"),
            &token,
            json!({"pem": alice, "current_password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "certificate_not_presented")
    );

    // A stolen token alone cannot add a credential.
    let (status, body) = t.register(Some("alice"), &token, json!({})).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (403, "reauthentication_required")
    );
    let (status, body) = t
        .register(
            Some("alice"),
            &token,
            json!({"current_password": "Not-The-Password-1"}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "wrong_current_password")
    );

    let (status, body) = t.register(Some("alice"), &token, pw.clone()).await;
    assert_eq!(status, 201, "{body}");
    let registered: CertificateOut = typed(body);
    assert!(
        registered.subject.contains("CN=alice"),
        "{}",
        registered.subject
    );
    assert_eq!(registered.sha256.len(), 64);
    let (status, _) = t.register(Some("alice"), &token, pw.clone()).await;
    assert_eq!(status, 409, "registered once");
    assert_eq!(t.me_with("alice").await, 200);
    assert_eq!(
        t.me_with("mallory").await,
        401,
        "signed by the CA but not registered"
    );
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
    assert_eq!(list.total, 1);
    assert!(list.items[0].not_after > chrono::Utc::now());

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
    let unlock = t.alice_registered_and_bob(&token).await;
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
        error_code(&res.json::<Value>().await.unwrap()),
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

/// Chromium's managed policy, written by scripts/test-deps: Chromium presents a certificate
/// issued by the test CA ("CN=Test CA") to https://127.0.0.1 on any port without asking.
const CERT_POLICY: &str = "/etc/chromium/policies/managed/tumbler-test-client-certificate.json";

/// Runs an NSS tool (package libnss3-tools), panicking with its output if it fails.
fn nss(program: &str, args: &[&str]) {
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program} (libnss3-tools, run scripts/test-deps): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Signs a server certificate for 127.0.0.1 with the test CA: `server-ca.pem`/`server-ca.key`.
fn ca_signed_server_certificate(pki: &std::path::Path) {
    let p = |f: &str| pki.join(f).to_str().unwrap().to_owned();
    std::fs::write(
        pki.join("server.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &p("server-ca.key"),
        "-out",
        &p("server-ca.csr"),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p("server-ca.csr"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &p("server.ext"),
        "-out",
        &p("server-ca.pem"),
    ]);
}

/// A HOME whose NSS database (`~/.pki/nssdb`, where Chromium on Linux looks) trusts the test
/// CA for servers and holds `who`'s client certificate and key.
fn browser_home(pki: &std::path::Path, who: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let db_dir = home.path().join(".pki").join("nssdb");
    std::fs::create_dir_all(&db_dir).unwrap();
    let db = format!("sql:{}", db_dir.display());
    let p = |f: &str| pki.join(f).to_str().unwrap().to_owned();
    nss("certutil", &["-N", "-d", &db, "--empty-password"]);
    nss(
        "certutil",
        &[
            "-A",
            "-d",
            &db,
            "-n",
            "Tumbler test CA",
            "-t",
            "C,,",
            "-i",
            &p("ca.pem"),
        ],
    );
    let p12 = p(&format!("{who}.p12"));
    openssl(&[
        "pkcs12",
        "-export",
        "-in",
        &p(&format!("{who}.pem")),
        "-inkey",
        &p(&format!("{who}.key")),
        "-name",
        who,
        "-passout",
        "pass:",
        "-out",
        &p12,
    ]);
    nss("pk12util", &["-i", &p12, "-d", &db, "-W", ""]);
    home
}

/// Serves `html` at `/` on another loopback port (another origin than the server's);
/// returns the page's URL and the task serving it.
async fn serve_page(html: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let page = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    let task = tokio::spawn(async move {
        axum::serve(listener, page).await.unwrap();
    });
    (format!("http://{addr}/"), task)
}

#[tokio::test]
async fn browser_cross_site_form_cannot_use_a_client_certificate() {
    let policy = std::fs::read_to_string(CERT_POLICY)
        .unwrap_or_else(|e| panic!("{CERT_POLICY} (run scripts/test-deps): {e}"));
    assert!(policy.contains("AutoSelectCertificateForUrls"), "{policy}");
    let t = TlsApp::start_with(50, true).await;
    let token = t.token().await;
    let unlock = t.alice_registered_and_bob(&token).await;
    assert!(unlock.starts_with("https://127.0.0.1:"), "{unlock}");

    // Another site (another origin: http, another port) auto-submits a form to the server;
    // Chromium holds the admin's certificate and presents it without asking.
    let (evil, page_task) = serve_page(format!(
        r#"<!doctype html><html><body><form id="f" method="post" action="{unlock}"><input type="hidden" name="x" value="1"></form><script>document.getElementById("f").submit();</script></body></html>"#
    ))
    .await;
    let home = browser_home(&t.pki, "alice");
    let browser = tumbler_testkit::browser::Browser::start_with_home(home.path()).await;
    // The server's JSON answer is the page now. `csrf_failed` (not `unauthenticated`) also
    // proves Chromium trusted the server and presented the certificate: without one the
    // server answers 401. Without the policy Chromium waits for a certificate choice forever.
    let submitted = async {
        browser.goto(&evil).await;
        browser
            .wait_for_text("body", "csrf_failed", std::time::Duration::from_secs(30))
            .await
    };
    let body = tokio::time::timeout(std::time::Duration::from_secs(60), submitted)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "Chromium did not load the form's answer within 60 s: is {CERT_POLICY} in place?"
            )
        });
    assert!(
        body.contains("client certificate authenticates API clients only"),
        "{body}"
    );
    assert_eq!(
        browser.current_url().await,
        unlock,
        "the form was submitted"
    );
    browser.close().await;
    page_task.abort();
    assert!(
        t.audit(&token, "user.unlock").await.is_empty(),
        "nothing was unlocked"
    );

    // Control: the same certificate without a browser's headers authenticates and unlocks.
    let res = t.client(Some("alice")).post(&unlock).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(t.audit(&token, "user.unlock").await.len(), 1);
    t.app.stop().await;
}
