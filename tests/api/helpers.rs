//! Test harness: each test gets its own gateway on a free loopback port and its own
//! database — a temporary SQLite file, or a fresh PostgreSQL database when
//! `TEST_DATABASE_URL` names a server (a maintenance database URL).

use diesel::Connection;
use diesel::RunQueryDsl;
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use tempfile::TempDir;

use scimgate::config::Settings;
use scimgate::service::dispatcher::DeliveryCounters;
use scimgate::startup::{AppHandle, Application};

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// The bootstrap admin secret of this gateway.
    pub admin: String,
    pub db_url: String,
    /// Stops this gateway (gracefully, or like a crash).
    pub handle: AppHandle,
    /// This gateway's webhook delivery counters.
    pub deliveries: std::sync::Arc<DeliveryCounters>,
    _dir: Option<std::sync::Arc<TempDir>>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts a SCIM error (RFC 7644 §3.12) with this status and scimType.
    #[track_caller]
    pub fn scim_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]), "{}", self.body);
        assert_eq!(self.body["status"], status.to_string(), "status is a string: {}", self.body);
        match scim_type {
            Some(t) => assert_eq!(self.body["scimType"], t, "{}", self.body),
            None => assert!(self.body.get("scimType").is_none(), "{}", self.body),
        }
        let ct = self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(ct, "application/scim+json");
    }

    /// Asserts a problem+json error with this status and code.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert_eq!(self.body["status"], status, "body: {}", self.body);
        let ct = self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(ct, "application/problem+json");
        assert!(self.body["type"].is_string() && self.body["title"].is_string() && self.body["detail"].is_string());
    }

    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        &self.body
    }
}

/// A fresh database URL for one test.
fn fresh_database() -> (String, Option<TempDir>) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("t_{}", uuid::Uuid::new_v4().simple());
            let mut conn = diesel::PgConnection::establish(&admin_url).expect("TEST_DATABASE_URL reachable");
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn).expect("create database");
            let base = admin_url.split('?').next().unwrap_or(&admin_url);
            let cut = base.rfind('/').expect("a database URL has a path");
            (format!("{}/{name}", &base[..cut]), None)
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("scimgate.db");
            (path.to_string_lossy().into_owned(), Some(dir))
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    let (url, dir) = fresh_database();
    spawn_on(&url, dir.map(std::sync::Arc::new), customize).await
}

/// Another gateway instance on the same database as `app` (scale-out).
pub async fn spawn_sibling(app: &TestApp) -> TestApp {
    spawn_sibling_with(app, |_| {}).await
}

/// Like [`spawn_sibling`], with settings of its own.
pub async fn spawn_sibling_with(app: &TestApp, customize: impl FnOnce(&mut Settings)) -> TestApp {
    let admin = app.admin.clone();
    spawn_on(&app.db_url, app._dir.clone(), |s| {
        s.auth.bootstrap_token = Some(admin.into());
        customize(s);
    })
    .await
}

async fn spawn_on(url: &str, dir: Option<std::sync::Arc<TempDir>>, customize: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings::defaults().expect("defaults");
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.workers = 2;
    settings.database.url = url.to_owned();
    settings.database.pool_size = 4;
    let admin = format!("bootstrap-{}", uuid::Uuid::new_v4());
    settings.auth.bootstrap_token = Some(admin.clone().into());
    customize(&mut settings);
    let admin = settings.auth.bootstrap_secret().unwrap_or_default().to_owned();
    let app = Application::build(settings).await.expect("gateway starts");
    let port = app.port();
    let handle = app.handle();
    let deliveries = app.deliveries();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        admin,
        db_url: url.to_owned(),
        handle,
        deliveries,
        _dir: dir,
    }
}

