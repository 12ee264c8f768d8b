//! Issue 12: no single client can stall, exhaust or escape the gateway. Stricter input,
//! consistent error bodies, authorization before the body, slow bodies.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::urn::{GROUP, USER};
use crate::helpers::{TestApp, spawn_app, spawn_with, written_not_committed};

#[tokio::test]
async fn a_resource_body_must_name_its_core_schema() {
    let app = spawn_app().await;
    let admin = Some(app.admin.as_str());
    let bad_users = [
        json!({ "userName": "nos" }),
        json!({ "schemas": USER, "userName": "str" }),
        json!({ "schemas": ["urn:example:unknown"], "userName": "unk" }),
        json!({ "schemas": [GROUP], "userName": "grp" }),
        json!({ "schemas": [USER, 7], "userName": "num" }),
    ];
    for body in &bad_users {
        app.scim_raw(Method::POST, "/Users", admin, Some(body.clone())).await.scim_error(400, Some("invalidSyntax"));
    }
    let ok = app.scim_raw(
        Method::POST,
        "/Users",
        admin,
        Some(json!({ "schemas": [USER.to_uppercase()], "userName": "fine" })),
    );
    let uid = ok.await.ok(201)["id"].as_str().unwrap().to_owned();
    for body in &bad_users {
        app.scim_raw(Method::PUT, &format!("/Users/{uid}"), admin, Some(body.clone()))
            .await
            .scim_error(400, Some("invalidSyntax"));
    }
    for body in [
        json!({ "displayName": "g" }),
        json!({ "schemas": GROUP, "displayName": "g" }),
        json!({ "schemas": [USER], "displayName": "g" }),
    ] {
        app.scim_raw(Method::POST, "/Groups", admin, Some(body)).await.scim_error(400, Some("invalidSyntax"));
    }
    // Bulk creates pass the same check.
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{ "method": "POST", "path": "/Users", "bulkId": "a", "data": { "schemas": "x", "userName": "b1" } }]
    });
    let r = app.scim_raw(Method::POST, "/Bulk", admin, Some(bulk)).await;
    assert_eq!(r.ok(200)["Operations"][0]["status"], "400", "{}", r.body);
    assert_eq!(r.body["Operations"][0]["response"]["scimType"], "invalidSyntax");
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let app = spawn_app().await;
    let other = app.token("scim", &[], None).await;
    for (path, scim) in [("/api/v1/users", false), ("/scim/v2/Users", true), ("/api/v1/session", false)] {
        let r = app
            .client
            .get(format!("{}{path}", app.address))
            .header("authorization", format!("Bearer {}", app.admin))
            .header("authorization", format!("Bearer {other}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{path}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        let body: serde_json::Value = r.json().await.unwrap();
        if scim {
            assert!(ct.starts_with("application/scim+json"), "{ct}");
            assert_eq!(body["status"], "400");
        } else {
            assert!(ct.starts_with("application/problem+json"), "{ct}");
            assert_eq!(body["code"], "validation_failed");
        }
    }
}

#[tokio::test]
async fn every_error_carries_its_surface_body_and_a_405_its_allow_header() {
    let app = spawn_app().await;
    for (method, path) in
        [("TRACE", "/healthz"), ("PATCH", "/healthz"), ("DELETE", "/readyz"), ("POST", "/openapi/native.json")]
    {
        let r = app
            .client
            .request(Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405, "{method} {path}");
        assert!(r.headers()["allow"].to_str().unwrap().contains("GET"), "{method} {path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "method_not_allowed", "{method} {path}");
    }
    let r = app.call(Method::PUT, "/api/v1/tokens", Some(&app.admin), None).await;
    r.problem(405, "method_not_allowed");
    assert!(r.headers["allow"].to_str().unwrap().contains("POST"));
    let r = app.scim_raw(Method::DELETE, "/ServiceProviderConfig", Some(&app.admin), None).await;
    r.scim_error(405, None);
    assert_eq!(r.headers["allow"], "GET");
}

#[tokio::test]
async fn a_role_that_may_not_use_an_endpoint_gets_403_whatever_it_sends() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let delegated = app.token("delegated_admin", &[&account], None).await;
    let scim = app.token("scim", &[], None).await;
    for token in [&delegated, &scim] {
        // A body with an unknown field, a body that is not JSON, a bad query: still 403.
        let r = app.call(Method::POST, "/api/v1/tokens", Some(token), Some(json!({ "nope": 1 }))).await;
        r.problem(403, "forbidden");
        let r = app
            .client
            .post(format!("{}/api/v1/accounts", app.address))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403);
        let r = app.call(Method::GET, "/api/v1/audit?limit=banana", Some(token), None).await;
        r.problem(403, "forbidden");
    }
    // Without a token: 401 before the body is judged.
    let r = app.call(Method::POST, "/api/v1/tokens", None, Some(json!({ "nope": 1 }))).await;
    r.problem(401, "unauthorized");
}

/// Sends a request head announcing `len` body bytes and then nothing more; returns the
/// status line and how long the answer took.
async fn stalled_body(address: &str, head: &str, len: usize) -> (String, Duration) {
    let host = address.trim_start_matches("http://");
    let mut s = TcpStream::connect(host).await.unwrap();
    let started = Instant::now();
    s.write_all(format!("{head}\r\nHost: {host}\r\nContent-Length: {len}\r\n\r\n{{").as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(20), s.read(&mut buf)).await.expect("an answer").unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).to_string();
    (text.lines().next().unwrap_or("").to_owned(), started.elapsed())
}

