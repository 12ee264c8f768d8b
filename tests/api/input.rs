//! Bad input gets a clear 4xx problem+json with a stable code, never a 500.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_with};

#[tokio::test]
async fn malformed_bodies_are_400_validation_failed() {
    let app = spawn_app().await;
    let cases = [
        "{not json",
        "",
        "[]",
        r#"{"userName": 5, "email": "a@example.com"}"#,
        r#"{"userName": "a", "email": "a@example.com", "active": "yes"}"#,
        r#"{"userName": "a", "email": "a@example.com", "licence": "customer_community"}"#,
        r#"{"email": "a@example.com"}"#,
        r#"{"userName": "a", "email": "a@example.com", "siteIds": "s"}"#,
    ];
    for body in cases {
        let r = app.raw(Method::POST, "/api/v1/users", "application/json", body).await;
        r.problem(400, "validation_failed");
    }
    // An unknown field is named, not silently dropped.
    let r = app
        .raw(
            Method::POST,
            "/api/v1/users",
            "application/json",
            r#"{"userName":"a","email":"a@example.com","licence":"x"}"#,
        )
        .await;
    assert!(r.body["detail"].as_str().unwrap().contains("licence"), "{}", r.body);
    let r = app
        .raw(
            Method::PATCH,
            "/api/v1/users/0192d7a4-0000-7000-8000-000000000000",
            "application/json",
            r#"{"license":"x"}"#,
        )
        .await;
    r.problem(400, "validation_failed");
}

#[tokio::test]
async fn invalid_values_are_422_validation_failed() {
    let app = spawn_app().await;
    let long = "x".repeat(257);
    let cases = [
        json!({ "userName": "", "email": "a@example.com" }),
        json!({ "userName": " padded", "email": "a@example.com" }),
        json!({ "userName": long, "email": "a@example.com" }),
        json!({ "userName": "ctl\u{7}", "email": "a@example.com" }),
        json!({ "userName": "ok", "email": "not-an-email" }),
        json!({ "userName": "ok", "email": "a@localhost" }),
        json!({ "userName": "ok", "email": "a@example.com", "displayName": "x".repeat(300) }),
        json!({ "userName": "ok", "email": "a@example.com", "siteIds": ["not-an-id"] }),
        json!({ "userName": "ok", "email": "a@example.com", "siteIds": ["0192d7a4-0000-7000-8000-000000000000"] }),
        json!({ "userName": "ok", "email": "a@example.com", "contact": { "accountId": "x", "firstName": "a", "lastName": "b", "email": "a@example.com" } }),
    ];
    for body in cases {
        let r = app.post("/api/v1/users", body.clone()).await;
        assert_eq!(r.status.as_u16(), 422, "{body} → {}", r.body);
        r.problem(422, "validation_failed");
    }
    // Nothing was created by any of them.
    let r = app.get("/api/v1/users").await;
    assert_eq!(r.ok(200)["items"], json!([]));
    // A PATCH leaves absent fields alone, clears nullable ones sent as null, and refuses
    // null for the fields a user always has.
    let u =
        app.post("/api/v1/users", json!({ "userName": "pat", "email": "pat@example.com", "firstName": "Pat" })).await;
    let uid = u.ok(201)["id"].as_str().unwrap().to_owned();
    for body in
        [json!({ "userName": null }), json!({ "email": null }), json!({ "active": null }), json!({ "userName": " x" })]
    {
        app.patch(&format!("/api/v1/users/{uid}"), body.clone()).await.problem(422, "validation_failed");
    }
    // The other commands built from bodies: a contact assignment names one, a bulk
    // downgrade names ids.
    app.put(&format!("/api/v1/users/{uid}/contact"), json!({})).await.problem(422, "validation_failed");
    let r = app.post("/api/v1/users/downgrade", json!({ "userIds": ["not-an-id"], "dryRun": true })).await;
    r.problem(422, "validation_failed");
    let r = app.patch(&format!("/api/v1/users/{uid}"), json!({ "firstName": null, "lastName": "Ruiz" })).await;
    let v = r.ok(200);
    assert_eq!(
        (v["userName"].clone(), v["firstName"].clone(), v["lastName"].clone()),
        (json!("pat"), json!(null), json!("Ruiz"))
    );
}

#[tokio::test]
async fn wrong_media_type_oversized_bodies_and_bad_paths_are_clean_4xx() {
    let app = spawn_with(|s| s.server.max_body_bytes = 1024).await;
    let r = app.raw(Method::POST, "/api/v1/accounts", "text/plain", r#"{"name":"a"}"#).await;
    r.problem(415, "unsupported_media_type");
    let big = format!(r#"{{"name":"{}"}}"#, "a".repeat(4096));
    let r = app.raw(Method::POST, "/api/v1/accounts", "application/json", big).await;
    r.problem(413, "payload_too_large");
    app.get("/api/v1/users/not-a-uuid").await.problem(404, "not_found");
    app.get("/api/v1/users/0192d7a4-0000-7000-8000-000000000000").await.problem(404, "not_found");
    app.get("/api/v1/no-such-thing").await.problem(404, "not_found");
    let r = app.call(Method::DELETE, "/api/v1/licenses", Some(&app.admin), None).await;
    r.problem(405, "method_not_allowed");
    // Still healthy, and nothing was written.
    assert_eq!(app.get("/api/v1/accounts").await.ok(200)["items"], json!([]));
}
