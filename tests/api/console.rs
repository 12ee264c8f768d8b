//! The Setup console (`/setup`) over real HTTP: sessions and cookies, CSRF, what each role
//! sees, and every action's happy path and policy refusal through the same services as
//! the native API.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::json;

use crate::helpers::{TestApp, id, spawn_app};

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    pub(crate) fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
    }

    #[track_caller]
    pub(crate) fn has(&self, text: &str) -> &Self {
        assert!(self.body.contains(text), "expected {text:?} in the page (status {}):\n{}", self.status, self.body);
        self
    }

    #[track_caller]
    pub(crate) fn lacks(&self, text: &str) -> &Self {
        assert!(!self.body.contains(text), "did not expect {text:?} in the page:\n{}", self.body);
        self
    }

    #[track_caller]
    pub(crate) fn status(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "page:\n{}", self.body);
        self
    }
}

/// The value of the first `name="csrf"` hidden field of a page.
fn csrf_of(body: &str) -> String {
    let at = body.find(r#"name="csrf" value=""#).expect("a form with a CSRF field");
    let rest = &body[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn cookie_value(set_cookies: &[String], name: &str) -> Option<String> {
    set_cookies
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")).map(|v| v.split(';').next().unwrap_or("").to_owned()))
}

async fn fetch(app: &TestApp, path: &str, cookie: Option<&str>, form: Option<&[(&str, &str)]>) -> Page {
    let url = format!("{}{path}", app.address);
    let mut req = match form {
        Some(f) => app
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(f).unwrap()),
        None => app.client.get(url),
    };
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().await.expect("request sent");
    Page { status: res.status(), headers: res.headers().clone(), body: res.text().await.unwrap() }
}

/// A signed-in browser: its session cookie and the session's CSRF token.
pub(crate) struct Console<'a> {
    app: &'a TestApp,
    cookie: String,
    csrf: String,
}

/// Posts the sign-in form as a browser would (with the form's own CSRF cookie).
async fn sign_in_raw(app: &TestApp, token: &str, extra_headers: &[(&str, &str)]) -> Page {
    let form = fetch(app, "/setup/sign-in", None, None).await;
    form.status(200);
    let login_cookie = cookie_value(&form.set_cookies(), "scimgate_console_signin").expect("sign-in cookie");
    let csrf = csrf_of(&form.body);
    let mut req = app
        .client
        .post(format!("{}/setup/sign-in", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("scimgate_console_signin={login_cookie}"))
        .body(serde_urlencoded::to_string([("csrf", csrf.as_str()), ("token", token)]).unwrap());
    for (k, v) in extra_headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    Page { status: res.status(), headers: res.headers().clone(), body: res.text().await.unwrap() }
}

pub(crate) async fn sign_in<'a>(app: &'a TestApp, token: &str) -> Console<'a> {
    let page = sign_in_raw(app, token, &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "sign-in failed:\n{}", page.body);
    assert_eq!(page.location(), "/setup/overview");
    let secret = cookie_value(&page.set_cookies(), "scimgate_console").expect("session cookie");
    let cookie = format!("scimgate_console={secret}");
    let users = fetch(app, "/setup/users", Some(&cookie), None).await;
    users.status(200);
    Console { app, cookie, csrf: csrf_of(&users.body) }
}

impl Console<'_> {
    pub(crate) async fn get(&self, path: &str) -> Page {
        fetch(self.app, path, Some(&self.cookie), None).await
    }

    /// Posts a console form with this session's CSRF token.
    pub(crate) async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        fetch(self.app, path, Some(&self.cookie), Some(&all)).await
    }

    /// Posts without the CSRF token, or with the one given.
    async fn post_forged(&self, path: &str, csrf: Option<&str>, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(&str, &str)> = csrf.map(|c| vec![("csrf", c)]).unwrap_or_default();
        all.extend_from_slice(fields);
        fetch(self.app, path, Some(&self.cookie), Some(&all)).await
    }
}