#[tokio::test]
async fn slow_bodies_time_out_and_the_console_checks_the_session_first() {
    let app = spawn_with(|s| s.server.body_timeout_ms = 800).await;
    // The console refuses a POST without a session before reading its (never sent) body.
    let (status, took) = stalled_body(&app.address, "POST /setup/users/x/active HTTP/1.1", 1000).await;
    assert!(status.contains(" 303 ") || status.contains(" 401 "), "{status}");
    assert!(took < Duration::from_millis(600), "answered before the body deadline: {took:?}");
    // The sign-in form (no session by design) waits for its body only as long as allowed.
    let (status, took) = stalled_body(&app.address, "POST /setup/sign-in HTTP/1.1", 1000).await;
    assert!(status.contains(" 408 "), "{status}");
    assert!(took >= Duration::from_millis(700) && took < Duration::from_secs(5), "{took:?}");
    // SCIM and native bodies too.
    let auth = format!("Authorization: Bearer {}\r\nContent-Type: application/scim+json", app.admin);
    let (status, took) = stalled_body(&app.address, &format!("POST /scim/v2/Users HTTP/1.1\r\n{auth}"), 1000).await;
    assert!(status.contains(" 408 "), "{status}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let auth = format!("Authorization: Bearer {}\r\nContent-Type: application/json", app.admin);
    let (status, _) = stalled_body(&app.address, &format!("POST /api/v1/accounts HTTP/1.1\r\n{auth}"), 1000).await;
    assert!(status.contains(" 408 "), "{status}");
    // An unauthenticated native POST is answered 401 without waiting for its body.
    let (status, took) =
        stalled_body(&app.address, "POST /api/v1/accounts HTTP/1.1\r\nContent-Type: application/json", 1000).await;
    assert!(status.contains(" 401 "), "{status}");
    assert!(took < Duration::from_millis(600), "{took:?}");
}

#[tokio::test]
async fn webhooks_cannot_target_special_purpose_addresses() {
    let app = spawn_app().await;
    for host in [
        "192.0.0.192",
        "198.18.0.1",
        "[2002:a00:1::1]",
        "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
        "[64:ff9b:1::a00:1]",
        "[::ffff:0:0]",
    ] {
        let r = app.post("/api/v1/webhooks", json!({ "url": format!("http://{host}/hook"), "events": ["*"] })).await;
        r.problem(422, "webhook_url_refused");
    }
}

#[tokio::test]
async fn resources_are_held_to_size_limits_on_every_write_path() {
    let app = spawn_with(|s| {
        s.limits.max_string_bytes = 1000;
        s.limits.max_values = 3;
        s.limits.max_resource_bytes = 4000;
        s.limits.max_patch_operations = 4;
        s.limits.max_members_per_request = 2;
    })
    .await;
    let admin = Some(app.admin.as_str());
    let long = "x".repeat(1001);
    let emails = |n: usize| (0..n).map(|i| json!({ "value": format!("e{i}@example.com") })).collect::<Vec<_>>();
    // POST
    app.scim(Method::POST, "/Users", admin, Some(json!({ "userName": "a", "title": long })))
        .await
        .scim_error(400, Some("invalidValue"));
    app.scim(Method::POST, "/Users", admin, Some(json!({ "userName": "a", "emails": emails(4) })))
        .await
        .scim_error(400, Some("invalidValue"));
    let many = json!({ "userName": "a", "title": "t".repeat(900), "nickName": "n".repeat(900), "profileUrl": "p".repeat(900),
        "locale": "l".repeat(900), "timezone": "z".repeat(900) });
    app.scim(Method::POST, "/Users", admin, Some(many.clone())).await.scim_error(413, None);
    let r = app.scim(Method::POST, "/Users", admin, Some(json!({ "userName": "a", "emails": emails(3) }))).await;
    let uid = r.ok(201)["id"].as_str().unwrap().to_owned();
    // PUT
    app.scim(Method::PUT, &format!("/Users/{uid}"), admin, Some(many)).await.scim_error(413, None);
    // PATCH: the result is held to the limits, and the operations are counted.
    let patch = |ops: Vec<serde_json::Value>| json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops });
    let add_email = json!({ "op": "add", "path": "emails", "value": [{ "value": "four@example.com" }] });
    app.scim(Method::PATCH, &format!("/Users/{uid}"), admin, Some(patch(vec![add_email])))
        .await
        .scim_error(400, Some("invalidValue"));
    let grow: Vec<_> = ["title", "nickName", "profileUrl", "locale"]
        .iter()
        .map(|a| json!({ "op": "replace", "path": a, "value": "v".repeat(990) }))
        .collect();
    app.scim(Method::PATCH, &format!("/Users/{uid}"), admin, Some(patch(grow))).await.scim_error(413, None);
    let five: Vec<_> = (0..5).map(|i| json!({ "op": "replace", "path": "title", "value": format!("t{i}") })).collect();
    app.scim(Method::PATCH, &format!("/Users/{uid}"), admin, Some(patch(five))).await.scim_error(400, Some("tooMany"));
    // Bulk goes through the same operations.
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{ "method": "POST", "path": "/Users", "bulkId": "b", "data": { "schemas": [USER], "userName": "b", "title": long } }]
    });
    let r = app.scim(Method::POST, "/Bulk", admin, Some(bulk)).await;
    assert_eq!(r.ok(200)["Operations"][0]["status"], "400", "{}", r.body);
    // Members changed per request.
    let mut ids = vec![];
    for n in 0..3 {
        let r = app.scim(Method::POST, "/Users", admin, Some(json!({ "userName": format!("m{n}") }))).await;
        ids.push(r.ok(201)["id"].as_str().unwrap().to_owned());
    }
    let members = |ids: &[String]| ids.iter().map(|i| json!({ "value": i })).collect::<Vec<_>>();
    app.scim(Method::POST, "/Groups", admin, Some(json!({ "displayName": "g", "members": members(&ids) })))
        .await
        .scim_error(400, Some("tooMany"));
    let r = app
        .scim(Method::POST, "/Groups", admin, Some(json!({ "displayName": "g", "members": members(&ids[..2]) })))
        .await;
    let gid = r.ok(201)["id"].as_str().unwrap().to_owned();
    // Replacing {0,1} by {2} changes three memberships.
    let replace = json!({ "op": "replace", "path": "members", "value": members(&ids[2..]) });
    app.scim(Method::PATCH, &format!("/Groups/{gid}"), admin, Some(patch(vec![replace])))
        .await
        .scim_error(400, Some("tooMany"));
    let add = json!({ "op": "add", "path": "members", "value": members(&ids[2..]) });
    app.scim(Method::PATCH, &format!("/Groups/{gid}"), admin, Some(patch(vec![add]))).await.ok(200);
    // ServiceProviderConfig stays to its schema (strict clients refuse extra attributes).
    let spc = app.scim(Method::GET, "/ServiceProviderConfig", admin, None).await;
    assert!(spc.ok(200).as_object().unwrap().keys().all(|k| !k.starts_with("urn:scimgate")), "{}", spc.body);
}

