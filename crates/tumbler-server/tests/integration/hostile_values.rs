//! Values that once took the server down, and bodies that are not what they seem: password
//! rules whose per-class minimums overflow, policy durations past the calendar, a handler
//! panic, and JSON arrays bound by position to an object's fields. Each is refused with a
//! stable error code, changes nothing, and the server keeps answering.

use super::support::{call, error_code, error_field, ok, ok_as, typed};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use tumbler_api_types::change_secret::TaskView;
use tumbler_api_types::device_keys::SystemKeyView;
use tumbler_api_types::ErrorAnswer;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};
use tumbler_testkit::logs::LogCapture;

async fn admin(app: &TestApp) -> String {
    app.activate_admin().await;
    app.admin_token().await
}

/// The rules: 4294967295 + 1 wraps to 0 in a `u32`, which passed as "fits in 24".
fn overflowing_rules() -> Vec<Value> {
    vec![
        json!({"length": 24, "lowercase": 4294967295u32, "uppercase": 1}),
        json!({"length": 24, "lowercase": 2147483648u32, "uppercase": 2147483648u32, "digit": 0, "symbol": 0}),
        json!({"length": 24, "lowercase": 25, "uppercase": 0}),
        json!({"length": 100000, "lowercase": 1}),
    ]
}

#[tokio::test]
async fn password_rules_that_overflow_are_refused_on_create_and_patch() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    for rules in overflowing_rules() {
        let (status, out) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/change-secret/tasks",
            Some(json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"],
                "secret_strategy": "random", "password_rules": rules})),
        )
        .await;
        assert_eq!(status, 400, "{rules}: {out}");
        assert_eq!(error_code(&out), "invalid_request", "{out}");
        assert_eq!(
            error_field(&out).as_deref(),
            Some("password_rules"),
            "{out}"
        );
    }
    let task: TaskView = ok_as(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(json!({"name": "t", "usernames": ["a"], "asset_ids": ["x"],
            "secret_strategy": "random",
            "password_rules": {"length": 20, "lowercase": 1, "uppercase": 1, "digit": 1, "symbol": 1}})),
        201,
    )
    .await;
    let id = task.id;
    for rules in overflowing_rules() {
        let (status, out) = call(
            &app,
            &token,
            Method::PATCH,
            &format!("/api/v1/change-secret/tasks/{id}"),
            Some(json!({"password_rules": rules})),
        )
        .await;
        assert_eq!(status, 400, "{rules}: {out}");
        assert_eq!(error_code(&out), "invalid_request", "{out}");
        assert_eq!(
            error_field(&out).as_deref(),
            Some("password_rules"),
            "{out}"
        );
    }
    let stored: TaskView = ok_as(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/change-secret/tasks/{id}"),
        None,
        200,
    )
    .await;
    let rules = &stored.spec.password_rules;
    assert_eq!((rules.length, rules.lowercase), (20, Some(1)), "{stored:?}");
    let list: Vec<TaskView> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/change-secret/tasks",
        None,
        200,
    )
    .await;
    assert_eq!(list.len(), 1, "nothing refused was stored: {list:?}");
    app.stop().await;
}

async fn get_policy(app: &TestApp, token: &str) -> Value {
    ok(
        app,
        token,
        Method::GET,
        "/api/v1/settings/password-policy",
        None,
        200,
    )
    .await
}