async fn token_with_id(app: &TestApp, role: &str, accounts: &[&str], site: Option<&str>) -> (String, String) {
    let mut body = json!({ "name": format!("{role} console"), "role": role, "accountIds": accounts });
    if let Some(s) = site {
        body["siteId"] = json!(s);
    }
    let r = app.post("/api/v1/tokens", body).await;
    let b = r.ok(201);
    (b["token"].as_str().unwrap().to_owned(), b["id"].as_str().unwrap().to_owned())
}

async fn user(app: &TestApp, id: &str) -> serde_json::Value {
    app.get(&format!("/api/v1/users/{id}")).await.ok(200).clone()
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_expiring_session_cookie_and_sign_out_ends_it() {
    let app = spawn_app().await;
    let (admin, token_id) = token_with_id(&app, "admin", &[], None).await;
    let page = sign_in_raw(&app, &admin, &[]).await;
    page.status(303);
    let cookie = page.set_cookies().into_iter().find(|c| c.starts_with("scimgate_console=")).unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/setup", "Max-Age=28800"] {
        assert!(cookie.contains(attr), "{attr} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: no Secure attribute ({cookie})");
    assert!(cookie.contains("scimgate_console=sgc_"));
    // X-Forwarded-Proto from a peer that is not a trusted proxy is not believed...
    let spoofed = sign_in_raw(&app, &admin, &[("x-forwarded-proto", "https")]).await;
    let cookie = spoofed.set_cookies().into_iter().find(|c| c.starts_with("scimgate_console=")).unwrap();
    assert!(!cookie.contains("Secure"), "{cookie}");
    // ...behind a trusted TLS-terminating proxy the cookie is Secure.
    let proxied = crate::helpers::spawn_with(|s| s.server.trusted_proxies = vec!["127.0.0.0/8".into()]).await;
    let (proxied_admin, _) = token_with_id(&proxied, "admin", &[], None).await;
    let tls = sign_in_raw(&proxied, &proxied_admin, &[("x-forwarded-proto", "https")]).await;
    let cookie = tls.set_cookies().into_iter().find(|c| c.starts_with("scimgate_console=")).unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");

    let console = sign_in(&app, &admin).await;
    let users = console.get("/setup/users").await;
    users.status(200).has("Signed in as <strong>admin console</strong> (admin)");
    for h in ["content-security-policy", "x-frame-options", "cache-control"] {
        assert!(users.headers.contains_key(h), "{h} missing");
    }
    let out = console.post("/setup/sign-out", &[]).await;
    out.status(303);
    assert_eq!(out.location(), "/setup/sign-in?signed_out=1");
    assert!(out.set_cookies().iter().any(|c| c.starts_with("scimgate_console=;") && c.contains("Max-Age=0")));
    // The old cookie no longer opens anything.
    let after = console.get("/setup/users").await;
    after.status(303);
    assert_eq!(after.location(), "/setup/sign-in");
    let r = app.get("/api/v1/audit?action=console.signed_out").await;
    assert_eq!(r.ok(200)["items"][0]["actor"], format!("token:{token_id}"));
}

#[tokio::test]
async fn pages_without_a_session_send_the_browser_to_sign_in() {
    let app = spawn_app().await;
    for path in ["/setup/users", "/setup/licenses", "/setup/audit", "/setup/users/not-an-id"] {
        let page = fetch(&app, path, None, None).await;
        page.status(303);
        assert_eq!(page.location(), "/setup/sign-in", "{path}");
    }
    let page = fetch(&app, "/setup/users", Some("scimgate_console=sgc_made_up"), None).await;
    page.status(303);
    let page = fetch(&app, "/setup/users/x/upgrade", None, Some(&[("license", "customer_community")])).await;
    page.status(303);
}

#[tokio::test]
async fn only_admin_and_delegated_admin_tokens_can_sign_in() {
    let app = spawn_app().await;
    let account = app.account("Acme").await;
    let site = app.site("portal", true).await;
    let (scim, _) = token_with_id(&app, "scim", &[], None).await;
    let (registration, _) = token_with_id(&app, "registration", &[], Some(&site)).await;
    let page = sign_in_raw(&app, &scim, &[]).await;
    page.status(403).has("A scim sign-in cannot use this part of the console.");
    assert!(cookie_value(&page.set_cookies(), "scimgate_console").is_none());
    sign_in_raw(&app, &registration, &[]).await.status(403).has("A registration sign-in cannot use");
    sign_in_raw(&app, "sgt_not_a_token", &[]).await.status(401).has("unknown, revoked or mistyped");
    let (delegated, _) = token_with_id(&app, "delegated_admin", &[&account], None).await;
    sign_in(&app, &delegated).await;
    sign_in(&app, &app.admin.clone()).await;
}

#[tokio::test]
async fn the_sign_in_form_needs_its_own_csrf_cookie() {
    let app = spawn_app().await;
    let page = fetch(&app, "/setup/sign-in", None, Some(&[("csrf", "guess"), ("token", &app.admin)])).await;
    page.status(403).has("did not come from this console");
    assert!(cookie_value(&page.set_cookies(), "scimgate_console").is_none());
}

#[tokio::test]
async fn forged_posts_without_the_sessions_csrf_token_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let u = app.contactless("victim@example.com").await;
    let console = sign_in(&app, &app.admin.clone()).await;
    let path = format!("/setup/users/{}/active", id(&u));
    let before = app.audit_actions(&id(&u)).await;
    for csrf in [None, Some("wrong"), Some("")] {
        let page = console.post_forged(&path, csrf, &[("active", "false"), ("version", "1")]).await;
        page.status(403).has("did not carry the security token");
    }
    // Another session's token is no good either.
    let other = sign_in(&app, &app.admin.clone()).await;
    console.post_forged(&path, Some(&other.csrf), &[("active", "false")]).await.status(403);
    let now = user(&app, &id(&u)).await;
    assert_eq!(now["active"], true);
    assert_eq!(now["version"], 1);
    assert_eq!(app.audit_actions(&id(&u)).await, before);
    // The same form with the token goes through.
    console.post(&path, &[("active", "false"), ("version", "1")]).await.status(303);
    assert_eq!(user(&app, &id(&u)).await["active"], false);
}

