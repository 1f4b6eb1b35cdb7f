//! Each rule's refusal over the API (every refusal code, history, the comma), and only
//! administrators read the custom blocklist.

use super::super::support::{error_code, typed};
use super::{change, get_policy, put_policy};
use reqwest::Client;
use serde_json::{json, Value};
use tumbler_api_types::settings::PolicyBody;
use tumbler_api_types::ErrorAnswer;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

#[tokio::test]
async fn refusals_name_every_broken_rule() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let policy = get_policy(&app, &token).await;
    assert_eq!(
        (
            policy.min_length,
            policy.history,
            policy.disallowed_chars.as_str()
        ),
        (15, 6, ",")
    );
    assert!(policy.rules.iter().any(|r| r.contains("commas")));

    let (status, _) = put_policy(&app, &token, json!({"max_length": 64})).await;
    assert_eq!(status, 400, "a maximum below 128 would truncate");
    let (status, _) = put_policy(&app, &token, json!({"min_lenght": 3})).await;
    assert!(status == 400 || status == 422, "unknown fields are refused");
    let (status, saved) = put_policy(&app, &token, json!({"require_uppercase": true, "require_digit": true, "require_symbol": true, "custom_blocklist": ["Tumbler-Company-Secret"], "min_strength": 0})).await;
    assert_eq!(status, 200, "{saved}");
    assert!(typed::<PolicyBody>(saved)
        .rules
        .iter()
        .any(|r| r.contains("uppercase")));

    let (status, codes) = change(&app, "admin", ADMIN_PASSWORD, "all lower, with comma").await;
    assert_eq!(status, 422);
    assert_eq!(
        codes,
        ["disallowed_character", "missing_uppercase", "missing_digit"]
    );
    let (_, codes) = change(&app, "admin", ADMIN_PASSWORD, "tumbler-company-secret").await;
    assert!(codes.contains(&"blocklisted".to_owned()), "{codes:?}");
    let (_, codes) = change(&app, "admin", ADMIN_PASSWORD, "ADMIN-IS-ME-1234!").await;
    assert!(codes.contains(&"contains_username".to_owned()), "{codes:?}");
    let (_, codes) = change(&app, "admin", ADMIN_PASSWORD, "Administrator-2026-Q!").await;
    assert!(
        codes.contains(&"contains_display_name".to_owned()),
        "{codes:?}"
    );

    // The built-in blocklist, with a shorter minimum so length is not what refuses it.
    let (status, _) = put_policy(&app, &token, json!({"min_length": 8, "min_strength": 0, "require_uppercase": false, "require_digit": false, "require_symbol": false})).await;
    assert_eq!(status, 200);
    let (_, codes) = change(&app, "admin", ADMIN_PASSWORD, "iloveyou").await;
    assert_eq!(codes, ["blocklisted"]);
    let (_, codes) = change(&app, "admin", ADMIN_PASSWORD, "aaaaaaaaaaaaaaaa").await;
    assert!(
        codes.is_empty() || !codes.contains(&"too_weak".to_owned()),
        "strength is off now: {codes:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn history_refuses_recent_passwords() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let pws = ["Second-Passphrase-Is-Long-1", "Third-Passphrase-Is-Long-2"];
    assert_eq!(change(&app, "admin", ADMIN_PASSWORD, pws[0]).await.0, 204);
    assert_eq!(change(&app, "admin", pws[0], pws[1]).await.0, 204);
    let (status, codes) = change(&app, "admin", pws[1], ADMIN_PASSWORD).await;
    assert_eq!((status, codes), (422, vec!["reused".to_owned()]));
    let (_, codes) = change(&app, "admin", pws[1], pws[1]).await;
    assert_eq!(codes, ["same_as_current"]);
    app.stop().await;
}

