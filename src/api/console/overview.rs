//! The overview (the admin's page after sign-in): the directory's make-up, provisioning
//! activity per source with its policy rejections, and downstream (webhook) health.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use maud::{Markup, html};

use super::charts::{self, Bar, Series};
use super::views::{Nav, badge, capped_count, duration_words, pool_bar};
use super::{Ctx, see_other};
use crate::error::ServiceError;
use crate::service::activity::{self, ActivityReport, Bucket, CHANGE_KINDS};
use crate::service::{licenses as licenses_svc, webhooks as webhooks_svc};

pub async fn overview(ctx: Ctx) -> HttpResponse {
    if !ctx.is_admin() {
        // Delegated admins see their users; the overview is the whole directory's.
        return see_other("/setup/users");
    }
    let page = page(&ctx).await;
    ctx.render(page)
}

/// A change kind in words.
fn change_label(kind: &str) -> &'static str {
    match kind {
        "created" => "Created",
        "updated" => "Updated",
        "deactivated" => "Deactivated",
        "deleted" => "Deleted",
        _ => "Other",
    }
}

/// A policy rule's refusal in words (the series of rejections).
pub fn rule_label(rule: &str) -> String {
    match rule {
        "scim_contactless" => "Refused: contactless via SCIM".to_owned(),
        "license_unavailable" => "Refused: license unavailable".to_owned(),
        "contact_required" => "Refused: contact required".to_owned(),
        "out_of_scope" => "Refused: out of scope".to_owned(),
        "delegated_admin_forbidden" => "Refused: delegated admin".to_owned(),
        other => format!("Refused: {}", other.replace('_', " ")),
    }
}

/// The CSS class of a rule's series (known rules have their own colour).
fn rule_class(rule: &str) -> &'static str {
    match rule {
        "scim_contactless" => "r-contactless",
        "license_unavailable" => "r-license",
        "contact_required" => "r-contact",
        _ => "r-other",
    }
}

/// The charts of one source: the change kinds, groups when there were any, and each rule
/// that refused it, over `buckets`.
fn source_chart(
    id: &str,
    title: &str,
    source: &str,
    buckets: &[Bucket],
    tick: impl Fn(&Bucket) -> (String, String),
) -> Markup {
    let counts = |b: &Bucket| b.by_source.get(source).cloned().unwrap_or_default();
    let mut rules: Vec<String> = buckets.iter().flat_map(|b| counts(b).rejected.into_keys()).collect();
    rules.sort();
    rules.dedup();
    let groups = buckets.iter().any(|b| counts(b).change("groups") > 0);
    let errors = buckets.iter().any(|b| counts(b).other_errors() > 0);
    let mut kinds: Vec<(String, &str, String)> =
        CHANGE_KINDS.iter().map(|k| (change_label(k).to_owned(), *k, format!("change:{k}"))).collect();
    if groups {
        kinds.push(("Group changes".to_owned(), "groups", "change:groups".to_owned()));
    }
    for r in &rules {
        kinds.push((rule_label(r), rule_class(r), format!("rule:{r}")));
    }
    if errors {
        kinds.push(("Other errors".to_owned(), "errors", "errors:".to_owned()));
    }
    let series: Vec<Series<'_>> = kinds.iter().map(|(label, class, _)| Series { label, class }).collect();
    let bars: Vec<Bar> = buckets
        .iter()
        .map(|b| {
            let c = counts(b);
            let values = kinds
                .iter()
                .map(|(_, _, key)| match key.split_once(':') {
                    Some(("change", k)) => c.change(k),
                    Some(("rule", r)) => c.rejected.get(r).copied().unwrap_or(0),
                    Some(("errors", _)) => c.other_errors(),
                    _ => 0,
                })
                .collect();
            let (label, tick) = tick(b);
            Bar { label, tick, values }
        })
        .collect();
    charts::stacked(id, title, &series, &bars)
}

