//! The Setup console under `/setup`: server-rendered HTML (maud) over the same service
//! functions as the native API, for admins and delegated admins. No business rule lives
//! here: each page asks the service its API counterpart asks, and shows policy refusals in
//! plain words through the one mapping in [`errors`].
//!
//! Sessions are server-side (`service::sessions`): an HttpOnly, SameSite=Strict cookie
//! (Secure over TLS) carries a random secret; every POST carries the session's synchronizer
//! token, checked by the [`Posted`] extractor before any handler runs.

mod admin;
mod charts;
mod errors;
mod idps;
mod overview;
mod users;
mod views;
mod webhooks;

use std::future::Future;
use std::pin::Pin;

use actix_web::http::{StatusCode, header};
use actix_web::middleware::DefaultHeaders;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, dev::Payload, web};
use chrono::Duration;
use maud::Markup;
use subtle::ConstantTimeEq;

pub use errors::{Notice, explain};

use super::AppState;
use crate::domain::{ValidationError, Via};
use crate::error::ServiceError;
use crate::policy::access::{self, AdminCap, UsersCap};
use crate::service::sessions::{self, ConsoleSession};

/// The session cookie. Path-scoped to the console: the API never sees it.
pub const SESSION_COOKIE: &str = "scimgate_console";
/// The sign-in form's own CSRF cookie (double submit: there is no session yet).
pub const SIGN_IN_COOKIE: &str = "scimgate_console_signin";
/// How long a console session lasts (absolute, from sign-in).
pub const SESSION_TTL_HOURS: i64 = 8;

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    let get = web::get;
    let post = web::post;
    cfg.service(
        web::scope("/setup")
            .wrap(
                DefaultHeaders::new()
                    .add((header::CONTENT_SECURITY_POLICY, CSP))
                    .add((header::X_FRAME_OPTIONS, "DENY"))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((header::REFERRER_POLICY, "same-origin"))
                    .add((header::CACHE_CONTROL, "no-store")),
            )
            .route("", get().to(index))
            .route("/", get().to(index))
            .route("/console.css", get().to(stylesheet))
            .route("/overview", get().to(overview::overview))
            .route("/identity-providers", get().to(idps::list))
            .route("/identity-providers/{id}/rotate", post().to(idps::rotate))
            .route("/identity-providers/{id}/revoke", post().to(idps::revoke))
            .route("/webhooks", get().to(webhooks::list))
            .route("/webhooks", post().to(webhooks::create))
            .route("/webhooks/{id}", get().to(webhooks::show))
            .route("/webhooks/{id}/pause", post().to(webhooks::pause))
            .route("/webhooks/{id}/resume", post().to(webhooks::resume))
            .route("/webhooks/{id}/test", post().to(webhooks::test))
            .route("/webhooks/{id}/retry-dead", post().to(webhooks::retry_dead))
            .route("/webhooks/{id}/delete", post().to(webhooks::delete))
            .route("/webhooks/{id}/deliveries/{delivery}", get().to(webhooks::delivery))
            .route("/webhooks/{id}/deliveries/{delivery}/retry", post().to(webhooks::retry))
            .route("/sign-in", get().to(users::sign_in_page))
            .route("/sign-in", post().to(users::sign_in))
            .route("/sign-out", post().to(users::sign_out))
            .route("/users", get().to(users::list))
            .route("/users/{id}", get().to(users::show))
            .route("/users/{id}/contact", post().to(users::assign_contact))
            .route("/users/{id}/upgrade", post().to(users::upgrade))
            .route("/users/{id}/downgrade", get().to(users::downgrade_confirm))
            .route("/users/{id}/downgrade", post().to(users::downgrade))
            .route("/users/{id}/login-as", post().to(users::login_as))
            .route("/users/{id}/active", post().to(users::set_active))
            .route("/licenses", get().to(admin::licenses))
            .route("/licenses/{license}", post().to(admin::set_capacity))
            .route("/bulk-downgrade", get().to(admin::bulk_form))
            .route("/bulk-downgrade/preview", post().to(admin::bulk_preview))
            .route("/bulk-downgrade", post().to(admin::bulk_apply))
            .route("/sites", get().to(admin::sites))
            .route("/sites/{id}", get().to(admin::site))
            .route("/sites/{id}/self-registration", post().to(admin::set_self_registration))
            .route("/tokens", get().to(admin::tokens))
            .route("/tokens", post().to(admin::create_token))
            .route("/tokens/{id}/revoke", post().to(admin::revoke_token))
            .route("/audit", get().to(admin::audit))
            .default_service(web::to(not_found)),
    );
}

