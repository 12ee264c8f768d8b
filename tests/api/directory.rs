//! Users, contacts, licenses, sites and the audit log through the native API.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{id, spawn_app};

#[tokio::test]
async fn user_names_are_unique_case_insensitively_including_unicode() {
    let app = spawn_app().await;
    app.contactless("Ärger@Example.com").await;
    for taken in ["ärger@example.com", "ÄRGER@EXAMPLE.COM"] {
        let r = app.post("/api/v1/users", json!({ "userName": taken, "email": "a@example.com" })).await;
        r.problem(409, "username_taken");
    }
    let other = app.contactless("someone@example.com").await;
    let r = app.patch(&format!("/api/v1/users/{}", id(&other)), json!({ "userName": "ÄRGER@example.com" })).await;
    r.problem(409, "username_taken");
    let r = app.get("/api/v1/users?userName=%C3%A4rger%40EXAMPLE.com").await;
    assert_eq!(r.ok(200)["items"][0]["userName"], "Ärger@Example.com");
}

#[tokio::test]
async fn a_contact_links_to_at_most_one_user() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let first = app.backed("first@example.com", &account, "external_identity").await;
    let contact = first["contactId"].as_str().unwrap();
    let r = app
        .post(
            "/api/v1/users",
            json!({ "userName": "second@example.com", "email": "s@example.com", "contactId": contact }),
        )
        .await;
    r.problem(409, "contact_in_use");
    let second = app.contactless("second@example.com").await;
    let r = app.put(&format!("/api/v1/users/{}/contact", id(&second)), json!({ "contactId": contact })).await;
    r.problem(409, "contact_in_use");
    // Re-assigning a user its own contact is no conflict.
    let r = app.put(&format!("/api/v1/users/{}/contact", id(&first)), json!({ "contactId": contact })).await;
    assert_eq!(r.ok(200)["version"], first["version"]);
    // After a downgrade frees it, the contact can be linked again.
    app.post(&format!("/api/v1/users/{}/downgrade", id(&first)), json!({})).await.ok(200);
    let r = app.put(&format!("/api/v1/users/{}/contact", id(&second)), json!({ "contactId": contact })).await;
    assert_eq!(r.ok(200)["contactId"], contact);
}

#[tokio::test]
async fn creating_users_checks_contact_license_and_pool() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let r = app
        .post(
            "/api/v1/users",
            json!({ "userName": "c@example.com", "email": "c@example.com", "license": "customer_community" }),
        )
        .await;
    r.problem(422, "contact_required");
    let r = app
        .post("/api/v1/users", json!({ "userName": "c@example.com", "email": "c@example.com", "license": "gold" }))
        .await;
    r.problem(422, "invalid_license");
    app.put("/api/v1/licenses/customer_community_plus", json!({ "capacity": 1 })).await.ok(200);
    app.backed("p1@example.com", &account, "customer_community_plus").await;
    let r = app
        .post(
            "/api/v1/users",
            json!({ "userName": "p2@example.com", "email": "p2@example.com", "license": "customer_community_plus",
                    "contact": { "accountId": account, "firstName": "a", "lastName": "b", "email": "p2@example.com" } }),
        )
        .await;
    r.problem(409, "license_unavailable");
    // Nothing of the refused create remains: no user.
    let r = app.get("/api/v1/users?userName=p2@example.com").await;
    assert_eq!(r.ok(200)["items"], json!([]));
    let r = app
        .post(
            "/api/v1/users",
            json!({ "userName": "p3@example.com", "email": "p3@example.com",
                    "contact": { "accountId": "0192d7a4-0000-7000-8000-000000000000", "firstName": "a", "lastName": "b", "email": "p@example.com" } }),
        )
        .await;
    r.problem(422, "validation_failed");
    let r = app
        .post(
            "/api/v1/users",
            json!({ "userName": "p4@example.com", "email": "p4@example.com", "contactId": "x", "contact": null }),
        )
        .await;
    r.problem(422, "validation_failed");
}