#[tokio::test]
async fn a_list_answer_ends_early_at_its_byte_budget_and_says_so() {
    let app = spawn_with(|s| s.limits.max_list_bytes = 7_000).await;
    let admin = Some(app.admin.as_str());
    for n in 0..10 {
        let body = json!({ "userName": format!("big{n:02}"), "title": "t".repeat(3000) });
        app.scim(Method::POST, "/Users", admin, Some(body)).await.ok(201);
    }
    // Store path (indexed filter) and in-memory path (title is not indexed), with a sort.
    for filter in ["userName sw \"big\"", "title sw \"ttt\""] {
        let mut seen = vec![];
        let mut start = 1;
        loop {
            let path = format!("/Users?filter={}&count=10&startIndex={start}", crate::helpers::urlencode(filter));
            let r = app.scim(Method::GET, &path, admin, None).await;
            let body = r.ok(200).clone();
            assert_eq!(body["totalResults"], 10, "{filter}");
            let items = body["Resources"].as_array().map(Vec::len).unwrap_or(0);
            assert_eq!(body["itemsPerPage"], items, "itemsPerPage tells the truth");
            assert!((1..=2).contains(&items) || start > 10, "{filter}: {items} resources of ~3 KB in a 7 KB budget");
            seen.extend(
                body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().to_owned()),
            );
            start += items;
            if items == 0 || start > 10 {
                break;
            }
        }
        let want: Vec<String> = (0..10).map(|n| format!("big{n:02}")).collect();
        seen.sort();
        assert_eq!(seen, want, "{filter}: paging by itemsPerPage reaches every resource once");
    }
    // A sort in memory holds a few budgets at most, then the request is refused.
    let path = format!("/Users?filter={}&sortBy=title", crate::helpers::urlencode("title sw \"ttt\""));
    app.scim(Method::GET, &path, admin, None).await.scim_error(400, Some("tooMany"));
}

/// Inserts `n` contactless users straight into the database (a directory at scale in a
/// second), named `bulk-<i>@example.com`.
pub async fn insert_users(db_url: &str, n: u32) {
    use diesel::RunQueryDsl;
    let db = scimgate::store::Db::open_with(db_url, 1, 0).unwrap();
    // The same statement on both backends.
    let sql = format!(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) \
         INSERT INTO users (id, user_name, user_name_folded, active, license, origin, created_at, updated_at, version) \
         SELECT 'u' || i, 'bulk-' || i || '@example.com', 'bulk-' || i || '@example.com', TRUE, 'external_identity', \
         'native', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1 FROM s"
    );
    db.write(move |conn| {
        diesel::sql_query(sql).execute(conn)?;
        Ok::<_, scimgate::error::ServiceError>(())
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_filter_is_bounded_in_scanning_terms_and_in_time() {
    let q = |f: &str| format!("/Users?filter={}&count=1", crate::helpers::urlencode(f));
    // Terms that read every row are counted: four pass, five are refused before any SQL runs.
    let app = spawn_app().await;
    let admin = Some(app.admin.as_str());
    let four = "userName co \"a\" or userName ew \"b\" or displayName co \"c\" or emails.value co \"d\"";
    app.scim(Method::GET, &q(four), admin, None).await.ok(200);
    let five = format!("{four} or not (userName eq \"e\")");
    let r = app.scim(Method::GET, &q(&five), admin, None).await;
    r.scim_error(400, Some("tooMany"));
    assert!(r.body["detail"].as_str().unwrap().contains("at most 4"), "{}", r.body);
    // A scan that runs past database.statement_timeout_ms is stopped: 400 tooMany, not an
    // answer that took seconds (nor a partial one). Four substring terms over 200 000 users
    // take well over 20 ms on either backend; an index lookup well under.
    let app = spawn_with(|s| s.database.statement_timeout_ms = 20).await;
    let admin = Some(app.admin.as_str());
    insert_users(&app.db_url, 200_000).await;
    let costly = "userName co \"zz1\" or userName co \"zz2\" or userName co \"zz3\" or userName co \"zz4\"";
    let r = app.scim(Method::GET, &q(costly), admin, None).await;
    r.scim_error(400, Some("tooMany"));
    assert!(r.body["detail"].as_str().unwrap().contains("statement time limit"), "{}", r.body);
    let r = app.scim(Method::GET, &q("userName eq \"bulk-77@example.com\""), admin, None).await;
    assert_eq!(r.ok(200)["totalResults"], 1);
}

#[tokio::test]
async fn a_confined_scim_token_reaches_only_its_accounts() {
    let app = spawn_app().await;
    let (acme, beta) = (app.account("Acme").await, app.account("Beta").await);
    let ext = "urn:scimgate:schemas:extension:identity:2.0:User";
    let a_user = id_of(&app.backed("a@acme.example", &acme, "customer_community").await);
    let b_user = id_of(&app.backed("b@beta.example", &beta, "customer_community").await);
    let shopper = id_of(&app.contactless("shopper@example.com").await);
    let confined = app.token("scim", &[&acme], None).await;
    let open = app.token("scim", &[], None).await;
    let t = Some(confined.as_str());
    // Reads, lists and filters see Acme only; the rest does not exist (404).
    let r = app.scim(Method::GET, "/Users", t, None).await;
    assert_eq!(r.ok(200)["totalResults"], 1, "{}", r.body);
    assert_eq!(r.body["Resources"][0]["id"], a_user.as_str());
    let by_name = format!("/Users?filter={}", crate::helpers::urlencode("userName eq \"b@beta.example\""));
    assert_eq!(app.scim(Method::GET, &by_name, t, None).await.ok(200)["totalResults"], 0);
    let scan = format!("/Users?filter={}", crate::helpers::urlencode("title pr or userName co \"@\""));
    assert_eq!(app.scim(Method::GET, &scan, t, None).await.ok(200)["totalResults"], 1);
    for other in [&b_user, &shopper] {
        let path = format!("/Users/{other}");
        app.scim(Method::GET, &path, t, None).await.scim_error(404, None);
        let patch = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "path": "active", "value": false }] });
        app.scim(Method::PATCH, &path, t, Some(patch)).await.scim_error(404, None);
        app.scim(Method::PUT, &path, t, Some(json!({ "userName": "taken@over" }))).await.scim_error(404, None);
        app.scim(Method::DELETE, &path, t, None).await.scim_error(404, None);
    }
    // An unconfined token keeps today's reach: every account and the contactless user.
    let r = app.scim(Method::GET, "/Users", Some(&open), None).await;
    assert_eq!(r.ok(200)["totalResults"], 3);
    app.scim(Method::GET, &format!("/Users/{shopper}"), Some(&open), None).await.ok(200);
    // Creates go to the token's account; another account is refused.
    let r = app.scim(Method::POST, "/Users", t, Some(json!({ "userName": "new@acme.example" }))).await;
    let created = id_of(r.ok(201));
    assert_eq!(app.identity(&created).await["accountId"], acme.as_str());
    let elsewhere = json!({ "userName": "new@beta.example", ext: { "accountId": beta } });
    app.scim(Method::POST, "/Users", t, Some(elsewhere)).await.scim_error(403, None);
    // Groups: a confined token's groups are its account's; it sees no other group, adds
    // only members it sees, and what an admin added beyond its accounts stays hidden and kept.
    let admin = Some(app.admin.as_str());
    let r = app
        .scim(
            Method::POST,
            "/Groups",
            admin,
            Some(json!({ "displayName": "Everyone", "members": [{ "value": a_user }] })),
        )
        .await;
    let everyone = id_of(r.ok(201));
    let r = app.scim(Method::GET, "/Groups", t, None).await;
    assert_eq!(r.ok(200)["totalResults"], 0, "{}", r.body);
    app.scim(Method::GET, &format!("/Groups/{everyone}"), t, None).await.scim_error(404, None);
    let r = app.scim(Method::GET, &format!("/Users/{a_user}"), t, None).await;
    assert!(r.ok(200).get("groups").is_none(), "the unconfined group is not shown: {}", r.body);
    let members = |ids: &[&str]| ids.iter().map(|i| json!({ "value": i })).collect::<Vec<_>>();
    let r = app
        .scim(Method::POST, "/Groups", t, Some(json!({ "displayName": "Acme staff", "members": members(&[&b_user]) })))
        .await;
    r.scim_error(400, Some("invalidValue"));
    let r = app
        .scim(Method::POST, "/Groups", t, Some(json!({ "displayName": "Acme staff", "members": members(&[&a_user]) })))
        .await;
    let staff = id_of(r.ok(201));
    let add_b = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "add", "path": "members", "value": [{ "value": b_user }] }] });
    app.scim(Method::PATCH, &format!("/Groups/{staff}"), admin, Some(add_b)).await.ok(200);
    let r = app.scim(Method::GET, &format!("/Groups/{staff}"), t, None).await;
    assert_eq!(r.ok(200)["members"].as_array().unwrap().len(), 1, "{}", r.body);
    let rename = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "path": "displayName", "value": "Acme team" }] });
    app.scim(Method::PATCH, &format!("/Groups/{staff}"), t, Some(rename)).await.ok(200);
    app.scim(
        Method::PUT,
        &format!("/Groups/{staff}"),
        t,
        Some(json!({ "displayName": "Acme team", "members": members(&[&a_user]) })),
    )
    .await
    .ok(200);
    let r = app.scim(Method::GET, &format!("/Groups/{staff}"), admin, None).await;
    assert_eq!(r.ok(200)["members"].as_array().unwrap().len(), 2, "the hidden member is kept: {}", r.body);
    // /Schemas names only the token's accounts.
    let r = app.scim(Method::GET, &format!("/Schemas/{ext}"), t, None).await;
    let attrs = r.ok(200)["attributes"].as_array().unwrap();
    let account = attrs.iter().find(|a| a["name"] == "accountId").unwrap();
    assert_eq!(account["canonicalValues"], json!([acme]));
    // Bulk goes through the same rules.
    let bulk = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{ "method": "DELETE", "path": format!("/Users/{b_user}") }] });
    let r = app.scim(Method::POST, "/Bulk", t, Some(bulk)).await;
    assert_eq!(r.ok(200)["Operations"][0]["status"], "404", "{}", r.body);
    // A token may be confined to several accounts: its first receives its contacts.
    let both = app.token("scim", &[&beta, &acme], None).await;
    let r = app.scim(Method::GET, "/Users", Some(&both), None).await;
    assert_eq!(r.ok(200)["totalResults"], 3);
    let r = app.scim(Method::POST, "/Users", Some(&both), Some(json!({ "userName": "two@beta.example" }))).await;
    assert_eq!(app.identity(&id_of(r.ok(201))).await["accountId"], beta.as_str());
}

