//! Who may reconcile: another domain's operator cannot, an auditor may not; with
//! `auto_reconcile` the drift pass reconciles what it finds; the privileged account is fixed
//! through a separate reconcile account an administrator set on the asset.

use super::super::change_secret::{
    account, admin, linux_asset, ssh_logs_in, APP_PASSWORD, OPS_PASSWORD,
};
use super::super::support::{call, error_code, ok, ok_as, user, Authenticator};
use super::{
    audit_text, drift_pass, get_account, reconcile_many, reconcile_refused, revealed_new,
    HAND_PASSWORD, REC_PASSWORD,
};
use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::inventory::AssetOut;
use tumbler_domain::ids::AccountId;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::sshd::{SshHost, TestUser};

#[tokio::test]
async fn another_domain_cannot_reconcile_and_a_separate_reconcile_account_fixes_the_privileged_one()
{
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock.clone(), |c| {
        c.drift.auto_reconcile = true;
    })
    .await;
    let token = admin(&app).await;
    let auth = Authenticator::enrol(&app, &token, clock.clone()).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("recon", REC_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "web2", &host).await;
    let ops = account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let recon = account(
        &app,
        &token,
        &asset,
        "recon",
        REC_PASSWORD,
        false,
        json!({}),
    )
    .await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;

    // An operator of another domain sees nothing to reconcile; an auditor may not.
    ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Other"})),
        201,
    )
    .await;
    let stranger = user(&app, &token, "stranger", &["operator"], &["Other"]).await;
    let auditor = user(&app, &token, "audrey", &["auditor"], &["Default"]).await;
    host.set_password("app1", HAND_PASSWORD).await.unwrap();
    let (status, body) = call(
        &app,
        &stranger,
        Method::POST,
        &format!("/api/v1/accounts/{app1}/reconcile"),
        None,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = call(
        &app,
        &auditor,
        Method::POST,
        &format!("/api/v1/accounts/{app1}/reconcile"),
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = call(
        &app,
        &auditor,
        Method::POST,
        "/api/v1/accounts/reconcile",
        Some(json!({"account_ids": [app1]})),
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // With auto_reconcile, the drift pass reconciles what it finds.
    let report = drift_pass(&app).await;
    assert_eq!(report.drifted.len(), 1, "{report:?}");
    assert_eq!(report.reconciled, 1, "{report:?}");
    let a1 = get_account(&app, &token, &app1).await;
    assert_eq!(
        (Some(a1.status.as_str()), Some(a1.secret_version)),
        (Some("ok"), Some(2)),
        "{a1:?}"
    );
    let bulk = reconcile_many(&app, &stranger, &[&app1]).await;
    assert_eq!(bulk.skipped[0].code, "not_found", "{bulk:?}");

    // The privileged account's password changed by hand: only a separate reconcile account
    // (set by an administrator) can fix it.
    host.set_password("ops", HAND_PASSWORD).await.unwrap();
    let operator = user(&app, &token, "olga", &["operator"], &["Default"]).await;
    let (status, body) = call(
        &app,
        &operator,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"reconcile_account_id": recon})),
    )
    .await;
    assert_eq!(
        status, 403,
        "operators do not choose the reconcile account: {body}"
    );
    // An administrator chooses it with a fresh code: without one, nothing changes.
    let (status, body) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"reconcile_account_id": recon})),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "totp_required"),
        "{body}"
    );
    let unchanged: AssetOut = ok_as(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/assets/{asset}"),
        None,
        200,
    )
    .await;
    assert_ne!(
        unchanged.reconcile_account_id.as_ref(),
        Some(&recon),
        "{unchanged:?}"
    );
    let patched: AssetOut = ok_as(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"reconcile_account_id": recon, "totp": auth.fresh_code()})),
        200,
    )
    .await;
    assert_eq!(
        patched.reconcile_account_id.as_ref(),
        Some(&recon),
        "{patched:?}"
    );
    let (status, body) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"reconcile_account_id": "not-an-account-here"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // The reconcile account itself is refused now, the privileged one is not.
    reconcile_refused(&app, &token, &recon, "reconcile_account_is_self").await;
    let report = drift_pass(&app).await;
    // ops drifted, and was reconciled through recon.
    assert!(
        report
            .drifted
            .contains(&AccountId::from_string(ops.clone())),
        "{report:?}"
    );
    let a = get_account(&app, &token, &ops).await;
    assert_eq!(a.status, "ok", "{a:?}");
    let (records, _) = app
        .services
        .store
        .records(&tumbler_store::RecordFilter {
            domains: app
                .services
                .store
                .domains()
                .await
                .unwrap()
                .into_iter()
                .map(|d| d.id)
                .collect(),
            status: Some(tumbler_domain::change_secret::RecordStatus::Success),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let rec = records
        .iter()
        .filter(|r| r.account_id.as_str() == ops)
        .max_by_key(|r| r.created_at)
        .expect("a reconcile record of ops");
    let new = revealed_new(&app, &token, &auth, rec.id.as_str()).await;
    assert!(
        ssh_logs_in(&host, "ops", &new).await,
        "ops's new secret logs in"
    );
    let audit = audit_text(&app, &token).await;
    assert!(audit.contains("asset.reconcile_account"), "{audit}");
    assert!(audit.contains("through recon"), "{audit}");
    for secret in [HAND_PASSWORD, REC_PASSWORD, new.as_str()] {
        assert!(!audit.contains(secret), "{secret} in the audit");
        assert!(!host.command_log().contains(secret));
    }
}
