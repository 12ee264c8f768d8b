//! Request plumbing: a request id per request (accepted from and echoed in `X-Request-Id`),
//! the tracing span that carries it, an access log line, and request metrics.

use std::time::Instant;

use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError, web};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

use super::{AppState, Caller};
use crate::metrics::{ErrorDetail, PolicyRejection};
use crate::service::activity;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client's request id is kept when it is 1–128 visible ASCII characters; otherwise
/// (or when absent) the gateway makes one.
fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Outermost: makes sure the request has an id, and echoes it on the response.
pub async fn request_id(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let given = req.headers().get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|v| acceptable(v));
    let id = match given {
        Some(v) => v.to_owned(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    req.headers_mut().insert(X_REQUEST_ID, value.clone());
    let mut res = next.call(req).await?;
    res.headers_mut().insert(X_REQUEST_ID, value);
    Ok(res)
}

/// The root span of a request: its id, method and route (never headers: they carry tokens).
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = request.headers().get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
        tracing::info_span!(
            "request",
            request_id = %id,
            method = %request.method(),
            route = %request.match_pattern().unwrap_or_else(|| "unmatched".into()),
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        if let Ok(res) = outcome {
            span.record("status", res.status().as_u16());
        }
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// The SCIM endpoint names, canonical (RFC 7644 §3.2, §3.3.1, §4); a request names them in
/// any case.
const SCIM_ENDPOINTS: &[&str] =
    &["Users", "Groups", "Me", "Bulk", "ServiceProviderConfig", "ResourceTypes", "Schemas", ".search"];

/// The canonical form of a request path: under `/scim/v2`, endpoint names in their
/// canonical case (`/scim/v2/users` is `/scim/v2/Users`; ids keep theirs); anywhere, one
/// trailing slash dropped (`/scim/v2/Users/`). `None` when the path is canonical already.
fn canonical_path(path: &str) -> Option<String> {
    let trimmed = match path.strip_suffix('/') {
        Some(rest) if !rest.is_empty() && !rest.ends_with('/') => rest,
        _ => path,
    };
    // The common case (every request passes here): no trailing slash, and not the SCIM
    // prefix in another case or an endpoint of it in another case — nothing to allocate.
    let scim = trimmed.get(..9).is_some_and(|p| p.eq_ignore_ascii_case("/scim/v2/"));
    if trimmed.len() == path.len() && (!scim || trimmed.starts_with("/scim/v2/")) {
        let mut rest = trimmed.get(9..).unwrap_or_default().split('/');
        let endpoint = rest.next().unwrap_or_default();
        let canonical = |given: &str, exact: &str| !given.eq_ignore_ascii_case(exact) || given == exact;
        let plain = !scim
            || (SCIM_ENDPOINTS.iter().all(|e| canonical(endpoint, e))
                && rest.next().is_none_or(|second| canonical(second, ".search")));
        if plain {
            return None;
        }
    }
    let mut segments: Vec<&str> = trimmed.split('/').collect();
    // ["", "scim", "v2", endpoint, id or ".search"]
    if segments.len() >= 4 && segments[1].eq_ignore_ascii_case("scim") && segments[2].eq_ignore_ascii_case("v2") {
        segments[1] = "scim";
        segments[2] = "v2";
        let endpoint = SCIM_ENDPOINTS.iter().find(|e| e.eq_ignore_ascii_case(segments[3])).copied();
        if let Some(endpoint) = endpoint {
            segments[3] = endpoint;
            if matches!(endpoint, "Users" | "Groups")
                && segments.len() == 5
                && segments[4].eq_ignore_ascii_case(".search")
            {
                segments[4] = ".search";
            }
        }
    }
    let canonical = segments.join("/");
    (canonical != path).then_some(canonical)
}

/// Outermost, before routing: a request for a path in another spelling is served as the
/// canonical one (`canonical_path`), and `HEAD` as `GET` wherever `GET` is served (the
/// server sends the head of the answer without its body: RFC 9110 §9.3.2).
pub async fn canonical_request(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if let Some(path) = canonical_path(req.path()) {
        let uri = req.uri();
        let with_query = match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let mut parts = uri.clone().into_parts();
        if let Ok(pq) = with_query.parse::<actix_web::http::uri::PathAndQuery>() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = actix_web::http::Uri::from_parts(parts) {
                req.match_info_mut().get_mut().update(&uri);
                req.head_mut().uri = uri;
            }
        }
    }
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// Innermost: one access-log line and the request metrics, per request.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let method = req.method().to_string();
    let res = next.call(req).await?;
    // The route pattern, not the path: ids would make unbounded label sets.
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".into());
    let status = res.status().as_u16();
    let rejection = res.response().extensions().get::<PolicyRejection>().map(|r| r.0);
    let elapsed = started.elapsed();
    if let Some(m) = metrics {
        m.observe(&route, &method, status, elapsed.as_secs_f64(), rejection);
    }
    count_activity(&res, &method, status, rejection);
    tracing::info!(status, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "{method} {route}");
    Ok(res)
}

/// Counts an authenticated request for the operator's view: a request (and an error, with
/// what its caller was told) per source, the token's last use, a policy rejection.
fn count_activity<B>(res: &ServiceResponse<B>, method: &str, status: u16, rejection: Option<&str>) {
    let req = res.request();
    let Some(caller) = req.extensions().get::<Caller>().cloned() else {
        return;
    };
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return;
    };
    let detail = res.response().extensions().get::<ErrorDetail>().cloned();
    let seen = activity::Seen {
        source: &caller.source,
        token_id: caller.token_id.as_deref(),
        method,
        path: req.path(),
        status,
        rejection,
        scim_type: detail.as_ref().and_then(|d| d.scim_type),
        detail: detail.as_ref().map(|d| d.detail.as_str()),
    };
    activity::seen(&state.db, seen);
}