#[tokio::test]
async fn a_delegated_admin_sees_no_contactless_user_and_cannot_open_one() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let other = app.account("Other").await;
    let hidden = app.contactless("hidden-contactless@example.com").await;
    let mine = app.backed("mine@example.com", &acme, "customer_community").await;
    app.backed("theirs@example.com", &other, "customer_community").await;
    let (delegated, _) = token_with_id(&app, "delegated_admin", &[&acme], None).await;
    let console = sign_in(&app, &delegated).await;
    let list = console.get("/setup/users").await;
    list.status(200).has("mine@example.com").lacks("hidden-contactless@example.com").lacks("theirs@example.com");
    list.lacks(r#"href="/setup/licenses""#).lacks("Contactless only");
    console.get("/setup/users?contactless=true").await.status(200).has("No users match.");
    let page = console.get(&format!("/setup/users/{}", id(&hidden))).await;
    page.status(403).has("Delegated admins cannot manage contactless users").lacks("hidden-contactless@example.com");
    // Acting on one is refused the same way, and changes nothing.
    let path = format!("/setup/users/{}/active", id(&hidden));
    console.post(&path, &[("active", "false")]).await.status(403);
    assert_eq!(user(&app, &id(&hidden)).await["active"], true);
    // Its own user: visible, but a downgrade (which would make a contactless user) is refused.
    let page = console.get(&format!("/setup/users/{}", id(&mine))).await;
    page.status(200).has("mine@example.com").has("The audit log is visible to admins only.");
    page.has(r#"id="downgrade" disabled"#);
    let page = console.post(&format!("/setup/users/{}/downgrade", id(&mine)), &[]).await;
    page.status(403).has("Not available to delegated admins");
    assert_eq!(user(&app, &id(&mine)).await["license"], "customer_community");
    for admin_page in ["/setup/licenses", "/setup/tokens", "/setup/audit", "/setup/sites"] {
        console.get(admin_page).await.status(403).has("A delegated admin sign-in cannot use this part of the console.");
    }
    console.get("/setup/bulk-downgrade").await.status(403).has("Not available to delegated admins");
}

#[tokio::test]
async fn the_users_list_filters_like_the_native_api() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let site = app.site("portal", true).await;
    let a = app.contactless("alpha@example.com").await;
    app.backed("beta@example.com", &acme, "customer_community").await;
    app.put(&format!("/api/v1/sites/{site}/members/{}", id(&a)), json!({})).await.ok(204);
    let console = sign_in(&app, &app.admin.clone()).await;
    let all = console.get("/setup/users").await;
    all.status(200).has("alpha@example.com").has("beta@example.com").has("Contactless").has("Site portal");
    let page = console.get("/setup/users?contactless=true").await;
    page.has("alpha@example.com").lacks("beta@example.com");
    let page = console.get("/setup/users?license=customer_community").await;
    page.has("beta@example.com").lacks("alpha@example.com");
    console.get(&format!("/setup/users?accountId={acme}")).await.has("beta@example.com").lacks("alpha@example.com");
    console.get(&format!("/setup/users?siteId={site}")).await.has("alpha@example.com").lacks("beta@example.com");
    console.get("/setup/users?userName=ALPHA%40example.com").await.has("alpha@example.com").lacks("beta@example.com");
    console.get("/setup/users?active=false").await.has("No users match.");
    console.get("/setup/users?license=gold").await.status(422);
    for i in 0..26 {
        app.contactless(&format!("many{i:02}@example.com")).await;
    }
    let first = console.get("/setup/users?contactless=true").await;
    first.has("many23@example.com").lacks("many24@example.com").has("Next page");
    let at = first.body.find("rel=\"next\"").unwrap();
    let href_start = first.body[..at].rfind("href=\"").unwrap() + 6;
    let href = first.body[href_start..].split('"').next().unwrap().replace("&amp;", "&");
    console.get(&href).await.status(200).has("many24@example.com").has("many25@example.com").has("Previous page");
}

