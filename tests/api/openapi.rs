//! The OpenAPI documents are generated from the routing: the checked-in `openapi/*.json`
//! must equal what the code generates, the gateway serves them, and the docs page works
//! without leaving the gateway.

use std::path::PathBuf;

use serde_json::Value;

use crate::helpers::spawn_app;
use scimgate::api::openapi;

const REFRESH: &str = "UPDATE_OPENAPI=1 cargo test --test api openapi";

fn checked_in(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi").join(format!("{name}.json"))
}

fn documents() -> [(&'static str, String); 2] {
    [("native", openapi::to_json(&openapi::native())), ("scim", openapi::to_json(&openapi::scim()))]
}

#[test]
fn openapi_documents_are_up_to_date() {
    let update = std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1");
    let mut stale = vec![];
    for (name, generated) in documents() {
        let path = checked_in(name);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &generated).unwrap();
            continue;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        if on_disk != generated {
            stale.push(format!("openapi/{name}.json"));
        }
    }
    assert!(
        stale.is_empty(),
        "{} not what the code generates (a handler, DTO or schema changed): refresh with\n\n    {REFRESH}\n",
        stale.join(" and ") + if stale.len() == 1 { " is" } else { " are" }
    );
}

#[test]
fn openapi_documents_are_deterministic() {
    let [(_, native), (_, scim)] = documents();
    let [(_, native2), (_, scim2)] = documents();
    assert_eq!(native, native2);
    assert_eq!(scim, scim2);
}

/// Every `$ref` in a document resolves inside it.
fn dangling_refs(doc: &Value) -> Vec<String> {
    fn walk(v: &Value, root: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    let pointer = r.trim_start_matches('#');
                    if !r.starts_with('#') || root.pointer(pointer).is_none() {
                        out.push(r.clone());
                    }
                }
                o.values().for_each(|x| walk(x, root, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, root, out)),
            _ => {}
        }
    }
    let mut out = vec![];
    walk(doc, doc, &mut out);
    out
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

#[test]
fn openapi_documents_are_3_1_with_resolvable_refs_and_a_bearer_scheme() {
    for (name, text) in documents() {
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{name}: {}", doc["openapi"]);
        assert_eq!(dangling_refs(&doc), Vec::<String>::new(), "{name}");
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer", "{name}");
    }
}

