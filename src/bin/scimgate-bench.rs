//! scimgate-bench: seeds a gateway with users over SCIM, then runs fixed-duration scenarios
//! at a fixed concurrency and prints throughput and p50/p99 latency per scenario, with each
//! figure also as a ratio of a bare actix-web handler measured in the same run.
//!
//! It starts the gateway (`scimgate serve`, the binary beside this one) and the bare
//! handler (`scimgate-bench bare-server`) as child processes on loopback, so the load
//! generator, the gateway and the baseline each have their own process, and the gateway's
//! peak RSS can be read from /proc.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(name = "scimgate-bench", about = "Benchmark a scimgate gateway against a bare actix-web handler")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Users to seed over SCIM before the scenarios.
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// The gateway's database: a SQLite path (default: a temp file) or postgres://…
    #[arg(long)]
    database: Option<String>,
    /// Scenarios to run (comma-separated); default: all.
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Benchmark an already running gateway instead of starting one (needs --token).
    #[arg(long)]
    target: Option<String>,
    /// Admin token for --target.
    #[arg(long)]
    token: Option<String>,
    /// The seeded users' userName prefix: two benches on one database (two gateways on one
    /// PostgreSQL) seed and read users of their own.
    #[arg(long, default_value = "seed")]
    seed_prefix: String,
    /// Start the scenarios at this Unix time (after seeding): two benches started together
    /// measure at the same moment.
    #[arg(long)]
    start_at: Option<u64>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the bare baseline handler (used by the benchmark itself).
    BareServer {
        #[arg(long)]
        port: u16,
    },
}

const SCENARIOS: &[&str] = &[
    "bare",
    "scim_create",
    "get_by_id",
    "filter_username",
    "filter_email",
    "list_page",
    "list_page_random",
    "patch_replace",
    "native_contactless_create",
    "native_upgrade_downgrade",
    "writes_under_abuse",
    "reads_under_abuse",
];

/// `status` is one of `want`.
async fn status_in(r: Result<reqwest::Response, reqwest::Error>, want: &[u16]) -> bool {
    match r {
        Ok(r) => {
            let s = r.status().as_u16();
            let _ = r.bytes().await;
            want.contains(&s)
        }
        Err(_) => false,
    }
}

