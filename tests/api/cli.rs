//! The command line: migrate, token create, serve with configuration from the environment.

use std::process::{Command, Stdio};

use reqwest::Method;

use crate::helpers::spawn_app;

fn scimgate() -> Command {
    crate::helpers::scimgate_command()
}

#[tokio::test]
async fn token_create_prints_only_a_working_token() {
    let app = spawn_app().await;
    let out = scimgate()
        .args(["token", "create", "--role", "admin", "--name", "ops"])
        .env("SCIMGATE__DATABASE__URL", &app.db_url)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout holds the token only: {stdout:?}");
    assert!(lines[0].starts_with("sgt_"));
    let r = app.call(Method::GET, "/api/v1/tokens", Some(lines[0]), None).await;
    assert_eq!(r.ok(200)["items"][0]["name"], "ops");

    let bad = scimgate()
        .args(["token", "create", "--role", "registration"])
        .env("SCIMGATE__DATABASE__URL", &app.db_url)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(bad.stdout.is_empty());
}

#[tokio::test]
async fn migrate_then_serve_from_environment_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    let out = scimgate().arg("migrate").env("SCIMGATE__DATABASE__URL", &db).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let secret = "cli-bootstrap-secret-value-of-32-chars";
    let env = [("SCIMGATE__DATABASE__URL", db.as_str()), ("SCIMGATE__AUTH__BOOTSTRAP_TOKEN", secret)];
    let gw = crate::helpers::Served::start(dir.path(), &env).await;
    let (client, base) = (&gw.client, &gw.base);
    let r = client.get(format!("{base}/api/v1/licenses")).bearer_auth(secret).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // SIGTERM: a graceful stop with exit code 0.
    let (status, logs) = gw.stop();
    assert!(status.success(), "exit: {status:?}");
    assert!(logs.contains("listening"), "{logs}");
    assert!(!logs.contains(secret), "the bootstrap secret never reaches the logs");
    assert!(!dir.path().join("scimgate.db").exists(), "the configured database was used");
}

fn unsafe_kill(pid: u32) {
    let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());
}

fn run(args: &[&str], db_url: &str) -> (bool, String, String) {
    let out = scimgate().args(args).env("SCIMGATE__DATABASE__URL", db_url).output().expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs SQL on a test database (SQLite file or PostgreSQL), to break an invariant.
fn execute(db_url: &str, sql: &str) {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    if db_url.starts_with("postgres") {
        diesel::PgConnection::establish(db_url).unwrap().batch_execute(sql).unwrap();
    } else {
        diesel::SqliteConnection::establish(db_url.trim_start_matches("sqlite://"))
            .unwrap()
            .batch_execute(sql)
            .unwrap();
    }
}

#[tokio::test]
async fn migrate_check_tells_deploy_scripts_whether_migrations_are_pending() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fresh.db");
    let fresh = format!("sqlite://{}", file.display());
    // A path with no database is an error, and creates nothing.
    let (ok, _, stderr) = run(&["migrate", "--check"], &fresh);
    assert!(!ok && stderr.contains("no database there"), "{stderr}");
    assert!(!file.exists());
    assert!(run(&["migrate"], &fresh).0);
    let (ok, stdout, _) = run(&["migrate", "--check"], &fresh);
    assert!(ok && stdout.contains("no migration pending"), "{stdout}");
    // The database without its last migration: pending, named, exit 1.
    execute(
        &fresh,
        "DELETE FROM __diesel_schema_migrations WHERE version = (SELECT MAX(version) FROM __diesel_schema_migrations)",
    );
    let (ok, stdout, _) = run(&["migrate", "--check"], &fresh);
    assert!(!ok, "pending migrations exit non-zero");
    assert!(stdout.starts_with("1 migration(s) pending: "), "{stdout}");
    // The test database of this run (SQLite or PostgreSQL), migrated by the gateway.
    let app = spawn_app().await;
    let (ok, stdout, stderr) = run(&["migrate", "--check"], &app.db_url);
    assert!(ok, "{stdout}{stderr}");
}

