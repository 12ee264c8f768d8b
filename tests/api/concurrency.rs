//! Invariants under concurrent clients: pools never oversubscribed, userName unique.

use futures::future::join_all;
use reqwest::Method;
use serde_json::json;

use crate::helpers::urn::PATCH;
use crate::helpers::{Reply, TestApp, id, spawn_app, spawn_sibling, written_not_committed};

/// Upgrades a user to `customer_community` through `gw`.
async fn upgrade(gw: &TestApp, uid: &str) -> crate::helpers::Reply {
    let body = json!({ "license": "customer_community" });
    gw.call(Method::POST, &format!("/api/v1/users/{uid}/upgrade"), Some(&gw.admin), Some(body)).await
}

/// Exactly `granted` of the racing replies succeeded with `status`, every other one was
/// refused 409 `license_unavailable`, and the `customer_community` pool is full at `granted`.
async fn fills_the_pool_exactly(app: &TestApp, replies: &[Reply], status: u16, granted: usize) {
    let succeeded = replies.iter().filter(|r| r.status.as_u16() == status).count();
    for r in replies.iter().filter(|r| r.status.as_u16() != status) {
        r.problem(409, "license_unavailable");
    }
    assert_eq!(succeeded, granted);
    let pool = app.pool("customer_community").await;
    assert_eq!((pool["used"].clone(), pool["available"].clone()), (json!(granted), json!(0)));
}

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
    let calls = ids.iter().enumerate().map(|(i, uid)| upgrade(apps[i % apps.len()], uid));
    let replies = join_all(calls).await;
    fills_the_pool_exactly(app, &replies, 200, 10).await;
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

/// Creates draw their license with the create's last write (the pool is not locked for the
/// whole create): 2 gateways × 64 clients creating contact-backed users against a pool of 20
/// still make exactly 20, and every other create leaves nothing behind.
#[tokio::test]
async fn two_gateways_and_128_concurrent_creates_never_oversubscribe_a_pool() {
    let a = spawn_app().await;
    let b = spawn_sibling(&a).await;
    let account = a.account("Acme").await;
    a.put("/api/v1/licenses/customer_community", json!({ "capacity": 20 })).await.ok(200);
    let replies = join_all((0..128).map(|i| {
        let gw = if i % 2 == 0 { &a } else { &b };
        let body = json!({ "userName": format!("create-race-{i}@example.com"), "email": "r@example.com",
            "license": "customer_community",
            "contact": { "accountId": account, "firstName": "Race", "lastName": format!("R{i}"), "email": "r@example.com" } });
        async move { gw.call(Method::POST, "/api/v1/users", Some(&gw.admin), Some(body)).await }
    }))
    .await;
    fills_the_pool_exactly(&a, &replies, 201, 20).await;
    let listed = a.get("/api/v1/users?license=customer_community&limit=200").await;
    assert_eq!(listed.ok(200)["items"].as_array().unwrap().len(), 20);
    // The refused creates left no user, contact or event behind.
    let all = a.get("/api/v1/users?limit=200").await;
    assert_eq!(all.ok(200)["items"].as_array().unwrap().len(), 20);
    let created_events = a.get("/api/v1/audit?action=user.created&limit=200").await;
    assert_eq!(created_events.ok(200)["items"].as_array().unwrap().len(), 20);
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
                upgrade(gw, uid).await
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

/// A SCIM user with this userName: its id.
async fn scim_user(app: &TestApp, user_name: &str) -> String {
    let body = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name });
    id(app.scim(Method::POST, "/Users", Some(&app.admin), Some(body)).await.ok(201))
}

async fn scim_patch(app: &TestApp, path: &str, ops: serde_json::Value) -> crate::helpers::Reply {
    app.scim(Method::PATCH, path, Some(&app.admin), Some(json!({ "schemas": [PATCH], "Operations": ops }))).await
}

