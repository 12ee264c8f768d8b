//! The SCIM 2.0 service provider: discovery, the contact-backed routing policy, resources,
//! filters, PATCH, ETags, Bulk and errors (RFC 7643, RFC 7644).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::urn::{ENTERPRISE, EXT, GROUP, PATCH, USER};
use crate::helpers::{TestApp, id, spawn_app, spawn_with, urlencode};
use scimgate::error::ServiceError;
use scimgate::store::Db;

impl TestApp {
    async fn s(&self, method: Method, path: &str, body: Option<Value>) -> crate::helpers::Reply {
        self.scim(method, path, Some(&self.admin), body).await
    }

    async fn scim_user(&self, user_name: &str) -> Value {
        let r = self
            .s(
                Method::POST,
                "/Users",
                Some(json!({
                    "schemas": [USER],
                    "userName": user_name,
                    "name": { "givenName": "Ada", "familyName": "Lovelace" },
                    "emails": [{ "value": format!("{user_name}@example.com"), "type": "work", "primary": true }]
                })),
            )
            .await;
        r.ok(201).clone()
    }

    async fn patch_user(&self, uid: &str, ops: Value) -> crate::helpers::Reply {
        self.s(Method::PATCH, &format!("/Users/{uid}"), Some(json!({ "schemas": [PATCH], "Operations": ops }))).await
    }

    async fn filter(&self, f: &str) -> Vec<String> {
        let r = self.s(Method::GET, &format!("/Users?filter={}", urlencode(f)), None).await;
        let body = r.ok(200);
        body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().to_owned()).collect()
    }
}

#[tokio::test]
async fn discovery_advertises_what_works_and_refuses_writes() {
    let app = spawn_app().await;
    let spc = app.s(Method::GET, "/ServiceProviderConfig", None).await;
    let spc = spc.ok(200).clone();
    for feature in ["patch", "bulk", "filter", "sort", "etag", "changePassword"] {
        assert_eq!(spc[feature]["supported"], true, "{feature}: {spc}");
    }
    assert_eq!(spc["bulk"]["maxOperations"], 1000);
    assert_eq!(spc["filter"]["maxResults"], 1000);
    assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");

    let rt = app.s(Method::GET, "/ResourceTypes", None).await;
    let names: Vec<_> = rt.ok(200)["Resources"].as_array().unwrap().iter().map(|r| r["id"].clone()).collect();
    assert_eq!(names, vec!["User", "Group"]);
    let user_rt = app.s(Method::GET, "/ResourceTypes/User", None).await;
    let exts: Vec<_> =
        user_rt.ok(200)["schemaExtensions"].as_array().unwrap().iter().map(|e| e["schema"].clone()).collect();
    assert!(exts.contains(&json!(EXT)) && exts.contains(&json!(ENTERPRISE)));

    let schemas = app.s(Method::GET, "/Schemas", None).await;
    assert_eq!(schemas.ok(200)["totalResults"], 4);
    let ours = app.s(Method::GET, &format!("/Schemas/{EXT}"), None).await;
    let attrs: Vec<_> = ours.ok(200)["attributes"].as_array().unwrap().iter().map(|a| a["name"].clone()).collect();
    assert_eq!(attrs, vec!["license", "accountId", "contactId", "contactless", "origin"]);
    app.s(Method::GET, "/Schemas/urn:nope", None).await.scim_error(404, None);
    for path in ["/Schemas", "/ResourceTypes", "/ServiceProviderConfig"] {
        app.s(Method::POST, path, Some(json!({}))).await.scim_error(405, None);
    }
}

#[tokio::test]
async fn scim_create_never_makes_a_contactless_user() {
    let app = spawn_app().await;
    let u = app.scim_user("ada").await;
    // The contactless facts are returned by default (issue 13, item 7).
    assert_eq!(u[EXT]["contactless"], false);
    assert_eq!(u[EXT]["origin"], "scim");
    assert!(u[EXT]["contactId"].is_string());
    let facts = app.identity(&id(&u)).await;
    assert_eq!(facts["contactless"], false);
    assert_eq!(facts["origin"], "scim");
    assert_eq!(u[EXT]["license"], "customer_community", "the configured default community license");
    let contact_id = facts["contactId"].as_str().unwrap().to_owned();
    // The contact exists and carries the user's name and email.
    let c = app.get(&format!("/api/v1/contacts/{contact_id}")).await;
    let c = c.ok(200);
    assert_eq!((c["firstName"].clone(), c["lastName"].clone()), (json!("Ada"), json!("Lovelace")));
    assert_eq!(c["email"], "ada@example.com");
    // The same user, with the same id, natively.
    let n = app.get(&format!("/api/v1/users/{}", id(&u))).await;
    assert_eq!(n.ok(200)["contactId"], contact_id.as_str());
    assert_eq!(n.body["origin"], "scim");
    assert_eq!(n.body["accountId"], u[EXT]["accountId"]);
    // Location equals meta.location.
    let r = app.s(Method::POST, "/Users", Some(json!({ "userName": "bob" }))).await;
    assert_eq!(r.ok(201)["meta"]["location"], r.headers.get("location").unwrap().to_str().unwrap());
    assert_eq!(r.headers.get("content-type").unwrap(), "application/scim+json");
}

