//! One scenario per paragraph of the contactless-users seed.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{id, spawn_app};

#[tokio::test]
async fn self_registration_creates_a_contactless_member_of_the_site() {
    let app = spawn_app().await;
    let site = app.site("portal", true).await;
    let reg = app.token("registration", &[], Some(&site)).await;

    let body = json!({ "userName": "new.visitor@example.com", "email": "new.visitor@example.com", "firstName": "New" });
    let r = app.register(&site, &reg, body).await;
    let user = r.ok(201);
    assert_eq!(user["contactless"], true);
    assert_eq!(user["contactId"], serde_json::Value::Null);
    assert_eq!(user["accountId"], serde_json::Value::Null);
    assert_eq!(user["license"], "external_identity");
    assert_eq!(user["origin"], "self_registration");
    assert_eq!(user["siteIds"], json!([site]));

    let members = app.get(&format!("/api/v1/sites/{site}/members")).await;
    assert_eq!(members.ok(200)["items"][0]["id"], user["id"]);
    assert_eq!(app.pool("external_identity").await["used"], 1);

    // A site with the switch off refuses, whoever asks.
    let closed = app.site("closed", false).await;
    let r = app.register(&closed, &app.admin, json!({ "userName": "x@example.com", "email": "x@example.com" })).await;
    r.problem(403, "self_registration_disabled");
}

#[tokio::test]
async fn a_contactless_user_is_upgraded_only_after_a_contact_is_assigned() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let user = app.contactless("grow@example.com").await;
    let uid = id(&user);

    let r = app.post(&format!("/api/v1/users/{uid}/upgrade"), json!({ "license": "customer_community" })).await;
    r.problem(422, "contact_required");
    assert!(r.body["detail"].as_str().unwrap().contains("contact"));
    assert_eq!(app.pool("customer_community").await["used"], 0);

    let r = app
        .put(
            &format!("/api/v1/users/{uid}/contact"),
            json!({ "contact": { "accountId": account, "firstName": "Gro", "lastName": "W", "email": "grow@example.com" } }),
        )
        .await;
    let linked = r.ok(200);
    assert_eq!(linked["contactless"], false);
    assert_eq!(linked["accountId"], account.as_str());
    assert_eq!(linked["license"], "external_identity", "assigning a contact leaves the license");

    let r = app.post(&format!("/api/v1/users/{uid}/upgrade"), json!({ "license": "customer_community" })).await;
    let up = r.ok(200);
    assert_eq!(up["license"], "customer_community");
    assert_eq!(app.pool("customer_community").await["used"], 1);
    assert_eq!(app.pool("external_identity").await["used"], 0);
    let actions = app.audit_actions(&uid).await;
    assert!(actions.contains(&"user.contact_assigned".to_owned()) && actions.contains(&"user.upgraded".to_owned()));
}

#[tokio::test]
async fn downgrading_a_community_user_keeps_its_contact_and_returns_the_license() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    app.put("/api/v1/licenses/partner_community", json!({ "capacity": 1 })).await.ok(200);
    let user = app.backed("partner@example.com", &account, "partner_community").await;
    let uid = id(&user);
    let contact = user["contactId"].as_str().unwrap().to_owned();
    assert_eq!(app.pool("partner_community").await["available"], 0);

    let r = app.post(&format!("/api/v1/users/{uid}/downgrade"), json!({})).await;
    let down = r.ok(200);
    assert_eq!(down["contactless"], true);
    assert_eq!(down["license"], "external_identity");
    assert_eq!(down["contactId"], serde_json::Value::Null);
    let pool = app.pool("partner_community").await;
    assert_eq!((pool["used"].clone(), pool["available"].clone()), (json!(0), json!(1)));
    // The contact record stays.
    app.get(&format!("/api/v1/contacts/{contact}")).await.ok(200);
    // The audit event records what changed, before and after.
    let audit = app.get(&format!("/api/v1/audit?targetId={uid}&action=user.downgraded")).await;
    let event = &audit.ok(200)["items"][0];
    assert_eq!(
        event["details"]["changes"]["license"],
        json!({ "before": "partner_community", "after": "external_identity" })
    );
    assert_eq!(event["details"]["contactKept"], contact.as_str());
    assert_eq!(event["actor"], "bootstrap");
}