#[tokio::test]
async fn license_capacity_is_never_set_below_usage() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    app.backed("a@example.com", &account, "customer_community").await;
    app.backed("b@example.com", &account, "customer_community").await;
    let r = app.put("/api/v1/licenses/customer_community", json!({ "capacity": 1 })).await;
    r.problem(409, "capacity_below_used");
    let r = app.put("/api/v1/licenses/customer_community", json!({ "capacity": 2 })).await;
    assert_eq!(r.ok(200)["available"], 0);
    let r = app.put("/api/v1/licenses/customer_community", json!({ "capacity": null })).await;
    assert_eq!(r.ok(200)["capacity"], Value::Null);
    app.put("/api/v1/licenses/customer_community", json!({})).await.problem(422, "validation_failed");
    app.put("/api/v1/licenses/customer_community", json!({ "capacity": -1 })).await.problem(422, "validation_failed");
    app.put("/api/v1/licenses/platinum", json!({ "capacity": 1 })).await.problem(404, "not_found");
    let all = app.get("/api/v1/licenses").await;
    let names: Vec<_> = all.ok(200)["items"].as_array().unwrap().iter().map(|p| p["license"].clone()).collect();
    assert_eq!(names, vec!["external_identity", "customer_community", "customer_community_plus", "partner_community"]);
}

#[tokio::test]
async fn deleting_a_user_returns_its_license_and_keeps_its_contact() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let site = app.site("s", false).await;
    let user = app.backed("gone@example.com", &account, "partner_community").await;
    app.put(&format!("/api/v1/sites/{site}/members/{}", id(&user)), json!({})).await;
    assert_eq!(app.pool("partner_community").await["used"], 1);
    let r = app.delete(&format!("/api/v1/users/{}", id(&user))).await;
    assert_eq!(r.status.as_u16(), 204);
    assert_eq!(app.pool("partner_community").await["used"], 0);
    app.get(&format!("/api/v1/users/{}", id(&user))).await.problem(404, "not_found");
    app.get(&format!("/api/v1/contacts/{}", user["contactId"].as_str().unwrap())).await.ok(200);
    let members = app.get(&format!("/api/v1/sites/{site}/members")).await;
    assert_eq!(members.ok(200)["items"], json!([]));
    assert!(app.audit_actions(&id(&user)).await.contains(&"user.deleted".to_owned()));
}

#[tokio::test]
async fn etags_and_if_match_guard_updates() {
    let app = spawn_app().await;
    let user = app.contactless("etag@example.com").await;
    let path = format!("/api/v1/users/{}", id(&user));
    let r = app.get(&path).await;
    assert_eq!(r.headers.get("etag").unwrap(), "W/\"1\"");

    let stale = [("If-Match", "W/\"7\"")];
    let r = app.call_with(Method::PATCH, &path, Some(&app.admin), Some(json!({ "firstName": "A" })), &stale).await;
    r.problem(412, "version_mismatch");
    let fresh = [("If-Match", "W/\"1\"")];
    let r = app.call_with(Method::PATCH, &path, Some(&app.admin), Some(json!({ "firstName": "A" })), &fresh).await;
    assert_eq!(r.ok(200)["version"], 2);
    assert_eq!(r.headers.get("etag").unwrap(), "W/\"2\"");
    // The same If-Match again is now stale.
    let r = app.call_with(Method::PATCH, &path, Some(&app.admin), Some(json!({ "firstName": "B" })), &fresh).await;
    r.problem(412, "version_mismatch");
    let r = app.call_with(Method::DELETE, &path, Some(&app.admin), None, &fresh).await;
    r.problem(412, "version_mismatch");
    // `null` clears a nullable field and deactivation is its own audited action.
    let r = app.patch(&path, json!({ "firstName": null, "active": false })).await;
    let v = r.ok(200);
    assert_eq!((v["firstName"].clone(), v["active"].clone()), (Value::Null, json!(false)));
    assert!(app.audit_actions(&id(&user)).await.contains(&"user.deactivated".to_owned()));
    app.patch(&path, json!({ "email": null })).await.problem(422, "validation_failed");
    // A PATCH that changes nothing keeps the version.
    let r = app.patch(&path, json!({ "active": false })).await;
    assert_eq!(r.ok(200)["version"], 3);
}

