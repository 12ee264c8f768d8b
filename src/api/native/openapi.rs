//! The frame of `openapi/native.json`: title, description, tags, security and the shared
//! error responses. Paths and schemas come from the routing (see `api::openapi`).

use utoipa::OpenApi;

use super::problem::{ErrorResponses, Problem, ProblemCode};
use crate::api::route::BearerAuth;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "scimgate native API",
        description = "The native REST API of scimgate, an identity provisioning gateway for external users \
(customers and partners), under `/api/v1`; plus the operations endpoints and this documentation.

* JSON in camelCase; request bodies reject unknown fields.
* Every operation but `/healthz`, `/readyz`, `/openapi/*` and `/docs` needs `Authorization: Bearer TOKEN` \
(401 `unauthorized` otherwise); a role outside its row of the role table gets 403 `forbidden`.
* Errors are RFC 9457 `application/problem+json` with a stable `code` (see `ProblemCode`). A method \
a path does not take gets 405 `method_not_allowed`; an unknown path 404 `not_found`.
* Lists are paged: `limit` (1–200, default 50) and `cursor` (the previous page's `nextCursor`).
* A user is **contactless** (no contact, license `external_identity`) or **contact-backed**. \
The seed's flows: create a contactless user (`POST /users` without a contact, or self-registration), \
give it a contact (`PUT /users/{id}/contact`), upgrade it (`POST /users/{id}/upgrade`), downgrade it \
back (`POST /users/{id}/downgrade`, or in bulk with `POST /users/downgrade`).

The SCIM 2.0 API is described by `/openapi/scim.json`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&BearerAuth, &ErrorResponses),
    security(("bearer" = [])),
    components(schemas(Problem, ProblemCode)),
    tags(
        (name = "users", description = "Users: contactless or contact-backed; upgrade, downgrade, login-as"),
        (name = "sites", description = "Sites (portals), their members, self-registration"),
        (name = "licenses", description = "License pools"),
        (name = "accounts", description = "Accounts: the customer and partner companies"),
        (name = "contacts", description = "Contacts, under accounts"),
        (name = "tokens", description = "Bearer tokens and their roles"),
        (name = "audit", description = "The audit trail"),
        (name = "webhooks", description = "Downstream events: webhook subscriptions and their deliveries"),
        (name = "operations", description = "Health, readiness, metrics, the API documents and this page")
    )
)]
pub struct NativeDoc;
