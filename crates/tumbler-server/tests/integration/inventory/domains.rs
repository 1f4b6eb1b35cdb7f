//! Users see, verify and reveal only the assets of their domains; reveal needs the permission and
//! a fresh TOTP code.

use super::super::support::{call, error_code, ok, ok_as, typed, user, Authenticator};
use super::{account, admin, asset};
use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::answers::RevealedSecret;
use tumbler_api_types::auth::MeOut;
use tumbler_api_types::inventory::{AccountOut, AssetOut};
use tumbler_api_types::nodes::NodeOut;
use tumbler_api_types::Page;
use tumbler_domain::audit::AuditEvent;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};

#[tokio::test]
async fn users_see_verify_and_reveal_only_assets_of_their_domains() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let admin = admin(&app).await;
    for d in ["Dev", "Ops"] {
        ok(
            &app,
            &admin,
            Method::POST,
            "/api/v1/domains",
            Some(json!({"name": d})),
            201,
        )
        .await;
    }
    let me: MeOut = ok_as(&app, &admin, Method::GET, "/api/v1/users/me", None, 200).await;
    let admin_id = me.user.id.as_str();
    ok(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/users/{admin_id}"),
        Some(json!({"domains": ["Default", "Dev", "Ops"]})),
        200,
    )
    .await;
    // The administrator works in Default; to manage Dev and Ops too, all assigned domains.
    ok(
        &app,
        &admin,
        Method::PUT,
        "/api/v1/users/me/object-visibility",
        Some(json!({"all_domains": true})),
        204,
    )
    .await;
    let mut accounts = std::collections::HashMap::new();
    for (name, domain) in [("dev-1", "Dev"), ("ops-1", "Ops"), ("def-1", "Default")] {
        let a = asset(
            &app,
            &admin,
            json!({"name": name, "address": "127.0.0.1", "port": 1, "platform": "linux", "domain": domain}),
        )
        .await;
        assert_eq!(a.domain, domain);
        let id = account(&app, &admin, &a.id, "svc", &format!("secret-of-{name}")).await;
        accounts.insert(name, (a.id.clone(), id));
    }
    let (status, body) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/assets",
        Some(
            json!({"name": "x", "address": "127.0.0.1", "platform": "linux", "domain": "Nowhere"}),
        ),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (403, "domain_not_assigned")
    );

    let dana = user(&app, &admin, "dana", &["admin"], &["Dev", "Ops"]).await;
    let sorted = |mut n: Vec<String>| -> Vec<String> {
        n.sort();
        n
    };
    let names = |page: Page<AssetOut>| sorted(page.items.into_iter().map(|i| i.name).collect());
    let asset_names =
        |page: Page<AccountOut>| sorted(page.items.into_iter().map(|i| i.asset_name).collect());
    // One active domain (the first assigned) by default.
    let list = ok_as(&app, &dana, Method::GET, "/api/v1/assets", None, 200).await;
    assert_eq!(names(list), ["dev-1"]);
    for hidden in ["ops-1", "def-1"] {
        let (asset_id, account_id) = &accounts[hidden];
        let (status, _) = call(
            &app,
            &dana,
            Method::GET,
            &format!("/api/v1/assets/{asset_id}"),
            None,
        )
        .await;
        assert_eq!(status, 404);
        let (status, _) = call(
            &app,
            &dana,
            Method::POST,
            &format!("/api/v1/accounts/{account_id}/verify"),
            None,
        )
        .await;
        assert_eq!(status, 404);
    }
    // All assigned domains, and still nothing else.
    ok(
        &app,
        &dana,
        Method::PUT,
        "/api/v1/users/me/object-visibility",
        Some(json!({"all_domains": true})),
        204,
    )
    .await;
    let list = ok_as(&app, &dana, Method::GET, "/api/v1/assets", None, 200).await;
    assert_eq!(names(list), ["dev-1", "ops-1"]);
    let list = ok_as(&app, &dana, Method::GET, "/api/v1/accounts", None, 200).await;
    assert_eq!(asset_names(list), ["dev-1", "ops-1"]);
    let nodes: Page<NodeOut> = ok_as(&app, &dana, Method::GET, "/api/v1/nodes", None, 200).await;
    assert_eq!(nodes.items[0].path, "/Default");
    assert_eq!(
        nodes.items[0].assets, 2,
        "counts cover visible domains only"
    );

    // Reveal: needs TOTP, a fresh code each time, and only within the domains.
    let (dev_asset, dev_account) = &accounts["dev-1"];
    let reveal = |account: &str, totp: Option<String>| {
        let account = account.to_owned();
        let app = &app;
        let dana = dana.clone();
        async move {
            call(
                app,
                &dana,
                Method::POST,
                &format!("/api/v1/accounts/{account}/reveal"),
                Some(json!({"totp": totp})),
            )
            .await
        }
    };
    let (status, body) = reveal(dev_account, None).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (403, "mfa_not_enrolled")
    );
    let authenticator = Authenticator::enrol(&app, &dana, clock.clone()).await;
    let (status, body) = reveal(dev_account, None).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "totp_required"));
    let code = authenticator.fresh_code();
    let (status, body) = reveal(dev_account, Some(code.clone())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(typed::<RevealedSecret>(body).secret, "secret-of-dev-1");
    let (status, body) = reveal(dev_account, Some(code)).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "totp_reused"));
    let (status, _) = reveal(&accounts["def-1"].1, Some(authenticator.fresh_code())).await;
    assert_eq!(status, 404);
    let (_, audit) = call(
        &app,
        &admin,
        Method::GET,
        "/api/v1/audit?action=account.reveal",
        None,
    )
    .await;
    let events: Page<AuditEvent> = typed(audit.clone());
    let reveals: Vec<&AuditEvent> = events
        .items
        .iter()
        .filter(|e| e.outcome == "success")
        .collect();
    assert_eq!(reveals.len(), 1, "one reveal succeeded: {audit}");
    assert_eq!(reveals[0].actor, "dana");
    assert!(
        events.items.iter().any(|e| e.outcome == "failure"),
        "the reused code is audited as a failed reveal: {audit}"
    );
    assert!(!audit.to_string().contains("secret-of-dev-1"));

    // Operators and auditors never reveal; auditors do not change anything.
    let olga = user(&app, &admin, "olga", &["operator"], &["Dev"]).await;
    let audrey = user(&app, &admin, "audrey", &["auditor"], &["Dev"]).await;
    for t in [&olga, &audrey] {
        let (status, body) = call(
            &app,
            t,
            Method::POST,
            &format!("/api/v1/accounts/{dev_account}/reveal"),
            Some(json!({"totp": "123456"})),
        )
        .await;
        assert_eq!((status, error_code(&body).as_str()), (403, "forbidden"));
    }
    let list = ok_as(&app, &audrey, Method::GET, "/api/v1/assets", None, 200).await;
    assert_eq!(names(list), ["dev-1"]);
    let (status, _) = call(
        &app,
        &audrey,
        Method::DELETE,
        &format!("/api/v1/assets/{dev_asset}"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &app,
        &audrey,
        Method::POST,
        &format!("/api/v1/accounts/{dev_account}/verify"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    app.stop().await;
}