#[tokio::test]
async fn verify_reports_every_broken_invariant() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let backed = app.backed("v-1", &account, "customer_community").await;
    app.contactless("v-2").await;
    let (ok, stdout, stderr) = run(&["verify"], &app.db_url);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("ok: 2 user(s), 0 group(s); every invariant holds"), "{stdout}");
    // Break two invariants behind the gateway's back.
    execute(&app.db_url, "UPDATE license_pools SET used = used + 3 WHERE license = 'customer_community'");
    let (id, other) = (backed["id"].as_str().unwrap(), app.account("Other").await);
    execute(&app.db_url, &format!("UPDATE users SET account_id = '{other}' WHERE id = '{id}'"));
    let (ok, stdout, _) = run(&["verify"], &app.db_url);
    assert!(!ok, "broken invariants exit non-zero");
    assert!(
        stdout.contains(
            "broken: a license pool's `used` differs from the number of users holding its license (1 row(s))"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("broken: a user's account is not its contact's account (1 row(s))"), "{stdout}");
}

#[tokio::test]
async fn a_backup_under_write_load_restores_every_acknowledged_write() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    let backup_arg = backup.to_string_lossy().into_owned();
    if app.db_url.starts_with("postgres") {
        // PostgreSQL has pg_dump and pg_restore; the command says so rather than guessing.
        let (ok, _, stderr) = run(&["backup", "--to", &backup_arg], &app.db_url);
        assert!(!ok && stderr.contains("pg_dump"), "{stderr}");
        let (ok, _, stderr) = run(&["restore", "--from", &backup_arg], &app.db_url);
        assert!(!ok && stderr.contains("pg_restore"), "{stderr}");
        return;
    }
    // Writers keep creating users; each acknowledged create is noted with its time.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(std::time::Instant, String)>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = vec![];
    for w in 0..4 {
        let (client, address, admin) = (app.client.clone(), app.address.clone(), app.admin.clone());
        let (acked, stop) = (acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let body = serde_json::json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("load-{w}-{i}") });
                let r = client
                    .post(format!("{address}/scim/v2/Users"))
                    .bearer_auth(&admin)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status().as_u16(), 201);
                let id = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
                acked.lock().unwrap().push((std::time::Instant::now(), id));
            }
        }));
    }
    // Until a few creates are acknowledged (a loaded machine may take longer than a fixed
    // sleep would allow).
    let waiting = std::time::Instant::now();
    while acked.lock().unwrap().len() <= 10 && waiting.elapsed() < std::time::Duration::from_secs(60) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let started = std::time::Instant::now();
    let before: Vec<String> =
        acked.lock().unwrap().iter().filter(|(t, _)| *t < started).map(|(_, id)| id.clone()).collect();
    let db_url = app.db_url.clone();
    let arg = backup_arg.clone();
    let (ok, stdout, stderr) =
        tokio::task::spawn_blocking(move || run(&["backup", "--to", &arg], &db_url)).await.unwrap();
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.starts_with("backed up "), "{stdout}");
    // And until one more is acknowledged after the backup began.
    let waiting = std::time::Instant::now();
    while !acked.lock().unwrap().iter().any(|(t, _)| *t >= started)
        && waiting.elapsed() < std::time::Duration::from_secs(60)
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let written_after = acked.lock().unwrap().iter().filter(|(t, _)| *t >= started).count();
    assert!(
        before.len() > 10 && written_after > 0,
        "the load ran before and during the backup ({} / {written_after})",
        before.len()
    );
    // A second backup to the same file is refused without --force.
    let (ok, _, stderr) = run(&["backup", "--to", &backup_arg], &app.db_url);
    assert!(!ok && stderr.contains("--force"), "{stderr}");
    // Restoring over a database a gateway serves is refused, even with --force.
    let (ok, _, stderr) = run(&["restore", "--from", &backup_arg, "--force"], &app.db_url);
    assert!(!ok && stderr.contains("a gateway is serving"), "{stderr}");

    // Restore into a new place; verify; every write acknowledged before the backup is there.
    let restored = format!("sqlite://{}", dir.path().join("restored.db").display());
    let (ok, stdout, stderr) = run(&["restore", "--from", &backup_arg], &restored);
    assert!(ok, "{stdout}{stderr}");
    let (ok, _, stderr) = run(&["restore", "--from", &backup_arg], &restored);
    assert!(!ok && stderr.contains("--force"), "an existing database is not replaced without --force: {stderr}");
    let (ok, stdout, stderr) = run(&["verify"], &restored);
    assert!(ok && stdout.starts_with("ok: "), "{stdout}{stderr}");
    let ids: std::collections::HashSet<String> = {
        use diesel::prelude::*;
        let mut conn = diesel::SqliteConnection::establish(restored.trim_start_matches("sqlite://")).unwrap();
        scimgate::store::schema::users::table
            .select(scimgate::store::schema::users::id)
            .load::<String>(&mut conn)
            .unwrap()
            .into_iter()
            .collect()
    };
    let missing: Vec<&String> = before.iter().filter(|id| !ids.contains(*id)).collect();
    assert!(missing.is_empty(), "acknowledged before the backup, missing from it: {missing:?}");
    // A gateway serves the restored copy.
    let restored_app = crate::helpers::spawn_sibling_with(&app, |s| s.database.url = restored.clone()).await;
    let r = restored_app.get(&format!("/api/v1/users/{}", before[0])).await;
    r.ok(200);
    // Over an existing database (no gateway on it), with --force: the old one is kept aside.
    restored_app.handle.stop().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (ok, stdout, stderr) = run(&["restore", "--from", &backup_arg, "--force"], &restored);
    assert!(ok, "{stdout}{stderr}");
    assert!(dir.path().join("restored.db.pre-restore").exists(), "the replaced database is kept aside");
    // While a restore holds the database, a gateway refuses to start on it.
    let restoring = scimgate::store::maintenance::lock_for_restore(restored.trim_start_matches("sqlite://")).unwrap();
    let mut settings = scimgate::config::Settings::defaults().unwrap();
    settings.server.bind = "127.0.0.1:0".into();
    settings.database.url = restored.clone();
    settings.auth.bootstrap_token = Some(app.admin.clone().into());
    let refused = scimgate::startup::Application::build(settings).await.err().map(|e| format!("{e:#}"));
    assert!(refused.as_deref().is_some_and(|e| e.contains("a restore is replacing")), "{refused:?}");
    drop(restoring);
    // Not a database: refused.
    std::fs::write(dir.path().join("junk.db"), b"not a database").unwrap();
    let junk = dir.path().join("junk.db").to_string_lossy().into_owned();
    let other = format!("sqlite://{}", dir.path().join("other.db").display());
    let (ok, _, _) = run(&["restore", "--from", &junk], &other);
    assert!(!ok);
}