#[tokio::test]
async fn listing_filters_and_pages_with_a_cursor() {
    let app = spawn_app().await;
    let a = app.account("A").await;
    let b = app.account("B").await;
    let site = app.site("s", false).await;
    let mut made = vec![];
    for i in 0..5 {
        made.push(app.contactless(&format!("cl{i}@example.com")).await);
    }
    made.push(app.backed("a1@example.com", &a, "customer_community").await);
    made.push(app.backed("b1@example.com", &b, "partner_community").await);
    app.put(&format!("/api/v1/sites/{site}/members/{}", id(&made[0])), json!({})).await;
    app.patch(&format!("/api/v1/users/{}", id(&made[1])), json!({ "active": false })).await.ok(200);

    let count = |v: &Value| v["items"].as_array().unwrap().len();
    assert_eq!(count(app.get("/api/v1/users?contactless=true").await.ok(200)), 5);
    assert_eq!(count(app.get("/api/v1/users?contactless=false").await.ok(200)), 2);
    assert_eq!(count(app.get("/api/v1/users?license=partner_community").await.ok(200)), 1);
    assert_eq!(count(app.get(&format!("/api/v1/users?accountId={a}")).await.ok(200)), 1);
    assert_eq!(count(app.get(&format!("/api/v1/users?siteId={site}")).await.ok(200)), 1);
    assert_eq!(count(app.get("/api/v1/users?active=false").await.ok(200)), 1);
    assert_eq!(count(app.get("/api/v1/users?active=true&contactless=true").await.ok(200)), 4);

    // Pages of 3 walk all 7 users once, in creation order.
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/users?limit=3&cursor={c}"),
            None => "/api/v1/users?limit=3".into(),
        };
        let r = app.get(&path).await;
        let page = r.ok(200);
        seen.extend(page["items"].as_array().unwrap().iter().map(id));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, made.iter().map(id).collect::<Vec<_>>());
    app.get("/api/v1/users?limit=0").await.problem(400, "validation_failed");
    app.get("/api/v1/users?limit=201").await.problem(400, "validation_failed");
    app.get("/api/v1/users?cursor=garbage").await.problem(400, "validation_failed");
    app.get("/api/v1/users?licence=typo").await.problem(400, "validation_failed");
    app.get("/api/v1/users?active=maybe").await.problem(400, "validation_failed");
}

