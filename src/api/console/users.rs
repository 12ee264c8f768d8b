//! Sign-in and sign-out, the users list, the user page and its actions.

use crate::api::extract::Deferred;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use super::errors::{Notice, explain, policy_words, sentence};
use super::views::{self, Nav, action_button, badge, csrf, short_id, when, yes_no};
use super::{
    Ctx, Fields, Posted, SESSION_COOKIE, SIGN_IN_COOKIE, csrf_matches, html, over_tls, path_id, see_other, session_ttl,
    set_cookie,
};
use crate::api::AppState;
use crate::domain::{AccountId, ContactDraft, ContactId, License, Principal, User, UserId, ValidationError};
use crate::error::ServiceError;
use crate::service::sessions::{self as sessions_svc, Offer};
use crate::service::users::{self as svc, ContactSpec, SearchSort, UserChanges, UserQuery, UserSearch};
use crate::service::{accounts, audit, auth, sites};

const PAGE_SIZE: i64 = 25;

// ---------------------------------------------------------------- sign-in / sign-out

fn sign_in_form(csrf_value: &str, notice: Option<&Notice>) -> Markup {
    let body = html! {
        form class="card narrow" method="post" action="/setup/sign-in" {
            p { "Paste an " strong { "admin" } " or " strong { "delegated admin" } " token. "
                "The console acts as that token: what it may do through the API, it may do here, "
                "and the audit log names it." }
            input type="hidden" name="csrf" value=(csrf_value);
            div class="field" {
                label for="token" { "Token" }
                input id="token" name="token" type="password" autocomplete="off" required spellcheck="false";
            }
            button type="submit" class="primary" { "Sign in" }
        }
    };
    views::layout(None, "Sign in", Nav::None, notice, body)
}