/// Concurrent PATCHes of one user and one group, without If-Match, spread over two
/// gateways: each is applied to the current resource (re-read when another write came
/// first), so none is lost and none is refused.
#[tokio::test]
async fn concurrent_scim_patches_of_one_resource_lose_no_operation() {
    let app = spawn_app().await;
    let sibling = spawn_sibling(&app).await;
    let apps = [&app, &sibling];
    let uid = scim_user(&app, "shared").await;
    let r = app.scim(Method::POST, "/Groups", Some(&app.admin), Some(json!({ "displayName": "Crowd" }))).await;
    let gid = id(r.ok(201));
    let mut members = vec![];
    for i in 0..12 {
        members.push(id(&app.contactless(&format!("m{i}@example.com")).await));
    }
    let user_path = format!("/Users/{uid}");
    let group_path = format!("/Groups/{gid}");
    let calls = (0..12).map(|i| {
        let gw = apps[i % 2];
        let (user_path, group_path, member) = (&user_path, &group_path, &members[i]);
        async move {
            let email = json!([{ "op": "add", "path": "emails", "value": [{ "value": format!("e{i}@example.com") }] }]);
            let member = json!([{ "op": "add", "path": "members", "value": [{ "value": member }] }]);
            let (u, g) = futures::join!(scim_patch(gw, user_path, email), scim_patch(gw, group_path, member));
            (u.status.as_u16(), g.status.as_u16())
        }
    });
    let statuses = join_all(calls).await;
    assert!(statuses.iter().all(|s| *s == (200, 200)), "{statuses:?}");
    let r = app.scim(Method::GET, &user_path, Some(&app.admin), None).await;
    let emails = r.ok(200)["emails"].as_array().unwrap().len();
    let r = app.scim(Method::GET, &group_path, Some(&app.admin), None).await;
    let got = r.ok(200)["members"].as_array().unwrap().len();
    assert_eq!((emails, got), (12, 12));
}

/// SCIM PATCH reads the resource and applies its operations before any write
/// transaction: while another transaction holds the user's row (and, on SQLite, the
/// database's write lock), a PATCH that the engine refuses is answered at once. Before,
/// the operations ran inside the write transaction, so this PATCH waited for the lock.
#[tokio::test]
async fn scim_patch_is_applied_outside_the_write_transaction() {
    use scimgate::error::ServiceError;
    use scimgate::store::Db;
    use std::time::Duration;

    let app = spawn_app().await;
    let uid = scim_user(&app, "held").await;
    let db = Db::open(&app.db_url, 1).unwrap();
    let (held_tx, held_rx) = tokio::sync::oneshot::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let locked = uid.clone();
    let holder = tokio::spawn(async move {
        db.write(move |conn| {
            scimgate::store::users::find_for_update(conn, &locked)?;
            let _ = held_tx.send(());
            let _ = release_rx.recv_timeout(Duration::from_secs(60));
            Ok::<_, ServiceError>(())
        })
        .await
    });
    held_rx.await.unwrap();
    let path = format!("/Users/{uid}");
    let patch = scim_patch(&app, &path, json!([{ "op": "replace", "path": "id", "value": "x" }]));
    let answer = tokio::time::timeout(Duration::from_secs(30), patch).await;
    release_tx.send(()).unwrap();
    holder.await.unwrap().unwrap();
    let r = answer.expect("the PATCH was answered while another transaction held the user");
    r.scim_error(400, Some("mutability"));
}