fn id_of(v: &serde_json::Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn failed_authentications_are_throttled_per_address_and_known_tokens_still_pass() {
    let app = spawn_with(|s| {
        s.rate.failed_auth_per_minute = 60;
        s.rate.failed_auth_burst = 3;
    })
    .await;
    let scim = app.token("scim", &[], None).await;
    // A valid token used once is known to this gateway.
    app.scim(Method::GET, "/Users", Some(&scim), None).await.ok(200);
    for n in 0..3 {
        app.call(Method::GET, "/api/v1/users", Some(&format!("sgt_guess{n}")), None).await.problem(401, "unauthorized");
    }
    let r = app.call(Method::GET, "/api/v1/users", Some("sgt_guess3"), None).await;
    r.problem(429, "rate_limited");
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let r = app.scim(Method::GET, "/Users", Some("sgt_guess4"), None).await;
    r.scim_error(429, None);
    assert!(r.headers.contains_key("retry-after"));
    // Spoofed X-Forwarded-For from an untrusted peer changes nothing.
    let r = app
        .client
        .get(format!("{}/api/v1/users", app.address))
        .bearer_auth("sgt_guess5")
        .header("x-forwarded-for", "203.0.113.77")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    // The known token and the bootstrap secret still pass from the same address.
    app.scim(Method::GET, "/Users", Some(&scim), None).await.ok(200);
    app.get("/api/v1/users").await.ok(200);
    let r = app.client.get(format!("{}/metrics", app.address)).bearer_auth(&app.admin).send().await.unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains("scimgate_throttled_requests_total{reason=\"failed_auth\"}"), "{text}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
    let app = spawn_with(|s| {
        s.rate.failed_auth_per_minute = 60;
        s.rate.failed_auth_burst = 2;
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let guess = |from: &'static str| {
        app.client
            .get(format!("{}/scim/v2/Users", app.address))
            .bearer_auth("sgt_guess")
            .header("x-forwarded-for", format!("{from}, 127.0.0.1"))
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "idp-facing.example")
            .send()
    };
    for _ in 0..2 {
        assert_eq!(guess("198.51.100.1").await.unwrap().status().as_u16(), 401);
    }
    assert_eq!(guess("198.51.100.1").await.unwrap().status().as_u16(), 429);
    assert_eq!(guess("198.51.100.2").await.unwrap().status().as_u16(), 401, "another client has its own allowance");
    // meta.location follows the trusted proxy's scheme and host...
    let location = created_forwarded(&app, "idp-facing.example").await;
    assert!(location.starts_with("https://idp-facing.example/scim/v2/Users/"), "{location}");
    // ...and an untrusted peer's headers are ignored.
    let plain = spawn_app().await;
    let location = created_forwarded(&plain, "evil.example").await;
    assert!(location.starts_with(&format!("{}/scim/v2/Users/", plain.address)), "{location}");
    // server.public_url wins over everything.
    let fixed = spawn_with(|s| s.server.public_url = Some("https://scim.example.com".into())).await;
    let r = fixed.scim(Method::POST, "/Users", Some(&fixed.admin), Some(json!({ "userName": "loc" }))).await;
    assert!(r.ok(201)["meta"]["location"].as_str().unwrap().starts_with("https://scim.example.com/scim/v2/Users/"));
}

/// The `Location` of a user created over SCIM with `X-Forwarded-Proto: https` and
/// `X-Forwarded-Host: host`.
async fn created_forwarded(app: &TestApp, host: &str) -> String {
    let r = app
        .client
        .post(format!("{}/scim/v2/Users", app.address))
        .bearer_auth(&app.admin)
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", host)
        .header("content-type", "application/scim+json")
        .body(json!({ "schemas": [USER], "userName": "loc" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    r.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn tokens_have_request_quotas() {
    let app = spawn_with(|s| s.rate.token_requests_per_minute = 3).await;
    let limited = app.token("scim", &[], None).await;
    for _ in 0..3 {
        app.scim(Method::GET, "/ServiceProviderConfig", Some(&limited), None).await.ok(200);
    }
    let r = app.scim(Method::GET, "/ServiceProviderConfig", Some(&limited), None).await;
    r.scim_error(429, None);
    assert!(r.headers.contains_key("retry-after"));
    // A token's own quota replaces the default; 0 lifts it.
    let r = app.post("/api/v1/tokens", json!({ "name": "bulk idp", "role": "scim", "requestsPerMinute": 0 })).await;
    let unlimited = r.ok(201)["token"].as_str().unwrap().to_owned();
    for _ in 0..6 {
        app.scim(Method::GET, "/ServiceProviderConfig", Some(&unlimited), None).await.ok(200);
    }
    let listed = app.get("/api/v1/tokens").await;
    assert!(listed.ok(200)["items"].as_array().unwrap().iter().any(|t| t["requestsPerMinute"] == 0));
    // The bootstrap secret has no quota.
    for _ in 0..5 {
        app.get("/api/v1/tokens").await.ok(200);
    }
}

#[tokio::test]
async fn a_short_bootstrap_secret_is_refused_at_start() {
    let mut settings = scimgate::config::Settings::defaults().unwrap();
    settings.server.bind = "127.0.0.1:0".into();
    let dir = tempfile::tempdir().unwrap();
    settings.database.url = dir.path().join("s.db").to_string_lossy().into_owned();
    settings.auth.bootstrap_token = Some("too-short-secret".to_owned().into());
    let e = scimgate::startup::Application::build(settings).await.err().expect("refused");
    let text = e.to_string();
    assert!(text.contains("at least 32") && !text.contains("too-short-secret"), "{text}");
}

/// Starts a login-as session for `user` with `token`; its session token and id.
async fn login_as(app: &crate::helpers::TestApp, token: &str, user: &str) -> (String, String) {
    let r = app.call(Method::POST, &format!("/api/v1/users/{user}/login-as"), Some(token), Some(json!({}))).await;
    let secret = r.ok(201)["sessionToken"].as_str().unwrap().to_owned();
    let r = app.call(Method::GET, "/api/v1/session", Some(&secret), None).await;
    let session_id = r.ok(200)["sessionId"].as_str().unwrap().to_owned();
    (secret, session_id)
}

#[tokio::test]
async fn login_as_sessions_end_when_their_authority_ends() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let r = app.post("/api/v1/tokens", json!({ "name": "helpdesk", "role": "admin" })).await;
    let helpdesk = r.ok(201)["token"].as_str().unwrap().to_owned();
    let helpdesk_id = r.body["id"].as_str().unwrap().to_owned();
    let user = id_of(&app.backed("someone@acme.example", &acme, "customer_community").await);
    // 1. Revoking the token that started a session ends the session.
    let (secret, _) = login_as(&app, &helpdesk, &user).await;
    app.delete(&format!("/api/v1/tokens/{helpdesk_id}")).await;
    app.call(Method::GET, "/api/v1/session", Some(&secret), None).await.problem(401, "unauthorized");
    // 2. An admin can end one session by its id.
    let (secret, session_id) = login_as(&app, &app.admin, &user).await;
    let r = app.delete(&format!("/api/v1/sessions/{session_id}")).await;
    assert_eq!(r.status.as_u16(), 204);
    app.call(Method::GET, "/api/v1/session", Some(&secret), None).await.problem(401, "unauthorized");
    app.delete(&format!("/api/v1/sessions/{session_id}")).await.problem(404, "not_found");
    assert!(app.audit_actions(&session_id).await.contains(&"user.login_as_revoked".to_string()));
    // ...and only an admin.
    let delegated = app.token("delegated_admin", &[&acme], None).await;
    let (_, other) = login_as(&app, &app.admin, &user).await;
    app.call(Method::DELETE, &format!("/api/v1/sessions/{other}"), Some(&delegated), None)
        .await
        .problem(403, "forbidden");
    // 3. Downgrading the user to contactless ends its sessions (Login As needs a contact).
    let (secret, _) = login_as(&app, &app.admin, &user).await;
    app.post(&format!("/api/v1/users/{user}/downgrade"), json!({})).await.ok(200);
    app.call(Method::GET, "/api/v1/session", Some(&secret), None).await.problem(401, "unauthorized");
}

#[tokio::test]
async fn a_revocation_is_not_undone_by_a_lookup_that_raced_it() {
    // Many lookups of a token race its revocation on the same instance; once the revoke
    // has answered, the token is refused, whatever the lookups put in the cache.
    let app = spawn_with(|s| {
        s.auth.token_cache_seconds = 300;
        s.rate.failed_auth_per_minute = 0;
    })
    .await;
    for round in 0..10 {
        let r = app.post("/api/v1/tokens", json!({ "name": format!("racer {round}"), "role": "scim" })).await;
        let (secret, token_id) =
            (r.ok(201)["token"].as_str().unwrap().to_owned(), r.body["id"].as_str().unwrap().to_owned());
        let lookups = (0..16).map(|_| app.scim(Method::GET, "/ServiceProviderConfig", Some(&secret), None));
        let path = format!("/api/v1/tokens/{token_id}");
        let revoke = app.delete(&path);
        let (revoked, _) = tokio::join!(revoke, futures::future::join_all(lookups));
        assert_eq!(revoked.status.as_u16(), 204);
        app.scim(Method::GET, "/ServiceProviderConfig", Some(&secret), None).await.scim_error(401, None);
    }
}

/// Runs SQL statements on the test's database.
async fn sql(db_url: &str, statements: Vec<String>) {
    use diesel::RunQueryDsl;
    let db = scimgate::store::Db::open_with(db_url, 1, 0).unwrap();
    db.write(move |conn| {
        for s in &statements {
            diesel::sql_query(s).execute(conn)?;
        }
        Ok::<_, scimgate::error::ServiceError>(())
    })
    .await
    .unwrap();
}

/// A subscription (paused or not) with one event and its delivery `delivery`, in `status`
/// after `attempts`, next due at `next_attempt_at`.
fn one_delivery(
    sub: &str,
    paused: bool,
    delivery: &str,
    status: &str,
    attempts: i64,
    next_attempt_at: &str,
) -> Vec<String> {
    let old = "2020-01-01 00:00:00";
    let paused_at = if paused { format!("'{old}'") } else { "NULL".to_owned() };
    vec![
        format!(
            "INSERT INTO webhook_subscriptions (id, url, events, secret, created_at, paused_at) VALUES ('{sub}', 'https://h.example/', '*', 'x', '{old}', {paused_at})"
        ),
        format!(
            "INSERT INTO outbox_events (id, event_type, subject, subject_seq, occurred_at, body) VALUES ('e1', 'user.updated', 's', 1, '{old}', '{{}}')"
        ),
        format!(
            "INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, subject, subject_seq, status, attempts, \
             next_attempt_at, created_at) VALUES ('{delivery}', '{sub}', 'e1', 'user.updated', 's', 1, '{status}', {attempts}, '{next_attempt_at}', '{old}')"
        ),
    ]
}

async fn count(db_url: &str, query: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let db = scimgate::store::Db::open_with(db_url, 1, 0).unwrap();
    let q = query.to_owned();
    db.read(move |conn| Ok::<_, scimgate::error::ServiceError>(diesel::sql_query(q).load::<N>(conn)?[0].n))
        .await
        .unwrap()
}

#[tokio::test]
async fn retention_prunes_what_grows_and_keeps_what_it_must() {
    let app = spawn_with(|s| s.retention.interval_seconds = 0).await;
    let user = app.contactless("audited@example.com").await;
    let recent = (chrono::Utc::now() - chrono::Duration::days(10)).naive_utc().format("%Y-%m-%d %H:%M:%S").to_string();
    let old = "2020-01-01 00:00:00";
    let event = |id: &str, subject: &str, seq: i64| {
        format!(
            "INSERT INTO outbox_events (id, event_type, subject, subject_seq, occurred_at, body) VALUES ('{id}', 'user.updated', '{subject}', {seq}, '{old}', '{{}}')"
        )
    };
    let delivery = |id: &str, event: &str, status: &str, created: &str, delivered: Option<&str>| {
        let delivered = delivered.map(|d| format!("'{d}'")).unwrap_or("NULL".into());
        format!(
            "INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, subject, subject_seq, status, attempts, \
             next_attempt_at, created_at, delivered_at) VALUES ('{id}', 'sub', '{event}', 'user.updated', 's', 1, '{status}', 1, \
             '{created}', '{created}', {delivered})"
        )
    };
    sql(
        &app.db_url,
        vec![
            format!("INSERT INTO webhook_subscriptions (id, url, events, secret, created_at) VALUES ('sub', 'https://h.example/', '*', 'x', '{old}')"),
            event("e1", "s1", 1),
            event("e2", "s1", 2),
            event("e3", "s1", 3),
            event("e4", "s2", 1),
            event("e5", "s3", 1),
            event("e6", "s3", 2),
            delivery("d1", "e4", "delivered", old, Some(old)),
            delivery("d2", "e5", "dead", old, None),
            delivery("d3", "e6", "dead", &recent, None),
            format!("UPDATE audit_events SET at = '{old}' WHERE target_id = '{}'", user["id"].as_str().unwrap()),
            format!("INSERT INTO login_sessions (id, token_hash, user_id, actor, created_at, expires_at) VALUES ('ls', 'h', '{}', 'bootstrap', '{old}', '{old}')", user["id"].as_str().unwrap()),
        ],
    )
    .await;
    let audit_before = count(&app.db_url, "SELECT COUNT(*) AS n FROM audit_events").await;
    let db = scimgate::store::Db::open_with(&app.db_url, 1, 0).unwrap();
    let mut settings = scimgate::config::Settings::defaults().unwrap().retention;
    settings.batch = 1; // many small transactions
    let report = scimgate::service::retention::prune_once(&db, &settings).await.unwrap();
    let pruned = |kind: &str| report.iter().find(|(k, _)| k.as_str() == kind).map(|(_, n)| *n).unwrap();
    assert_eq!(pruned("deliveries"), 1);
    assert_eq!(pruned("dead_letters"), 1, "the recent dead letter is kept");
    assert_eq!(pruned("audit"), 1);
    assert_eq!(pruned("login_sessions"), 1);
    // e1, e2 (s1 keeps its latest, e3), e5 (its dead letter went first); e4 and e6 are kept:
    // e4 is its subject's latest, e6 has a live dead letter.
    assert_eq!(pruned("events"), 3);
    let left = count(&app.db_url, "SELECT COUNT(*) AS n FROM outbox_events WHERE id IN ('e3', 'e4', 'e6')").await;
    assert_eq!(left, 3);
    assert_eq!(count(&app.db_url, "SELECT COUNT(*) AS n FROM webhook_deliveries").await, 1);
    assert_eq!(count(&app.db_url, "SELECT COUNT(*) AS n FROM audit_events").await, audit_before - 1);
    // Sequence numbers of a pruned subject continue after its kept latest event.
    let r = app.patch(&format!("/api/v1/users/{}", user["id"].as_str().unwrap()), json!({ "active": false })).await;
    r.ok(200);
}

#[tokio::test]
async fn the_gateway_prunes_in_the_background_and_counts_it() {
    let app = spawn_with(|s| s.retention.interval_seconds = 1).await;
    let user = app.contactless("pruned@example.com").await;
    sql(
        &app.db_url,
        vec![format!(
            "UPDATE audit_events SET at = '2020-01-01 00:00:00' WHERE target_id = '{}'",
            user["id"].as_str().unwrap()
        )],
    )
    .await;
    let mut text = String::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r = app.client.get(format!("{}/metrics", app.address)).bearer_auth(&app.admin).send().await.unwrap();
        text = r.text().await.unwrap();
        if text.contains("scimgate_pruned_rows_total{kind=\"audit\"} 1") {
            return;
        }
    }
    panic!("no pruning counted: {text}");
}

#[tokio::test]
async fn heavy_lists_wait_for_a_slot_and_lookups_do_not() {
    use scimgate::service::query::ListQuery;
    use scimgate::service::scim::{ListBounds, list};
    let app = spawn_app().await;
    insert_users(&app.db_url, 300).await;
    let db = scimgate::store::Db::open(&app.db_url, 2).unwrap();
    let cap = scimgate::policy::access::scim(scimgate::domain::Actor::new(
        "t",
        scimgate::domain::Principal::Scim { accounts: vec![] },
    ))
    .unwrap();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let bounds = ListBounds { cap: 20_000, budget: 4 << 20, scan_terms: 4, heavy: Some(slots.clone()) };
    let render = scimgate::service::scim::Render {
        doc: std::sync::Arc::new(
            |u: &scimgate::service::scim::UserWithGroups| json!({ "id": u.user.id.as_str(), "userName": u.user.user_name }),
        ),
        json: None,
    };
    let query = |filter: Option<&str>, count: i64| ListQuery {
        filter: filter.map(|f| scimgate::scim::filter::parse(f).unwrap()),
        sort: None,
        offset: 0,
        count,
        cursor: None,
    };
    // A lookup by userName runs at once, whatever the page size.
    let lookup =
        list(&db, &cap, query(Some("userName eq \"bulk-7@example.com\""), 1000), bounds.clone(), render.clone());
    let page = tokio::time::timeout(Duration::from_secs(5), lookup).await.expect("not held").unwrap();
    assert_eq!(page.total, 1);
    // A small page runs at once too.
    let small = list(&db, &cap, query(None, 50), bounds.clone(), render.clone());
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), small).await.expect("not held").unwrap().resources.len(),
        50
    );
    // A big page and a scan wait for a slot...
    for (filter, count) in [(None, 1000), (Some("userName co \"7\""), 10)] {
        let heavy = list(&db, &cap, query(filter, count), bounds.clone(), render.clone());
        assert!(tokio::time::timeout(Duration::from_millis(300), heavy).await.is_err(), "{filter:?} waited");
    }
    // ...and run once one is free.
    slots.add_permits(1);
    let heavy = list(&db, &cap, query(None, 1000), bounds.clone(), render.clone());
    let page = tokio::time::timeout(Duration::from_secs(5), heavy).await.expect("ran").unwrap();
    assert_eq!(page.resources.len(), 300);
}

