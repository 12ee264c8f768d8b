//! Licenses, bulk downgrade, sites, tokens and the audit log.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use super::errors::{Notice, explain, skip_reason};
use super::users::display_name;
use super::views::{Nav, action_button, badge, csrf, pool_bar, short_id, shown_once, when, yes_no};
use super::{Ctx, Fields, Posted, path_id, see_other};
use crate::domain::{AuditAction, AuditEvent, License, Role, SiteId, TokenId, User, UserId, ValidationError};
use crate::error::ServiceError;
use crate::service::users::{self as users_svc, BulkDowngrade, BulkOutcome, UserQuery};
use crate::service::{accounts, audit as audit_svc, auth, licenses as licenses_svc, sites as sites_svc};

// ---------------------------------------------------------------- licenses

pub async fn licenses(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let notice = Notice::done(Fields::query(&req).get("done"), &[("capacity_set", "Capacity changed.", "")]);
    ctx.render(licenses_page(&ctx, notice).await)
}

async fn licenses_page(ctx: &Ctx, notice: Option<Notice>) -> Result<HttpResponse, ServiceError> {
    let admin = ctx.admin()?;
    let pools = licenses_svc::list(&ctx.state.db, &admin).await?;
    let body = html! {
        p { "Each license's pool: its capacity, the licenses in use and those available. "
            "Community licenses (all but external_identity) need a contact." }
        table class="stack" id="licenses" {
            caption class="sr-only" { "License pools" }
            thead { tr { th scope="col" { "License" } th scope="col" { "Use" } th scope="col" { "Capacity" }
                th scope="col" { "Used" } th scope="col" { "Available" } th scope="col" { "Change capacity" } } }
            tbody {
                @for p in &pools {
                    @let l = p.license.as_str();
                    tr data-license=(l) {
                        th scope="row" data-label="License" { code { (l) } }
                        td data-label="Use" class="bar" { (pool_bar(&format!("bar-{l}"), p.used, p.capacity)) }
                        td data-label="Capacity" { @match p.capacity { Some(c) => (c), None => "unlimited" } }
                        td data-label="Used" class="used" { (p.used) }
                        td data-label="Available" { @match p.available() { Some(a) => (a), None => "unlimited" } }
                        td data-label="Change capacity" {
                            form method="post" action={ "/setup/licenses/" (l) } class="inline" {
                                (csrf(&ctx.session))
                                label for={ "cap-" (l) } class="sr-only" { "New capacity of " (l) " (empty: unlimited)" }
                                input id={ "cap-" (l) } name="capacity" type="number" min="0" step="1"
                                    value=[p.capacity] placeholder="unlimited" aria-describedby="cap-help";
                                button type="submit" { "Set" }
                            }
                        }
                    }
                }
            }
        }
        p id="cap-help" class="help" { "Leave the capacity empty for an unlimited pool. It can never go below the licenses in use." }
    };
    let status = notice.as_ref().map_or(StatusCode::OK, |n| n.status);
    Ok(ctx.page(status, "Licenses", Nav::Licenses, notice.as_ref(), body))
}

pub async fn set_capacity(p: Posted, path: web::Path<String>) -> HttpResponse {
    let result = async {
        let admin = p.ctx.admin()?;
        let license: License = path.parse().map_err(|_| ServiceError::NotFound("license"))?;
        let capacity = match p.fields.get("capacity") {
            None => None,
            Some(v) => Some(
                v.parse::<i64>()
                    .map_err(|_| ValidationError::new("capacity", "must be a whole number, or empty for unlimited"))?,
            ),
        };
        licenses_svc::set_capacity(&p.ctx.state.db, &admin, license, capacity).await
    }
    .await;
    match result {
        Ok(_) => see_other("/setup/licenses?done=capacity_set"),
        Err(e) => {
            let page = licenses_page(&p.ctx, Some(explain(e))).await;
            p.ctx.render(page)
        }
    }
}

// ---------------------------------------------------------------- bulk downgrade