fn sign_in_response(req: &HttpRequest, status: StatusCode, notice: Option<&Notice>) -> HttpResponse {
    let value = match auth::generate_secret("") {
        Ok(v) => v,
        Err(e) => {
            let n = explain(e);
            return html(n.status, views::bare(&n.title, &n, "/setup/sign-in"));
        }
    };
    let mut res = html(status, sign_in_form(&value, notice));
    if let Ok(v) = header::HeaderValue::from_str(&set_cookie(SIGN_IN_COOKIE, &value, 3600, over_tls(req))) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

pub async fn sign_in_page(req: HttpRequest) -> HttpResponse {
    let notice = Fields::query(&req)
        .get("signed_out")
        .map(|_| Notice::success("Signed out.", "Your console session has ended."));
    sign_in_response(&req, StatusCode::OK, notice.as_ref())
}

pub async fn sign_in(req: HttpRequest, state: web::Data<AppState>, body: Deferred<web::Bytes>) -> HttpResponse {
    let body = match body.get().await {
        Ok(body) => body,
        Err(crate::api::extract::Refused::Timeout { .. }) => {
            return sign_in_response(&req, StatusCode::REQUEST_TIMEOUT, None);
        }
        Err(_) => return sign_in_response(&req, StatusCode::BAD_REQUEST, None),
    };
    let fields = match Fields::parse(&body) {
        Ok(f) => f,
        Err(_) => return sign_in_response(&req, StatusCode::BAD_REQUEST, None),
    };
    let expected = super::cookie(&req, SIGN_IN_COOKIE).unwrap_or_default();
    if !csrf_matches(&expected, fields.get("csrf")) {
        let n = Notice::error(
            StatusCode::FORBIDDEN,
            "Form refused",
            "This sign-in form did not come from this console (or it is older than an hour). Try again.",
        );
        return sign_in_response(&req, StatusCode::FORBIDDEN, Some(&n));
    }
    let token = fields.get("token").unwrap_or("");
    // Sign-in attempts count toward the address's failed-authentication allowance.
    let ip = state.network.client_ip(&req);
    let attempt = crate::service::sessions::sign_in(&state.db, &state.bootstrap, &state.tokens, token, session_ttl());
    match crate::api::guarded_attempt(&state, ip, attempt).await {
        Ok((_session, secret)) => {
            let tls = over_tls(&req);
            let mut res = see_other("/setup/overview");
            let max_age = session_ttl().num_seconds();
            for c in [set_cookie(SESSION_COOKIE, &secret, max_age, tls), set_cookie(SIGN_IN_COOKIE, "", 0, tls)] {
                if let Ok(v) = header::HeaderValue::from_str(&c) {
                    res.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            res
        }
        Err(e) => {
            let n = explain(e);
            sign_in_response(&req, n.status, Some(&n))
        }
    }
}

pub async fn sign_out(p: Posted, req: HttpRequest) -> HttpResponse {
    let ctx = p.ctx;
    if let Err(e) = crate::service::sessions::sign_out(&ctx.state.db, ctx.session.clone()).await {
        return ctx.fail(e);
    }
    let mut res = see_other("/setup/sign-in?signed_out=1");
    if let Ok(v) = header::HeaderValue::from_str(&set_cookie(SESSION_COOKIE, "", 0, over_tls(&req))) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

// ---------------------------------------------------------------- users list

/// Names of accounts and sites, for the admin's views (delegated admins see ids: the API
/// does not let them read accounts or sites).
struct Names {
    accounts: Vec<(String, String)>,
    sites: Vec<(String, String)>,
}

impl Names {
    async fn load(ctx: &Ctx) -> Result<Names, ServiceError> {
        if let Ok(admin) = ctx.admin() {
            let accounts = accounts::list_accounts(&ctx.state.db, &admin, None, 200).await?.items;
            let sites = sites::list(&ctx.state.db, &admin, None, 200).await?.items;
            return Ok(Names {
                accounts: accounts.into_iter().map(|a| (a.id.into(), a.name)).collect(),
                sites: sites.into_iter().map(|s| (s.id.into(), s.name)).collect(),
            });
        }
        match &ctx.session.actor.principal {
            Principal::DelegatedAdmin { accounts, .. } => {
                Ok(Names { accounts: accounts.iter().map(|a| (a.clone(), a.clone())).collect(), sites: vec![] })
            }
            _ => Ok(Names { accounts: vec![], sites: vec![] }),
        }
    }

    fn site(&self, id: &str) -> Markup {
        match self.sites.iter().find(|(i, _)| i == id) {
            Some((_, name)) => html! { (name) },
            None => short_id(id),
        }
    }

    fn account(&self, id: &str) -> Markup {
        match self.accounts.iter().find(|(i, _)| i == id) {
            Some((_, name)) if name != id => html! { (name) },
            _ => short_id(id),
        }
    }
}

/// The contact picker's results on a user page.
struct Picker {
    prefix: String,
    contacts: Vec<crate::domain::Contact>,
    /// The account has more contacts than one search reads.
    truncated: bool,
}

fn tri(value: Option<&str>, field: &str) -> Result<Option<bool>, ServiceError> {
    match value {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ValidationError::new(field, "must be true or false").into()),
    }
}

fn id_filter(value: Option<&str>, field: &str) -> Result<Option<String>, ServiceError> {
    value
        .map(|v| {
            uuid::Uuid::parse_str(v)
                .map(|u| u.to_string())
                .map_err(|_| ValidationError::new(field, format!("{v:?} is not an id")).into())
        })
        .transpose()
}

fn parse_license(value: &str) -> Result<License, ServiceError> {
    value.parse().map_err(|e: crate::domain::UnknownLicense| ServiceError::Policy(e.into()))
}

pub fn display_name(u: &User) -> String {
    if let Some(d) = &u.display_name {
        return d.clone();
    }
    match (&u.first_name, &u.last_name) {
        (Some(f), Some(l)) => format!("{f} {l}"),
        (Some(n), None) | (None, Some(n)) => n.clone(),
        (None, None) => String::new(),
    }
}

fn select(id: &str, name: &str, label: &str, current: Option<&str>, options: &[(String, String)]) -> Markup {
    html! {
        div class="field" {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                @for (value, text) in options {
                    @if current.unwrap_or("") == value.as_str() {
                        option value=(value) selected { (text) }
                    } @else {
                        option value=(value) { (text) }
                    }
                }
            }
        }
    }
}

fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(v, t)| ((*v).to_owned(), (*t).to_owned())).collect()
}