async fn index(req: HttpRequest) -> HttpResponse {
    let signed_in = cookie(&req, SESSION_COOKIE).is_some();
    see_other(if signed_in { "/setup/overview" } else { "/setup/sign-in" })
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("console.css"))
}

async fn not_found(ctx: Option<Ctx>, req: HttpRequest) -> HttpResponse {
    let e = ServiceError::NotFound("page");
    match ctx {
        Some(ctx) => ctx.fail(e),
        None => {
            let notice = explain(e);
            html(notice.status, views::bare(&notice.title, &notice, req.path()))
        }
    }
}

/// A signed-in request: the session and the application state. Only admins and delegated
/// admins sign in (`Surface::Console`), and both may use every user page (the native user
/// endpoints' row of the role table); admin pages need [`Ctx::admin`].
pub struct Ctx {
    pub state: web::Data<AppState>,
    pub session: ConsoleSession,
}

impl Ctx {
    /// The admin capability of this session (403 for a delegated admin): admin pages need
    /// it to call the admin-only services.
    pub fn admin(&self) -> Result<AdminCap, ServiceError> {
        access::admin(self.session.actor.clone()).map_err(ServiceError::Policy)
    }

    /// The user-management capability of this session (admins and delegated admins): the
    /// user pages need it to call the user services.
    pub fn users(&self) -> Result<UsersCap, ServiceError> {
        access::users(self.session.actor.clone()).map_err(ServiceError::Policy)
    }

    pub fn is_admin(&self) -> bool {
        self.admin().is_ok()
    }

    /// A full page for this session.
    pub fn page(
        &self,
        status: StatusCode,
        title: &str,
        nav: views::Nav,
        notice: Option<&Notice>,
        body: Markup,
    ) -> HttpResponse {
        html(status, views::layout(Some(&self.session), title, nav, notice, body))
    }

    /// The page of a failure, in plain words, with its status.
    pub fn fail(&self, e: ServiceError) -> HttpResponse {
        let notice = explain(e);
        let body = maud::html! { p { a href="/setup/users" { "Back to the users" } } };
        self.page(notice.status, &notice.title.clone(), views::Nav::None, Some(&notice), body)
    }

    /// Renders `page`, or its failure.
    pub fn render(&self, page: Result<HttpResponse, ServiceError>) -> HttpResponse {
        page.unwrap_or_else(|e| self.fail(e))
    }
}

/// Why a console request was not served.
#[derive(Debug)]
pub enum ConsoleError {
    /// No live session: go and sign in.
    SignInRequired,
    /// A POST without this session's CSRF token: refused, nothing done.
    Forged,
    /// The body is not a form this console sent.
    BadForm,
    Internal(ServiceError),
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsoleError::SignInRequired => f.write_str("sign-in required"),
            ConsoleError::Forged => f.write_str("the form's CSRF token is missing or wrong"),
            ConsoleError::BadForm => f.write_str("unreadable form"),
            ConsoleError::Internal(e) => write!(f, "{e}"),
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignInRequired => StatusCode::SEE_OTHER,
            ConsoleError::Forged => StatusCode::FORBIDDEN,
            ConsoleError::BadForm => StatusCode::BAD_REQUEST,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let notice = match self {
            ConsoleError::SignInRequired => return see_other("/setup/sign-in"),
            ConsoleError::Forged => Notice::error(
                StatusCode::FORBIDDEN,
                "Form refused",
                "This form did not carry the security token of your console session, so nothing was \
                 changed. Open the page again from the console and resubmit it.",
            ),
            ConsoleError::BadForm => Notice::error(
                StatusCode::BAD_REQUEST,
                "Form refused",
                "The request was not a form sent by this console; nothing was changed.",
            ),
            ConsoleError::Internal(e) => explain(clone_internal(e)),
        };
        html(notice.status, views::bare(&notice.title, &notice, "/setup"))
    }
}

/// `ResponseError` gets a reference; internal errors are re-described, never exposed.
fn clone_internal(e: &ServiceError) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("{e}"))
}