impl TestApp {
    /// `POST /api/v1/sites/{site}/register` with `token`.
    pub async fn register(&self, site: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, &format!("/api/v1/sites/{site}/register"), Some(token), Some(body)).await
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.call_with(method, path, token, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.address));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        reply(req.send().await.expect("request sent")).await
    }

    /// Raw body with a content type, for malformed-input tests.
    pub async fn raw(&self, method: Method, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Reply {
        let res = self
            .client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(&self.admin)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent");
        reply(res).await
    }

    /// A SCIM request (`/scim/v2` + path) with `application/scim+json`.
    /// A SCIM request. A User or Group create/replace body without `schemas` gets its core
    /// schema added (tests write bodies short; `scim_raw` sends one as it is).
    pub async fn scim(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let body = body.map(|mut b| {
            let core = match path.split(['/', '?']).nth(1) {
                Some("Users") => Some("urn:ietf:params:scim:schemas:core:2.0:User"),
                Some("Groups") => Some("urn:ietf:params:scim:schemas:core:2.0:Group"),
                _ => None,
            };
            if let (Some(core), true, Some(o)) =
                (core, method == Method::POST || method == Method::PUT, b.as_object_mut())
                && !path.ends_with("/.search")
                && !o.contains_key("schemas")
            {
                o.insert("schemas".into(), serde_json::json!([core]));
            }
            b
        });
        self.scim_raw(method, path, token, body).await
    }

    /// A SCIM request with the body exactly as given.
    pub async fn scim_raw(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = self.client.request(method, format!("{}/scim/v2{path}", self.address));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(b.to_string());
        }
        reply(req.send().await.expect("request sent")).await
    }

    /// The identity extension of a SCIM user with its on-request facts
    /// (contactId, contactless, origin).
    pub async fn identity(&self, id: &str) -> Value {
        let ext = "urn:scimgate:schemas:extension:identity:2.0:User";
        let r = self.scim(Method::GET, &format!("/Users/{id}?attributes={ext}"), Some(&self.admin), None).await;
        r.ok(200)[ext].clone()
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, Some(&self.admin), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(&self.admin), Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(&self.admin), Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(&self.admin), Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, Some(&self.admin), None).await
    }

    pub async fn account(&self, name: &str) -> String {
        let r = self.post("/api/v1/accounts", json!({ "name": name })).await;
        r.ok(201)["id"].as_str().unwrap().to_owned()
    }

    pub async fn site(&self, prefix: &str, self_registration: bool) -> String {
        let r = self
            .post(
                "/api/v1/sites",
                json!({ "name": format!("Site {prefix}"), "urlPathPrefix": prefix, "selfRegistration": self_registration }),
            )
            .await;
        r.ok(201)["id"].as_str().unwrap().to_owned()
    }

    pub async fn token(&self, role: &str, account_ids: &[&str], site_id: Option<&str>) -> String {
        let mut body = json!({ "name": format!("{role} test"), "role": role, "accountIds": account_ids });
        if let Some(s) = site_id {
            body["siteId"] = json!(s);
        }
        let r = self.post("/api/v1/tokens", body).await;
        r.ok(201)["token"].as_str().unwrap().to_owned()
    }

    pub async fn contactless(&self, user_name: &str) -> Value {
        let r = self.post("/api/v1/users", json!({ "userName": user_name, "email": "x@example.com" })).await;
        r.ok(201).clone()
    }

    /// A contact-backed user with a new contact under `account`, holding `license`.
    pub async fn backed(&self, user_name: &str, account: &str, license: &str) -> Value {
        let r = self
            .post(
                "/api/v1/users",
                json!({
                    "userName": user_name,
                    "email": "x@example.com",
                    "license": license,
                    "contact": { "accountId": account, "firstName": "Con", "lastName": "Tact", "email": "c@example.com" }
                }),
            )
            .await;
        r.ok(201).clone()
    }

    pub async fn pool(&self, license: &str) -> Value {
        let r = self.get("/api/v1/licenses").await;
        r.ok(200)["items"].as_array().unwrap().iter().find(|p| p["license"] == license).unwrap().clone()
    }

    pub async fn audit_actions(&self, target: &str) -> Vec<String> {
        let r = self.get(&format!("/api/v1/audit?targetId={target}&limit=200")).await;
        r.ok(200)["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
    }
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// A fixture body from tests/fixtures, with `{{NAME}}` placeholders filled in.
pub fn fixture(path: &str, vars: &[(&str, &str)]) -> Value {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    for (k, v) in vars {
        text = text.replace(&format!("{{{{{k}}}}}"), v);
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters stay).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A response as a [`Reply`]: an empty body is `null`, one that is not JSON a string.
async fn reply(res: reqwest::Response) -> Reply {
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body read");
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    Reply { status, headers, body }
}

/// Whether a gateway started as a child process answers `/healthz` within 10 s.
pub async fn answers(client: &reqwest::Client, base: &str) -> bool {
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

/// A gateway run as a child process (`scimgate serve` in `dir`, configured by the
/// environment alone: `env` plus the bind address; its debug logs are read as they come,
/// so a chatty gateway never blocks on a full pipe). Killed if the test ends without
/// [`Served::stop`].
pub struct Served {
    child: std::process::Child,
    logs: Option<std::thread::JoinHandle<String>>,
    pub client: reqwest::Client,
    /// `http://127.0.0.1:{port}`.
    pub base: String,
}

impl Served {
    /// Starts it and waits until it answers (panics otherwise).
    pub async fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut cmd = scimgate_command();
        cmd.arg("serve").current_dir(dir).env("SCIMGATE__SERVER__BIND", format!("127.0.0.1:{port}"));
        let mut child = cmd
            .envs(env.iter().copied())
            .env("RUST_LOG", "debug")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let logs = std::thread::spawn(move || {
            let mut out = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut out);
            out
        });
        let client = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let served = Served { child, logs: Some(logs), client, base };
        assert!(answers(&served.client, &served.base).await, "the gateway answered on the configured port");
        served
    }

    /// Stops it with SIGTERM (a graceful stop) and returns how it exited and what it logged.
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        let logs = self.logs.take().map(|l| l.join().unwrap_or_default()).unwrap_or_default();
        (exit, logs)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if self.logs.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `scimgate` binary, with no `SCIMGATE__` setting inherited from the test's environment.
pub fn scimgate_command() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_scimgate"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SCIMGATE__") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// The SCIM schema and message URNs the tests write into bodies.
pub mod urn {
    pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    /// scimgate's own User extension.
    pub const EXT: &str = "urn:scimgate:schemas:extension:identity:2.0:User";
    pub const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
}

/// Each of `lines` is a whole line of `text` (e.g. a metric and its value in `/metrics`).
#[track_caller]
pub fn has_lines(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(text.lines().any(|l| l == *line), "missing {line} in\n{text}");
    }
}

/// Runs `statement` in a write transaction of its own connection and returns once it has
/// run: the transaction then holds what it wrote, uncommitted, for `hold`, and commits.
/// Await the handle for the commit. (On SQLite it holds the write lock meanwhile.)
pub async fn written_not_committed(
    db_url: &str,
    statement: String,
    hold: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    let db = scimgate::store::Db::open_with(db_url, 1, 0).unwrap();
    let (written, has_written) = tokio::sync::oneshot::channel();
    let held = tokio::spawn(async move {
        db.write(move |conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query(statement).execute(conn)?;
            let _ = written.send(());
            std::thread::sleep(hold);
            Ok::<_, scimgate::error::ServiceError>(())
        })
        .await
        .unwrap()
    });
    has_written.await.expect("the statement ran in a transaction that is still open");
    held
}
