//! Prometheus text metrics: request counts by status class and latency sum, uptime.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Process-wide counters, owned by the server state (no globals).
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    by_class: [AtomicU64; 5],
    latency_micros: AtomicU64,
    panics: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            by_class: Default::default(),
            latency_micros: AtomicU64::new(0),
            panics: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// Counts one finished request.
    pub fn record(&self, status: u16, micros: u64) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        self.latency_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Counts one request whose handler panicked (answered with a 500).
    pub fn record_panic(&self) {
        self.panics.fetch_add(1, Ordering::Relaxed);
    }

    /// The metrics in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP tumbler_http_requests_total HTTP requests answered, by status class.\n",
        );
        out.push_str("# TYPE tumbler_http_requests_total counter\n");
        for (i, c) in self.by_class.iter().enumerate() {
            out.push_str(&format!(
                "tumbler_http_requests_total{{class=\"{}xx\"}} {}\n",
                i + 1,
                c.load(Ordering::Relaxed)
            ));
        }
        out.push_str("# HELP tumbler_http_request_duration_seconds_sum Total time spent answering requests.\n");
        out.push_str("# TYPE tumbler_http_request_duration_seconds_sum counter\n");
        out.push_str(&format!(
            "tumbler_http_request_duration_seconds_sum {}\n",
            self.latency_micros.load(Ordering::Relaxed) as f64 / 1e6
        ));
        out.push_str(
            "# HELP tumbler_http_panics_total Requests whose handler panicked (answered 500).\n",
        );
        out.push_str("# TYPE tumbler_http_panics_total counter\n");
        out.push_str(&format!(
            "tumbler_http_panics_total {}\n",
            self.panics.load(Ordering::Relaxed)
        ));
        out.push_str("# HELP tumbler_uptime_seconds Seconds since the server started.\n");
        out.push_str("# TYPE tumbler_uptime_seconds gauge\n");
        out.push_str(&format!(
            "tumbler_uptime_seconds {}\n",
            self.started.elapsed().as_secs_f64()
        ));
        out.push_str(
            "# HELP tumbler_build_info Build information.\n# TYPE tumbler_build_info gauge\n",
        );
        out.push_str(&format!(
            "tumbler_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        ));
        out
    }
}
