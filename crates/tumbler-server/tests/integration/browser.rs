//! The console in headless Chromium: the first login with the one-time password, the forced
//! password change, and logging in again.

use std::time::Duration;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};
use tumbler_testkit::browser::Browser;

const WAIT: Duration = Duration::from_secs(20);

/// A browser where the administrator (enrolled in TOTP) has logged in and sees the dashboard.
pub(super) async fn admin_logs_in(
    app: &TestApp,
    authenticator: &super::support::Authenticator,
) -> Browser {
    let browser = Browser::start().await;
    browser.goto(&app.url("/login")).await;
    browser.fill("#username", "admin").await;
    browser.fill("#password", ADMIN_PASSWORD).await;
    browser.fill("#totp", &authenticator.fresh_code()).await;
    browser.click("#login-submit").await;
    browser
        .wait_for_text("#dashboard-title", "Dashboard", WAIT)
        .await;
    browser
}

#[tokio::test]
async fn first_login_changes_the_password_then_logs_in_to_the_dashboard() {
    let app = TestApp::spawn().await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    assert!(
        browser.current_url().await.ends_with("/login"),
        "anonymous users land on the login page"
    );

    // A wrong password shows one clear error.
    browser.fill("#username", "admin").await;
    browser.fill("#password", "wrong-password-123456").await;
    browser.click("#login-submit").await;
    browser
        .wait_for_text(
            "#login-error",
            "Invalid username, password or authentication code",
            WAIT,
        )
        .await;

    browser.fill("#username", "admin").await;
    browser.fill("#password", &app.initial_admin_password).await;
    browser.click("#login-submit").await;
    browser
        .wait_for_text("#must-change", "must change your password", WAIT)
        .await;
    let rules = browser.text("#password-rules").await;
    assert!(rules.contains("15"), "the rules are shown: {rules}");

    browser
        .fill("#old-password", &app.initial_admin_password)
        .await;
    browser.fill("#new-password", ADMIN_PASSWORD).await;
    browser.fill("#confirm-password", ADMIN_PASSWORD).await;
    browser.click("#password-submit").await;
    browser
        .wait_for_text(".notice", "Log in with your new password", WAIT)
        .await;

    browser.fill("#username", "admin").await;
    browser.fill("#password", ADMIN_PASSWORD).await;
    browser.click("#login-submit").await;
    browser
        .wait_for_text("#dashboard-title", "Dashboard", WAIT)
        .await;
    assert_eq!(browser.text("#current-user").await, "Administrator");

    browser.click("#logout").await;
    browser.wait_for_text("h1", "Log in", WAIT).await;
    browser.close().await;
    app.stop().await;
}

