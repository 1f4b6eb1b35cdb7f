//! Database passwords go only over verified TLS off loopback (`verify_full` fails closed), and
//! only an administrator changes or removes a database asset's CA or TLS mode.

use super::super::change_secret::{account, admin};
use super::super::support::{call, error_code, error_field, ok, ok_as, typed, user};
use super::{pg_asset, verify};
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::inventory::AssetOut;
use tumbler_api_types::Page;
use tumbler_testkit::app::TestApp;
use tumbler_testkit::pg_cluster::PgCluster;

#[tokio::test]
async fn database_tls_is_verified_off_loopback_and_verify_full_fails_closed() {
    let cluster = PgCluster::start().await;
    let role = "tls_canary_role_7f3e";
    let password = "canary-Pg-Tls-Password-2b81";
    cluster.create_role(role, password).await;
    let app = TestApp::spawn().await;
    let token = admin(&app).await;

    // `disable` and `require` are for loopback only: refused at save, nothing stored.
    for mode in ["disable", "require"] {
        let (status, body) = pg_asset(
            &app,
            &token,
            json!({"name": "pg-remote", "address": "10.20.30.40", "platform": "postgresql",
                   "tls_mode": mode}),
        )
        .await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (400, "tls_mode_not_allowed"),
            "{body}"
        );
    }
    let list: Page<AssetOut> = ok_as(&app, &token, Method::GET, "/api/v1/assets", None, 200).await;
    assert_eq!(list.total, 0, "{list:?}");
    // Without a mode a remote database gets verify_full, a loopback one disable.
    let (status, remote) = pg_asset(
        &app,
        &token,
        json!({"name": "pg-remote", "address": "10.20.30.40", "platform": "postgresql"}),
    )
    .await;
    assert_eq!(status, 201, "{remote}");
    assert_eq!(typed::<AssetOut>(remote).tls_mode, "verify_full");
    // Moving a loopback asset away keeps refusing `disable`.
    let (status, local) = pg_asset(
        &app,
        &token,
        json!({"name": "pg-local", "address": "127.0.0.1", "port": cluster.port(),
               "platform": "postgresql"}),
    )
    .await;
    assert_eq!(status, 201, "{local}");
    let local: AssetOut = typed(local);
    assert_eq!(local.tls_mode, "disable");
    let local_id = local.id;
    let (status, body) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"address": "10.20.30.41"})),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "tls_mode_not_allowed"),
        "{body}"
    );
    // A CA bundle is bounded and must hold certificates.
    let (status, body) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"tls_ca_pem": "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"})),
    )
    .await;
    assert_eq!(
        (status, error_field(&body).as_deref()),
        (400, Some("tls_ca_pem")),
        "{body}"
    );
    let huge = "-----BEGIN CERTIFICATE-----\nMAAA\n-----END CERTIFICATE-----\n".repeat(3000);
    let (status, body) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"tls_ca_pem": huge})),
    )
    .await;
    assert_eq!(
        (status, error_field(&body).as_deref()),
        (400, Some("tls_ca_pem")),
        "{body}"
    );

    // verify_full against the cluster, which has no TLS: fails closed before the startup
    // message, so the server never even hears the role's name.
    let patched: AssetOut = ok_as(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"tls_mode": "verify_full"})),
        200,
    )
    .await;
    assert_eq!(patched.tls_mode, "verify_full");
    let acct = account(&app, &token, &local_id, role, password, false, json!({})).await;
    let out = verify(&app, &token, &acct).await;
    assert_eq!(
        (out.ok, out.code.as_deref()),
        (false, Some("tls_failed")),
        "{out:?}"
    );
    assert!(!cluster.log_contents().contains(role));
    // On loopback without TLS the same login works (and the log shows it, so the check above
    // could have failed).
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"tls_mode": "disable"})),
        200,
    )
    .await;
    let out = verify(&app, &token, &acct).await;
    assert!(out.ok, "{out:?}");
    assert!(cluster.log_contents().contains(role));

    // With TLS on, verify_full against the asset's CA logs in; against another CA (the
    // system's roots) it fails closed.
    let ca = cluster.enable_tls().await;
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"tls_mode": "verify_full"})),
        200,
    )
    .await;
    let out = verify(&app, &token, &acct).await;
    assert_eq!(out.code.as_deref(), Some("tls_failed"), "{out:?}");
    let patched: AssetOut = ok_as(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"tls_ca_pem": ca})),
        200,
    )
    .await;
    assert!(patched.tls_ca_pem.unwrap().contains("BEGIN CERTIFICATE"));
    let out = verify(&app, &token, &acct).await;
    assert!(out.ok, "{out:?}");

    // One server certificate is pinned by giving it as the CA: the server's own self-signed
    // certificate logs in; the old CA no longer matches.
    let pinned = cluster.enable_self_signed_tls().await;
    let out = verify(&app, &token, &acct).await;
    assert_eq!(out.code.as_deref(), Some("tls_failed"), "{out:?}");
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{local_id}"),
        Some(json!({"tls_ca_pem": pinned})),
        200,
    )
    .await;
    let out = verify(&app, &token, &acct).await;
    assert!(out.ok, "{out:?}");
    app.stop().await;
}

#[tokio::test]
async fn only_an_administrator_changes_or_removes_a_database_assets_ca_or_tls_mode() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    // A syntactically valid CA bundle (one DER SEQUENCE).
    let ca = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";
    let (status, a) = pg_asset(
        &app,
        &token,
        json!({"name": "pg-ca", "address": "192.0.2.20", "platform": "postgresql", "tls_ca_pem": ca}),
    )
    .await;
    assert_eq!(status, 201, "{a}");
    let a: AssetOut = typed(a);
    assert!(a.tls_ca_pem.is_some(), "{a:?}");
    let id = a.id;
    let operator = user(&app, &token, "olga", &["operator"], &["Default"]).await;
    let path = format!("/api/v1/assets/{id}");
    for body in [
        json!({"tls_ca_pem": ""}),
        json!({"tls_ca_pem": "  \n"}),
        json!({"tls_mode": "require"}),
    ] {
        let (status, answer) =
            call(&app, &operator, Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(status, 403, "{body}: {answer}");
    }
    // The CA is still there.
    let a: AssetOut = ok_as(&app, &token, Method::GET, &path, None, 200).await;
    assert!(
        a.tls_ca_pem
            .as_deref()
            .is_some_and(|p| p.contains("BEGIN CERTIFICATE")),
        "{a:?}"
    );
    // The administrator may remove it.
    let a: AssetOut = ok_as(
        &app,
        &token,
        Method::PATCH,
        &path,
        Some(json!({"tls_ca_pem": ""})),
        200,
    )
    .await;
    assert!(a.tls_ca_pem.is_none(), "{a:?}");
    app.stop().await;
}