fn resume_error(e: ServiceError) -> ConsoleError {
    match e {
        ServiceError::Unauthenticated => ConsoleError::SignInRequired,
        other => ConsoleError::Internal(other),
    }
}

impl FromRequest for Ctx {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let secret = cookie(req, SESSION_COOKIE);
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                ConsoleError::Internal(ServiceError::Internal(anyhow::anyhow!("application state is missing")))
            })?;
            let secret = secret.ok_or(ConsoleError::SignInRequired)?;
            let mut session = sessions::resume(&state.db, &state.bootstrap, &secret).await.map_err(resume_error)?;
            session.actor = session.actor.via(Via::Console);
            super::Caller::note(&req, &session.actor);
            Ok(Ctx { state, session })
        })
    }
}

/// The fields of a submitted `application/x-www-form-urlencoded` form, in order.
#[derive(Debug, Default, Clone)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Result<Fields, ConsoleError> {
        serde_urlencoded::from_bytes(body).map(Fields).map_err(|_| ConsoleError::BadForm)
    }

    pub fn query(req: &HttpRequest) -> Fields {
        Fields(serde_urlencoded::from_str(req.query_string()).unwrap_or_default())
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// Every non-blank value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty()).collect()
    }

    /// A required field, or a validation error naming its label.
    pub fn required(&self, name: &str, label: &str) -> Result<&str, ServiceError> {
        self.get(name).ok_or_else(|| ValidationError::new(label, "is required").into())
    }
}

/// A signed-in POST whose CSRF token matched: the only way a console form reaches a handler.
pub struct Posted {
    pub ctx: Ctx,
    pub fields: Fields,
}

impl FromRequest for Posted {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        let ctx = Ctx::from_request(req, &mut Payload::None);
        let req = req.clone();
        // The session is checked before a byte of the body is read; the body then has
        // `server.body_timeout_ms` to arrive.
        Box::pin(async move {
            let ctx = ctx.await?;
            let body = crate::api::extract::within_body_deadline(&req, body)
                .await
                .map_err(|_| ConsoleError::BadForm)?
                .map_err(|_| ConsoleError::BadForm)?;
            let fields = Fields::parse(&body)?;
            if !csrf_matches(&ctx.session.csrf_token, fields.get("csrf")) {
                return Err(ConsoleError::Forged);
            }
            Ok(Posted { ctx, fields })
        })
    }
}

/// Constant-time comparison of the expected and the presented synchronizer token.
pub fn csrf_matches(expected: &str, presented: Option<&str>) -> bool {
    let presented = presented.unwrap_or("");
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// The value of cookie `name` in the request's `Cookie` headers (RFC 6265 §5.4).
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether the request reached the gateway (or its TLS-terminating proxy) over TLS.
pub fn over_tls(req: &HttpRequest) -> bool {
    req.app_data::<web::Data<AppState>>().is_some_and(|s| s.network.over_tls(req))
}

/// A console cookie: HttpOnly, SameSite=Strict, scoped to `/setup`, Secure over TLS.
/// `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/setup; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

pub fn session_ttl() -> Duration {
    Duration::hours(SESSION_TTL_HOURS)
}

pub fn html(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(markup.into_string())
}

/// 303 See Other: after a POST, the browser GETs `location` (post/redirect/get).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

/// A path segment that must be an id; anything else is a page that does not exist.
pub fn path_id(raw: &str, what: &'static str) -> Result<String, ServiceError> {
    uuid::Uuid::parse_str(raw).map(|u| u.to_string()).map_err(|_| ServiceError::NotFound(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::COOKIE, "a=1; scimgate_console=sgc_x; b=2"))
            .to_http_request();
        assert_eq!(cookie(&req, SESSION_COOKIE).as_deref(), Some("sgc_x"));
        assert_eq!(cookie(&req, "c"), None);
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        assert!(csrf_matches("abc", Some("abc")));
        assert!(!csrf_matches("abc", Some("abd")));
        assert!(!csrf_matches("abc", Some("ab")));
        assert!(!csrf_matches("abc", None));
        assert!(!csrf_matches("", Some("")));
    }

    #[test]
    fn session_cookies_are_http_only_strict_and_secure_over_tls() {
        let c = set_cookie(SESSION_COOKIE, "v", 60, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(!set_cookie(SESSION_COOKIE, "v", 60, false).contains("Secure"));
    }
}