#[tokio::test]
async fn asking_scim_for_a_contactless_user_is_refused_with_guidance() {
    let app = spawn_app().await;
    let r = app.s(Method::POST, "/Users", Some(json!({ "userName": "cl", EXT: { "contactless": true } }))).await;
    r.scim_error(400, Some("invalidValue"));
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("SCIM cannot create contactless users") && detail.contains("native API"), "{detail}");
    assert_eq!(app.get("/api/v1/users").await.ok(200)["items"], json!([]), "nothing was created");
    // "True" as a string is the same request.
    let r = app.s(Method::POST, "/Users", Some(json!({ "userName": "cl", EXT: { "contactless": "True" } }))).await;
    r.scim_error(400, Some("invalidValue"));

    let u = app.scim_user("kept").await;
    let uid = id(&u);
    let r =
        app.patch_user(&uid, json!([{ "op": "replace", "path": format!("{EXT}:contactless"), "value": true }])).await;
    r.scim_error(400, Some("invalidValue"));
    let r = app
        .s(Method::PUT, &format!("/Users/{uid}"), Some(json!({ "userName": "kept", EXT: { "contactless": true } })))
        .await;
    r.scim_error(400, Some("invalidValue"));
    assert_eq!(app.identity(&uid).await["contactless"], false);
}