#[tokio::test]
async fn retention_never_deletes_a_dead_letter_revived_while_it_runs() {
    let app = spawn_with(|s| s.retention.interval_seconds = 0).await;
    let old = "2020-01-01 00:00:00";
    sql(&app.db_url, one_delivery("sub", false, "d1", "dead", 1, old)).await;
    let revive = "UPDATE webhook_deliveries SET status = 'pending', attempts = 0 WHERE id = 'd1'";
    let db = scimgate::store::Db::open_with(&app.db_url, 1, 0).unwrap();
    let settings = scimgate::config::Settings::defaults().unwrap().retention;
    if app.db_url.starts_with("postgres") {
        // The revive has written but not committed when the prune reads its candidates: the
        // prune's delete waits for it, and must then see a pending delivery, not delete it.
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let mut admin = diesel::PgConnection::establish(&app.db_url).unwrap();
        admin.batch_execute(&format!("BEGIN; {revive};")).unwrap();
        let prune = tokio::spawn(async move { scimgate::service::retention::prune_once(&db, &settings).await });
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(!prune.is_finished(), "the prune waits for the revive's row");
        admin.batch_execute("COMMIT").unwrap();
        prune.await.unwrap().unwrap();
    } else {
        // One writer: the revive commits before the prune reads, or after it committed.
        sql(&app.db_url, vec![revive.to_owned()]).await;
        scimgate::service::retention::prune_once(&db, &settings).await.unwrap();
    }
    assert_eq!(
        count(&app.db_url, "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE id = 'd1' AND status = 'pending'").await,
        1
    );
}

