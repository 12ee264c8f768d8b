//! Webhooks: subscriptions with their health, a page per subscription (deliveries by
//! status, pause/resume, a test event, retry of one or every dead letter, delete) and a page
//! per delivery with its attempts — everything the native webhook API does.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};

use super::errors::{Notice, explain};
use super::views::{Nav, badge, capped_count, csrf, duration_words, short_id, shown_once, when};
use super::{Ctx, Fields, Posted, path_id, see_other};
use crate::domain::{DeliveryId, DeliveryStatus, EventType, SubscriptionHealth, SubscriptionId, ValidationError};
use crate::error::ServiceError;
use crate::service::webhooks::{self as svc, NewSubscription};

const PAGE_SIZE: i64 = 50;

fn status_badge(s: DeliveryStatus) -> Markup {
    match s {
        DeliveryStatus::Delivered => badge("Delivered", "on"),
        DeliveryStatus::Pending => badge("Pending", "backed"),
        DeliveryStatus::Dead => badge("Dead letter", "contactless"),
    }
}

fn health_list(h: &SubscriptionHealth) -> Markup {
    html! {
        dl class="health" {
            dt { "Delivered (24 h)" } dd class="h-delivered" { (capped_count(h.delivered_24h)) }
            dt { "Pending" } dd class="h-pending" { (capped_count(h.pending)) }
            dt { "Failing" } dd class="h-failing" { (capped_count(h.failing)) }
            dt { "Dead letters" } dd class="h-dead" { (capped_count(h.dead)) }
            dt { "Oldest pending" } dd { @match h.oldest_pending_age { Some(a) => (duration_words(a)), None => "—" } }
            dt { "Last error" } dd class="h-error" { @match &h.last_error { Some(e) => code { (e) }, None => "—" } }
        }
    }
}

// ---------------------------------------------------------------- list and create

pub async fn list(ctx: Ctx, req: HttpRequest) -> HttpResponse {
    let deleted = ("deleted", "Subscription deleted.", "Its pending deliveries will not be sent.");
    ctx.render(list_page(&ctx, Notice::done(Fields::query(&req).get("done"), &[deleted]), None).await)
}

async fn list_page(ctx: &Ctx, notice: Option<Notice>, created: Option<Markup>) -> Result<HttpResponse, ServiceError> {
    let admin = ctx.admin()?;
    let subs = svc::health(&ctx.state.db, &admin).await?;
    let body = html! {
        @if let Some(c) = created { (c) }
        section class="card" aria-labelledby="h-subs" {
            h2 id="h-subs" { "Subscriptions" }
            @if subs.is_empty() { p class="empty" { "No subscriptions yet." } } @else {
                table class="stack" id="subscriptions" {
                    thead { tr { th scope="col" { "URL" } th scope="col" { "Events" } th scope="col" { "Delivered (24 h)" }
                        th scope="col" { "Pending" } th scope="col" { "Dead letters" } th scope="col" { "State" } } }
                    tbody { @for (s, h) in &subs {
                        tr data-url=(s.url) {
                            th scope="row" data-label="URL" { a href={ "/setup/webhooks/" (s.id) } { (s.url) } }
                            td data-label="Events" { (s.events.entries().join(", ")) }
                            td data-label="Delivered (24 h)" { (capped_count(h.delivered_24h)) }
                            td data-label="Pending" { (capped_count(h.pending)) }
                            td data-label="Dead letters" { (capped_count(h.dead)) }
                            td data-label="State" { @if s.paused_at.is_some() { (badge("Paused", "off")) } @else { (badge("Delivering", "on")) } }
                        }
                    } }
                }
            }
        }
        section class="card narrow" aria-labelledby="h-new-sub" {
            h2 id="h-new-sub" { "Subscribe a webhook" }
            form method="post" action="/setup/webhooks" class="stacked" {
                (csrf(&ctx.session))
                div class="field" {
                    label for="wh-url" { "URL" }
                    input id="wh-url" name="url" type="text" inputmode="url" required autocomplete="off" placeholder="https://hooks.example.com/scimgate";
                }
                fieldset {
                    legend { "Events" }
                    div class="choice" { input id="wh-all" type="checkbox" name="events" value="*"; label for="wh-all" { "Every event" } }
                    @for t in EventType::ALL {
                        div class="choice" {
                            input id={ "wh-" (t.as_str()) } type="checkbox" name="events" value=(t.as_str());
                            label for={ "wh-" (t.as_str()) } { code { (t.as_str()) } }
                        }
                    }
                }
                p class="help" { "Each event is POSTed as CloudEvents JSON, signed with the subscription's secret (shown once, next)." }
                button type="submit" class="primary" { "Subscribe" }
            }
        }
    };
    let status = notice.as_ref().map_or(StatusCode::OK, |n| n.status);
    Ok(ctx.page(status, "Webhooks", Nav::Webhooks, notice.as_ref(), body))
}

