//! The collector's own counters, shared by its threads as relaxed atomics (the receive loop
//! never waits for a reader), and their Prometheus exposition for `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Upper bounds of the ingest batch histogram: datagrams per `recvmmsg` call (at most 64).
pub const BATCH_BUCKETS: [u64; 7] = [1, 2, 4, 8, 16, 32, 64];
/// Upper bounds of the persist duration histogram, µs (1 ms … 10 s).
pub const PERSIST_BUCKETS_US: [u64; 5] = [1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// A histogram with fixed bounds: a count per bucket (not cumulative), the sum and the count.
pub struct Histogram<const N: usize> {
    bounds: [u64; N],
    buckets: [AtomicU64; N],
    sum: AtomicU64,
    count: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    pub fn new(bounds: [u64; N]) -> Self {
        Histogram {
            bounds,
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, v: u64) {
        if let Some(i) = self.bounds.iter().position(|&b| v <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.sum.fetch_add(v, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    /// Exposition; values and bounds divided by `scale` (1e6 for µs → s).
    fn write(&self, s: &mut String, name: &str, help: &str, scale: f64) {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (b, n) in self.bounds.iter().zip(&self.buckets) {
            cumulative += n.load(Relaxed);
            let _ = writeln!(
                s,
                "{name}_bucket{{le=\"{}\"}} {cumulative}",
                *b as f64 / scale
            );
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(s, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(s, "{name}_sum {}", self.sum.load(Relaxed) as f64 / scale);
        let _ = writeln!(s, "{name}_count {count}");
    }
}

pub struct Stats {
    /// Datagrams per receive call.
    pub batch: Histogram<7>,
    /// One persist (state and prom files), µs.
    pub persist: Histogram<5>,
    pub persist_failures: AtomicU64,
    /// Persists not started because the previous one was still being written.
    pub persist_skipped: AtomicU64,
    /// Snapshots of the table published to the HTTP and Alertmanager threads.
    pub snapshots: AtomicU64,
    pub http_requests: AtomicU64,
    /// Connections closed at once because `http::MAX_CONNECTIONS` were open.
    pub http_rejected: AtomicU64,
    /// Requests refused: a head over the limit, a bad request, too slow.
    pub http_bad: AtomicU64,
    pub http_open: AtomicU64,
    pub alert_posts_ok: AtomicU64,
    pub alert_posts_failed: AtomicU64,
    pub alerts_active: AtomicU64,
    /// Resolved alerts not yet delivered to every Alertmanager.
    pub alerts_resolved_pending: AtomicU64,
    pub forward_errors: AtomicU64,
}

impl Stats {
    pub fn new() -> Stats {
        let z = || AtomicU64::new(0);
        Stats {
            batch: Histogram::new(BATCH_BUCKETS),
            persist: Histogram::new(PERSIST_BUCKETS_US),
            persist_failures: z(),
            persist_skipped: z(),
            snapshots: z(),
            http_requests: z(),
            http_rejected: z(),
            http_bad: z(),
            http_open: z(),
            alert_posts_ok: z(),
            alert_posts_failed: z(),
            alerts_active: z(),
            alerts_resolved_pending: z(),
            forward_errors: z(),
        }
    }

    /// The `nodepulse_collector_*` metrics.
    pub fn prom(&self) -> String {
        let mut s = String::with_capacity(4096);
        self.batch.write(
            &mut s,
            "nodepulse_collector_ingest_batch_datagrams",
            "Datagrams taken per receive call (recvmmsg, at most 64).",
            1.0,
        );
        self.persist.write(
            &mut s,
            "nodepulse_collector_persist_duration_seconds",
            "Time to write, fsync and rename the --state and --prom-out files once.",
            1e6,
        );
        let counters: [(&str, &str, &str, &AtomicU64); 11] = [
            (
                "nodepulse_collector_persist_failures_total",
                "counter",
                "Persists that failed (the previous files stay).",
                &self.persist_failures,
            ),
            (
                "nodepulse_collector_persist_skipped_total",
                "counter",
                "Persists skipped because the previous one was still being written.",
                &self.persist_skipped,
            ),
            (
                "nodepulse_collector_snapshots_total",
                "counter",
                "Copies of the fleet table made for the HTTP and Alertmanager threads.",
                &self.snapshots,
            ),
            (
                "nodepulse_collector_http_requests_total",
                "counter",
                "HTTP requests answered.",
                &self.http_requests,
            ),
            (
                "nodepulse_collector_http_rejected_connections_total",
                "counter",
                "HTTP connections closed at once: too many open.",
                &self.http_rejected,
            ),
            (
                "nodepulse_collector_http_bad_requests_total",
                "counter",
                "HTTP requests refused: malformed, too large, too slow.",
                &self.http_bad,
            ),
            (
                "nodepulse_collector_http_open_connections",
                "gauge",
                "HTTP connections open now.",
                &self.http_open,
            ),
            (
                "nodepulse_collector_alertmanager_posts_failed_total",
                "counter",
                "POSTs to an Alertmanager that failed (retried with backoff).",
                &self.alert_posts_failed,
            ),
            (
                "nodepulse_collector_alerts_active",
                "gauge",
                "Alerts firing: a node's problem each.",
                &self.alerts_active,
            ),
            (
                "nodepulse_collector_alerts_resolved_pending",
                "gauge",
                "Resolved alerts not yet delivered to every Alertmanager.",
                &self.alerts_resolved_pending,
            ),
            (
                "nodepulse_collector_forward_errors_total",
                "counter",
                "Influx datagrams that could not be sent.",
                &self.forward_errors,
            ),
        ];
        for (name, kind, help, v) in counters {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
                v.load(Relaxed)
            );
        }
        let name = "nodepulse_collector_alertmanager_posts_total";
        let _ = writeln!(
            s,
            "# HELP {name} POSTs of alerts to an Alertmanager, by result.\n# TYPE {name} counter\n{name}{{result=\"ok\"}} {}\n{name}{{result=\"error\"}} {}",
            self.alert_posts_ok.load(Relaxed),
            self.alert_posts_failed.load(Relaxed)
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let st = Stats::new();
        for v in [1, 3, 64, 64, 100] {
            st.batch.observe(v);
        }
        st.persist.observe(2_500);
        let text = st.prom();
        assert!(text.contains("nodepulse_collector_ingest_batch_datagrams_bucket{le=\"1\"} 1\n"));
        assert!(text.contains("nodepulse_collector_ingest_batch_datagrams_bucket{le=\"4\"} 2\n"));
        assert!(text.contains("nodepulse_collector_ingest_batch_datagrams_bucket{le=\"64\"} 4\n"));
        assert!(text.contains("nodepulse_collector_ingest_batch_datagrams_bucket{le=\"+Inf\"} 5\n"));
        assert!(text.contains("nodepulse_collector_ingest_batch_datagrams_sum 232\n"));
        assert!(
            text.contains("nodepulse_collector_persist_duration_seconds_bucket{le=\"0.01\"} 1\n")
        );
        assert!(text.contains("nodepulse_collector_persist_duration_seconds_sum 0.0025\n"));
    }
}
