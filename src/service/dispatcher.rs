//! The dispatcher: one per gateway instance. It claims due deliveries under a lease, POSTs
//! each as a signed CloudEvent, records the outcome, backs off and dead-letters. Instances
//! share the work through the database alone (see `store::events` for the claims), and an
//! instance that dies mid-delivery loses its claims when their leases run out: delivery is
//! at least once.
//!
//! Depends on the store and the webhook policy; never on actix.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle, JoinSet};

use super::ServiceError;
use super::events::CONTENT_TYPE;
use super::webhooks::{SIGNATURE_HEADER, parse_url, signature_header};
use crate::domain::{new_id, now};
use crate::error::Chain;
use crate::policy::webhooks::{AfterFailure, after_failure, check_target};
use crate::store::Db;
use crate::store::events::{self, Claimed, Outcome};

/// Delivery counters since the instance started, for metrics.
#[derive(Debug, Default)]
pub struct DeliveryCounters {
    sent: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// Attempts a receiver acknowledged (2xx): deliveries done.
    pub sent: u64,
    /// Attempts that failed (non-2xx, timeout, connection error, refused target).
    pub failed: u64,
    /// Failed attempts scheduled to be tried again.
    pub retried: u64,
    /// Deliveries that used up their attempts.
    pub dead_lettered: u64,
}

impl DeliveryCounters {
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
        }
    }

    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// How the dispatcher works (configuration `webhooks.*`).
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    pub allow_loopback: bool,
    /// The deadline of one attempt, from resolving the host to reading the response.
    pub timeout: Duration,
    pub max_attempts: i64,
    pub backoff_base: Duration,
    pub poll_interval: Duration,
    /// How long a claim lasts; longer than `timeout`.
    pub lease: Duration,
    pub max_response_bytes: usize,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// Opens the stored webhook secrets.
    pub sealer: super::sealing::Sealer,
}

/// Resolves webhook hosts and refuses the addresses webhooks may not reach, at connect
/// time: what is checked is what is connected to, whatever DNS said at subscription time.
struct GuardedResolver {
    allow_loopback: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ips: Vec<IpAddr> = addrs.iter().map(SocketAddr::ip).collect();
            check_target(&host, &ips, allow_loopback)?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Stops a running dispatcher, from anywhere.
#[derive(Clone)]
pub struct DispatcherHandle {
    stop: Arc<watch::Sender<bool>>,
    abort: AbortHandle,
}

impl DispatcherHandle {
    /// Graceful: no new claims; attempts in flight are abandoned and their claims given
    /// back at once, so that another instance takes them without waiting for the lease.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Abrupt, like a crash: claims stay until their leases run out.
    pub fn abort(&self) {
        self.abort.abort();
    }
}

/// The running dispatcher of this instance.
pub struct Dispatcher {
    handle: DispatcherHandle,
    task: JoinHandle<()>,
}

struct Ctx {
    db: Db,
    client: reqwest::Client,
    cfg: DispatchConfig,
    counters: Arc<DeliveryCounters>,
    /// Claims in flight: delivery id → claim owner.
    claims: Mutex<HashMap<String, String>>,
}

impl Dispatcher {
    /// Starts the dispatcher on the current tokio runtime.
    pub fn spawn(db: Db, cfg: DispatchConfig, counters: Arc<DeliveryCounters>) -> Result<Dispatcher, anyhow::Error> {
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            // A redirect could lead anywhere, past the address check: a 3xx is a failure.
            .redirect(reqwest::redirect::Policy::none())
            // Straight to the checked address, never through a proxy from the environment.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { allow_loopback: cfg.allow_loopback }))
            .user_agent(concat!("scimgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the webhook HTTP client: {e}"))?;
        let ctx = Arc::new(Ctx { db, client, cfg, counters, claims: Mutex::new(HashMap::new()) });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(ctx, stopped));
        Ok(Dispatcher { handle: DispatcherHandle { stop: Arc::new(stop), abort: task.abort_handle() }, task })
    }

    pub fn handle(&self) -> DispatcherHandle {
        self.handle.clone()
    }

    /// Stops gracefully (see [`DispatcherHandle::stop`]) and waits until it has.
    pub async fn shutdown(self) {
        self.handle.stop();
        let _ = self.task.await;
    }
}