/// As a new user would: an administrator creates a user; the user logs in with the temporary
/// password, is made to change it, enrols TOTP from the QR page's key, logs out, and logs in
/// again with a code.
#[tokio::test]
async fn a_new_user_changes_the_temporary_password_and_enrols_totp() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/login")).await;
    browser.fill("#username", "admin").await;
    browser.fill("#password", ADMIN_PASSWORD).await;
    browser.click("#login-submit").await;
    browser
        .wait_for_text("#dashboard-title", "Dashboard", WAIT)
        .await;

    browser.click("#users-link").await;
    browser.wait_for_text("h1", "Users", WAIT).await;
    browser.fill("#new-username", "nina").await;
    browser.fill("#new-display-name", "Nina Operator").await;
    browser.click("input[name=role][value=operator]").await;
    browser.click("#create-user").await;
    browser.wait_for_text("#created-user", "nina", WAIT).await;
    let temporary = browser.text("#temporary-password").await;
    assert!(
        temporary.len() >= 15,
        "a temporary password is shown: {temporary:?}"
    );
    let row = browser.text("tr[data-username=nina]").await;
    assert!(
        row.contains("temporary") && row.contains("operator"),
        "{row}"
    );
    browser.click("#logout").await;
    browser.wait_for_text("h1", "Log in", WAIT).await;

    browser.fill("#username", "nina").await;
    browser.fill("#password", &temporary).await;
    browser.click("#login-submit").await;
    browser
        .wait_for_text("#must-change", "must change your password", WAIT)
        .await;
    let password = "Chooses-A-Long-Passphrase-5";
    browser.fill("#old-password", &temporary).await;
    browser.fill("#new-password", password).await;
    browser.fill("#confirm-password", password).await;
    browser.click("#password-submit").await;
    browser
        .wait_for_text(".notice", "Log in with your new password", WAIT)
        .await;
    browser.fill("#username", "nina").await;
    browser.fill("#password", password).await;
    browser.click("#login-submit").await;
    browser
        .wait_for_text("#dashboard-title", "Dashboard", WAIT)
        .await;

    browser.click("#mfa-link").await;
    browser.fill("#mfa-current-password", password).await;
    browser.click("#mfa-begin").await;
    browser.wait_for_text("#totp-qr", "", WAIT).await;
    let svg = browser.find("#totp-qr svg").await;
    assert!(
        svg.html(false).await.unwrap().contains("<svg"),
        "the QR code is an SVG rendered by the server"
    );
    let secret_text = browser.text("#totp-secret").await;
    // What a phone's camera reads: the QR code as the browser drew it, decoded.
    browser
        .client()
        .execute(
            "arguments[0].scrollIntoView({block: 'center'})",
            vec![serde_json::to_value(&svg).unwrap()],
        )
        .await
        .unwrap();
    let uri = decode_qr(&svg.screenshot().await.unwrap());
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let from_qr = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap_or_else(|| panic!("no secret in {uri}"));
    assert_eq!(
        from_qr,
        secret_text.trim(),
        "the QR code holds the secret shown"
    );
    assert!(uri.contains("issuer=Tumbler"), "{uri}");
    let secret = decode_base32(&secret_text);
    let now = || tumbler_domain::totp::step_of(chrono::Utc::now());
    browser
        .fill("#totp-code", &tumbler_domain::totp::code_at(&secret, now()))
        .await;
    browser.click("#mfa-confirm").await;
    browser
        .wait_for_text("#mfa-enabled", "Two-factor authentication is on", WAIT)
        .await;
    assert_eq!(browser.text("#recovery-codes").await.lines().count(), 10);

    browser.click("#logout").await;
    browser.wait_for_text("h1", "Log in", WAIT).await;
    browser.fill("#username", "nina").await;
    browser.fill("#password", password).await;
    browser.click("#login-submit").await;
    browser
        .wait_for_text(
            "#login-error",
            "Invalid username, password or authentication code",
            WAIT,
        )
        .await;
    browser.fill("#username", "nina").await;
    browser.fill("#password", password).await;
    // The confirmation used this step's code; the next step's is within the window.
    browser
        .fill("#totp", &tumbler_domain::totp::code_at(&secret, now() + 1))
        .await;
    browser.click("#login-submit").await;
    browser
        .wait_for_text("#dashboard-title", "Dashboard", WAIT)
        .await;
    assert_eq!(browser.text("#current-user").await, "Nina Operator");
    browser.close().await;
    app.stop().await;
}

/// The text of the one QR code in a PNG image.
fn decode_qr(png_bytes: &[u8]) -> String {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let i = (y * w + x) * channels;
        // Luminance from the colour channels (grey images have one).
        let px = &buf[i..i + channels.min(3)];
        (px.iter().map(|&c| u32::from(c)).sum::<u32>() / px.len() as u32) as u8
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    grids[0].decode().unwrap().1
}

fn decode_base32(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u64, Vec::new());
    for c in s.trim().bytes() {
        value = (value << 5) | alphabet.iter().position(|a| *a == c).unwrap() as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((value >> bits) & 0xff) as u8);
        }
    }
    out
}

