//! Invariants under concurrent clients: pools never oversubscribed, userName unique.

use futures::future::join_all;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, id, spawn_app, spawn_sibling};

/// 64 contact-backed `external_identity` users, upgraded all at once against a pool of 10,
/// spread over the given gateways.
async fn race_upgrades(apps: &[&TestApp]) {
    let app = apps[0];
    let account = app.account("Acme").await;
    app.put("/api/v1/licenses/customer_community", json!({ "capacity": 10 })).await.ok(200);
    let mut ids = vec![];
    for i in 0..64 {
        ids.push(id(&app.backed(&format!("racer{i}@example.com"), &account, "external_identity").await));
    }
    let calls = ids.iter().enumerate().map(|(i, uid)| {
        let gw = apps[i % apps.len()];
        async move {
            gw.call(
                Method::POST,
                &format!("/api/v1/users/{uid}/upgrade"),
                Some(&gw.admin),
                Some(json!({ "license": "customer_community" })),
            )
            .await
        }
    });
    let replies = join_all(calls).await;
    let ok = replies.iter().filter(|r| r.status.as_u16() == 200).count();
    for r in replies.iter().filter(|r| r.status.as_u16() != 200) {
        r.problem(409, "license_unavailable");
    }
    assert_eq!(ok, 10);
    let pool = app.pool("customer_community").await;
    assert_eq!((pool["used"].clone(), pool["available"].clone()), (json!(10), json!(0)));
    assert_eq!(app.pool("external_identity").await["used"], 54);
    let r = app.get("/api/v1/users?license=customer_community&limit=200").await;
    assert_eq!(r.ok(200)["items"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn sixty_four_concurrent_upgrades_against_a_pool_of_ten_grant_exactly_ten() {
    let app = spawn_app().await;
    race_upgrades(&[&app]).await;
}

#[tokio::test]
async fn two_gateways_on_one_database_never_oversubscribe_a_pool() {
    let a = spawn_app().await;
    let b = spawn_sibling(&a).await;
    race_upgrades(&[&a, &b]).await;
}

#[tokio::test]
async fn thirty_two_concurrent_creates_of_one_user_name_in_different_case_make_one_user() {
    let app = spawn_app().await;
    let variants: Vec<String> = (0..32u32)
        .map(|i| {
            "race.user@example.com"
                .chars()
                .enumerate()
                .map(|(j, c)| if (i >> (j % 5)) & 1 == 1 { c.to_ascii_uppercase() } else { c })
                .collect()
        })
        .collect();
    let calls = variants.iter().map(|name| {
        app.call(
            Method::POST,
            "/api/v1/users",
            Some(&app.admin),
            Some(json!({ "userName": name, "email": "r@example.com" })),
        )
    });
    let replies = join_all(calls).await;
    let created = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    for r in replies.iter().filter(|r| r.status.as_u16() != 201) {
        r.problem(409, "username_taken");
    }
    assert_eq!(created, 1);
    assert_eq!(app.pool("external_identity").await["used"], 1);
}

#[tokio::test]
async fn concurrent_upgrades_and_downgrades_keep_pool_counts_exact() {
    // Upgrades lock (user, pools in license order) and downgrades the same: no deadlock,
    // and the counters equal the users holding each license.
    let a = spawn_app().await;
    let b = spawn_sibling(&a).await;
    let account = a.account("Acme").await;
    let mut ids = vec![];
    for i in 0..24 {
        let license = if i % 2 == 0 { "external_identity" } else { "customer_community" };
        ids.push(id(&a.backed(&format!("flip{i}@example.com"), &account, license).await));
    }
    let calls = ids.iter().enumerate().map(|(i, uid)| {
        let gw = if i % 3 == 0 { &a } else { &b };
        async move {
            if i % 2 == 0 {
                gw.call(
                    Method::POST,
                    &format!("/api/v1/users/{uid}/upgrade"),
                    Some(&gw.admin),
                    Some(json!({ "license": "customer_community" })),
                )
                .await
            } else {
                gw.call(Method::POST, &format!("/api/v1/users/{uid}/downgrade"), Some(&gw.admin), None).await
            }
        }
    });
    for r in join_all(calls).await {
        r.ok(200);
    }
    assert_eq!(a.pool("customer_community").await["used"], 12);
    assert_eq!(a.pool("external_identity").await["used"], 12);
}
