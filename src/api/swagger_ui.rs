//! The API documents (`/openapi/native.json`, `/openapi/scim.json`) and the browsable docs
//! page (`/docs`): Swagger UI from the vendored assets compiled into the binary, so the page
//! works with no internet access (a Content-Security-Policy forbids any other origin).
//!
//! These are public, like `/healthz`: they are the published contract (the same bytes as
//! `openapi/*.json` in the repository, no directory data), and a browser cannot attach a
//! bearer token to a page it navigates to. Every operation they describe still needs a token.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError, web};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::{Config, Url};

use super::openapi;
use super::route::Endpoint;

/// The generated documents, serialized once at start-up, and the Swagger UI configuration.
pub struct ApiDocs {
    native: String,
    scim: String,
    ui: Arc<Config<'static>>,
}

impl ApiDocs {
    pub fn generate() -> ApiDocs {
        let ui = Config::new([
            Url::with_primary("native API (/api/v1)", "/openapi/native.json", true),
            Url::new("SCIM 2.0 (/scim/v2)", "/openapi/scim.json"),
        ])
        .validator_url("none")
        .persist_authorization(true)
        .display_request_duration(true)
        .filter(true)
        .try_it_out_enabled(false);
        ApiDocs {
            native: openapi::to_json(&openapi::native()),
            scim: openapi::to_json(&openapi::scim()),
            ui: Arc::new(ui),
        }
    }
}

/// Only this origin: no CDN can be reached even by accident (Swagger UI uses inline styles
/// and data: images).
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                   script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(Endpoint::new(__path_native_document, native_document))
        .service(Endpoint::new(__path_scim_document, scim_document))
        .service(Endpoint::new(__path_docs_page, docs_page))
        .map(|cfg| cfg.service(web::resource("/docs/{file:.*}").route(web::get().to(asset))));
}

fn json(body: &str) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(body.to_owned())
}

fn missing() -> HttpResponse {
    tracing::error!("the API documents are not in the application state");
    HttpResponse::InternalServerError().finish()
}

/// The native API's OpenAPI 3.1 document (this document)
#[utoipa::path(get, path = "/openapi/native.json", operation_id = "nativeDocument", tag = "operations",
    security(()),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of the native API", content_type = "application/json",
        body = serde_json::Value),
    )
)]
pub async fn native_document(docs: Option<web::Data<ApiDocs>>) -> HttpResponse {
    docs.map_or_else(missing, |d| json(&d.native))
}

/// The SCIM 2.0 API's OpenAPI 3.1 document
#[utoipa::path(get, path = "/openapi/scim.json", operation_id = "scimDocument", tag = "operations",
    security(()),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of the SCIM API", content_type = "application/json",
        body = serde_json::Value),
    )
)]
pub async fn scim_document(docs: Option<web::Data<ApiDocs>>) -> HttpResponse {
    docs.map_or_else(missing, |d| json(&d.scim))
}

/// The page `/docs` (and `/docs/`): Swagger UI over both documents, assets from `/docs/…`.
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>scimgate API documentation</title>
  <link rel="stylesheet" type="text/css" href="/docs/swagger-ui.css">
  <link rel="stylesheet" type="text/css" href="/docs/index.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js" charset="UTF-8"></script>
  <script src="/docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
  <script src="/docs/swagger-initializer.js" charset="UTF-8"></script>
</body>
</html>
"#;

fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .body(PAGE)
}

/// The browsable API documentation (Swagger UI over both documents; works offline)
#[utoipa::path(get, path = "/docs", operation_id = "docsPage", tag = "operations",
    security(()),
    responses((status = 200, description = "The docs page", content_type = "text/html", body = String))
)]
pub async fn docs_page() -> HttpResponse {
    page()
}

/// The page's assets, compiled into the binary; `/docs/` is the page itself.
async fn asset(file: web::Path<String>, docs: Option<web::Data<ApiDocs>>) -> HttpResponse {
    let file = file.into_inner();
    if file.is_empty() || file == "index.html" {
        return page();
    }
    let Some(docs) = docs else {
        return missing();
    };
    match utoipa_swagger_ui::serve(&file, docs.ui.clone()) {
        Ok(Some(f)) => {
            let mut res = HttpResponse::Ok();
            if f.gzpipped {
                res.insert_header((header::CONTENT_ENCODING, "gzip"));
            }
            res.content_type(f.content_type)
                .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
                .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
                .body(f.bytes.into_owned())
        }
        Ok(None) => super::native::ApiError::not_found(format!("nothing at /docs/{file}")).error_response(),
        Err(e) => {
            tracing::error!(error = %e, "swagger-ui asset");
            HttpResponse::InternalServerError().finish()
        }
    }
}
