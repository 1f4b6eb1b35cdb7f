//! A new user changes the temporary password and enrols TOTP from the QR code as drawn.

use super::WAIT;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

/// As a new user would: an administrator creates a user (refused until they give their own
/// password again); the user logs in with the temporary
/// password, is made to change it, enrols TOTP from the QR page's key, logs out, and logs in
/// again with a code.
#[tokio::test]
async fn a_new_user_changes_the_temporary_password_and_enrols_totp() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let browser = super::admin_logs_in_with_password(&app).await;

    browser.click("#users-link").await;
    browser.wait_for_text("h1", "Users", WAIT).await;
    // Without the administrator's own password (or a code) no user is created.
    browser.fill("#new-username", "nina").await;
    browser.click("#create-user").await;
    browser
        .wait_for_text("#users-error", "reauthentication_required", WAIT)
        .await;
    assert!(
        !browser.text("table").await.contains("nina"),
        "no user was created"
    );
    browser.fill("#new-username", "nina").await;
    browser.fill("#new-display-name", "Nina Operator").await;
    browser.click("input[name=role][value=operator]").await;
    browser.fill("#new-user-password", ADMIN_PASSWORD).await;
    browser.click("#create-user").await;
    browser.wait_for_text("#created-user", "nina", WAIT).await;
    let temporary = browser.text("#created-user-0").await;
    assert!(
        temporary.len() >= 15,
        "a temporary password is shown: {temporary:?}"
    );
    let row = browser.text("tr[data-username=nina]").await;
    assert!(
        row.contains("temporary") && row.contains("operator"),
        "{row}"
    );
    browser.click("#current-user").await;
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

    browser.click("#current-user").await;
    browser.click("#user-settings-link").await;
    browser.click("#tab-mfa").await;
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

    browser.click("#current-user").await;
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
