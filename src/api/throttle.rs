//! Rate limits (`rate.*`), with `governor`: failed authentications per client address (a
//! guessing client is answered `429` without a database read once past its allowance,
//! while requests with a valid token from the same address still pass), and request
//! quotas per token.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateSettings;
use crate::domain::Actor;

/// The most addresses (or tokens) remembered; past it the stale ones are forgotten.
const MAX_KEYS: usize = 100_000;

pub struct Throttle {
    failed: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Addresses past their failed-authentication allowance, until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    token_default: u32,
    tokens: Mutex<HashMap<String, (u32, Arc<DefaultDirectRateLimiter>)>>,
}

/// Why a request was throttled (the metric's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    FailedAuth { retry_after_secs: u64 },
    TokenQuota { retry_after_secs: u64 },
}

impl Throttled {
    pub fn retry_after_secs(self) -> u64 {
        match self {
            Throttled::FailedAuth { retry_after_secs } | Throttled::TokenQuota { retry_after_secs } => retry_after_secs,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Throttled::FailedAuth { .. } => "failed_auth",
            Throttled::TokenQuota { .. } => "token_quota",
        }
    }
}

fn per_minute(n: u32, burst: u32) -> Option<Quota> {
    let n = NonZeroU32::new(n)?;
    Some(Quota::per_minute(n).allow_burst(NonZeroU32::new(burst).unwrap_or(n)))
}

fn secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Throttle {
    pub fn new(s: &RateSettings) -> Throttle {
        Throttle {
            failed: per_minute(s.failed_auth_per_minute, s.failed_auth_burst).map(RateLimiter::keyed),
            blocked: Mutex::new(HashMap::new()),
            token_default: s.token_requests_per_minute,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `ip` is past its failed-authentication allowance (then only a token this
    /// gateway already knows may pass: nothing new is looked up).
    pub fn blocked(&self, ip: Option<IpAddr>) -> Option<Throttled> {
        let ip = ip?;
        let mut blocked = self.blocked.lock().ok()?;
        let until = *blocked.get(&ip)?;
        let now = Instant::now();
        if until <= now {
            blocked.remove(&ip);
            return None;
        }
        Some(Throttled::FailedAuth { retry_after_secs: secs(until - now) })
    }

    /// Counts a failed authentication from `ip`; past the allowance the address is blocked
    /// for as long as the allowance takes to come back.
    pub fn failed(&self, ip: Option<IpAddr>) -> Option<Throttled> {
        let (limiter, ip) = (self.failed.as_ref()?, ip?);
        let wait = match limiter.check_key(&ip) {
            Ok(()) => return None,
            Err(not_until) => not_until.wait_time_from(DefaultClock::default().now()),
        };
        let wait = wait.max(Duration::from_secs(1));
        if let Ok(mut blocked) = self.blocked.lock() {
            if blocked.len() >= MAX_KEYS {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
                limiter.retain_recent();
            }
            blocked.insert(ip, Instant::now() + wait);
        }
        Some(Throttled::FailedAuth { retry_after_secs: secs(wait) })
    }

    /// Spends one request of the actor's token quota (its own, else the default).
    pub fn spend(&self, actor: &Actor) -> Option<Throttled> {
        let token = crate::service::auth::token_id(actor)?;
        let quota = actor.request_quota.unwrap_or(self.token_default);
        let q = per_minute(quota, quota)?;
        let limiter = {
            let mut tokens = self.tokens.lock().ok()?;
            if tokens.len() >= MAX_KEYS {
                tokens.clear();
            }
            let entry = tokens.entry(token.to_owned()).or_insert_with(|| (quota, Arc::new(RateLimiter::direct(q))));
            if entry.0 != quota {
                *entry = (quota, Arc::new(RateLimiter::direct(q)));
            }
            entry.1.clone()
        };
        match limiter.check() {
            Ok(()) => None,
            Err(not_until) => Some(Throttled::TokenQuota {
                retry_after_secs: secs(
                    not_until.wait_time_from(DefaultClock::default().now()).max(Duration::from_secs(1)),
                ),
            }),
        }
    }
}
