//! The request bodies Microsoft Entra ID and Okta send (from their public SCIM
//! provisioning documentation), kept under tests/fixtures/.

use reqwest::Method;
use serde_json::json;

use crate::helpers::urn::{ENTERPRISE, EXT};
use crate::helpers::{fixture, id, spawn_app};

fn q(s: &str) -> String {
    s.replace(' ', "%20").replace('"', "%22")
}

#[tokio::test]
async fn entra_id_provisioning_cycle() {
    let app = spawn_app().await;
    let scim = app.token("scim", &[], None).await;
    let call = |m: Method, p: String, b: Option<serde_json::Value>| {
        let scim = scim.clone();
        let app = &app;
        async move { app.scim(m, &p, Some(&scim), b).await }
    };
    // Entra first looks the user up by userName, then creates it.
    let user_name = "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1";
    let r = call(Method::GET, format!("/Users?filter={}", q(&format!("userName eq \"{user_name}\""))), None).await;
    assert_eq!(r.ok(200)["totalResults"], 0);
    let r = call(Method::POST, "/Users".into(), Some(fixture("entra/create-user.json", &[]))).await;
    let user = r.ok(201).clone();
    assert_eq!(app.identity(&id(&user)).await["contactless"], false, "SCIM users are contact-backed");
    assert_eq!(user["roles"], serde_json::Value::Null, "an empty list is no value");
    let uid = id(&user);
    let manager = call(Method::POST, "/Users".into(), Some(json!({ "userName": "manager@contoso.example" }))).await;
    let mid = id(manager.ok(201));

    let r =
        call(Method::PATCH, format!("/Users/{uid}"), Some(fixture("entra/patch-user.json", &[("MANAGER_ID", &mid)])))
            .await;
    let patched = r.ok(200).clone();
    assert_eq!(patched["emails"][0]["value"], "updatedEmail@microsoft.com");
    assert_eq!(patched["name"]["familyName"], "updatedFamilyName");
    assert_eq!(patched[ENTERPRISE]["manager"]["value"], mid.as_str());
    assert!(
        patched["phoneNumbers"].as_array().unwrap().contains(&json!({ "type": "mobile", "value": "+1 425 555 0100" }))
    );
    let contact =
        app.get(&format!("/api/v1/contacts/{}", app.identity(&uid).await["contactId"].as_str().unwrap())).await;
    assert_eq!(contact.ok(200)["email"], "updatedEmail@microsoft.com");
    assert_eq!(contact.body["phone"], "+1 425 555 0100");

    let r = call(Method::PATCH, format!("/Users/{uid}"), Some(fixture("entra/disable-user.json", &[]))).await;
    assert_eq!(r.ok(200)["active"], false);

    // Groups: looked up by displayName without members, created, members added and removed.
    let r = call(
        Method::GET,
        format!("/Groups?excludedAttributes=members&filter={}", q("displayName eq \"displayName\"")),
        None,
    )
    .await;
    assert_eq!(r.ok(200)["totalResults"], 0);
    let r = call(Method::POST, "/Groups".into(), Some(fixture("entra/create-group.json", &[]))).await;
    let gid = id(r.ok(201));
    assert_eq!(r.body["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    let r = call(Method::PATCH, format!("/Groups/{gid}"), Some(fixture("entra/add-member.json", &[("USER_ID", &uid)])))
        .await;
    assert_eq!(r.ok(200)["members"][0]["value"], uid.as_str());
    let r =
        call(Method::PATCH, format!("/Groups/{gid}"), Some(fixture("entra/remove-member.json", &[("USER_ID", &uid)])))
            .await;
    assert!(r.ok(200).get("members").is_none());
    let r = call(Method::DELETE, format!("/Users/{uid}"), None).await;
    assert_eq!(r.status.as_u16(), 204);
}

#[tokio::test]
async fn okta_provisioning_cycle() {
    let app = spawn_app().await;
    let account = app.account("Okta customers").await;
    let scim = app.token("scim", &[&account], None).await;
    let call = |m: Method, p: String, b: Option<serde_json::Value>| {
        let scim = scim.clone();
        let app = &app;
        async move { app.scim(m, &p, Some(&scim), b).await }
    };
    let r = call(
        Method::GET,
        format!("/Users?filter={}&startIndex=1&count=100", q("userName eq \"test.user@okta.local\"")),
        None,
    )
    .await;
    assert_eq!(r.ok(200)["Resources"], json!([]));
    let r = call(Method::POST, "/Users".into(), Some(fixture("okta/create-user.json", &[]))).await;
    let user = r.ok(201).clone();
    let uid = id(&user);
    assert!(user.get("password").is_none());
    assert_eq!(user["locale"], "en-US");
    assert_eq!(user[EXT]["accountId"], account.as_str(), "the token's account gets the contact");

    let r =
        call(Method::PUT, format!("/Users/{uid}"), Some(fixture("okta/replace-user.json", &[("USER_ID", &uid)]))).await;
    assert_eq!(r.ok(200)["name"]["givenName"], "Another");
    let contact =
        app.get(&format!("/api/v1/contacts/{}", app.identity(&uid).await["contactId"].as_str().unwrap())).await;
    assert_eq!(contact.ok(200)["firstName"], "Another");

    let r = call(Method::PATCH, format!("/Users/{uid}"), Some(fixture("okta/deactivate-user.json", &[]))).await;
    assert_eq!(r.ok(200)["active"], false);
    let native = app.get(&format!("/api/v1/users/{uid}")).await;
    assert_eq!(native.ok(200)["active"], false);

    let r = call(Method::POST, "/Groups".into(), Some(fixture("okta/create-group.json", &[]))).await;
    let gid = id(r.ok(201));
    let r = call(
        Method::PATCH,
        format!("/Groups/{gid}"),
        Some(fixture("okta/patch-group.json", &[("GROUP_ID", &gid), ("USER_ID", &uid)])),
    )
    .await;
    assert_eq!(r.ok(200)["displayName"], "Test SCIMv2 renamed");
    assert_eq!(r.body["members"][0]["value"], uid.as_str());
    let r =
        call(Method::PATCH, format!("/Groups/{gid}"), Some(fixture("okta/remove-member.json", &[("USER_ID", &uid)])))
            .await;
    assert!(r.ok(200).get("members").is_none());
}
