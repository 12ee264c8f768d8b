//! Downstream events end to end: the outbox, signed CloudEvents webhooks, retries, dead
//! letters, leases across gateway instances. The receiver is a small HTTP server on
//! loopback started by each test; the gateways run with `webhooks.allow_loopback = true`
//! and tight timings, and every wait is bounded.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{TestApp, has_lines, id, spawn_app, spawn_sibling_with, spawn_with};
use scimgate::config::Settings;
use scimgate::service::webhooks::{QueueStats, queue_stats};
use scimgate::store::Db;

// ---------------------------------------------------------------- the receiver

/// One request the receiver got, and what it answered (0: it hung).
#[derive(Debug, Clone)]
struct Hit {
    signature: String,
    content_type: String,
    body: Vec<u8>,
    status: u16,
    at: Instant,
}

impl Hit {
    fn event(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// What the receiver answers next.
#[derive(Debug, Default)]
struct Behaviour {
    /// Answer 500 to this many requests, then 200.
    fail_next: usize,
    /// Answer 500 to everything.
    fail_all: bool,
    /// Never answer (until the client gives up).
    hang: bool,
}

#[derive(Default)]
struct Shared {
    hits: Mutex<Vec<Hit>>,
    behaviour: Mutex<Behaviour>,
}

struct Receiver {
    url: String,
    shared: Arc<Shared>,
    server: actix_web::dev::ServerHandle,
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let status = {
        let mut b = shared.behaviour.lock().unwrap();
        if b.hang {
            0
        } else if b.fail_all {
            500
        } else if b.fail_next > 0 {
            b.fail_next -= 1;
            500
        } else {
            200
        }
    };
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    shared.hits.lock().unwrap().push(Hit {
        signature: header("scimgate-signature"),
        content_type: header("content-type"),
        body: body.to_vec(),
        status,
        at: Instant::now(),
    });
    match status {
        0 => {
            tokio::time::sleep(Duration::from_secs(20)).await;
            HttpResponse::Ok().finish()
        }
        200 => HttpResponse::Ok().body("thanks"),
        _ => HttpResponse::InternalServerError().body("receiver is down"),
    }
}

impl Receiver {
    async fn start() -> Receiver {
        let shared = Arc::new(Shared::default());
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(receive)))
            .workers(1)
            .bind(("127.0.0.1", 0))
            .expect("receiver binds");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver { url: format!("http://127.0.0.1:{port}/hooks/scimgate"), shared, server: handle }
    }

    fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.shared.behaviour.lock().unwrap());
    }

    fn hits(&self) -> Vec<Hit> {
        self.shared.hits.lock().unwrap().clone()
    }

    /// Requests answered 200, in arrival order.
    fn acknowledged(&self) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.status == 200).collect()
    }

    /// Waits (bounded) until `done` holds for the requests so far.
    async fn wait(&self, what: &str, limit: Duration, done: impl Fn(&[Hit]) -> bool) -> Vec<Hit> {
        let deadline = Instant::now() + limit;
        loop {
            let hits = self.hits();
            if done(&hits) {
                return hits;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; got {} requests", hits.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until an acknowledged event satisfies `matches`, and returns it.
    async fn wait_event(&self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let hits = self
            .wait(what, Duration::from_secs(15), |hits| hits.iter().any(|h| h.status == 200 && matches(&h.event())))
            .await;
        hits.iter().filter(|h| h.status == 200).map(Hit::event).find(|e| matches(e)).unwrap()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Stop accepting; the server task ends with the test's runtime anyway.
        let handle = self.server.clone();
        drop(handle.stop(false));
    }
}

// ---------------------------------------------------------------- helpers

/// Tight timings for tests: loopback allowed, fast polls and retries.
fn fast(s: &mut Settings) {
    s.webhooks.allow_loopback = true;
    s.webhooks.backoff_base_ms = 50;
    s.webhooks.poll_interval_ms = 25;
    s.webhooks.timeout_ms = 1000;
    s.webhooks.lease_seconds = 2;
}

/// [`fast`], with an attempt's time limit and a claim's lease of its own.
fn leased(timeout_ms: u64, lease_seconds: i64) -> impl Fn(&mut Settings) + Copy {
    move |s| {
        fast(s);
        s.webhooks.timeout_ms = timeout_ms;
        s.webhooks.lease_seconds = lease_seconds;
    }
}

/// Creates a subscription; returns its id and secret.
async fn subscribe(app: &TestApp, url: &str, events: Value) -> (String, String) {
    let r = app.post("/api/v1/webhooks", json!({ "url": url, "events": events })).await;
    let body = r.ok(201);
    assert_eq!(body["url"], url);
    (body["id"].as_str().unwrap().to_owned(), body["secret"].as_str().unwrap().to_owned())
}

/// Checks `Scimgate-Signature: t=…,v1=…` against the body, as a receiver would.
fn signature_verifies(secret: &str, hit: &Hit) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in hit.signature.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.to_owned()),
            Some(("v1", v)) => v1 = Some(v.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    let fresh = t.parse::<i64>().is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 300);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&hit.body);
    fresh && hex::encode(mac.finalize().into_bytes()) == v1
}

async fn deliveries(app: &TestApp, webhook: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/webhooks/{webhook}/deliveries?limit=200")).await;
    r.ok(200)["items"].as_array().unwrap().clone()
}

