//! Extractors whose work waits for the handler: a body is read (and a query parsed) only
//! after the caller's extractor let the request in, and reading a body has a deadline
//! (`server.body_timeout_ms`). actix polls a handler's extractors together, so a plain
//! `web::Json` would read, and judge, the body of a caller who may not use the endpoint
//! at all: a non-admin would learn about field names (400) before being told 403, and an
//! unauthenticated client could hold a connection open by sending its body slowly.

use std::future::{Future, Ready, ready};
use std::marker::PhantomData;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use super::AppState;

/// `E`, extracted when the handler asks for it ([`Deferred::get`]), not before.
pub struct Deferred<E> {
    req: HttpRequest,
    payload: Payload,
    kind: PhantomData<E>,
}

/// Why a deferred extraction failed.
#[derive(Debug)]
pub enum Refused {
    /// The body did not arrive within `server.body_timeout_ms`.
    Timeout { limit: Duration },
    /// The extractor's own error (already the surface's error, via its config's handler).
    Extract(actix_web::Error),
}

impl<E: FromRequest> FromRequest for Deferred<E> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(Ok(Deferred { req: req.clone(), payload: payload.take(), kind: PhantomData }))
    }
}

impl<E: FromRequest> Deferred<E> {
    pub async fn get(mut self) -> Result<E, Refused> {
        let fut = E::from_request(&self.req, &mut self.payload);
        within_body_deadline(&self.req, fut).await?.map_err(|e| Refused::Extract(e.into()))
    }
}

/// The deadline for reading a request's body.
pub fn body_timeout(req: &HttpRequest) -> Duration {
    let ms = req.app_data::<web::Data<AppState>>().map(|s| s.settings.server.body_timeout_ms).unwrap_or(10_000);
    Duration::from_millis(ms.max(1))
}

/// Runs `fut` (a body read) under the request's body deadline.
pub async fn within_body_deadline<T>(req: &HttpRequest, fut: impl Future<Output = T>) -> Result<T, Refused> {
    let limit = body_timeout(req);
    tokio::time::timeout(limit, fut).await.map_err(|_| Refused::Timeout { limit })
}