async fn run(ctx: Arc<Ctx>, mut stopped: watch::Receiver<bool>) {
    // A pause or resume that a stop cut short left part of its backlog behind: moved
    // beside the claims, which never wait for it.
    let db = ctx.db.clone();
    tokio::spawn(async move {
        match super::webhooks::backlogs_in_place(&db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(subscriptions = n, "moved the webhook backlogs a pause or resume had left behind"),
            Err(e) => tracing::warn!(error = %Chain(&e), "finding webhook backlogs left behind failed"),
        }
    });
    let mut inflight: JoinSet<()> = JoinSet::new();
    loop {
        if *stopped.borrow() {
            break;
        }
        let free = ctx.cfg.concurrency.saturating_sub(inflight.len());
        if free > 0 {
            match claim(&ctx, free as i64).await {
                Ok((owner, batch)) => {
                    for c in batch {
                        if let Ok(mut claims) = ctx.claims.lock() {
                            claims.insert(c.id.clone(), owner.clone());
                        }
                        inflight.spawn(deliver(ctx.clone(), c, owner.clone()));
                    }
                }
                Err(e) => tracing::warn!(error = %Chain(&e), "claiming webhook deliveries failed"),
            }
        }
        tokio::select! {
            // A stop, or the handle gone: either way, stop.
            _ = stopped.changed() => break,
            // An attempt ended: its subject's next delivery may be due now.
            Some(_) = inflight.join_next(), if !inflight.is_empty() => {}
            _ = tokio::time::sleep(ctx.cfg.poll_interval) => {}
        }
    }
    inflight.abort_all();
    while inflight.join_next().await.is_some() {}
    let left: Vec<(String, String)> = match ctx.claims.lock() {
        Ok(mut claims) => claims.drain().collect(),
        Err(_) => vec![],
    };
    if !left.is_empty() {
        let released = ctx
            .db
            .write(move |conn| {
                let at = now();
                for (id, owner) in &left {
                    events::release(conn, std::slice::from_ref(id), owner, at)?;
                }
                Ok::<_, ServiceError>(left.len())
            })
            .await;
        match released {
            Ok(n) => tracing::info!(released = n, "webhook dispatcher stopped; claims given back"),
            Err(e) => {
                tracing::warn!(error = %Chain(&e), "webhook claims not given back; they expire with their leases")
            }
        }
    }
}

/// Claims up to `limit` due deliveries (a cheap read first, so that an idle instance does
/// not take the write lock every poll).
async fn claim(ctx: &Ctx, limit: i64) -> Result<(String, Vec<Claimed>), ServiceError> {
    let due = ctx.db.read(|conn| Ok::<_, ServiceError>(events::any_due(conn, now())?)).await?;
    if !due {
        return Ok((String::new(), vec![]));
    }
    let owner = new_id();
    let lease = chrono::Duration::from_std(ctx.cfg.lease).unwrap_or(chrono::Duration::seconds(30));
    let claim_owner = owner.clone();
    let batch = ctx
        .db
        .write(move |conn| {
            let at = now();
            Ok::<_, ServiceError>(events::claim(conn, &claim_owner, at, at + lease, limit)?)
        })
        .await?;
    Ok((owner, batch))
}

/// A failed attempt: why, and the receiver's status when it answered.
struct Failure {
    error: String,
    status_code: Option<i64>,
}

impl Failure {
    fn new(error: impl Into<String>) -> Self {
        let mut error: String = error.into();
        if error.len() > 500 {
            let mut cut = 500;
            while !error.is_char_boundary(cut) {
                cut -= 1;
            }
            error.truncate(cut);
        }
        Failure { error, status_code: None }
    }
}