#[tokio::test]
async fn the_contact_goes_to_the_named_then_token_then_default_account() {
    let app = spawn_app().await;
    let named = app.account("Named").await;
    let bound = app.account("Bound").await;
    let scim_token = app.token("scim", &[&bound], None).await;

    let r = app.s(Method::POST, "/Users", Some(json!({ "userName": "n1", EXT: { "accountId": named } }))).await;
    assert_eq!(r.ok(201)[EXT]["accountId"], named.as_str());
    let r = app.scim(Method::POST, "/Users", Some(&scim_token), Some(json!({ "userName": "t1" }))).await;
    assert_eq!(r.ok(201)[EXT]["accountId"], bound.as_str());
    let d1 = app.s(Method::POST, "/Users", Some(json!({ "userName": "d1" }))).await;
    let d2 = app.s(Method::POST, "/Users", Some(json!({ "userName": "d2" }))).await;
    let default = d1.ok(201)[EXT]["accountId"].as_str().unwrap().to_owned();
    assert_eq!(d2.ok(201)[EXT]["accountId"], default.as_str(), "one default account, created on first use");
    let acc = app.get(&format!("/api/v1/accounts/{default}")).await;
    assert_eq!(acc.ok(200)["name"], "SCIM provisioned");
    let r = app
        .s(
            Method::POST,
            "/Users",
            Some(json!({ "userName": "x1", EXT: { "accountId": "0192d7a4-0000-7000-8000-000000000000" } })),
        )
        .await;
    r.scim_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn name_email_and_phone_changes_reach_the_contact_in_the_same_write() {
    let app = spawn_app().await;
    let u = app.scim_user("sync").await;
    let uid = id(&u);
    let contact = app.identity(&id(&u)).await["contactId"].as_str().unwrap().to_owned();
    let r = app
        .patch_user(
            &uid,
            json!([
                { "op": "replace", "path": "name.familyName", "value": "Byron" },
                { "op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada.byron@example.com" },
                { "op": "add", "path": "phoneNumbers", "value": [{ "value": "+44 20 7946 0000", "type": "work", "primary": true }] }
            ]),
        )
        .await;
    assert_eq!(r.ok(200)["name"]["familyName"], "Byron");
    let c = app.get(&format!("/api/v1/contacts/{contact}")).await;
    let c = c.ok(200);
    assert_eq!(c["lastName"], "Byron");
    assert_eq!(c["email"], "ada.byron@example.com");
    assert_eq!(c["phone"], "+44 20 7946 0000");
    let r = app
        .s(
            Method::PUT,
            &format!("/Users/{uid}"),
            Some(json!({ "userName": "sync", "name": { "givenName": "Augusta", "familyName": "King" } })),
        )
        .await;
    r.ok(200);
    let c = app.get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(
        (c.body["firstName"].clone(), c.body["lastName"].clone(), c.body["phone"].clone()),
        (json!("Augusta"), json!("King"), Value::Null)
    );
    assert!(app.get("/api/v1/audit?action=contact.synced").await.ok(200)["items"].as_array().unwrap().len() >= 2);
}

#[tokio::test]
async fn licenses_over_scim_are_pool_checked_and_returned_on_delete() {
    let app = spawn_app().await;
    app.put("/api/v1/licenses/partner_community", json!({ "capacity": 1 })).await.ok(200);
    let r =
        app.s(Method::POST, "/Users", Some(json!({ "userName": "p1", EXT: { "license": "partner_community" } }))).await;
    let u = r.ok(201).clone();
    assert_eq!(u[EXT]["license"], "partner_community");
    let r =
        app.s(Method::POST, "/Users", Some(json!({ "userName": "p2", EXT: { "license": "partner_community" } }))).await;
    r.scim_error(409, None);
    assert!(r.body["detail"].as_str().unwrap().contains("partner_community"));
    let r = app.s(Method::POST, "/Users", Some(json!({ "userName": "p3", EXT: { "license": "gold" } }))).await;
    r.scim_error(400, Some("invalidValue"));

    let uid = id(&u);
    let contact = app.identity(&id(&u)).await["contactId"].as_str().unwrap().to_owned();
    let r = app.s(Method::DELETE, &format!("/Users/{uid}"), None).await;
    assert_eq!(r.status.as_u16(), 204);
    assert!(r.body.is_null());
    app.s(Method::GET, &format!("/Users/{uid}"), None).await.scim_error(404, None);
    assert_eq!(app.pool("partner_community").await["used"], 0);
    app.get(&format!("/api/v1/contacts/{contact}")).await.ok(200);
    // The freed license can be used again, also by changing a user's license with PATCH.
    let other = app.scim_user("other").await;
    let r = app
        .patch_user(
            &id(&other),
            json!([{ "op": "replace", "path": format!("{EXT}:license"), "value": "partner_community" }]),
        )
        .await;
    assert_eq!(r.ok(200)[EXT]["license"], "partner_community");
    assert_eq!(app.pool("customer_community").await["used"], 0);
}

#[tokio::test]
async fn every_writable_attribute_round_trips_and_passwords_stay_hashed() {
    let app = spawn_app().await;
    let mut sent = json!({
        "schemas": [USER, ENTERPRISE],
        "userName": "full@example.com",
        "externalId": "EXT-Case-1",
        "name": { "formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara",
                  "middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III" },
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        "emails": [
            { "value": "bjensen@example.com", "type": "work", "primary": true },
            { "value": "babs@jensen.org", "type": "home" }
        ],
        "addresses": [{ "type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                         "region": "CA", "postalCode": "91608", "country": "USA",
                         "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": true }],
        "phoneNumbers": [{ "value": "555-555-5555", "type": "work" }, { "value": "555-555-4444", "type": "mobile" }],
        "ims": [{ "value": "someaimhandle", "type": "aim" }],
        "photos": [{ "value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo" }],
        "roles": [{ "value": "tour-guide", "display": "Tour guide", "primary": true }],
        "entitlements": [{ "value": "fast-pass" }],
        "x509Certificates": [{ "value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx" }],
        ENTERPRISE: { "employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
                      "division": "Theme Park", "department": "Tour Operations",
                      "manager": { "value": "26118915-6090-4610-87e4-49d8ca9f808d" } },
        "password": "t1meMa$heen"
    });
    let r = app.s(Method::POST, "/Users", Some(sent.clone())).await;
    let uid = id(r.ok(201));
    let got = app.s(Method::GET, &format!("/Users/{uid}"), None).await.ok(200).clone();
    assert!(got.get("password").is_none(), "a password is never returned");
    sent.as_object_mut().unwrap().remove("password");
    for (k, v) in sent.as_object().unwrap() {
        if k == "schemas" {
            continue;
        }
        assert_eq!(&got[k], v, "attribute {k}");
    }
    assert!(got["schemas"].as_array().unwrap().contains(&json!(ENTERPRISE)));
    // Only an Argon2id hash is stored.
    let db = Db::open(&app.db_url, 1).unwrap();
    let hashes: Vec<Option<String>> = db
        .read(|conn| {
            use diesel::prelude::*;
            use scimgate::store::schema::users::dsl::*;
            Ok::<_, ServiceError>(users.select(password_hash).load(conn)?)
        })
        .await
        .unwrap();
    assert!(hashes[0].as_deref().unwrap().starts_with("$argon2id$"));
    let everything = app.get("/api/v1/audit?limit=200").await.body.to_string();
    assert!(!everything.contains("t1meMa$heen"));
    // excludedAttributes / attributes on reads.
    let r = app
        .s(Method::GET, &format!("/Users/{uid}?attributes=userName,name.givenName,{ENTERPRISE}:department"), None)
        .await;
    let p = r.ok(200);
    assert_eq!(p["name"], json!({ "givenName": "Barbara" }));
    assert_eq!(p[ENTERPRISE], json!({ "department": "Tour Operations" }));
    assert!(p.get("emails").is_none() && p["id"] == json!(uid));
    let r = app.s(Method::GET, &format!("/Users/{uid}?excludedAttributes=emails,addresses"), None).await;
    assert!(r.ok(200).get("emails").is_none() && r.body.get("addresses").is_none() && r.body.get("title").is_some());
}

#[tokio::test]
async fn natively_made_contactless_users_are_readable_and_updatable_over_scim() {
    let app = spawn_app().await;
    let native = app.contactless("native@example.com").await;
    let uid = id(&native);
    let facts = app.identity(&uid).await;
    assert_eq!(facts["contactless"], true);
    assert_eq!(facts["origin"], "native");
    let r = app.patch_user(&uid, json!([{ "op": "replace", "path": "displayName", "value": "Native" }])).await;
    assert_eq!(r.ok(200)["displayName"], "Native");
    assert_eq!(app.identity(&uid).await["contactless"], true);
    // A community license still needs a contact.
    let r = app
        .patch_user(&uid, json!([{ "op": "replace", "path": format!("{EXT}:license"), "value": "customer_community" }]))
        .await;
    r.scim_error(400, Some("invalidValue"));
    assert!(r.body["detail"].as_str().unwrap().contains("contact"));
}

#[tokio::test]
async fn filters_compile_with_precedence_case_rules_and_value_paths() {
    let app = spawn_app().await;
    for (n, ext, title) in [("alice", "A-1", "Engineer"), ("bob", "B-1", "Manager"), ("carol", "c-1", "Engineer")] {
        app.s(
            Method::POST,
            "/Users",
            Some(json!({
                "userName": n, "externalId": ext, "title": title, "displayName": n.to_uppercase(),
                "emails": [{ "value": format!("{n}@work.example"), "type": "work", "primary": true },
                           { "value": format!("{n}@home.example"), "type": "home" }]
            })),
        )
        .await
        .ok(201);
    }
    let f = |s: &'static str| app.filter(s);
    assert_eq!(f("userName eq \"ALICE\"").await, vec!["alice"], "userName is caseExact=false");
    assert_eq!(f("externalId eq \"C-1\"").await, Vec::<String>::new(), "externalId is caseExact=true");
    assert_eq!(f("externalId eq \"c-1\"").await, vec!["carol"]);
    assert_eq!(f("emails.value eq \"BOB@work.example\"").await, vec!["bob"]);
    assert_eq!(f("emails[type eq \"home\" and value co \"carol\"]").await, vec!["carol"]);
    assert_eq!(f("emails[type eq \"work\" and primary eq true]").await.len(), 3);
    assert_eq!(f("userName sw \"a\" or userName eq \"bob\" and title eq \"Engineer\"").await, vec!["alice"]);
    assert_eq!(f("(userName sw \"a\" or userName eq \"bob\") and title eq \"Engineer\"").await, vec!["alice"]);
    assert_eq!(f("not (title eq \"Engineer\")").await, vec!["bob"]);
    assert_eq!(f("title eq \"engineer\" and not (userName ew \"ol\")").await, vec!["alice"]);
    assert_eq!(f("USERNAME Eq \"carol\"").await, vec!["carol"], "attribute names and operators are case-insensitive");
    assert_eq!(app.filter(&format!("{USER}:userName eq \"bob\"")).await, vec!["bob"]);
    assert_eq!(f("displayName co \"LIC\"").await, vec!["alice"]);
    assert_eq!(f("externalId pr").await.len(), 3);
    assert_eq!(f("nickName pr").await.len(), 0);
    assert_eq!(f("meta.created gt \"2000-01-01T00:00:00Z\"").await.len(), 3);
    for bad in
        ["userName eq", "userName zz \"a\"", "(userName eq \"a\"", "userName eq \"a\" and", "emails[type eq \"work\""]
    {
        let r = app.s(Method::GET, &format!("/Users?filter={}", urlencode(bad)), None).await;
        r.scim_error(400, Some("invalidFilter"));
    }
    // sortBy / sortOrder / startIndex / count / totalResults.
    let r = app.s(Method::GET, "/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=1", None).await;
    let page = r.ok(200);
    assert_eq!(
        (page["totalResults"].clone(), page["startIndex"].clone(), page["itemsPerPage"].clone()),
        (json!(3), json!(2), json!(1))
    );
    assert_eq!(page["Resources"][0]["userName"], "bob");
    let r = app.s(Method::GET, "/Users?sortBy=title&count=2", None).await;
    let titles: Vec<_> = r.ok(200)["Resources"].as_array().unwrap().iter().map(|u| u["title"].clone()).collect();
    assert_eq!(titles, vec!["Engineer", "Engineer"]);
    assert_eq!(r.body["totalResults"], 3);
    let r = app.s(Method::GET, "/Users?count=0", None).await;
    assert_eq!((r.ok(200)["totalResults"].clone(), r.body["Resources"].clone()), (json!(3), json!([])));
    // POST /.search, per resource type and at the root.
    let q = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName eq \"bob\"", "attributes": ["userName"] });
    let r = app.s(Method::POST, "/Users/.search", Some(q.clone())).await;
    assert_eq!(
        r.ok(200)["Resources"],
        json!([{ "id": r.body["Resources"][0]["id"], "schemas": r.body["Resources"][0]["schemas"], "userName": "bob" }])
    );
    let r = app.s(Method::POST, "/.search", Some(q)).await;
    assert_eq!(r.ok(200)["totalResults"], 1);
}