/// As a user changing their own password: User Settings from the banner, the rules tooltip,
/// a comma and a blocklisted password refused with reasons, the change, logged out, back in;
/// another session of the same user ends at once (default) or at the next login (setting).
#[tokio::test]
async fn a_user_changes_their_own_password_in_user_settings() {
    use serde_json::json;
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let admin = app.admin_token().await;
    let client = reqwest::Client::new();
    let res = client
        .patch(app.url("/api/v1/settings/password-policy"))
        .bearer_auth(&admin)
        .json(&json!({"custom_blocklist": ["Corporate-Default-Passw0rd"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let created: serde_json::Value = client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({"username": "paula", "display_name": "Paula"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let temp = created["temporary_password"].as_str().unwrap().to_owned();
    let p1 = "First-Chosen-Passphrase-11";
    let res = client
        .post(app.url("/api/v1/users/me/password"))
        .basic_auth("paula", Some(&temp))
        .json(&json!({"old_password": temp, "new_password": p1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let other_session = |password: &'static str| {
        let url = app.url("/api/v1/auth/login");
        async move {
            let c = reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap();
            let res = c
                .post(url)
                .json(&json!({"username": "paula", "password": password}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            c
        }
    };
    let alive = |c: reqwest::Client| {
        let url = app.url("/api/v1/users/me");
        async move { c.get(url).send().await.unwrap().status() == 200 }
    };

    let browser = Browser::start().await;
    let log_in = |password: &'static str| {
        let b = &browser;
        let url = app.url("/login");
        async move {
            b.goto(&url).await;
            b.fill("#username", "paula").await;
            b.fill("#password", password).await;
            b.click("#login-submit").await;
            b.wait_for_text("#dashboard-title", "Dashboard", WAIT).await;
        }
    };
    let second = other_session(p1).await;
    log_in(p1).await;
    browser.click("a[title='User Settings']").await;
    browser.wait_for_text("h1", "User Settings", WAIT).await;
    let tooltip = browser
        .find(".info")
        .await
        .attr("title")
        .await
        .unwrap()
        .unwrap();
    assert!(
        tooltip.contains("commas") && tooltip.contains("common"),
        "{tooltip}"
    );

    let attempt = |new: &'static str, old: &'static str| {
        let b = &browser;
        async move {
            b.fill("#old-password", old).await;
            b.fill("#new-password", new).await;
            b.fill("#confirm-password", new).await;
            b.click("#password-submit").await;
        }
    };
    attempt("Has,A-Comma-Long-Passphrase-9", p1).await;
    browser
        .wait_for_text("#password-errors", "commas", WAIT)
        .await;
    attempt("Corporate-Default-Passw0rd", p1).await;
    browser
        .wait_for_text("#password-errors", "too common", WAIT)
        .await;
    let p2 = "Second-Chosen-Passphrase-22";
    attempt(p2, p1).await;
    browser
        .wait_for_text(".notice", "Log in with your new password", WAIT)
        .await;
    assert!(
        !alive(second).await,
        "by default the other session ends at once"
    );
    log_in(p2).await;

    let res = client
        .patch(app.url("/api/v1/settings/password-policy"))
        .bearer_auth(&admin)
        .json(&json!({"other_sessions": "keep_until_next_login"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let second = other_session(p2).await;
    browser.click("a[title='User Settings']").await;
    let p3 = "Third-Chosen-Passphrase-33";
    attempt(p3, p2).await;
    browser
        .wait_for_text(".notice", "Log in with your new password", WAIT)
        .await;
    assert!(
        alive(second.clone()).await,
        "with the other setting it lives until the next login"
    );
    log_in(p3).await;
    assert!(!alive(second).await, "and ends at that login");
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_adds_an_asset_and_an_account_and_reveals_the_secret_with_a_code() {
    use super::support::Authenticator;
    use std::sync::Arc;
    use tumbler_domain::ManualClock;
    use tumbler_testkit::app::StoreKind;
    use tumbler_testkit::sshd::{SshHost, TestUser};

    let password = "canary-Dave-3c4d5e6f-pass";
    let host = SshHost::start(&[TestUser::new("dave", password)])
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;

    let browser = admin_logs_in(&app, &authenticator).await;

    browser.click("#assets-link").await;
    browser.wait_for_text("h1", "Assets", WAIT).await;
    browser.click("#add-asset").await;
    browser.wait_for_text("h1", "Add asset", WAIT).await;
    browser.fill("#asset-name-input", "lab-web").await;
    browser.fill("#asset-address", host.address()).await;
    browser.fill("#asset-port", &host.port().to_string()).await;
    browser.find("#asset-nodes").await.clear().await.unwrap();
    browser.fill("#asset-nodes", "/Default/Lab").await;
    browser.click("#save-asset").await;
    browser.wait_for_text("#asset-name", "lab-web", WAIT).await;
    assert_eq!(browser.text("#host-key-status").await, "unverified");

    // First contact pins the key; the dialog shows it for comparison, then acknowledges it.
    browser.click("#test-asset").await;
    browser
        .wait_for_text("#asset-notice", "Connectivity: ok", WAIT)
        .await;
    assert_eq!(
        browser.text("#stored-fingerprint").await,
        host.host_key_fingerprint()
    );
    browser.click("#open-acknowledge").await;
    assert_eq!(
        browser.text("#fingerprint-to-acknowledge").await,
        host.host_key_fingerprint()
    );
    browser.click("#confirm-acknowledge").await;
    browser
        .wait_for_text("#asset-notice", "Host key acknowledged", WAIT)
        .await;
    assert_eq!(browser.text("#host-key-status").await, "verified");

    browser.fill("#account-username", "dave").await;
    browser.fill("#account-password", password).await;
    browser.click("#add-account").await;
    browser
        .wait_for_text("#asset-notice", "Account dave added", WAIT)
        .await;
    browser.click(".verify-account").await;
    browser
        .wait_for_text("#asset-notice", "dave verified", WAIT)
        .await;
    assert_eq!(
        browser.text("tr[data-username=dave] .account-status").await,
        "ok"
    );

    browser.click(".open-reveal").await;
    browser
        .fill(".reveal-totp", &authenticator.fresh_code())
        .await;
    browser.click(".confirm-reveal").await;
    browser.wait_for_text("#revealed", "dave", WAIT).await;
    assert_eq!(browser.text("#revealed-secret").await, password);

    browser.click("#assets-link").await;
    browser.wait_for_text("h1", "Assets", WAIT).await;
    let row = browser.text("tr[data-asset=lab-web]").await;
    assert!(
        row.contains("linux") && row.contains("/Default/Lab") && row.contains("ok"),
        "{row}"
    );

    // The node tree: a node holding an asset is not deleted; a new one appears.
    browser.click("a[data-node=Lab]").await;
    browser
        .wait_for_text("h1", "Assets in /Default/Lab", WAIT)
        .await;
    browser.click("#open-node-dialog").await;
    browser.click("#delete-node").await;
    browser
        .wait_for_text("#assets-error", "still holds 1 asset", WAIT)
        .await;
    browser.click("#open-node-dialog").await;
    browser.fill("#new-node-path", "/Default/Empty").await;
    browser.click("#create-node").await;
    browser
        .wait_for_text("h1", "Assets in /Default/Empty", WAIT)
        .await;
    assert!(browser.text("#node-tree").await.contains("Empty"));
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_runs_a_task_watches_the_log_reveals_and_retries() {
    use super::support::{ok, Authenticator};
    use reqwest::Method;
    use serde_json::json;
    use std::sync::Arc;
    use tumbler_domain::ManualClock;
    use tumbler_testkit::app::StoreKind;
    use tumbler_testkit::sshd::{SshHost, TestUser};

    let ops = "canary-Browser-Ops-1a2";
    let old = "canary-Browser-Old-3b4";
    let host = SshHost::start(&[
        TestUser::new("ops", ops).with_sudo(),
        TestUser::new("app1", old),
    ])
    .await
    .unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;
    // Two assets on the host: on the second, the target has no user "ghost" (a failure).
    for (name, user) in [("web-a", "app1"), ("web-b", "ghost")] {
        let a = ok(&app, &token, Method::POST, "/api/v1/assets",
            Some(json!({"name": name, "address": host.address(), "port": host.port(), "platform": "linux"})), 201).await;
        let id = a["id"].as_str().unwrap().to_owned();
        ok(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/assets/{id}/test"),
            None,
            200,
        )
        .await;
        ok(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/assets/{id}/host-key/acknowledge"),
            Some(json!({"fingerprint": host.host_key_fingerprint()})),
            200,
        )
        .await;
        for (username, secret, privileged) in [("ops", ops, true), (user, old, false)] {
            ok(&app, &token, Method::POST, "/api/v1/accounts",
                Some(json!({"asset_id": id, "username": username, "secret": secret, "privileged": privileged})), 201).await;
        }
    }

    let browser = admin_logs_in(&app, &authenticator).await;
    browser.click("#change-secret-link").await;
    browser
        .wait_for_text("h1", "Account Password Change", WAIT)
        .await;
    // A task for both assets, made in the form; the rules' example follows the rules.
    browser.click("#new-task").await;
    browser
        .wait_for_text("h1", "New password change task", WAIT)
        .await;
    browser.fill("#task-name", "nightly-web").await;
    browser.fill("#task-usernames", "app1, ghost").await;
    browser.click("input[data-label^=web-a]").await;
    browser.click("input[data-label^=web-b]").await;
    browser.find("#rule-length").await.clear().await.unwrap();
    browser.fill("#rule-length", "12").await;
    let deadline = std::time::Instant::now() + WAIT;
    while browser.text("#rule-example").await.chars().count() != 12 {
        assert!(
            std::time::Instant::now() < deadline,
            "the example did not follow the rules"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.fill("#task-cron", "0 3 * * *").await;
    browser.click("#save-task").await;
    browser
        .wait_for_text("#change-notice", "Task nightly-web saved.", WAIT)
        .await;
    assert!(browser
        .text("tr[data-task=nightly-web]")
        .await
        .contains("(UTC)"));
    browser.click("tr[data-task=nightly-web] .run-task").await;
    browser
        .wait_for_text("h1", "Run of nightly-web", WAIT)
        .await;
    // The log arrives live and ends with the run.
    let log = browser
        .wait_for_text(
            "#execution-log",
            "finished: partial",
            Duration::from_secs(120),
        )
        .await;
    assert!(log.contains("app1@web-a: verified and committed"), "{log}");
    let run_url = browser.current_url().await;
    browser.goto(&run_url).await;
    browser.wait_for_text("#run-status", "partial", WAIT).await;
    assert_eq!(
        browser.text("tr[data-username=app1] .record-status").await,
        "success"
    );
    assert!(browser
        .text("tr[data-username=ghost] .record-reason")
        .await
        .starts_with("target_refused"));

    // Reveal the changed account's secrets with a fresh code: the new one logs in.
    browser.click("tr[data-username=app1] .open-reveal").await;
    browser
        .fill(
            "tr[data-username=app1] .reveal-totp",
            &authenticator.fresh_code(),
        )
        .await;
    browser
        .click("tr[data-username=app1] .confirm-reveal")
        .await;
    browser.wait_for_text("#revealed", "app1@web-a", WAIT).await;
    assert_eq!(browser.text("#revealed-old").await, old);
    let new = browser.text("#revealed-new").await;
    assert_ne!(new, old);
    assert_eq!(new.chars().count(), 12, "the task's rules made it");
    let page = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/accounts?username=app1",
        None,
        200,
    )
    .await;
    let app1 = page["items"][0]["id"].as_str().unwrap().to_owned();
    let stored = app
        .services
        .vault
        .open_secret(tumbler_domain::secret_owner::SecretOwner::Account, &app1, 2)
        .await
        .unwrap();
    assert_eq!(
        new.as_bytes(),
        stored.as_slice(),
        "the revealed new secret is the stored one"
    );

    // Retry the failed one: a run of its own, which fails again for the same reason and
    // says so on its page ("retry of" the run).
    browser.click("tr[data-username=ghost] .record-retry").await;
    browser
        .wait_for_text(
            "#run-notice",
            "ghost@web-b: retry done; the record is failed",
            WAIT,
        )
        .await;
    let run_id = run_url.rsplit('/').next().unwrap().to_owned();
    assert!(browser.text("#run-retry-of").await.contains(&run_id));

    // The overview counts them, in the table and the chart.
    browser.click("#change-secret-link").await;
    browser
        .wait_for_text("h1", "Account Password Change", WAIT)
        .await;
    assert_eq!(
        browser
            .text("#runs-table tr[data-trigger=manual] .run-success")
            .await,
        "1"
    );
    assert_eq!(
        browser
            .text("#runs-table tr[data-trigger=manual] .run-failed")
            .await,
        "1"
    );
    let bar = browser.find("#runs-chart .bar-success").await;
    assert_ne!(bar.attr("height").await.unwrap().as_deref(), Some("0"));
    let failed_bar = browser.find("#runs-chart .bar-failed").await;
    assert_ne!(
        failed_bar.attr("height").await.unwrap().as_deref(),
        Some("0")
    );
    assert!(browser.text("#failed-table").await.contains("ghost@web-b"));
    browser.click("#history-link").await;
    browser.wait_for_text("h1", "Execution history", WAIT).await;
    assert_eq!(browser.text("#history-range").await, "Runs 1–2 of 2");
    assert!(browser.text("#history-table").await.contains("nightly-web"));
    assert!(browser
        .text("#history-table .retry-of")
        .await
        .contains(&format!("retry of {run_id}")));

    // Retry all failed: the one failed account, in the background, until it is settled again.
    browser.goto(&run_url).await;
    browser.click("#retry-all-failed").await;
    browser
        .wait_for_text("#run-notice", "Retrying 1 account(s)", WAIT)
        .await;
    // A second retry run of the same record, which fails again.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let runs = ok(
            &app,
            &token,
            Method::GET,
            "/api/v1/change-secret/executions?limit=50",
            None,
            200,
        )
        .await;
        let retries: Vec<&serde_json::Value> = runs["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["trigger"] == "retry" && e["retry_of_execution_id"] == run_id.as_str())
            .collect();
        if retries.len() == 2 && retries.iter().all(|e| e["status"] == "failed") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the background retry did not settle: {runs}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_sets_the_smtp_server_and_sends_a_test_mail() {
    use super::support::{ok, Authenticator};
    use reqwest::Method;
    use serde_json::json;
    use std::sync::Arc;
    use tumbler_domain::ManualClock;
    use tumbler_testkit::app::StoreKind;
    use tumbler_testkit::smtp::SmtpSink;

    let sink = SmtpSink::start().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let me = ok(&app, &token, Method::GET, "/api/v1/users/me", None, 200).await;
    let id = me["id"].as_str().unwrap().to_owned();
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(json!({"email": "admin@example.test"})),
        200,
    )
    .await;
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;

    let browser = admin_logs_in(&app, &authenticator).await;
    browser.click("#settings-link").await;
    browser.click("#mail-settings-link").await;
    browser.wait_for_text("h1", "Settings: Mail", WAIT).await;
    browser.fill("#smtp-host", sink.host()).await;
    browser.find("#smtp-port").await.clear().await.unwrap();
    browser.fill("#smtp-port", &sink.port().to_string()).await;
    browser
        .find("#smtp-security option[value=none]")
        .await
        .click()
        .await
        .unwrap();
    browser.fill("#smtp-from", "tumbler@example.test").await;
    browser.click("#save-mail").await;
    browser.wait_for_text("#mail-notice", "Saved.", WAIT).await;
    browser.click("#send-test-mail").await;
    browser
        .wait_for_text("#mail-notice", "Test mail sent to admin@example.test", WAIT)
        .await;
    let mail = sink.wait_for_messages(1, Duration::from_secs(30)).await;
    assert_eq!(mail[0].to, vec!["admin@example.test".to_owned()]);
    assert_eq!(mail[0].subject, "Tumbler test mail");
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_adds_a_webhook_sees_its_secret_once_and_removes_it() {
    use super::support::{ok, Authenticator};
    use reqwest::Method;
    use std::sync::Arc;
    use tumbler_domain::ManualClock;
    use tumbler_testkit::app::StoreKind;

    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;

    let browser = admin_logs_in(&app, &authenticator).await;
    browser.click("#settings-link").await;
    browser.click("#webhook-settings-link").await;
    browser
        .wait_for_text("h1", "Settings: Webhooks", WAIT)
        .await;
    browser
        .wait_for_text("#webhooks", "No webhooks.", WAIT)
        .await;
    // A refused URL says why and keeps what was typed.
    browser
        .fill("#webhook-url", "ftp://hooks.example.test/x")
        .await;
    browser.click("#add-webhook").await;
    let error = browser.wait_for_text("#webhook-error", "http", WAIT).await;
    assert!(!error.is_empty());
    browser.find("#webhook-url").await.clear().await.unwrap();
    browser
        .fill("#webhook-url", "https://hooks.example.test/tumbler")
        .await;
    browser.click("#add-webhook").await;
    browser
        .wait_for_text("#webhook-notice", "not shown again", WAIT)
        .await;
    let secret = browser.text("#webhook-secret").await;
    assert!(secret.len() >= 32, "{secret}");
    let listed = ok(&app, &token, Method::GET, "/api/v1/webhooks", None, 200).await;
    assert_eq!(listed[0]["url"], "https://hooks.example.test/tumbler");
    assert!(
        !listed.to_string().contains(&secret),
        "the API never shows it"
    );
    // Shown once: the page reloaded no longer has it.
    browser.goto(&app.url("/settings/webhooks")).await;
    browser
        .wait_for_text("#webhooks", "https://hooks.example.test/tumbler", WAIT)
        .await;
    assert!(!browser.text("body").await.contains(&secret));
    browser.click("#webhooks button.danger").await;
    browser
        .wait_for_text("#webhook-notice", "Webhook removed.", WAIT)
        .await;
    let listed = ok(&app, &token, Method::GET, "/api/v1/webhooks", None, 200).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(0));
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_resolves_a_key_conflict_through_the_dialog() {
    use super::support::{ok, Authenticator};
    use reqwest::Method;
    use serde_json::json;
    use std::sync::Arc;
    use tumbler_domain::ManualClock;
    use tumbler_testkit::app::StoreKind;
    use tumbler_testkit::sshd::{SshHost, TestUser};

    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let host = SshHost::start(&[TestUser::new("ops", "canary-Ops-Browser-Key-2").with_sudo()])
        .await
        .unwrap();
    let id = super::change_secret::linux_asset(&app, &token, "edge-router", &host).await;
    super::change_secret::account(
        &app,
        &token,
        &id,
        "ops",
        "canary-Ops-Browser-Key-2",
        true,
        json!({}),
    )
    .await;
    let started = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{id}/authentication"),
        Some(json!({"mode": "system_key", "admin_user": "tumbler", "create_user": true})),
        202,
    )
    .await;
    let job =
        super::device_keys::wait_for_job(&app, &token, started["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    // The device loses Tumbler's key; the next contact finds the conflict.
    host.run_inside_ok(&["sh", "-c", ": > /home/tumbler/.ssh/authorized_keys"])
        .await
        .unwrap();
    let a = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(a["auth_status"], "key_conflict", "{a}");
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;

    let browser = admin_logs_in(&app, &authenticator).await;
    browser
        .goto(&app.url("/assets?auth_status=key_conflict"))
        .await;
    browser
        .wait_for_text("#assets-table", "Key Conflict", WAIT)
        .await;
    // Cancel leaves everything as it was.
    browser
        .click("input[aria-label='Select edge-router']")
        .await;
    browser.click("#resolve-selected").await;
    browser
        .wait_for_text("h1", "Resolve Key Conflict", WAIT)
        .await;
    browser.click("#cancel-resolve").await;
    browser.wait_for_text("h1", "Assets", WAIT).await;
    let a = ok(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/assets/{id}"),
        None,
        200,
    )
    .await;
    assert_eq!(a["auth_status"], "key_conflict", "{a}");
    // Select it again and resolve with the system key, creating a new admin user.
    browser
        .goto(&app.url("/assets?auth_status=key_conflict"))
        .await;
    browser
        .click("input[aria-label='Select edge-router']")
        .await;
    browser.click("#resolve-selected").await;
    browser
        .wait_for_text("#conflict-devices", "edge-router", WAIT)
        .await;
    browser.fill(".admin-user", "netops").await;
    browser
        .fill(".admin-password", "canary-Browser-Admin-Pw-8")
        .await;
    browser.click(".create-user").await;
    browser.click("#resolve-devices").await;
    browser
        .wait_for_text("#job-status", "succeeded", WAIT)
        .await;
    browser
        .wait_for_text("#job-outcomes", "installed for netops and verified", WAIT)
        .await;
    let a = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(a["auth_status"], "key_based", "{a}");
    assert_eq!(a["auth_username"], "netops", "{a}");
    // The device key page shows the key devices hold.
    let key = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/system/ssh-key",
        None,
        200,
    )
    .await;
    browser.click("#settings-link").await;
    browser.click("#device-key-link").await;
    let shown = browser.text("#key-fingerprint").await;
    assert_eq!(shown, key["fingerprint"].as_str().unwrap());
    browser.close().await;
    app.stop().await;
}