pub fn license_options(any: bool) -> Vec<(String, String)> {
    let mut v = if any { vec![(String::new(), "Any".to_owned())] } else { vec![] };
    v.extend(License::ALL.iter().map(|l| (l.as_str().to_owned(), l.as_str().to_owned())));
    v
}

pub async fn list(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let page = list_page(&ctx, &req).await;
    ctx.render(page)
}

/// The sortable columns: (query value, header, sort).
const SORTS: [(&str, &str, SearchSort); 4] = [
    ("userName", "userName", SearchSort::UserName),
    ("name", "Name", SearchSort::Name),
    ("created", "Created", SearchSort::Created),
    ("updated", "Updated", SearchSort::Updated),
];

async fn list_page(ctx: &Ctx, req: &HttpRequest) -> Result<HttpResponse, ServiceError> {
    let q = Fields::query(req);
    let names = Names::load(ctx).await?;
    let sort_key = q.get("sort").unwrap_or("userName");
    let sort = SORTS
        .iter()
        .find(|(k, _, _)| *k == sort_key)
        .map(|(_, _, s)| *s)
        .ok_or_else(|| ValidationError::new("sort", "is userName, name, created or updated"))?;
    let descending = match q.get("dir") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ValidationError::new("dir", "is asc or desc").into()),
    };
    let page_no: i64 = match q.get("page") {
        None => 0,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .map(|n| n - 1)
            .ok_or_else(|| ValidationError::new("page", "is a page number"))?,
    };
    let search = UserSearch {
        query: UserQuery {
            contactless: tri(q.get("contactless"), "contactless")?,
            license: q.get("license").map(parse_license).transpose()?,
            account_id: id_filter(q.get("accountId"), "account")?,
            site_id: id_filter(q.get("siteId"), "site")?,
            active: tri(q.get("active"), "active")?,
            user_name: q.get("userName").map(str::to_owned),
            cursor: None,
            limit: PAGE_SIZE,
        },
        prefix: q.get("q").map(|s| s.chars().take(256).collect()),
        sort,
        descending,
        page: page_no,
    };
    let page = svc::search(&ctx.state.db, &ctx.users()?, search).await?;
    let admin = ctx.is_admin();
    let mut contactless_opts = opts(&[("", "Any"), ("false", "Contact-backed only")]);
    if admin {
        contactless_opts.push(("true".into(), "Contactless only".into()));
    }
    let mut account_opts = vec![(String::new(), "Any".to_owned())];
    account_opts.extend(names.accounts.iter().cloned());
    let mut site_opts = vec![(String::new(), "Any".to_owned())];
    site_opts.extend(names.sites.iter().cloned());
    let filters: Vec<(&str, &str)> = ["q", "userName", "contactless", "license", "accountId", "siteId", "active"]
        .into_iter()
        .filter_map(|k| q.get(k).map(|v| (k, v)))
        .collect();
    let link = |sort: &str, dir: &str, page: i64| {
        let mut params = filters.clone();
        params.push(("sort", sort));
        params.push(("dir", dir));
        let n = (page + 1).to_string();
        if page > 0 {
            params.push(("page", n.as_str()));
        }
        format!("/setup/users?{}", serde_urlencoded::to_string(&params).unwrap_or_default())
    };
    let dir = if descending { "desc" } else { "asc" };
    let pages = (page.total + PAGE_SIZE - 1) / PAGE_SIZE;
    let next = (page_no + 1 < pages && (page_no + 1) * PAGE_SIZE < svc::SEARCH_MAX_ROWS)
        .then(|| link(sort_key, dir, page_no + 1));
    let prev = (page_no > 0).then(|| link(sort_key, dir, page_no - 1));
    let header = |key: &str, label: &str| {
        let current = key == sort_key;
        let next_dir = if current && !descending { "desc" } else { "asc" };
        let aria = match (current, descending) {
            (true, false) => "ascending",
            (true, true) => "descending",
            _ => "none",
        };
        html! {
            th scope="col" aria-sort=(aria) {
                a href=(link(key, next_dir, 0)) { (label)
                    @if current { span aria-hidden="true" { @if descending { " ▼" } @else { " ▲" } } }
                }
            }
        }
    };
    let first = page_no * PAGE_SIZE + 1;
    let last = page_no * PAGE_SIZE + page.items.len() as i64;
    let body = html! {
        form class="filters card" method="get" action="/setup/users" role="search" aria-label="Find users" {
            div class="field wide" {
                label for="f-q" { "Search" }
                input id="f-q" name="q" type="search" value=[q.get("q")] autocomplete="off" aria-describedby="f-q-help"
                    placeholder="Start of a userName, name or email";
                p class="help" id="f-q-help" { "Any case, at least 2 characters. Two words: a first and a last name." }
            }
            (select("f-contactless", "contactless", "Contact", q.get("contactless"), &contactless_opts))
            (select("f-license", "license", "License", q.get("license"), &license_options(true)))
            (select("f-account", "accountId", "Account", q.get("accountId"), &account_opts))
            @if admin {
                (select("f-site", "siteId", "Site", q.get("siteId"), &site_opts))
            } @else {
                div class="field" {
                    label for="f-site" { "Site id" }
                    input id="f-site" name="siteId" type="text" value=[q.get("siteId")] autocomplete="off";
                }
            }
            (select("f-active", "active", "Active", q.get("active"), &opts(&[("", "Any"), ("true", "Active"), ("false", "Inactive")])))
            @if let Some(s) = q.get("sort") { input type="hidden" name="sort" value=(s); }
            @if let Some(d) = q.get("dir") { input type="hidden" name="dir" value=(d); }
            div class="field buttons" {
                button type="submit" class="primary" { "Find" }
                a href="/setup/users" { "Clear" }
            }
        }
        p id="total" role="status" {
            @if page.total_capped { "More than " (page.total) " users match" } @else { (page.total) " " @if page.total == 1 { "user" } @else { "users" } " match" }
            @if !page.items.is_empty() { " · showing " (first) "–" (last) }
        }
        @if page.items.is_empty() {
            p class="empty" { "No users match." }
        } @else {
            table class="stack" id="users" {
                caption class="sr-only" { "Users" }
                thead { tr {
                    (header("userName", "userName")) (header("name", "Name")) th scope="col" { "Account" }
                    th scope="col" { "License" } th scope="col" { "Contact" } th scope="col" { "Sites" } th scope="col" { "Active" }
                    (header("created", "Created")) (header("updated", "Updated"))
                } }
                tbody {
                    @for u in &page.items {
                        tr data-user=(u.user_name) {
                            th scope="row" data-label="userName" { a href={ "/setup/users/" (u.id) } { (u.user_name) } }
                            td data-label="Name" { (display_name(u)) }
                            td data-label="Account" class="account" { @match u.account_id() { Some(a) => (names.account(a)), None => "—" } }
                            td data-label="License" { code { (u.license.as_str()) } }
                            td data-label="Contact" {
                                @if u.is_contactless() { (badge("Contactless", "contactless")) } @else { (badge("Contact-backed", "backed")) }
                            }
                            td data-label="Sites" {
                                @if u.site_ids.is_empty() { "—" }
                                @for (i, s) in u.site_ids.iter().enumerate() { @if i > 0 { ", " } (names.site(s.as_str())) }
                            }
                            td data-label="Active" { (yes_no(u.active)) }
                            td data-label="Created" { (when(&u.created_at)) }
                            td data-label="Updated" { (when(&u.updated_at)) }
                        }
                    }
                }
            }
        }
        nav class="pager" aria-label="Pages" {
            @if let Some(p) = &prev { a href=(p) rel="prev" { "Previous page" } }
            @if let Some(n) = &next { a href=(n) rel="next" { "Next page" } }
        }
    };
    Ok(ctx.page(StatusCode::OK, "Users", Nav::Users, None, body))
}

