//! The OpenAPI document as a contract: every operation that takes a body answers a malformed
//! body, a wrong content type, a non-object and a body missing a required field with the JSON
//! error envelope and a status the document lists for it; and the document itself is
//! complete (unique operation ids, request schemas for every body, the error responses on
//! every operation, security schemes, tags without Rust module paths).

use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::collections::HashSet;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

async fn document(app: &TestApp) -> Value {
    let res = Client::new()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Every operation: (path, method, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "put", "post", "patch", "delete"].contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    out
}

/// A concrete URL path: every `{param}` becomes `x`.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push('x');
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

/// The schema behind a `$ref` (one level, as utoipa writes them).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

async fn send(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Option<String>, Value) {
    let req = Client::new().request(
        Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
        app.url(path),
    );
    // Changing one's own password takes HTTP Basic only, checked before the body is read.
    let req = if path == "/api/v1/users/me/password" {
        req.basic_auth("admin", Some(ADMIN_PASSWORD))
    } else {
        req.bearer_auth(token)
    };
    let res = req
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, ct, res.json().await.unwrap_or(Value::Null))
}

fn assert_envelope(what: &str, op: &Value, status: u16, ct: Option<&str>, body: &Value) {
    assert!(
        ct.is_some_and(|c| c.starts_with("application/json")),
        "{what}: content type {ct:?}, body {body}"
    );
    let code = body["error"]["code"].as_str().unwrap_or("");
    assert!(
        !code.is_empty()
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "{what}: no snake_case error code in {body}"
    );
    assert!(body["error"]["message"].is_string(), "{what}: {body}");
    assert!(
        op["responses"].get(status.to_string()).is_some(),
        "{what}: status {status} is not documented for the operation"
    );
}

#[tokio::test]
async fn every_body_taking_operation_answers_bad_bodies_with_the_error_envelope() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let doc = document(&app).await;
    let mut ops = operations(&doc);
    // Logging out ends the token: last.
    ops.sort_by_key(|(path, _, _)| path == "/api/v1/auth/logout");
    let mut checked = 0;
    for (path, method, op) in &ops {
        if !["post", "put", "patch"].contains(&method.as_str()) {
            continue;
        }
        let url = concrete(path);
        let what = format!("{} {path}", method.to_uppercase());
        let Some(content) = op["requestBody"]["content"].as_object() else {
            // A handler that reads a JSON body must say so: a malformed one would be refused.
            let (status, _, body) =
                send(&app, &token, method, &url, "application/json", "{\"a\":").await;
            assert!(
                !(status == 400 && body["error"]["code"] == "invalid_json"),
                "{what} reads a JSON body the document does not describe"
            );
            continue;
        };
        let Some(json_body) = content.get("application/json") else {
            continue;
        };
        checked += 1;
        let (status, ct, body) =
            send(&app, &token, method, &url, "application/json", "{\"a\":").await;
        assert_eq!(status, 400, "{what} malformed: {body}");
        assert_envelope(
            &format!("{what} malformed"),
            op,
            status,
            ct.as_deref(),
            &body,
        );

        let (status, ct, body) = send(&app, &token, method, &url, "text/plain", "{}").await;
        assert_eq!(status, 415, "{what} text/plain: {body}");
        assert_envelope(
            &format!("{what} text/plain"),
            op,
            status,
            ct.as_deref(),
            &body,
        );

        let (status, ct, body) = send(&app, &token, method, &url, "application/json", "[]").await;
        assert_eq!(status, 422, "{what} array: {body}");
        assert_envelope(&format!("{what} array"), op, status, ct.as_deref(), &body);

        let schema = resolve(&doc, &json_body["schema"]);
        let required = schema["required"].as_array().map_or(0, Vec::len);
        if required > 0 {
            let (status, ct, body) =
                send(&app, &token, method, &url, "application/json", "{}").await;
            assert!(
                status == 400 || status == 422,
                "{what} missing fields: {status} {body}"
            );
            assert_envelope(
                &format!("{what} missing fields"),
                op,
                status,
                ct.as_deref(),
                &body,
            );
        }
    }
    assert!(checked >= 30, "only {checked} operations take a JSON body");
    app.stop().await;
}

