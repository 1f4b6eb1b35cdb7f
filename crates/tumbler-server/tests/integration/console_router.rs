//! Every console form route takes the `ConsoleForm` extractor: posted without a CSRF token by
//! a logged-in browser it is refused with 403 "Form expired" (before any path, field or
//! permission is looked at), and posted without a session it sends the browser to the login
//! page. With its token, no form answers 200 at its POST address (post/redirect/get: an action
//! redirects, a refused form comes back with 4xx), so Refresh never repeats an action. The
//! routes come from the list the router is built from, so a new one cannot be left out.

use super::support::{console_admin, csrf_in};
use reqwest::redirect::Policy;
use reqwest::Client;
use tumbler_server::{console_page_paths, console_post_paths};
use tumbler_testkit::app::TestApp;

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

/// Pages are `GET` only by construction (`PageRoute`); this checks the built router: a
/// logged-in browser posting to a page that has no form route (the login page aside) is
/// answered 405, so no action hides behind a page without the form extractor.
#[tokio::test]
async fn only_the_login_form_is_posted_outside_the_form_routes() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let browser = console_admin(&app).await;
    let forms = console_post_paths();
    let pages = console_page_paths();
    assert!(pages.len() >= 30 && forms.len() >= 40);
    let dashboard = browser.get(app.url("/")).send().await.unwrap();
    let csrf = csrf_in(&dashboard.text().await.unwrap());
    let mut checked = 0;
    for path in pages
        .iter()
        .filter(|p| **p != "/login" && !forms.contains(p) && !p.starts_with("/static"))
    {
        let url = app.url(&concrete(path));
        let page = browser.get(&url).send().await.unwrap();
        assert_ne!(page.status(), 405, "GET {path}");
        let res = browser
            .post(&url)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "POST {path}");
        checked += 1;
    }
    assert!(checked >= 10, "{checked} pages checked");
    app.stop().await;
}

#[tokio::test]
async fn every_console_form_refuses_a_post_without_its_csrf_token() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let browser = console_admin(&app).await;
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

/// The CSRF token of the session behind `client`, read from a page's form.
async fn csrf_of(client: &Client, app: &TestApp) -> String {
    let page = client
        .get(app.url("/account/password"))
        .send()
        .await
        .unwrap();
    csrf_in(&page.text().await.unwrap())
}

#[tokio::test]
async fn no_console_form_answers_200_at_its_post_address() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let browser = console_admin(&app).await;
    let csrf = csrf_of(&browser, &app).await;
    let mut paths = console_post_paths();
    // Logging out ends the session the others need: last.
    paths.sort_by_key(|p| *p == "/logout");
    for path in paths {
        let res = browser
            .post(app.url(&concrete(path)))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        let status = res.status();
        assert!(
            status.is_redirection() || status.is_client_error(),
            "POST {path} answered {status}: a page at a POST address"
        );
    }
    app.stop().await;
}

/// A paging offset at the largest number pages (empty) instead of overflowing into a 500.
#[tokio::test]
async fn a_huge_paging_offset_shows_an_empty_page() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let browser = console_admin(&app).await;
    for path in ["/assets", "/change-secret/executions"] {
        let url = app.url(&format!("{path}?offset={}", i64::MAX));
        let res = browser.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200, "GET {path}");
    }
    app.stop().await;
}