pub async fn create(p: Posted) -> HttpResponse {
    let result = async {
        let admin = p.ctx.admin()?;
        let events: Vec<String> = p.fields.all("events").into_iter().map(str::to_owned).collect();
        let events = if events.iter().any(|e| e == "*") { vec!["*".to_owned()] } else { events };
        let req = NewSubscription { url: p.fields.required("url", "URL")?.to_owned(), events, secret: None };
        let w = &p.ctx.state.settings.webhooks;
        let timeout = std::time::Duration::from_millis(w.timeout_ms);
        svc::create(&p.ctx.state.db, &admin, req, w.allow_loopback, timeout, &p.ctx.state.sealer).await
    }
    .await;
    match result {
        Ok(created) => {
            let s = &created.subscription;
            let shown = shown_once(
                html! { "Subscribed " a href={ "/setup/webhooks/" (s.id) } { (s.url) } },
                html! { "Its signing secret: copy it to the receiver now; it is shown only this once." },
                "new-secret",
                "Secret",
                &created.secret,
            );
            let n = Notice { status: StatusCode::CREATED, ..Notice::success("Subscribed.", "") };
            let page = list_page(&p.ctx, Some(n), Some(shown)).await;
            p.ctx.render(page)
        }
        Err(e) => {
            let page = list_page(&p.ctx, Some(explain(e)), None).await;
            p.ctx.render(page)
        }
    }
}

// ---------------------------------------------------------------- one subscription

fn done_notice(code: Option<&str>) -> Option<Notice> {
    Notice::done(
        code,
        &[
            ("paused", "Paused.", "Deliveries wait until you resume; new events still queue."),
            ("resumed", "Resumed.", "Waiting deliveries go out in order."),
            ("test_sent", "Test event queued.", "It goes out within a second or so; see it below."),
            ("retried", "Dead letters re-queued.", "Each gets a fresh series of attempts."),
            ("retried_one", "Delivery re-queued.", ""),
        ],
    )
}

pub async fn show(ctx: Ctx, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let q = Fields::query(&req);
    let page = show_page(&ctx, &path, &q, done_notice(q.get("done"))).await;
    ctx.render(page)
}