#[tokio::test]
async fn upgrade_is_disabled_with_the_reason_until_a_contact_is_assigned() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let u = app.contactless("upme@example.com").await;
    let console = sign_in(&app, &app.admin.clone()).await;
    let page = console.get(&format!("/setup/users/{}", id(&u))).await;
    page.status(200).has(r#"disabled aria-describedby="upgrade-why""#);
    page.has("Upgrading a contactless user to a community license requires a contact.");
    page.has(r#"disabled aria-describedby="login-as-why""#).has("Login-as requires a contact");
    page.lacks("/api/v1/users");
    // Submitted anyway (an old page, a crafted form): the service refuses it in the same words.
    let refused = console.post(&format!("/setup/users/{}/upgrade", id(&u)), &[("license", "customer_community")]).await;
    refused.status(422).has("Contact required").has("Assign a contact first");
    assert_eq!(user(&app, &id(&u)).await["license"], "external_identity");
    // Assign a new contact, then upgrade.
    let page = console
        .post(
            &format!("/setup/users/{}/contact", id(&u)),
            &[
                ("mode", "new"),
                ("accountId", &acme),
                ("firstName", "Up"),
                ("lastName", "Me"),
                ("email", "up@example.com"),
            ],
        )
        .await;
    page.status(303);
    assert_eq!(page.location(), format!("/setup/users/{}?done=contact_assigned", id(&u)));
    console.get(page.location()).await.status(200).has("Contact assigned.").has("Up Me").has("Acme");
    let page = console.post(&format!("/setup/users/{}/upgrade", id(&u)), &[("license", "customer_community")]).await;
    page.status(303);
    let now = user(&app, &id(&u)).await;
    assert_eq!(now["license"], "customer_community");
    assert!(now["contactId"].is_string());
    let shown = console.get(page.location()).await;
    shown.has("Upgraded.").has("The user now holds customer_community.");
    shown.has("user.upgraded").has("user.contact_assigned");
}

#[tokio::test]
async fn assigning_a_contact_shows_conflicts_and_bad_input_in_plain_words() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let holder = app.backed("holder@example.com", &acme, "external_identity").await;
    let u = app.contactless("seeker@example.com").await;
    let console = sign_in(&app, &app.admin.clone()).await;
    let path = format!("/setup/users/{}/contact", id(&u));
    let taken = holder["contactId"].as_str().unwrap();
    let page = console.post(&path, &[("mode", "existing"), ("contactId", taken)]).await;
    page.status(409).has("Contact in use").has("The contact is already linked to another user.");
    console.post(&path, &[("mode", "existing")]).await.status(422).has("Contact id: is required.");
    console
        .post(&path, &[("mode", "new"), ("accountId", &acme), ("firstName", "A"), ("lastName", "B"), ("email", "nope")])
        .await
        .status(422)
        .has("Check the form");
    assert!(user(&app, &id(&u)).await["contactId"].is_null());
    // An existing free contact links.
    let c = app
        .post(
            "/api/v1/contacts",
            json!({ "accountId": acme, "firstName": "Free", "lastName": "Contact", "email": "f@example.com" }),
        )
        .await;
    let contact = id(c.ok(201));
    console.post(&path, &[("mode", "existing"), ("contactId", &contact)]).await.status(303);
    assert_eq!(user(&app, &id(&u)).await["contactId"], contact.as_str());
}

