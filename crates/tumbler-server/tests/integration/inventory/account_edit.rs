//! Editing an account in the console (#17): its options, its privileged flag (a fresh code)
//! and a new secret are saved by the inventory service and audited without the secret; a
//! refused change writes nothing and never echoes the secret it was sent.

use super::super::support::{audit_events, csrf_in, ok_as, Authenticator};
use super::{account, asset};
use chrono::Utc;
use reqwest::{Client, Method};
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::answers::RevealedSecret;
use tumbler_api_types::audit::AuditEvent;
use tumbler_api_types::inventory::{AccountOut, AssetOut};
use tumbler_api_types::Page;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

const OLD: &str = "canary-Edit-Old-4c1b";
const REFUSED: &str = "canary-Edit-Refused-9d2e";
const NEW: &str = "canary-Edit-New-7e3f";

/// A console session of the administrator, logged in with a code (redirects not followed).
async fn console(app: &TestApp, code: &str) -> Client {
    let client = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD, "totp": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    client
}

/// Posts the edit form; answers the status, where it redirects and the body.
async fn post(
    console: &Client,
    app: &TestApp,
    id: &str,
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let res = console
        .post(app.url(&format!("/accounts/{id}")))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let to = res
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, to, res.text().await.unwrap())
}

async fn get(console: &Client, app: &TestApp, path: &str) -> String {
    let res = console.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    res.text().await.unwrap()
}

async fn stored(app: &TestApp, token: &str, id: &str) -> AccountOut {
    let path = format!("/api/v1/accounts/{id}");
    ok_as(app, token, Method::GET, &path, None, 200).await
}

async fn reveal(app: &TestApp, token: &str, id: &str, code: &str) -> String {
    let path = format!("/api/v1/accounts/{id}/reveal");
    let body = json!({ "totp": code });
    let r: RevealedSecret = ok_as(app, token, Method::POST, &path, Some(body), 200).await;
    r.secret
}

