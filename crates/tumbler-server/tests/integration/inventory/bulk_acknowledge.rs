//! Acknowledging several host keys at once with the fingerprint shown for each: a key that
//! changed between the dialog and the confirmation refuses the whole request and pins nothing.

use super::super::support::{call, console_admin, csrf_in, error_code, ok_as};
use super::{admin, asset, get_asset, ALICE_PASSWORD};
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::inventory::AssetOut;
use tumbler_api_types::Page;
use tumbler_testkit::app::TestApp;
use tumbler_testkit::sshd::{SshHost, TestUser};

/// An asset on `host`, tested once so that its key is pinned (unverified).
async fn tested_asset(app: &TestApp, token: &str, name: &str, host: &SshHost) -> String {
    let a = asset(
        app,
        token,
        json!({"name": name, "address": host.address(), "port": host.port(), "platform": "linux"}),
    )
    .await;
    let tested: AssetOut = ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/assets/{}/test", a.id),
        None,
        200,
    )
    .await;
    assert_eq!(
        (
            tested.host_key_status.as_str(),
            tested.host_key_fingerprint.as_deref()
        ),
        ("unverified", Some(host.host_key_fingerprint()))
    );
    a.id
}

#[tokio::test]
async fn a_key_changed_since_the_dialog_refuses_the_bulk_acknowledgement_and_pins_nothing() {
    let first = SshHost::start(&[TestUser::new("alice", ALICE_PASSWORD)])
        .await
        .unwrap();
    let mut second = SshHost::start(&[TestUser::new("alice", ALICE_PASSWORD)])
        .await
        .unwrap();
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let a = tested_asset(&app, &token, "bulk-a", &first).await;
    let b = tested_asset(&app, &token, "bulk-b", &second).await;
    // What the dialog showed.
    let shown_a = first.host_key_fingerprint().to_owned();
    let shown_b = second.host_key_fingerprint().to_owned();

    // Before the confirmation, the second host presents another key.
    let new_b = second.restart_with_new_host_key().await.unwrap();
    assert_ne!(new_b, shown_b);
    let retested: AssetOut = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{b}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(retested.host_key_status, "fingerprint_conflict");

    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets/host-keys/acknowledge",
        Some(json!({"asset_ids": [a, b], "expected": [
            {"asset_id": a, "fingerprint": shown_a},
            {"asset_id": b, "fingerprint": shown_b},
        ]})),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (409, "fingerprint_mismatch"),
        "{body}"
    );
    assert!(body.to_string().contains("bulk-b"), "{body}");
    // Nothing pinned: the first stays unverified, the second keeps its old key in conflict.
    let after_a = get_asset(&app, &token, &a).await;
    assert_eq!(after_a.host_key_status, "unverified");
    let after_b = get_asset(&app, &token, &b).await;
    assert_eq!(after_b.host_key_status, "fingerprint_conflict");
    assert_eq!(
        after_b.host_key_fingerprint.as_deref(),
        Some(shown_b.as_str())
    );
    assert_eq!(
        after_b.presented_host_key_fingerprint.as_deref(),
        Some(new_b.as_str())
    );

    // The console: the list's button pins nothing, it opens the dialog.
    let console = console_admin(&app).await;
    let list = console.get(app.url("/assets")).send().await.unwrap();
    let csrf = csrf_in(&list.text().await.unwrap());
    let res = console
        .post(app.url("/assets/acknowledge"))
        .form(&[("csrf", csrf.as_str()), ("asset_id", &a), ("asset_id", &b)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let dialog = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        dialog,
        format!("/assets/acknowledge?asset_id={a}&asset_id={b}")
    );
    assert_eq!(
        get_asset(&app, &token, &a).await.host_key_status,
        "unverified"
    );
    // The dialog shows what each presents now; confirming what an older one showed is
    // refused and goes back to it.
    let page = console.get(app.url(&dialog)).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains(&shown_a) && page.contains(&new_b), "{page}");
    let res = console
        .post(app.url("/assets/acknowledge"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("confirm", "yes"),
            ("asset_id", &a),
            (&format!("fingerprint_{a}"), &shown_a),
            ("asset_id", &b),
            (&format!("fingerprint_{b}"), &shown_b),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"].to_str().unwrap(), dialog);
    let page = console.get(app.url(&dialog)).send().await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("fingerprint_mismatch"), "{page}");
    assert_eq!(
        get_asset(&app, &token, &a).await.host_key_status,
        "unverified"
    );
    assert_eq!(
        get_asset(&app, &token, &b)
            .await
            .host_key_fingerprint
            .as_deref(),
        Some(shown_b.as_str())
    );

    // A list that leaves a selected asset out is refused too.
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets/host-keys/acknowledge",
        Some(json!({"asset_ids": [a, b], "expected": [{"asset_id": a, "fingerprint": shown_a}]})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        get_asset(&app, &token, &a).await.host_key_status,
        "unverified"
    );

    // The unchanged one, with what was shown for it, is pinned.
    let done: Page<AssetOut> = ok_as(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets/host-keys/acknowledge",
        Some(json!({"asset_ids": [a], "expected": [{"asset_id": a, "fingerprint": shown_a}]})),
        200,
    )
    .await;
    assert_eq!(done.items.len(), 1);
    assert_eq!(done.items[0].host_key_status, "verified");
    assert_eq!(
        done.items[0].host_key_fingerprint.as_deref(),
        Some(shown_a.as_str())
    );
    app.stop().await;
}
