//! Identity providers: each SCIM token as a connection — its accounts, when it was made and
//! last used, its requests and errors over the last 24 hours, what it was last told when a
//! request failed — with rotate and revoke.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use super::errors::{Notice, explain};
use super::views::{Nav, badge, csrf, shown_once, when};
use super::{Ctx, Fields, Posted, path_id, see_other};
use crate::domain::TokenId;
use crate::error::ServiceError;
use crate::service::activity::{self, ERRORS_SHOWN};
use crate::service::auth;

pub async fn list(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let revoked = ("revoked", "Token revoked.", "The identity provider's requests are refused from now on.");
    ctx.render(page(&ctx, Notice::done(Fields::query(&req).get("done"), &[revoked]), None).await)
}

async fn page(ctx: &Ctx, notice: Option<Notice>, rotated: Option<Markup>) -> Result<HttpResponse, ServiceError> {
    let admin = ctx.admin()?;
    let connections = activity::connections(&ctx.state.db, &admin).await?;
    let body = html! {
        @if let Some(r) = rotated { (r) }
        p class="help" { "Each SCIM token is one identity provider's connection. Give every IdP its own token "
            "(confined to its accounts if it should reach only those) to see it here on its own. "
            "Counts cover the last 24 hours; errors are what the IdP was told. "
            a href="/setup/tokens" { "Create a token" } }
        @if connections.is_empty() { p class="empty" { "No SCIM tokens yet." } }
        @for (i, c) in connections.iter().enumerate() {
            @let t = &c.token;
            section class="card idp" id={ "idp-" (i) } data-token=(t.name) aria-labelledby={ "h-idp-" (i) } {
                h2 id={ "h-idp-" (i) } { (t.name) " "
                    @if t.revoked_at.is_some() { (badge("Revoked", "off")) } @else { (badge("Live", "on")) } }
                dl {
                    dt { "Accounts" }
                    dd class="accounts" {
                        @if c.accounts.is_empty() { "Every account (contacts go to the default account)" }
                        @for (j, (_, name)) in c.accounts.iter().enumerate() { @if j > 0 { ", " } (name) }
                    }
                    dt { "Created" } dd { (when(&t.created_at)) }
                    dt { "Last used" } dd class="last-used" { @match &t.last_used_at { Some(at) => (when(at)), None => "Never" } }
                    @if let Some(at) = &t.revoked_at { dt { "Revoked" } dd { (when(at)) } }
                    dt { "Requests (24 h)" } dd class="requests" { (c.requests_24h) }
                    dt { "Errors (24 h)" } dd class="errors" { (c.errors_24h) @if c.rejected_24h > 0 { " (" (c.rejected_24h) " refused by policy)" } }
                }
                h3 { "Last errors" }
                @if c.last_errors.is_empty() { p class="empty" { "No errors." } } @else {
                    table class="stack last-errors" {
                        caption class="sr-only" { "The last " (ERRORS_SHOWN) " errors of " (t.name) }
                        thead { tr { th scope="col" { "When" } th scope="col" { "Request" } th scope="col" { "Status" }
                            th scope="col" { "What the IdP was told" } } }
                        tbody { @for e in &c.last_errors {
                            tr {
                                td data-label="When" { (when(&e.at)) }
                                td data-label="Request" { code { (e.method) " " (e.path) } }
                                td data-label="Status" { (e.status) @if let Some(st) = &e.scim_type { " " code { (st) } } }
                                td data-label="Told" class="details detail" { (e.detail) }
                            }
                        } }
                    }
                }
                @if t.revoked_at.is_none() {
                    div class="actions" {
                        form method="post" action={ "/setup/identity-providers/" (t.id) "/rotate" } class="inline" {
                            (csrf(&ctx.session))
                            button type="submit" aria-label={ "Rotate the token of " (t.name) } { "Rotate token" }
                        }
                        form method="post" action={ "/setup/identity-providers/" (t.id) "/revoke" } class="inline" {
                            (csrf(&ctx.session))
                            button type="submit" class="danger" aria-label={ "Revoke the token of " (t.name) } { "Revoke" }
                        }
                    }
                }
            }
        }
    };
    let status = notice.as_ref().map_or(StatusCode::OK, |n| n.status);
    Ok(ctx.page(status, "Identity providers", Nav::Idps, notice.as_ref(), body))
}

pub async fn rotate(p: Posted, path: web::Path<String>) -> HttpResponse {
    let result = async {
        let admin = p.ctx.admin()?;
        let id = path_id(&path, "token")?;
        let rotated = auth::rotate(&p.ctx.state.db, &admin, TokenId::new(id)).await?;
        p.ctx.state.tokens.clear();
        Ok::<_, ServiceError>(rotated)
    }
    .await;
    match result {
        Ok((info, secret)) => {
            let shown = shown_once(
                html! { "New token for " q { (info.name) } },
                html! { "Give it to the identity provider now: it is shown only this once. The old token no longer works." },
                "new-token",
                "Token (scim)",
                &secret,
            );
            let n = Notice::success("Token rotated.", "");
            let page = page(&p.ctx, Some(n), Some(shown)).await;
            p.ctx.render(page)
        }
        Err(e) => {
            let page = page(&p.ctx, Some(explain(e)), None).await;
            p.ctx.render(page)
        }
    }
}

pub async fn revoke(p: Posted, path: web::Path<String>) -> HttpResponse {
    match super::admin::revoke_posted(&p, &path).await {
        Ok(()) => see_other("/setup/identity-providers?done=revoked"),
        Err(e) => {
            let page = page(&p.ctx, Some(explain(e)), None).await;
            p.ctx.render(page)
        }
    }
}