async fn show_page(ctx: &Ctx, raw: &str, q: &Fields, notice: Option<Notice>) -> Result<HttpResponse, ServiceError> {
    let admin = ctx.admin()?;
    let id = path_id(raw, "webhook")?;
    let sub = svc::get(&ctx.state.db, &admin, SubscriptionId::new(id.clone())).await?;
    let health = svc::health_of(&ctx.state.db, &admin, SubscriptionId::new(sub.id.clone())).await?;
    let status = q
        .get("status")
        .map(|s| s.parse::<DeliveryStatus>().map_err(|e| ValidationError::new("status", e)))
        .transpose()?;
    let cursor = q.get("cursor").map(|c| path_id(c, "page")).transpose()?;
    let deliveries =
        svc::deliveries(&ctx.state.db, &admin, SubscriptionId::new(id.clone()), status, cursor, PAGE_SIZE).await?;
    let base = format!("/setup/webhooks/{}", sub.id);
    let next = deliveries.next_cursor.as_ref().map(|c| {
        let mut params: Vec<(&str, &str)> = vec![];
        if let Some(s) = q.get("status") {
            params.push(("status", s));
        }
        params.push(("cursor", c.as_str()));
        format!("{base}?{}", serde_urlencoded::to_string(&params).unwrap_or_default())
    });
    let paused = sub.paused_at.is_some();
    let body = html! {
        section class="card" aria-labelledby="h-sub" {
            h2 id="h-sub" { "Subscription "
                @if paused { (badge("Paused", "off")) } @else { (badge("Delivering", "on")) } }
            dl {
                dt { "URL" } dd { code { (sub.url) } }
                dt { "Events" } dd { (sub.events.entries().join(", ")) }
                dt { "Created" } dd { (when(&sub.created_at)) }
                @if let Some(at) = &sub.paused_at { dt { "Paused" } dd { (when(at)) } }
            }
            (health_list(&health))
            div class="actions" {
                @if paused {
                    form method="post" action={ (base) "/resume" } class="inline" { (csrf(&ctx.session)) button type="submit" class="primary" { "Resume" } }
                } @else {
                    form method="post" action={ (base) "/pause" } class="inline" { (csrf(&ctx.session)) button type="submit" { "Pause" } }
                }
                form method="post" action={ (base) "/test" } class="inline" { (csrf(&ctx.session)) button type="submit" { "Send a test event" } }
                @if health.dead > 0 {
                    form method="post" action={ (base) "/retry-dead" } class="inline" {
                        (csrf(&ctx.session))
                        @if health.dead > svc::HEALTH_CAP {
                            button type="submit" { "Retry dead letters (1 000 at a time)" }
                        } @else {
                            button type="submit" { "Retry all " (health.dead) " dead letters" }
                        }
                    }
                }
                form method="post" action={ (base) "/delete" } class="inline" {
                    (csrf(&ctx.session)) button type="submit" class="danger" { "Delete subscription" }
                }
            }
        }
        section class="card" aria-labelledby="h-deliveries" {
            h2 id="h-deliveries" { "Deliveries" }
            form class="filters" method="get" action=(base) role="search" aria-label="Filter deliveries" {
                div class="field" {
                    label for="d-status" { "Status" }
                    select id="d-status" name="status" {
                        @for (v, t) in [("", "Any"), ("pending", "Pending"), ("delivered", "Delivered"), ("dead", "Dead letters")] {
                            @if q.get("status").unwrap_or("") == v { option value=(v) selected { (t) } } @else { option value=(v) { (t) } }
                        }
                    }
                }
                div class="field buttons" { button type="submit" class="primary" { "Show" } }
            }
            @if deliveries.items.is_empty() { p class="empty" { "No deliveries." } } @else {
                table class="stack" id="deliveries" {
                    thead { tr { th scope="col" { "Created" } th scope="col" { "Event" } th scope="col" { "Subject" }
                        th scope="col" { "Status" } th scope="col" { "Attempts" } th scope="col" { "Last answer" } } }
                    tbody { @for d in &deliveries.items {
                        tr data-status=(d.status.as_str()) {
                            td data-label="Created" { a href={ (base) "/deliveries/" (d.id) } { (when(&d.created_at)) } }
                            th scope="row" data-label="Event" { code { (d.event_type) } }
                            td data-label="Subject" { (short_id(&d.subject)) }
                            td data-label="Status" { (status_badge(d.status)) }
                            td data-label="Attempts" { (d.attempts) }
                            td data-label="Last answer" class="details" {
                                @if let Some(c) = d.last_status_code { "HTTP " (c) " " }
                                @if let Some(e) = &d.last_error { code { (e) } }
                            }
                        }
                    } }
                }
            }
            @if let Some(n) = &next { nav class="pager" aria-label="Pages" { a href=(n) rel="next" { "Older deliveries" } } }
        }
    };
    let st = notice.as_ref().map_or(StatusCode::OK, |n| n.status);
    Ok(ctx.page(st, "Webhook", Nav::Webhooks, notice.as_ref(), body))
}

/// Runs an action on subscription `raw` and goes back to its page (`done`), or shows why
/// it failed there.
async fn act<F, Fut>(p: Posted, raw: String, done: &str, f: F) -> HttpResponse
where
    F: FnOnce(crate::policy::access::AdminCap, String, Ctx) -> Fut,
    Fut: std::future::Future<Output = (Ctx, Result<(), ServiceError>)>,
{
    let (admin, id) = match (p.ctx.admin(), path_id(&raw, "webhook")) {
        (Ok(a), Ok(id)) => (a, id),
        (Err(e), _) | (_, Err(e)) => return p.ctx.fail(e),
    };
    let (ctx, result) = f(admin, id.clone(), p.ctx).await;
    match result {
        Ok(()) => see_other(&format!("/setup/webhooks/{id}?done={done}")),
        Err(e) => {
            let page = show_page(&ctx, &id, &Fields::default(), Some(explain(e))).await;
            ctx.render(page)
        }
    }
}

pub async fn pause(p: Posted, path: web::Path<String>) -> HttpResponse {
    act(p, path.into_inner(), "paused", |admin, id, ctx| async move {
        let r = svc::set_paused(&ctx.state.db, &admin, SubscriptionId::new(id), true).await.map(|_| ());
        (ctx, r)
    })
    .await
}

pub async fn resume(p: Posted, path: web::Path<String>) -> HttpResponse {
    act(p, path.into_inner(), "resumed", |admin, id, ctx| async move {
        let r = svc::set_paused(&ctx.state.db, &admin, SubscriptionId::new(id), false).await.map(|_| ());
        (ctx, r)
    })
    .await
}

pub async fn test(p: Posted, path: web::Path<String>) -> HttpResponse {
    act(p, path.into_inner(), "test_sent", |admin, id, ctx| async move {
        let r = svc::send_test(&ctx.state.db, &admin, SubscriptionId::new(id)).await.map(|_| ());
        (ctx, r)
    })
    .await
}