fn activity_section(report: &ActivityReport) -> Markup {
    let hour = |b: &Bucket| (b.start.format("%Y-%m-%d %H:00 UTC").to_string(), b.start.format("%H").to_string());
    let day = |b: &Bucket| (b.start.format("%Y-%m-%d").to_string(), b.start.format("%d").to_string());
    // Rejections of the last 24 hours by source and rule.
    let mut refused: Vec<(String, String, i64)> = vec![];
    for s in &report.sources {
        let mut by_rule = std::collections::BTreeMap::<String, i64>::new();
        for b in &report.hours {
            if let Some(c) = b.by_source.get(&s.key) {
                for (r, n) in &c.rejected {
                    *by_rule.entry(r.clone()).or_default() += n;
                }
            }
        }
        refused.extend(by_rule.into_iter().map(|(r, n)| (s.name.clone(), r, n)));
    }
    html! {
        section class="card" aria-labelledby="h-activity" id="activity" {
            h2 id="h-activity" { "Provisioning activity" }
            p class="help" { "Creates, updates, deactivations and deletes of users, and the requests the policy refused, "
                "per source: each SCIM token (one per identity provider), the native API, self-registration and this console; "
                "other error answers (bad requests, unknown ids, conflicts) are their own series. "
                "Hours and days are UTC; counts reach the database within a few seconds of the request." }
            @if report.sources.is_empty() {
                p class="empty" { "No provisioning activity in the last 30 days." }
            }
            @for (i, s) in report.sources.iter().enumerate() {
                div class="source" id={ "source-" (i) } data-source=(s.key) {
                    h3 { (s.name) }
                    div class="grid charts" {
                        (source_chart(&format!("hours-{i}"), "Last 24 hours", &s.key, &report.hours, hour))
                        (source_chart(&format!("days-{i}"), "Last 30 days", &s.key, &report.days, day))
                    }
                }
            }
            h3 id="h-refused" { "Refused in the last 24 hours" }
            @if refused.is_empty() { p class="empty" { "Nothing was refused." } } @else {
                table class="stack" id="refused" aria-labelledby="h-refused" {
                    thead { tr { th scope="col" { "Source" } th scope="col" { "Rule" } th scope="col" { "Requests" } } }
                    tbody { @for (source, rule, n) in &refused {
                        tr {
                            th scope="row" data-label="Source" { (source) }
                            td data-label="Rule" { (rule_label(rule)) " " code { (rule) } }
                            td data-label="Requests" { (n) }
                        }
                    } }
                }
            }
        }
    }
}

async fn page(ctx: &Ctx) -> Result<HttpResponse, ServiceError> {
    let admin = ctx.admin()?;
    let db = &ctx.state.db;
    let composition = licenses_svc::composition(db, &admin).await?;
    let report = activity::report(db, &admin).await?;
    let webhooks = webhooks_svc::health(db, &admin).await?;
    let c = &composition;
    let body = html! {
        section class="card" aria-labelledby="h-directory" id="directory" {
            h2 id="h-directory" { "Directory" }
            ul class="stats" {
                li id="stat-total" { span class="n" { (c.total) } " users" }
                li id="stat-backed" { span class="n" { (c.contact_backed()) } " contact-backed" }
                li id="stat-contactless" { span class="n" { (c.contactless) } " contactless" }
                li id="stat-active" { span class="n" { (c.active()) } " active" }
                li id="stat-inactive" { span class="n" { (c.inactive) } " inactive" }
            }
            table class="stack" id="by-license" {
                caption { "Users by license" }
                thead { tr { th scope="col" { "License" } th scope="col" { "Users" } th scope="col" { "Pool" } } }
                tbody { @for p in &c.pools {
                    @let l = p.license.as_str();
                    tr {
                        th scope="row" data-label="License" { code { (l) } }
                        td data-label="Users" class="used" { (p.used) }
                        td data-label="Pool" class="bar" { (pool_bar(&format!("overview-bar-{l}"), p.used, p.capacity)) }
                    }
                } }
            }
        }
        (activity_section(&report))
        section class="card" aria-labelledby="h-downstream" id="downstream" {
            h2 id="h-downstream" { "Downstream health" }
            @if webhooks.is_empty() { p class="empty" { "No webhook subscriptions. " a href="/setup/webhooks" { "Add one" } } } @else {
                table class="stack" id="webhook-health" {
                    thead { tr {
                        th scope="col" { "Subscription" } th scope="col" { "Delivered (24 h)" } th scope="col" { "Pending" }
                        th scope="col" { "Failing" } th scope="col" { "Dead letters" } th scope="col" { "Oldest pending" }
                        th scope="col" { "Last error" }
                    } }
                    tbody { @for (s, h) in &webhooks {
                        tr {
                            th scope="row" data-label="Subscription" {
                                a href={ "/setup/webhooks/" (s.id) } { (s.url) }
                                @if s.paused_at.is_some() { " " (badge("Paused", "off")) }
                            }
                            td data-label="Delivered (24 h)" { (capped_count(h.delivered_24h)) }
                            td data-label="Pending" { (capped_count(h.pending)) }
                            td data-label="Failing" { (capped_count(h.failing)) }
                            td data-label="Dead letters" { (capped_count(h.dead)) }
                            td data-label="Oldest pending" { @match h.oldest_pending_age { Some(a) => (duration_words(a)), None => "—" } }
                            td data-label="Last error" class="details" { @match &h.last_error { Some(e) => code { (e) }, None => "—" } }
                        }
                    } }
                }
            }
        }
    };
    Ok(ctx.page(StatusCode::OK, "Overview", Nav::Overview, None, body))
}