#[tokio::test]
async fn every_refusal_code_over_the_api() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let all_classes = json!({"require_lowercase": true, "require_uppercase": true, "require_digit": true, "require_symbol": true, "min_strength": 0, "builtin_blocklist": false, "custom_blocklist": ["Custom-Blocked-Passphrase-1!"]});
    assert_eq!(put_policy(&app, &token, all_classes).await.0, 200);
    let cases: Vec<(String, &str)> = vec![
        ("Sh0rt!".to_owned(), "too_short"),
        (format!("{}aA1!", "x".repeat(130)), "too_long"),
        (
            "Long-Enough,Passphrase-1".to_owned(),
            "disallowed_character",
        ),
        (
            "Long-Enough\u{1}Passphrase-1".to_owned(),
            "control_character",
        ),
        ("My-admin-Passphrase-Long-1".to_owned(), "contains_username"),
        (
            "Administrator-Passphrase-9!".to_owned(),
            "contains_display_name",
        ),
        (
            "ALL-UPPER-PASSPHRASE-LONG-1".to_owned(),
            "missing_lowercase",
        ),
        (
            "all-lower-passphrase-long-1".to_owned(),
            "missing_uppercase",
        ),
        ("No-Digits-In-This-Passphrase".to_owned(), "missing_digit"),
        ("NoSymbolsInThisPassphrase1".to_owned(), "missing_symbol"),
        ("custom-blocked-passphrase-1!".to_owned(), "blocklisted"),
        (ADMIN_PASSWORD.to_owned(), "same_as_current"),
    ];
    for (candidate, code) in &cases {
        let (status, codes) = change(&app, "admin", ADMIN_PASSWORD, candidate).await;
        assert_eq!(status, 422, "{code}");
        assert!(
            codes.iter().any(|c| c == code),
            "{code} expected, got {codes:?}"
        );
    }
    assert_eq!(
        put_policy(&app, &token, json!({"min_strength": 4})).await.0,
        200
    );
    let (_, codes) = change(&app, "admin", ADMIN_PASSWORD, "abcabcabcabcabcabcabc").await;
    assert!(codes.iter().any(|c| c == "too_weak"), "{codes:?}");

    // Only HTTP Basic may change it over REST: a token gets 401 with a reason.
    let res = Client::new()
        .post(app.url("/api/v1/users/me/password"))
        .bearer_auth(&token)
        .json(
            &json!({"old_password": ADMIN_PASSWORD, "new_password": "Whatever-Long-Passphrase-9"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "basic_auth_required");
    assert!(typed::<ErrorAnswer>(body).error.message.contains("Basic"));
    app.stop().await;
}

#[tokio::test]
async fn only_administrators_read_the_custom_blocklist() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let (status, saved) = put_policy(
        &app,
        &token,
        json!({"custom_blocklist": ["Canary-Blocked-Acme-2026"]}),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    let operator =
        super::super::support::user(&app, &token, "op", &["operator"], &["Default"]).await;
    let read = |t: String| {
        let url = app.url("/api/v1/settings/password-policy");
        async move {
            let res = Client::new().get(url).bearer_auth(t).send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let theirs = read(operator).await;
    assert!(
        !theirs.to_string().contains("Canary-Blocked"),
        "an operator does not read the blocklist: {theirs}"
    );
    // Raw JSON: the field is absent from the answer, not empty.
    assert!(theirs.get("custom_blocklist").is_none(), "{theirs}");
    let mut theirs = theirs;
    theirs["custom_blocklist"] = json!([]);
    let theirs: PolicyBody = typed(theirs);
    assert_eq!(theirs.min_length, 15, "the rest of the policy is there");
    assert!(
        theirs.rules.iter().any(|r| r.contains("breached")),
        "the rules still say that some passwords are refused: {:?}",
        theirs.rules
    );
    let mine: PolicyBody = typed(read(token).await);
    assert_eq!(mine.custom_blocklist, ["Canary-Blocked-Acme-2026"]);
    app.stop().await;
}
