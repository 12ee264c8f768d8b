//! Routes that are also documentation: [`Endpoint`] registers a path's handlers with actix
//! and their `#[utoipa::path]` operations with the OpenAPI document, from one declaration;
//! [`BearerAuth`] is the security scheme every protected operation names. A leaf module:
//! the surfaces import it, it imports no surface.

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Resource, Responder, web};
use utoipa::Modify;
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr, schema::Schema};
use utoipa_actix_web::OpenApiFactory;

/// One path of an API surface: the actix resource that serves it and the OpenAPI operations
/// of its methods, both taken from the handlers' `#[utoipa::path]` (path and method are
/// written once, there). Methods without a route get 405 with `Allow` (the `error_bodies`
/// middleware gives it the surface's error body).
pub struct Endpoint {
    path: String,
    resource: Resource,
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
}

fn actix_method(m: &HttpMethod) -> Method {
    match m {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Trace => Method::TRACE,
    }
}

impl Endpoint {
    /// An endpoint at the path `doc` declares.
    pub fn new<D, F, Args>(doc: D, handler: F) -> Endpoint
    where
        D: utoipa::Path + OpenApiFactory,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let path = D::path();
        Endpoint { resource: web::resource(&path), path, paths: Paths::new(), schemas: vec![] }.op(doc, handler)
    }

    /// Another operation on the same path (a different path is a programming error, caught
    /// at start-up and by the OpenAPI test).
    pub fn op<D, F, Args>(mut self, doc: D, handler: F) -> Endpoint
    where
        D: utoipa::Path + OpenApiFactory,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        assert_eq!(D::path(), self.path, "an Endpoint serves one path");
        for m in D::methods() {
            self.resource = self.resource.route(web::method(actix_method(&m)).to(handler.clone()));
        }
        self.paths.merge(doc.paths());
        doc.schemas(&mut self.schemas);
        self
    }
}

impl HttpServiceFactory for Endpoint {
    fn register(self, config: &mut AppService) {
        self.resource.register(config);
    }
}

impl OpenApiFactory for Endpoint {
    fn paths(&self) -> Paths {
        self.paths.clone()
    }

    fn schemas(&self, schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.extend(self.schemas.iter().cloned());
    }
}

/// The `bearer` security scheme every protected operation names.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `scimgate token create` or `POST /api/v1/tokens` (`sgt_…`), or the \
                         bootstrap secret (`SCIMGATE__AUTH__BOOTSTRAP_TOKEN`). Missing, unknown or revoked: \
                         401; a role outside its row of the role table: 403.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The shared error responses of a surface, declared once: `$set` registers each as a
/// component response (a `Modify` of the surface's document), and each answers at its
/// status when an operation names it by type alone, as in
/// `responses((status = 200, …), Unauthorized, NotFound)` (a reference to the component,
/// what the longer `(status = 404, response = NotFound)` writes).
macro_rules! answers_at {
    ($(#[$doc:meta])* $set:ident: $($response:ident = $status:literal),* $(,)?) => {
        $(#[$doc])*
        pub struct $set;

        impl utoipa::Modify for $set {
            fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
                let components = openapi.components.get_or_insert_with(Default::default);
                $(
                    let (name, response) = <$response as utoipa::ToResponse>::response();
                    components.responses.insert(name.to_owned(), response);
                )*
            }
        }

        $(
            impl utoipa::IntoResponses for $response {
                fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::response::Response>> {
                    let name = <$response as utoipa::ToResponse>::response().0;
                    std::collections::BTreeMap::from([($status.to_string(), utoipa::openapi::Ref::from_response_name(name).into())])
                }
            }
        )*
    };
}
pub(crate) use answers_at;
