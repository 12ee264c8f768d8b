//! The console's page frame and the small pieces pages share. Semantic HTML, a label on
//! every control, no script: every action is a form that works from the keyboard.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use super::errors::Notice;
use crate::domain::Principal;
use crate::service::sessions::ConsoleSession;

/// Which navigation entry is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Users,
    Licenses,
    Bulk,
    Sites,
    Tokens,
    Audit,
    Idps,
    Webhooks,
    None,
}

const ADMIN_NAV: [(Nav, &str, &str); 9] = [
    (Nav::Overview, "/setup/overview", "Overview"),
    (Nav::Users, "/setup/users", "Users"),
    (Nav::Licenses, "/setup/licenses", "Licenses"),
    (Nav::Bulk, "/setup/bulk-downgrade", "Bulk downgrade"),
    (Nav::Sites, "/setup/sites", "Sites"),
    (Nav::Idps, "/setup/identity-providers", "Identity providers"),
    (Nav::Webhooks, "/setup/webhooks", "Webhooks"),
    (Nav::Tokens, "/setup/tokens", "Tokens"),
    (Nav::Audit, "/setup/audit", "Audit log"),
];

fn role_words(session: &ConsoleSession) -> &'static str {
    match session.actor.principal {
        Principal::Admin => "admin",
        Principal::DelegatedAdmin { .. } => "delegated admin",
        Principal::Scim { .. } => "scim",
        Principal::Registration { .. } => "registration",
    }
}

/// The frame of every page: header, navigation (the pages this role may use), main.
pub fn layout(
    session: Option<&ConsoleSession>,
    title: &str,
    current: Nav,
    notice: Option<&Notice>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · scimgate Setup" }
                link rel="stylesheet" href="/setup/console.css";
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    a class="brand" href="/setup/" { "scimgate " span { "Setup" } }
                    @if let Some(s) = session {
                        nav aria-label="Main" {
                            ul {
                                @for (nav, href, label) in ADMIN_NAV {
                                    @if nav == Nav::Users || matches!(s.actor.principal, Principal::Admin) {
                                        li {
                                            @if nav == current {
                                                a href=(href) aria-current="page" { (label) }
                                            } @else {
                                                a href=(href) { (label) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        form class="who" method="post" action="/setup/sign-out" {
                            span { "Signed in as " strong { (s.name) } " (" (role_words(s)) ")" }
                            (csrf(s))
                            button type="submit" class="link" { "Sign out" }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    @if let Some(n) = notice { (notice_box(n)) }
                    (body)
                }
            }
        }
    }
}

/// A page without a session (sign-in, refused forms).
pub fn bare(title: &str, notice: &Notice, back: &str) -> Markup {
    layout(None, title, Nav::None, Some(notice), html! { p { a href=(back) { "Back to the console" } } })
}

pub fn notice_box(n: &Notice) -> Markup {
    html! {
        @if n.success {
            div class="notice ok" role="status" { strong { (n.title) } " " (n.text) }
        } @else {
            div class="notice err" role="alert" { strong { (n.title) } " " (n.text) }
        }
    }
}

/// The session's synchronizer token, in every form.
pub fn csrf(s: &ConsoleSession) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf_token); }
}

/// A submit button, or the same button disabled with the reason beside it.
pub fn action_button(id: &str, label: &str, refused: Option<&str>, class: &str) -> Markup {
    match refused {
        None => html! { button type="submit" class=(class) { (label) } },
        Some(why) => {
            let why_id = format!("{id}-why");
            html! {
                button type="submit" class=(class) disabled aria-describedby=(why_id) { (label) }
                p class="why" id=(why_id) { (why) }
            }
        }
    }
}

pub fn when(t: &DateTime<Utc>) -> Markup {
    let text = t.format("%Y-%m-%d %H:%M UTC").to_string();
    html! { time datetime=(t.to_rfc3339()) { (text) } }
}

/// A duration in the largest whole unit ("45 s", "12 min", "3 h", "2 d").
pub fn duration_words(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86400),
    }
}

/// A secret shown this once (a new token, a webhook secret, a login-as session): the
/// card's heading, what to do with it, and a read-only field `field_id` labelled `label`.
pub fn shown_once(heading: Markup, advice: Markup, field_id: &str, label: &str, secret: &str) -> Markup {
    let heading_id = format!("h-{field_id}");
    html! {
        section class="card secret" aria-labelledby=(heading_id) {
            h2 id=(heading_id) { (heading) }
            p { (advice) }
            label for=(field_id) { (label) }
            input id=(field_id) type="text" readonly value=(secret) spellcheck="false";
        }
    }
}

/// A count that health reads cap: "more than 10000" past the cap.
pub fn capped_count(n: i64) -> String {
    let cap = crate::service::webhooks::HEALTH_CAP;
    if n > cap { format!("more than {cap}") } else { n.to_string() }
}

pub fn badge(text: &str, class: &str) -> Markup {
    html! { span class={ "badge " (class) } { (text) } }
}

pub fn yes_no(v: bool) -> &'static str {
    if v { "Yes" } else { "No" }
}

/// A license pool's use as a bar: `<meter>` (its value and bounds are read out) and the
/// numbers in words beside it.
pub fn pool_bar(id: &str, used: i64, capacity: Option<i64>) -> Markup {
    html! {
        @match capacity {
            Some(cap) => {
                @let label = format!("{used} of {cap} in use");
                meter id=(id) min="0" max=(cap.max(1)) low=(cap.max(1) * 3 / 4) high=(cap.max(1) * 9 / 10)
                    optimum="0" value=(used) aria-label=(label) { (label) }
                span class="bar-text" { (label) }
            }
            None => { span class="bar-text" { (used) " in use · unlimited" } }
        }
    }
}

/// A short, readable form of an id (the whole id is in the title); names stay whole.
pub fn short_id(id: &str) -> Markup {
    if uuid::Uuid::parse_str(id).is_err() {
        return html! { code { (id) } };
    }
    let short: String = id.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
    html! { code title=(id) { "…" (short) } }
}