#[tokio::test]
async fn downgrading_a_contactless_user_is_a_no_op_that_succeeds() {
    let app = spawn_app().await;
    let user = app.contactless("already@example.com").await;
    let r = app.post(&format!("/api/v1/users/{}/downgrade", id(&user)), json!({})).await;
    let same = r.ok(200);
    assert_eq!(same["version"], user["version"]);
    assert_eq!(same["contactless"], true);
}

#[tokio::test]
async fn login_as_is_refused_for_contactless_users_and_allowed_with_a_contact() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let contactless = app.contactless("ghost@example.com").await;
    let r = app.post(&format!("/api/v1/users/{}/login-as", id(&contactless)), json!({})).await;
    r.problem(422, "contact_required");

    let backed = app.backed("real@example.com", &account, "customer_community").await;
    let r = app.post(&format!("/api/v1/users/{}/login-as", id(&backed)), json!({})).await;
    let session = r.ok(201).clone();
    assert_eq!(session["userId"], backed["id"]);
    let token = session["sessionToken"].as_str().unwrap().to_owned();
    let expires = chrono::DateTime::parse_from_rfc3339(session["expiresAt"].as_str().unwrap()).unwrap();
    let ttl = expires.signed_duration_since(chrono::Utc::now());
    assert!(ttl.num_seconds() > 0 && ttl.num_seconds() <= 300, "short-lived: {ttl}");

    // Using the session is audited against the impersonated user.
    let r = app.call(Method::GET, "/api/v1/session", Some(&token), None).await;
    assert_eq!(r.ok(200)["user"]["id"], backed["id"]);
    assert_eq!(r.body["startedBy"], "bootstrap");
    let actions = app.audit_actions(&id(&backed)).await;
    assert!(actions.contains(&"user.login_as".to_owned()), "{actions:?}");
    assert!(actions.contains(&"user.login_as_used".to_owned()), "{actions:?}");
    // A session token is no API token, and an API token no session.
    app.call(Method::GET, "/api/v1/users", Some(&token), None).await.problem(401, "unauthorized");
    app.call(Method::GET, "/api/v1/session", Some(&app.admin), None).await.problem(401, "unauthorized");
}