/// Every error answer carries its surface's error body: a 4xx or 5xx that left a handler
/// (or actix itself: a method a resource does not take, a body it could not read) with
/// no body gets the SCIM Error (under `/scim/`) or the problem+json (elsewhere) that its
/// status means, keeping its headers (`Allow` of a 405).
pub async fn error_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let scim = req.path().starts_with("/scim/");
    let head = req.method() == Method::HEAD;
    let res = next.call(req).await?;
    let status = res.status();
    let empty = matches!(res.response().body().size(), BodySize::None | BodySize::Sized(0));
    if !(status.is_client_error() || status.is_server_error()) || !empty || head || status == StatusCode::NOT_MODIFIED {
        return Ok(res.map_into_left_body());
    }
    let detail = status.canonical_reason().unwrap_or("error").to_lowercase();
    let mut filled: HttpResponse = if scim {
        super::scim::error::ScimError::new(status, None, detail).error_response()
    } else {
        super::native::problem::ApiError::for_status(status, detail).error_response()
    };
    let (req, old) = res.into_parts();
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            filled.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, filled).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::canonical_path;

    #[test]
    fn scim_endpoints_match_in_any_case_and_one_trailing_slash_is_dropped() {
        let cases = [
            ("/scim/v2/users", Some("/scim/v2/Users")),
            ("/scim/v2/Users/", Some("/scim/v2/Users")),
            ("/SCIM/V2/GROUPS/AbC-1", Some("/scim/v2/Groups/AbC-1")),
            ("/scim/v2/users/.SEARCH", Some("/scim/v2/Users/.search")),
            ("/scim/v2/serviceproviderconfig/", Some("/scim/v2/ServiceProviderConfig")),
            ("/scim/v2/schemas/urn:x:User", Some("/scim/v2/Schemas/urn:x:User")),
            ("/setup/", Some("/setup")),
            ("/scim/v2/Users", None),
            ("/scim/v2/Users/abc", None),
            ("/", None),
            ("/scim/v2/Users//", None),
            ("/scim/v2/Nope", None),
        ];
        for (path, expected) in cases {
            assert_eq!(canonical_path(path).as_deref(), expected, "{path}");
        }
    }
}