/// Community users the bulk page offers to select (the first 200 of each license).
async fn community_users(ctx: &Ctx) -> Result<Vec<User>, ServiceError> {
    let mut all = Vec::new();
    for license in License::ALL.into_iter().filter(|l| l.is_community()) {
        let q = UserQuery { license: Some(license), limit: 200, ..Default::default() };
        all.extend(users_svc::list(&ctx.state.db, &ctx.users()?, q).await?.items);
    }
    all.sort_by(|a, b| a.user_name.cmp(&b.user_name));
    Ok(all)
}

/// Asks the service, with nothing to do, whether this actor may bulk-downgrade at all.
async fn may_bulk(ctx: &Ctx) -> Result<(), ServiceError> {
    let probe = BulkDowngrade { user_ids: Some(vec![]), inactive_only: false, dry_run: true };
    users_svc::bulk_downgrade(&ctx.state.db, &ctx.users()?, probe).await.map(|_| ())
}

pub async fn bulk_form(ctx: Ctx) -> HttpResponse {
    let page = bulk_form_page(&ctx, None).await;
    ctx.render(page)
}

async fn bulk_form_page(ctx: &Ctx, notice: Option<Notice>) -> Result<HttpResponse, ServiceError> {
    may_bulk(ctx).await?;
    let users = community_users(ctx).await?;
    let body = html! {
        p { "Downgrading makes a user contactless: its community license returns to its pool, it holds "
            code { "external_identity" } ", and its contact record stays. Choose who, look at the dry run, then confirm." }
        form method="post" action="/setup/bulk-downgrade/preview" class="card" {
            (csrf(&ctx.session))
            fieldset {
                legend { "Which users" }
                div class="choice" {
                    input type="radio" id="scope-inactive" name="scope" value="inactive" checked;
                    label for="scope-inactive" { "Every inactive user holding a community license" }
                }
                div class="choice" {
                    input type="radio" id="scope-selected" name="scope" value="selected";
                    label for="scope-selected" { "The users selected below" }
                }
            }
            @if users.is_empty() {
                p class="empty" { "No user holds a community license." }
            } @else {
                table class="stack" id="bulk-candidates" {
                    caption { "Users holding a community license" }
                    thead { tr { th scope="col" { "Select" } th scope="col" { "userName" } th scope="col" { "Name" }
                        th scope="col" { "License" } th scope="col" { "Active" } } }
                    tbody {
                        @for u in &users {
                            tr data-user=(u.user_name) {
                                td data-label="Select" {
                                    input type="checkbox" name="userIds" value=(u.id) id={ "pick-" (u.id) };
                                    label for={ "pick-" (u.id) } class="sr-only" { "Select " (u.user_name) }
                                }
                                th scope="row" data-label="userName" { a href={ "/setup/users/" (u.id) } { (u.user_name) } }
                                td data-label="Name" { (display_name(u)) }
                                td data-label="License" { code { (u.license.as_str()) } }
                                td data-label="Active" { (yes_no(u.active)) }
                            }
                        }
                    }
                }
            }
            button type="submit" class="primary" { "Preview (dry run)" }
        }
    };
    let status = notice.as_ref().map_or(StatusCode::OK, |n| n.status);
    Ok(ctx.page(status, "Bulk downgrade", Nav::Bulk, notice.as_ref(), body))
}

