//! The operator's view in the console: the overview's figures and activity per source,
//! identity providers, finding people (search, contact picker), the audit log with names.
//! Webhook pages are tested beside the webhook machinery (`events.rs`).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::console::{Page, sign_in};
use crate::helpers::urn::{PATCH, USER};
use crate::helpers::{TestApp, id, spawn_app, spawn_sibling};

/// A SCIM token (confined to `account`) with its id.
async fn idp(app: &TestApp, name: &str, account: &str) -> (String, String) {
    let r = app.post("/api/v1/tokens", json!({ "name": name, "role": "scim", "accountIds": [account] })).await;
    let b = r.ok(201);
    (b["token"].as_str().unwrap().to_owned(), b["id"].as_str().unwrap().to_owned())
}

async fn scim_create(app: &TestApp, token: &str, user_name: &str) -> Value {
    let body = json!({
        "schemas": [USER],
        "userName": user_name,
        "name": { "givenName": "Ida", "familyName": "Provisioned" },
        "emails": [{ "value": user_name, "type": "work", "primary": true }]
    });
    app.scim(Method::POST, "/Users", Some(token), Some(body)).await.ok(201).clone()
}

/// The text summary of a source's chart (`hours` or `days`): "Last 24 hours: N in all; …".
fn chart_summary(page: &Page, source: &str, chart: &str) -> String {
    let at = page
        .body
        .find(&format!(r#"data-source="{source}""#))
        .unwrap_or_else(|| panic!("no {source} in\n{}", page.body));
    let rest = &page.body[at..];
    let marker = format!(r#"id="{chart}-"#);
    let start = rest.find(&marker).unwrap();
    let desc = &rest[start..];
    let open = desc.find("<desc").unwrap();
    let text = &desc[open..];
    let text = &text[text.find('>').unwrap() + 1..];
    text[..text.find("</desc>").unwrap()].to_owned()
}

#[tokio::test]
async fn the_overview_counts_changes_and_refusals_per_source_across_gateways() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let (entra, entra_id) = idp(&app, "entra", &acme).await;
    let a = scim_create(&app, &entra, "a@acme.example").await;
    let b = scim_create(&app, &entra, "b@acme.example").await;
    let patch = |ops: Value| json!({ "schemas": [PATCH], "Operations": ops });
    let uid = id(&a);
    app.scim(
        Method::PATCH,
        &format!("/Users/{uid}"),
        Some(&entra),
        Some(patch(json!([{ "op": "replace", "path": "displayName", "value": "A" }]))),
    )
    .await
    .ok(200);
    app.scim(
        Method::PATCH,
        &format!("/Users/{uid}"),
        Some(&entra),
        Some(patch(json!([{ "op": "replace", "path": "active", "value": false }]))),
    )
    .await
    .ok(200);
    app.scim(Method::DELETE, &format!("/Users/{}", id(&b)), Some(&entra), None).await.ok(204);
    // Rule 2: SCIM never makes a contactless user — refused, and counted as such.
    let contactless = json!({ "schemas": [USER], "userName": "c@acme.example",
        "urn:scimgate:schemas:extension:identity:2.0:User": { "contactless": true } });
    app.scim(Method::POST, "/Users", Some(&entra), Some(contactless)).await.scim_error(400, Some("invalidValue"));
    // Natively: one contactless user, and one create refused for a full pool (rolled back:
    // no "created" for it).
    app.contactless("n@example.com").await;
    app.put("/api/v1/licenses/partner_community", json!({ "capacity": 0 })).await.ok(200);
    let refused = json!({ "userName": "p@acme.example", "email": "p@acme.example", "license": "partner_community",
        "contact": { "accountId": acme, "firstName": "P", "lastName": "Q", "email": "p@acme.example" } });
    app.post("/api/v1/users", refused).await.problem(409, "license_unavailable");

    let console = sign_in(&app, &app.admin.clone()).await;
    let page = console.get("/setup/overview").await;
    page.status(200);
    let scim = format!("scim:{entra_id}");
    assert_eq!(
        chart_summary(&page, &scim, "hours"),
        "Last 24 hours: 6 in all; Created 2, Updated 1, Deactivated 1, Deleted 1, Refused: contactless via SCIM 1."
    );
    assert_eq!(
        chart_summary(&page, &scim, "days"),
        "Last 30 days: 6 in all; Created 2, Updated 1, Deactivated 1, Deleted 1, Refused: contactless via SCIM 1."
    );
    assert_eq!(
        chart_summary(&page, "native", "hours"),
        "Last 24 hours: 2 in all; Created 1, Updated 0, Deactivated 0, Deleted 0, Refused: license unavailable 1."
    );
    // The source is named by its token; the refusals are listed by rule.
    page.has("<h3>entra</h3>").has("<h3>Native API</h3>").has(r#"<code>scim_contactless</code>"#);
    // The directory's make-up: a (inactive, contact-backed) and n (contactless).
    page.has(r#"<li id="stat-total"><span class="n">2</span>"#)
        .has(r#"<li id="stat-backed"><span class="n">1</span>"#)
        .has(r#"<li id="stat-contactless"><span class="n">1</span>"#)
        .has(r#"<li id="stat-inactive"><span class="n">1</span>"#)
        .has(r#"id="overview-bar-partner_community""#);

    // A second gateway on the same database: its counts add to the same rows.
    let sibling = spawn_sibling(&app).await;
    scim_create(&sibling, &entra, "d@acme.example").await;
    let sibling_console = sign_in(&sibling, &sibling.admin.clone()).await;
    sibling_console.get("/setup/overview").await.status(200); // flushes the sibling's counts
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = console.get("/setup/overview").await;
        let s = chart_summary(&page, &scim, "hours");
        if s.starts_with("Last 24 hours: 7 in all; Created 3,") {
            break;
        }
        assert!(Instant::now() < deadline, "the sibling's create never showed: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Delegated admins do not see the whole directory's overview.
    let helpdesk = app.token("delegated_admin", &[&acme], None).await;
    let delegated = sign_in(&app, &helpdesk).await;
    let r = delegated.get("/setup/overview").await;
    assert_eq!((r.status.as_u16(), r.location()), (303, "/setup/users"));
}

#[tokio::test]
async fn the_identity_provider_page_shows_traffic_last_errors_and_rotates_tokens() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let (entra, entra_id) = idp(&app, "entra", &acme).await;
    let (okta, okta_id) = idp(&app, "okta", &acme).await;
    scim_create(&app, &entra, "x@acme.example").await;
    let missing = uuid::Uuid::new_v4();
    app.scim(Method::GET, &format!("/Users/{missing}"), Some(&entra), None).await.scim_error(404, None);
    let bad = json!({ "schemas": [USER], "userName": "y@acme.example",
        "urn:scimgate:schemas:extension:identity:2.0:User": { "contactless": true } });
    app.scim(Method::POST, "/Users", Some(&entra), Some(bad)).await.scim_error(400, Some("invalidValue"));

    let console = sign_in(&app, &app.admin.clone()).await;
    let page = console.get("/setup/identity-providers").await;
    page.status(200).has(r#"data-token="entra""#).has(r#"data-token="okta""#).has("Acme");
    let entra_card = &page.body[page.body.find(r#"data-token="entra""#).unwrap()..];
    let entra_card = &entra_card[..entra_card.find("</section>").unwrap()];
    assert!(entra_card.contains(r#"<dd class="requests">3</dd>"#), "{entra_card}");
    assert!(entra_card.contains(r#"<dd class="errors">2 (1 refused by policy)</dd>"#), "{entra_card}");
    assert!(!entra_card.contains("Never"), "entra was used: {entra_card}");
    // What the IdP was told, newest first, with the request and scimType.
    assert!(entra_card.contains(&format!("GET /scim/v2/Users/{missing}")), "{entra_card}");
    assert!(entra_card.contains("<code>invalidValue</code>"), "{entra_card}");
    let post_at = entra_card.find("POST /scim/v2/Users").unwrap();
    let get_at = entra_card.find("GET /scim/v2/Users/").unwrap();
    assert!(post_at < get_at, "newest first");
    let okta_card = &page.body[page.body.find(r#"data-token="okta""#).unwrap()..];
    assert!(okta_card[..okta_card.find("</section>").unwrap()].contains("Never"));

    // Rotate: a new secret once, the old one refused at once.
    let rotated = console.post(&format!("/setup/identity-providers/{entra_id}/rotate"), &[]).await;
    rotated.status(200).has("Token rotated.");
    let at = rotated.body.find(r#"id="new-token" type="text" readonly value=""#).unwrap();
    let rest = &rotated.body[at + r#"id="new-token" type="text" readonly value=""#.len()..];
    let fresh = rest[..rest.find('"').unwrap()].to_owned();
    assert!(fresh.starts_with("sgt_"));
    app.scim(Method::GET, "/Users", Some(&entra), None).await.scim_error(401, None);
    app.scim(Method::GET, "/Users", Some(&fresh), None).await.ok(200);
    let tokens = app.get("/api/v1/tokens").await;
    let tokens = tokens.ok(200)["items"].as_array().unwrap().clone();
    let named: Vec<&Value> = tokens.iter().filter(|t| t["name"] == "entra").collect();
    assert_eq!(named.len(), 2);
    assert!(named.iter().any(|t| t["id"] == entra_id.as_str() && !t["revokedAt"].is_null()));
    let new_one = named.iter().find(|t| t["id"] != entra_id.as_str()).unwrap();
    assert_eq!(new_one["accountIds"], json!([acme]), "the rotated token keeps its accounts");
    assert!(app.audit_actions(&entra_id).await.iter().any(|a| a == "token.rotated"));
    // A revoked token cannot be rotated.
    let again = console.post(&format!("/setup/identity-providers/{entra_id}/rotate"), &[]).await;
    again.status(422);
    // The native API: last use recorded (the console page flushed it), rotation alike.
    assert!(named.iter().any(|t| t["id"] == entra_id.as_str() && t["lastUsedAt"].is_string()), "{named:#?}");
    assert!(tokens.iter().any(|t| t["id"] == okta_id.as_str() && t["lastUsedAt"].is_null()));
    let r = app.post(&format!("/api/v1/tokens/{okta_id}/rotate"), json!({})).await;
    let new_okta = r.ok(201)["token"].as_str().unwrap().to_owned();
    app.scim(Method::GET, "/Users", Some(&okta), None).await.scim_error(401, None);
    app.scim(Method::GET, "/Users", Some(&new_okta), None).await.ok(200);
    app.post(&format!("/api/v1/tokens/{okta_id}/rotate"), json!({})).await.problem(422, "validation_failed");
    // Two rotations (or a rotation and a revoke) at once: one wins, never two live tokens.
    let (_, once_id) = idp(&app, "once", &acme).await;
    let path = format!("/api/v1/tokens/{once_id}/rotate");
    let (a, b) = tokio::join!(app.post(&path, json!({})), app.post(&path, json!({})));
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 422]);
    let tokens = app.get("/api/v1/tokens").await;
    let live: Vec<Value> = tokens.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] == "once" && t["revokedAt"].is_null())
        .cloned()
        .collect();
    assert_eq!(live.len(), 1, "{live:#?}");
}

#[tokio::test]
async fn users_are_found_by_a_prefix_of_their_names_or_emails_and_sorted_by_any_column() {
    let app = spawn_app().await;
    let acme = app.account("Acme Corp").await;
    let mk = |user_name: &str, first: Option<&str>, last: Option<&str>, email: &str| {
        let mut b = json!({ "userName": user_name, "email": email });
        if let Some(f) = first {
            b["firstName"] = json!(f);
        }
        if let Some(l) = last {
            b["lastName"] = json!(l);
        }
        b
    };
    for body in [
        mk("zed@example.com", Some("Élodie"), Some("Ångström"), "elodie@mail.example"),
        mk("amy@example.com", Some("Amy"), Some("Pond"), "amy.pond@tardis.example"),
        mk("rory@example.com", Some("Rory"), Some("Williams"), "rory@tardis.example"),
        mk("nameless@example.com", None, None, "who@example.com"),
    ] {
        app.post("/api/v1/users", body).await.ok(201);
    }
    app.backed("backed@acme.example", &acme, "customer_community").await;
    let console = sign_in(&app, &app.admin.clone()).await;
    let names = |page: &Page| -> Vec<String> {
        page.body.split(r#"<tr data-user=""#).skip(1).map(|s| s[..s.find('"').unwrap()].to_owned()).collect()
    };
    // By userName, first name, last name (any case, Unicode), email, two words.
    for (q, expect) in [
        ("AM", vec!["amy@example.com"]),
        ("élo", vec!["zed@example.com"]),
        ("ÅNG", vec!["zed@example.com"]),
        ("tardis", vec![]),
        ("rory@t", vec!["rory@example.com"]),
        ("who@", vec!["nameless@example.com"]),
        ("amy po", vec!["amy@example.com"]),
        ("pond amy", vec!["amy@example.com"]),
        ("wi", vec!["rory@example.com"]),
        ("WHO", vec!["nameless@example.com"]),
    ] {
        let page = console.get(&format!("/setup/users?q={}", crate::helpers::urlencode(q))).await;
        page.status(200);
        assert_eq!(names(&page), expect, "search {q:?}");
        let n = expect.len();
        page.has(&format!("{n} {} match", if n == 1 { "user" } else { "users" }));
    }
    // The whole directory by name: last names in byte order of their folded form ('ångström'
    // after 'williams'), a missing name as the empty one (ties by creation); descending is
    // the exact reverse (one index walked backwards).
    let asc = console.get("/setup/users?sort=name&dir=asc").await;
    asc.has("5 users match")
        .has(r#"aria-sort="ascending""#)
        .has(r#"<td data-label="Account" class="account">Acme Corp</td>"#);
    assert_eq!(
        names(&asc),
        ["nameless@example.com", "backed@acme.example", "amy@example.com", "rory@example.com", "zed@example.com"]
    );
    let desc = console.get("/setup/users?sort=name&dir=desc").await;
    assert_eq!(
        names(&desc),
        ["zed@example.com", "rory@example.com", "amy@example.com", "backed@acme.example", "nameless@example.com"]
    );
    let created = console.get("/setup/users?sort=created&dir=desc").await;
    assert_eq!(names(&created).first().map(String::as_str), Some("backed@acme.example"));
    console.get("/setup/users?sort=colour").await.status(422);
    console.get("/setup/users?q=w").await.status(422).has("needs at least 2 characters");
    console.get("/setup/users?page=0").await.status(422);
    console.get("/setup/users?page=100000").await.status(422);
}

#[tokio::test]
async fn the_contact_picker_finds_unlinked_contacts_of_an_account_and_links_one() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let globex = app.account("Globex").await;
    let contact = |account: &str, first: &str, last: &str| json!({ "accountId": account, "firstName": first, "lastName": last, "email": format!("{}@c.example", first.to_lowercase()) });
    let pat = app.post("/api/v1/contacts", contact(&acme, "Patricia", "Hale")).await.ok(201).clone();
    app.post("/api/v1/contacts", contact(&acme, "Paul", "Ng")).await.ok(201);
    app.post("/api/v1/contacts", contact(&globex, "Pavel", "Other")).await.ok(201);
    // A contact already linked to a user is not offered.
    app.backed("linked@acme.example", &acme, "customer_community").await;
    let u = app
        .post("/api/v1/users", json!({ "userName": "lone@example.com", "email": "lone@example.com", "firstName": "Lone", "lastName": "Ranger" }))
        .await
        .ok(201)
        .clone();
    let console = sign_in(&app, &app.admin.clone()).await;
    let base = format!("/setup/users/{}", id(&u));
    // The new-contact form is filled in from the user's profile.
    let page = console.get(&base).await;
    page.status(200)
        .has(r#"name="firstName" type="text" required autocomplete="off" value="Lone""#)
        .has(r#"value="lone@example.com""#);
    let found = console.get(&format!("{base}?contactAccount={acme}&contactSearch=PA")).await;
    found.status(200).has(r#"id="contact-results""#).has("Patricia Hale").has("Paul Ng").lacks("Pavel");
    let found = console.get(&format!("{base}?contactAccount={acme}&contactSearch=hale")).await;
    found.has("Patricia Hale").lacks("Paul Ng");
    let found = console.get(&format!("{base}?contactAccount={acme}&contactSearch=paul%40c")).await;
    found.has("Paul Ng").lacks("Patricia");
    let linked_contact = app.get(&format!("/api/v1/users?userName={}", "linked@acme.example")).await;
    let linked_first = linked_contact.ok(200)["items"][0]["contactId"].as_str().unwrap().to_owned();
    let all = console.get(&format!("{base}?contactAccount={acme}&contactSearch=")).await;
    all.has("Patricia Hale").lacks(&linked_first);
    // Link the one found.
    let done = console
        .post(&format!("{base}/contact"), &[("mode", "existing"), ("contactId", pat["id"].as_str().unwrap())])
        .await;
    done.status(303);
    let user = app.get(&format!("/api/v1/users/{}", id(&u))).await;
    assert_eq!(user.ok(200)["contactId"], pat["id"]);
    // A delegated admin searches its own accounts only.
    let helpdesk = app.token("delegated_admin", &[&globex], None).await;
    let d = sign_in(&app, &helpdesk).await;
    let backed = app.backed("g@globex.example", &globex, "customer_community").await;
    let mine = d.get(&format!("/setup/users/{}?contactAccount={globex}&contactSearch=pav", id(&backed))).await;
    mine.status(200).has("Pavel Other");
    d.get(&format!("/setup/users/{}?contactAccount={acme}&contactSearch=p", id(&backed))).await.status(403);
}

#[tokio::test]
async fn the_audit_log_names_actors_and_targets_and_filters_by_actor_and_time() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let (entra, entra_id) = idp(&app, "entra", &acme).await;
    let scimmed = scim_create(&app, &entra, "s@acme.example").await;
    app.contactless("native@example.com").await;
    let actor = format!("token:{entra_id}");
    let by_entra = app.get(&format!("/api/v1/audit?actor={}", crate::helpers::urlencode(&actor))).await;
    let items = by_entra.ok(200)["items"].as_array().unwrap().clone();
    assert!(!items.is_empty());
    assert!(items.iter().all(|e| e["actor"] == actor.as_str()), "{items:#?}");
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let later = app.get(&format!("/api/v1/audit?from={}", crate::helpers::urlencode(&future))).await;
    assert_eq!(later.ok(200)["items"], json!([]));
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let recent = app
        .get(&format!(
            "/api/v1/audit?from={}&to={}",
            crate::helpers::urlencode(&past),
            crate::helpers::urlencode(&future)
        ))
        .await;
    assert!(recent.ok(200)["items"].as_array().unwrap().len() >= 3);
    app.get(&format!("/api/v1/audit?from={0}&to={0}", crate::helpers::urlencode(&future)))
        .await
        .problem(422, "validation_failed");

    let console = sign_in(&app, &app.admin.clone()).await;
    let page = console.get(&format!("/setup/audit?actor={}", crate::helpers::urlencode(&actor))).await;
    page.status(200);
    // Names, not ids: the token's name, the user's userName.
    page.has(&format!(r#"<span title="{actor}">entra</span>"#))
        .has(&format!(r#"<span title="{}">s@acme.example</span>"#, id(&scimmed)));
    page.lacks("native@example.com");
    let none = console.get("/setup/audit?from=2099-01-01T00:00").await;
    none.status(200).has("No events.");
    console.get("/setup/audit?from=yesterday").await.status(422);
}

#[tokio::test]
async fn names_written_before_the_search_existed_are_found_after_a_restart() {
    let app = spawn_app().await;
    let u = app
        .post("/api/v1/users", json!({ "userName": "old@example.com", "email": "old@example.com", "firstName": "Ödön", "lastName": "Horváth" }))
        .await
        .ok(201)
        .clone();
    // As a row written by an older gateway: no folded names.
    let db = scimgate::store::Db::open(&app.db_url, 1).unwrap();
    let uid = id(&u);
    db.write(move |conn| {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "UPDATE users SET first_name_folded = NULL, last_name_folded = NULL WHERE id = '{uid}'"
        ))
        .execute(conn)
        .map(|_| ())
        .map_err(scimgate::store::StoreError::from)
    })
    .await
    .unwrap();
    let console = sign_in(&app, &app.admin.clone()).await;
    console.get("/setup/users?q=%C3%B6d").await.has("0 users match");
    // The next gateway to start fills them in.
    let sibling = spawn_sibling(&app).await;
    let console = sign_in(&sibling, &sibling.admin.clone()).await;
    console.get("/setup/users?q=%C3%96D%C3%96N").await.has("1 user match").has("old@example.com");
    console.get("/setup/users?q=horv").await.has("old@example.com");
}

#[tokio::test]
async fn other_errors_and_a_rotated_tokens_past_are_charted_apart() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let (entra, entra_id) = idp(&app, "entra", &acme).await;
    scim_create(&app, &entra, "e@acme.example").await;
    // Not a policy refusal: an unknown id and a bad body.
    app.scim(Method::GET, &format!("/Users/{}", uuid::Uuid::new_v4()), Some(&entra), None).await.scim_error(404, None);
    app.scim(Method::POST, "/Users", Some(&entra), Some(json!({ "schemas": [USER] })))
        .await
        .scim_error(400, Some("invalidValue"));
    let r = app.post(&format!("/api/v1/tokens/{entra_id}/rotate"), json!({})).await;
    let fresh = r.ok(201).clone();
    scim_create(&app, fresh["token"].as_str().unwrap(), "f@acme.example").await;
    let console = sign_in(&app, &app.admin.clone()).await;
    let page = console.get("/setup/overview").await;
    assert_eq!(
        chart_summary(&page, &format!("scim:{entra_id}"), "hours"),
        "Last 24 hours: 3 in all; Created 1, Updated 0, Deactivated 0, Deleted 0, Other errors 2."
    );
    assert_eq!(
        chart_summary(&page, &format!("scim:{}", fresh["id"].as_str().unwrap()), "hours"),
        "Last 24 hours: 1 in all; Created 1, Updated 0, Deactivated 0, Deleted 0."
    );
    page.has("<h3>entra (revoked)</h3>").has("<h3>entra</h3>");
    // The audit log names a revoked token apart, and the bootstrap secret in words.
    let audit = console.get("/setup/audit").await;
    audit.has("entra (revoked)").has(">the bootstrap secret</span>");
}