#[tokio::test]
async fn dead_letters_retried_by_many_clients_at_once_are_each_revived_and_counted_once() {
    // (Retention off: these dead letters are old enough for it.)
    let app = spawn_with(|s| s.retention.interval_seconds = 0).await;
    let sibling = crate::helpers::spawn_sibling_with(&app, |s| s.retention.interval_seconds = 0).await;
    let sub = "0192d7a4-0000-7000-8000-00000000a001";
    let old = "2020-01-01 00:00:00";
    let mut statements = vec![format!(
        "INSERT INTO webhook_subscriptions (id, url, events, secret, created_at, paused_at) VALUES ('{sub}', 'https://h.example/', '*', 'x', '{old}', '{old}')"
    )];
    for i in 0..5 {
        statements.push(format!("INSERT INTO outbox_events (id, event_type, subject, subject_seq, occurred_at, body) VALUES ('e{i}', 'user.updated', 's{i}', 1, '{old}', '{{}}')"));
        statements.push(format!(
            "INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, subject, subject_seq, status, attempts, \
             next_attempt_at, created_at) VALUES ('d{i}', '{sub}', 'e{i}', 'user.updated', 's{i}', 1, 'dead', 1, '{old}', '{old}')"
        ));
    }
    sql(&app.db_url, statements).await;
    let path = format!("/api/v1/webhooks/{sub}/dead-letters/retry");
    let calls = (0..16).map(|i| {
        let gw = if i % 2 == 0 { &app } else { &sibling };
        gw.call(Method::POST, &path, Some(&gw.admin), None)
    });
    let mut retried = 0;
    for r in futures::future::join_all(calls).await {
        retried += r.ok(202)["retried"].as_i64().unwrap();
    }
    assert_eq!(retried, 5, "each dead letter is revived, and counted, once");
    let audited = count(
        &app.db_url,
        &format!("SELECT COUNT(*) AS n FROM audit_events WHERE target_id = '{sub}' AND action = 'webhook.dead_letters_retried'"),
    )
    .await;
    assert!((1..=5).contains(&audited), "{audited} audit records for 5 revived dead letters");
}

