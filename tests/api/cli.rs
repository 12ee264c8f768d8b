//! The command line: migrate, token create, serve with configuration from the environment.

use std::process::{Command, Stdio};

use reqwest::Method;

use crate::helpers::spawn_app;

fn scimgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimgate"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SCIMGATE__") {
            cmd.env_remove(k);
        }
    }
    cmd
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

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let secret = "cli-bootstrap-secret-value-of-32-chars";
    let child = scimgate()
        .arg("serve")
        .current_dir(dir.path())
        .env("SCIMGATE__DATABASE__URL", &db)
        .env("SCIMGATE__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("SCIMGATE__AUTH__BOOTSTRAP_TOKEN", secret)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    assert!(crate::helpers::answers(&client, &base).await, "the gateway answered on the configured port");
    let r = client.get(format!("{base}/api/v1/licenses")).bearer_auth(secret).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // SIGTERM: a graceful stop with exit code 0.
    unsafe_kill(child.id());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit: {:?}", out.status);
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains("listening"), "{logs}");
    assert!(!logs.contains(secret), "the bootstrap secret never reaches the logs");
    assert!(!dir.path().join("scimgate.db").exists(), "the configured database was used");
}

fn unsafe_kill(pid: u32) {
    let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());
}