#[tokio::test]
async fn upgrading_into_a_full_pool_is_refused_with_the_reason() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    app.put("/api/v1/licenses/partner_community", json!({ "capacity": 0 })).await.ok(200);
    let u = app.backed("partner@example.com", &acme, "external_identity").await;
    let console = sign_in(&app, &app.admin.clone()).await;
    let page = console.post(&format!("/setup/users/{}/upgrade", id(&u)), &[("license", "partner_community")]).await;
    page.status(409).has("No license available").has("Every partner_community license is in use.");
    assert_eq!(user(&app, &id(&u)).await["license"], "external_identity");
}

#[tokio::test]
async fn downgrade_asks_for_confirmation_then_returns_the_license_and_keeps_the_contact() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let (admin, token_id) = token_with_id(&app, "admin", &[], None).await;
    let u = app.backed("down@example.com", &acme, "customer_community").await;
    let contact = u["contactId"].as_str().unwrap().to_owned();
    assert_eq!(app.pool("customer_community").await["used"], 1);
    let console = sign_in(&app, &admin).await;
    let confirm = console.get(&format!("/setup/users/{}/downgrade", id(&u))).await;
    confirm.status(200).has("returns to the pool").has(&contact).has("<strong>stays</strong>");
    let page = console.post(&format!("/setup/users/{}/downgrade", id(&u)), &[]).await;
    page.status(303);
    assert_eq!(page.location(), format!("/setup/users/{}?done=downgraded", id(&u)));
    let now = user(&app, &id(&u)).await;
    assert_eq!((now["license"].as_str(), now["contactless"].as_bool()), (Some("external_identity"), Some(true)));
    assert_eq!(app.pool("customer_community").await["used"], 0);
    app.get(&format!("/api/v1/contacts/{contact}")).await.ok(200);
    let r = app.get(&format!("/api/v1/audit?targetId={}&action=user.downgraded", id(&u))).await;
    assert_eq!(r.ok(200)["items"][0]["actor"], format!("token:{token_id}"), "actor is the signed-in token");
    // Now contactless: nothing more to downgrade.
    let page = console.get(page.location()).await;
    page.has("Downgraded.").has(r#"id="downgrade" disabled"#).has("already contactless");
}