#[tokio::test]
async fn bulk_downgrade_previews_then_applies() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let active = app.backed("active@example.com", &account, "customer_community").await;
    let idle1 = app.backed("idle1@example.com", &account, "customer_community").await;
    let idle2 = app.backed("idle2@example.com", &account, "partner_community").await;
    let contactless = app.contactless("cl@example.com").await;
    for u in [&idle1, &idle2] {
        app.patch(&format!("/api/v1/users/{}", id(u)), json!({ "active": false })).await.ok(200);
    }
    let mut idle = vec![id(&idle1), id(&idle2)];
    idle.sort();

    let r = app.post("/api/v1/users/downgrade", json!({ "inactiveOnly": true, "dryRun": true })).await;
    let preview = r.ok(200).clone();
    assert_eq!(preview["downgraded"], json!(idle));
    assert_eq!(preview["dryRun"], true);
    assert_eq!(app.pool("customer_community").await["used"], 2, "a dry run writes nothing");

    let ghost = "0192d7a4-0000-7000-8000-000000000000";
    let r = app
        .post(
            "/api/v1/users/downgrade",
            json!({ "userIds": [id(&active), id(&idle1), id(&contactless), ghost], "inactiveOnly": true }),
        )
        .await;
    let out = r.ok(200);
    assert_eq!(out["downgraded"], json!([id(&idle1)]));
    let skipped: Vec<(String, String)> = out["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap().to_owned(), s["code"].as_str().unwrap().to_owned()))
        .collect();
    assert!(skipped.contains(&(id(&active), "active".into())), "{skipped:?}");
    assert!(skipped.contains(&(id(&contactless), "already_contactless".into())), "{skipped:?}");
    assert!(skipped.contains(&(ghost.into(), "not_found".into())), "{skipped:?}");

    let r = app.post("/api/v1/users/downgrade", json!({})).await;
    let mut rest = vec![id(&active), id(&idle2)];
    rest.sort();
    assert_eq!(r.ok(200)["downgraded"], json!(rest));
    assert_eq!(app.pool("customer_community").await["used"], 0);
    assert_eq!(app.pool("partner_community").await["used"], 0);
    assert_eq!(app.pool("external_identity").await["used"], 4);
    let r = app.get("/api/v1/users?contactless=true").await;
    assert_eq!(r.ok(200)["items"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn upgrade_targets_community_licenses_and_keeps_the_pools_balanced() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let user = app.backed("u@example.com", &account, "customer_community").await;
    let path = format!("/api/v1/users/{}/upgrade", id(&user));
    app.post(&path, json!({ "license": "external_identity" })).await.problem(422, "invalid_license");
    app.post(&path, json!({ "license": "nope" })).await.problem(422, "invalid_license");
    let r = app.post(&path, json!({ "license": "partner_community" })).await;
    assert_eq!(r.ok(200)["license"], "partner_community");
    assert_eq!(app.pool("customer_community").await["used"], 0);
    assert_eq!(app.pool("partner_community").await["used"], 1);
    // Upgrading to the license held changes nothing, even with the pool full.
    app.put("/api/v1/licenses/partner_community", json!({ "capacity": 1 })).await.ok(200);
    let r = app.post(&path, json!({ "license": "partner_community" })).await;
    assert_eq!(r.ok(200)["version"], 2);
}

#[tokio::test]
async fn accounts_contacts_and_sites_round_trip() {
    let app = spawn_app().await;
    let account = app.account("Acme Corp").await;
    let r = app.get(&format!("/api/v1/accounts/{account}")).await;
    assert_eq!(r.ok(200)["name"], "Acme Corp");
    assert_eq!(app.get("/api/v1/accounts").await.ok(200)["items"].as_array().unwrap().len(), 1);
    let r = app
        .post(
            "/api/v1/contacts",
            json!({ "accountId": account, "firstName": "Ada", "lastName": "L", "email": "ada@example.com", "phone": "+1 555 0100" }),
        )
        .await;
    let contact = r.ok(201).clone();
    assert_eq!(contact["phone"], "+1 555 0100");
    let r = app.get(&format!("/api/v1/contacts/{}", id(&contact))).await;
    assert_eq!(r.ok(200)["accountId"], account.as_str());
    let r = app
        .post("/api/v1/users", json!({ "userName": "ada", "email": "ada@example.com", "contactId": id(&contact) }))
        .await;
    assert_eq!(r.ok(201)["accountId"], account.as_str());

    let site = app.site("dup", true).await;
    let r = app.get(&format!("/api/v1/sites/{site}")).await;
    assert_eq!(r.ok(200)["urlPathPrefix"], "dup");
    let r =
        app.post("/api/v1/sites", json!({ "name": "Again", "urlPathPrefix": "dup", "selfRegistration": false })).await;
    r.problem(409, "site_prefix_taken");
    let r = app.post("/api/v1/sites", json!({ "name": "Bad", "urlPathPrefix": "Not OK/" })).await;
    r.problem(422, "validation_failed");
    let r = app.post("/api/v1/sites", json!({ "name": " ", "urlPathPrefix": "blank" })).await;
    r.problem(422, "validation_failed");
    assert_eq!(app.get("/api/v1/sites").await.ok(200)["items"].as_array().unwrap().len(), 1);
    app.put(&format!("/api/v1/sites/{site}/members/0192d7a4-0000-7000-8000-000000000000"), json!({}))
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn every_mutation_is_audited_and_the_log_pages_newest_first() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let user = app.contactless("audited@example.com").await;
    let uid = id(&user);
    app.patch(&format!("/api/v1/users/{uid}"), json!({ "displayName": "Aud" })).await.ok(200);
    app.put(
        &format!("/api/v1/users/{uid}/contact"),
        json!({ "contact": { "accountId": account, "firstName": "a", "lastName": "b", "email": "a@example.com" } }),
    )
    .await
    .ok(200);
    app.post(&format!("/api/v1/users/{uid}/upgrade"), json!({ "license": "customer_community" })).await.ok(200);
    app.post(&format!("/api/v1/users/{uid}/downgrade"), json!({})).await.ok(200);
    let actions = app.audit_actions(&uid).await;
    assert_eq!(
        actions,
        vec!["user.downgraded", "user.upgraded", "user.contact_assigned", "user.updated", "user.created"]
    );
    let r = app.get(&format!("/api/v1/audit?targetId={uid}&action=user.updated")).await;
    let e = &r.ok(200)["items"][0];
    assert_eq!(e["details"]["changes"]["displayName"], json!({ "before": null, "after": "Aud" }));
    assert_eq!(e["targetType"], "user");
    assert!(e["at"].is_string() && e["actor"] == "bootstrap");

    // Newest first, paged.
    let first = app.get("/api/v1/audit?limit=2").await;
    let next = first.ok(200)["nextCursor"].as_str().unwrap().to_owned();
    let second = app.get(&format!("/api/v1/audit?limit=2&cursor={next}")).await;
    let a = first.body["items"][1]["id"].as_str().unwrap().to_owned();
    let b = second.ok(200)["items"][0]["id"].as_str().unwrap().to_owned();
    assert!(a > b, "{a} then {b}");
    // Account and token creation are audited too.
    let r = app.get("/api/v1/audit?action=account.created").await;
    assert_eq!(r.ok(200)["items"][0]["targetId"], account.as_str());
    let t = app.token("admin", &[], None).await;
    let r = app.call(Method::GET, "/api/v1/audit?action=token.created", Some(&t), None).await;
    assert!(!r.body.to_string().contains(&t), "the audit log never holds a secret");
    assert_eq!(r.ok(200)["items"].as_array().unwrap().len(), 1);
}

/// Site membership is the policy's: a delegated admin puts users only into the sites its
/// token allows (`siteIds`, none by default), and an unknown site answers exactly as a
/// forbidden one (nothing tells which sites exist). Admins keep every site.
#[tokio::test]
async fn delegated_admins_put_users_only_into_the_sites_their_token_allows() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let allowed = app.site("partners", false).await;
    let other = app.site("customers", false).await;
    let plain = app.token("delegated_admin", &[&account], None).await;
    let r = app
        .post(
            "/api/v1/tokens",
            json!({ "name": "acme-sites", "role": "delegated_admin", "accountIds": [account], "siteIds": [allowed] }),
        )
        .await;
    let with_sites = r.ok(201)["token"].as_str().unwrap().to_owned();
    let listed = app.get("/api/v1/tokens").await;
    let row = listed.ok(200)["items"].as_array().unwrap().iter().find(|t| t["name"] == "acme-sites").unwrap().clone();
    assert_eq!(row["siteIds"], json!([allowed]));

    let create = |user_name: &str, site: &str| {
        json!({
            "userName": user_name, "email": format!("{user_name}@acme.example"),
            "contact": { "accountId": account, "firstName": "A", "lastName": "B", "email": format!("{user_name}@acme.example") },
            "siteIds": [site]
        })
    };
    let unknown = uuid::Uuid::now_v7().to_string();
    // A token without sites: every site, and an unknown one, is out of scope, alike.
    let forbidden = app.call(Method::POST, "/api/v1/users", Some(&plain), Some(create("d1", &allowed))).await;
    forbidden.problem(403, "out_of_scope");
    let missing = app.call(Method::POST, "/api/v1/users", Some(&plain), Some(create("d2", &unknown))).await;
    missing.problem(403, "out_of_scope");
    assert_eq!(forbidden.body["detail"], missing.body["detail"]);
    // The allowed site works; another site and an unknown one do not.
    let r = app.call(Method::POST, "/api/v1/users", Some(&with_sites), Some(create("d3", &allowed))).await;
    assert_eq!(r.ok(201)["siteIds"], json!([allowed]));
    app.call(Method::POST, "/api/v1/users", Some(&with_sites), Some(create("d4", &other)))
        .await
        .problem(403, "out_of_scope");
    app.call(Method::POST, "/api/v1/users", Some(&with_sites), Some(create("d5", &unknown)))
        .await
        .problem(403, "out_of_scope");
    // Nothing was created by the refused requests.
    let r = app.get("/api/v1/users?userName=d1").await;
    assert_eq!(r.ok(200)["items"], json!([]));
    // An admin uses any site; an unknown one is a validation error for it.
    let r = app.post("/api/v1/users", create("a1", &other)).await;
    assert_eq!(r.ok(201)["siteIds"], json!([other]));
    app.post("/api/v1/users", create("a2", &unknown)).await.problem(422, "validation_failed");
    // siteIds belong to delegated admins only.
    app.post("/api/v1/tokens", json!({ "name": "x", "role": "admin", "siteIds": [allowed] }))
        .await
        .problem(422, "validation_failed");
}