/// One attempt, and its outcome recorded if the claim still holds.
async fn deliver(ctx: Arc<Ctx>, c: Claimed, owner: String) {
    let result = attempt(&ctx, &c).await;
    let at = now();
    let outcome = match result {
        Ok(status_code) => {
            DeliveryCounters::bump(&ctx.counters.sent);
            Outcome::Delivered { status_code }
        }
        Err(f) => {
            DeliveryCounters::bump(&ctx.counters.failed);
            match after_failure(c.attempts, ctx.cfg.max_attempts, ctx.cfg.backoff_base, jitter()) {
                AfterFailure::Retry { delay } => Outcome::Retry {
                    error: f.error,
                    status_code: f.status_code,
                    next_attempt_at: at + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1)),
                },
                AfterFailure::Dead => Outcome::Dead { error: f.error, status_code: f.status_code },
            }
        }
    };
    let (id, recorded_outcome) = (c.id.clone(), outcome.clone());
    let claim_owner = owner.clone();
    let recorded = ctx
        .db
        .write(move |conn| Ok::<_, ServiceError>(events::finish(conn, &id, &claim_owner, &recorded_outcome, at)?))
        .await;
    match (recorded, &outcome) {
        (Ok(true), Outcome::Delivered { .. }) => {
            tracing::debug!(delivery = %c.id, event = %c.event_id, attempt = c.attempts, "webhook delivered");
        }
        (Ok(true), Outcome::Retry { error, next_attempt_at, .. }) => {
            DeliveryCounters::bump(&ctx.counters.retried);
            tracing::info!(delivery = %c.id, subscription = %c.subscription_id, attempt = c.attempts,
                next_attempt_at = %next_attempt_at, error = %error, "webhook attempt failed; will retry");
        }
        (Ok(true), Outcome::Dead { error, .. }) => {
            DeliveryCounters::bump(&ctx.counters.dead_lettered);
            tracing::warn!(delivery = %c.id, subscription = %c.subscription_id, event_type = %c.event_type,
                attempts = c.attempts, error = %error, "webhook delivery dead-lettered");
        }
        (Ok(false), _) => tracing::warn!(delivery = %c.id,
            "webhook outcome not recorded: the claim was lost (lease expired, or the subscription deleted)"),
        (Err(e), _) => tracing::error!(delivery = %c.id, error = %Chain(&e),
            "webhook outcome not recorded; the delivery is attempted again when its lease runs out"),
    }
    if let Ok(mut claims) = ctx.claims.lock() {
        claims.remove(&c.id);
    }
}

/// POSTs the event, signed, within the attempt's deadline. `Ok(status)` for a 2xx.
async fn attempt(ctx: &Ctx, c: &Claimed) -> Result<i64, Failure> {
    let url = parse_url(&c.url).map_err(|e| Failure::new(e.to_string()))?;
    // IP literals never reach the resolver: check them here.
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    if let Some(ip) = literal {
        check_target(&ip.to_string(), &[ip], ctx.cfg.allow_loopback).map_err(|v| Failure::new(v.to_string()))?;
    }
    let secret = ctx.cfg.sealer.open(&c.secret).map_err(|e| Failure::new(e.to_string()))?;
    let signature = signature_header(&secret, Utc::now(), c.body.as_bytes());
    let send = async {
        let mut response = ctx
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .header(SIGNATURE_HEADER, signature)
            .body(c.body.clone())
            .send()
            .await
            // The URL may carry a receiver's token in its query: keep it out of the error.
            .map_err(|e| Failure::new(Chain(&e.without_url()).to_string()))?;
        let status = i64::from(response.status().as_u16());
        // Read at most max_response_bytes (the rest is dropped with the connection); keep
        // the start of it for the error of a failed attempt.
        let mut head: Vec<u8> = Vec::new();
        let mut seen = 0usize;
        while seen <= ctx.cfg.max_response_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = 200usize.saturating_sub(head.len());
                    head.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    seen += chunk.len();
                }
                // The status is the receiver's answer; a body cut short changes nothing.
                Ok(None) | Err(_) => break,
            }
        }
        if (200..300).contains(&status) {
            Ok(status)
        } else {
            let body = String::from_utf8_lossy(&head);
            let mut f = Failure::new(format!("HTTP {status}: {}", body.trim()));
            f.status_code = Some(status);
            Err(f)
        }
    };
    match tokio::time::timeout(ctx.cfg.timeout, send).await {
        Ok(result) => result,
        Err(_) => Err(Failure::new(format!("no answer within {} ms", ctx.cfg.timeout.as_millis()))),
    }
}

/// A random number in [0, 1), for backoff jitter.
fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}