#[tokio::test]
async fn too_wide_unindexed_filters_get_too_many() {
    let app = spawn_with(|s| s.scim.max_filter_scan = 2).await;
    for n in ["a", "b", "c"] {
        app.scim_user(n).await;
    }
    let r = app.s(Method::GET, &format!("/Users?filter={}", urlencode("title eq \"x\"")), None).await;
    r.scim_error(400, Some("tooMany"));
    // Indexed filters are answered whatever the size, range comparisons on the case-folded
    // columns included (they compare by code point on both backends): these match more
    // users than `max_filter_scan`, and need no scan.
    assert_eq!(app.filter("userName eq \"b\"").await, vec!["b"]);
    assert_eq!(app.filter("userName ge \"A\"").await, vec!["a", "b", "c"]);
    assert_eq!(app.filter("emails.value lt \"D\"").await, vec!["a", "b", "c"]);
    assert_eq!(app.filter("userName gt \"a\"").await, vec!["b", "c"]);
    assert_eq!(app.filter("userName le \"B\"").await, vec!["a", "b"]);
    assert_eq!(app.filter("emails.value ge \"b@EXAMPLE.com\"").await, vec!["b", "c"]);
    assert_eq!(app.filter("emails[value lt \"b\"]").await, vec!["a"]);
}