#[tokio::test]
async fn login_as_shows_the_session_token_once_and_is_refused_for_contactless_users() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let backed = app.backed("imp@example.com", &acme, "customer_community").await;
    let contactless = app.contactless("noimp@example.com").await;
    let console = sign_in(&app, &app.admin.clone()).await;
    let page = console.post(&format!("/setup/users/{}/login-as", id(&backed)), &[]).await;
    page.status(201).has("Login-as session started").has("shown only once");
    let start = page.body.find("value=\"sgs_").expect("the session token") + 7;
    let token = page.body[start..].split('"').next().unwrap().to_owned();
    let r = app.call(reqwest::Method::GET, "/api/v1/session", Some(&token), None).await;
    assert_eq!(r.ok(200)["userId"], id(&backed).as_str());
    // Not shown again.
    console.get(&format!("/setup/users/{}", id(&backed))).await.lacks(&token);
    let page = console.post(&format!("/setup/users/{}/login-as", id(&contactless)), &[]).await;
    page.status(422).has("Login-as requires a contact and this user is contactless.").lacks("sgs_");
}

#[tokio::test]
async fn deactivate_and_reactivate_honour_the_version_the_page_showed() {
    let app = spawn_app().await;
    let u = app.contactless("act@example.com").await;
    let console = sign_in(&app, &app.admin.clone()).await;
    let path = format!("/setup/users/{}/active", id(&u));
    let page = console.post(&path, &[("active", "false"), ("version", "1")]).await;
    page.status(303);
    console.get(page.location()).await.has("Deactivated.").has("Reactivate");
    // A stale page (version 1) cannot undo a change it did not see.
    console.post(&path, &[("active", "true"), ("version", "1")]).await.status(412).has("Changed meanwhile");
    assert_eq!(user(&app, &id(&u)).await["active"], false);
    console.post(&path, &[("active", "true"), ("version", "2")]).await.status(303);
    assert_eq!(user(&app, &id(&u)).await["active"], true);
    let actions = app.audit_actions(&id(&u)).await;
    assert!(actions.contains(&"user.deactivated".into()) && actions.contains(&"user.reactivated".into()));
}

#[tokio::test]
async fn licenses_show_the_pools_and_admins_change_capacity() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    app.put("/api/v1/licenses/customer_community", json!({ "capacity": 10 })).await.ok(200);
    app.backed("l1@example.com", &acme, "customer_community").await;
    app.backed("l2@example.com", &acme, "customer_community").await;
    let console = sign_in(&app, &app.admin.clone()).await;
    let page = console.get("/setup/licenses").await;
    page.status(200).has(r#"id="bar-customer_community""#).has(r#"value="2""#).has("2 of 10 in use");
    let page = console.post("/setup/licenses/customer_community", &[("capacity", "5")]).await;
    page.status(303);
    console.get(page.location()).await.has("Capacity changed.").has("2 of 5 in use");
    assert_eq!(app.pool("customer_community").await["capacity"], 5);
    let page = console.post("/setup/licenses/customer_community", &[("capacity", "1")]).await;
    page.status(409).has("Capacity too low").has("Capacity 1 is below the 2 licenses in use.");
    console.post("/setup/licenses/customer_community", &[("capacity", "lots")]).await.status(422);
    console.post("/setup/licenses/customer_community", &[("capacity", "")]).await.status(303);
    assert!(app.pool("customer_community").await["capacity"].is_null());
    console.post("/setup/licenses/gold", &[("capacity", "1")]).await.status(404);
}

