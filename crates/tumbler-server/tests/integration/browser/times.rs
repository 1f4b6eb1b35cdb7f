//! Times in the viewer's own zone: every time on the console's pages is a `<time>` element the
//! script shows in the browser's time zone with the zone's name; no page shows a raw RFC 3339
//! time.

use super::{admin_logs_in_to, EnrolledAdmin, WAIT};
use tumbler_testkit::browser::Browser;

/// A zone without daylight saving time, so the expected text does not depend on the date.
const ZONE: &str = "Asia/Kolkata";
/// How Chromium names it (`timeZoneName: "short"`, English).
const ZONE_NAME: &str = "GMT+5:30";

/// Whether `text` holds an RFC 3339 time (`2026-12-06T03:00`) outside `datetime="…"`
/// attributes; returns the first such one.
fn raw_rfc3339(text: &str) -> Option<String> {
    let mut rest = String::new();
    let mut remaining = text;
    while let Some(start) = remaining.find("datetime=\"") {
        rest.push_str(&remaining[..start]);
        let after = &remaining[start + "datetime=\"".len()..];
        remaining = after.find('"').map_or("", |end| &after[end + 1..]);
    }
    rest.push_str(remaining);
    let bytes = rest.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd";
    bytes.windows(shape.len()).find_map(|w| {
        w.iter()
            .zip(shape)
            .all(|(c, s)| match s {
                b'd' => c.is_ascii_digit(),
                other => c == other,
            })
            .then(|| String::from_utf8_lossy(w).into_owned())
    })
}

/// The text inside each `<time …>…</time>` element of `source`.
fn time_texts(source: &str) -> Vec<String> {
    source
        .split("<time ")
        .skip(1)
        .filter_map(|rest| {
            let inner = &rest[rest.find('>')? + 1..];
            Some(inner[..inner.find("</time>")?].to_owned())
        })
        .collect()
}

#[test]
fn the_raw_time_finder_skips_datetime_attributes() {
    assert_eq!(
        raw_rfc3339(r#"<time datetime="2026-12-06T03:00:00Z">2026-12-06 03:00 UTC</time>"#),
        None
    );
    assert_eq!(
        raw_rfc3339("next 2026-12-06T03:00:00+01:00 (Europe/Berlin)").as_deref(),
        Some("2026-12-06T03:00")
    );
}

#[tokio::test]
async fn browser_shows_every_time_in_the_viewers_zone_and_no_raw_rfc3339() {
    use super::super::change_secret::{account, linux_asset, run, task_view};
    use serde_json::json;
    use tumbler_testkit::sshd::{SshHost, TestUser};

    let ops = "canary-Times-Ops-4e1";
    let host = SshHost::start(&[TestUser::new("ops", ops).with_sudo()])
        .await
        .unwrap();
    let admin = EnrolledAdmin::start().await;
    let (app, token) = (&admin.app, admin.token.as_str());
    let web = linux_asset(app, token, "web-times", &host).await;
    account(app, token, &web, "ops", ops, true, json!({})).await;
    account(
        app,
        token,
        &web,
        "ghost",
        "canary-Times-Old-9f2",
        false,
        json!({}),
    )
    .await;
    let scheduled = task_view(
        app,
        token,
        json!({"name": "nightly-times", "usernames": ["ghost"], "asset_ids": [web],
               "secret_strategy": "random", "schedule": {"cron": "0 3 * * *"}}),
    )
    .await;
    let next = scheduled
        .next_run_at
        .expect("a scheduled task has a next run");
    let finished = run(app, token, &scheduled.id.to_string()).await;

    let browser = admin_logs_in_to(
        Browser::start_in_zone(ZONE).await,
        app,
        &admin.authenticator,
    )
    .await;
    // The next run (03:00 UTC) in the viewer's zone, with the zone's name.
    let expected = (next + chrono::Duration::minutes(330))
        .format(&format!("%Y-%m-%d %H:%M {ZONE_NAME}"))
        .to_string();
    browser
        .wait_for_text("#next-runs time", &expected, WAIT)
        .await;
    // Every page: each time shown in the zone, none raw.
    let run_page = format!("/change-secret/executions/{}", finished.id);
    for path in [
        "/",
        "/change-secret",
        "/change-secret/executions",
        run_page.as_str(),
        "/jobs",
    ] {
        browser.goto(&app.url(path)).await;
        browser.find("main").await;
        if path == run_page {
            // The log's lines carry times too.
            browser
                .wait_for_text("#execution-log", "finished: ", WAIT)
                .await;
        }
        let deadline = std::time::Instant::now() + WAIT;
        let source = loop {
            let source = browser.source().await;
            let times = time_texts(&source);
            assert!(
                path == "/jobs" || !times.is_empty(),
                "{path} shows no time at all"
            );
            if times.iter().all(|t| t.ends_with(ZONE_NAME)) {
                break source;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{path}: a time is not in the viewer's zone: {times:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        assert_eq!(raw_rfc3339(&source), None, "{path} shows a raw time");
    }
    browser.close().await;
    admin.app.stop().await;
}