/// A slow-body client: announces a body, then sends a byte every 500 ms until the gateway
/// gives up on it (or the scenario ends); returns when the connection closes.
async fn trickle(host: String, path: &'static str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(&host).await else { return };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
    );
    if s.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut buf = [0u8; 512];
    loop {
        tokio::select! {
            r = s.read(&mut buf) => if matches!(r, Ok(0) | Err(_)) { return },
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                if s.write_all(b"a").await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The string attributes a user may carry beyond the modelled ones (for the largest users
/// the size limits allow).
const BIG_ATTRIBUTES: &[&str] = &["title", "nickName", "profileUrl", "locale"];

/// The title of the largest PATCH `writes_under_abuse` sends: just under the default
/// `server.max_body_bytes` (1 MiB) with the PatchOp around it.
const ABUSIVE_TITLE_BYTES: usize = 900 * 1024;

/// A body of the size of a typical SCIM user (~1 KiB), for the baseline.
fn bare_body() -> String {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "01a22100-0000-7000-8000-000000000000",
        "userName": "bench.user.000000@example.com",
        "name": { "givenName": "Bench", "familyName": "User" },
        "active": true,
        "emails": [{ "value": "bench.user.000000@example.com", "type": "work", "primary": true }],
        "urn:scimgate:schemas:extension:identity:2.0:User": { "license": "customer_community", "contactless": false, "origin": "scim" },
        "meta": { "resourceType": "User", "created": "2026-11-28T00:00:00.000000Z", "lastModified": "2026-11-28T00:00:00.000000Z",
                  "location": "http://127.0.0.1:8080/scim/v2/Users/01a22100-0000-7000-8000-000000000000", "version": "W/\"1\"" }
    });
    let mut s = user.to_string();
    while s.len() < 1024 {
        s.push(' ');
    }
    s
}

fn bare_server(port: u16) -> std::io::Result<()> {
    let body = bare_body();
    actix_web::rt::System::new().block_on(async move {
        actix_web::HttpServer::new(move || {
            let body = body.clone();
            actix_web::App::new().default_service(actix_web::web::to(move || {
                let body = body.clone();
                async move { actix_web::HttpResponse::Ok().content_type("application/scim+json").body(body) }
            }))
        })
        .bind(("127.0.0.1", port))?
        .run()
        .await
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(18_999)
}

fn sibling(name: &str) -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.with_file_name(name)
}

struct Stats {
    ok: u64,
    errors: u64,
    seconds: f64,
    micros: Vec<u32>,
}

impl Stats {
    fn throughput(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return 0.0;
        }
        let i = ((self.micros.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.micros[i]) / 1000.0
    }
}

/// Runs `op` from `concurrency` clients for `duration`; `op(worker, i)` returns success.
async fn run<F, Fut>(concurrency: usize, duration: Duration, op: F) -> Stats
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut handles = vec![];
    for w in 0..concurrency {
        let op = op.clone();
        let errors = errors.clone();
        handles.push(tokio::spawn(async move {
            let mut lat: Vec<u32> = Vec::with_capacity(100_000);
            let mut i = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = op(w, i).await;
                i += 1;
                if ok {
                    lat.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            lat
        }));
    }
    let mut micros = vec![];
    for h in handles {
        micros.extend(h.await.unwrap_or_default());
    }
    let seconds = started.elapsed().as_secs_f64();
    micros.sort_unstable();
    Stats { ok: micros.len() as u64, errors: errors.load(Ordering::Relaxed), seconds, micros }
}

struct Gateway {
    base: String,
    token: String,
    child: Option<Child>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn peak_rss_mb(child: &Child) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

async fn wait_up(client: &reqwest::Client, base: &str) -> bool {
    for _ in 0..300 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn start_gateway(cli: &Cli, client: &reqwest::Client, _dir: &tempfile::TempDir) -> Result<Gateway, String> {
    if let Some(target) = &cli.target {
        let token = cli.token.clone().ok_or("--target needs --token")?;
        return Ok(Gateway { base: target.trim_end_matches('/').to_owned(), token, child: None });
    }
    let port = free_port();
    let db = cli.database.clone().unwrap_or_else(|| _dir.path().join("bench.db").display().to_string());
    let token = format!("bench-{}", uuid::Uuid::new_v4());
    let child = Command::new(sibling("scimgate"))
        .arg("serve")
        .env("SCIMGATE__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("SCIMGATE__DATABASE__URL", &db)
        .env("SCIMGATE__AUTH__BOOTSTRAP_TOKEN", &token)
        .env("SCIMGATE__LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", sibling("scimgate").display()))?;
    let base = format!("http://127.0.0.1:{port}");
    let gw = Gateway { base, token, child: Some(child) };
    if !wait_up(client, &gw.base).await {
        return Err("the gateway did not start".into());
    }
    Ok(gw)
}

fn user_body(n: u64, tag: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("{tag}.{n:07}@example.com"),
        "externalId": format!("{tag}-{n}"),
        "name": { "givenName": "Bench", "familyName": format!("User{n}") },
        "emails": [{ "value": format!("{tag}.{n:07}@mail.example.com"), "type": "work", "primary": true }],
        "active": true
    })
}

fn main() {
    let cli = Cli::parse();
    if let Some(Cmd::BareServer { port }) = cli.command {
        // actix's own runtime, outside any tokio runtime.
        if let Err(e) = bare_server(port) {
            eprintln!("bare server: {e}");
            std::process::exit(1);
        }
        return;
    }
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(bench(cli)));
    if let Err(e) = result {
        eprintln!("scimgate-bench: {e}");
        std::process::exit(1);
    }
}

async fn bench(cli: Cli) -> Result<(), String> {
    let wanted: Vec<String> = if cli.scenarios.is_empty() {
        SCENARIOS.iter().map(|s| s.to_string()).collect()
    } else {
        cli.scenarios.clone()
    };
    for w in &wanted {
        if !SCENARIOS.contains(&w.as_str()) {
            return Err(format!("unknown scenario {w}; known: {}", SCENARIOS.join(",")));
        }
    }
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(cli.concurrency * 2).build().map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let gw = start_gateway(&cli, &client, &dir).await?;
    let duration = Duration::from_secs(cli.duration);
    let c = cli.concurrency;
    println!(
        "# scimgate-bench: {} users, concurrency {c}, {}s per scenario, gateway {}",
        cli.users, cli.duration, gw.base
    );

    // Seed over SCIM.
    let seeded = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let per = cli.users.div_ceil(c.max(1)) as u64;
    let mut hs = vec![];
    for w in 0..c as u64 {
        let (client, base, token, seeded) = (client.clone(), gw.base.clone(), gw.token.clone(), seeded.clone());
        let prefix = cli.seed_prefix.clone();
        let total = cli.users as u64;
        hs.push(tokio::spawn(async move {
            for k in 0..per {
                let n = w * per + k;
                if n >= total {
                    break;
                }
                let r = client
                    .post(format!("{base}/scim/v2/Users"))
                    .bearer_auth(&token)
                    .json(&user_body(n, &prefix))
                    .send()
                    .await;
                if r.is_ok_and(|r| r.status().as_u16() == 201) {
                    seeded.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for h in hs {
        let _ = h.await;
    }
    let seed_s = t.elapsed().as_secs_f64();
    let n_seeded = seeded.load(Ordering::Relaxed);
    println!("# seeded {n_seeded} users in {seed_s:.1}s ({:.0}/s)", n_seeded as f64 / seed_s);
    if n_seeded == 0 && cli.users > 0 {
        return Err("seeding failed".into());
    }
    if let Some(url) = cli.database.as_deref().filter(|u| u.starts_with("postgres")) {
        // What autovacuum does within a minute or so of a bulk load: without statistics and
        // a visibility map the planner cannot use index-only scans, and a freshly seeded
        // database would measure a state no running deployment stays in.
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let t = Instant::now();
        let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
        conn.batch_execute("VACUUM ANALYZE").map_err(|e| e.to_string())?;
        println!("# VACUUM ANALYZE after seeding: {:.1}s", t.elapsed().as_secs_f64());
    }
    // Ids for reads: this bench's seeded users, in id order.
    let mut ids: Vec<String> = vec![];
    let mut start = 1;
    let own = format!("filter=userName%20sw%20%22{}.%22", cli.seed_prefix);
    while ids.len() < 5_000.min(n_seeded as usize) {
        let r = get_json(&client, &gw, &format!("/scim/v2/Users?{own}&startIndex={start}&count=1000&attributes=id"))
            .await?;
        let page: Vec<String> = r["Resources"]
            .as_array()
            .map(|a| a.iter().filter_map(|u| u["id"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        if page.is_empty() {
            break;
        }
        start += page.len();
        ids.extend(page);
    }
    let ids = Arc::new(ids);
    let n = n_seeded.max(1);

    let bare_port = free_port();
    let mut bare = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .args(["bare-server", "--port", &bare_port.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let bare_base = format!("http://127.0.0.1:{bare_port}");
    if !wait_up(&client, &bare_base).await {
        return Err("the bare baseline server did not start".into());
    }

    if let Some(at) = cli.start_at {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if at > now {
            println!("# waiting {}s to start at {at}", at - now);
            tokio::time::sleep(Duration::from_secs(at - now)).await;
        }
    }
    println!("{:<28} {:>10} {:>8} {:>9} {:>9} {:>8}", "scenario", "req/s", "errors", "p50 ms", "p99 ms", "x bare");
    let mut bare_rps: Option<f64> = None;
    let mut failed = 0u64;
    let mut ext = 0u64;
    for name in &wanted {
        let (base, token) = (gw.base.clone(), gw.token.clone());
        let cl = client.clone();
        let ids = ids.clone();
        ext += 1;
        let tag = format!("b{ext}x{}", uuid::Uuid::new_v4().simple());
        let stats = match name.as_str() {
            "bare" => {
                let url = format!("{bare_base}/scim/v2/Users/x");
                run(c, duration, move |_, _| {
                    let (cl, url) = (cl.clone(), url.clone());
                    async move { ok(cl.get(url).bearer_auth("x").send().await, 200).await }
                })
                .await
            }
            "scim_create" => run(c, duration, move |w, i| {
                let (cl, base, token, tag) = (cl.clone(), base.clone(), token.clone(), tag.clone());
                async move {
                    let body = user_body(w as u64 * 10_000_000 + i, &tag);
                    ok(cl.post(format!("{base}/scim/v2/Users")).bearer_auth(token).json(&body).send().await, 201).await
                }
            })
            .await,
            "get_by_id" => run(c, duration, move |w, i| {
                let (cl, base, token) = (cl.clone(), base.clone(), token.clone());
                let id = ids[((w as u64 * 7919 + i) % ids.len().max(1) as u64) as usize].clone();
                async move { ok(cl.get(format!("{base}/scim/v2/Users/{id}")).bearer_auth(token).send().await, 200).await }
            })
            .await,
            "filter_username" => {
                let template = format!("userName eq \"{}.{{k}}@example.com\"", cli.seed_prefix);
                filter(c, duration, cl, base, token, n, 7, template).await
            }
            "filter_email" => {
                let template = format!("emails.value eq \"{}.{{k}}@mail.example.com\"", cli.seed_prefix);
                filter(c, duration, cl, base, token, n, 13, template).await
            }
            "list_page" => {
                list_pages(c, duration, cl, base, token, move |w, i| (w as u64 * 31 + i) * 100 % n.saturating_sub(100).max(1))
                    .await
            }
            // Any startIndex, not the multiples of 100 `list_page` uses (whose pages end where
            // others start): most pages start where no page ended, and walk.
            "list_page_random" => {
                list_pages(c, duration, cl, base, token, move |w, i| {
                    (w as u64 * 7_919 + i * 104_729) % n.saturating_sub(100).max(1)
                })
                .await
            }
            "patch_replace" => run(c, duration, move |w, i| {
                let (cl, base, token) = (cl.clone(), base.clone(), token.clone());
                // Each worker patches its own users: no two clients race on one version.
                let slot = (w + c * (i as usize % (ids.len() / c).max(1))) % ids.len().max(1);
                let id = ids[slot].clone();
                async move {
                    let body = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{ "op": "replace", "path": "title", "value": format!("Title {i}") }] });
                    ok(cl.patch(format!("{base}/scim/v2/Users/{id}")).bearer_auth(token).json(&body).send().await, 200).await
                }
            })
            .await,
            "native_contactless_create" => run(c, duration, move |w, i| {
                let (cl, base, token, tag) = (cl.clone(), base.clone(), token.clone(), tag.clone());
                async move {
                    let body = json!({ "userName": format!("{tag}.{w}.{i}@example.com"), "email": format!("{tag}.{w}.{i}@example.com") });
                    ok(cl.post(format!("{base}/api/v1/users")).bearer_auth(token).json(&body).send().await, 201).await
                }
            })
            .await,
            "native_upgrade_downgrade" => {
                // Each worker cycles its own seeded (contact-backed) user: downgrade (now
                // contactless), assign a new contact, upgrade to a community license.
                let account = first_account(&client, &gw).await?;
                run(c, duration, move |w, i| {
                    let (cl, base, token, account) = (cl.clone(), base.clone(), token.clone(), account.clone());
                    let id = ids[w % ids.len().max(1)].clone();
                    async move {
                        let users = format!("{base}/api/v1/users/{id}");
                        match i % 3 {
                            0 => ok(cl.post(format!("{users}/downgrade")).bearer_auth(token).send().await, 200).await,
                            1 => {
                                let body = json!({ "contact": { "accountId": account, "firstName": "B", "lastName": format!("C{i}"), "email": "c@example.com" } });
                                ok(cl.put(format!("{users}/contact")).bearer_auth(token).json(&body).send().await, 200).await
                            }
                            _ => {
                                let body = json!({ "license": "partner_community" });
                                ok(cl.post(format!("{users}/upgrade")).bearer_auth(token).json(&body).send().await, 200).await
                            }
                        }
                    }
                })
                .await
            }
            "writes_under_abuse" => {
                // A quarter of the clients (at least 2) abuse the write path: half send the
                // largest PATCH the body limit allows (a ~900 KiB title), half change
                // passwords (Argon2id); each on users of its own. The others make unrelated
                // native writes; the row reports those, so p99 is what a bystander feels.
                let abusers = (c / 4).max(3);
                let victims = c.saturating_sub(abusers).max(1);
                let big = "x".repeat(ABUSIVE_TITLE_BYTES);
                let largest = "y".repeat(15_000);
                let (acl, abase, atoken, aids) = (cl.clone(), base.clone(), token.clone(), ids.clone());
                let abuse = tokio::spawn(run(abusers, duration, move |w, i| {
                    let (cl, base, token) = (acl.clone(), abase.clone(), atoken.clone());
                    let id = aids[w % aids.len().max(1)].clone();
                    // An oversized title (refused: 400), the largest title the limits allow
                    // (200), a password change (Argon2id, 200).
                    let (op, want) = match w % 3 {
                        0 => (json!({ "op": "replace", "path": "title", "value": format!("{i}{big}") }), 400),
                        1 => (json!({ "op": "replace", "path": "title", "value": format!("{i}{largest}") }), 200),
                        _ => (json!({ "op": "replace", "path": "password", "value": format!("Correct-Horse-{w}-{i}") }), 200),
                    };
                    async move {
                        let body = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op] });
                        ok(cl.patch(format!("{base}/scim/v2/Users/{id}")).bearer_auth(token).json(&body).send().await, want).await
                    }
                }));
                let stats = run(victims, duration, move |w, i| {
                    let (cl, base, token) = (cl.clone(), base.clone(), token.clone());
                    let id = ids[(abusers + w) % ids.len().max(1)].clone();
                    async move {
                        let body = json!({ "displayName": format!("Bystander {i}") });
                        ok(cl.patch(format!("{base}/api/v1/users/{id}")).bearer_auth(token).json(&body).send().await, 200).await
                    }
                })
                .await;
                let abuse = abuse.await.map_err(|e| e.to_string())?;
                println!(
                    "# writes_under_abuse: {abusers} abusive clients made {} PATCHes ({} errors, p99 {:.1} ms) while {victims} bystanders wrote:",
                    abuse.ok,
                    abuse.errors,
                    abuse.percentile(0.99)
                );
                failed += abuse.errors;
                stats
            }
            "reads_under_abuse" => {
                // 200 of the largest users the size limits allow (~60 KB each), then a
                // quarter of the clients (at least 4) attack the read path: whole-page lists
                // of those users, costly filters (the most scanning terms allowed, and far
                // more), a flood of bad tokens; 64 slow-body connections trickle meanwhile.
                // The others read unrelated users (SCIM by id, native list pages): the
                // row reports those.
                // The attack first: users with a ~950 KB title. A gateway with size
                // limits refuses them (400); then the largest users its limits allow.
                let fill = "z".repeat(14_500);
                let huge = "h".repeat(950 * 1024);
                let mut stored_huge = 0;
                for n in 0..200u64 {
                    let user_name = format!("big-{tag}-{n}");
                    let body = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name, "title": huge });
                    let r = cl.post(format!("{base}/scim/v2/Users")).bearer_auth(&token).json(&body).send().await;
                    if ok(r, 201).await {
                        stored_huge += 1;
                        continue;
                    }
                    let mut body = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name });
                    for a in BIG_ATTRIBUTES {
                        body[*a] = json!(fill);
                    }
                    let r = cl.post(format!("{base}/scim/v2/Users")).bearer_auth(&token).json(&body).send().await;
                    if !ok(r, 201).await {
                        failed += 1;
                    }
                }
                println!("# reads_under_abuse: {stored_huge} of 200 users stored with a 950 KB title (the rest: 4 × 14.5 KB attributes)");
                let host = base.trim_start_matches("http://").to_owned();
                let slow: Vec<_> = (0..64)
                    .map(|k| tokio::spawn(trickle(host.clone(), if k % 2 == 0 { "/setup/sign-in" } else { "/scim/v2/Users" })))
                    .collect();
                let abusers = (c / 4).max(4);
                let victims = c.saturating_sub(abusers).max(1);
                let costly = (0..4).map(|k| format!("userName co \"q{k}\"")).collect::<Vec<_>>().join(" or ");
                let absurd = (0..200).map(|k| format!("userName co \"q{k}\"")).collect::<Vec<_>>().join(" or ");
                let (acl, abase, atoken, atag) = (cl.clone(), base.clone(), token.clone(), tag.clone());
                let abuse = tokio::spawn(run(abusers, duration, move |w, _| {
                    let (cl, base, token) = (acl.clone(), abase.clone(), atoken.clone());
                    let big_list = format!(
                        "{base}/scim/v2/Users?count=1000&filter={}",
                        url::form_urlencoded::byte_serialize(format!("userName sw \"big-{atag}\"").as_bytes()).collect::<String>()
                    );
                    let costly = format!("{base}/scim/v2/Users?filter={}", url::form_urlencoded::byte_serialize(costly.as_bytes()).collect::<String>());
                    let absurd = format!("{base}/scim/v2/Users?filter={}", url::form_urlencoded::byte_serialize(absurd.as_bytes()).collect::<String>());
                    async move {
                        match w % 4 {
                            0 => status_in(cl.get(big_list).bearer_auth(token).send().await, &[200]).await,
                            1 => status_in(cl.get(costly).bearer_auth(token).send().await, &[200, 400]).await,
                            2 => status_in(cl.get(absurd).bearer_auth(token).send().await, &[400]).await,
                            _ => status_in(cl.get(format!("{base}/api/v1/users")).bearer_auth("sgt_guessing").send().await, &[401, 429]).await,
                        }
                    }
                }));
                let stats = run(victims, duration, move |w, i| {
                    let (cl, base, token) = (cl.clone(), base.clone(), token.clone());
                    let id = ids[(w * 7919 + i as usize) % ids.len().max(1)].clone();
                    async move {
                        if i % 2 == 0 {
                            ok(cl.get(format!("{base}/scim/v2/Users/{id}")).bearer_auth(token).send().await, 200).await
                        } else {
                            ok(cl.get(format!("{base}/api/v1/users?limit=20")).bearer_auth(token).send().await, 200).await
                        }
                    }
                })
                .await;
                let abuse = abuse.await.map_err(|e| e.to_string())?;
                for s in slow {
                    s.abort();
                }
                println!(
                    "# reads_under_abuse: {abusers} abusive clients made {} requests ({} unexpected, p99 {:.1} ms) and 64 slow bodies trickled while {victims} bystanders read:",
                    abuse.ok,
                    abuse.errors,
                    abuse.percentile(0.99)
                );
                failed += abuse.errors;
                stats
            }
            _ => unreachable!("validated above"),
        };
        if name == "bare" {
            bare_rps = Some(stats.throughput());
        }
        failed += stats.errors;
        let ratio = bare_rps.map(|b| format!("{:.1}%", 100.0 * stats.throughput() / b)).unwrap_or_else(|| "-".into());
        println!(
            "{:<28} {:>10.0} {:>8} {:>9.2} {:>9.2} {:>8}",
            name,
            stats.throughput(),
            stats.errors,
            stats.percentile(0.50),
            stats.percentile(0.99),
            ratio
        );
    }
    let _ = bare.kill();
    let _ = bare.wait();
    if let Ok(text) = get_text(&client, &gw, "/metrics").await {
        let pages = |paging: &str| {
            let line = format!("scimgate_list_pages_total{{paging=\"{paging}\"}} ");
            text.lines().find_map(|l| l.strip_prefix(&line)).unwrap_or("0").to_owned()
        };
        println!("# list pages past the first row: {} by a seek, {} by an offset walk", pages("seek"), pages("walk"));
    }
    if let Some(rss) = gw.child.as_ref().and_then(peak_rss_mb) {
        println!("# gateway peak RSS: {rss:.0} MB");
    }
    // A figure with failed requests in it measures something else: say so loudly.
    if failed > 0 {
        return Err(format!("{failed} requests failed or got an unexpected status"));
    }
    Ok(())
}

/// A filter scenario: `template` with `{k}` replaced by a seeded user's number (7 digits),
/// spread over the directory by `stride`.
#[allow(clippy::too_many_arguments)]
async fn filter(
    c: usize,
    duration: Duration,
    cl: reqwest::Client,
    base: String,
    token: String,
    n: u64,
    stride: u64,
    template: String,
) -> Stats {
    run(c, duration, move |w, i| {
        let (cl, base, token, template) = (cl.clone(), base.clone(), token.clone(), template.clone());
        let k = (w as u64 * 104_729 + i * stride) % n;
        async move {
            let f = template.replace("{k}", &format!("{k:07}"));
            let url = format!("{base}/scim/v2/Users");
            ok(cl.get(url).query(&[("filter", f)]).bearer_auth(token).send().await, 200).await
        }
    })
    .await
}

/// SCIM pages of 100 users, each from `1 + offset(worker, iteration)`.
async fn list_pages(
    c: usize,
    duration: Duration,
    cl: reqwest::Client,
    base: String,
    token: String,
    offset: impl Fn(usize, u64) -> u64 + Clone + Send + Sync + 'static,
) -> Stats {
    run(c, duration, move |w, i| {
        let (cl, base, token) = (cl.clone(), base.clone(), token.clone());
        let start = 1 + offset(w, i);
        async move {
            let url = format!("{base}/scim/v2/Users?startIndex={start}&count=100");
            ok(cl.get(url).bearer_auth(token).send().await, 200).await
        }
    })
    .await
}

/// A text GET of the gateway as its admin.
async fn get_text(client: &reqwest::Client, gw: &Gateway, path: &str) -> Result<String, String> {
    let r = client.get(format!("{}{path}", gw.base)).bearer_auth(&gw.token).send().await.map_err(|e| e.to_string())?;
    r.text().await.map_err(|e| e.to_string())
}

/// A JSON GET of the gateway as its admin.
async fn get_json(client: &reqwest::Client, gw: &Gateway, path: &str) -> Result<Value, String> {
    let r = client.get(format!("{}{path}", gw.base)).bearer_auth(&gw.token).send().await.map_err(|e| e.to_string())?;
    r.json().await.map_err(|e| e.to_string())
}

async fn first_account(client: &reqwest::Client, gw: &Gateway) -> Result<String, String> {
    let r = get_json(client, gw, "/api/v1/accounts?limit=1").await?;
    r["items"][0]["id"].as_str().map(str::to_owned).ok_or_else(|| "no account (seed some users first)".into())
}

async fn ok(r: Result<reqwest::Response, reqwest::Error>, want: u16) -> bool {
    match r {
        Ok(r) => {
            let good = r.status().as_u16() == want;
            let _ = r.bytes().await;
            good
        }
        Err(_) => false,
    }
}
