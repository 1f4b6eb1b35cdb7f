//! SSH host keys are pinned on first contact, acknowledged, and a changed key stops the login
//! before any credential is sent; testing an asset pins its key, and trust on first use (when an
//! administrator turns it on) sends passwords.

use super::super::support::{call, error_code, ok, ok_as, typed, Authenticator};
use super::{account, admin, asset, get_asset, set_secret, verify, ALICE_PASSWORD};
use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tumbler_api_types::{inventory::AssetOut, Page};
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::logs::LogCapture;
use tumbler_testkit::sshd::{SshHost, TestUser};

#[tokio::test]
async fn ssh_host_keys_are_pinned_acknowledged_and_a_changed_key_stops_the_login() {
    let logs = LogCapture::install();
    let mut host = SshHost::start(&[TestUser::new("alice", ALICE_PASSWORD)])
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let token = admin(&app).await;
    let web = asset(
        &app,
        &token,
        json!({"name": "web-1", "address": host.address(), "port": host.port(), "platform": "linux", "nodes": ["/Default/Prod/Web"]}),
    )
    .await;
    let asset_id = web.id.clone();
    assert_eq!(web.host_key_status, "unverified");
    assert_eq!(web.host_key_fingerprint, None);
    assert_eq!(web.connectivity, "unknown");
    assert_eq!(web.nodes, ["/Default/Prod/Web"]);
    let alice = account(&app, &token, &asset_id, "alice", ALICE_PASSWORD).await;

    // First contact pins the key as unverified; no password goes to an unverified host.
    let out = verify(&app, &token, &alice).await;
    assert_eq!(
        (out.ok, out.code.as_deref()),
        (false, Some("host_key_unverified"))
    );
    let a = get_asset(&app, &token, &asset_id).await;
    assert_eq!(
        a.host_key_fingerprint.as_deref(),
        Some(host.host_key_fingerprint())
    );
    assert_eq!(a.host_key_status, "unverified");
    assert_eq!(a.connectivity, "ok");
    assert!(
        !host.auth_log().contains("alice"),
        "no authentication was attempted: {}",
        host.auth_log()
    );

    // The asset holds an account already: only someone who may reveal, with a fresh code,
    // vouches for its first key.
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{asset_id}/host-key/acknowledge"),
        Some(json!({"fingerprint": host.host_key_fingerprint()})),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (403, "mfa_not_enrolled"),
        "{body}"
    );
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;
    // Acknowledged, the right password verifies and the wrong one fails.
    let a: AssetOut = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{asset_id}/host-key/acknowledge"),
        Some(json!({"fingerprint": host.host_key_fingerprint(),
                    "totp": authenticator.fresh_code()})),
        200,
    )
    .await;
    assert_eq!(a.host_key_status, "verified");
    let out = verify(&app, &token, &alice).await;
    assert!(out.ok, "{out:?}");
    assert_eq!(out.account.status, "ok");
    assert!(out.account.last_verified_at.is_some());
    host.wait_for_auth_log("accepted login", Duration::from_secs(10), |l| {
        l.contains("Accepted password for alice")
    })
    .await
    .unwrap();
    set_secret(&app, &token, &alice, "wrong-password-for-alice").await;
    let out = verify(&app, &token, &alice).await;
    assert_eq!((out.ok, out.code.as_deref()), (false, Some("auth_failed")));
    assert_eq!(out.account.status, "failed");
    set_secret(&app, &token, &alice, ALICE_PASSWORD).await;

    // The host comes back with another key: stopped before authentication.
    let seen = host.auth_log().len();
    let old_fp = host.host_key_fingerprint().to_owned();
    let new_fp = host.restart_with_new_host_key().await.unwrap();
    assert_ne!(old_fp, new_fp);
    let out = verify(&app, &token, &alice).await;
    assert_eq!(
        (out.ok, out.code.as_deref()),
        (false, Some("host_key_mismatch"))
    );
    let a = get_asset(&app, &token, &asset_id).await;
    assert_eq!(a.host_key_status, "fingerprint_conflict");
    assert_eq!(a.host_key_fingerprint.as_deref(), Some(old_fp.as_str()));
    assert_eq!(
        a.presented_host_key_fingerprint.as_deref(),
        Some(new_fp.as_str())
    );
    let since = host.auth_log()[seen..].to_owned();
    assert!(
        !since.contains("alice") && !since.contains("password") && !since.contains("Accepted"),
        "no authentication reached the new host: {since}"
    );
    let conflicts: Page<AssetOut> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/assets?host_key_status=fingerprint_conflict",
        None,
        200,
    )
    .await;
    assert_eq!(conflicts.total, 1);

    // A key other than the pinned one: only someone who may reveal, with a fresh code.
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets/host-keys/acknowledge",
        Some(json!({"asset_ids": [asset_id]})),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "totp_required"),
        "{body}"
    );
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets/host-keys/acknowledge",
        Some(json!({"asset_ids": [asset_id], "totp": authenticator.fresh_code()})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let acknowledged: Page<AssetOut> = typed(body);
    assert_eq!(
        acknowledged.items[0].host_key_fingerprint.as_deref(),
        Some(new_fp.as_str())
    );
    assert_eq!(acknowledged.items[0].host_key_status, "verified");
    let out = verify(&app, &token, &alice).await;
    assert!(out.ok, "{out:?}");

    // The audit names versions and fingerprints, never the password; neither do the logs.
    let (_, audit) = call(&app, &token, Method::GET, "/api/v1/audit?limit=500", None).await;
    let text = audit.to_string();
    assert!(text.contains("asset.host_key.acknowledge"));
    assert!(text.contains(&new_fp));
    assert!(text.contains("account.verify"));
    assert!(!text.contains(ALICE_PASSWORD));
    assert!(!logs.contents().contains(ALICE_PASSWORD));
    app.stop().await;
}

#[tokio::test]
async fn testing_an_asset_pins_its_key_and_trust_on_first_use_sends_passwords() {
    let host = SshHost::start(&[TestUser::new("alice", ALICE_PASSWORD)])
        .await
        .unwrap();
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let a = asset(
        &app,
        &token,
        json!({"name": "web-2", "address": host.address(), "port": host.port(), "platform": "linux"}),
    )
    .await;
    let id = a.id.clone();
    assert_eq!(a.nodes, ["/Default"]);
    let tested: AssetOut = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(tested.connectivity, "ok");
    assert_eq!(
        tested.host_key_fingerprint.as_deref(),
        Some(host.host_key_fingerprint())
    );
    assert_eq!(tested.host_key_status, "unverified");
    assert!(tested.connectivity_checked_at.is_some());

    let alice = account(&app, &token, &id, "alice", ALICE_PASSWORD).await;
    ok(
        &app,
        &token,
        Method::PUT,
        "/api/v1/settings/inventory",
        Some(json!({"trust_on_first_use_for_passwords": true})),
        200,
    )
    .await;
    let out = verify(&app, &token, &alice).await;
    assert!(out.ok, "{out:?}");
    assert_eq!(
        get_asset(&app, &token, &id).await.host_key_status,
        "unverified"
    );

    // A host that is down is unreachable, and says why.
    drop(host);
    let tested: AssetOut = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(tested.connectivity, "unreachable");
    assert!(!tested.connectivity_error.is_empty());
    app.stop().await;
}
