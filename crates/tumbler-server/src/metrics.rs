//! Prometheus metrics through the `metrics` crate and its Prometheus exporter: request counts
//! by status class, request latency and change-run duration histograms, panics, uptime.
//!
//! No global recorder: each server (and each test app in one process) owns its recorder, and
//! records through handles registered on it.

use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tumbler_core::change_secret::RunObserver;
use tumbler_domain::change_secret::ExecutionStatus;

/// Request latency histogram (labels `method`, `route` — the matched route template, never
/// the raw path — and `class`).
pub const REQUEST_DURATION: &str = "tumbler_http_request_duration_seconds";
/// Change-run duration histogram (label `status`: how the execution ended).
pub const CHANGE_DURATION: &str = "tumbler_change_execution_duration_seconds";

/// Histogram buckets in seconds: from a fast request to a long change run.
const BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
    600.0,
];

/// Every this many requests the raw latency samples are folded into their buckets, so memory
/// stays bounded on a server nobody scrapes.
const UPKEEP_EVERY: u64 = 4096;

/// Where metrics are registered from (the exporter ignores it).
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// The server's metrics, owned by its state (no globals).
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    started: Instant,
    by_class: [Counter; 5],
    panics: Counter,
    uptime: Gauge,
    recorded: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let builder = match PrometheusBuilder::new().set_buckets(&BUCKETS) {
            Ok(b) => b,
            // Only for an empty bucket list; a summary is still a usable answer.
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        recorder.describe_counter(
            "tumbler_http_requests_total".into(),
            None,
            "HTTP requests answered, by status class.".into(),
        );
        recorder.describe_histogram(
            REQUEST_DURATION.into(),
            Some(Unit::Seconds),
            "Time spent answering requests, by method, route template and status class.".into(),
        );
        recorder.describe_histogram(
            CHANGE_DURATION.into(),
            Some(Unit::Seconds),
            "How long a change execution ran, by final status.".into(),
        );
        recorder.describe_counter(
            "tumbler_http_panics_total".into(),
            None,
            "Requests whose handler panicked (answered 500).".into(),
        );
        recorder.describe_gauge(
            "tumbler_uptime_seconds".into(),
            Some(Unit::Seconds),
            "Seconds since the server started.".into(),
        );
        recorder.describe_gauge(
            "tumbler_build_info".into(),
            None,
            "Build information.".into(),
        );
        let by_class = [1, 2, 3, 4, 5].map(|c| {
            let key = Key::from_parts(
                "tumbler_http_requests_total",
                vec![Label::new("class", format!("{c}xx"))],
            );
            recorder.register_counter(&key, &METADATA)
        });
        let panics =
            recorder.register_counter(&Key::from_name("tumbler_http_panics_total"), &METADATA);
        let uptime = recorder.register_gauge(&Key::from_name("tumbler_uptime_seconds"), &METADATA);
        let build = Key::from_parts(
            "tumbler_build_info",
            vec![Label::new("version", env!("CARGO_PKG_VERSION"))],
        );
        recorder.register_gauge(&build, &METADATA).set(1.0);
        Self {
            recorder,
            handle,
            started: Instant::now(),
            by_class,
            panics,
            uptime,
            recorded: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// Counts one finished request: its status class, and its latency under the method and
    /// matched route template (`route` must be a template such as `/api/v1/accounts/{id}`,
    /// never a raw path).
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let class = usize::from(status / 100).clamp(1, 5);
        self.by_class[class - 1].increment(1);
        let key = Key::from_parts(
            REQUEST_DURATION,
            vec![
                Label::new("method", method.to_owned()),
                Label::new("route", route.to_owned()),
                Label::new("class", format!("{class}xx")),
            ],
        );
        self.histogram(&key).record(elapsed.as_secs_f64());
        if self.recorded.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
            self.handle.run_upkeep();
        }
    }

    /// Counts one request whose handler panicked (answered with a 500).
    pub fn record_panic(&self) {
        self.panics.increment(1);
    }

    /// The metrics in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        self.uptime.set(self.started.elapsed().as_secs_f64());
        self.handle.run_upkeep();
        self.handle.render()
    }

    fn histogram(&self, key: &Key) -> Histogram {
        self.recorder.register_histogram(key, &METADATA)
    }
}

impl RunObserver for Metrics {
    fn execution_finished(&self, status: ExecutionStatus, duration: Duration) {
        let key = Key::from_parts(
            CHANGE_DURATION,
            vec![Label::new("status", status.to_string())],
        );
        self.histogram(&key).record(duration.as_secs_f64());
    }
}

/// The change engine's observer over these metrics.
pub fn run_observer(metrics: &Arc<Metrics>) -> Arc<dyn RunObserver> {
    metrics.clone()
}