async fn login_works(app: &TestApp) {
    let res = Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a session login still works");
    let res = Client::new()
        .get(app.url("/api/v1/users/me"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a Basic login still works");
}

#[tokio::test]
async fn policy_durations_and_counts_past_their_bounds_are_refused() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let before = get_policy(&app, &token).await;
    let huge = 4294967295u32;
    for (field, value) in [
        ("expiry_days", json!(huge)),
        ("session_absolute_hours", json!(huge)),
        ("session_idle_minutes", json!(huge)),
        ("lockout_minutes", json!(huge)),
        ("max_failed_logins", json!(huge)),
        ("max_sessions_per_user", json!(huge)),
        ("expiry_warning_days", json!(huge)),
        ("max_length", json!(u64::MAX)),
        ("history", json!(25)),
    ] {
        // A whole policy as its GET returns it, with one value changed (PUT), and the one
        // value alone (PATCH).
        let mut full = before.clone();
        full[field] = value.clone();
        for (method, body) in [
            (Method::PUT, full),
            (Method::PATCH, json!({ field: value.clone() })),
        ] {
            let (status, out) = call(
                &app,
                &token,
                method.clone(),
                "/api/v1/settings/password-policy",
                Some(body),
            )
            .await;
            assert_eq!(status, 400, "{method} {field}={value}: {out}");
            assert_eq!(error_code(&out), "invalid_policy", "{out}");
        }
    }
    assert_eq!(get_policy(&app, &token).await, before, "nothing was saved");
    login_works(&app).await;

    // The largest values the bounds allow still leave logins working.
    let mut max = before.clone();
    for (field, value) in [
        ("expiry_days", 3650),
        ("session_absolute_hours", 8760),
        ("session_idle_minutes", 43200),
        ("lockout_minutes", 525600),
    ] {
        max[field] = json!(value);
    }
    ok(
        &app,
        &token,
        Method::PUT,
        "/api/v1/settings/password-policy",
        Some(max),
        200,
    )
    .await;
    login_works(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_answers_a_counted_500_with_the_error_envelope() {
    let logs = LogCapture::install();
    let app = TestApp::spawn().await;
    let res = Client::new()
        .get(app.url("/api/v1/test-only/panic"))
        .send()
        .await
        .expect("an answer, not a dropped connection");
    assert_eq!(res.status(), 500);
    let request_id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap()
        .to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "internal_error", "{body}");
    let details = typed::<ErrorAnswer>(body.clone()).error.details;
    assert_eq!(
        details.and_then(|d| d.more.get("request_id").cloned()),
        Some(json!(request_id)),
        "{body}"
    );
    assert!(!request_id.is_empty());
    let metrics = Client::new()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tumbler_http_panics_total 1\n"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("tumbler_http_requests_total{class=\"5xx\"} 0\n"),
        "{metrics}"
    );
    let res = Client::new().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200, "the server keeps answering");
    let logged = logs.contents();
    assert!(
        logged
            .lines()
            .any(|l| l.contains("a request handler panicked") && l.contains(&request_id)),
        "the panic is logged with the request id"
    );
    // Its message is not: a panic message may quote a secret (a str slice out of bounds).
    assert!(logged.contains("panic payload redacted"), "{logged}");
    assert!(
        !logged.contains("the test-only panic route was called"),
        "the panic message is not logged: {logged}"
    );
    app.stop().await;
}