#[tokio::test]
async fn bulk_downgrade_previews_then_downgrades_what_the_preview_showed() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let idle = app.backed("idle@example.com", &acme, "customer_community").await;
    let busy = app.backed("busy@example.com", &acme, "customer_community_plus").await;
    let picked = app.backed("picked@example.com", &acme, "partner_community").await;
    let loose = app.contactless("loose@example.com").await;
    app.patch(&format!("/api/v1/users/{}", id(&idle)), json!({ "active": false })).await.ok(200);
    let console = sign_in(&app, &app.admin.clone()).await;
    let form = console.get("/setup/bulk-downgrade").await;
    form.status(200).has("idle@example.com").has("busy@example.com").lacks("loose@example.com");
    // Inactive users: only idle.
    let preview = console.post("/setup/bulk-downgrade/preview", &[("scope", "inactive")]).await;
    preview.status(200).has("Would be downgraded (1)").has("idle@example.com").has("Downgrade 1 user");
    assert_eq!(user(&app, &id(&idle)).await["license"], "customer_community", "a dry run changes nothing");
    // Selected users: one skipped with its reason.
    let preview = console
        .post(
            "/setup/bulk-downgrade/preview",
            &[("scope", "selected"), ("userIds", &id(&picked)), ("userIds", &id(&loose))],
        )
        .await;
    preview.status(200).has("Would be downgraded (1)").has("Skipped (1)").has("Already contactless");
    let result = console
        .post("/setup/bulk-downgrade", &[("scope", "confirm"), ("inactiveOnly", "false"), ("userIds", &id(&picked))])
        .await;
    result.status(200).has("Downgraded (1)").has("picked@example.com");
    assert_eq!(user(&app, &id(&picked)).await["contactless"], true);
    assert_eq!(app.pool("partner_community").await["used"], 0);
    assert_eq!(user(&app, &id(&busy)).await["license"], "customer_community_plus");
    // The confirmation of an inactive-only preview skips a user reactivated meanwhile.
    app.patch(&format!("/api/v1/users/{}", id(&idle)), json!({ "active": true })).await.ok(200);
    let result = console
        .post("/setup/bulk-downgrade", &[("scope", "confirm"), ("inactiveOnly", "true"), ("userIds", &id(&idle))])
        .await;
    result.status(200).has("Downgraded (0)").has("Active: only inactive users were chosen.");
    console
        .post("/setup/bulk-downgrade/preview", &[("scope", "selected")])
        .await
        .status(422)
        .has("select at least one user");
}

#[tokio::test]
async fn the_self_registration_switch_is_audited_and_decides_registrations() {
    let app = spawn_app().await;
    let site = app.site("portal", true).await;
    let (registration, _) = token_with_id(&app, "registration", &[], Some(&site)).await;
    let member = app.contactless("member@example.com").await;
    app.put(&format!("/api/v1/sites/{site}/members/{}", id(&member)), json!({})).await.ok(204);
    let console = sign_in(&app, &app.admin.clone()).await;
    console.get("/setup/sites").await.status(200).has("Site portal").has("/portal");
    let page = console.get(&format!("/setup/sites/{site}")).await;
    page.status(200).has("member@example.com").has("Turn self-registration off");
    let page = console.post(&format!("/setup/sites/{site}/self-registration"), &[("enabled", "false")]).await;
    page.status(303);
    console.get(page.location()).await.has("Self-registration is off.").has("Turn self-registration on");
    let body = json!({ "userName": "visitor@example.com", "email": "v@example.com" });
    let r = app.register(&site, &registration, body).await;
    r.problem(403, "self_registration_disabled");
    assert!(app.audit_actions(&site).await.contains(&"site.self_registration_set".to_owned()));
    console.post(&format!("/setup/sites/{site}/self-registration"), &[("enabled", "true")]).await.status(303);
    let r = app.get(&format!("/api/v1/sites/{site}")).await;
    assert_eq!(r.ok(200)["selfRegistration"], true);
}

#[tokio::test]
async fn tokens_are_shown_once_and_revoking_one_ends_its_console_sessions() {
    let app = spawn_app().await;
    let acme = app.account("Acme").await;
    let console = sign_in(&app, &app.admin.clone()).await;
    let page = console
        .post("/setup/tokens", &[("name", "helpdesk"), ("role", "delegated_admin"), ("accountIds", &acme)])
        .await;
    page.status(201).has("Token <q>helpdesk</q> created").has("shown only this once");
    let start = page.body.find("value=\"sgt_").expect("the new token") + 7;
    let secret = page.body[start..].split('"').next().unwrap().to_owned();
    let list = console.get("/setup/tokens").await;
    list.status(200).has("helpdesk").lacks(&secret);
    // Bad requests are explained.
    console
        .post("/setup/tokens", &[("name", "x"), ("role", "delegated_admin")])
        .await
        .status(422)
        .has("needs at least one account");
    // The new token signs in; revoking it ends that session.
    let helpdesk = sign_in(&app, &secret).await;
    let tokens = app.get("/api/v1/tokens").await;
    let token_id = tokens.ok(200)["items"].as_array().unwrap().iter().find(|t| t["name"] == "helpdesk").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    console.post(&format!("/setup/tokens/{token_id}/revoke"), &[]).await.status(303);
    helpdesk.get("/setup/users").await.status(303);
    console.get("/setup/tokens").await.has("Revoked");
}

