//! HTTPS (`server.tls.*`, issue 16): real TLS on a loopback port with a certificate made in
//! the test, HTTP/2 and HTTP/1.1, both surfaces, the console's Secure cookie and HSTS, and a
//! certificate swapped on disk while a client stays connected.

use std::path::Path;
use std::time::Duration;

use reqwest::{Certificate, Client, Method, Version};
use serde_json::json;

use crate::helpers::{TestApp, spawn_with};

/// A self-signed certificate for localhost and 127.0.0.1, written as PEM files.
fn write_pair(dir: &Path, name: &str) -> (String, String, Vec<u8>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    let (c, k) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c.to_string_lossy().into_owned(), k.to_string_lossy().into_owned(), cert.der().to_vec())
}

fn client(roots: &[&str], http1: bool) -> Client {
    let mut b = Client::builder().redirect(reqwest::redirect::Policy::none()).tls_info(true).use_rustls_tls();
    for pem in roots {
        b = b.add_root_certificate(Certificate::from_pem(std::fs::read(pem).unwrap().as_slice()).unwrap());
    }
    if http1 {
        b = b.http1_only();
    }
    b.build().unwrap()
}

fn https(app: &TestApp, path: &str) -> String {
    format!(
        "{}{path}",
        app.address.replace("http://", "https://localhost:").replace("localhost:127.0.0.1:", "localhost:")
    )
}

fn peer_certificate(res: &reqwest::Response) -> Vec<u8> {
    res.extensions().get::<reqwest::tls::TlsInfo>().and_then(|t| t.peer_certificate()).expect("a TLS peer").to_vec()
}

#[tokio::test]
async fn the_gateway_serves_https_and_swaps_its_certificate_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, first_der) = write_pair(dir.path(), "first");
    let (cert_path, key_path) = (cert.clone(), key.clone());
    let app = spawn_with(move |s| {
        s.server.tls.cert_file = Some(cert_path);
        s.server.tls.key_file = Some(key_path);
        s.server.tls.reload_interval_ms = 50;
    })
    .await;
    let next_dir = tempfile::tempdir().unwrap();
    let (next_cert, next_key, next_der) = write_pair(next_dir.path(), "second");
    let h2 = client(&[&cert, &next_cert], false);
    let h1 = client(&[&cert, &next_cert], true);

    // HTTP/2 by ALPN, HTTP/1.1 when the client offers only that; the certificate is ours.
    let res = h2.get(https(&app, "/readyz")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.version()), (200, Version::HTTP_2));
    assert_eq!(peer_certificate(&res), first_der);
    let res = h1.get(https(&app, "/healthz")).send().await.unwrap();
    assert_eq!((res.status().as_u16(), res.version()), (200, Version::HTTP_11));

    // Both surfaces, with HSTS.
    let body = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "tls-user" });
    let res = h2.post(https(&app, "/scim/v2/Users")).bearer_auth(&app.admin).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("https://localhost:"), "{location}");
    let res = h1
        .request(Method::GET, https(&app, "/api/v1/users?userName=tls-user"))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["items"][0]["userName"], "tls-user");
    // The console's cookies are Secure over TLS.
    let res = h2.get(https(&app, "/setup/sign-in")).send().await.unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    // Plain HTTP to the TLS port gets no answer.
    assert!(reqwest::get(format!("{}/healthz", app.address)).await.is_err());

    // A new pair on disk: reloaded within the poll interval; the connection kept open by
    // the HTTP/2 client keeps working, and new connections see the new certificate.
    let half_written = std::fs::read(&next_key).unwrap();
    std::fs::write(&key, b"-----BEGIN PRIVATE KEY-----\nnot yet\n").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let still = client(&[&cert, &next_cert], false).get(https(&app, "/healthz")).send().await.unwrap();
    assert_eq!(peer_certificate(&still), first_der, "a broken pair keeps the certificate in use");
    std::fs::copy(&next_cert, &cert).unwrap();
    std::fs::write(&key, half_written).unwrap();
    let mut swapped = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let fresh = client(&[&cert, &next_cert], false).get(https(&app, "/healthz")).send().await.unwrap();
        if peer_certificate(&fresh) == next_der {
            swapped = true;
            break;
        }
    }
    assert!(swapped, "the new certificate is served without a restart");
    let res = h2.get(https(&app, "/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200, "the open connection survives the reload");
}

#[tokio::test]
async fn a_bad_certificate_or_key_stops_start_up_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _, _) = write_pair(dir.path(), "one");
    let (_, other_key, _) = write_pair(dir.path(), "two");
    let missing = dir.path().join("missing.crt").to_string_lossy().into_owned();
    let cases: [(Option<String>, Option<String>, &str); 3] = [
        (Some(cert.clone()), Some(other_key), "does not fit"),
        (Some(missing), Some(cert.clone()), "server.tls.cert_file"),
        (Some(cert), None, "go together"),
    ];
    for (cert_file, key_file, expected) in cases {
        let mut settings = scimgate::config::Settings::defaults().unwrap();
        settings.server.bind = "127.0.0.1:0".into();
        settings.database.url = dir.path().join("db.sqlite").to_string_lossy().into_owned();
        settings.auth.bootstrap_token = Some(format!("bootstrap-{}", uuid::Uuid::new_v4()).into());
        settings.server.tls.cert_file = cert_file;
        settings.server.tls.key_file = key_file;
        let error = match scimgate::startup::Application::build(settings).await {
            Ok(_) => panic!("started with a bad TLS pair ({expected})"),
            Err(e) => format!("{e:#}"),
        };
        assert!(error.contains(expected), "{error}");
    }
}
