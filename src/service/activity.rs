//! Provisioning activity for the operator's view (see `store::activity` for how it is
//! counted): what a request did, per source; the last 24 hours by hour and the last 30
//! days by day; each SCIM token's traffic and last errors.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as Span, NaiveDateTime, Utc};
use tokio::task::JoinHandle;

use super::ServiceError;
use crate::domain::{Role, TokenInfo, new_id};
use crate::policy::access::AdminCap;
use crate::store::activity::{self as store, TokenError};
use crate::store::{Db, to_utc, tokens};

/// The kinds of change the charts stack, in their order (see `EventType::activity_kind`).
pub const CHANGE_KINDS: [&str; 4] = ["created", "updated", "deactivated", "deleted"];
/// A policy rejection's kind is this prefix and its rule (`rejected:license_unavailable`).
pub const REJECTED: &str = "rejected:";
const REQUEST: &str = "request";
const ERROR: &str = "error";

/// One answered request whose caller is known.
pub struct Seen<'a> {
    pub source: &'a str,
    pub token_id: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    /// The policy rule that refused it.
    pub rejection: Option<&'a str>,
    pub scim_type: Option<&'a str>,
    /// What the caller was told, when the answer was an error with a detail.
    pub detail: Option<&'a str>,
}

/// The longest detail kept of an error (the start of it).
const DETAIL_KEPT: usize = 500;

/// Counts one answered request (in memory; see [`flush`]).
pub fn seen(db: &Db, s: Seen<'_>) {
    let tallies = db.activity();
    let now = Utc::now();
    tallies.count(s.source, REQUEST, 1);
    if let Some(token) = s.token_id {
        tallies.used(token, now);
    }
    if s.status >= 400 {
        tallies.count(s.source, ERROR, 1);
        if let (Some(token), true) = (s.token_id, s.source.starts_with("scim:")) {
            tallies.error(TokenError {
                id: new_id(),
                token_id: token.to_owned(),
                at: now,
                status: s.status,
                method: s.method.to_owned(),
                path: s.path.chars().take(200).collect(),
                scim_type: s.scim_type.map(str::to_owned),
                detail: s.detail.unwrap_or("").chars().take(DETAIL_KEPT).collect(),
            });
        }
    }
    if let Some(rule) = s.rejection {
        tallies.count(s.source, &format!("{REJECTED}{rule}"), 1);
    }
}

/// Adds this gateway's counts to the database (what fails to be written is kept for the
/// next flush).
pub async fn flush(db: &Db) -> Result<(), ServiceError> {
    let pending = db.activity().take();
    if pending.is_empty() {
        return Ok(());
    }
    let pending = Arc::new(pending);
    let written = pending.clone();
    let result = db.write(move |conn| Ok::<_, ServiceError>(store::flush(conn, &written)?)).await;
    if let Err(e) = &result {
        tracing::warn!(error = %crate::error::Chain(e), "activity counts not written; kept for the next flush");
        if let Ok(pending) = Arc::try_unwrap(pending) {
            db.activity().restore(pending);
        }
    }
    result
}

/// Flushes every `interval` until aborted (a clean stop flushes once more: see `startup`).
pub fn spawn_flusher(db: Db, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval.max(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let _ = flush(&db).await;
        }
    })
}

/// Counts of one source in one time bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// By change kind ([`CHANGE_KINDS`], and `groups`).
    pub changes: BTreeMap<String, i64>,
    /// By policy rule.
    pub rejected: BTreeMap<String, i64>,
    pub requests: i64,
    pub errors: i64,
}

impl Counts {
    fn add(&mut self, kind: &str, n: i64) {
        match kind {
            REQUEST => self.requests += n,
            ERROR => self.errors += n,
            k => match k.strip_prefix(REJECTED) {
                Some(rule) => *self.rejected.entry(rule.to_owned()).or_default() += n,
                None => *self.changes.entry(k.to_owned()).or_default() += n,
            },
        }
    }

    pub fn change(&self, kind: &str) -> i64 {
        self.changes.get(kind).copied().unwrap_or(0)
    }

    pub fn rejections(&self) -> i64 {
        self.rejected.values().sum()
    }

    /// Error answers the policy did not give (bad requests, unknown ids, conflicts, 5xx).
    pub fn other_errors(&self) -> i64 {
        (self.errors - self.rejections()).max(0)
    }

    pub fn is_empty(&self) -> bool {
        self == &Counts::default()
    }
}

/// One bar of a chart: a time bucket's counts per source.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub by_source: BTreeMap<String, Counts>,
}

/// A source as the operator knows it.
#[derive(Debug, Clone)]
pub struct SourceName {
    pub key: String,
    /// "entra" for a SCIM token, "Native API", "Self-registration", "Console", ….
    pub name: String,
}

/// The provisioning activity of the whole directory (every gateway's counts).
#[derive(Debug, Clone)]
pub struct ActivityReport {
    /// The last 24 hours, oldest first (the last bucket is the current hour).
    pub hours: Vec<Bucket>,
    /// The last 30 days (UTC), oldest first (the last is today).
    pub days: Vec<Bucket>,
    /// Every source with any count in the last 30 days, SCIM tokens first, by name.
    pub sources: Vec<SourceName>,
}