#[tokio::test]
async fn the_audit_log_filters_by_target_and_action() {
    let app = spawn_app().await;
    let a = app.contactless("audited@example.com").await;
    app.contactless("other@example.com").await;
    app.patch(&format!("/api/v1/users/{}", id(&a)), json!({ "active": false })).await.ok(200);
    let console = sign_in(&app, &app.admin.clone()).await;
    let page = console.get(&format!("/setup/audit?targetId={}", id(&a))).await;
    page.status(200).has("<code>user.created</code>").has("<code>user.deactivated</code>");
    page.lacks("<code>console.signed_in</code>");
    let page = console.get("/setup/audit?action=user.deactivated").await;
    page.status(200).has("<code>user.deactivated</code>").lacks("<code>user.created</code>");
    let page = console.get("/setup/audit").await;
    page.has("<code>console.signed_in</code>");
    // The action filter offers every action the gateway audits, groups and license
    // changes included.
    for action in
        ["user.license_changed", "user.login_as_revoked", "site.member_removed", "group.created", "contact.synced"]
    {
        page.has(&format!(r#"<option value="{action}">"#));
    }
}

#[tokio::test]
async fn unknown_console_pages_and_ids_are_not_found() {
    let app = spawn_app().await;
    let console = sign_in(&app, &app.admin.clone()).await;
    console.get("/setup/nowhere").await.status(404).has("Not found");
    console.get("/setup/users/not-an-id").await.status(404);
    console.get("/setup/users/0192d7a4-0000-7000-8000-000000000000").await.status(404).has("There is no such user.");
    let css = console.get("/setup/console.css").await;
    css.status(200);
    assert!(css.headers["content-type"].to_str().unwrap().starts_with("text/css"));
}

#[tokio::test]
async fn a_bootstrap_session_ends_when_the_gateway_runs_with_another_secret() {
    let app = spawn_app().await;
    let console = sign_in(&app, &app.admin).await;
    // Another instance (or a restart) with the same secret resumes the session...
    let same = crate::helpers::spawn_sibling(&app).await;
    fetch(&same, "/setup/users", Some(&console.cookie), None).await.status(200);
    // ...one with a new secret does not.
    let rotated = crate::helpers::spawn_sibling_with(&app, |s| {
        s.auth.bootstrap_token = Some("a-brand-new-bootstrap-secret-after-rotation".to_owned().into())
    })
    .await;
    let page = fetch(&rotated, "/setup/users", Some(&console.cookie), None).await;
    assert_ne!(page.status, StatusCode::OK, "{}", page.body);
}

#[tokio::test]
async fn a_self_registration_switch_flipped_by_many_posts_at_once_is_audited_once() {
    let app = spawn_app().await;
    let site = app.site("portal", true).await;
    let console = sign_in(&app, &app.admin.clone()).await;
    let path = format!("/setup/sites/{site}/self-registration");
    for (enabled, changes) in [("false", 1), ("false", 1), ("true", 2)] {
        let fields = [("enabled", enabled)];
        let posts = (0..16).map(|_| console.post(&path, &fields));
        for page in futures::future::join_all(posts).await {
            page.status(303);
        }
        let set = app.audit_actions(&site).await.iter().filter(|a| *a == "site.self_registration_set").count();
        assert_eq!(set, changes, "after turning it {enabled}");
    }
}
