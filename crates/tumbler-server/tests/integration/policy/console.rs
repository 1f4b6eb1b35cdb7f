//! Administrators edit the policy in the console.

use super::{get_policy, login};
use reqwest::Client;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

#[tokio::test]
async fn administrators_edit_the_policy_in_the_console() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let c = Client::builder().cookie_store(true).build().unwrap();
    login(&app, &c, ADMIN_PASSWORD).await;
    let page = c
        .get(app.url("/settings/password"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let form = |min: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("min_length", min.to_owned()),
            ("min_length_with_mfa", "8".to_owned()),
            ("max_length", "128".to_owned()),
            ("builtin_blocklist", "on".to_owned()),
            (
                "custom_blocklist",
                "one-bad-password\r\nanother-bad-one".to_owned(),
            ),
            ("min_strength", "2".to_owned()),
            ("disallowed_chars", ",;".to_owned()),
            ("history", "3".to_owned()),
            ("expiry_days", "".to_owned()),
            ("expiry_warning_days", "14".to_owned()),
            ("other_sessions", "revoke".to_owned()),
            ("max_failed_logins", "4".to_owned()),
            ("lockout_minutes", "10".to_owned()),
            ("session_idle_minutes", "20".to_owned()),
            ("session_absolute_hours", "8".to_owned()),
            ("max_sessions_per_user", "3".to_owned()),
        ]
    };
    let res = c
        .post(app.url("/settings/password"))
        .form(&form("20"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    let policy = get_policy(&app, &token).await;
    assert_eq!(
        (
            policy.min_length,
            policy.history,
            policy.disallowed_chars.as_str()
        ),
        (20, 3, ",;")
    );
    assert_eq!(
        policy.custom_blocklist,
        ["one-bad-password", "another-bad-one"]
    );
    let page = c
        .post(app.url("/settings/password"))
        .form(&form("lots"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("min length must be a number"),
        "a bad field is named"
    );
    let res = c
        .post(app.url("/settings/password"))
        .form(&[("csrf", "forged"), ("min_length", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    app.stop().await;
}