#[tokio::test]
async fn the_document_is_complete() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    // `TUMBLER_OPENAPI_DUMP=path` keeps a copy of the document for reading.
    if let Ok(path) = std::env::var("TUMBLER_OPENAPI_DUMP") {
        std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "{schemes}");
    assert_eq!(schemes["basic"]["scheme"], "basic", "{schemes}");
    assert_eq!(schemes["cookie"]["in"], "cookie", "{schemes}");
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());

    let mut ids = HashSet::new();
    for (path, method, op) in operations(&doc) {
        let what = format!("{} {path}", method.to_uppercase());
        let id = op["operationId"].as_str().unwrap_or("");
        assert!(!id.is_empty(), "{what} has no operationId");
        assert!(
            ids.insert(id.to_owned()),
            "{what}: operationId {id} is not unique"
        );
        for tag in op["tags"].as_array().unwrap() {
            assert!(!tag.as_str().unwrap().contains("::"), "{what}: tag {tag}");
        }
        assert!(op["security"].is_array(), "{what} has no security");
        if let Some(content) = op["requestBody"]["content"].as_object() {
            for (ct, media) in content {
                assert!(
                    media["schema"].is_object(),
                    "{what} {ct}: no request schema"
                );
                if ct == "application/json" {
                    let schema = &media["schema"];
                    assert!(
                        schema.get("$ref").is_some() || schema.get("properties").is_some(),
                        "{what}: the request body is a free-form object: {schema}"
                    );
                }
            }
        }
        if !path.starts_with("/api/") {
            continue;
        }
        if path != "/api/v1/auth/login" {
            assert_eq!(
                op["security"],
                json!([{"bearer": []}, {"basic": []}, {"cookie": []}]),
                "{what}"
            );
        }
        for status in ["400", "401", "415", "422", "429", "500"] {
            let r = &op["responses"][status];
            assert_eq!(
                r["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{what}: {status} without the error envelope"
            );
        }
    }
    assert!(ids.len() > 90, "{} operations", ids.len());

    // Answers: every JSON (or text) success answer but 204 has a schema.
    for (path, method, op) in operations(&doc) {
        for (status, r) in op["responses"].as_object().unwrap() {
            if !status.starts_with('2') || status == "204" {
                continue;
            }
            let content = r["content"].as_object();
            assert!(
                content
                    .is_some_and(|c| !c.is_empty() && c.values().all(|m| m["schema"].is_object())),
                "{} {path} {status}: no answer schema",
                method.to_uppercase()
            );
        }
    }
    // Vocabularies are enums, ports and page sizes are bounded.
    let vocabulary = [
        "platform",
        "connectivity",
        "host_key_status",
        "auth_status",
        "secret_type",
        "algorithm",
        "status",
        "type",
        "kind",
        "mode",
        "security",
        "strategy",
        "trigger",
        "protocol",
        "other_sessions",
    ];
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let Some(props) = schema["properties"].as_object() else {
            continue;
        };
        for (prop, s) in props {
            let is_string = s["type"] == "string"
                || s["type"]
                    .as_array()
                    .is_some_and(|t| t.contains(&json!("string")));
            if vocabulary.contains(&prop.as_str()) && is_string {
                assert!(
                    s["enum"].is_array() || s["pattern"].is_string(),
                    "{name}.{prop} is a free string: {s}"
                );
            }
            if prop == "port" {
                assert_eq!(
                    (s["minimum"].as_u64(), s["maximum"].as_u64()),
                    (Some(1), Some(65535)),
                    "{name}.port"
                );
            }
        }
    }
    for (path, _, op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["name"] == "limit" {
                assert!(
                    p["schema"]["minimum"].is_number() && p["schema"]["maximum"].is_number(),
                    "{path}: limit without bounds"
                );
            }
        }
    }
    // SMTP settings are `null` until saved.
    let smtp = doc["paths"]["/api/v1/settings/smtp"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"]
        .to_string();
    assert!(smtp.contains("\"null\""), "{smtp}");
    app.stop().await;
}

/// Every list takes the same page bound, and the document says which.
#[test]
fn every_page_size_parameter_has_the_one_bound() {
    let doc = tumbler_server::api::openapi::openapi();
    let mut seen = 0;
    for (path, method, op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["name"] == "limit" && p["in"] == "query" {
                seen += 1;
                assert_eq!(
                    p["schema"]["maximum"].as_i64(),
                    Some(tumbler_domain::paging::MAX_PAGE),
                    "{method} {path}"
                );
            }
        }
    }
    assert!(seen >= 5, "the lists take ?limit= ({seen} seen)");
}