#[tokio::test]
async fn patch_speaks_the_rfc_and_the_idp_dialects() {
    let app = spawn_app().await;
    let manager = app.scim_user("boss").await;
    let u = app.scim_user("pat").await;
    let uid = id(&u);
    // Case-insensitive op names and booleans as strings (Entra).
    let r = app.patch_user(&uid, json!([{ "op": "Replace", "path": "active", "value": "False" }])).await;
    assert_eq!(r.ok(200)["active"], false);
    // Path-less replace whose keys are paths, including a full extension URN path.
    let r = app
        .patch_user(
            &uid,
            json!([{ "op": "replace", "value": {
            "name.givenName": "Patricia", "active": true,
            format!("{ENTERPRISE}:department"): "R&D" } }]),
        )
        .await;
    let v = r.ok(200);
    assert_eq!((v["name"]["givenName"].clone(), v["active"].clone()), (json!("Patricia"), json!(true)));
    assert_eq!(v[ENTERPRISE]["department"], "R&D");
    // add through a value filter creates the missing element.
    let r = app
        .patch_user(
            &uid,
            json!([{ "op": "add", "path": "emails[type eq \"home\"].value", "value": "pat@home.example" }]),
        )
        .await;
    assert!(r.ok(200)["emails"].as_array().unwrap().contains(&json!({ "type": "home", "value": "pat@home.example" })));
    // The manager as a bare id.
    let r = app
        .patch_user(&uid, json!([{ "op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": id(&manager) }]))
        .await;
    assert_eq!(r.ok(200)[ENTERPRISE]["manager"]["value"], id(&manager).as_str());
    // remove with a value filter, and noTarget when it matches nothing.
    let r = app.patch_user(&uid, json!([{ "op": "remove", "path": "emails[type eq \"home\"]" }])).await;
    assert_eq!(r.ok(200)["emails"].as_array().unwrap().len(), 1);
    let r = app.patch_user(&uid, json!([{ "op": "remove", "path": "emails[type eq \"home\"]" }])).await;
    r.scim_error(400, Some("noTarget"));
    app.patch_user(&uid, json!([{ "op": "replace", "path": "id", "value": "x" }]))
        .await
        .scim_error(400, Some("mutability"));
    app.patch_user(&uid, json!([{ "op": "replace", "path": "bogus", "value": "x" }]))
        .await
        .scim_error(400, Some("invalidPath"));
    app.patch_user(&uid, json!([{ "op": "jump", "path": "title", "value": "x" }]))
        .await
        .scim_error(400, Some("invalidSyntax"));
    let r = app.s(Method::PATCH, &format!("/Users/{uid}"), Some(json!({ "Operations": "nope" }))).await;
    r.scim_error(400, Some("invalidSyntax"));
    // A failing operation leaves the resource untouched (all or nothing).
    let before = app.s(Method::GET, &format!("/Users/{uid}"), None).await.ok(200)["meta"]["version"].clone();
    let r = app
        .patch_user(&uid, json!([{ "op": "replace", "path": "title", "value": "T" }, { "op": "replace", "path": "nope", "value": 1 }]))
        .await;
    r.scim_error(400, Some("invalidPath"));
    let after = app.s(Method::GET, &format!("/Users/{uid}"), None).await;
    assert_eq!(after.ok(200)["meta"]["version"], before);
    assert!(after.body.get("title").is_none());
}

