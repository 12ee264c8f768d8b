//! Prometheus metrics of one gateway instance (no process globals: tests run many
//! gateways in one process). Request metrics are recorded by a middleware; database pool
//! and license pool gauges are read at scrape time.

use std::sync::Arc;

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Marks an error response that a policy rule refused, with its stable code, so the
/// metrics middleware can count rejections by code without the error types knowing about
/// metrics.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRejection(pub &'static str);

/// What a SCIM error answer told its caller (`scimType`, `detail`), for the IdP page's last
/// errors.
#[derive(Debug, Clone)]
pub struct ErrorDetail {
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub scim_operations: IntCounterVec,
    pub policy_rejections: IntCounterVec,
    pub db_connections: IntGaugeVec,
    pub license_used: IntGaugeVec,
    pub license_capacity: IntGaugeVec,
    /// This instance's webhook delivery counters, by `event` (sent, failed, retried,
    /// dead_lettered); brought up to date at scrape time.
    pub webhook_deliveries: IntCounterVec,
    /// Deliveries of all instances by `state` (pending = queue depth, dead).
    pub webhook_queue: IntGaugeVec,
    pub webhook_oldest_pending_seconds: Gauge,
    /// Requests answered 429, by `reason` (failed_auth, token_quota).
    pub throttled: IntCounterVec,
    /// Rows pruned by retention, by `kind`.
    pub pruned: IntCounterVec,
    /// SCIM index-paged list pages past the first row, by how they were read (`seek`, `walk`).
    pub list_pages: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Result<Arc<Metrics>, prometheus::Error> {
        let registry = Registry::new_custom(Some("scimgate".into()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route pattern, method and status"),
            &["route", "method", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency by route pattern and method")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
            &["route", "method"],
        )?;
        let scim_operations = IntCounterVec::new(
            Opts::new("scim_operations_total", "SCIM operations by resource type, operation and status"),
            &["resource", "operation", "status"],
        )?;
        let policy_rejections = IntCounterVec::new(
            Opts::new("policy_rejections_total", "Requests refused by a policy rule, by stable error code"),
            &["code"],
        )?;
        let db_connections = IntGaugeVec::new(
            Opts::new("db_pool_connections", "Database pool connections by pool and state"),
            &["pool", "state"],
        )?;
        let license_used = IntGaugeVec::new(Opts::new("license_used", "Licenses in use per pool"), &["license"])?;
        let license_capacity = IntGaugeVec::new(
            Opts::new("license_capacity", "License pool capacity (absent when unlimited)"),
            &["license"],
        )?;
        let webhook_deliveries = IntCounterVec::new(
            Opts::new(
                "webhook_deliveries_total",
                "Webhook delivery attempts of this instance: sent, failed, retried, dead_lettered",
            ),
            &["event"],
        )?;
        let webhook_queue =
            IntGaugeVec::new(Opts::new("webhook_queue", "Webhook deliveries by state (all instances)"), &["state"])?;
        let webhook_oldest_pending_seconds = Gauge::new(
            "webhook_oldest_pending_seconds",
            "Age of the oldest undelivered (pending) webhook delivery; 0 when none",
        )?;
        let throttled = IntCounterVec::new(
            Opts::new("throttled_requests_total", "Requests answered 429, by reason (failed_auth, token_quota)"),
            &["reason"],
        )?;
        let pruned =
            IntCounterVec::new(Opts::new("pruned_rows_total", "Rows pruned by retention, by kind"), &["kind"])?;
        let list_pages = IntCounterVec::new(
            Opts::new(
                "list_pages_total",
                "SCIM list pages starting past the first row, by how they were read: seek (past the key where a \
                 recent page ended) or walk (an offset)",
            ),
            &["paging"],
        )?;
        for c in [
            &http_requests,
            &scim_operations,
            &policy_rejections,
            &webhook_deliveries,
            &throttled,
            &pruned,
            &list_pages,
        ] {
            registry.register(Box::new(c.clone()))?;
        }
        registry.register(Box::new(http_duration.clone()))?;
        for g in [&db_connections, &license_used, &license_capacity, &webhook_queue] {
            registry.register(Box::new(g.clone()))?;
        }
        registry.register(Box::new(webhook_oldest_pending_seconds.clone()))?;
        Ok(Arc::new(Metrics {
            registry,
            http_requests,
            http_duration,
            scim_operations,
            policy_rejections,
            db_connections,
            license_used,
            license_capacity,
            webhook_deliveries,
            webhook_queue,
            webhook_oldest_pending_seconds,
            throttled,
            pruned,
            list_pages,
        }))
    }

    /// Records one finished request.
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64, rejection: Option<&str>) {
        let status_s = status.to_string();
        self.http_requests.with_label_values(&[route, method, &status_s]).inc();
        self.http_duration.with_label_values(&[route, method]).observe(seconds);
        if let Some(rest) = route.strip_prefix("/scim/v2/") {
            let resource = rest.split('/').next().unwrap_or("");
            let operation = match (method, rest.contains("{id}"), rest.ends_with(".search")) {
                (_, _, true) => "search",
                ("GET", false, _) => "list",
                ("GET", true, _) => "get",
                ("POST", _, _) => "create",
                ("PUT", _, _) => "replace",
                ("PATCH", _, _) => "patch",
                ("DELETE", _, _) => "delete",
                _ => "other",
            };
            self.scim_operations.with_label_values(&[resource, operation, &status_s]).inc();
        }
        if let Some(code) = rejection {
            self.policy_rejections.with_label_values(&[code]).inc();
        }
    }

    /// Brings the webhook delivery counters up to `(event, total)` (monotonic totals kept by
    /// the dispatcher).
    pub fn set_webhook_totals(&self, totals: &[(&str, u64)]) {
        Self::set_totals(&self.webhook_deliveries, totals);
    }

    /// Brings the list page counters up to this instance's totals.
    pub fn set_list_page_totals(&self, totals: &[(&str, u64)]) {
        Self::set_totals(&self.list_pages, totals);
    }

    fn set_totals(counters: &IntCounterVec, totals: &[(&str, u64)]) {
        for (event, total) in totals {
            let c = counters.with_label_values(&[*event]);
            let seen = c.get();
            if *total > seen {
                c.inc_by(total - seen);
            }
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }
}