/// Sends a raw JSON text with a bearer token.
async fn send_raw(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: &str,
) -> (u16, Value) {
    let res = Client::new()
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn only_json_objects_are_bodies() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;

    let node = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/nodes",
        Some(json!({"path": "/Default/Arrays"})),
        201,
    )
    .await;
    // The node answer is still the server's own type (not yet in `tumbler-api-types`).
    let id = node["id"].as_str().unwrap();
    for body in ["[null,null]", "[\"Renamed\",\"/\"]", "null", "42", "\"x\""] {
        let (status, out) = send_raw(
            &app,
            &token,
            Method::PATCH,
            &format!("/api/v1/nodes/{id}"),
            body,
        )
        .await;
        assert_eq!(status, 422, "{body}: {out}");
        assert_eq!(error_code(&out), "invalid_json", "{out}");
    }
    let nodes = ok(&app, &token, Method::GET, "/api/v1/nodes", None, 200).await;
    assert!(
        nodes.to_string().contains("/Default/Arrays"),
        "the node is unchanged: {nodes}"
    );

    let (status, out) = send_raw(
        &app,
        &token,
        Method::POST,
        "/api/v1/system/ssh-key/regenerate",
        "[\"ecdsa\",384]",
    )
    .await;
    assert_eq!(status, 422, "{out}");
    assert_eq!(error_code(&out), "invalid_json", "{out}");
    let key: SystemKeyView = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/system/ssh-key",
        None,
        200,
    )
    .await;
    assert!(key.regeneration_job.is_none(), "no job started: {key:?}");

    let before = get_policy(&app, &token).await;
    for body in ["[]", "{}", "{\"min_length\": 20}"] {
        let (status, out) = send_raw(
            &app,
            &token,
            Method::PUT,
            "/api/v1/settings/password-policy",
            body,
        )
        .await;
        assert_eq!(status, 422, "{body}: {out}");
        assert_eq!(error_code(&out), "invalid_json", "{out}");
    }
    let (status, out) = send_raw(
        &app,
        &token,
        Method::PATCH,
        "/api/v1/settings/password-policy",
        "[]",
    )
    .await;
    assert_eq!(
        (status, error_code(&out).as_str()),
        (422, "invalid_json"),
        "{out}"
    );
    assert_eq!(get_policy(&app, &token).await, before, "nothing was reset");

    // Read, change one value, write back: the read-only rules ride along and are ignored. The
    // settings are read and written back as raw JSON on purpose: the test is that every field
    // a GET sends, unknown to the writer, is accepted back as it was.
    let mut policy = before.clone();
    policy["history"] = json!(10);
    let saved = ok(
        &app,
        &token,
        Method::PUT,
        "/api/v1/settings/password-policy",
        Some(policy),
        200,
    )
    .await;
    assert_eq!(saved["history"], 10);
    let after = get_policy(&app, &token).await;
    assert_eq!(after["history"], 10);
    assert_eq!(after["min_length"], before["min_length"]);
    assert!(after["rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().contains("last 10 passwords")));

    // The same round trip for the SMTP and inventory settings.
    ok(
        &app,
        &token,
        Method::PUT,
        "/api/v1/settings/smtp",
        Some(
            json!({"host": "smtp.example.test", "port": 587, "security": "starttls",
            "username": "mailer", "password": "canary-Smtp-77", "from": "tumbler@example.test"}),
        ),
        200,
    )
    .await;
    for body in [
        "[]",
        "{}",
        "[\"smtp.example.test\",25,\"none\",null,null,\"a@b.test\"]",
    ] {
        let (status, out) =
            send_raw(&app, &token, Method::PUT, "/api/v1/settings/smtp", body).await;
        assert_eq!(status, 422, "{body}: {out}");
        assert_eq!(error_code(&out), "invalid_json", "{out}");
    }
    let mut smtp = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/settings/smtp",
        None,
        200,
    )
    .await;
    assert_eq!(smtp["has_password"], true, "{smtp}");
    smtp["from"] = json!("Tumbler <tumbler@example.test>");
    let saved = ok(
        &app,
        &token,
        Method::PUT,
        "/api/v1/settings/smtp",
        Some(smtp),
        200,
    )
    .await;
    assert_eq!(
        (&saved["from"], &saved["has_password"]),
        (&json!("Tumbler <tumbler@example.test>"), &json!(true)),
        "{saved}"
    );
    let (status, out) = send_raw(
        &app,
        &token,
        Method::PUT,
        "/api/v1/settings/inventory",
        "[true]",
    )
    .await;
    assert_eq!(
        (status, error_code(&out).as_str()),
        (422, "invalid_json"),
        "{out}"
    );
    let mut inventory = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/settings/inventory",
        None,
        200,
    )
    .await;
    inventory["trust_on_first_use_for_passwords"] = json!(true);
    let saved = ok(
        &app,
        &token,
        Method::PUT,
        "/api/v1/settings/inventory",
        Some(inventory),
        200,
    )
    .await;
    assert_eq!(saved["trust_on_first_use_for_passwords"], true);
    app.stop().await;
}

#[tokio::test]
async fn every_api_error_is_the_envelope() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let client = Client::new();
    let cases = [
        (
            client
                .get(app.url("/api/v1/audit?limit=many"))
                .bearer_auth(&token),
            400,
        ),
        (
            client
                .get(app.url("/api/v1/change-secret/executions?limit=-1x"))
                .bearer_auth(&token),
            400,
        ),
        (
            client
                .delete(app.url("/api/v1/platforms"))
                .bearer_auth(&token),
            405,
        ),
        (
            client
                .post(app.url("/api/v1/nodes"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(format!(
                    "{{\"path\": \"/{}\"}}",
                    "a".repeat(3 * 1024 * 1024)
                )),
            413,
        ),
    ];
    for (req, expected) in cases {
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected, "{body}");
        assert!(ct.starts_with("application/json"), "{ct}");
        let answer: ErrorAnswer = typed(body);
        assert!(!answer.error.code.is_empty(), "{answer:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_stored_policy_with_values_past_the_calendar_does_not_lock_everyone_out() {
    // A policy saved before the bounds existed (or written into the database directly):
    // every duration at its largest. Date arithmetic saturates, so logins keep working.
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let mut policy = get_policy(&app, &token).await;
    let huge = 4294967295u32;
    for field in [
        "expiry_days",
        "expiry_warning_days",
        "session_absolute_hours",
        "session_idle_minutes",
        "lockout_minutes",
    ] {
        policy[field] = json!(huge);
    }
    policy.as_object_mut().unwrap().remove("rules");
    let mut tx = app.services.store.begin().await.unwrap();
    tx.set_meta("password_policy", &policy.to_string())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    login_works(&app).await;
    let me = Client::new()
        .get(app.url("/api/v1/users/me"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // A session made under it works for its next request too.
    let client = Client::builder().cookie_store(true).build().unwrap();
    let res = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.stop().await;
}