#[tokio::test]
async fn a_retry_the_dispatcher_overtook_requeues_the_delivery_as_it_is_now_and_is_audited_once() {
    // The retry reads a pending delivery; before its change lands, the dispatcher
    // dead-letters it (a transaction that has written and holds its row). The retry's
    // conditional change then finds nothing pending and re-queues the dead letter instead:
    // the client gets a pending delivery with a fresh series of attempts, audited once.
    let app = spawn_with(|s| s.retention.interval_seconds = 0).await;
    let sub = "0192d7a4-0000-7000-8000-00000000b001";
    let did = "0192d7a4-0000-7000-8000-00000000d001";
    // Paused: the gateway's own dispatcher leaves the delivery alone.
    sql(&app.db_url, one_delivery(sub, true, did, "pending", 3, "2100-01-01 00:00:00")).await;
    let statement = format!("UPDATE webhook_deliveries SET status = 'dead', attempts = 8 WHERE id = '{did}'");
    let dispatcher = written_not_committed(&app.db_url, statement, std::time::Duration::from_millis(1000)).await;
    let r = app.post(&format!("/api/v1/webhooks/{sub}/deliveries/{did}/retry"), json!({})).await;
    dispatcher.await.unwrap();
    let d = r.ok(202);
    assert_eq!((d["status"].as_str(), d["attempts"].as_i64()), (Some("pending"), Some(0)), "{d}");
    let audited = count(
        &app.db_url,
        &format!(
            "SELECT COUNT(*) AS n FROM audit_events WHERE target_id = '{sub}' AND action = 'webhook.delivery_retried'"
        ),
    )
    .await;
    assert_eq!(audited, 1);
}