#[tokio::test]
async fn an_account_is_edited_in_the_console_and_a_refusal_writes_nothing() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;
    let console = console(&app, &authenticator.fresh_code()).await;
    let host: AssetOut = asset(
        &app,
        &token,
        json!({"name": "web-e", "address": "10.0.0.9", "platform": "linux"}),
    )
    .await;
    let id = account(&app, &token, &host.id, "app", OLD).await;

    // The asset's page links to the form; the form holds the options and never a secret.
    let asset_page = get(&console, &app, &format!("/assets/{}", host.id)).await;
    assert!(
        asset_page.contains(&format!("href=\"/accounts/{id}/edit\"")),
        "{asset_page}"
    );
    let form = get(&console, &app, &format!("/accounts/{id}/edit")).await;
    assert!(form.contains("name=\"option.become\""), "{form}");
    assert!(form.contains("<option value=\"sudo\" selected>"), "{form}");
    assert!(!form.contains(OLD), "no secret on the form");
    let csrf = csrf_in(&form);

    // Refused: an option the platform does not take (the secret sent along is not echoed).
    let (status, _, body) = post(
        &console,
        &app,
        &id,
        &[
            ("csrf", &csrf),
            ("option.become", "doas"),
            ("password", REFUSED),
        ],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("must be one of sudo, su, none"), "{body}");
    assert!(!body.contains(REFUSED), "the refused secret is not echoed");
    // Refused: the privileged flag without a code.
    let (status, _, body) = post(
        &console,
        &app,
        &id,
        &[
            ("csrf", &csrf),
            ("option.become", "su"),
            ("privileged", "on"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("totp_required"), "{body}");
    let unchanged = stored(&app, &token, &id).await;
    assert!(!unchanged.privileged);
    assert_eq!(
        unchanged.options.get("become").map(String::as_str),
        Some("sudo")
    );
    assert_eq!(unchanged.secret_version, 1, "no new version");
    assert!(audit_events(&app, &token, "account.update")
        .await
        .is_empty());
    assert_eq!(
        reveal(&app, &token, &id, &authenticator.fresh_code()).await,
        OLD
    );

    // Saved: options, privileged (with a code) and a new secret.
    let code = authenticator.fresh_code();
    let (status, to, _) = post(
        &console,
        &app,
        &id,
        &[
            ("csrf", &csrf),
            ("option.become", "su"),
            ("option.shell", "/bin/bash"),
            ("privileged", "on"),
            ("password", NEW),
            ("totp", &code),
        ],
    )
    .await;
    assert_eq!(
        (status, to.as_str()),
        (303, format!("/assets/{}", host.id).as_str())
    );
    let landed = get(&console, &app, &to).await;
    assert!(
        landed.contains("Account app saved: privileged flag, options, secret replaced."),
        "{landed}"
    );
    let saved = stored(&app, &token, &id).await;
    assert!(saved.privileged);
    assert_eq!(saved.options.get("become").map(String::as_str), Some("su"));
    assert_eq!(
        saved.options.get("shell").map(String::as_str),
        Some("/bin/bash")
    );
    assert_eq!(saved.secret_version, 2);
    assert_eq!(
        reveal(&app, &token, &id, &authenticator.fresh_code()).await,
        NEW
    );
    let form = get(&console, &app, &format!("/accounts/{id}/edit")).await;
    assert!(
        form.contains("id=\"account-edit-privileged\" checked"),
        "{form}"
    );
    assert!(!form.contains(NEW), "no secret on the form");

    // Audited: what changed, and never a secret anywhere in the log.
    let updates = audit_events(&app, &token, "account.update").await;
    assert_eq!(updates.len(), 1, "{updates:?}");
    let detail = &updates[0].detail;
    for part in [
        "privileged false -> true",
        "options (become sudo -> su; shell /bin/sh -> /bin/bash)",
        "secret version 2",
    ] {
        assert!(detail.contains(part), "{detail}");
    }
    assert_eq!(audit_events(&app, &token, "account.protect").await.len(), 1);
    let all: Page<AuditEvent> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/audit?limit=500",
        None,
        200,
    )
    .await;
    assert!(all.items.len() > 3);
    let log = serde_json::to_string(&all.items).unwrap();
    for canary in [OLD, REFUSED, NEW] {
        assert!(!log.contains(canary), "{canary} in the audit log");
    }
    // Nothing changes: no write, no audit record.
    let (status, _, _) = post(
        &console,
        &app,
        &id,
        &[
            ("csrf", &csrf),
            ("option.become", "su"),
            ("option.shell", "/bin/bash"),
            ("privileged", "on"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(audit_events(&app, &token, "account.update").await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_key_account_gets_a_new_key_from_the_form_and_a_bad_key_is_refused() {
    use secrecy::ExposeSecret;
    use tumbler_connectors::ssh::generate_key_pair;
    use tumbler_domain::inventory::SecretType;
    use tumbler_domain::ssh_key::KeyAlgorithm;

    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;
    let console = console(&app, &authenticator.fresh_code()).await;
    let host: AssetOut = asset(
        &app,
        &token,
        json!({"name": "keys-e", "address": "10.0.0.8", "platform": "linux"}),
    )
    .await;
    let old = generate_key_pair(KeyAlgorithm::Ed25519, "deploy").unwrap();
    let created: AccountOut = ok_as(
        &app,
        &token,
        Method::POST,
        "/api/v1/accounts",
        Some(
            json!({"asset_id": host.id, "username": "deploy", "secret_type": "ssh_key",
                    "secret": old.expose_secret()}),
        ),
        201,
    )
    .await;
    let id = created.id;
    let form = get(&console, &app, &format!("/accounts/{id}/edit")).await;
    assert!(form.contains("id=\"account-edit-private-key\""), "{form}");
    assert!(
        form.contains("data-fills=\"account-edit-private-key\""),
        "{form}"
    );
    assert!(!form.contains("PRIVATE KEY"), "no key on the form");
    let csrf = csrf_in(&form);

    let (status, _, body) = post(
        &console,
        &app,
        &id,
        &[("csrf", &csrf), ("private_key", "not a key")],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("invalid_request"), "{body}");
    let (status, _, body) = post(
        &console,
        &app,
        &id,
        &[("csrf", &csrf), ("private_key", "x"), ("password", "y")],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("not both"), "{body}");
    assert_eq!(stored(&app, &token, &id).await.secret_version, 1);

    let new = generate_key_pair(KeyAlgorithm::Ed25519, "deploy").unwrap();
    let (status, _, _) = post(
        &console,
        &app,
        &id,
        &[("csrf", &csrf), ("private_key", new.expose_secret())],
    )
    .await;
    assert_eq!(status, 303);
    let saved = stored(&app, &token, &id).await;
    assert_eq!(
        (saved.secret_version, saved.secret_type),
        (2, SecretType::SshKey)
    );
    let revealed = reveal(&app, &token, &id, &authenticator.fresh_code()).await;
    assert_eq!(revealed.trim(), new.expose_secret().trim());
    let updates = audit_events(&app, &token, "account.update").await;
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert!(
        !updates[0].detail.contains("PRIVATE KEY"),
        "{:?}",
        updates[0]
    );
    app.stop().await;
}