#[tokio::test]
async fn delegated_admins_manage_in_scope_contact_backed_users_and_never_contactless_ones() {
    let app = spawn_app().await;
    let mine = app.account("Mine").await;
    let theirs = app.account("Theirs").await;
    let del = app.token("delegated_admin", &[&mine], None).await;
    let contactless = app.contactless("nocontact@example.com").await;
    let outside = app.backed("outside@example.com", &theirs, "customer_community").await;

    // Create in scope: allowed.
    let r = app
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&del),
            Some(json!({
                "userName": "inscope@example.com", "email": "inscope@example.com",
                "contact": { "accountId": mine, "firstName": "In", "lastName": "Scope", "email": "inscope@example.com" }
            })),
        )
        .await;
    let inscope = r.ok(201).clone();
    let uid = id(&inscope);
    // Manage it: read, update, upgrade.
    app.call(Method::GET, &format!("/api/v1/users/{uid}"), Some(&del), None).await.ok(200);
    app.call(Method::PATCH, &format!("/api/v1/users/{uid}"), Some(&del), Some(json!({ "displayName": "In Scope" })))
        .await
        .ok(200);
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/users/{uid}/upgrade"),
            Some(&del),
            Some(json!({ "license": "customer_community" })),
        )
        .await;
    assert_eq!(r.ok(200)["license"], "customer_community");
    // Login-as an in-scope contact-backed user: allowed.
    app.call(Method::POST, &format!("/api/v1/users/{uid}/login-as"), Some(&del), None).await.ok(201);

    // Contactless users: refused on every path (read, update, contact, upgrade, login-as, delete).
    let cid = id(&contactless);
    let refused = [
        (Method::GET, format!("/api/v1/users/{cid}"), None),
        (Method::PATCH, format!("/api/v1/users/{cid}"), Some(json!({ "displayName": "x" }))),
        (
            Method::PUT,
            format!("/api/v1/users/{cid}/contact"),
            Some(
                json!({ "contact": { "accountId": mine, "firstName": "a", "lastName": "b", "email": "a@example.com" } }),
            ),
        ),
        (Method::POST, format!("/api/v1/users/{cid}/upgrade"), Some(json!({ "license": "customer_community" }))),
        (Method::POST, format!("/api/v1/users/{cid}/downgrade"), None),
        (Method::POST, format!("/api/v1/users/{cid}/login-as"), None),
        (Method::DELETE, format!("/api/v1/users/{cid}"), None),
    ];
    for (method, path, body) in refused {
        app.call(method.clone(), &path, Some(&del), body).await.problem(403, "delegated_admin_forbidden");
    }
    // Creating a contactless user, or making one (downgrade, bulk downgrade): refused.
    app.call(
        Method::POST,
        "/api/v1/users",
        Some(&del),
        Some(json!({ "userName": "cl@example.com", "email": "cl@example.com" })),
    )
    .await
    .problem(403, "delegated_admin_forbidden");
    app.call(Method::POST, &format!("/api/v1/users/{uid}/downgrade"), Some(&del), None)
        .await
        .problem(403, "delegated_admin_forbidden");
    app.call(Method::POST, "/api/v1/users/downgrade", Some(&del), Some(json!({ "userIds": [uid] })))
        .await
        .problem(403, "delegated_admin_forbidden");
    // Outside its accounts: out_of_scope.
    app.call(Method::GET, &format!("/api/v1/users/{}", id(&outside)), Some(&del), None)
        .await
        .problem(403, "out_of_scope");
    app.call(Method::GET, &format!("/api/v1/users?accountId={theirs}"), Some(&del), None)
        .await
        .problem(403, "out_of_scope");
    // Listing shows only its own contact-backed users.
    let r = app.call(Method::GET, "/api/v1/users", Some(&del), None).await;
    let ids: Vec<_> = r.ok(200)["items"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, vec![uid.clone()]);
    let r = app.call(Method::GET, "/api/v1/users?contactless=true", Some(&del), None).await;
    assert_eq!(r.ok(200)["items"], json!([]));
    // And the user was never changed by the refused requests.
    let after = app.get(&format!("/api/v1/users/{cid}")).await;
    assert_eq!(after.ok(200)["version"], contactless["version"]);
    // Not an admin: the other native endpoints are forbidden.
    app.call(Method::GET, "/api/v1/licenses", Some(&del), None).await.problem(403, "forbidden");
}

#[tokio::test]
async fn contactless_users_have_the_same_site_membership_and_reads_as_others() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let site = app.site("members", false).await;
    let contactless = app.contactless("cl@example.com").await;
    let backed = app.backed("cb@example.com", &account, "customer_community").await;
    for u in [&contactless, &backed] {
        let r = app.put(&format!("/api/v1/sites/{site}/members/{}", id(u)), json!({})).await;
        assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    }
    let members = app.get(&format!("/api/v1/sites/{site}/members")).await;
    assert_eq!(members.ok(200)["items"].as_array().unwrap().len(), 2);
    let by_site = app.get(&format!("/api/v1/users?siteId={site}")).await;
    assert_eq!(by_site.ok(200)["items"].as_array().unwrap().len(), 2);
    for u in [&contactless, &backed] {
        let r = app.get(&format!("/api/v1/users/{}", id(u))).await;
        let read = r.ok(200);
        assert_eq!(read["siteIds"], json!([site]));
        // Every attribute is present for both kinds of user.
        let keys: Vec<_> = read.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 17, "{keys:?}");
    }
    // Removing membership is idempotent.
    for _ in 0..2 {
        let r = app.delete(&format!("/api/v1/sites/{site}/members/{}", id(&contactless))).await;
        assert_eq!(r.status.as_u16(), 204);
    }
    let r = app.get(&format!("/api/v1/users/{}", id(&contactless))).await;
    assert_eq!(r.ok(200)["siteIds"], json!([]));
}