/// The request a bulk form describes.
fn bulk_request(f: &Fields, dry_run: bool) -> Result<BulkDowngrade, ServiceError> {
    let ids = f
        .all("userIds")
        .into_iter()
        .map(|v| {
            uuid::Uuid::parse_str(v).map(|u| u.to_string()).map_err(|_| ValidationError::new("userIds", "not an id"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    match f.get("scope") {
        Some("selected") if ids.is_empty() => {
            Err(ValidationError::new("selection", "select at least one user, or choose the inactive users").into())
        }
        Some("selected") => Ok(BulkDowngrade { user_ids: Some(ids), inactive_only: false, dry_run }),
        // The confirmation names exactly the users the preview would downgrade.
        Some("confirm") => {
            Ok(BulkDowngrade { user_ids: Some(ids), inactive_only: f.get("inactiveOnly") == Some("true"), dry_run })
        }
        _ => Ok(BulkDowngrade { user_ids: None, inactive_only: true, dry_run }),
    }
}

/// The users an outcome names, as they are now (read before a confirmed downgrade's
/// result is shown, so the license column says what was returned).
async fn outcome_users(ctx: &Ctx, ids: impl Iterator<Item = &String>) -> Vec<User> {
    let mut users = Vec::new();
    let Ok(cap) = ctx.users() else { return users };
    for id in ids {
        if let Ok(u) = users_svc::get(&ctx.state.db, &cap, UserId::new(id.clone())).await {
            users.push(u);
        }
    }
    users
}

fn outcome_tables(out: &BulkOutcome, users: &[User], verb: &str) -> Markup {
    let name = |id: &str| -> Markup {
        match users.iter().find(|u| u.id == id) {
            Some(u) => html! { a href={ "/setup/users/" (id) } { (u.user_name) } },
            None => short_id(id),
        }
    };
    let license = |id: &str| users.iter().find(|u| u.id == id).map(|u| u.license.as_str()).unwrap_or("—");
    html! {
        section class="card" aria-labelledby="h-downgraded" {
            h2 id="h-downgraded" { (verb) " (" (out.downgraded.len()) ")" }
            @if out.downgraded.is_empty() { p class="empty" { "Nobody." } } @else {
                table class="stack" id="downgraded" {
                    thead { tr { th scope="col" { "User" } th scope="col" { "License returned to its pool" }
                        th scope="col" { "Contact" } } }
                    tbody { @for id in &out.downgraded {
                        tr {
                            th scope="row" data-label="User" { (name(id)) }
                            td data-label="License returned" { code { (license(id)) } " → " code { "external_identity" } }
                            td data-label="Contact" { "kept, unlinked" }
                        }
                    } }
                }
            }
        }
        section class="card" aria-labelledby="h-skipped" {
            h2 id="h-skipped" { "Skipped (" (out.skipped.len()) ")" }
            @if out.skipped.is_empty() { p class="empty" { "Nobody." } } @else {
                table class="stack" id="skipped" {
                    thead { tr { th scope="col" { "User" } th scope="col" { "Why" } } }
                    tbody { @for (id, code) in &out.skipped {
                        tr { th scope="row" data-label="User" { (name(id)) } td data-label="Why" { (skip_reason(code)) } }
                    } }
                }
            }
        }
    }
}

pub async fn bulk_preview(p: Posted) -> HttpResponse {
    let page = async {
        let req = bulk_request(&p.fields, true)?;
        let inactive_only = req.inactive_only;
        let out = users_svc::bulk_downgrade(&p.ctx.state.db, &p.ctx.users()?, req).await?;
        let users = outcome_users(&p.ctx, out.downgraded.iter().chain(out.skipped.iter().map(|(id, _)| id))).await;
        let n = out.downgraded.len();
        let body = html! {
            p { "Nothing has changed yet. Each user below would become contactless; its community license would "
                "return to its pool and its contact record would stay." }
            (outcome_tables(&out, &users, "Would be downgraded"))
            form method="post" action="/setup/bulk-downgrade" class="card" {
                (csrf(&p.ctx.session))
                input type="hidden" name="scope" value="confirm";
                input type="hidden" name="inactiveOnly" value=(inactive_only);
                @for id in &out.downgraded { input type="hidden" name="userIds" value=(id); }
                @let refused = (n == 0).then_some("Nobody would be downgraded.");
                (action_button("bulk-confirm", &format!("Downgrade {n} user{}", if n == 1 { "" } else { "s" }), refused, "danger"))
                " "
                a href="/setup/bulk-downgrade" { "Start over" }
            }
        };
        Ok::<_, ServiceError>(p.ctx.page(StatusCode::OK, "Bulk downgrade: preview", Nav::Bulk, None, body))
    }
    .await;
    bulk_or_form(&p.ctx, page).await
}

pub async fn bulk_apply(p: Posted) -> HttpResponse {
    let page = async {
        let req = bulk_request(&p.fields, false)?;
        let before = outcome_users(&p.ctx, req.user_ids.iter().flatten()).await;
        let out = users_svc::bulk_downgrade(&p.ctx.state.db, &p.ctx.users()?, req).await?;
        let mut users = before;
        users.extend(outcome_users(&p.ctx, out.skipped.iter().map(|(id, _)| id)).await);
        let notice = Notice::success(
            "Done.",
            format!(
                "{} user(s) downgraded; their community licenses are back in their pools.",
                out.downgraded.len()
            ),
        );
        let body = html! {
            (outcome_tables(&out, &users, "Downgraded"))
            p { a href="/setup/licenses" { "See the license pools" } " · " a href="/setup/bulk-downgrade" { "Another bulk downgrade" } }
        };
        Ok::<_, ServiceError>(p.ctx.page(StatusCode::OK, "Bulk downgrade: result", Nav::Bulk, Some(&notice), body))
    }
    .await;
    bulk_or_form(&p.ctx, page).await
}

/// A refused bulk request shows the form again with the reason (or the reason alone when
/// the form itself is not for this actor).
async fn bulk_or_form(ctx: &Ctx, page: Result<HttpResponse, ServiceError>) -> HttpResponse {
    match page {
        Ok(r) => r,
        Err(
            e @ (ServiceError::Validation(_)
            | ServiceError::Policy(crate::policy::PolicyViolation::LicenseUnavailable { .. })),
        ) => {
            let again = bulk_form_page(ctx, Some(explain(e))).await;
            ctx.render(again)
        }
        Err(e) => ctx.fail(e),
    }
}

// ---------------------------------------------------------------- sites

pub async fn sites(ctx: Ctx) -> HttpResponse {
    let page = async {
        let admin = ctx.admin()?;
        let sites = sites_svc::list(&ctx.state.db, &admin, None, 200).await?.items;
        let body = html! {
            @if sites.is_empty() { p class="empty" { "No sites yet (create them with POST /api/v1/sites)." } } @else {
                table class="stack" id="sites" {
                    caption class="sr-only" { "Sites" }
                    thead { tr { th scope="col" { "Site" } th scope="col" { "Path prefix" } th scope="col" { "Self-registration" } th scope="col" { "Created" } } }
                    tbody { @for s in &sites {
                        tr {
                            th scope="row" data-label="Site" { a href={ "/setup/sites/" (s.id) } { (s.name) } }
                            td data-label="Path prefix" { code { "/" (s.url_path_prefix) } }
                            td data-label="Self-registration" { @if s.self_registration { (badge("On", "on")) } @else { (badge("Off", "off")) } }
                            td data-label="Created" { (when(&s.created_at)) }
                        }
                    } }
                }
            }
        };
        Ok::<_, ServiceError>(ctx.page(StatusCode::OK, "Sites", Nav::Sites, None, body))
    }
    .await;
    ctx.render(page)
}

pub async fn site(ctx: Ctx, path: web::Path<String>, req: HttpRequest) -> HttpResponse {
    let q = Fields::query(&req);
    let notice = Notice::done(
        q.get("done"),
        &[
            ("self_registration_on", "Self-registration is on.", "Visitors can register on this site."),
            ("self_registration_off", "Self-registration is off.", "Registrations are refused."),
        ],
    );
    let page = async {
        let admin = ctx.admin()?;
        let id = path_id(&path, "site")?;
        let site = sites_svc::get(&ctx.state.db, &admin, SiteId::new(id.clone())).await?;
        let cursor = q.get("cursor").map(|c| path_id(c, "page")).transpose()?;
        let members = sites_svc::members(&ctx.state.db, &admin, SiteId::new(id), cursor, 50).await?;
        let body = html! {
            section class="card" aria-labelledby="h-switch" {
                h2 id="h-switch" { "Self-registration" }
                p id="switch-state" { "Self-registration is " strong { @if site.self_registration { "on" } @else { "off" } } "." }
                form method="post" action={ "/setup/sites/" (site.id) "/self-registration" } {
                    (csrf(&ctx.session))
                    input type="hidden" name="enabled" value=(!site.self_registration);
                    button type="submit" class=(if site.self_registration { "danger" } else { "primary" }) {
                        @if site.self_registration { "Turn self-registration off" } @else { "Turn self-registration on" }
                    }
                }
                p class="help" { "Path prefix " code { "/" (site.url_path_prefix) } " · created " (when(&site.created_at)) }
            }
            section class="card" aria-labelledby="h-members" {
                h2 id="h-members" { "Members" }
                @if members.items.is_empty() { p class="empty" { "No members." } } @else {
                    table class="stack" id="members" {
                        thead { tr { th scope="col" { "userName" } th scope="col" { "License" } th scope="col" { "Contact" } th scope="col" { "Active" } } }
                        tbody { @for u in &members.items {
                            tr {
                                th scope="row" data-label="userName" { a href={ "/setup/users/" (u.id) } { (u.user_name) } }
                                td data-label="License" { code { (u.license.as_str()) } }
                                td data-label="Contact" { @if u.is_contactless() { (badge("Contactless", "contactless")) } @else { (badge("Contact-backed", "backed")) } }
                                td data-label="Active" { (yes_no(u.active)) }
                            }
                        } }
                    }
                }
                @if let Some(next) = &members.next_cursor {
                    nav class="pager" aria-label="Pages" { a href={ "/setup/sites/" (site.id) "?cursor=" (next) } rel="next" { "Next page" } }
                }
            }
        };
        Ok::<_, ServiceError>(ctx.page(StatusCode::OK, &site.name, Nav::Sites, notice.as_ref(), body))
    }
    .await;
    ctx.render(page)
}

pub async fn set_self_registration(p: Posted, path: web::Path<String>) -> HttpResponse {
    let result = async {
        let admin = p.ctx.admin()?;
        let id = path_id(&path, "site")?;
        let enabled = p.fields.get("enabled") == Some("true");
        sites_svc::set_self_registration(&p.ctx.state.db, &admin, SiteId::new(id), enabled).await
    }
    .await;
    match result {
        Ok(site) => {
            let state = if site.self_registration { "on" } else { "off" };
            see_other(&format!("/setup/sites/{}?done=self_registration_{state}", site.id))
        }
        Err(e) => p.ctx.fail(e),
    }
}

// ---------------------------------------------------------------- tokens

pub async fn tokens(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let revoked = ("revoked", "Token revoked.", "It no longer authenticates.");
    ctx.render(tokens_page(&ctx, Notice::done(Fields::query(&req).get("done"), &[revoked]), None).await)
}

async fn tokens_page(ctx: &Ctx, notice: Option<Notice>, created: Option<Markup>) -> Result<HttpResponse, ServiceError> {
    let admin = ctx.admin()?;
    let tokens = auth::list(&ctx.state.db, &admin).await?;
    let accounts = accounts::list_accounts(&ctx.state.db, &admin, None, 200).await?.items;
    let sites = sites_svc::list(&ctx.state.db, &admin, None, 200).await?.items;
    let account_name = |id: &str| accounts.iter().find(|a| a.id == id).map(|a| a.name.clone());
    let mine = auth::token_id(&ctx.session.actor).map(str::to_owned);
    let body = html! {
        @if let Some(c) = created { (c) }
        section class="card" aria-labelledby="h-new-token" {
            h2 id="h-new-token" { "Create a token" }
            form method="post" action="/setup/tokens" class="stacked" {
                (csrf(&ctx.session))
                div class="field" { label for="token-name" { "Name" } input id="token-name" name="name" type="text" required autocomplete="off"; }
                div class="field" {
                    label for="token-role" { "Role" }
                    select id="token-role" name="role" {
                        @for r in Role::ALL { option value=(r.as_str()) { (r.as_str()) } }
                    }
                }
                div class="field" {
                    label for="token-accounts" { "Accounts (delegated_admin: the accounts it manages; scim: at most one, its default)" }
                    select id="token-accounts" name="accountIds" multiple size=(accounts.len().clamp(2, 6)) {
                        @for a in &accounts { option value=(a.id) { (a.name) } }
                    }
                }
                div class="field" {
                    label for="token-site" { "Site (registration tokens only)" }
                    select id="token-site" name="siteId" {
                        option value="" { "None" }
                        @for s in &sites { option value=(s.id) { (s.name) } }
                    }
                }
                button type="submit" class="primary" { "Create token" }
            }
        }
        section class="card" aria-labelledby="h-tokens" {
            h2 id="h-tokens" { "Tokens" }
            table class="stack" id="tokens" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Scope" }
                    th scope="col" { "Created" } th scope="col" { "State" } } }
                tbody { @for t in &tokens {
                    tr data-token=(t.name) {
                        th scope="row" data-label="Name" { (t.name) @if mine.as_deref() == Some(t.id.as_str()) { " " (badge("This session", "backed")) } }
                        td data-label="Role" { code { (t.role.as_str()) } }
                        td data-label="Scope" {
                            @for (i, a) in t.account_ids.iter().enumerate() {
                                @if i > 0 { ", " }
                                @match account_name(a) { Some(n) => (n), None => (short_id(a)) }
                            }
                            @if let Some(s) = &t.site_id { (sites.iter().find(|x| &x.id == s).map_or(s.clone(), |x| x.name.clone())) }
                            @if t.account_ids.is_empty() && t.site_id.is_none() { "—" }
                        }
                        td data-label="Created" { (when(&t.created_at)) }
                        td data-label="State" {
                            @match &t.revoked_at {
                                Some(at) => { "Revoked " (when(at)) }
                                None => {
                                    form method="post" action={ "/setup/tokens/" (t.id) "/revoke" } class="inline" {
                                        (csrf(&ctx.session))
                                        button type="submit" class="danger" aria-label={ "Revoke " (t.name) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
    };
    let status = notice.as_ref().map_or(StatusCode::OK, |n| n.status);
    Ok(ctx.page(status, "Tokens", Nav::Tokens, notice.as_ref(), body))
}

pub async fn create_token(p: Posted) -> HttpResponse {
    let result = async {
        let admin = p.ctx.admin()?;
        let f = &p.fields;
        let role: Role = f.required("role", "role")?.parse().map_err(|e: String| ValidationError::new("role", e))?;
        let account_ids = f
            .all("accountIds")
            .into_iter()
            .map(|a| path_id(a, "account").map_err(|_| ValidationError::new("accounts", "not an id").into()))
            .collect::<Result<Vec<_>, ServiceError>>()?;
        let site_id = f.get("siteId").map(|s| path_id(s, "site")).transpose()?;
        let req = auth::NewToken {
            name: f.get("name").unwrap_or("").to_owned(),
            role,
            account_ids,
            site_id,
            site_ids: vec![],
            requests_per_minute: None,
        };
        auth::create(&p.ctx.state.db, &admin, req).await
    }
    .await;
    match result {
        Ok((info, secret)) => {
            let shown = shown_once(
                html! { "Token " q { (info.name) } " created" },
                html! { "Copy it now: it is shown only this once and cannot be read again." },
                "new-token",
                &format!("Token ({})", info.role.as_str()),
                &secret,
            );
            let n = Notice { status: StatusCode::CREATED, ..Notice::success("Token created.", "") };
            let page = tokens_page(&p.ctx, Some(n), Some(shown)).await;
            p.ctx.render(page)
        }
        Err(e) => {
            let page = tokens_page(&p.ctx, Some(explain(e)), None).await;
            p.ctx.render(page)
        }
    }
}

/// Revokes the token of a posted form (the tokens and identity-provider pages): its
/// sessions end, and this gateway's token cache forgets it at once.
pub async fn revoke_posted(p: &Posted, raw_id: &str) -> Result<(), ServiceError> {
    let admin = p.ctx.admin()?;
    let id = path_id(raw_id, "token")?;
    auth::revoke(&p.ctx.state.db, &admin, TokenId::new(id)).await?;
    p.ctx.state.tokens.clear();
    Ok(())
}

pub async fn revoke_token(p: Posted, path: web::Path<String>) -> HttpResponse {
    match revoke_posted(&p, &path).await {
        Ok(()) => see_other("/setup/tokens?done=revoked"),
        Err(e) => {
            let page = tokens_page(&p.ctx, Some(explain(e)), None).await;
            p.ctx.render(page)
        }
    }
}

// ---------------------------------------------------------------- audit log

/// A JSON value as short text: strings bare, null as a dash.
fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An audit event's details, readable: `field: before → after` for changes, `key: value`
/// for the rest (values of a created or deleted record on one line).
fn details(raw: &str) -> Markup {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(raw) else {
        return html! { code { (raw) } };
    };
    html! {
        ul class="kv" {
            @for (key, value) in &map {
                @match (key.as_str(), value) {
                    ("changes", serde_json::Value::Object(changes)) => {
                        @for (field, change) in changes {
                            li { code { (field) } ": " (value_text(&change["before"])) " → " (value_text(&change["after"])) }
                        }
                    }
                    (_, serde_json::Value::Object(fields)) => {
                        @let set: Vec<String> = fields.iter().filter(|(_, v)| !v.is_null())
                            .map(|(k, v)| format!("{k} = {}", value_text(v))).collect();
                        li { code { (key) } ": " (set.join(", ")) }
                    }
                    _ => { li { code { (key) } ": " (value_text(value)) } }
                }
            }
        }
    }
}

/// An audit actor by name: the token's name ("entra"), else the label.
fn actor_label(label: &str, names: &audit_svc::Names) -> Markup {
    match (names.actors.get(label), label.strip_prefix("token:")) {
        (Some(name), _) => html! { span title=(label) { (name) } },
        (None, Some(id)) => html! { span title=(label) { "token " (short_id(id)) } },
        (None, None) if label == auth::BOOTSTRAP_LABEL => html! { span title=(label) { "the bootstrap secret" } },
        (None, None) if label == "cli" => html! { span title=(label) { "the command line" } },
        (None, None) => html! { code { (label) } },
    }
}

/// Audit events as a table (`with_target`: a column naming the target).
pub fn audit_table(events: &[AuditEvent], names: &audit_svc::Names, with_target: bool) -> Markup {
    html! {
        @if events.is_empty() { p class="empty" { "No events." } } @else {
            table class="stack audit" {
                thead { tr {
                    th scope="col" { "When" } th scope="col" { "Action" } th scope="col" { "Actor" }
                    @if with_target { th scope="col" { "Target" } }
                    th scope="col" { "Details" }
                } }
                tbody { @for e in events {
                    tr {
                        td data-label="When" { (when(&e.at)) }
                        th scope="row" data-label="Action" { code { (e.action) } }
                        td data-label="Actor" class="actor" { (actor_label(&e.actor, names)) }
                        @if with_target {
                            td data-label="Target" class="target" {
                                (e.target_type) " "
                                @let shown = match names.targets.get(&e.target_id) {
                                    Some(n) => html! { span title=(e.target_id) { (n) } },
                                    None => short_id(&e.target_id),
                                };
                                @if e.target_type == "user" { a href={ "/setup/users/" (e.target_id) } { (shown) } }
                                @else { (shown) }
                            }
                        }
                        td data-label="Details" class="details" { (details(&e.details)) }
                    }
                } }
            }
        }
    }
}

/// A `datetime-local` value (UTC, no zone) as a time.
fn local_time(field: &str, v: Option<&str>) -> Result<Option<chrono::DateTime<chrono::Utc>>, ServiceError> {
    let Some(v) = v else { return Ok(None) };
    let parsed = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| ValidationError::new(field, "is a date and time, e.g. 2026-12-03T14:00"))?;
    Ok(Some(parsed.and_utc()))
}

pub async fn audit(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let page = async {
        let admin = ctx.admin()?;
        let q = Fields::query(&req);
        let filter = audit_svc::AuditFilter {
            target_id: q.get("targetId").map(str::to_owned),
            action: q.get("action").map(str::to_owned),
            actor: q.get("actor").map(str::to_owned),
            from: local_time("from", q.get("from"))?,
            to: local_time("to", q.get("to"))?,
        };
        let cursor = q.get("cursor").map(|c| path_id(c, "page")).transpose()?;
        let page = audit_svc::list(&ctx.state.db, &admin, filter, cursor, 50).await?;
        let names = audit_svc::names(&ctx.state.db, &admin, &page.items).await?;
        let tokens = auth::list(&ctx.state.db, &admin).await?;
        let mut actor_opts: Vec<(String, String)> = vec![(String::new(), "Anyone".into())];
        actor_opts.extend(tokens.iter().map(|t| {
            let revoked = if t.revoked_at.is_some() { ", revoked" } else { "" };
            (format!("token:{}", t.id), format!("{} ({}{revoked})", t.name, t.role.as_str()))
        }));
        actor_opts.push((auth::BOOTSTRAP_LABEL.to_owned(), "The bootstrap secret".into()));
        actor_opts.push(("cli".into(), "The command line".into()));
        let params: Vec<(&str, &str)> = ["targetId", "action", "actor", "from", "to"]
            .into_iter()
            .filter_map(|k| q.get(k).map(|v| (k, v)))
            .collect();
        let next = page.next_cursor.as_ref().map(|c| {
            let mut p = params.clone();
            p.push(("cursor", c.as_str()));
            format!("/setup/audit?{}", serde_urlencoded::to_string(&p).unwrap_or_default())
        });
        let newest = q.get("cursor").map(|_| format!("/setup/audit?{}", serde_urlencoded::to_string(&params).unwrap_or_default()));
        let body = html! {
            form class="filters card" method="get" action="/setup/audit" role="search" aria-label="Filter the audit log" {
                div class="field" {
                    label for="a-actor" { "Actor" }
                    select id="a-actor" name="actor" {
                        @for (v, t) in &actor_opts {
                            @if q.get("actor").unwrap_or("") == v.as_str() { option value=(v) selected { (t) } } @else { option value=(v) { (t) } }
                        }
                    }
                }
                div class="field" {
                    label for="a-action" { "Action" }
                    input id="a-action" name="action" type="search" value=[q.get("action")] list="actions" autocomplete="off"
                        placeholder="e.g. user.downgraded";
                    datalist id="actions" { @for a in AuditAction::ALL { option value=(a.as_str()) {} } }
                }
                div class="field" {
                    label for="a-target" { "Target id" }
                    input id="a-target" name="targetId" type="search" value=[q.get("targetId")] autocomplete="off" spellcheck="false";
                }
                div class="field" {
                    label for="a-from" { "From (UTC)" }
                    input id="a-from" name="from" type="datetime-local" value=[q.get("from")];
                }
                div class="field" {
                    label for="a-to" { "Until (UTC)" }
                    input id="a-to" name="to" type="datetime-local" value=[q.get("to")];
                }
                div class="field buttons" { button type="submit" class="primary" { "Filter" } a href="/setup/audit" { "Clear" } }
            }
            (audit_table(&page.items, &names, true))
            nav class="pager" aria-label="Pages" {
                @if let Some(n) = &newest { a href=(n) { "Newest events" } }
                @if let Some(n) = &next { a href=(n) rel="next" { "Older events" } }
            }
        };
        Ok::<_, ServiceError>(ctx.page(StatusCode::OK, "Audit log", Nav::Audit, None, body))
    }
    .await;
    ctx.render(page)
}