#[tokio::test]
async fn etags_follow_meta_version() {
    let app = spawn_app().await;
    let u = app.scim_user("tagged").await;
    let uid = id(&u);
    let r = app.s(Method::GET, &format!("/Users/{uid}"), None).await;
    let etag = r.headers.get("etag").unwrap().to_str().unwrap().to_owned();
    assert_eq!(etag, r.body["meta"]["version"].as_str().unwrap());
    assert!(etag.starts_with("W/\""));
    let url = format!("{}/scim/v2/Users/{uid}", app.address);
    let r = app.client.get(&url).bearer_auth(&app.admin).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 304);
    let r = app
        .client
        .patch(&url)
        .bearer_auth(&app.admin)
        .header("If-Match", "W/\"41\"")
        .header("content-type", "application/scim+json")
        .body(
            json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "title", "value": "x" }] })
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 412);
    let r = app
        .client
        .put(&url)
        .bearer_auth(&app.admin)
        .header("If-Match", &etag)
        .header("content-type", "application/json")
        .body(json!({ "schemas": [USER], "userName": "tagged", "title": "x" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "application/json is accepted too");
    assert_ne!(r.headers().get("etag").unwrap().to_str().unwrap(), etag);
}

#[tokio::test]
async fn groups_keep_members_and_user_groups_in_step() {
    let app = spawn_app().await;
    let a = id(&app.scim_user("ga").await);
    let b = id(&app.scim_user("gb").await);
    let c = id(&app.scim_user("gc").await);
    let r = app.s(Method::POST, "/Groups", Some(json!({ "displayName": "Crew", "members": [{ "value": a }] }))).await;
    let gid = id(r.ok(201));
    assert_eq!(r.body["members"][0]["display"], "ga", "display is returned by default, as groups.display is");
    let named = app.s(Method::GET, &format!("/Groups/{gid}?attributes=members.display,members.value"), None).await;
    assert_eq!(named.ok(200)["members"], json!([{ "value": a, "display": "ga" }]));
    let group_path = format!("/Groups/{gid}");
    let patch = |ops: Value| app.s(Method::PATCH, &group_path, Some(json!({ "schemas": [PATCH], "Operations": ops })));
    let members = |v: &Value| -> Vec<String> {
        let mut m: Vec<String> = v["members"]
            .as_array()
            .map(|a| a.iter().map(|m| m["value"].as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        m.sort();
        m
    };
    let r = patch(json!([{ "op": "add", "path": "members", "value": [{ "value": b }, { "value": c }] }])).await;
    assert_eq!(members(r.ok(200)), {
        let mut v = vec![a.clone(), b.clone(), c.clone()];
        v.sort();
        v
    });
    let r = patch(json!([{ "op": "remove", "path": format!("members[value eq \"{b}\"]") }])).await;
    assert_eq!(members(r.ok(200)).len(), 2);
    let r = patch(json!([{ "op": "remove", "path": "members", "value": [{ "value": c }] }])).await;
    assert_eq!(members(r.ok(200)), vec![a.clone()]);
    let r = patch(json!([{ "op": "replace", "path": "members", "value": [{ "value": b }] }])).await;
    assert_eq!(members(r.ok(200)), vec![b.clone()]);
    let r = patch(
        json!([{ "op": "add", "path": "members", "value": [{ "value": "0192d7a4-0000-7000-8000-000000000000" }] }]),
    )
    .await;
    r.scim_error(400, Some("invalidValue"));
    // User.groups is maintained (readOnly).
    let u = app.s(Method::GET, &format!("/Users/{b}"), None).await;
    assert_eq!(u.ok(200)["groups"][0]["value"], gid.as_str());
    assert_eq!(app.filter(&format!("groups.value eq \"{gid}\"")).await, vec!["gb"]);
    // Filters, excludedAttributes=members, and membership cleanup when a user goes.
    let r = app
        .s(
            Method::GET,
            &format!("/Groups?filter={}&excludedAttributes=members", urlencode("displayName eq \"crew\"")),
            None,
        )
        .await;
    assert_eq!(r.ok(200)["totalResults"], 1);
    assert!(r.body["Resources"][0].get("members").is_none());
    app.s(Method::DELETE, &format!("/Users/{b}"), None).await;
    let g = app.s(Method::GET, &group_path, None).await;
    assert!(g.ok(200).get("members").is_none());
    let r =
        app.s(Method::PUT, &group_path, Some(json!({ "displayName": "Crew 2", "members": [{ "value": a }] }))).await;
    assert_eq!(r.ok(200)["displayName"], "Crew 2");
    assert_eq!(app.s(Method::DELETE, &group_path, None).await.status.as_u16(), 204);
    app.s(Method::GET, &group_path, None).await.scim_error(404, None);
}

#[tokio::test]
async fn bulk_versions_read_like_if_match() {
    // A Bulk operation's `version` is an entity tag, read as `If-Match` is: `*` is any
    // version, `W/"n"` that one.
    let app = spawn_app().await;
    let created = app.s(Method::POST, "/Users", Some(json!({ "schemas": [USER], "userName": "tagged" }))).await;
    let path = format!("/Users/{}", created.ok(201)["id"].as_str().unwrap());
    let patch = |title: &str| json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "title", "value": title }] });
    let req = json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        { "method": "PATCH", "path": path, "version": "*", "data": patch("any") },
        { "method": "PATCH", "path": path, "version": "W/\"1\"", "data": patch("stale") },
        { "method": "PATCH", "path": path, "version": "W/\"2\"", "data": patch("current") },
        { "method": "DELETE", "path": path, "version": "*" } ] });
    let r = app.s(Method::POST, "/Bulk", Some(req)).await;
    let statuses: Vec<String> =
        r.ok(200)["Operations"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap().to_owned()).collect();
    assert_eq!(statuses, ["200", "412", "200", "204"]);
}