// ---------------------------------------------------------------- user page

fn done_notice(code: Option<&str>, user: &User) -> Option<Notice> {
    let n = match code? {
        "contact_assigned" => Notice::success("Contact assigned.", "The license is unchanged."),
        "upgraded" => Notice::success("Upgraded.", format!("The user now holds {}.", user.license)),
        "downgraded" => Notice::success(
            "Downgraded.",
            "The user is contactless and holds external_identity; the community license went back to its pool \
             and the contact record was kept.",
        ),
        "deactivated" => Notice::success("Deactivated.", "The user can no longer sign in."),
        "reactivated" => Notice::success("Reactivated.", "The user is active again."),
        _ => return None,
    };
    Some(n)
}

fn why(offer: &Offer) -> Option<String> {
    match offer {
        Offer::Allowed => None,
        Offer::Refused(v) => Some(policy_words(v).1),
        Offer::Pointless(why) => Some(sentence(why)),
    }
}

async fn user_page(ctx: &Ctx, raw_id: &str, notice: Option<Notice>, extra: Option<Markup>) -> HttpResponse {
    let page = user_page_inner(ctx, raw_id, notice, extra, None, &Fields::default()).await;
    ctx.render(page)
}

async fn user_page_inner(
    ctx: &Ctx,
    raw_id: &str,
    notice: Option<Notice>,
    extra: Option<Markup>,
    done: Option<&str>,
    query: &Fields,
) -> Result<HttpResponse, ServiceError> {
    let id = path_id(raw_id, "user")?;
    let user = svc::get(&ctx.state.db, &ctx.users()?, UserId::new(id)).await?;
    // The contact picker: the account searched (else the user's own), and its results.
    let picker_account: Option<String> = match query.get("contactAccount") {
        Some(a) => id_filter(Some(a), "account")?,
        None => user.account_id().map(str::to_owned),
    };
    let picker = match (query.get("contactSearch").or(query.get("contactAccount").map(|_| "")), &picker_account) {
        (Some(prefix), Some(account)) => {
            let (contacts, truncated) = accounts::find_contacts(
                &ctx.state.db,
                &ctx.session.actor,
                AccountId::new(account.clone()),
                prefix.to_owned(),
                20,
            )
            .await?;
            Some(Picker { prefix: prefix.to_owned(), contacts, truncated })
        }
        _ => None,
    };
    let admin_cap = ctx.admin().ok();
    let admin = admin_cap.is_some();
    let names = Names::load(ctx).await?;
    let contact = match (user.contact_id(), &admin_cap) {
        (Some(c), Some(cap)) => Some(accounts::get_contact(&ctx.state.db, cap, ContactId::new(c.to_owned())).await?),
        _ => None,
    };
    let trail = match &admin_cap {
        Some(cap) => {
            let filter = audit::AuditFilter { target_id: Some(user.id.to_string()), ..Default::default() };
            let events = audit::list(&ctx.state.db, cap, filter, None, 50).await?.items;
            let names = audit::names(&ctx.state.db, cap, &events).await?;
            Some((events, names))
        }
        None => None,
    };
    let actions = sessions_svc::user_actions(&ctx.session.actor, &user);
    let s = &ctx.session;
    let base = format!("/setup/users/{}", user.id);
    let account_opts: Vec<(String, String)> = names.accounts.clone();
    let community: Vec<(String, String)> = License::ALL
        .iter()
        .filter(|l| l.is_community() && **l != user.license)
        .map(|l| (l.as_str().to_owned(), l.as_str().to_owned()))
        .collect();
    let body = html! {
        @if let Some(x) = extra { (x) }
        div class="grid" {
            section class="card" aria-labelledby="h-profile" {
                h2 id="h-profile" { "Profile" }
                dl {
                    dt { "userName" } dd { (user.user_name) }
                    dt { "Name" } dd { (display_name(&user)) }
                    dt { "Email" } dd { (user.primary_email().unwrap_or("—")) }
                    dt { "External id" } dd { (user.external_id.as_deref().unwrap_or("—")) }
                    dt { "Origin" } dd { (user.origin.as_str()) }
                    dt { "Active" } dd { (yes_no(user.active)) }
                    dt { "Created" } dd { (when(&user.created_at)) }
                    dt { "Updated" } dd { (when(&user.updated_at)) }
                    dt { "Id" } dd { code { (user.id) } }
                }
                form method="post" action={ (base) "/active" } {
                    (csrf(s))
                    input type="hidden" name="version" value=(user.version);
                    @if user.active {
                        input type="hidden" name="active" value="false";
                        (action_button("deactivate", "Deactivate", why(&actions.set_active).as_deref(), "danger"))
                    } @else {
                        input type="hidden" name="active" value="true";
                        (action_button("reactivate", "Reactivate", why(&actions.set_active).as_deref(), "primary"))
                    }
                }
            }
            section class="card" aria-labelledby="h-license" {
                h2 id="h-license" { "License" }
                p class="big" { code id="current-license" { (user.license.as_str()) } " "
                    @if user.is_contactless() { (badge("Contactless", "contactless")) } }
                form method="post" action={ (base) "/upgrade" } {
                    (csrf(s))
                    div class="field" {
                        label for="upgrade-license" { "Upgrade to" }
                        select id="upgrade-license" name="license" disabled[why(&actions.upgrade).is_some()] {
                            @for (value, text) in &community { option value=(value) { (text) } }
                        }
                    }
                    (action_button("upgrade", "Upgrade", why(&actions.upgrade).as_deref(), "primary"))
                }
                h3 { "Downgrade" }
                p { "Makes the user contactless: its community license returns to the pool, the contact record stays." }
                @match why(&actions.downgrade) {
                    None => { a class="button danger" id="downgrade" href={ (base) "/downgrade" } { "Downgrade…" } }
                    Some(w) => {
                        button type="button" class="danger" id="downgrade" disabled aria-describedby="downgrade-why" { "Downgrade…" }
                        p class="why" id="downgrade-why" { (w) }
                    }
                }
                h3 { "Login-as" }
                form method="post" action={ (base) "/login-as" } {
                    (csrf(s))
                    (action_button("login-as", "Start a login-as session", why(&actions.login_as).as_deref(), ""))
                }
            }
            section class="card" aria-labelledby="h-contact" {
                h2 id="h-contact" { "Contact" }
                @match (user.contact_id(), &contact) {
                    (None, _) => { p { (badge("Contactless", "contactless")) " This user has no contact." } }
                    (Some(_), Some(c)) => {
                        dl id="contact" {
                            dt { "Name" } dd { (c.first_name) " " (c.last_name) }
                            dt { "Email" } dd { (c.email.as_deref().unwrap_or("—")) }
                            dt { "Phone" } dd { (c.phone.as_deref().unwrap_or("—")) }
                            dt { "Account" } dd { (names.account(c.account_id.as_str())) }
                            dt { "Contact id" } dd { code { (c.id) } }
                        }
                    }
                    (Some(cid), None) => {
                        dl id="contact" {
                            dt { "Contact id" } dd { code { (cid) } }
                            dt { "Account" } dd { (names.account(user.account_id().unwrap_or(""))) }
                        }
                    }
                }
                @match why(&actions.assign_contact) {
                    Some(w) => { p class="why" { (w) } }
                    None => {
                        details open[user.is_contactless() || picker.is_some()] {
                            summary { @if user.is_contactless() { "Assign a contact" } @else { "Change the contact" } }
                            h3 { "An existing contact" }
                            form method="get" action=(base) class="filters" role="search" aria-label="Find a contact" {
                                (select("find-account", "contactAccount", "Account", picker_account.as_deref(), &account_opts))
                                div class="field" {
                                    label for="find-contact" { "Name or email starts with" }
                                    input id="find-contact" name="contactSearch" type="search" autocomplete="off"
                                        value=[picker.as_ref().map(|p| p.prefix.as_str())];
                                }
                                div class="field buttons" { button type="submit" { "Find contacts" } }
                            }
                            @if let Some(p) = &picker {
                                @if p.contacts.is_empty() {
                                    p class="empty" id="contact-results" { "No unlinked contact of this account matches." }
                                } @else {
                                    table class="stack" id="contact-results" {
                                        caption class="sr-only" { "Matching contacts" }
                                        thead { tr { th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Link" } } }
                                        tbody { @for c in &p.contacts {
                                            tr {
                                                th scope="row" data-label="Name" { (c.first_name) " " (c.last_name) }
                                                td data-label="Email" { (c.email.as_deref().unwrap_or("—")) }
                                                td data-label="Link" {
                                                    form method="post" action={ (base) "/contact" } class="inline" {
                                                        (csrf(s))
                                                        input type="hidden" name="mode" value="existing";
                                                        input type="hidden" name="contactId" value=(c.id);
                                                        button type="submit" aria-label={ "Link " (c.first_name) " " (c.last_name) } { "Link" }
                                                    }
                                                }
                                            }
                                        } }
                                    }
                                }
                                @if p.truncated { p class="help" { "Only part of this account's contacts was searched: type more of the name." } }
                            }
                            form method="post" action={ (base) "/contact" } class="stacked" {
                                (csrf(s))
                                input type="hidden" name="mode" value="new";
                                h3 { "A new contact" }
                                p class="help" { "Filled in from the user's profile; change what differs." }
                                (select("new-account", "accountId", "Account", picker_account.as_deref(), &account_opts))
                                div class="field" { label for="new-first" { "First name" } input id="new-first" name="firstName" type="text" required autocomplete="off" value=[user.first_name.as_deref()]; }
                                div class="field" { label for="new-last" { "Last name" } input id="new-last" name="lastName" type="text" required autocomplete="off" value=[user.last_name.as_deref()]; }
                                div class="field" { label for="new-email" { "Email" } input id="new-email" name="email" type="email" required autocomplete="off" value=[user.primary_email()]; }
                                div class="field" { label for="new-phone" { "Phone (optional)" } input id="new-phone" name="phone" type="tel" autocomplete="off"; }
                                button type="submit" class="primary" { "Create and link the contact" }
                            }
                        }
                    }
                }
            }
            section class="card" aria-labelledby="h-sites" {
                h2 id="h-sites" { "Sites" }
                @if user.site_ids.is_empty() {
                    p { "Not a member of any site." }
                } @else {
                    ul id="sites" {
                        @for site in &user.site_ids {
                            li { @if admin { a href={ "/setup/sites/" (site) } { (names.site(site.as_str())) } } @else { (short_id(site.as_str())) } }
                        }
                    }
                }
            }
        }
        section class="card" aria-labelledby="h-audit" {
            h2 id="h-audit" { "Audit trail" }
            @match &trail {
                None => { p { "The audit log is visible to admins only." } }
                Some((events, names)) => { (super::admin::audit_table(events, names, false)) }
            }
        }
    };
    let status = notice.as_ref().map_or(StatusCode::OK, |n| n.status);
    let notice = notice.or_else(|| done_notice(done, &user));
    Ok(ctx.page(status, &user.user_name, Nav::Users, notice.as_ref(), body))
}

pub async fn show(ctx: Ctx, path: web::Path<String>, req: HttpRequest) -> HttpResponse {
    let query = Fields::query(&req);
    let page = user_page_inner(&ctx, &path, None, None, query.get("done"), &query).await;
    ctx.render(page)
}

/// After an action: back to the user page (post/redirect/get), or the page with the
/// failure in plain words and its status.
async fn after(ctx: &Ctx, raw_id: &str, result: Result<&'static str, ServiceError>) -> HttpResponse {
    match result {
        Ok(done) => see_other(&format!("/setup/users/{}?done={done}", raw_id)),
        Err(e) => user_page(ctx, raw_id, Some(explain(e)), None).await,
    }
}

pub async fn assign_contact(p: Posted, path: web::Path<String>) -> HttpResponse {
    let result = assign_contact_inner(&p, &path).await;
    after(&p.ctx, &path, result).await
}

async fn assign_contact_inner(p: &Posted, raw_id: &str) -> Result<&'static str, ServiceError> {
    let id = path_id(raw_id, "user")?;
    let f = &p.fields;
    let spec = match f.get("mode") {
        Some("new") => {
            let account = id_filter(Some(f.required("accountId", "account")?), "account")?.unwrap_or_default();
            ContactSpec::New(ContactDraft::parse(
                &account,
                f.required("firstName", "first name")?,
                f.required("lastName", "last name")?,
                f.required("email", "email")?,
                f.get("phone"),
            )?)
        }
        _ => ContactSpec::Existing(
            id_filter(Some(f.required("contactId", "contact id")?), "contact id")?.unwrap_or_default(),
        ),
    };
    svc::assign_contact(&p.ctx.state.db, &p.ctx.users()?, UserId::new(id), spec).await?;
    Ok("contact_assigned")
}

pub async fn upgrade(p: Posted, path: web::Path<String>) -> HttpResponse {
    let result = async {
        let id = path_id(&path, "user")?;
        let license = parse_license(p.fields.required("license", "license")?)?;
        svc::upgrade(&p.ctx.state.db, &p.ctx.users()?, UserId::new(id), license).await?;
        Ok::<_, ServiceError>("upgraded")
    }
    .await;
    after(&p.ctx, &path, result).await
}

pub async fn downgrade_confirm(ctx: Ctx, path: web::Path<String>) -> HttpResponse {
    let page = async {
        let id = path_id(&path, "user")?;
        let user = svc::get(&ctx.state.db, &ctx.users()?, UserId::new(id)).await?;
        let actions = sessions_svc::user_actions(&ctx.session.actor, &user);
        let base = format!("/setup/users/{}", user.id);
        let body = html! {
            section class="card narrow" aria-labelledby="h-confirm" {
                h2 id="h-confirm" { "Confirm the downgrade" }
                @match why(&actions.downgrade) {
                    Some(w) => { p class="why" { (w) } p { a href=(base) { "Back to the user" } } }
                    None => {
                        ul class="consequences" {
                            li { "Its " code { (user.license.as_str()) } " license "
                                @if user.license.is_community() { strong { "returns to the pool" } } @else { "is replaced" }
                                "; it will hold " code { "external_identity" } "." }
                            li { "Its contact " @if let Some(c) = user.contact_id() { code { (c) } " " }
                                strong { "stays" } " in the directory, unlinked from the user." }
                            li { "The user becomes " strong { "contactless" } "." }
                        }
                        form method="post" action={ (base) "/downgrade" } {
                            (csrf(&ctx.session))
                            button type="submit" class="danger" { "Downgrade " (user.user_name) }
                            " "
                            a href=(base) { "Cancel" }
                        }
                    }
                }
            }
        };
        Ok::<_, ServiceError>(ctx.page(StatusCode::OK, &format!("Downgrade {}", user.user_name), Nav::Users, None, body))
    }
    .await;
    ctx.render(page)
}

pub async fn downgrade(p: Posted, path: web::Path<String>) -> HttpResponse {
    let result = async {
        let id = path_id(&path, "user")?;
        svc::downgrade(&p.ctx.state.db, &p.ctx.users()?, UserId::new(id)).await?;
        Ok::<_, ServiceError>("downgraded")
    }
    .await;
    after(&p.ctx, &path, result).await
}

pub async fn login_as(p: Posted, path: web::Path<String>) -> HttpResponse {
    let result = async {
        let id = path_id(&path, "user")?;
        let ttl = chrono::Duration::seconds(p.ctx.state.settings.auth.login_as_ttl_seconds.clamp(1, 86_400));
        svc::login_as(&p.ctx.state.db, &p.ctx.users()?, UserId::new(id), ttl).await
    }
    .await;
    match result {
        Ok(s) => {
            let shown = views::shown_once(
                html! { "Login-as session started" },
                html! { "Copy this session token now: it is shown only once. It expires at " (when(&s.expires_at)) "." },
                "session-token",
                "Session token",
                &s.session_token,
            );
            let n =
                Notice { status: StatusCode::CREATED, ..Notice::success("Session started.", "Its token is below.") };
            user_page(&p.ctx, &path, Some(n), Some(shown)).await
        }
        Err(e) => user_page(&p.ctx, &path, Some(explain(e)), None).await,
    }
}

pub async fn set_active(p: Posted, path: web::Path<String>) -> HttpResponse {
    let result = async {
        let id = path_id(&path, "user")?;
        let active = tri(Some(p.fields.required("active", "active")?), "active")?.unwrap_or(true);
        let version = p.fields.get("version").and_then(|v| v.parse::<i64>().ok());
        let changes = UserChanges { active: Some(active), ..Default::default() };
        svc::update(&p.ctx.state.db, &p.ctx.users()?, UserId::new(id), changes, version).await?;
        Ok::<_, ServiceError>(if active { "reactivated" } else { "deactivated" })
    }
    .await;
    after(&p.ctx, &path, result).await
}