/// Memberships whose user no longer exists.
async fn orphaned_memberships(app: &TestApp) -> i64 {
    let db = scimgate::store::Db::open(&app.db_url, 1).unwrap();
    db.read(|conn| {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let rows: Vec<N> = diesel::sql_query(
            "SELECT COUNT(*) AS n FROM group_members m WHERE m.member_type = 'User' \
             AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.member_id)",
        )
        .load(conn)?;
        Ok::<_, scimgate::error::ServiceError>(rows[0].n)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_member_added_while_it_is_deleted_leaves_no_orphaned_membership() {
    let app = spawn_app().await;
    let r = app.scim(Method::POST, "/Groups", Some(&app.admin), Some(json!({ "displayName": "racing" }))).await;
    let gid = id(r.ok(201));
    for round in 0..40 {
        let uid = scim_user(&app, &format!("racer{round}")).await;
        let add = json!([{ "op": "add", "path": "members", "value": [{ "value": uid }] }]);
        let (group_path, user_path) = (format!("/Groups/{gid}"), format!("/Users/{uid}"));
        let (patched, deleted) = tokio::join!(
            scim_patch(&app, &group_path, add),
            app.scim(Method::DELETE, &user_path, Some(&app.admin), None)
        );
        // Added then deleted (200), or the member was already gone (400 invalidValue): never a 500.
        assert!(matches!(patched.status.as_u16(), 200 | 400), "round {round}: {} {}", patched.status, patched.body);
        assert_eq!(deleted.status.as_u16(), 204, "round {round}: {}", deleted.body);
    }
    assert_eq!(orphaned_memberships(&app).await, 0, "every membership points at a user");
    let g = app.scim(Method::GET, &format!("/Groups/{gid}"), Some(&app.admin), None).await;
    assert!(g.ok(200).get("members").is_none_or(|m| m.as_array().is_some_and(Vec::is_empty)), "{}", g.body);
}

#[tokio::test]
async fn a_token_revoked_by_many_clients_at_once_is_revoked_and_audited_once() {
    let app = spawn_app().await;
    let sibling = spawn_sibling(&app).await;
    for round in 0..4 {
        let r = app.post("/api/v1/tokens", json!({ "name": format!("idp-{round}"), "role": "scim" })).await;
        let token = id(r.ok(201));
        let path = format!("/api/v1/tokens/{token}");
        let calls = (0..16).map(|i| {
            let gw = if i % 2 == 0 { &app } else { &sibling };
            gw.call(Method::DELETE, &path, Some(&gw.admin), None)
        });
        for r in join_all(calls).await {
            assert_eq!(r.status.as_u16(), 204);
        }
        let revoked = app.audit_actions(&token).await.iter().filter(|a| *a == "token.revoked").count();
        assert_eq!(revoked, 1, "round {round}");
    }
}

#[tokio::test]
async fn a_subscription_paused_or_deleted_by_many_clients_at_once_changes_and_is_audited_once() {
    let app = crate::helpers::spawn_with(|s| s.webhooks.allow_loopback = true).await;
    let sibling = crate::helpers::spawn_sibling_with(&app, |s| s.webhooks.allow_loopback = true).await;
    let r = app.post("/api/v1/webhooks", json!({ "url": "http://127.0.0.1:9/hook", "events": ["*"] })).await;
    let hook = id(r.ok(201));
    let at_once = |path: String| {
        let (app, sibling) = (&app, &sibling);
        async move {
            let calls = (0..16).map(|i| {
                let gw = if i % 2 == 0 { app } else { sibling };
                gw.call(Method::POST, &path, Some(&gw.admin), None)
            });
            join_all(calls).await.into_iter().map(|r| r.status.as_u16()).collect::<Vec<_>>()
        }
    };
    let count = |actions: &[String], name: &str| actions.iter().filter(|a| *a == name).count();
    for _ in 0..3 {
        assert!(at_once(format!("/api/v1/webhooks/{hook}/pause")).await.iter().all(|s| *s == 200));
        assert!(at_once(format!("/api/v1/webhooks/{hook}/resume")).await.iter().all(|s| *s == 200));
    }
    let actions = app.audit_actions(&hook).await;
    assert_eq!((count(&actions, "webhook.paused"), count(&actions, "webhook.resumed")), (3, 3), "{actions:?}");

    let path = format!("/api/v1/webhooks/{hook}");
    let calls = (0..16).map(|i| {
        let gw = if i % 2 == 0 { &app } else { &sibling };
        gw.call(Method::DELETE, &path, Some(&gw.admin), None)
    });
    for r in join_all(calls).await {
        assert!([204, 404].contains(&r.status.as_u16()), "{}", r.status);
    }
    assert_eq!(count(&app.audit_actions(&hook).await, "webhook.deleted"), 1);
}

#[tokio::test]
async fn events_written_while_a_subscription_is_resumed_are_never_left_waiting_for_ever() {
    // A bulk downgrade writes its events in one long transaction, the subscription paused
    // when it starts; a resume arrives while it runs. Once both are done, no delivery may
    // still wait as paused (a resume that could not see them would leave them so for ever).
    // Deliveries to port 9 fail: enough attempts that none is dead-lettered meanwhile, and
    // room for a resume that waits for a whole bulk downgrade on a slow machine.
    let app = crate::helpers::spawn_with(|s| {
        s.webhooks.allow_loopback = true;
        s.webhooks.max_attempts = 1000;
        s.database.statement_timeout_ms = 60_000;
    })
    .await;
    let account = app.account("Acme").await;
    app.put("/api/v1/licenses/customer_community", json!({ "capacity": null })).await.ok(200);
    let r = app
        .post("/api/v1/webhooks", json!({ "url": "http://127.0.0.1:9/hook", "events": ["scimgate.user.downgraded"] }))
        .await;
    let hook = id(r.ok(201));
    for round in 0..4 {
        for i in 0..150 {
            app.backed(&format!("r{round}-{i}@example.com"), &account, "customer_community").await;
        }
        app.call(Method::POST, &format!("/api/v1/webhooks/{hook}/pause"), Some(&app.admin), None).await.ok(200);
        let downgrade = app.post("/api/v1/users/downgrade", json!({}));
        let resume = async {
            tokio::time::sleep(std::time::Duration::from_millis(20 + 40 * round)).await;
            app.call(Method::POST, &format!("/api/v1/webhooks/{hook}/resume"), Some(&app.admin), None).await
        };
        let (downgraded, resumed) = tokio::join!(downgrade, resume);
        assert_eq!(downgraded.ok(200)["downgraded"].as_array().unwrap().len(), 150);
        resumed.ok(200);
    }
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    loop {
        let after = cursor.as_deref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let body = app.get(&format!("/api/v1/webhooks/{hook}/deliveries?status=pending&limit=200{after}")).await;
        let body = body.ok(200).clone();
        for d in body["items"].as_array().unwrap() {
            seen += 1;
            // A delivery waiting for a resume shows no next attempt.
            assert!(d["nextAttemptAt"].is_string(), "a delivery still waits as paused: {d}");
        }
        match body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, 600, "every downgrade's delivery is pending (port 9 refuses them; none is dead yet)");
}

#[tokio::test]
async fn a_login_as_racing_a_downgrade_never_leaves_a_session_behind_it() {
    // Login-as and a downgrade of the same user at once: either the login-as is refused
    // (contactless by then) or its session ends with the downgrade — even once the user has
    // a contact again.
    // (Each refused session is a failed authentication: no allowance for them here.)
    let app = crate::helpers::spawn_with(|s| s.rate.failed_auth_per_minute = 0).await;
    let account = app.account("Acme").await;
    for i in 0..24 {
        let user = id(&app.backed(&format!("imp{i}@example.com"), &account, "customer_community").await);
        let (login_path, downgrade_path) =
            (format!("/api/v1/users/{user}/login-as"), format!("/api/v1/users/{user}/downgrade"));
        let login = app.post(&login_path, json!({}));
        let downgrade = app.post(&downgrade_path, json!({}));
        let (login, downgrade) = tokio::join!(login, downgrade);
        downgrade.ok(200);
        let Some(token) = login.body["sessionToken"].as_str().map(str::to_owned) else {
            login.problem(422, "contact_required");
            continue;
        };
        let contact =
            json!({ "contact": { "accountId": account, "firstName": "I", "lastName": "M", "email": "i@example.com" } });
        app.put(&format!("/api/v1/users/{user}/contact"), contact).await.ok(200);
        let r = app.call(Method::GET, "/api/v1/session", Some(&token), None).await;
        assert_eq!(r.status.as_u16(), 401, "round {i}: the session outlived the downgrade");
    }
}

#[tokio::test]
async fn a_registration_running_while_self_registration_is_turned_off_waits_and_is_refused() {
    // The switch is turned off by a transaction that has written but not committed when the
    // registration starts: the registration waits for it and then sees the site closed (on
    // PostgreSQL the site's row is read FOR SHARE; SQLite's one writer orders them anyway).
    let app = spawn_app().await;
    let site = app.site("portal", true).await;
    let reg = app.token("registration", &[], Some(&site)).await;
    let statement = format!("UPDATE sites SET self_registration = false WHERE id = '{site}'");
    let switch_off = written_not_committed(&app.db_url, statement, std::time::Duration::from_millis(1500)).await;
    let body = json!({ "userName": "late@example.com", "email": "late@example.com" });
    let started = std::time::Instant::now();
    let r = app.register(&site, &reg, body).await;
    let waited = started.elapsed();
    assert!(waited >= std::time::Duration::from_millis(1000), "answered after {waited:?}, before the switch committed");
    switch_off.await.unwrap();
    r.problem(403, "self_registration_disabled");
}