/// `n` pending deliveries of subscription `sub`, of as many events of one subject, due at
/// `due`.
fn deliveries(sub: &str, tag: &str, n: usize, due: &str) -> Vec<String> {
    let old = "2020-01-01 00:00:00";
    let numbers = format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})");
    vec![
        format!(
            "INSERT INTO outbox_events (id, event_type, subject, subject_seq, occurred_at, body) \
             {numbers} SELECT 'e-{tag}-' || i, 'user.updated', 's-{tag}', i, '{old}', '{{}}' FROM n"
        ),
        format!(
            "INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, subject, subject_seq, status, attempts, \
             next_attempt_at, created_at) \
             {numbers} SELECT '{tag}-' || i, '{sub}', 'e-{tag}-' || i, 'user.updated', 's-{tag}', i, 'pending', 0, '{due}', '{old}' FROM n"
        ),
    ]
}

async fn parked_of(db_url: &str, sub: &str) -> i64 {
    count(db_url, &format!("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE subscription_id = '{sub}' AND next_attempt_at >= '9999-01-01'")).await
}

#[tokio::test]
async fn a_backlog_larger_than_a_batch_is_resumed_in_batches() {
    let app = spawn_with(|s| s.retention.interval_seconds = 0).await;
    let sub = "0192d7a4-0000-7000-8000-00000000c001";
    let old = "2020-01-01 00:00:00";
    let mut setup = vec![format!(
        "INSERT INTO webhook_subscriptions (id, url, events, secret, created_at, paused_at) VALUES ('{sub}', 'https://h.example/', '*', 'x', '{old}', '{old}')"
    )];
    setup.extend(deliveries(sub, "big", 12_001, "9999-12-31 00:00:00"));
    sql(&app.db_url, setup).await;
    assert_eq!(parked_of(&app.db_url, sub).await, 12_001);
    app.post(&format!("/api/v1/webhooks/{sub}/resume"), json!({})).await.ok(200);
    assert_eq!(parked_of(&app.db_url, sub).await, 0, "every batch moved");
    assert_eq!(app.audit_actions(sub).await, ["webhook.resumed"]);
}

#[tokio::test]
async fn backlogs_a_stop_left_behind_are_put_in_place_by_the_next_pause_resume_or_start() {
    // A resume or pause cut short by a stop: an active subscription with parked deliveries,
    // a paused one with due deliveries.
    let app = spawn_with(|s| s.retention.interval_seconds = 0).await;
    let (active, paused) = ("0192d7a4-0000-7000-8000-00000000c002", "0192d7a4-0000-7000-8000-00000000c003");
    let old = "2020-01-01 00:00:00";
    let mut setup = vec![
        format!(
            "INSERT INTO webhook_subscriptions (id, url, events, secret, created_at) VALUES ('{active}', 'https://h.example/', '*', 'x', '{old}')"
        ),
        format!(
            "INSERT INTO webhook_subscriptions (id, url, events, secret, created_at, paused_at) VALUES ('{paused}', 'https://h.example/', '*', 'x', '{old}', '{old}')"
        ),
    ];
    setup.extend(deliveries(active, "left-parked", 3, "9999-12-31 00:00:00"));
    setup.extend(deliveries(paused, "left-due", 2, "2100-01-01 00:00:00"));
    sql(&app.db_url, setup).await;
    // Resuming the active subscription again finishes its resume (nothing new is audited;
    // a dispatcher starting meanwhile would finish it too).
    app.post(&format!("/api/v1/webhooks/{active}/resume"), json!({})).await.ok(200);
    assert_eq!(parked_of(&app.db_url, active).await, 0);
    assert!(app.audit_actions(active).await.is_empty());
    // A gateway that starts finishes the pause (this one's own dispatcher may have done so
    // already, if it started after the rows were written).
    let _sibling = crate::helpers::spawn_sibling_with(&app, |s| s.retention.interval_seconds = 0).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while parked_of(&app.db_url, paused).await < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the starting gateway parks the paused subscription's deliveries"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
