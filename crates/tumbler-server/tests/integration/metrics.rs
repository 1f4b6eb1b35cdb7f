//! `/metrics`: request latency as a histogram by method, route template and status class
//! (never the raw path), on a recorder of this app's own.

use tumbler_testkit::app::TestApp;

async fn scrape(app: &TestApp) -> String {
    app.get_text("/metrics").await
}

/// The value of the first line starting with `prefix`.
fn value(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn request_latency_is_a_histogram_by_route_template() {
    let app = TestApp::spawn().await;
    let raw_id = "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0001";
    let user_path = format!("/api/v1/users/{raw_id}");
    for _ in 0..2 {
        app.client.get(app.url("/healthz")).send().await.unwrap();
        app.client.get(app.url(&user_path)).send().await.unwrap();
    }
    // A path no route matches and a made-up method: bounded labels, never the caller's text.
    let stray = format!("/no-such-place/{raw_id}");
    app.client.get(app.url(&stray)).send().await.unwrap();
    let odd = reqwest::Method::from_bytes(b"FROBNICATE").unwrap();
    app.client
        .request(odd, app.url("/healthz"))
        .send()
        .await
        .unwrap();
    let first = scrape(&app).await;
    assert!(first.contains("route=\"unmatched\""), "{first}");
    assert!(first.contains("method=\"other\""), "{first}");
    assert!(!first.contains("no-such-place"), "{first}");
    assert!(!first.contains("FROBNICATE"), "{first}");
    let healthz_count =
        "tumbler_http_request_duration_seconds_count{method=\"GET\",route=\"/healthz\",class=\"2xx\"}";
    let before = value(&first, healthz_count).unwrap_or_else(|| panic!("{first}"));
    assert!(before >= 2.0, "{first}");
    assert!(
        first.contains("# TYPE tumbler_http_request_duration_seconds histogram"),
        "{first}"
    );
    assert!(
        first.lines().any(|l| l.starts_with(
            "tumbler_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",class=\"2xx\",le=\""
        )),
        "{first}"
    );
    // The id is in no label: the route template is.
    assert!(
        first.contains("route=\"/api/v1/users/{id}\",class=\"4xx\""),
        "{first}"
    );
    assert!(!first.contains(raw_id), "{first}");
    // The counters the operators' dashboards read stay.
    assert!(
        first.contains("tumbler_http_requests_total{class=\"2xx\"}"),
        "{first}"
    );
    assert!(first.contains("tumbler_http_panics_total 0"), "{first}");
    assert!(first.contains("tumbler_build_info{version=\""), "{first}");
    assert!(first.contains("tumbler_uptime_seconds "), "{first}");

    app.client.get(app.url("/healthz")).send().await.unwrap();
    let second = scrape(&app).await;
    let after = value(&second, healthz_count).unwrap_or_else(|| panic!("{second}"));
    assert!(after > before, "the count grew: {before} then {after}");
    let inf = "tumbler_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",class=\"2xx\",le=\"+Inf\"}";
    assert_eq!(value(&second, inf), Some(after), "{second}");

    // Another app in this process counts on its own recorder.
    let other = TestApp::spawn().await;
    let fresh = scrape(&other).await;
    assert!(
        value(&fresh, healthz_count).is_none(),
        "no /healthz yet on the other app: {fresh}"
    );
    other.stop().await;
    app.stop().await;
}