pub async fn retry_dead(p: Posted, path: web::Path<String>) -> HttpResponse {
    act(p, path.into_inner(), "retried", |admin, id, ctx| async move {
        let r = svc::retry_dead(&ctx.state.db, &admin, SubscriptionId::new(id)).await.map(|_| ());
        (ctx, r)
    })
    .await
}

pub async fn delete(p: Posted, path: web::Path<String>) -> HttpResponse {
    let result = async {
        let admin = p.ctx.admin()?;
        let id = path_id(&path, "webhook")?;
        svc::delete(&p.ctx.state.db, &admin, SubscriptionId::new(id)).await
    }
    .await;
    match result {
        Ok(()) => see_other("/setup/webhooks?done=deleted"),
        Err(e) => p.ctx.fail(e),
    }
}

// ---------------------------------------------------------------- one delivery

pub async fn delivery(ctx: Ctx, path: web::Path<(String, String)>) -> HttpResponse {
    let page = delivery_page(&ctx, &path.0, &path.1, None).await;
    ctx.render(page)
}

async fn delivery_page(ctx: &Ctx, sub: &str, raw: &str, notice: Option<Notice>) -> Result<HttpResponse, ServiceError> {
    let admin = ctx.admin()?;
    let sub = path_id(sub, "webhook")?;
    let id = path_id(raw, "delivery")?;
    let (d, attempts) =
        svc::delivery(&ctx.state.db, &admin, SubscriptionId::new(sub.clone()), DeliveryId::new(id)).await?;
    let base = format!("/setup/webhooks/{sub}");
    let body = html! {
        p { a href=(base) { "Back to the subscription" } }
        section class="card" aria-labelledby="h-delivery" {
            h2 id="h-delivery" { code { (d.event_type) } " " (status_badge(d.status)) }
            dl {
                dt { "Event" } dd { code { (d.event_id) } }
                dt { "Subject" } dd { code { (d.subject) } }
                dt { "Created" } dd { (when(&d.created_at)) }
                @if let Some(at) = &d.delivered_at { dt { "Delivered" } dd { (when(at)) } }
                @if d.waits_for_resume() { dt { "Next attempt" } dd { "When the subscription is resumed" } }
                @else if d.status == DeliveryStatus::Pending { dt { "Next attempt" } dd { (when(&d.next_attempt_at)) } }
            }
            @if d.status != DeliveryStatus::Delivered {
                form method="post" action={ (base) "/deliveries/" (d.id) "/retry" } class="inline" {
                    (csrf(&ctx.session))
                    button type="submit" class="primary" { @if d.status == DeliveryStatus::Dead { "Retry this dead letter" } @else { "Attempt now" } }
                }
            }
        }
        section class="card" aria-labelledby="h-attempts" {
            h2 id="h-attempts" { "Attempts" }
            @if attempts.is_empty() { p class="empty" { "Not attempted yet." } } @else {
                table class="stack" id="attempts" {
                    thead { tr { th scope="col" { "Attempt" } th scope="col" { "When" } th scope="col" { "Status" } th scope="col" { "Answer" } } }
                    tbody { @for a in &attempts {
                        tr {
                            th scope="row" data-label="Attempt" { (a.attempt) }
                            td data-label="When" { (when(&a.at)) }
                            td data-label="Status" { @match a.status_code { Some(c) => { "HTTP " (c) }, None => "No answer" } }
                            td data-label="Answer" class="details" { @match &a.error { Some(e) => code { (e) }, None => "Delivered" } }
                        }
                    } }
                }
            }
        }
    };
    let st = notice.as_ref().map_or(StatusCode::OK, |n| n.status);
    Ok(ctx.page(st, "Delivery", Nav::Webhooks, notice.as_ref(), body))
}

pub async fn retry(p: Posted, path: web::Path<(String, String)>) -> HttpResponse {
    let (sub, raw) = path.into_inner();
    let result = async {
        let admin = p.ctx.admin()?;
        let sub = path_id(&sub, "webhook")?;
        let id = path_id(&raw, "delivery")?;
        svc::retry(&p.ctx.state.db, &admin, SubscriptionId::new(sub.clone()), DeliveryId::new(id)).await?;
        Ok::<_, ServiceError>(sub)
    }
    .await;
    match result {
        Ok(sub) => see_other(&format!("/setup/webhooks/{sub}?done=retried_one")),
        Err(e) => {
            let page = delivery_page(&p.ctx, &sub, &raw, Some(explain(e))).await;
            p.ctx.render(page)
        }
    }
}
