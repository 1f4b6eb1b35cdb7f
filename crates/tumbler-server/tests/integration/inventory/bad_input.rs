//! Bad inventory input is refused with its field and nothing is stored.

use super::super::support::{call, error_code, error_field, ok_as};
use super::{admin, asset};
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::inventory::{AccountOut, AssetOut};
use tumbler_api_types::nodes::NodeOut;
use tumbler_api_types::Page;
use tumbler_testkit::app::TestApp;

#[tokio::test]
async fn bad_input_is_refused_with_its_field_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    for (body, field) in [
        (
            json!({"name": "a", "address": "a b", "platform": "linux"}),
            Some("address"),
        ),
        (
            json!({"name": "a", "address": "10.0.0.1", "port": 0, "platform": "linux"}),
            Some("port"),
        ),
        (
            json!({"name": "a", "address": "10.0.0.1", "port": 70000, "platform": "linux"}),
            Some("port"),
        ),
        (
            json!({"name": "a", "address": "10.0.0.1", "platform": "linux", "nodes": ["Default"]}),
            Some("node"),
        ),
        (
            json!({"name": "a", "address": "10.0.0.1", "platform": "linux", "host_key_fingerprint": "MD5:aa"}),
            Some("host_key_fingerprint"),
        ),
        (
            json!({"name": "", "address": "10.0.0.1", "platform": "linux"}),
            Some("name"),
        ),
        (
            json!({"name": "a", "address": "10.0.0.1", "platform": "windows"}),
            None,
        ),
    ] {
        let (status, err) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/assets",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{body} -> {err}");
        assert_eq!(error_field(&err).as_deref(), field, "{err}");
        assert!(matches!(
            error_code(&err).as_str(),
            "invalid_request" | "unknown_platform"
        ));
    }
    let (status, err) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": 5})),
    )
    .await;
    assert_eq!((status, error_code(&err).as_str()), (422, "invalid_json"));
    let list: Page<AssetOut> = ok_as(&app, &token, Method::GET, "/api/v1/assets", None, 200).await;
    assert_eq!(list.total, 0, "nothing half-stored");
    let nodes: Page<NodeOut> = ok_as(&app, &token, Method::GET, "/api/v1/nodes", None, 200).await;
    assert_eq!(nodes.total, 0, "no node created by a refused asset");

    let a = asset(
        &app,
        &token,
        json!({"name": "srv", "address": "srv.example.com", "platform": "linux"}),
    )
    .await;
    assert_eq!(a.port, 22, "the platform's default port");
    let id = &a.id;
    let (status, err) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "srv", "address": "10.0.0.2", "platform": "linux"})),
    )
    .await;
    assert_eq!((status, error_code(&err).as_str()), (409, "asset_exists"));
    for username in [
        "a\nb", "a:b", "-rf", "a;b", "$(id)", "a b", "`id`", "a|b", "",
    ] {
        let (status, err) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/accounts",
            Some(json!({"asset_id": id, "username": username, "secret": "x-secret"})),
        )
        .await;
        assert_eq!(status, 400, "{username:?}: {err}");
        assert_eq!(
            error_field(&err).as_deref(),
            Some("username"),
            "{username:?}"
        );
    }
    for (body, field) in [
        (
            json!({"asset_id": id, "username": "u", "secret": "x", "options": {"become": "doas"}}),
            "options",
        ),
        (
            json!({"asset_id": id, "username": "u", "secret": "x", "options": {"shell": "sh;id"}}),
            "options",
        ),
        (
            json!({"asset_id": id, "username": "u", "secret": "x", "options": {"database": "d"}}),
            "options",
        ),
        (
            json!({"asset_id": id, "username": "u", "secret": "not a key", "secret_type": "ssh_key"}),
            "secret",
        ),
        (
            json!({"asset_id": id, "username": "u", "secret": "two\nlines"}),
            "secret",
        ),
        (
            json!({"asset_id": id, "username": "u", "secret": ""}),
            "secret",
        ),
    ] {
        let (status, err) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/accounts",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{body} -> {err}");
        assert_eq!(error_field(&err).as_deref(), Some(field), "{err}");
    }
    let list: Page<AccountOut> =
        ok_as(&app, &token, Method::GET, "/api/v1/accounts", None, 200).await;
    assert_eq!(list.total, 0, "no account half-stored");
    let (status, err) = call(
        &app,
        &token,
        Method::GET,
        "/api/v1/assets?connectivity=bogus",
        None,
    )
    .await;
    assert_eq!(
        (status, error_code(&err).as_str()),
        (400, "invalid_request")
    );
    app.stop().await;
}