/// Waits (bounded) until the webhook's deliveries satisfy `done`.
async fn wait_deliveries(app: &TestApp, webhook: &str, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let items = deliveries(app, webhook).await;
        if done(&items) {
            return items;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {items:#?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The gateway's Prometheus text.
async fn metrics(app: &TestApp) -> String {
    let r = app.client.get(format!("{}/metrics", app.address)).bearer_auth(&app.admin).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.text().await.unwrap()
}

async fn stats(app: &TestApp) -> QueueStats {
    let db = Db::open(&app.db_url, 1).unwrap();
    queue_stats(&db, &scimgate::policy::access::admin(scimgate::domain::Actor::cli()).unwrap()).await.unwrap()
}

fn seq(event: &Value) -> u64 {
    event["sequence"].as_str().unwrap().parse().unwrap()
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn a_subscriber_gets_signed_cloud_events_with_the_resulting_user_and_the_changes() {
    let app = spawn_with(fast).await;
    let rx = Receiver::start().await;
    let (webhook, secret) = subscribe(&app, &rx.url, json!(["*"])).await;
    assert!(secret.starts_with("whsec_") && secret.len() >= 40, "a generated secret: {secret}");

    let user = app.contactless("ada@example.com").await;
    let uid = id(&user);
    let hits = rx.wait("the created event", Duration::from_secs(10), |h| !h.is_empty()).await;
    let hit = &hits[0];
    assert_eq!(hit.content_type, "application/cloudevents+json");
    assert!(signature_verifies(&secret, hit), "signature {:?} verifies", hit.signature);
    assert!(!signature_verifies("whsec_some_other_secret_000", hit), "a wrong secret does not verify");

    let ev = hit.event();
    assert_eq!(ev["specversion"], "1.0");
    assert_eq!(ev["type"], "scimgate.user.created");
    assert_eq!(ev["subject"], uid.as_str());
    assert_eq!(ev["datacontenttype"], "application/json");
    assert!(ev["source"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(ev["id"].as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()));
    assert!(chrono::DateTime::parse_from_rfc3339(ev["time"].as_str().unwrap()).is_ok(), "{ev}");
    assert_eq!(seq(&ev), 1);
    assert_eq!(ev["data"]["user"], user, "data.user is the user as the native API shows it");
    assert_eq!(ev["data"]["changes"]["userName"], json!({ "before": null, "after": "ada@example.com" }));

    // A downgrade: the resulting (contactless) user and what changed.
    let account = app.account("Acme").await;
    let backed = app.backed("bob@example.com", &account, "customer_community").await;
    let bid = id(&backed);
    let downgraded = app.post(&format!("/api/v1/users/{bid}/downgrade"), json!({})).await.ok(200).clone();
    let ev = rx.wait_event("the downgrade", |e| e["type"] == "scimgate.user.downgraded").await;
    assert_eq!(ev["subject"], bid.as_str());
    assert_eq!(seq(&ev), 2, "the user's second event");
    assert_eq!(ev["data"]["user"], downgraded);
    assert_eq!(ev["data"]["user"]["contactless"], true);
    assert_eq!(
        ev["data"]["changes"]["license"],
        json!({ "before": "customer_community", "after": "external_identity" })
    );
    assert_eq!(ev["data"]["changes"]["contactId"]["after"], Value::Null);
    assert_eq!(ev["data"]["contactKept"], backed["contactId"]);

    // Every event once, all delivered on the first attempt, all signed.
    let items = wait_deliveries(&app, &webhook, "3 delivered", |d| {
        d.len() == 3 && d.iter().all(|x| x["status"] == "delivered")
    })
    .await;
    for d in &items {
        assert_eq!((d["attempts"].clone(), d["lastStatusCode"].clone()), (json!(1), json!(200)), "{d}");
        assert!(d["deliveredAt"].is_string() && d["nextAttemptAt"].is_null() && d["lastError"].is_null(), "{d}");
    }
    let ids: HashSet<String> = items.iter().map(|d| d["eventId"].as_str().unwrap().to_owned()).collect();
    let acked: HashSet<String> =
        rx.acknowledged().iter().map(|h| h.event()["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, acked);
    assert!(rx.hits().iter().all(|h| signature_verifies(&secret, h)));
    assert_eq!(app.deliveries.snapshot().sent, 3);
    let q = stats(&app).await;
    assert_eq!((q.pending, q.dead, q.oldest_pending_age), (0, 0, None));
    let text = metrics(&app).await;
    has_lines(
        &text,
        &[
            "scimgate_webhook_deliveries_total{event=\"sent\"} 3",
            "scimgate_webhook_deliveries_total{event=\"failed\"} 0",
            "scimgate_webhook_queue{state=\"pending\"} 0",
            "scimgate_webhook_oldest_pending_seconds 0",
        ],
    );
}

#[tokio::test]
async fn events_of_one_user_arrive_in_order_even_across_retries() {
    let app = spawn_with(fast).await;
    let rx = Receiver::start().await;
    // The first two requests fail: whatever they carried is retried, and the user's later
    // events wait behind it.
    rx.set(|b| b.fail_next = 2);
    subscribe(&app, &rx.url, json!(["*"])).await;
    let a = id(&app.contactless("a@example.com").await);
    let b = id(&app.contactless("b@example.com").await);
    for i in 1..=8 {
        for uid in [&a, &b] {
            app.patch(&format!("/api/v1/users/{uid}"), json!({ "firstName": format!("n{i}") })).await.ok(200);
        }
    }
    let total = 2 * 9;
    rx.wait("every event", Duration::from_secs(20), |h| h.iter().filter(|x| x.status == 200).count() >= total).await;

    let mut acked: HashMap<String, u64> = HashMap::new();
    for hit in rx.hits() {
        let ev = hit.event();
        let subject = ev["subject"].as_str().unwrap().to_owned();
        let last = acked.get(&subject).copied().unwrap_or(0);
        // Nothing of a subject is even attempted before its previous event was acknowledged.
        assert!(seq(&ev) <= last + 1, "{subject}: event {} attempted before {} was delivered", seq(&ev), last + 1);
        if hit.status == 200 {
            assert_eq!(seq(&ev), last + 1, "{subject}: delivered in order");
            if seq(&ev) > 1 {
                assert_eq!(ev["data"]["user"]["firstName"], format!("n{}", seq(&ev) - 1));
                assert_eq!(ev["type"], "scimgate.user.updated");
            }
            acked.insert(subject, seq(&ev));
        }
    }
    assert_eq!(acked.get(&a), Some(&9));
    assert_eq!(acked.get(&b), Some(&9));
    assert_eq!(rx.hits().len(), total + 2, "two failed attempts, then each event once");
}

#[tokio::test]
async fn a_receiver_that_fails_three_times_gets_the_event_on_the_fourth_attempt() {
    let app = spawn_with(fast).await;
    let rx = Receiver::start().await;
    rx.set(|b| b.fail_next = 3);
    let (webhook, secret) = subscribe(&app, &rx.url, json!(["scimgate.user.created"])).await;
    let uid = id(&app.contactless("flaky@example.com").await);

    let items =
        wait_deliveries(&app, &webhook, "the delivery", |d| d.len() == 1 && d[0]["status"] == "delivered").await;
    assert_eq!(items[0]["attempts"], 4);
    assert_eq!(items[0]["lastStatusCode"], 200);
    assert_eq!(items[0]["subject"], uid.as_str());
    let hits = rx.hits();
    assert_eq!(hits.iter().map(|h| h.status).collect::<Vec<_>>(), vec![500, 500, 500, 200]);
    let event_ids: HashSet<String> = hits.iter().map(|h| h.event()["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(event_ids.len(), 1, "every attempt carries the same event");
    assert!(hits.iter().all(|h| signature_verifies(&secret, h)));
    // Backoff: each retry waited at least half its base delay (50, 100, 200 ms).
    for (i, pair) in hits.windows(2).enumerate() {
        let waited = pair[1].at - pair[0].at;
        assert!(waited >= Duration::from_millis(25 << i), "retry {} came after {waited:?}", i + 1);
    }
    let c = app.deliveries.snapshot();
    assert_eq!((c.sent, c.failed, c.retried, c.dead_lettered), (1, 3, 3, 0));
}

#[tokio::test]
async fn a_receiver_that_never_recovers_dead_letters_the_event_and_a_manual_retry_delivers_it() {
    let app = spawn_with(|s| {
        fast(s);
        s.webhooks.max_attempts = 3;
    })
    .await;
    let rx = Receiver::start().await;
    rx.set(|b| b.fail_all = true);
    let (webhook, secret) = subscribe(&app, &rx.url, json!(["*"])).await;
    let uid = id(&app.contactless("doomed@example.com").await);

    let items = wait_deliveries(&app, &webhook, "a dead letter", |d| d.len() == 1 && d[0]["status"] == "dead").await;
    let dead = &items[0];
    assert_eq!(dead["attempts"], 3);
    assert_eq!(dead["lastStatusCode"], 500);
    assert!(dead["lastError"].as_str().unwrap().contains("HTTP 500"), "{dead}");
    assert!(dead["nextAttemptAt"].is_null());
    assert_eq!(rx.hits().len(), 3);
    assert_eq!(app.deliveries.snapshot().dead_lettered, 1);
    let q = stats(&app).await;
    assert_eq!((q.pending, q.dead), (0, 1));
    let text = metrics(&app).await;
    has_lines(
        &text,
        &[
            "scimgate_webhook_deliveries_total{event=\"dead_lettered\"} 1",
            "scimgate_webhook_deliveries_total{event=\"retried\"} 2",
            "scimgate_webhook_deliveries_total{event=\"failed\"} 3",
            "scimgate_webhook_queue{state=\"dead\"} 1",
        ],
    );

    // Behind a dead letter, the user's later events still flow.
    rx.set(|b| b.fail_all = false);
    app.patch(&format!("/api/v1/users/{uid}"), json!({ "firstName": "Later" })).await.ok(200);
    let later = rx.wait_event("the later update", |e| e["type"] == "scimgate.user.updated").await;
    assert_eq!(seq(&later), 2);

    // A manual retry re-queues the dead letter: a fresh series of attempts, delivered.
    let did = dead["id"].as_str().unwrap();
    let r = app.post(&format!("/api/v1/webhooks/{webhook}/deliveries/{did}/retry"), json!({})).await;
    let requeued = r.ok(202);
    assert_eq!((requeued["status"].clone(), requeued["attempts"].clone()), (json!("pending"), json!(0)));
    let created = rx.wait_event("the retried event", |e| e["type"] == "scimgate.user.created").await;
    assert_eq!(created["id"], dead["eventId"]);
    let items =
        wait_deliveries(&app, &webhook, "all delivered", |d| d.iter().all(|x| x["status"] == "delivered")).await;
    let retried = items.iter().find(|d| d["id"] == did).unwrap();
    assert_eq!(retried["attempts"], 1);
    assert!(rx.acknowledged().iter().all(|h| signature_verifies(&secret, h)));

    // A delivered delivery is not re-sent; unknown ones are 404.
    app.post(&format!("/api/v1/webhooks/{webhook}/deliveries/{did}/retry"), json!({}))
        .await
        .problem(409, "already_delivered");
    let nobody = uuid::Uuid::now_v7();
    app.post(&format!("/api/v1/webhooks/{webhook}/deliveries/{nobody}/retry"), json!({}))
        .await
        .problem(404, "not_found");
    app.post(&format!("/api/v1/webhooks/{nobody}/deliveries/{did}/retry"), json!({})).await.problem(404, "not_found");
    assert_eq!(stats(&app).await, QueueStats { pending: 0, oldest_pending_age: None, dead: 0 });
}

/// An attempt may take 3 s here, a claim lasts 4 s.
#[tokio::test]
async fn a_gateway_that_dies_mid_delivery_loses_nothing_its_lease_expires_and_a_sibling_delivers() {
    let first = spawn_with(leased(3000, 4)).await;
    let rx = Receiver::start().await;
    rx.set(|b| b.hang = true);
    let (webhook, secret) = subscribe(&first, &rx.url, json!(["*"])).await;
    let uid = id(&first.contactless("survivor@example.com").await);
    let hung = rx.wait("the attempt in flight", Duration::from_secs(10), |h| !h.is_empty()).await;
    let started = hung[0].at;
    // Mid-delivery: the receiver holds the request. The instance dies with its claim.
    first.handle.kill().await;
    rx.set(|b| b.hang = false);
    let q = stats(&first).await;
    assert_eq!(q.pending, 1, "the event waits in the outbox");
    assert!(q.oldest_pending_age.is_some());

    let second = spawn_sibling_with(&first, leased(3000, 4)).await;
    let ev = rx.wait_event("the redelivery", |e| e["subject"] == uid.as_str()).await;
    let acked = rx.acknowledged();
    assert_eq!(acked.len(), 1);
    assert_eq!(ev["id"], hung[0].event()["id"], "the same event");
    assert!(signature_verifies(&secret, &acked[0]));
    assert!(
        acked[0].at - started >= Duration::from_secs(3),
        "nobody took the claim before its lease ran out ({:?})",
        acked[0].at - started
    );
    let items =
        wait_deliveries(&second, &webhook, "delivered", |d| d.len() == 1 && d[0]["status"] == "delivered").await;
    assert_eq!(items[0]["attempts"], 2);
    assert_eq!(second.deliveries.snapshot().sent, 1);
}

#[tokio::test]
async fn a_gateway_stopped_gracefully_mid_delivery_gives_its_claim_back_at_once() {
    let long_lease = leased(3000, 60);
    let first = spawn_with(long_lease).await;
    let rx = Receiver::start().await;
    rx.set(|b| b.hang = true);
    let (webhook, _) = subscribe(&first, &rx.url, json!(["*"])).await;
    let uid = id(&first.contactless("handover@example.com").await);
    let hung = rx.wait("the attempt in flight", Duration::from_secs(10), |h| !h.is_empty()).await;
    first.handle.stop().await;
    rx.set(|b| b.hang = false);

    let second = spawn_sibling_with(&first, long_lease).await;
    let ev = rx.wait_event("the redelivery", |e| e["subject"] == uid.as_str()).await;
    assert_eq!(ev["id"], hung[0].event()["id"]);
    assert!(rx.acknowledged()[0].at - hung[0].at < Duration::from_secs(20), "well before the 60 s lease");
    wait_deliveries(&second, &webhook, "delivered", |d| d.len() == 1 && d[0]["status"] == "delivered").await;
}

#[tokio::test]
async fn two_gateways_deliver_a_thousand_events_each_exactly_once_and_in_order_per_user() {
    let settings = leased(5000, 30);
    let a = spawn_with(settings).await;
    let b = spawn_sibling_with(&a, settings).await;
    let rx = Receiver::start().await;
    let (webhook, secret) = subscribe(&a, &rx.url, json!(["*"])).await;

    // 100 users, each created and then updated 9 times: 1 000 events, written through both
    // gateways while both deliver.
    let (users, updates) = (100usize, 9usize);
    let gateways = [&a, &b];
    futures::stream::iter(0..users)
        .map(|i| {
            let gw = gateways[i % 2];
            async move {
                let uid = id(&gw.contactless(&format!("load{i}@example.com")).await);
                for n in 1..=updates {
                    gw.patch(&format!("/api/v1/users/{uid}"), json!({ "displayName": format!("v{n}") })).await.ok(200);
                }
            }
        })
        .buffer_unordered(12)
        .collect::<Vec<()>>()
        .await;
    let total = users * (updates + 1);
    rx.wait("1 000 deliveries", Duration::from_secs(120), |h| h.len() >= total).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats(&a).await.pending > 0 {
        assert!(Instant::now() < deadline, "the queue drains");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A moment for any duplicate to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let hits = rx.hits();
    assert_eq!(hits.len(), total, "each event exactly once, no retries needed");
    let mut seen = HashSet::new();
    let mut last: HashMap<String, u64> = HashMap::new();
    for h in &hits {
        assert_eq!(h.status, 200);
        let ev = h.event();
        assert!(seen.insert(ev["id"].as_str().unwrap().to_owned()), "event {} delivered twice", ev["id"]);
        let subject = ev["subject"].as_str().unwrap().to_owned();
        let prev = last.insert(subject.clone(), seq(&ev)).unwrap_or(0);
        assert_eq!(seq(&ev), prev + 1, "{subject}: in order");
    }
    assert_eq!(last.len(), users);
    assert!(last.values().all(|&s| s == (updates + 1) as u64));
    assert!(hits.iter().take(50).all(|h| signature_verifies(&secret, h)));
    let (sa, sb) = (a.deliveries.snapshot().sent, b.deliveries.snapshot().sent);
    assert_eq!(sa + sb, total as u64, "a: {sa}, b: {sb}");
    let q = stats(&a).await;
    assert_eq!((q.pending, q.dead), (0, 0));
    let r = a.get(&format!("/api/v1/webhooks/{webhook}/deliveries?status=delivered&limit=200")).await;
    assert_eq!(r.ok(200)["items"].as_array().unwrap().len(), 200);
    assert!(r.body["nextCursor"].is_string());
}

#[tokio::test]
async fn webhook_urls_are_validated_and_private_or_loopback_targets_refused_by_default() {
    let app = spawn_app().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "http://10.0.0.1/hook",
        "http://192.168.1.10/hook",
        "https://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/hook",
        "http://0.0.0.0:9/hook",
        "http://[::ffff:127.0.0.1]:9/hook",
    ] {
        let r = app.post("/api/v1/webhooks", json!({ "url": url, "events": ["*"] })).await;
        r.problem(422, "webhook_url_refused");
        assert!(r.body["detail"].as_str().unwrap().contains("address"), "{}", r.body);
    }
    for (url, events) in [
        ("ftp://hooks.example.com/x", json!(["*"])),
        ("hooks.example.com/x", json!(["*"])),
        ("http://user:pw@127.0.0.1:9/x", json!(["*"])),
        ("http://127.0.0.1:9/x", json!([])),
        ("http://127.0.0.1:9/x", json!(["scimgate.user.exploded"])),
        ("http://127.0.0.1:9/x", json!(["*", "scimgate.user.created"])),
    ] {
        app.post("/api/v1/webhooks", json!({ "url": url, "events": events })).await.problem(422, "validation_failed");
    }
    app.post("/api/v1/webhooks", json!({ "url": "http://127.0.0.1:9/x", "events": ["*"], "secret": "short" }))
        .await
        .problem(422, "validation_failed");
    app.post("/api/v1/webhooks", json!({ "url": "http://127.0.0.1:9/x" })).await.problem(400, "validation_failed");
    app.post("/api/v1/webhooks", json!({ "url": "http://127.0.0.1:9/x", "events": ["*"], "extra": 1 }))
        .await
        .problem(400, "validation_failed");
    assert!(app.get("/api/v1/webhooks").await.ok(200)["items"].as_array().unwrap().is_empty());

    // Admin only.
    let account = app.account("Acme").await;
    for role in ["delegated_admin", "scim"] {
        let token = app.token(role, &[&account], None).await;
        let r = app.call(Method::GET, "/api/v1/webhooks", Some(&token), None).await;
        r.problem(403, "forbidden");
    }
    app.call(Method::GET, "/api/v1/webhooks", None, None).await.problem(401, "unauthorized");

    // allow_loopback opens loopback, and loopback only.
    let local = spawn_with(|s| s.webhooks.allow_loopback = true).await;
    for url in ["http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]:9/hook"] {
        local.post("/api/v1/webhooks", json!({ "url": url, "events": ["*"] })).await.ok(201);
    }
    for url in ["http://10.0.0.1/hook", "http://192.168.1.10/hook", "http://169.254.169.254/", "http://0.0.0.0:9/"] {
        local
            .post("/api/v1/webhooks", json!({ "url": url, "events": ["*"] }))
            .await
            .problem(422, "webhook_url_refused");
    }
}

#[tokio::test]
async fn a_secret_is_shown_once_and_never_listed_or_audited() {
    let app = spawn_with(fast).await;
    let secret = "my-own-webhook-secret-0123456789";
    let r = app
        .post(
            "/api/v1/webhooks",
            json!({ "url": "http://127.0.0.1:9/hook", "events": ["scimgate.user.created", "scimgate.user.deleted"], "secret": secret }),
        )
        .await;
    let created = r.ok(201).clone();
    assert_eq!(created["secret"], secret);
    assert_eq!(created["events"], json!(["scimgate.user.created", "scimgate.user.deleted"]));
    let wid = id(&created);
    assert_eq!(r.headers["location"], format!("/api/v1/webhooks/{wid}").as_str());
    for path in
        ["/api/v1/webhooks".to_owned(), format!("/api/v1/webhooks/{wid}"), format!("/api/v1/audit?targetId={wid}")]
    {
        let r = app.get(&path).await;
        let text = r.ok(200).to_string();
        assert!(!text.contains(secret) && !text.contains("\"secret\""), "{path}: {text}");
    }
    let listed = app.get("/api/v1/webhooks").await;
    assert_eq!(listed.body["items"][0]["id"], wid.as_str());
    assert_eq!(listed.body["items"][0]["url"], "http://127.0.0.1:9/hook");

    app.get(&format!("/api/v1/webhooks/{wid}/deliveries?status=lost")).await.problem(400, "validation_failed");
    assert_eq!(app.get(&format!("/api/v1/webhooks/{wid}/deliveries?status=dead")).await.ok(200)["items"], json!([]));
    app.get("/api/v1/webhooks/not-an-id").await.problem(404, "not_found");
    app.delete(&format!("/api/v1/webhooks/{wid}")).await.ok(204);
    app.delete(&format!("/api/v1/webhooks/{wid}")).await.problem(404, "not_found");
    app.get(&format!("/api/v1/webhooks/{wid}/deliveries")).await.problem(404, "not_found");
    assert!(app.get("/api/v1/webhooks").await.ok(200)["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_secret_never_reaches_the_logs_of_a_running_gateway() {
    let rx = Receiver::start().await;
    rx.set(|b| b.fail_next = 1);
    let dir = tempfile::tempdir().unwrap();
    let admin = "events-log-test-bootstrap-secret";
    let db = dir.path().join("gw.db").display().to_string();
    let env = [
        ("SCIMGATE__DATABASE__URL", db.as_str()),
        ("SCIMGATE__AUTH__BOOTSTRAP_TOKEN", admin),
        ("SCIMGATE__WEBHOOKS__ALLOW_LOOPBACK", "true"),
        ("SCIMGATE__WEBHOOKS__BACKOFF_BASE_MS", "50"),
        ("SCIMGATE__WEBHOOKS__POLL_INTERVAL_MS", "25"),
    ];
    let gw = crate::helpers::Served::start(dir.path(), &env).await;
    let (client, base) = (&gw.client, &gw.base);
    let secret = "log-test-webhook-secret-7f3a9c1e5b";
    let r = client
        .post(format!("{base}/api/v1/webhooks"))
        .bearer_auth(admin)
        .json(&json!({ "url": rx.url, "events": ["*"], "secret": secret }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    let r = client
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(admin)
        .json(&json!({ "userName": "logged@example.com", "email": "l@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let hits =
        rx.wait("a failure, then the delivery", Duration::from_secs(15), |h| h.iter().any(|x| x.status == 200)).await;
    assert!(hits.iter().all(|h| signature_verifies(secret, h)));

    let (_, logs) = gw.stop();
    assert!(logs.contains("webhook attempt failed"), "the dispatcher logged: {logs}");
    assert!(!logs.contains(secret), "the webhook secret never reaches the logs");
}

#[tokio::test]
async fn scim_self_registration_site_and_group_changes_produce_events_filtered_per_subscription() {
    let app = spawn_with(fast).await;
    let rx_all = Receiver::start().await;
    let rx_deleted = Receiver::start().await;
    subscribe(&app, &rx_all.url, json!(["*"])).await;
    let (deleted_hook, _) = subscribe(&app, &rx_deleted.url, json!(["scimgate.user.deleted"])).await;

    // SCIM: create, then deactivate through a PATCH.
    let r = app
        .scim(
            Method::POST,
            "/Users",
            Some(&app.admin),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "idp.user@example.com",
                "name": { "givenName": "Ida", "familyName": "Provider" },
                "emails": [{ "value": "idp.user@example.com", "primary": true }]
            })),
        )
        .await;
    let sid = id(r.ok(201));
    let ev = rx_all.wait_event("the SCIM create", |e| e["subject"] == sid.as_str()).await;
    assert_eq!(ev["type"], "scimgate.user.created");
    assert_eq!(ev["data"]["user"]["origin"], "scim");
    assert_eq!(ev["data"]["user"]["contactless"], false);
    let r = app
        .scim(
            Method::PATCH,
            &format!("/Users/{sid}"),
            Some(&app.admin),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "path": "active", "value": false }]
            })),
        )
        .await;
    r.ok(200);
    let ev = rx_all.wait_event("the SCIM deactivation", |e| e["type"] == "scimgate.user.deactivated").await;
    assert_eq!(ev["subject"], sid.as_str());
    assert_eq!(ev["data"]["changes"]["active"], json!({ "before": true, "after": false }));
    assert_eq!(ev["data"]["user"]["active"], false);

    // A SCIM group.
    let r = app
        .scim(
            Method::POST,
            "/Groups",
            Some(&app.admin),
            Some(json!({ "displayName": "Crew", "members": [{ "value": sid }] })),
        )
        .await;
    let gid = id(r.ok(201));
    let ev = rx_all.wait_event("the group", |e| e["type"] == "scimgate.group.created").await;
    assert_eq!(ev["subject"], gid.as_str());
    assert_eq!(ev["data"]["group"]["displayName"], "Crew");
    assert_eq!(ev["data"]["group"]["members"][0]["value"], sid.as_str());

    // Self-registration, then site membership.
    let site = app.site("portal", true).await;
    let reg = app.token("registration", &[], Some(&site)).await;
    let r =
        app.register(&site, &reg, json!({ "userName": "visitor@example.com", "email": "visitor@example.com" })).await;
    let vid = id(r.ok(201));
    let ev = rx_all.wait_event("the registration", |e| e["subject"] == vid.as_str()).await;
    assert_eq!(ev["type"], "scimgate.user.created");
    assert_eq!(ev["data"]["user"]["origin"], "self_registration");
    assert_eq!(ev["data"]["user"]["siteIds"], json!([site]));
    app.put(&format!("/api/v1/sites/{site}/members/{sid}"), json!({})).await.ok(204);
    let ev = rx_all.wait_event("the membership", |e| e["type"] == "scimgate.site.member_added").await;
    assert_eq!((ev["subject"].clone(), ev["data"]["siteId"].clone()), (json!(sid), json!(site)));
    assert_eq!(ev["data"]["user"]["siteIds"], json!([site]));
    app.delete(&format!("/api/v1/sites/{site}/members/{sid}")).await.ok(204);
    let ev = rx_all.wait_event("the removal", |e| e["type"] == "scimgate.site.member_removed").await;
    assert_eq!(ev["data"]["user"]["siteIds"], json!([]));

    // A deletion reaches both subscriptions, with the user's last state.
    app.delete(&format!("/api/v1/users/{vid}")).await.ok(204);
    let ev = rx_deleted.wait_event("the deletion", |e| e["type"] == "scimgate.user.deleted").await;
    assert_eq!(ev["subject"], vid.as_str());
    assert_eq!(ev["data"]["user"]["userName"], "visitor@example.com");
    assert_eq!(ev["data"]["changes"]["userName"]["before"], "visitor@example.com");
    rx_all.wait_event("the deletion", |e| e["type"] == "scimgate.user.deleted").await;
    // Non-directory changes (accounts, tokens, sites themselves) made no events.
    let types: Vec<String> =
        rx_all.acknowledged().iter().map(|h| h.event()["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(
        types.iter().filter(|t| t.starts_with("scimgate.site.") || t.starts_with("scimgate.group.")).count(),
        3,
        "{types:?}"
    );
    assert!(rx_deleted.hits().iter().all(|h| h.event()["type"] == "scimgate.user.deleted"));
    assert_eq!(deliveries(&app, &deleted_hook).await.len(), 1);
}

#[tokio::test]
async fn a_target_refused_at_delivery_time_is_never_contacted() {
    // Subscribed while loopback was allowed; delivered by an instance that refuses it (as
    // when DNS starts pointing a public name somewhere private).
    let first = spawn_with(fast).await;
    let rx = Receiver::start().await;
    let by_name = rx.url.replace("127.0.0.1", "localhost");
    let (named, _) = subscribe(&first, &by_name, json!(["*"])).await;
    let (literal, _) = subscribe(&first, &rx.url, json!(["*"])).await;
    first.handle.kill().await;
    let strict = spawn_sibling_with(&first, |s| {
        fast(s);
        s.webhooks.allow_loopback = false;
        s.webhooks.max_attempts = 2;
    })
    .await;
    strict.contactless("guarded@example.com").await;
    for hook in [&named, &literal] {
        let items = wait_deliveries(&strict, hook, "a dead letter", |d| d.len() == 1 && d[0]["status"] == "dead").await;
        let error = items[0]["lastError"].as_str().unwrap();
        assert!(error.contains("a loopback address"), "{error}");
        assert!(items[0]["lastStatusCode"].is_null());
    }
    assert!(rx.hits().is_empty(), "the refused target saw no request");
    let c = strict.deliveries.snapshot();
    assert_eq!((c.sent, c.failed, c.retried, c.dead_lettered), (0, 4, 2, 2));
}

#[tokio::test]
async fn webhook_secrets_are_sealed_at_rest_with_the_configured_key() {
    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    // A secret stored before a key was configured...
    let app = spawn_with(fast).await;
    let rx = Receiver::start().await;
    let (_, old_secret) = subscribe(&app, &rx.url, json!(["scimgate.user.created"])).await;
    let stored = |app: &TestApp| {
        let url = app.db_url.clone();
        async move {
            let db = scimgate::store::Db::open(&url, 1).unwrap();
            db.read(|conn| {
                use diesel::prelude::*;
                use scimgate::store::schema::webhook_subscriptions::dsl::*;
                Ok::<_, scimgate::error::ServiceError>(webhook_subscriptions.select(secret).load::<String>(conn)?)
            })
            .await
            .unwrap()
        }
    };
    assert_eq!(stored(&app).await, vec![old_secret.clone()], "no key: stored as given");
    // ...is sealed by a gateway that has one, and new secrets are sealed from the start.
    let sealed = crate::helpers::spawn_sibling_with(&app, |s| {
        fast(s);
        s.webhooks.secret_key = Some(KEY.to_owned().into());
    })
    .await;
    app.handle.stop().await;
    let (_, new_secret) = subscribe(&sealed, &rx.url, json!(["scimgate.user.created"])).await;
    for value in stored(&sealed).await {
        assert!(value.starts_with("sg1:"), "{value}");
        assert!(!value.contains(&old_secret) && !value.contains(&new_secret));
    }
    // Deliveries are still signed with each subscription's own secret.
    sealed.contactless("sealed@example.com").await;
    let hits =
        rx.wait("two deliveries", Duration::from_secs(15), |h| h.iter().filter(|h| h.status == 200).count() >= 2).await;
    let verified_old = hits.iter().any(|h| signature_verifies(&old_secret, h));
    let verified_new = hits.iter().any(|h| signature_verifies(&new_secret, h));
    assert!(verified_old && verified_new);
    // A gateway without the key refuses to start rather than sign nothing.
    let mut settings = Settings::defaults().unwrap();
    settings.server.bind = "127.0.0.1:0".into();
    settings.database.url = sealed.db_url.clone();
    let e = scimgate::startup::Application::build(settings).await.err().expect("refused");
    assert!(e.to_string().contains("secret_key"), "{e}");
}

// ---------------------------------------------------------------- the operator's controls

#[tokio::test]
async fn a_paused_subscription_holds_its_deliveries_until_resumed_and_a_test_event_reaches_it() {
    let rx = Receiver::start().await;
    let app = spawn_with(fast).await;
    let (hook, _) = subscribe(&app, &rx.url, json!(["*"])).await;
    let paused = app.post(&format!("/api/v1/webhooks/{hook}/pause"), json!({})).await;
    let paused = paused.ok(200);
    assert_eq!(paused["paused"], true);
    assert!(paused["pausedAt"].is_string());
    let user = app.contactless("held@example.com").await;
    // Queued, never attempted while paused.
    wait_deliveries(&app, &hook, "the held delivery", |d| d.len() == 1).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(rx.hits().is_empty(), "a paused subscription got {:?}", rx.hits());
    let d = &deliveries(&app, &hook).await[0];
    assert_eq!((d["status"].as_str(), d["attempts"].as_i64()), (Some("pending"), Some(0)));
    assert!(d["nextAttemptAt"].is_null(), "a paused delivery waits for the resume: {d}");
    let resumed = app.post(&format!("/api/v1/webhooks/{hook}/resume"), json!({})).await;
    assert_eq!(resumed.ok(200)["paused"], false);
    rx.wait_event("the held event", |e| e["subject"] == user["id"]).await;
    // A test event: to this subscription only, whatever it subscribed to, and signed.
    let sent = app.post(&format!("/api/v1/webhooks/{hook}/test"), json!({})).await;
    let delivery = sent.ok(202)["deliveryId"].as_str().unwrap().to_owned();
    let event = rx.wait_event("the test event", |e| e["type"] == "scimgate.webhook.test").await;
    assert_eq!(event["subject"], hook.as_str());
    assert_eq!(event["data"]["test"], true);
    let detail = wait_deliveries(&app, &hook, "the test delivery delivered", |d| {
        d.iter().any(|x| x["id"] == delivery.as_str() && x["status"] == "delivered")
    })
    .await;
    assert!(!detail.is_empty());
    let one = app.get(&format!("/api/v1/webhooks/{hook}/deliveries/{delivery}")).await;
    let one = one.ok(200);
    assert_eq!(one["eventType"], "scimgate.webhook.test");
    assert_eq!(one["attemptLog"][0]["statusCode"], 200);
    assert!(one["attemptLog"][0]["error"].is_null());
    let actions = app.audit_actions(&hook).await;
    for a in ["webhook.paused", "webhook.resumed", "webhook.test_sent"] {
        assert!(actions.iter().any(|x| x == a), "{a} not audited: {actions:?}");
    }
    app.post(&format!("/api/v1/webhooks/{}/pause", uuid::Uuid::new_v4()), json!({})).await.problem(404, "not_found");
}

#[tokio::test]
async fn every_attempt_is_kept_with_the_answer_and_all_dead_letters_retry_at_once() {
    let rx = Receiver::start().await;
    rx.set(|b| b.fail_all = true);
    let app = spawn_with(|s| {
        fast(s);
        s.webhooks.max_attempts = 2;
    })
    .await;
    let (hook, _) = subscribe(&app, &rx.url, json!(["scimgate.user.created"])).await;
    for i in 0..3 {
        app.contactless(&format!("dead{i}@example.com")).await;
    }
    let dead =
        wait_deliveries(&app, &hook, "three dead letters", |d| d.len() == 3 && d.iter().all(|x| x["status"] == "dead"))
            .await;
    let one = app.get(&format!("/api/v1/webhooks/{hook}/deliveries/{}", dead[0]["id"].as_str().unwrap())).await;
    let log = one.ok(200)["attemptLog"].as_array().unwrap().clone();
    assert_eq!(log.len(), 2, "{log:#?}");
    for (i, a) in log.iter().enumerate() {
        assert_eq!(a["attempt"], i as i64 + 1);
        assert_eq!(a["statusCode"], 500);
        assert!(a["error"].as_str().unwrap().starts_with("HTTP 500"), "{a}");
    }
    rx.set(|b| b.fail_all = false);
    let retried = app.post(&format!("/api/v1/webhooks/{hook}/dead-letters/retry"), json!({})).await;
    assert_eq!(retried.ok(202)["retried"], 3);
    wait_deliveries(&app, &hook, "the retried letters delivered", |d| d.iter().all(|x| x["status"] == "delivered"))
        .await;
    // A new series of attempts follows the old one in the log.
    let one = app.get(&format!("/api/v1/webhooks/{hook}/deliveries/{}", dead[0]["id"].as_str().unwrap())).await;
    let log = one.ok(200)["attemptLog"].as_array().unwrap().clone();
    assert_eq!(log.len(), 3);
    assert_eq!((log[2]["attempt"].as_i64(), log[2]["statusCode"].as_i64()), (Some(1), Some(200)));
    let again = app.post(&format!("/api/v1/webhooks/{hook}/dead-letters/retry"), json!({})).await;
    assert_eq!(again.ok(202)["retried"], 0);

    // The console shows the same: health on the overview and the list, attempts per delivery.
    let console = crate::console::sign_in(&app, &app.admin.clone()).await;
    let page = console.get(&format!("/setup/webhooks/{hook}?status=delivered")).await;
    page.status(200).has(&rx.url).has(r#"<dd class="h-delivered">3</dd>"#).has(r#"<dd class="h-dead">0</dd>"#);
    let delivery = console.get(&format!("/setup/webhooks/{hook}/deliveries/{}", dead[0]["id"].as_str().unwrap())).await;
    delivery.status(200).has("HTTP 500").has("HTTP 200");
    let overview = console.get("/setup/overview").await;
    overview.status(200).has(r#"id="webhook-health""#).has(&rx.url);
    console.post(&format!("/setup/webhooks/{hook}/pause"), &[]).await.status(303);
    console.get(&format!("/setup/webhooks/{hook}")).await.has("Paused").has("Resume");
    let h = app.get(&format!("/api/v1/webhooks/{hook}")).await;
    assert_eq!(h.ok(200)["paused"], true);
}
