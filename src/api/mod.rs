//! The HTTP surfaces: the native REST API (`native`), SCIM 2.0 (`scim`), the Setup console
//! (`console`), operations (`ops`) and the API documents (`openapi`, `docs`). Handlers
//! translate HTTP to service calls and results back; no business rule lives here, and
//! nothing here opens the store.

pub mod client;
pub mod console;
pub mod extract;
pub mod middleware;
pub mod native;
pub mod openapi;
pub mod ops;
pub mod route;
pub mod scim;
pub mod swagger_ui;
pub mod throttle;

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, web};

use std::future::Future;
use std::sync::Arc;

use crate::config::Settings;
use crate::domain::{Actor, Via};
use crate::error::ServiceError;
use crate::service::Db;
use crate::service::auth::Bootstrap;
use crate::service::dispatcher::DeliveryCounters;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub bootstrap: Bootstrap,
    pub settings: Settings,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    pub tokens: std::sync::Arc<crate::service::auth::TokenCache>,
    /// This instance's webhook delivery counters (for metrics; see
    /// `service::webhooks::queue_stats` for the queue shared by all instances).
    pub deliveries: Arc<DeliveryCounters>,
    /// Rate limits (failed authentications per address, token quotas).
    pub throttle: Arc<throttle::Throttle>,
    /// Trusted proxies and the public URL.
    pub network: Arc<client::Network>,
    /// Seals webhook secrets at rest (`webhooks.secret_key`).
    pub sealer: crate::service::sealing::Sealer,
    /// Slots of heavy SCIM lists (`scim.heavy_list_slots`).
    pub heavy_lists: Arc<tokio::sync::Semaphore>,
}

/// Who made a request, as the operator's view counts it (a request extension set once the
/// caller is known; read by `middleware::observe`).
#[derive(Debug, Clone)]
pub struct Caller {
    /// See `domain::source_key`.
    pub source: String,
    /// The API token, when the caller used one.
    pub token_id: Option<String>,
}

impl Caller {
    pub fn note(req: &HttpRequest, actor: &Actor) {
        let token_id = actor.label.strip_prefix("token:").map(str::to_owned);
        req.extensions_mut().insert(Caller { source: actor.source(), token_id });
    }
}

/// Resolves a request's bearer token to its actor (`Unauthenticated` when it is absent or
/// unknown): the one authentication path of every surface's caller extractors, which then
/// check the role table (`policy::access`) for their surface.
pub fn authenticate(req: &HttpRequest) -> impl Future<Output = Result<Actor, ServiceError>> + 'static {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let via = if req.path().starts_with("/scim/") { Via::Scim } else { Via::Api };
    let request = req.clone();
    let token = bearer(req).map(|t| t.map(str::to_owned));
    let ip = state.as_ref().and_then(|s| s.network.client_ip(req));
    async move {
        let state = state.ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("application state is missing")))?;
        let token = token?;
        // An address past its failed-authentication allowance: only a secret this gateway
        // already knows passes, without a database read.
        let blocked = state.throttle.blocked(ip);
        let outcome = match (&token, blocked) {
            (None, _) => Err(ServiceError::Unauthenticated),
            (Some(t), Some(b)) => crate::service::auth::authenticate_known(&state.bootstrap, &state.tokens, t)
                .ok_or_else(|| throttled(&state, b)),
            (Some(t), None) => crate::service::auth::authenticate(&state.db, &state.bootstrap, &state.tokens, t).await,
        };
        match outcome {
            Err(ServiceError::Unauthenticated) if token.is_some() => Err(failed_authentication(&state, ip)),
            Ok(actor) => match state.throttle.spend(&actor) {
                Some(t) => Err(throttled(&state, t)),
                None => {
                    let actor = actor.via(via);
                    Caller::note(&request, &actor);
                    Ok(actor)
                }
            },
            other => other,
        }
    }
}

/// An authentication attempt with a secret other than an API token (a console sign-in, a
/// login-as session), under the address's failed-authentication allowance: refused at
/// once while the address is blocked; a failure counts.
pub async fn guarded_attempt<T>(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    attempt: impl Future<Output = Result<T, ServiceError>>,
) -> Result<T, ServiceError> {
    if let Some(t) = state.throttle.blocked(ip) {
        return Err(throttled(state, t));
    }
    match attempt.await {
        Err(ServiceError::Unauthenticated) => Err(failed_authentication(state, ip)),
        other => other,
    }
}

/// Counts a failed authentication: `Unauthenticated`, or `RateLimited` past the allowance.
fn failed_authentication(state: &AppState, ip: Option<std::net::IpAddr>) -> ServiceError {
    state.throttle.failed(ip).map_or(ServiceError::Unauthenticated, |t| throttled(state, t))
}

/// A throttled request's error, counted in the metrics.
pub fn throttled(state: &AppState, t: throttle::Throttled) -> ServiceError {
    state.metrics.throttled.with_label_values(&[t.reason()]).inc();
    ServiceError::RateLimited { retry_after_secs: t.retry_after_secs() }
}

/// The version an `If-Match` / `If-None-Match` header names (RFC 9110 §13.1): `None` when
/// absent or `*`; an unreadable tag matches no version (-1).
pub fn header_version(req: &HttpRequest, name: header::HeaderName) -> Option<i64> {
    entity_version(req.headers().get(name)?.to_str().unwrap_or(""))
}

/// The version an entity tag names (`W/"3"`, `"3"` or `3`): `None` for `*` (any version),
/// `-1` (a version no resource has) for a tag this server never issued.
pub fn entity_version(tag: &str) -> Option<i64> {
    let tag = tag.trim();
    if tag == "*" {
        return None;
    }
    Some(tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"').parse().unwrap_or(-1))
}

/// The head every error answer shares, whatever its surface's body: the bearer challenge
/// on 401 (RFC 6750 §3) and `Retry-After` when the client is told to wait.
pub fn error_head(status: actix_web::http::StatusCode, retry_after: Option<u64>) -> actix_web::HttpResponseBuilder {
    let mut res = actix_web::HttpResponse::build(status);
    if status == actix_web::http::StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    if let Some(secs) = retry_after {
        res.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    res
}

/// The bearer secret of `Authorization: Bearer …` (scheme case-insensitive, RFC 6750 §2.1).
/// Two `Authorization` headers are refused (400): which one counts would be a guess, and a
/// proxy and a client disagreeing about it is how requests get smuggled.
pub fn bearer(req: &HttpRequest) -> Result<Option<&str>, ServiceError> {
    let mut all = req.headers().get_all(header::AUTHORIZATION);
    let Some(value) = all.next() else {
        return Ok(None);
    };
    if all.next().is_some() {
        return Err(ServiceError::AmbiguousCredentials);
    }
    let Some((scheme, token)) = value.to_str().ok().and_then(|v| v.split_once(' ')) else {
        return Ok(None);
    };
    let token = token.trim();
    Ok((scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token))
}

/// Mounts every surface. The OpenAPI documents are collected from the same two functions.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // The Setup console is HTML for people: not part of the OpenAPI documents.
    console::configure(cfg);
    let mut cfg = utoipa_actix_web::service_config::ServiceConfig::new(cfg);
    configure_scim(&mut cfg);
    configure_native(&mut cfg);
}

/// What `openapi/native.json` describes: operations, the docs, and `/api/v1`.
pub fn configure_native(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    ops::configure(cfg);
    swagger_ui::configure(cfg);
    cfg.service(utoipa_actix_web::scope("/api/v1").configure(native::configure));
}

/// What `openapi/scim.json` describes: `/scim/v2`.
pub fn configure_scim(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    scim::configure(cfg);
}