#[tokio::test]
async fn bulk_resolves_forward_references_and_rejects_cycles() {
    let app = spawn_app().await;
    let req = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            { "method": "POST", "path": "/Groups", "bulkId": "g1", "data": { "schemas": [GROUP], "displayName": "Fwd", "members": [{ "type": "User", "value": "bulkId:u1" }] } },
            { "method": "POST", "path": "/Users", "bulkId": "u1", "data": { "schemas": [USER], "userName": "bulk1" } },
            { "method": "PATCH", "path": "/Users/bulkId:u1", "data": { "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "title", "value": "Bulked" }] } },
            { "method": "POST", "path": "/Groups", "bulkId": "c1", "data": { "schemas": [GROUP], "displayName": "C1", "members": [{ "value": "bulkId:c2" }] } },
            { "method": "POST", "path": "/Groups", "bulkId": "c2", "data": { "schemas": [GROUP], "displayName": "C2", "members": [{ "value": "bulkId:c1" }] } },
            { "method": "POST", "path": "/Users", "bulkId": "dup", "data": { "schemas": [USER], "userName": "BULK1" } }
        ]
    });
    let r = app.s(Method::POST, "/Bulk", Some(req)).await;
    let ops = r.ok(200)["Operations"].as_array().unwrap().clone();
    let status = |bulk: &str| ops.iter().find(|o| o["bulkId"] == bulk).map(|o| o["status"].clone()).unwrap();
    assert_eq!(status("u1"), "201");
    assert_eq!(status("g1"), "201");
    assert_eq!(status("c1"), "409");
    assert_eq!(status("c2"), "409");
    assert_eq!(status("dup"), "409");
    let patched = ops.iter().find(|o| o["method"] == "PATCH").unwrap();
    assert_eq!(patched["status"], "200");
    let user = app.filter("userName eq \"bulk1\"").await;
    assert_eq!(user, vec!["bulk1"]);
    let g = ops.iter().find(|o| o["bulkId"] == "g1").unwrap()["location"].as_str().unwrap().to_owned();
    let gid = g.rsplit('/').next().unwrap();
    let group = app.s(Method::GET, &format!("/Groups/{gid}?attributes=members.display"), None).await;
    assert_eq!(group.ok(200)["members"][0]["display"], "bulk1");

    // failOnErrors stops after that many errors.
    let req = json!({ "failOnErrors": 1, "Operations": [
        { "method": "POST", "path": "/Users", "bulkId": "x1", "data": { "userName": "bulk1" } },
        { "method": "POST", "path": "/Users", "bulkId": "x2", "data": { "userName": "never" } } ] });
    let r = app.s(Method::POST, "/Bulk", Some(req)).await;
    assert_eq!(r.ok(200)["Operations"].as_array().unwrap().len(), 1);
    assert!(app.filter("userName eq \"never\"").await.is_empty());
}

#[tokio::test]
async fn bulk_limits_answer_413() {
    let app = spawn_with(|s| {
        s.scim.bulk_max_operations = 2;
        s.scim.bulk_max_payload_bytes = 600;
    })
    .await;
    let op = json!({ "method": "POST", "path": "/Users", "bulkId": "a", "data": { "userName": "a" } });
    let r = app.s(Method::POST, "/Bulk", Some(json!({ "Operations": [op.clone(), op.clone(), op.clone()] }))).await;
    r.scim_error(413, None);
    let big = json!({ "Operations": [{ "method": "POST", "path": "/Users", "bulkId": "a", "data": { "userName": "a", "title": "x".repeat(700) } }] });
    app.s(Method::POST, "/Bulk", Some(big)).await.scim_error(413, None);
    let spc = app.s(Method::GET, "/ServiceProviderConfig", None).await;
    assert_eq!(spc.ok(200)["bulk"]["maxOperations"], 2);
    assert_eq!(spc.body["bulk"]["maxPayloadSize"], 600);
}