/// The name of a source key (tokens looked up in `tokens`).
pub fn source_name(key: &str, tokens: &[TokenInfo]) -> String {
    match key {
        "native" => "Native API".to_owned(),
        "registration" => "Self-registration".to_owned(),
        "console" => "Console".to_owned(),
        "cli" => "Command line".to_owned(),
        "scim:bootstrap" => "SCIM (bootstrap secret)".to_owned(),
        k => match k.strip_prefix("scim:") {
            // A rotated (or revoked) token's past stays under its old id: named apart from
            // the live token that took its name.
            Some(id) => match tokens.iter().find(|t| t.id == id) {
                Some(t) if t.revoked_at.is_some() => format!("{} (revoked)", t.name),
                Some(t) => t.name.clone(),
                None => format!("SCIM token …{}", &id[id.len().saturating_sub(8)..]),
            },
            None => k.to_owned(),
        },
    }
}

fn hour_start(at: DateTime<Utc>) -> NaiveDateTime {
    store::hour_of(at)
}

/// The activity of the last 24 hours and 30 days. Reads at most 30 × 24 rows per source
/// and kind (the `activity_hourly` primary key's range), never the audit log.
pub async fn report(db: &Db, _admin: &AdminCap) -> Result<ActivityReport, ServiceError> {
    // This gateway's latest counts first: what the operator just did shows.
    let _ = flush(db).await;
    let now = Utc::now();
    let this_hour = hour_start(now);
    let today = now.date_naive().and_hms_opt(0, 0, 0).unwrap_or(this_hour);
    let first_day = today - Span::days(29);
    let first_hour = this_hour - Span::hours(23);
    let since = first_day.min(first_hour);
    let (rows, tokens) = db
        .read(move |conn| {
            let rows = store::hourly_since(conn, since)?;
            let tokens = tokens::list(conn)?;
            Ok::<_, ServiceError>((rows, tokens))
        })
        .await?;
    let mut hours: Vec<Bucket> =
        (0..24).map(|i| Bucket { start: to_utc(first_hour + Span::hours(i)), by_source: BTreeMap::new() }).collect();
    let mut days: Vec<Bucket> =
        (0..30).map(|i| Bucket { start: to_utc(first_day + Span::days(i)), by_source: BTreeMap::new() }).collect();
    let mut seen_sources = std::collections::BTreeSet::new();
    for (hour, source, kind, n) in rows {
        if hour >= first_hour {
            let i = (hour - first_hour).num_hours() as usize;
            if let Some(b) = hours.get_mut(i) {
                b.by_source.entry(source.clone()).or_default().add(&kind, n);
            }
        }
        if hour >= first_day {
            let i = (hour - first_day).num_days() as usize;
            if let Some(b) = days.get_mut(i) {
                b.by_source.entry(source.clone()).or_default().add(&kind, n);
            }
        }
        seen_sources.insert(source);
    }
    let mut sources: Vec<SourceName> =
        seen_sources.into_iter().map(|key| SourceName { name: source_name(&key, &tokens), key }).collect();
    sources.sort_by(|a, b| {
        (!a.key.starts_with("scim:"), a.name.to_lowercase()).cmp(&(!b.key.starts_with("scim:"), b.name.to_lowercase()))
    });
    Ok(ActivityReport { hours, days, sources })
}

/// A SCIM token as an identity provider's connection.
#[derive(Debug, Clone)]
pub struct Connection {
    pub token: TokenInfo,
    /// The names of the accounts it is confined to (empty: every account).
    pub accounts: Vec<(String, String)>,
    pub requests_24h: i64,
    pub errors_24h: i64,
    pub rejected_24h: i64,
    /// Its newest errors, newest first.
    pub last_errors: Vec<TokenError>,
}

/// How many of a token's last errors the IdP page shows.
pub const ERRORS_SHOWN: i64 = 5;

/// Every SCIM token (live first, then revoked), with its last 24 hours.
pub async fn connections(db: &Db, _admin: &AdminCap) -> Result<Vec<Connection>, ServiceError> {
    let _ = flush(db).await;
    let since = hour_start(Utc::now()) - Span::hours(23);
    db.read(move |conn| {
        let rows = store::hourly_since(conn, since)?;
        let mut out = vec![];
        for token in tokens::list(conn)? {
            if token.role != Role::Scim {
                continue;
            }
            let key = format!("scim:{}", token.id);
            let mut counts = Counts::default();
            for (_, _, kind, n) in rows.iter().filter(|r| r.1 == key) {
                counts.add(kind, *n);
            }
            let mut names = vec![];
            for id in &token.account_ids {
                let name =
                    crate::store::accounts::find_account(conn, id)?.map(|a| a.name).unwrap_or_else(|| id.clone());
                names.push((id.clone(), name));
            }
            let last_errors = store::errors_of(conn, token.id.as_str(), ERRORS_SHOWN)?;
            out.push(Connection {
                accounts: names,
                requests_24h: counts.requests,
                errors_24h: counts.errors,
                rejected_24h: counts.rejections(),
                last_errors,
                token,
            });
        }
        out.sort_by(|a, b| {
            (a.token.revoked_at.is_some(), a.token.name.to_lowercase())
                .cmp(&(b.token.revoked_at.is_some(), b.token.name.to_lowercase()))
        });
        Ok::<_, ServiceError>(out)
    })
    .await
}
