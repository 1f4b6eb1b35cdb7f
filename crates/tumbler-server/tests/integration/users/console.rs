//! The console edits and deletes users.

use super::super::support::typed;
use super::{admin, call, user_with_roles};
use reqwest::{Client, Method};
use serde_json::json;
use tumbler_api_types::users::UserOut;
use tumbler_domain::user::UserStatus;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

/// The user's status, as the API shows it.
async fn status_of(app: &TestApp, admin_token: &str, id: &str) -> UserStatus {
    let (_, user) = call(
        app,
        admin_token,
        Method::GET,
        &format!("/api/v1/users/{id}"),
        None,
    )
    .await;
    typed::<UserOut>(user).user.status
}

#[tokio::test]
async fn the_console_edits_and_deletes_users() {
    let app = TestApp::spawn().await;
    let admin_token = admin(&app).await;
    let (id, token) = user_with_roles(&app, &admin_token, "eddy", &["operator"]).await;
    let console = Client::builder().cookie_store(true).build().unwrap();
    let res = console
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = console
        .get(app.url(&format!("/users/{id}/edit")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Edit eddy"));
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("display_name", "Eddy E"),
        ("email", ""),
        ("role", "auditor"),
        ("domain", "Default"),
    ];
    // A role change without the current password is refused on the page; nothing changes.
    let res = console
        .post(app.url(&format!("/users/{id}/edit")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("reauthentication_required"));
    let (_, user) = call(
        &app,
        &admin_token,
        Method::GET,
        &format!("/api/v1/users/{id}"),
        None,
    )
    .await;
    assert_eq!(typed::<UserOut>(user).user.roles, ["operator"]);
    form.push(("current_password", ADMIN_PASSWORD));
    let res = console
        .post(app.url(&format!("/users/{id}/edit")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    let (_, user) = call(
        &app,
        &admin_token,
        Method::GET,
        &format!("/api/v1/users/{id}"),
        None,
    )
    .await;
    let user: UserOut = typed(user);
    assert_eq!(
        (user.user.display_name.as_str(), user.user.roles),
        ("Eddy E", vec!["auditor".to_owned()])
    );
    assert_eq!(
        call(&app, &token, Method::GET, "/api/v1/audit", None)
            .await
            .0,
        200,
        "the new role applies at once"
    );

    // Disabling from the list needs nothing more; enabling again needs the current password.
    for (form, expected) in [
        (vec![("status", "disabled")], UserStatus::Disabled),
        (vec![("status", "enabled")], UserStatus::Disabled),
        (
            vec![("status", "enabled"), ("current_password", ADMIN_PASSWORD)],
            UserStatus::Enabled,
        ),
    ] {
        let mut form = form;
        form.push(("csrf", csrf.as_str()));
        let res = console
            .post(app.url(&format!("/users/{id}/status")))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        assert_eq!(
            status_of(&app, &admin_token, &id).await,
            expected,
            "{form:?}"
        );
    }

    let forged = [("csrf", "nope")];
    let res = console
        .post(app.url(&format!("/users/{id}/delete")))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // Without the dialog's confirmation nothing is deleted.
    let res = console
        .post(app.url(&format!("/users/{id}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(
        call(
            &app,
            &admin_token,
            Method::GET,
            &format!("/api/v1/users/{id}"),
            None
        )
        .await
        .0,
        200,
        "a delete without confirmation is refused"
    );
    let res = console
        .post(app.url(&format!("/users/{id}/delete")))
        .form(&[("csrf", csrf.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(
        call(
            &app,
            &admin_token,
            Method::GET,
            &format!("/api/v1/users/{id}"),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(&app, &token, Method::GET, "/api/v1/users/me", None)
            .await
            .0,
        401,
        "a deleted user's tokens die with it"
    );
    app.stop().await;
}
