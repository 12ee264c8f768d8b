//! Interoperability (issue 13): the request forms real SCIM clients send, replayed as they
//! send them, and the answers they need.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::urn::{ENTERPRISE, EXT, GROUP, PATCH, USER};
use crate::helpers::{Reply, TestApp, id, spawn_app, urlencode};

impl TestApp {
    async fn sc(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.scim_raw(method, path, Some(&self.admin), body).await
    }

    async fn user_named(&self, user_name: &str, emails: Value) -> Value {
        let body = json!({ "schemas": [USER], "userName": user_name, "emails": emails });
        self.sc(Method::POST, "/Users", Some(body)).await.ok(201).clone()
    }

    async fn user_names(&self, filter: &str) -> Vec<String> {
        let r = self.sc(Method::GET, &format!("/Users?filter={}", urlencode(filter)), None).await;
        let mut names: Vec<String> = r.ok(200)["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    }
}

/// Item 1: Entra ID matches on the work email with a sub-attribute after the value filter.
#[tokio::test]
async fn a_sub_attribute_after_a_value_filter_is_read_into_the_filter() {
    let app = spawn_app().await;
    app.user_named("work", json!([{ "value": "a@b.c", "type": "work" }])).await;
    app.user_named("home", json!([{ "value": "a@b.c", "type": "home" }, { "value": "x@b.c", "type": "work" }])).await;
    app.user_named("other", json!([{ "value": "o@b.c", "type": "work" }])).await;
    let r =
        app.sc(Method::GET, "/Users?filter=emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22a%40b.c%22", None).await;
    let body = r.ok(200);
    assert_eq!(body["totalResults"], 1, "{body}");
    assert_eq!(body["Resources"][0]["userName"], "work");
    // Same meaning as the RFC form, and `pr` too; case of the type is not significant.
    assert_eq!(app.user_names(r#"emails[type eq "work" and value eq "a@b.c"]"#).await, ["work"]);
    assert_eq!(app.user_names(r#"emails[type eq "WORK"].value eq "A@B.C""#).await, ["work"]);
    assert_eq!(app.user_names(r#"emails[type eq "home"].value pr"#).await, ["home"]);
    assert_eq!(
        app.user_names(r#"emails[type eq "work"].value sw "a" or userName eq "other""#).await,
        ["other", "work"]
    );
    // Not the grammar of anything: still a clear invalidFilter.
    let r = app.sc(Method::GET, &format!("/Users?filter={}", urlencode(r#"emails[type eq "work"].value"#)), None).await;
    r.scim_error(400, Some("invalidFilter"));
}

/// Item 2: Microsoft's validator filters on the manager reference; Entra ID writes it as a
/// bare id and clears it with an empty value or null.
#[tokio::test]
async fn the_manager_reference_is_filtered_written_bare_and_cleared() {
    let app = spawn_app().await;
    let boss = id(&app.user_named("boss", json!([])).await);
    let body = json!({ "schemas": [USER, ENTERPRISE], "userName": "worker", ENTERPRISE: { "manager": boss } });
    let worker = app.sc(Method::POST, "/Users", Some(body)).await.ok(201).clone();
    assert_eq!(worker[ENTERPRISE]["manager"]["value"], boss.as_str(), "a bare id is the manager's value");
    let wid = id(&worker);
    for filter in [
        format!(r#"id eq "{wid}" and manager eq "{boss}""#),
        format!(r#"manager eq "{boss}""#),
        format!(r#"manager.value eq "{boss}""#),
        format!(r#"{ENTERPRISE}:manager eq "{boss}""#),
        format!(r#"{ENTERPRISE}:manager.value eq "{boss}""#),
    ] {
        assert_eq!(app.user_names(&filter).await, ["worker"], "{filter}");
    }
    assert!(app.user_names(&format!(r#"id eq "{wid}" and manager eq "nobody""#)).await.is_empty());

    let path = format!("/Users/{wid}");
    let manager = format!("{ENTERPRISE}:manager");
    let patch = |op: Value| app.sc(Method::PATCH, &path, Some(json!({ "schemas": [PATCH], "Operations": [op] })));
    // Entra ID: replace with a bare id, then with an empty value, then with null.
    let r = patch(json!({ "op": "Replace", "path": manager, "value": boss })).await;
    assert_eq!(r.ok(200)[ENTERPRISE]["manager"]["value"], boss.as_str());
    let r = patch(json!({ "op": "Replace", "path": manager, "value": "" })).await;
    assert!(r.ok(200).get(ENTERPRISE).and_then(|e| e.get("manager")).is_none(), "{}", r.body);
    patch(json!({ "op": "Replace", "path": manager, "value": { "value": boss } })).await.ok(200);
    let r = patch(json!({ "op": "Replace", "path": manager, "value": { "value": "" } })).await;
    assert!(r.ok(200).get(ENTERPRISE).and_then(|e| e.get("manager")).is_none(), "{}", r.body);
    patch(json!({ "op": "Replace", "path": manager, "value": boss })).await.ok(200);
    let r = patch(json!({ "op": "Replace", "path": manager, "value": null })).await;
    assert!(r.ok(200).get(ENTERPRISE).and_then(|e| e.get("manager")).is_none(), "{}", r.body);
    // A create or replace that sends it empty stores no manager.
    let body = json!({ "schemas": [USER, ENTERPRISE], "userName": "worker", ENTERPRISE: { "manager": "" } });
    let r = app.sc(Method::PUT, &path, Some(body)).await;
    assert!(r.ok(200).get(ENTERPRISE).and_then(|e| e.get("manager")).is_none(), "{}", r.body);
}

/// Item 3: Microsoft's reference client asks for a value-filtered attribute.
#[tokio::test]
async fn value_filtered_attributes_return_the_matching_values() {
    let app = spawn_app().await;
    let u = app
        .user_named("ada", json!([{ "value": "w@x.org", "type": "work" }, { "value": "h@x.org", "type": "home" }]))
        .await;
    let r =
        app.sc(Method::GET, &format!("/Users/{}?attributes=emails%5Btype%20eq%20%22work%22%5D", id(&u)), None).await;
    let body = r.ok(200);
    assert_eq!(body["emails"], json!([{ "value": "w@x.org", "type": "work" }]), "{body}");
    assert!(body.get("userName").is_none());
    let q = urlencode(r#"emails[type eq "work"].value,userName"#);
    let r = app.sc(Method::GET, &format!("/Users?filter=userName%20eq%20%22ada%22&attributes={q}"), None).await;
    let listed = &r.ok(200)["Resources"][0];
    assert_eq!(listed["emails"], json!([{ "value": "w@x.org" }]));
    assert_eq!(listed["userName"], "ada");
    let q = urlencode(r#"emails[type eq "home"]"#);
    let r = app.sc(Method::GET, &format!("/Users/{}?excludedAttributes={q}", id(&u)), None).await;
    assert_eq!(r.ok(200)["emails"], json!([{ "value": "w@x.org", "type": "work" }]));
    // Groups: a filtered members list loads the members.
    let g = json!({ "schemas": [GROUP], "displayName": "Crew", "members": [{ "value": id(&u) }] });
    let gid = id(app.sc(Method::POST, "/Groups", Some(g)).await.ok(201));
    let q = urlencode(r#"members[type eq "User"].value"#);
    let r = app.sc(Method::GET, &format!("/Groups/{gid}?attributes={q}"), None).await;
    assert_eq!(r.ok(200)["members"], json!([{ "value": id(&u) }]));
}

/// Item 4: endpoint names in any case, one trailing slash, HEAD, and `/`.
#[tokio::test]
async fn endpoints_answer_in_any_spelling_and_head_is_get_without_a_body() {
    let app = spawn_app().await;
    app.user_named("ada", json!([])).await;
    let a = &app;
    let get = move |path: String| async move { a.call(Method::GET, &path, Some(&a.admin), None).await };
    for path in [
        "/scim/v2/users",
        "/scim/v2/Users/",
        "/scim/v2/USERS?filter=userName%20eq%20%22ada%22",
        "/scim/v2/Users/?filter=userName%20eq%20%22ada%22",
        "/SCIM/v2/users/?count=5",
    ] {
        let r = get(path.into()).await;
        assert_eq!(r.ok(200)["totalResults"], 1, "{path}");
    }
    for path in [
        "/scim/v2/serviceproviderconfig",
        "/scim/v2/ServiceProviderConfig/",
        "/scim/v2/resourcetypes/",
        "/scim/v2/schemas",
    ] {
        get(path.into()).await.ok(200);
    }
    let search =
        json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName eq \"ada\"" });
    let r = app.call(Method::POST, "/scim/v2/users/.Search", Some(&app.admin), Some(search)).await;
    assert_eq!(r.ok(200)["totalResults"], 1);
    let uid = id(&get("/scim/v2/Users?filter=userName%20eq%20%22ada%22".into()).await.body["Resources"][0]);
    get(format!("/scim/v2/users/{uid}/")).await.ok(200);
    // An unknown endpoint is still a SCIM 404; ids keep their case.
    app.call(Method::GET, "/scim/v2/Userz", Some(&app.admin), None).await.scim_error(404, None);
    app.call(Method::GET, &format!("/scim/v2/Users/{}", uid.to_uppercase()), Some(&app.admin), None)
        .await
        .scim_error(404, None);

    // HEAD: the GET's status and headers, no body.
    let head = |path: &str| {
        let mut req = app.client.head(format!("{}{path}", app.address));
        req = req.bearer_auth(&app.admin);
        req.send()
    };
    let r = head("/scim/v2/users/").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/scim+json");
    assert!(r.bytes().await.unwrap().is_empty());
    let r = head(&format!("/scim/v2/Users/{uid}")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("etag"));
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = no_redirects.head(format!("{}/setup", app.address)).send().await.unwrap();
    assert_eq!(r.status(), no_redirects.get(format!("{}/setup", app.address)).send().await.unwrap().status());
    assert_ne!(r.status(), 404);
    assert_eq!(no_redirects.head(format!("{}/healthz", app.address)).send().await.unwrap().status(), 200);

    // `/`: a browser goes to the console, an API client learns where the docs are.
    let r = no_redirects.get(format!("{}/", app.address)).header("accept", "text/html,*/*").send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/setup");
    let r = app.call(Method::GET, "/", None, None).await;
    let body = r.ok(200);
    assert_eq!(body["docs"], "/docs");
    assert_eq!(body["scim"], "/scim/v2");
    assert_eq!(body["openapi"], json!(["/openapi/native.json", "/openapi/scim.json"]));
}

/// Item 5: core attributes nested under, or qualified with, the core schema URN.
#[tokio::test]
async fn core_attributes_may_come_qualified_with_the_core_urn() {
    let app = spawn_app().await;
    let body = json!({
        "schemas": [USER],
        USER: { "userName": "nested", "name": { "givenName": "Nes", "familyName": "Ted" }, "emails": [{ "value": "n@x.org" }] },
        format!("{USER}:displayName"): "Nested One",
        format!("{ENTERPRISE}:department"): "R&D",
    });
    let r = app.sc(Method::POST, "/Users", Some(body)).await;
    let u = r.ok(201).clone();
    assert_eq!(u["userName"], "nested");
    assert_eq!(u["name"]["givenName"], "Nes");
    assert_eq!(u["displayName"], "Nested One");
    assert_eq!(u[ENTERPRISE]["department"], "R&D");
    assert_eq!(u["emails"][0]["value"], "n@x.org");
    assert!(u.get(USER).is_none());
    let path = format!("/Users/{}", id(&u));
    let r = app
        .sc(
            Method::PUT,
            &path,
            Some(json!({ "schemas": [USER], USER: { "userName": "nested", "displayName": "Two" } })),
        )
        .await;
    assert_eq!(r.ok(200)["displayName"], "Two");
    // Conflicting values for one attribute are refused, not guessed.
    let r = app
        .sc(Method::PUT, &path, Some(json!({ "schemas": [USER], "userName": "a", USER: { "userName": "b" } })))
        .await;
    r.scim_error(400, Some("invalidSyntax"));
    // PATCH paths and filters, qualified.
    let ops = json!({ "schemas": [PATCH], "Operations": [
        { "op": "replace", "path": format!("{USER}:name.familyName"), "value": "Qualified" },
        { "op": "add", "value": { USER: { "title": "Dr" }, format!("{USER}:nickName"): "Q" } },
    ]});
    let r = app.sc(Method::PATCH, &path, Some(ops)).await;
    let patched = r.ok(200);
    assert_eq!((patched["name"]["familyName"].clone(), patched["title"].clone()), (json!("Qualified"), json!("Dr")));
    assert_eq!(patched["nickName"], "Q");
    assert_eq!(app.user_names(&format!(r#"{USER}:name.familyName eq "Qualified""#)).await, ["nested"]);
    assert_eq!(app.user_names(&format!(r#"{}:USERNAME eq "nested""#, USER.to_uppercase())).await, ["nested"]);
    // Groups too.
    let g = json!({ "schemas": [GROUP], GROUP: { "displayName": "Qualified", "members": [{ "value": id(&u) }] } });
    let r = app.sc(Method::POST, "/Groups", Some(g)).await;
    assert_eq!(r.ok(201)["displayName"], "Qualified");
    assert_eq!(r.body["members"][0]["value"], id(&u).as_str());
    let q = urlencode(&format!(r#"{GROUP}:displayName eq "Qualified""#));
    assert_eq!(app.sc(Method::GET, &format!("/Groups?filter={q}"), None).await.ok(200)["totalResults"], 1);
}

/// Item 6: capitalized names and values in bodies, on create, replace and PATCH.
#[tokio::test]
async fn attribute_names_are_case_insensitive_on_every_write_path() {
    let app = spawn_app().await;
    let boss = id(&app.user_named("boss", json!([])).await);
    let body = json!({
        "Schemas": [USER, ENTERPRISE],
        "UserName": "caps",
        "Active": "False",
        "Name": { "GivenName": "Cap", "FamilyName": "Ital" },
        "Emails": [{ "Value": "c@x.org", "Type": "work", "Primary": true }],
        "PhoneNumbers": [{ "Value": "+1 555", "Type": "work", "Primary": "True" }],
        "Title": "Boss",
        ENTERPRISE.to_uppercase(): { "Manager": { "Value": boss }, "Department": "Ops" },
    });
    let r = app.sc(Method::POST, "/Users", Some(body)).await;
    let u = r.ok(201).clone();
    assert_eq!(u["active"], false);
    assert_eq!(u["name"], json!({ "givenName": "Cap", "familyName": "Ital" }));
    assert_eq!(u["emails"], json!([{ "value": "c@x.org", "type": "work", "primary": true }]));
    assert_eq!(u["phoneNumbers"], json!([{ "value": "+1 555", "type": "work", "primary": true }]));
    assert_eq!(u["title"], "Boss");
    assert_eq!(u[ENTERPRISE]["manager"]["value"], boss.as_str());
    assert_eq!(u[ENTERPRISE]["department"], "Ops");
    for key in ["Title", "PhoneNumbers", "Name"] {
        assert!(u.get(key).is_none(), "{key} is stored under its canonical name: {u}");
    }
    let path = format!("/Users/{}", id(&u));
    let body = json!({ "schemas": [USER], "USERNAME": "caps", "ACTIVE": "True", "NickName": "C" });
    let r = app.sc(Method::PUT, &path, Some(body)).await;
    assert_eq!((r.ok(200)["active"].clone(), r.body["nickName"].clone()), (json!(true), json!("C")));
    let ops = json!({ "schemas": [PATCH], "Operations": [
        { "Op": "Replace", "Path": "Active", "Value": "False" },
        { "op": "Add", "value": { "Emails": [{ "Value": "d@x.org", "Type": "home" }], "ProfileUrl": "https://x.org/c" } },
    ]});
    let r = app.sc(Method::PATCH, &path, Some(ops)).await;
    let p = r.ok(200);
    assert_eq!(p["active"], false);
    assert_eq!(p["profileUrl"], "https://x.org/c");
    assert_eq!(p["emails"].as_array().unwrap().len(), 1, "PUT replaced the emails; PATCH added one: {p}");
    assert_eq!(p["emails"][0], json!({ "value": "d@x.org", "type": "home" }));
}

/// Items 7 and 8: the contactless facts and `members.display` are returned by default, and
/// sending the facts back unchanged is accepted.
#[tokio::test]
async fn the_contactless_facts_and_member_names_are_returned_by_default() {
    let app = spawn_app().await;
    let u = app.user_named("ada", json!([])).await;
    for fact in ["contactless", "contactId", "origin", "accountId", "license"] {
        assert!(u[EXT].get(fact).is_some(), "{fact}: {u}");
    }
    let listed = app.sc(Method::GET, "/Users", None).await.ok(200)["Resources"][0].clone();
    assert_eq!(listed[EXT]["contactless"], false);
    assert_eq!(listed[EXT]["origin"], "scim");
    // A contactless user (native) reads as one over SCIM.
    let native = app.contactless("native-one").await;
    let r = app.sc(Method::GET, &format!("/Users/{}", id(&native)), None).await;
    assert_eq!(r.ok(200)[EXT]["contactless"], true);
    assert!(r.body[EXT].get("contactId").is_none());
    // The whole user read back and sent again is accepted.
    let mut back = u.clone();
    back.as_object_mut().unwrap().remove("meta");
    let r = app.sc(Method::PUT, &format!("/Users/{}", id(&u)), Some(back)).await;
    assert_eq!(r.ok(200)[EXT], u[EXT]);
    // The schema says so.
    let s = app.sc(Method::GET, &format!("/Schemas/{EXT}"), None).await;
    for attr in s.ok(200)["attributes"].as_array().unwrap() {
        assert_eq!(attr["returned"], "default", "{attr}");
    }
    let g = app.sc(Method::GET, &format!("/Schemas/{GROUP}"), None).await;
    let members = g.ok(200)["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "members").unwrap().clone();
    let display = members["subAttributes"].as_array().unwrap().iter().find(|a| a["name"] == "display").unwrap();
    assert_eq!(display["returned"], "default");
    let body = json!({ "schemas": [GROUP], "displayName": "Crew", "members": [{ "value": id(&u) }] });
    let r = app.sc(Method::POST, "/Groups", Some(body)).await;
    assert_eq!(r.ok(201)["members"][0]["display"], "ada");
    let listed = app.sc(Method::GET, "/Groups", None).await;
    assert_eq!(listed.ok(200)["Resources"][0]["members"][0]["display"], "ada");
}

/// Item 10: ordering operators on booleans and complex attributes are invalid filters.
#[tokio::test]
async fn ordering_a_boolean_or_a_complex_attribute_is_an_invalid_filter() {
    let app = spawn_app().await;
    app.user_named("ada", json!([{ "value": "a@x.org" }])).await;
    for filter in ["active gt true", "active le false", r#"emails gt "a""#, r#"name lt "a""#, "emails[primary ge true]"]
    {
        let r = app.sc(Method::GET, &format!("/Users?filter={}", urlencode(filter)), None).await;
        r.scim_error(400, Some("invalidFilter"));
        assert!(r.body["detail"].as_str().unwrap().contains("gt, ge, lt and le"), "{filter}: {}", r.body);
    }
    let search =
        json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "active gt true" });
    app.sc(Method::POST, "/Users/.search", Some(search)).await.scim_error(400, Some("invalidFilter"));
    let q = urlencode(r#"members gt "a""#);
    app.sc(Method::GET, &format!("/Groups?filter={q}"), None).await.scim_error(400, Some("invalidFilter"));
    // In a PATCH path's value filter too.
    let uid = id(&app.sc(Method::GET, "/Users", None).await.body["Resources"][0]);
    let ops = json!({ "schemas": [PATCH], "Operations": [{ "op": "remove", "path": "emails[primary gt false]" }] });
    app.sc(Method::PATCH, &format!("/Users/{uid}"), Some(ops)).await.scim_error(400, Some("invalidFilter"));
    // Strings, numbers and dates still order.
    assert_eq!(app.user_names(r#"userName ge "a" and meta.created gt "2000-01-01T00:00:00Z""#).await, ["ada"]);
}

/// Item 11: a (type, value) pair is stored once, on every write path.
#[tokio::test]
async fn repeated_type_value_pairs_are_stored_once() {
    let app = spawn_app().await;
    let twice = json!([
        { "value": "a@x.org", "type": "work" },
        { "value": "A@x.org", "type": "Work", "primary": true },
        { "value": "a@x.org", "type": "home" },
    ]);
    let u = app.user_named("ada", twice.clone()).await;
    let once = json!([{ "value": "a@x.org", "type": "work", "primary": true }, { "value": "a@x.org", "type": "home" }]);
    assert_eq!(u["emails"], once);
    let path = format!("/Users/{}", id(&u));
    let phones = json!([{ "value": "+1 555", "type": "work" }, { "value": "+1 555", "type": "work" }]);
    let r = app
        .sc(
            Method::PUT,
            &path,
            Some(json!({ "schemas": [USER], "userName": "ada", "emails": twice, "phoneNumbers": phones })),
        )
        .await;
    assert_eq!(r.ok(200)["emails"], once);
    assert_eq!(r.body["phoneNumbers"], json!([{ "value": "+1 555", "type": "work" }]));
    let ops = json!({ "schemas": [PATCH], "Operations": [
        { "op": "replace", "path": "emails", "value": [{ "value": "b@x.org", "type": "work" }, { "value": "B@X.ORG", "type": "work" }] },
        { "op": "add", "path": "phoneNumbers", "value": [{ "value": "+1 555", "type": "work" }] },
    ]});
    let r = app.sc(Method::PATCH, &path, Some(ops)).await;
    assert_eq!(r.ok(200)["emails"], json!([{ "value": "b@x.org", "type": "work" }]));
    assert_eq!(r.body["phoneNumbers"], json!([{ "value": "+1 555", "type": "work" }]));
    // Stored once: the native view agrees.
    let stored = app.sc(Method::GET, &path, None).await;
    assert_eq!(stored.ok(200)["emails"].as_array().unwrap().len(), 1);
}

/// Item 12: members that do not exist are refused, every one of them named.
#[tokio::test]
async fn unknown_member_ids_are_named_in_the_error() {
    let app = spawn_app().await;
    let ada = id(&app.user_named("ada", json!([])).await);
    let (ghost, phantom) = ("2b7f0c52-0000-4000-8000-000000000001", "2b7f0c52-0000-4000-8000-000000000002");
    let body = json!({ "schemas": [GROUP], "displayName": "Crew",
        "members": [{ "value": ada }, { "value": ghost }, { "value": phantom }] });
    let r = app.sc(Method::POST, "/Groups", Some(body)).await;
    r.scim_error(400, Some("invalidValue"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains(ghost) && detail.contains(phantom) && !detail.contains(&ada), "{detail}");
    let body = json!({ "schemas": [GROUP], "displayName": "Crew", "members": [{ "value": ada }] });
    let gid = id(app.sc(Method::POST, "/Groups", Some(body)).await.ok(201));
    let ops = json!({ "schemas": [PATCH], "Operations": [{ "op": "add", "path": "members", "value": [{ "value": ghost }] }] });
    let r = app.sc(Method::PATCH, &format!("/Groups/{gid}"), Some(ops)).await;
    r.scim_error(400, Some("invalidValue"));
    assert!(r.body["detail"].as_str().unwrap().contains(&format!("no user or group has the id {ghost}")), "{}", r.body);
    // Nothing was stored.
    let g = app.sc(Method::GET, &format!("/Groups/{gid}"), None).await;
    assert_eq!(
        g.ok(200)["members"],
        json!([{ "value": ada, "type": "User", "display": "ada", "$ref": format!("{}/scim/v2/Users/{ada}", app.address) }])
    );
}

/// Item 9: another `accountId` moves the user and its contact, over SCIM and natively.
#[tokio::test]
async fn a_user_moves_to_another_account_with_its_contact() {
    let app = spawn_app().await;
    let (a, b, c) = (app.account("A").await, app.account("B").await, app.account("C").await);
    let body = json!({ "schemas": [USER, EXT], "userName": "mover", "name": { "givenName": "Mo", "familyName": "Ver" },
        EXT: { "accountId": a } });
    let u = app.sc(Method::POST, "/Users", Some(body)).await.ok(201).clone();
    let (uid, contact) = (id(&u), u[EXT]["contactId"].as_str().unwrap().to_owned());
    let pool_before = app.pool("customer_community").await;
    let path = format!("/Users/{uid}");

    // PUT with another account: moved, contact and all; the license stays.
    let mut moved = u.clone();
    moved[EXT]["accountId"] = json!(b);
    moved.as_object_mut().unwrap().remove("meta");
    let r = app.sc(Method::PUT, &path, Some(moved)).await;
    assert_eq!(r.ok(200)[EXT]["accountId"], b.as_str());
    assert_eq!(r.body[EXT]["contactId"], contact.as_str(), "the same contact, moved");
    assert_eq!(r.body[EXT]["license"], "customer_community");
    assert_eq!(app.get(&format!("/api/v1/contacts/{contact}")).await.ok(200)["accountId"], b.as_str());
    assert_eq!(app.pool("customer_community").await, pool_before, "pools are unaffected");
    assert!(app.audit_actions(&uid).await.contains(&"user.account_moved".to_owned()));
    assert_eq!(app.get(&format!("/api/v1/users?accountId={b}")).await.ok(200)["items"][0]["id"], uid.as_str());
    // PATCH moves too.
    let ops = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": format!("{EXT}:accountId"), "value": a }] });
    assert_eq!(app.sc(Method::PATCH, &path, Some(ops)).await.ok(200)[EXT]["accountId"], a.as_str());
    // No such account: invalidValue, nothing moved.
    let ops = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": format!("{EXT}:accountId"),
        "value": "7f000000-0000-4000-8000-000000000000" }] });
    app.sc(Method::PATCH, &path, Some(ops)).await.scim_error(400, Some("invalidValue"));
    // Required: it cannot be removed (SCIM never makes a user contactless), nor its extension.
    let ops = json!({ "schemas": [PATCH], "Operations": [{ "op": "remove", "path": format!("{EXT}:accountId") }] });
    app.sc(Method::PATCH, &path, Some(ops)).await.scim_error(400, Some("mutability"));
    let ops = json!({ "schemas": [PATCH], "Operations": [{ "op": "remove", "path": EXT }] });
    app.sc(Method::PATCH, &path, Some(ops)).await.scim_error(400, Some("mutability"));
    // The schema says it can be written.
    let s = app.sc(Method::GET, &format!("/Schemas/{EXT}"), None).await;
    let attr = s.ok(200)["attributes"].as_array().unwrap().iter().find(|x| x["name"] == "accountId").unwrap().clone();
    assert_eq!(attr["mutability"], "readWrite");
    assert_eq!(attr["required"], true);

    // A token confined to A and B moves between them only.
    let confined = app.token("scim", &[&a, &b], None).await;
    let move_to = |to: &str| json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": format!("{EXT}:accountId"), "value": to }] });
    let r = app.scim_raw(Method::PATCH, &path, Some(&confined), Some(move_to(&b))).await;
    assert_eq!(r.ok(200)[EXT]["accountId"], b.as_str());
    let r = app.scim_raw(Method::PATCH, &path, Some(&confined), Some(move_to(&c))).await;
    r.scim_error(403, None);
    assert_eq!(app.sc(Method::GET, &path, None).await.ok(200)[EXT]["accountId"], b.as_str());

    // A contactless user has no contact to move: over SCIM, the rule-2 refusal.
    let native = app.contactless("nc").await;
    let ops = move_to(&a);
    app.sc(Method::PATCH, &format!("/Users/{}", id(&native)), Some(ops)).await.scim_error(400, Some("invalidValue"));

    // Natively: PUT /users/{id}/account.
    let account_path = format!("/api/v1/users/{uid}/account");
    let r = app.put(&account_path, json!({ "accountId": c })).await;
    assert_eq!(r.ok(200)["accountId"], c.as_str());
    assert_eq!(r.body["contactId"], contact.as_str());
    let stale = app
        .call_with(
            Method::PUT,
            &account_path,
            Some(&app.admin),
            Some(json!({ "accountId": a })),
            &[("if-match", "W/\"1\"")],
        )
        .await;
    stale.problem(412, "version_mismatch");
    app.put(&account_path, json!({ "accountId": "7f000000-0000-4000-8000-000000000000" }))
        .await
        .problem(422, "validation_failed");
    app.put(&format!("/api/v1/users/{}/account", id(&native)), json!({ "accountId": a }))
        .await
        .problem(422, "contact_required");
    let delegated = app.token("delegated_admin", &[&c, &a], None).await;
    let r = app.call(Method::PUT, &account_path, Some(&delegated), Some(json!({ "accountId": b }))).await;
    r.problem(403, "out_of_scope");
    let r = app.call(Method::PUT, &account_path, Some(&delegated), Some(json!({ "accountId": a }))).await;
    assert_eq!(r.ok(200)["accountId"], a.as_str());
    assert_eq!(app.get(&format!("/api/v1/contacts/{contact}")).await.ok(200)["accountId"], a.as_str());
}

/// Walks a cursor-paged list from an empty cursor to the end; returns each page's ids.
async fn walk(app: &TestApp, path: &str, count: usize) -> Vec<Vec<String>> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut pages = vec![];
    let mut cursor = String::new();
    loop {
        let r = app.sc(Method::GET, &format!("{path}{sep}count={count}&cursor={cursor}"), None).await;
        let body = r.ok(200).clone();
        assert!(body.get("startIndex").is_none(), "cursor pages have no startIndex: {body}");
        assert_eq!(body["previousCursor"].is_string(), !pages.is_empty(), "previousCursor on every page but the first");
        let ids: Vec<String> = body["Resources"].as_array().unwrap().iter().map(id).collect();
        assert_eq!(body["itemsPerPage"], ids.len());
        pages.push(ids);
        match body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return pages,
        }
        assert!(pages.len() < 100, "the walk ends");
    }
}

/// Walks back from the last page of a cursor walk with `previousCursor`.
async fn walk_back(app: &TestApp, path: &str, count: usize) -> Vec<Vec<String>> {
    let sep = if path.contains('?') { '&' } else { '?' };
    // The last page, by walking forward.
    let mut cursor = String::new();
    let mut last;
    loop {
        last = app.sc(Method::GET, &format!("{path}{sep}count={count}&cursor={cursor}"), None).await.ok(200).clone();
        match last["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let mut pages = vec![last["Resources"].as_array().unwrap().iter().map(id).collect::<Vec<_>>()];
    while let Some(previous) = last["previousCursor"].as_str().map(str::to_owned) {
        last = app.sc(Method::GET, &format!("{path}{sep}count={count}&cursor={previous}"), None).await.ok(200).clone();
        assert!(last["nextCursor"].is_string(), "a previous page has a next one: {last}");
        pages.insert(0, last["Resources"].as_array().unwrap().iter().map(id).collect());
        assert!(pages.len() < 100);
    }
    pages
}

/// Every id of a list, by index paging (pages the byte budget cuts short included).
async fn all_ids(app: &TestApp, path: &str) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut ids: Vec<String> = vec![];
    loop {
        let r = app.sc(Method::GET, &format!("{path}{sep}count=1000&startIndex={}", ids.len() + 1), None).await;
        let body = r.ok(200).clone();
        let page: Vec<String> = body["Resources"].as_array().unwrap().iter().map(id).collect();
        ids.extend(page.iter().cloned());
        if page.is_empty() || ids.len() as i64 >= body["totalResults"].as_i64().unwrap() {
            return ids;
        }
    }
}

/// Item 13: cursor paging (RFC 9865) on /Users and /Groups, in every order and plan.
#[tokio::test]
async fn cursor_paging_walks_every_list_forward_and_back() {
    let app = spawn_app().await;
    let spc = app.sc(Method::GET, "/ServiceProviderConfig", None).await;
    let pagination = spc.ok(200)["pagination"].clone();
    assert_eq!((pagination["cursor"].clone(), pagination["index"].clone()), (json!(true), json!(true)));
    assert_eq!(pagination["defaultPaginationMethod"], "index");
    assert_eq!(pagination["cursorTimeout"], 3600);
    assert_eq!(pagination["maxPageSize"], 1000);

    // Names that collide when folded, and external ids some users lack, so that ties and
    // missing values are on the page boundaries.
    let names = ["delta", "Alpha", "charlie", "bravo", "ALPHA2", "echo", "Foxtrot", "golf", "hotel", "alpha3", "india"];
    for (i, name) in names.iter().enumerate() {
        let mut body = json!({ "schemas": [USER], "userName": name, "displayName": if i % 3 == 0 { "Same" } else { name },
            "title": if i % 2 == 0 { "even" } else { "odd" } });
        if i % 4 != 0 {
            body["externalId"] = json!(format!("x{}", i % 5));
        }
        app.sc(Method::POST, "/Users", Some(body)).await.ok(201);
    }
    for path in [
        "/Users".to_owned(),
        "/Users?sortBy=userName".to_owned(),
        "/Users?sortBy=userName&sortOrder=descending".to_owned(),
        "/Users?sortBy=externalId".to_owned(),
        "/Users?sortBy=externalId&sortOrder=descending".to_owned(),
        "/Users?sortBy=displayName&sortOrder=descending".to_owned(),
        "/Users?sortBy=meta.created&sortOrder=descending".to_owned(),
        "/Users?sortBy=meta.lastModified".to_owned(),
        // In-memory plans: a filter no index answers, a sort the store has no column for.
        format!("/Users?filter={}", urlencode(r#"title eq "even""#)),
        format!("/Users?filter={}&sortBy=title&sortOrder=descending", urlencode(r#"title pr"#)),
        "/Users?sortBy=name.familyName".to_owned(),
    ] {
        let expected = all_ids(&app, &path).await;
        assert!(!expected.is_empty(), "{path}");
        for count in [1, 2, 3, 4] {
            let pages = walk(&app, &path, count).await;
            assert!(pages.iter().all(|p| p.len() == count || p.len() == expected.len() % count), "{path}: {pages:?}");
            assert_eq!(pages.concat(), expected, "{path} forward by {count}");
            let back = walk_back(&app, &path, count).await;
            assert_eq!(back.concat(), expected, "{path} backward by {count}");
        }
    }
    // /.search takes the cursor in its body; count 0 gives only totalResults.
    let search =
        json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "cursor": "", "count": 2 });
    let r = app.sc(Method::POST, "/Users/.search", Some(search)).await;
    let first = r.ok(200).clone();
    assert_eq!(first["itemsPerPage"], 2);
    let search = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "cursor": first["nextCursor"], "count": 2 });
    let second = app.sc(Method::POST, "/Users/.search", Some(search)).await.ok(200).clone();
    assert_eq!(second["Resources"][0]["id"], all_ids(&app, "/Users").await[2].as_str());
    let r = app.sc(Method::GET, "/Users?cursor=&count=0", None).await;
    let zero = r.ok(200);
    assert_eq!((zero["totalResults"].clone(), zero["itemsPerPage"].clone()), (json!(names.len()), json!(0)));
    assert!(zero.get("nextCursor").is_none());

    // Groups.
    for name in ["Ops", "dev", "Sales", "ops-2", "QA"] {
        app.sc(Method::POST, "/Groups", Some(json!({ "schemas": [GROUP], "displayName": name }))).await.ok(201);
    }
    for path in [
        "/Groups".to_owned(),
        "/Groups?sortBy=displayName&sortOrder=descending".to_owned(),
        format!("/Groups?filter={}", urlencode(r#"displayName sw "o""#)),
    ] {
        let expected = all_ids(&app, &path).await;
        for count in [1, 2, 3] {
            assert_eq!(walk(&app, &path, count).await.concat(), expected, "{path} by {count}");
            assert_eq!(walk_back(&app, &path, count).await.concat(), expected, "{path} back by {count}");
        }
    }
}

const BY_USER_NAME: &str = "/Users?sortBy=userName";

/// Nine users named `{prefix}0` to `{prefix}8`: their ids in [`BY_USER_NAME`] order and the
/// first cursor page of three.
async fn nine_users_and_a_first_page_of_three(app: &TestApp, prefix: &str) -> (Vec<String>, Value) {
    for i in 0..9 {
        app.user_named(&format!("{prefix}{i}"), json!([])).await;
    }
    let ids = all_ids(app, BY_USER_NAME).await;
    let first = app.sc(Method::GET, &format!("{BY_USER_NAME}&count=3&cursor="), None).await.ok(200).clone();
    (ids, first)
}

/// Item 13: a cursor names a place, so concurrent deletes and inserts neither skip nor
/// repeat the resources that stay; bad, foreign and expired cursors are refused.
#[tokio::test]
async fn cursors_are_stable_under_changes_and_checked() {
    let app = crate::helpers::spawn_with(|s| s.scim.cursor_timeout_secs = 1).await;
    let path = BY_USER_NAME;
    let (before, first) = nine_users_and_a_first_page_of_three(&app, "u").await;
    let page1: Vec<String> = first["Resources"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(page1, before[..3]);
    // Delete one user already seen and one not yet seen; add one that sorts first and one
    // that sorts in the middle of what is left.
    app.sc(Method::DELETE, &format!("/Users/{}", before[0]), None).await.ok(204);
    app.sc(Method::DELETE, &format!("/Users/{}", before[5]), None).await.ok(204);
    let early = id(&app.user_named("a-early", json!([])).await);
    let middle = id(&app.user_named("u6a", json!([])).await);
    let mut rest = vec![];
    let mut cursor = first["nextCursor"].as_str().unwrap().to_owned();
    loop {
        let r = app.sc(Method::GET, &format!("{path}&count=3&cursor={cursor}"), None).await;
        let body = r.ok(200).clone();
        rest.extend(body["Resources"].as_array().unwrap().iter().map(id));
        match body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let mut expected: Vec<String> = before[3..].iter().filter(|i| **i != before[5]).cloned().collect();
    let at = expected.iter().position(|i| *i == before[7]).unwrap();
    expected.insert(at, middle);
    assert_eq!(
        rest, expected,
        "nothing skipped, nothing repeated; the insert behind the cursor ({early}) is not revisited"
    );

    // Refusals.
    let bad = app.sc(Method::GET, "/Users?cursor=bm90LWEtY3Vyc29y", None).await;
    bad.scim_error(400, Some("invalidCursor"));
    let other_query = format!("/Users?sortBy=displayName&cursor={}", first["nextCursor"].as_str().unwrap());
    app.sc(Method::GET, &other_query, None).await.scim_error(400, Some("invalidCursor"));
    let groups = format!("/Groups?cursor={}", first["nextCursor"].as_str().unwrap());
    app.sc(Method::GET, &groups, None).await.scim_error(400, Some("invalidCursor"));
    app.sc(Method::GET, "/Users?cursor=&startIndex=2", None).await.scim_error(400, Some("invalidValue"));
    let root = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "cursor": "" });
    app.sc(Method::POST, "/.search", Some(root)).await.scim_error(400, Some("invalidValue"));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let late =
        app.sc(Method::GET, &format!("{path}&count=3&cursor={}", first["nextCursor"].as_str().unwrap()), None).await;
    late.scim_error(400, Some("expiredCursor"));
}

/// Item 13: pages cut short by the byte budget, and pages left empty by deletes, still
/// lead everywhere: a backward page keeps the resources next to its cursor, and an empty
/// page points back (or on) from where it stands.
#[tokio::test]
async fn cursor_pages_cut_by_the_budget_or_emptied_by_deletes_still_lead_everywhere() {
    let app = crate::helpers::spawn_with(|s| s.limits.max_list_bytes = 2500).await;
    for i in 0..12 {
        let body = json!({ "schemas": [USER], "userName": format!("budget-{i:02}"), "title": "x".repeat(300) });
        app.sc(Method::POST, "/Users", Some(body)).await.ok(201);
    }
    for path in ["/Users?sortBy=userName&sortOrder=descending", "/Users", "/Users?filter=title%20pr"] {
        let expected = all_ids(&app, path).await;
        assert_eq!(expected.len(), 12);
        let pages = walk(&app, path, 10).await;
        assert!(pages.iter().all(|p| p.len() < 10), "the budget cuts every page: {pages:?}");
        assert_eq!(pages.concat(), expected, "{path} forward");
        assert_eq!(walk_back(&app, path, 10).await.concat(), expected, "{path} backward");
    }

    // An empty page after deletes: it points back to what is left.
    let app = spawn_app().await;
    let path = BY_USER_NAME;
    let (ids, first) = nine_users_and_a_first_page_of_three(&app, "gone-").await;
    let mut second = app
        .sc(Method::GET, &format!("{path}&count=3&cursor={}", first["nextCursor"].as_str().unwrap()), None)
        .await
        .ok(200)
        .clone();
    let back_from_second = second["previousCursor"].as_str().unwrap().to_owned();
    for gone in &ids[3..] {
        app.sc(Method::DELETE, &format!("/Users/{gone}"), None).await.ok(204);
    }
    let next = first["nextCursor"].as_str().unwrap();
    let empty = app.sc(Method::GET, &format!("{path}&count=3&cursor={next}"), None).await.ok(200).clone();
    assert_eq!((empty["itemsPerPage"].clone(), empty["totalResults"].clone()), (json!(0), json!(3)));
    assert!(empty.get("nextCursor").is_none(), "{empty}");
    let back = empty["previousCursor"].as_str().expect("an empty page points back").to_owned();
    let page = app.sc(Method::GET, &format!("{path}&count=3&cursor={back}"), None).await.ok(200).clone();
    let got: Vec<String> = page["Resources"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(got, ids[..3], "the previous page ends at the cursor's own resource");
    // From the second page's previousCursor once the first page's users are gone too: an
    // empty page that points on.
    for gone in &ids[..3] {
        app.sc(Method::DELETE, &format!("/Users/{gone}"), None).await.ok(204);
    }
    second = app.sc(Method::GET, &format!("{path}&count=3&cursor={back_from_second}"), None).await.ok(200).clone();
    assert_eq!(second["itemsPerPage"], 0);
    assert!(second.get("previousCursor").is_none() && second.get("nextCursor").is_none(), "nothing is left: {second}");
    // count=0: totalResults only, no cursors.
    let zero = app.sc(Method::GET, &format!("{path}&count=0&cursor="), None).await.ok(200).clone();
    assert!(zero.get("nextCursor").is_none() && zero.get("previousCursor").is_none());
}
