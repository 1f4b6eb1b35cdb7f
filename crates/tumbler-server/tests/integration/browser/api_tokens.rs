//! User Settings > API tokens: create one (shown once), use it against the API, see its last
//! use, revoke it after a confirmation naming it, and it stops working.

use super::WAIT;
use super::{admin_logs_in, EnrolledAdmin};
use tumbler_testkit::app::ADMIN_PASSWORD;

#[tokio::test]
async fn browser_creates_uses_and_revokes_an_api_token() {
    use super::super::support::call;
    use reqwest::Method;

    let EnrolledAdmin {
        app, authenticator, ..
    } = EnrolledAdmin::start().await;

    let browser = admin_logs_in(&app, &authenticator).await;
    browser.click("#current-user").await;
    browser.click("#tokens-link").await;
    browser.wait_for_text("h1", "API tokens", WAIT).await;
    // The token the test harness made for the API is listed already.
    browser.wait_for_text("#tokens", "active", WAIT).await;
    const ROW: &str = "#tokens tr[data-name='ci-pipeline']";

    // Without the password or a code, nothing is created and the page says why.
    browser.fill("#token-name", "ci-pipeline").await;
    browser.click("#token-create").await;
    browser
        .wait_for_text("#tokens-error", "current password", WAIT)
        .await;
    assert!(!browser.text("#tokens").await.contains("ci-pipeline"));

    browser.fill("#token-name", "ci-pipeline").await;
    browser
        .find("#token-expires option[value='30']")
        .await
        .click()
        .await
        .unwrap();
    browser.fill("#token-password", ADMIN_PASSWORD).await;
    browser.click("#token-create").await;
    browser
        .wait_for_text("#tokens-notice", "not shown again", WAIT)
        .await;
    let token = browser.text("#token-secret-0").await;
    assert!(token.len() > 20, "{token}");
    assert!(
        !browser.current_url().await.contains("/revoke"),
        "the browser is on a page, not a POST address"
    );
    let row = browser.text(ROW).await;
    assert!(row.contains("ci-pipeline"), "{row}");
    assert!(row.contains("active"), "{row}");

    // The token works against the API.
    let (status, me) = call(&app, &token, Method::GET, "/api/v1/users/me", None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["username"], "admin");

    // Shown once: the reloaded page lists it with its last use, not its value.
    browser.goto(&app.url("/account/tokens")).await;
    browser.wait_for_text("#tokens", "ci-pipeline", WAIT).await;
    assert!(!browser.text("body").await.contains(&token));
    let cells = browser.text(ROW).await;
    assert_eq!(
        cells.matches("never").count(),
        0,
        "used and expiring in 30 days: {cells}"
    );

    // Revoking asks first, naming the token.
    browser.click(&format!("{ROW} summary.danger")).await;
    let question = browser
        .wait_for_text(&format!("{ROW} .confirm-box"), "ci-pipeline", WAIT)
        .await;
    assert!(question.contains("cannot be undone"), "{question}");
    browser
        .click(&format!("{ROW} .confirm-box button.danger"))
        .await;
    browser
        .wait_for_text("#tokens-notice", "API token ci-pipeline revoked", WAIT)
        .await;
    browser.wait_for_text(ROW, "revoked", WAIT).await;

    let (status, _) = call(&app, &token, Method::GET, "/api/v1/users/me", None).await;
    assert_eq!(status, 401, "a revoked token is refused");
    browser.close().await;
    app.stop().await;
}