#[tokio::test]
async fn errors_are_scim_errors_and_only_scim_and_admin_tokens_enter() {
    let app = spawn_app().await;
    let r = app.scim(Method::GET, "/Users", None, None).await;
    r.scim_error(401, None);
    assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer");
    app.scim(Method::GET, "/Users", Some("sgt_wrong"), None).await.scim_error(401, None);
    let account = app.account("A").await;
    let site = app.site("s", true).await;
    for t in [app.token("delegated_admin", &[&account], None).await, app.token("registration", &[], Some(&site)).await]
    {
        app.scim(Method::GET, "/Users", Some(&t), None).await.scim_error(403, None);
    }
    let scim = app.token("scim", &[], None).await;
    app.scim(Method::GET, "/Users", Some(&scim), None).await.ok(200);
    app.s(Method::GET, "/Nothing/here", None).await.scim_error(404, None);
    app.s(Method::GET, "/Users/not-an-id", None).await.scim_error(404, None);
    app.s(Method::GET, "/Me", None).await.scim_error(501, None);
    app.s(Method::DELETE, "/Users", None).await.scim_error(405, None);
    let r = app
        .client
        .post(format!("{}/scim/v2/Users", app.address))
        .bearer_auth(&app.admin)
        .header("content-type", "application/scim+json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["scimType"], "invalidSyntax");
    app.s(Method::POST, "/Users", Some(json!({ "name": {} }))).await.scim_error(400, Some("invalidValue"));
    app.s(Method::POST, "/Users", Some(json!({ "userName": 5 }))).await.scim_error(400, Some("invalidValue"));
    let u = app.scim_user("dupe").await;
    let r = app.s(Method::POST, "/Users", Some(json!({ "userName": "DUPE" }))).await;
    r.scim_error(409, Some("uniqueness"));
    app.s(Method::PUT, &format!("/Users/{}", id(&u)), Some(json!({ "userName": "" })))
        .await
        .scim_error(400, Some("invalidValue"));
    app.s(Method::GET, "/Users?startIndex=abc", None).await.scim_error(400, Some("invalidValue"));
    // The largest startIndex is past the end, not an overflow (found by api-fuzz).
    for path in ["/Users?startIndex=9223372036854775807&count=5", "/Groups?startIndex=9223372036854775807&count=5"] {
        let page = app.s(Method::GET, path, None).await;
        assert_eq!(page.status.as_u16(), 200, "{path}: {}", page.body);
        assert_eq!(page.body["startIndex"], json!(i64::MAX), "{path}");
        assert_eq!(page.body["Resources"].as_array().map(Vec::len).unwrap_or(0), 0, "{path}");
    }
}

/// Issue 14, item 3: a page that starts where the last one ended seeks past its last row
/// instead of walking the index (SQLite), and every page stays the one an offset gives —
/// after a write between two pages, and when another gateway on the same file wrote.
#[tokio::test]
async fn index_pages_seek_where_the_last_ended_and_stay_exact_after_writes() {
    let app = spawn_app().await;
    for i in 0..30 {
        app.scim_user(&format!("crawl{i:02}")).await;
    }
    let page = |path: String| {
        let app = &app;
        async move {
            let r = app.s(Method::GET, &path, None).await;
            let ids: Vec<String> = r.ok(200)["Resources"].as_array().unwrap().iter().map(id).collect();
            ids
        }
    };
    let pages = |order: &'static str| {
        let page = &page;
        async move {
            let mut crawled = vec![];
            for start in [1, 11, 21] {
                crawled.extend(page(format!("/Users?startIndex={start}&count=10{order}")).await);
            }
            (crawled, page(format!("/Users?startIndex=1&count=100{order}")).await)
        }
    };
    for order in ["", "&sortBy=userName&sortOrder=descending", "&filter=userName%20sw%20%22crawl%22"] {
        let (crawled, all) = pages(order).await;
        assert_eq!(all.len(), 30, "{order}");
        assert_eq!(crawled, all, "{order}");
    }
    // A write between two pages moves the rows after it: the next page is the one an offset
    // gives now, not the continuation remembered before the write.
    let first = page("/Users?startIndex=1&count=10".into()).await;
    let r = app.s(Method::DELETE, &format!("/Users/{}", first[4]), None).await;
    assert_eq!(r.status.as_u16(), 204);
    let all = page("/Users?startIndex=1&count=100".into()).await;
    assert_eq!(page("/Users?startIndex=11&count=10".into()).await, all[10..20]);
    // The same after a write by another gateway on the same database.
    let sibling = crate::helpers::spawn_sibling(&app).await;
    let first = page("/Users?startIndex=1&count=10".into()).await;
    let r = sibling.scim(Method::DELETE, &format!("/Users/{}", first[0]), Some(&app.admin), None).await;
    assert_eq!(r.status.as_u16(), 204);
    let all = page("/Users?startIndex=1&count=100".into()).await;
    assert_eq!(all.len(), 28);
    assert_eq!(page("/Users?startIndex=11&count=10".into()).await, all[10..20]);
    // On SQLite the crawls above sought (PostgreSQL pages walk: see `store::seeks`).
    let r = app.client.get(format!("{}/metrics", app.address)).bearer_auth(&app.admin).send().await.unwrap();
    let text = r.text().await.unwrap();
    let counted = |paging: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("scimgate_list_pages_total{{paging=\"{paging}\"}} ")))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    // Three orders × two pages after the first, and the page after each write.
    if app.db_url.starts_with("postgres") {
        assert_eq!((counted("seek"), counted("walk")), (0, 8), "{text}");
    } else {
        assert_eq!((counted("seek"), counted("walk")), (6, 2), "{text}");
    }
}

/// Pages deep in a list (PostgreSQL walks the ids first, then reads the page by id) are the
/// same as the slices of one whole page, in id order and in a sort.
#[tokio::test]
async fn deep_pages_are_the_slices_of_the_whole_list() {
    let app = spawn_app().await;
    crate::hardening::insert_users(&app.db_url, 320).await;
    // Their licenses, as the gateway's own creates count them (an unfiltered total is the
    // pools' sum).
    let db = Db::open_with(&app.db_url, 1, 0).unwrap();
    db.write(|conn| {
        use diesel::RunQueryDsl;
        diesel::sql_query("UPDATE license_pools SET used = used + 320 WHERE license = 'external_identity'")
            .execute(conn)?;
        Ok::<_, ServiceError>(())
    })
    .await
    .unwrap();
    for order in ["", "&sortBy=userName&sortOrder=descending"] {
        let ids = |path: String| {
            let app = &app;
            async move {
                let r = app.s(Method::GET, &path, None).await;
                let body = r.ok(200).clone();
                assert_eq!(body["totalResults"], 320, "{path}: {body}");
                body["Resources"].as_array().unwrap().iter().map(id).collect::<Vec<String>>()
            }
        };
        let all = ids(format!("/Users?startIndex=1&count=1000&attributes=id{order}")).await;
        assert_eq!(all.len(), 320);
        for start in [201, 251, 311] {
            let page = ids(format!("/Users?startIndex={start}&count=20&attributes=id{order}")).await;
            let from = start - 1;
            assert_eq!(page, all[from..(from + 20).min(320)], "{order} from {start}");
        }
    }
}