/// `scimgate serve` with TLS from the environment; SIGHUP reloads the certificate.
#[tokio::test]
async fn serve_over_tls_reloads_its_certificate_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let pair = |name: &str| {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
        std::fs::write(dir.path().join(format!("{name}.crt")), cert.pem()).unwrap();
        std::fs::write(dir.path().join(format!("{name}.key")), key.serialize_pem()).unwrap();
        cert.der().to_vec()
    };
    let (first, second) = (pair("first"), pair("second"));
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::copy(dir.path().join("first.crt"), &cert).unwrap();
    std::fs::copy(dir.path().join("first.key"), &key).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = scimgate()
        .arg("serve")
        .current_dir(dir.path())
        .env("SCIMGATE__DATABASE__URL", format!("sqlite://{}", dir.path().join("tls.db").display()))
        .env("SCIMGATE__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("SCIMGATE__SERVER__TLS__CERT_FILE", &cert)
        .env("SCIMGATE__SERVER__TLS__KEY_FILE", &key)
        // Polling off (an hour): only the signal reloads.
        .env("SCIMGATE__SERVER__TLS__RELOAD_INTERVAL_MS", "3600000")
        .env("SCIMGATE__AUTH__BOOTSTRAP_TOKEN", "cli-bootstrap-secret-value-of-32-chars")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = || {
        let mut b = reqwest::Client::builder().tls_info(true).use_rustls_tls();
        for name in ["first", "second"] {
            let pem = std::fs::read(dir.path().join(format!("{name}.crt"))).unwrap();
            b = b.add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap());
        }
        b.build().unwrap()
    };
    let url = format!("https://localhost:{port}/readyz");
    let presented = || async {
        let r = client().get(&url).send().await.ok()?;
        r.extensions().get::<reqwest::tls::TlsInfo>().and_then(|t| t.peer_certificate()).map(<[u8]>::to_vec)
    };
    let mut up = None;
    for _ in 0..150 {
        up = presented().await;
        if up.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(up.as_deref(), Some(first.as_slice()), "serves HTTPS with the first certificate");
    std::fs::copy(dir.path().join("second.crt"), &cert).unwrap();
    std::fs::copy(dir.path().join("second.key"), &key).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(presented().await.as_deref(), Some(first.as_slice()), "no reload without the signal");
    let hup = Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap();
    assert!(hup.success());
    let mut now = None;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        now = presented().await;
        if now.as_deref() == Some(second.as_slice()) {
            break;
        }
    }
    assert_eq!(now.as_deref(), Some(second.as_slice()), "SIGHUP reloaded the certificate");
    unsafe_kill(child.id());
    assert!(child.wait().unwrap().success());
}
