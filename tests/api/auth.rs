//! Authentication and the role table.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{id, spawn_app};
use scimgate::error::ServiceError;
use scimgate::store::Db;

#[tokio::test]
async fn missing_unknown_and_malformed_tokens_get_401_with_a_bearer_challenge() {
    let app = spawn_app().await;
    for token in [None, Some("sgt_not-a-real-token"), Some("nonsense")] {
        let r = app.call(Method::GET, "/api/v1/users", token, None).await;
        r.problem(401, "unauthorized");
        assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer");
    }
    // Another scheme is no bearer token; the bearer scheme is case-insensitive (RFC 6750 /
    // RFC 9110 §11.1).
    for (scheme, status) in [("Basic", 401), ("bearer", 200)] {
        let authorization = format!("{scheme} {}", app.admin);
        let r = app.call_with(Method::GET, "/api/v1/users", None, None, &[("authorization", &authorization)]).await;
        assert_eq!(r.status.as_u16(), status, "{scheme}");
    }
    // Health needs no token.
    assert_eq!(app.call(Method::GET, "/healthz", None, None).await.status.as_u16(), 200);
}

#[tokio::test]
async fn each_role_reaches_only_its_row_of_the_table() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let site = app.site("portal", true).await;
    let other_site = app.site("other", true).await;
    let scim = app.token("scim", &[&account], None).await;
    let reg = app.token("registration", &[], Some(&site)).await;
    let del = app.token("delegated_admin", &[&account], None).await;
    let admin = app.token("admin", &[], None).await;

    let admin_only = ["/api/v1/accounts", "/api/v1/licenses", "/api/v1/tokens", "/api/v1/sites", "/api/v1/audit"];
    for path in admin_only {
        for t in [&scim, &reg, &del] {
            app.call(Method::GET, path, Some(t), None).await.problem(403, "forbidden");
        }
        app.call(Method::GET, path, Some(&admin), None).await.ok(200);
    }
    for t in [&scim, &reg] {
        app.call(Method::GET, "/api/v1/users", Some(t), None).await.problem(403, "forbidden");
    }
    app.call(Method::GET, "/api/v1/users", Some(&del), None).await.ok(200);
    // A registration token registers on its own site only.
    let body = json!({ "userName": "a@example.com", "email": "a@example.com" });
    app.register(&other_site, &reg, body.clone()).await.problem(403, "forbidden");
    app.register(&site, &reg, body).await.ok(201);
    // Delegated admins cannot register users either.
    let body = json!({ "userName": "b@example.com", "email": "b@example.com" });
    app.register(&site, &del, body).await.problem(403, "forbidden");
}

#[tokio::test]
async fn tokens_are_listed_without_secrets_stored_hashed_and_revocable() {
    let app = spawn_app().await;
    let r = app.post("/api/v1/tokens", json!({ "name": "ops", "role": "admin" })).await;
    let created = r.ok(201).clone();
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sgt_"));
    assert_eq!(created.as_object().unwrap().len(), 4, "{created}");
    app.call(Method::GET, "/api/v1/accounts", Some(&secret), None).await.ok(200);

    let list = app.get("/api/v1/tokens").await;
    let text = list.body.to_string();
    assert!(!text.contains(&secret));
    assert_eq!(list.ok(200)["items"][0]["name"], "ops");
    assert!(list.body["items"][0].get("token").is_none());

    // Only a hash is in the database.
    let db = Db::open(&app.db_url, 1).unwrap();
    let hashes: Vec<String> = db
        .read(|conn| {
            use diesel::prelude::*;
            use scimgate::store::schema::tokens::dsl::*;
            Ok::<_, ServiceError>(tokens.select(token_hash).load::<String>(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(hashes.len(), 1);
    assert!(!hashes[0].contains(&secret) && hashes[0].len() == 64);

    let r = app.delete(&format!("/api/v1/tokens/{}", id(&created))).await;
    assert_eq!(r.status.as_u16(), 204);
    app.call(Method::GET, "/api/v1/accounts", Some(&secret), None).await.problem(401, "unauthorized");
    let list = app.get("/api/v1/tokens").await;
    assert!(list.ok(200)["items"][0]["revokedAt"].is_string());
    app.delete("/api/v1/tokens/00000000-0000-7000-8000-000000000000").await.problem(404, "not_found");
}

#[tokio::test]
async fn token_shapes_are_validated_by_role() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let site = app.site("p", true).await;
    let bad = [
        json!({ "name": "x", "role": "root" }),
        json!({ "name": "x", "role": "delegated_admin" }),
        json!({ "name": "x", "role": "registration" }),
        json!({ "name": "x", "role": "admin", "accountIds": [account] }),
        json!({ "name": "x", "role": "scim", "accountIds": [account, account.clone() + "0"] }),
        json!({ "name": "x", "role": "delegated_admin", "accountIds": ["0192d7a4-0000-7000-8000-000000000000"] }),
        json!({ "name": "", "role": "admin" }),
    ];
    for body in bad {
        let r = app.post("/api/v1/tokens", body.clone()).await;
        assert_eq!(r.body["code"], "validation_failed", "{body} → {}", r.body);
    }
    app.post("/api/v1/tokens", json!({ "name": "s", "role": "scim", "accountIds": [account] })).await.ok(201);
    app.post("/api/v1/tokens", json!({ "name": "s", "role": "scim" })).await.ok(201);
    app.post("/api/v1/tokens", json!({ "name": "r", "role": "registration", "siteId": site })).await.ok(201);
}
