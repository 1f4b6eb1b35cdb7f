//! Every console form route takes the `ConsoleForm` extractor: posted without a CSRF token by
//! a logged-in browser it is refused with 403 "Form expired" (before any path, field or
//! permission is looked at), and posted without a session it sends the browser to the login
//! page. The routes come from the list the router is built from, so a new one cannot be left
//! out.

use reqwest::redirect::Policy;
use reqwest::Client;
use serde_json::json;
use tumbler_server::console_post_paths;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

/// A concrete URL for a route pattern: ids are fresh UUIDs, other parameters a word.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{id}" => uuid::Uuid::new_v4().to_string(),
            "{action}" => "run".to_owned(),
            s if s.starts_with('{') => "x".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn only_the_login_form_is_posted_outside_the_form_routes() {
    let source = include_str!("../../src/ui/mod.rs");
    let routes = source
        .split("pub fn routes()")
        .nth(1)
        .expect("the router function");
    let builder = routes.split("form_routes()").next().unwrap_or(routes);
    assert_eq!(
        builder.matches("post(").count(),
        1,
        "a POST route outside `form_routes` (only the login form may be): {builder}"
    );
    assert!(console_post_paths().len() >= 40);
}

#[tokio::test]
async fn every_console_form_refuses_a_post_without_its_csrf_token() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let browser = Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    let res = browser
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let stranger = Client::builder().redirect(Policy::none()).build().unwrap();

    for path in console_post_paths() {
        let url = app.url(&concrete(path));
        for form in [&[][..], &[("csrf", "forged")][..]] {
            let res = browser.post(&url).form(form).send().await.unwrap();
            assert_eq!(res.status(), 403, "POST {path} with {form:?}");
            let body = res.text().await.unwrap();
            assert!(body.contains("Form expired"), "POST {path}: {body}");
        }

        let res = stranger
            .post(&url)
            .form(&[("csrf", "forged")])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection(), "POST {path} without session");
        assert_eq!(
            res.headers()["location"],
            "/login",
            "POST {path} without session"
        );
    }
    // The session is still there: nothing above logged it out.
    let res = browser
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.stop().await;
}