/// CONTRACT.md, path by path and method by method.
#[test]
fn the_native_document_covers_every_native_path_and_error_code_of_the_contract() {
    let doc: Value = serde_json::from_str(&openapi::to_json(&openapi::native())).unwrap();
    let ops: Vec<(String, String)> = operations(&doc).into_iter().map(|(m, p, _)| (m, p)).collect();
    let contract = [
        ("POST", "/api/v1/tokens"),
        ("GET", "/api/v1/tokens"),
        ("DELETE", "/api/v1/tokens/{id}"),
        ("POST", "/api/v1/accounts"),
        ("GET", "/api/v1/accounts"),
        ("GET", "/api/v1/accounts/{id}"),
        ("POST", "/api/v1/contacts"),
        ("GET", "/api/v1/contacts/{id}"),
        ("GET", "/api/v1/licenses"),
        ("PUT", "/api/v1/licenses/{license}"),
        ("POST", "/api/v1/users"),
        ("GET", "/api/v1/users"),
        ("GET", "/api/v1/users/{id}"),
        ("PATCH", "/api/v1/users/{id}"),
        ("DELETE", "/api/v1/users/{id}"),
        ("PUT", "/api/v1/users/{id}/contact"),
        ("POST", "/api/v1/users/{id}/upgrade"),
        ("POST", "/api/v1/users/{id}/downgrade"),
        ("POST", "/api/v1/users/downgrade"),
        ("POST", "/api/v1/users/{id}/login-as"),
        ("POST", "/api/v1/sites"),
        ("GET", "/api/v1/sites"),
        ("GET", "/api/v1/sites/{id}"),
        ("PUT", "/api/v1/sites/{id}/members/{user_id}"),
        ("DELETE", "/api/v1/sites/{id}/members/{user_id}"),
        ("GET", "/api/v1/sites/{id}/members"),
        ("POST", "/api/v1/sites/{id}/register"),
        ("GET", "/api/v1/audit"),
        ("POST", "/api/v1/webhooks"),
        ("GET", "/api/v1/webhooks"),
        ("DELETE", "/api/v1/webhooks/{id}"),
        ("GET", "/api/v1/webhooks/{id}/deliveries"),
        ("POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry"),
        ("GET", "/metrics"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/openapi/native.json"),
        ("GET", "/openapi/scim.json"),
        ("GET", "/docs"),
    ];
    for (m, p) in contract {
        assert!(ops.contains(&(m.to_owned(), p.to_owned())), "{m} {p} is not in openapi/native.json");
    }
    let codes = doc["components"]["schemas"]["ProblemCode"]["enum"].as_array().expect("ProblemCode enum").clone();
    for code in [
        "unauthorized",
        "forbidden",
        "not_found",
        "validation_failed",
        "contact_required",
        "delegated_admin_forbidden",
        "out_of_scope",
        "license_unavailable",
        "username_taken",
        "contact_in_use",
        "version_mismatch",
        "self_registration_disabled",
        "invalid_license",
    ] {
        assert!(codes.contains(&Value::from(code)), "{code} is not in ProblemCode");
    }
    // Every protected operation documents 401 and 403; every error is problem+json.
    for (m, p, op) in operations(&doc) {
        let public = op.get("security").is_some_and(|s| s == &serde_json::json!([{}]));
        if !public && p != "/api/v1/session" {
            for status in ["401", "403"] {
                assert!(op["responses"].get(status).is_some(), "{m} {p} does not document {status}");
            }
        }
    }
    for (name, resp) in doc["components"]["responses"].as_object().unwrap() {
        assert!(resp["content"].get("application/problem+json").is_some(), "{name}");
    }
}

#[test]
fn the_scim_document_covers_every_scim_endpoint_and_the_extension() {
    let doc: Value = serde_json::from_str(&openapi::to_json(&openapi::scim())).unwrap();
    let ops: Vec<(String, String)> = operations(&doc).into_iter().map(|(m, p, _)| (m, p)).collect();
    let mut expected = vec![
        ("GET", "/scim/v2/ServiceProviderConfig"),
        ("GET", "/scim/v2/ResourceTypes"),
        ("GET", "/scim/v2/ResourceTypes/{id}"),
        ("GET", "/scim/v2/Schemas"),
        ("GET", "/scim/v2/Schemas/{id}"),
        ("POST", "/scim/v2/Bulk"),
        ("POST", "/scim/v2/.search"),
    ];
    for kind in ["/scim/v2/Users", "/scim/v2/Groups"] {
        expected.extend([("GET", kind), ("POST", kind)]);
    }
    let mut owned: Vec<(String, String)> = expected.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    for kind in ["Users", "Groups"] {
        owned.push(("POST".into(), format!("/scim/v2/{kind}/.search")));
        for m in ["GET", "PUT", "PATCH", "DELETE"] {
            owned.push((m.into(), format!("/scim/v2/{kind}/{{id}}")));
        }
    }
    for op in &owned {
        assert!(ops.contains(op), "{op:?} is not in openapi/scim.json");
    }
    let user = &doc["components"]["schemas"]["User"];
    let ext = &user["properties"]["urn:scimgate:schemas:extension:identity:2.0:User"]["properties"];
    for attr in ["license", "accountId", "contactId", "contactless", "origin"] {
        assert!(ext.get(attr).is_some(), "the identity extension lacks {attr}");
    }
    assert!(user["properties"].get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").is_some());
    assert_eq!(doc["components"]["schemas"]["Error"]["properties"]["status"]["type"], "string");
    // Request bodies take application/scim+json and application/json alike.
    for (m, p, op) in operations(&doc) {
        if let Some(body) = op.get("requestBody") {
            for ct in ["application/scim+json", "application/json"] {
                assert!(body["content"].get(ct).is_some(), "{m} {p} does not accept {ct}");
            }
        }
    }
}

#[tokio::test]
async fn the_gateway_serves_the_checked_in_documents_without_a_token() {
    let app = spawn_app().await;
    for (name, generated) in documents() {
        let res = app.client.get(format!("{}/openapi/{name}.json", app.address)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/json");
        assert_eq!(res.text().await.unwrap(), generated, "{name}");
    }
}

#[tokio::test]
async fn the_docs_page_loads_everything_from_the_gateway_itself() {
    let app = spawn_app().await;
    for page in ["/docs", "/docs/"] {
        let res = app.client.get(format!("{}{page}", app.address)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{page}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{csp}");
        let html = res.text().await.unwrap();
        assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"), "{html}");
        // Every asset the page names is a path on this gateway, and is served.
        let assets: Vec<&str> =
            html.split(['"', '\'']).filter(|s| s.starts_with("/docs/") && s.len() > "/docs/".len()).collect();
        assert!(assets.len() >= 4, "{assets:?}");
        for asset in assets {
            let res = app.client.get(format!("{}{asset}", app.address)).send().await.unwrap();
            assert_eq!(res.status(), 200, "{asset}");
            let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
            let expected = if asset.ends_with(".js") {
                "javascript"
            } else if asset.ends_with(".css") {
                "text/css"
            } else {
                "image/"
            };
            assert!(ct.contains(expected), "{asset}: {ct}");
            let body = res.bytes().await.unwrap();
            assert!(!body.is_empty(), "{asset}");
        }
    }
    // The Swagger UI configuration points at the two documents on this gateway, validator off.
    let init = app.client.get(format!("{}/docs/swagger-initializer.js", app.address)).send().await.unwrap();
    let init = init.text().await.unwrap();
    assert!(init.contains("\"/openapi/native.json\"") && init.contains("\"/openapi/scim.json\""), "{init}");
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    assert!(!init.contains("http://") && !init.contains("https://"), "{init}");
    let missing = app.client.get(format!("{}/docs/nope.js", app.address)).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn the_documented_operations_are_routed() {
    // Every documented operation reaches its handler: without a token it answers 401 (or,
    // for the public ones, not 404/405), never the unknown-path 404 or the 405.
    let app = spawn_app().await;
    for (name, text) in documents() {
        let doc: Value = serde_json::from_str(&text).unwrap();
        for (method, path, op) in operations(&doc) {
            let url = format!("{}{}", app.address, path.replace("{license}", "customer_community"))
                .replace("{id}", "0190f3a2-9b40-7c12-b6a1-3c9d2f5e8a01")
                .replace("{user_id}", "0190f3a2-9b40-7c12-b6a1-3c9d2f5e8a02")
                .replace("{delivery_id}", "0190f3a2-9b40-7c12-b6a1-3c9d2f5e8a03");
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let res = app.client.request(m, &url).send().await.unwrap();
            let public = op.get("security").is_some_and(|s| s == &serde_json::json!([{}]));
            if public {
                assert_eq!(res.status(), 200, "{name}: {method} {path}");
            } else {
                assert_eq!(res.status(), 401, "{name}: {method} {path}");
            }
        }
    }
}

// Server fixes found by scripts/api-fuzz.

#[tokio::test]
async fn scim_stores_attributes_only_in_the_type_the_schema_gives_them() {
    let app = spawn_app().await;
    let admin = app.admin.clone();
    // Null sub-attributes are unassigned (RFC 7643 §2.5): never stored, never returned.
    let created = app
        .scim(
            reqwest::Method::POST,
            "/Users",
            Some(&admin),
            Some(serde_json::json!({
                "userName": "nulls@example.com",
                "phoneNumbers": [{"value": "+1 555 0100", "primary": null, "type": "work"}, null],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": null, "manager": "boss-id"}
            })),
        )
        .await;
    let body = created.ok(201);
    assert_eq!(body["phoneNumbers"], serde_json::json!([{"value": "+1 555 0100", "type": "work"}]));
    let enterprise = &body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(enterprise, &serde_json::json!({"manager": {"value": "boss-id"}}));
    // A value of the wrong type is refused, not echoed back in a shape /Schemas never promised.
    for bad in [
        serde_json::json!({"userName": "t1@example.com", "phoneNumbers": [{"value": "x", "primary": 7}]}),
        serde_json::json!({"userName": "t2@example.com", "nickName": 12}),
        serde_json::json!({"userName": "t3@example.com", "addresses": {"locality": "Bilbao"}}),
        serde_json::json!({"userName": "t4@example.com", "name": {"middleName": ["x"]}}),
    ] {
        let res = app.scim(reqwest::Method::POST, "/Users", Some(&admin), Some(bad.clone())).await;
        res.scim_error(400, Some("invalidValue"));
    }
    // Booleans as strings, as IdPs send them, are stored as booleans.
    let lenient = app
        .scim(
            reqwest::Method::POST,
            "/Users",
            Some(&admin),
            Some(
                serde_json::json!({"userName": "t5@example.com", "phoneNumbers": [{"value": "1", "primary": "True"}]}),
            ),
        )
        .await;
    assert_eq!(lenient.ok(201)["phoneNumbers"][0]["primary"], true);
}
