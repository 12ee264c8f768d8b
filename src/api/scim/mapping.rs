//! Translation between SCIM JSON and the directory: lenient on the way in (keys compare
//! case-insensitively, booleans may come as strings, as real IdPs send them), exact on the
//! way out. Domain types never see SCIM JSON.

use std::collections::HashMap;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value, json};

use super::error::ScimError;
use crate::domain::{Group, License, MemberKind, UserEmail, fold};
use crate::scim::attrs::{AttrInfo, AttrType, SchemaInfo};
use crate::scim::canonical::canonicalize;
use crate::scim::json::{get_ci, lenient_bool};
use crate::scim::schema::{ENTERPRISE_USER_URN, GROUP_URN, GroupSchema, IDENTITY_USER_URN, USER_URN, UserSchema};
use crate::service::groups::GroupDraft;
use crate::service::scim::{ScimProfile, UserWithGroups, user_name};

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad("invalidValue", detail)
}

/// A string attribute: absent or null → None; other types are refused.
fn opt_str(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, ScimError> {
    match get_ci(obj, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() > 2048 => Err(invalid(format!("{key} is too long"))),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("{key} must be a string"))),
    }
}

fn opt_bool(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, ScimError> {
    match get_ci(obj, key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => lenient_bool(v).map(Some).ok_or_else(|| invalid(format!("{key} must be a boolean"))),
    }
}

fn emails(obj: &Map<String, Value>) -> Result<Vec<UserEmail>, ScimError> {
    let list = match get_ci(obj, "emails") {
        None | Some(Value::Null) => return Ok(vec![]),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(invalid("emails must be an array")),
    };
    let mut out: Vec<UserEmail> = Vec::with_capacity(list.len());
    for e in list {
        let Value::Object(e) = e else {
            return Err(invalid("each email must be an object"));
        };
        let Some(value) = opt_str(e, "value")? else {
            return Err(invalid("each email needs a value"));
        };
        if value.len() > 254 || value.chars().any(char::is_whitespace) {
            return Err(invalid(format!("{value:?} is not an email address")));
        }
        let primary = opt_bool(e, "primary")?;
        // RFC 7643 §2.4: at most one primary; the first one wins.
        let primary = match primary {
            Some(true) if out.iter().any(|o| o.primary == Some(true)) => Some(false),
            other => other,
        };
        out.push(UserEmail { value, kind: opt_str(e, "type")?, primary, display: opt_str(e, "display")? });
    }
    Ok(out)
}

/// The primary (else first) phone number's value, for the contact.
fn phone(obj: &Map<String, Value>) -> Option<String> {
    let Some(Value::Array(list)) = get_ci(obj, "phoneNumbers") else {
        return None;
    };
    let objs: Vec<&Map<String, Value>> = list.iter().filter_map(Value::as_object).collect();
    let pick = objs.iter().find(|p| get_ci(p, "primary").and_then(lenient_bool) == Some(true)).or(objs.first())?;
    get_ci(pick, "value").and_then(Value::as_str).map(str::to_owned)
}

/// Attributes the directory keeps in columns (or never stores): not part of the
/// stored SCIM attribute document.
const MODELLED: &[&str] =
    &["schemas", "id", "meta", "externalId", "userName", "displayName", "active", "emails", "password", "groups"];

/// One value of an attribute, checked against its RFC 7643 §2.3 type: a stored attribute
/// is returned as sent, so it must be what `/Schemas` (and the OpenAPI document) says it
/// is. Booleans may come as strings (as IdPs send them) and are stored as booleans; null
/// sub-attributes are unassigned (§2.5) and dropped; unknown sub-attributes are kept.
fn conform_one(urn: Option<&str>, name: &str, info: AttrInfo, v: &Value) -> Result<Value, ScimError> {
    let wrong = |what: &str| invalid(format!("{name} must be {what}"));
    match info.kind {
        AttrType::Complex => {
            // A bare value names the referent, as Entra ID sends the enterprise manager (the
            // PATCH engine reads it the same way).
            if v.is_string() && UserSchema.attribute(urn, name, Some("value")).is_some() {
                return conform_one(urn, name, info, &json!({ "value": v }));
            }
            let Value::Object(o) = v else {
                return Err(wrong("an object"));
            };
            let mut out = Map::new();
            for (k, sv) in o {
                // Null is unassigned (RFC 7643 §2.5); so is an empty string here (Entra ID
                // clears the manager with `""`).
                if sv.is_null() || sv.as_str() == Some("") {
                    continue;
                }
                let checked = match UserSchema.attribute(urn, name, Some(k)) {
                    Some(sub) => conform_one(urn, &format!("{name}.{k}"), AttrInfo { multi_valued: false, ..sub }, sv)?,
                    None => sv.clone(),
                };
                out.insert(k.clone(), checked);
            }
            Ok(Value::Object(out))
        }
        AttrType::Boolean => lenient_bool(v).map(Value::Bool).ok_or_else(|| wrong("a boolean")),
        AttrType::Decimal | AttrType::Integer if v.is_number() => Ok(v.clone()),
        AttrType::Decimal | AttrType::Integer => Err(wrong("a number")),
        AttrType::String | AttrType::DateTime | AttrType::Binary | AttrType::Reference if v.is_string() => {
            Ok(v.clone())
        }
        _ => Err(wrong("a string")),
    }
}

/// An attribute's value checked against its definition (see [`conform_one`]); a
/// multi-valued attribute is an array, its null elements dropped.
fn conform(urn: Option<&str>, name: &str, v: &Value) -> Result<Option<Value>, ScimError> {
    let Some(info) = UserSchema.attribute(urn, name, None) else {
        return Ok(None);
    };
    if !info.multi_valued {
        return conform_one(urn, name, info, v).map(Some);
    }
    let Value::Array(items) = v else {
        return Err(invalid(format!("{name} must be an array")));
    };
    let items =
        items.iter().filter(|i| !i.is_null()).map(|i| conform_one(urn, name, info, i)).collect::<Result<_, _>>()?;
    Ok(Some(Value::Array(items)))
}

/// Whether a conformed value says anything: a complex value whose sub-attributes were all
/// unassigned (`"manager": ""`, `{"value": null}`) is itself unassigned.
fn assigned(v: &Value) -> bool {
    !matches!(v, Value::Null) && v.as_object().is_none_or(|o| !o.is_empty())
}

/// The SCIM attributes beyond the modelled ones, as sent (type-checked): known core
/// attributes and the enterprise extension; unknown attributes are ignored (RFC 7644 §3.3).
fn other_attributes(obj: &Map<String, Value>) -> Result<Option<String>, ScimError> {
    let schema = UserSchema;
    let mut keep = Map::new();
    for (k, v) in obj {
        if v.is_null() || MODELLED.iter().any(|m| m.eq_ignore_ascii_case(k)) {
            continue;
        }
        if k.eq_ignore_ascii_case("name") {
            if let Some(Value::Object(name)) = conform(None, "name", v)? {
                let rest: Map<String, Value> = name
                    .into_iter()
                    .filter(|(nk, _)| !nk.eq_ignore_ascii_case("givenName") && !nk.eq_ignore_ascii_case("familyName"))
                    .collect();
                if !rest.is_empty() {
                    keep.insert("name".into(), Value::Object(rest));
                }
            }
            continue;
        }
        if k.eq_ignore_ascii_case(ENTERPRISE_USER_URN) {
            let Value::Object(ext) = v else {
                continue;
            };
            let mut out = Map::new();
            for (ek, ev) in ext {
                if ev.is_null() {
                    continue;
                }
                let checked = conform(Some(ENTERPRISE_USER_URN), ek, ev)?.unwrap_or_else(|| ev.clone());
                if assigned(&checked) {
                    out.insert(ek.clone(), checked);
                }
            }
            if !out.is_empty() {
                keep.insert(ENTERPRISE_USER_URN.into(), Value::Object(out));
            }
            continue;
        }
        if schema.attribute(None, k, None).is_some()
            && let Some(checked) = conform(None, k, v)?
            && assigned(&checked)
        {
            keep.insert(k.clone(), checked);
        }
    }
    Ok((!keep.is_empty()).then(|| Value::Object(keep).to_string()))
}

/// A resource body as an object in its canonical form (`scim::canonical`).
fn canonical_body(body: Value, schema: &dyn SchemaInfo) -> Result<Map<String, Value>, ScimError> {
    let Value::Object(mut obj) = body else {
        return Err(ScimError::bad("invalidSyntax", "the body must be a JSON object"));
    };
    canonicalize(&mut obj, schema).map_err(|e| ScimError::bad("invalidSyntax", e))?;
    Ok(obj)
}

/// A resource body's `schemas` (RFC 7643 §3: REQUIRED, an array of URIs) must name the
/// resource's core schema: a body that does not say what it is gets `400 invalidSyntax`
/// rather than a guess. URNs compare case-insensitively (RFC 7643 §2.1).
fn require_core_schema(obj: &Map<String, Value>, core: &str) -> Result<(), ScimError> {
    let bad = || ScimError::bad("invalidSyntax", format!("schemas must be an array of URIs that contains {core}"));
    let Some(Value::Array(list)) = get_ci(obj, "schemas") else {
        return Err(bad());
    };
    if list.iter().any(|s| !s.is_string()) {
        return Err(bad());
    }
    if list.iter().filter_map(Value::as_str).any(|s| s.eq_ignore_ascii_case(core)) { Ok(()) } else { Err(bad()) }
}

/// A SCIM User body as the profile to write, and the plaintext password if one was sent
/// (the caller hashes it; it is never stored as sent).
pub fn profile_from_json(body: Value) -> Result<(ScimProfile, Option<String>), ScimError> {
    let obj = &canonical_body(body, &UserSchema)?;
    require_core_schema(obj, USER_URN)?;
    let Some(name_value) = opt_str(obj, "userName")? else {
        return Err(invalid("userName is required"));
    };
    let user_name = user_name(&name_value).map_err(|e| invalid(e.to_string()))?;
    let name = match get_ci(obj, "name") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(n)) => n.clone(),
        Some(_) => return Err(invalid("name must be an object")),
    };
    let ext = match get_ci(obj, IDENTITY_USER_URN) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(e)) => e.clone(),
        Some(_) => return Err(invalid(format!("{IDENTITY_USER_URN} must be an object"))),
    };
    let license =
        opt_str(&ext, "license")?.map(|l| l.parse::<License>().map_err(|e| invalid(e.to_string()))).transpose()?;
    let account_id = opt_str(&ext, "accountId")?
        .map(|a| {
            uuid::Uuid::parse_str(&a)
                .map(|u| u.to_string())
                .map_err(|_| invalid(format!("accountId {a:?} is not an account id")))
        })
        .transpose()?;
    let password = match get_ci(obj, "password") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if !p.is_empty() && p.len() <= 1024 => Some(p.clone()),
        Some(_) => return Err(invalid("password must be a non-empty string")),
    };
    let profile = ScimProfile {
        user_name,
        external_id: opt_str(obj, "externalId")?,
        first_name: opt_str(&name, "givenName")?,
        last_name: opt_str(&name, "familyName")?,
        display_name: opt_str(obj, "displayName")?,
        active: opt_bool(obj, "active")?.unwrap_or(true),
        emails: emails(obj)?,
        phone: phone(obj),
        scim_attributes: other_attributes(obj)?,
        password_hash: None,
        license,
        contactless: opt_bool(&ext, "contactless")?.unwrap_or(false),
        account_id,
    };
    Ok((profile, password))
}

pub fn version(v: i64) -> String {
    format!("W/\"{v}\"")
}

/// The SCIM representation of a user (every attribute; projection happens after).
pub fn render_user(u: &UserWithGroups, base: &str) -> Value {
    let user = &u.user;
    let mut out = Map::new();
    let attrs: Map<String, Value> = user
        .scim_attributes
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default();
    let mut schemas = vec![json!(USER_URN)];
    if attrs.contains_key(ENTERPRISE_USER_URN) {
        schemas.push(json!(ENTERPRISE_USER_URN));
    }
    schemas.push(json!(IDENTITY_USER_URN));
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), json!(user.id.as_str()));
    if let Some(x) = &user.external_id {
        out.insert("externalId".into(), json!(x));
    }
    out.insert("userName".into(), json!(user.user_name));
    let mut name = match attrs.get("name") {
        Some(Value::Object(n)) => n.clone(),
        _ => Map::new(),
    };
    if let Some(g) = &user.first_name {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &user.last_name {
        name.insert("familyName".into(), json!(f));
    }
    if !name.is_empty() {
        out.insert("name".into(), Value::Object(name));
    }
    if let Some(d) = &user.display_name {
        out.insert("displayName".into(), json!(d));
    }
    out.insert("active".into(), json!(user.active));
    if !user.emails.is_empty() {
        let emails: Vec<Value> = user
            .emails
            .iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("value".into(), json!(e.value));
                if let Some(t) = &e.kind {
                    m.insert("type".into(), json!(t));
                }
                if let Some(p) = e.primary {
                    m.insert("primary".into(), json!(p));
                }
                if let Some(d) = &e.display {
                    m.insert("display".into(), json!(d));
                }
                Value::Object(m)
            })
            .collect();
        out.insert("emails".into(), Value::Array(emails));
    }
    for (k, v) in attrs {
        if k != "name" {
            out.insert(k, v);
        }
    }
    if !u.groups.is_empty() {
        let groups: Vec<Value> = u
            .groups
            .iter()
            .map(|(id, display)| json!({ "value": id, "display": display, "type": "direct", "$ref": format!("{base}/Groups/{id}") }))
            .collect();
        out.insert("groups".into(), Value::Array(groups));
    }
    let mut ext = Map::new();
    ext.insert("license".into(), json!(user.license.as_str()));
    if let Some(a) = user.account_id() {
        ext.insert("accountId".into(), json!(a));
    }
    if let Some(c) = user.contact_id() {
        ext.insert("contactId".into(), json!(c));
    }
    ext.insert("contactless".into(), json!(user.is_contactless()));
    ext.insert("origin".into(), json!(user.origin.as_str()));
    out.insert(IDENTITY_USER_URN.into(), Value::Object(ext));
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": user.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "lastModified": user.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "location": format!("{base}/Users/{}", user.id),
            "version": version(user.version),
        }),
    );
    Value::Object(out)
}

/// The JSON of a user as an answer with no `attributes` or `excludedAttributes` shows it —
/// the same document as [`render_user`] through the default projection — written straight
/// from the domain type into bytes, without building a `Value` first (a list page is a
/// hundred users: that build was most of its cost). A user whose stored attributes the
/// projection would change (an empty or null value, a key the gateway renders itself) takes
/// the general path.
pub fn user_json(u: &UserWithGroups, base: &str) -> Vec<u8> {
    let attrs = stored_attributes(&u.user.scim_attributes);
    let mut out = Vec::with_capacity(1024);
    let written = if attrs.iter().all(|(k, v)| !RENDERED_KEYS.contains(&k.as_str()) && plain(v)) {
        serde_json::to_writer(&mut out, &UserDoc { u, base, attrs: &attrs })
    } else {
        let mut doc = render_user(u, base);
        crate::scim::projection::project(&mut doc, &UserSchema, &[], &[]);
        serde_json::to_writer(&mut out, &doc)
    };
    // Writing into a Vec fails only on a map key that is not a string: none is.
    if written.is_err() {
        out.clear();
        out.extend_from_slice(b"{}");
    }
    out
}

/// Keys [`render_user`] writes itself (a stored attribute of that name would be replaced).
const RENDERED_KEYS: &[&str] = &[
    "schemas",
    "id",
    "externalId",
    "userName",
    "displayName",
    "active",
    "emails",
    "groups",
    "meta",
    IDENTITY_USER_URN,
];

/// A stored value the default projection returns unchanged: no null, no empty object or
/// array at any depth (RFC 7643 §2.5: those are unassigned, and the projection drops them).
fn plain(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Object(m) => !m.is_empty() && m.values().all(plain),
        Value::Array(a) => !a.is_empty() && a.iter().all(plain),
        _ => true,
    }
}

fn stored_attributes(raw: &Option<String>) -> Map<String, Value> {
    match raw.as_deref().map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(m))) => m,
        _ => Map::new(),
    }
}

/// [`user_json`]'s document, field by field in the order of RFC 7643 §8.2's example.
struct UserDoc<'a> {
    u: &'a UserWithGroups,
    base: &'a str,
    attrs: &'a Map<String, Value>,
}

impl Serialize for UserDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let user = &self.u.user;
        let mut m = s.serialize_map(None)?;
        let schemas: &[&str] = if self.attrs.contains_key(ENTERPRISE_USER_URN) {
            &[USER_URN, ENTERPRISE_USER_URN, IDENTITY_USER_URN]
        } else {
            &[USER_URN, IDENTITY_USER_URN]
        };
        m.serialize_entry("schemas", schemas)?;
        m.serialize_entry("id", user.id.as_str())?;
        if let Some(x) = &user.external_id {
            m.serialize_entry("externalId", x)?;
        }
        m.serialize_entry("userName", &user.user_name)?;
        let stored_name = match self.attrs.get("name") {
            Some(Value::Object(n)) => Some(n),
            _ => None,
        };
        if user.first_name.is_some() || user.last_name.is_some() || stored_name.is_some() {
            let name =
                NameDoc { given: user.first_name.as_deref(), family: user.last_name.as_deref(), stored: stored_name };
            m.serialize_entry("name", &name)?;
        }
        if let Some(d) = &user.display_name {
            m.serialize_entry("displayName", d)?;
        }
        m.serialize_entry("active", &user.active)?;
        if !user.emails.is_empty() {
            m.serialize_entry("emails", &EmailsDoc(&user.emails))?;
        }
        for (k, v) in self.attrs.iter().filter(|(k, _)| k.as_str() != "name") {
            m.serialize_entry(k, v)?;
        }
        if !self.u.groups.is_empty() {
            m.serialize_entry("groups", &GroupsDoc { groups: &self.u.groups, base: self.base })?;
        }
        m.serialize_entry(IDENTITY_USER_URN, &IdentityDoc(user))?;
        m.serialize_entry("meta", &MetaDoc { user, base: self.base })?;
        m.end()
    }
}

/// `name`: the stored sub-attributes, with `givenName` and `familyName` from the directory.
struct NameDoc<'a> {
    given: Option<&'a str>,
    family: Option<&'a str>,
    stored: Option<&'a Map<String, Value>>,
}

impl Serialize for NameDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (k, v) in self.stored.into_iter().flatten() {
            let replaced = (k == "givenName" && self.given.is_some()) || (k == "familyName" && self.family.is_some());
            if !replaced {
                m.serialize_entry(k, v)?;
            }
        }
        if let Some(g) = self.given {
            m.serialize_entry("givenName", g)?;
        }
        if let Some(f) = self.family {
            m.serialize_entry("familyName", f)?;
        }
        m.end()
    }
}

struct EmailsDoc<'a>(&'a [UserEmail]);

impl Serialize for EmailsDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for e in self.0 {
            seq.serialize_element(&EmailDoc(e))?;
        }
        seq.end()
    }
}

struct EmailDoc<'a>(&'a UserEmail);

impl Serialize for EmailDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("value", &e.value)?;
        if let Some(t) = &e.kind {
            m.serialize_entry("type", t)?;
        }
        if let Some(p) = e.primary {
            m.serialize_entry("primary", &p)?;
        }
        if let Some(d) = &e.display {
            m.serialize_entry("display", d)?;
        }
        m.end()
    }
}

struct GroupsDoc<'a> {
    groups: &'a [(String, String)],
    base: &'a str,
}

impl Serialize for GroupsDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.groups.len()))?;
        for (id, display) in self.groups {
            seq.serialize_element(&GroupRefDoc { id, display, base: self.base })?;
        }
        seq.end()
    }
}

struct GroupRefDoc<'a> {
    id: &'a str,
    display: &'a str,
    base: &'a str,
}

impl Serialize for GroupRefDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("value", self.id)?;
        m.serialize_entry("display", self.display)?;
        m.serialize_entry("type", "direct")?;
        m.serialize_entry("$ref", &format_args!("{}/Groups/{}", self.base, self.id))?;
        m.end()
    }
}

struct IdentityDoc<'a>(&'a crate::domain::User);

impl Serialize for IdentityDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let user = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("license", user.license.as_str())?;
        if let Some(a) = user.account_id() {
            m.serialize_entry("accountId", a)?;
        }
        if let Some(c) = user.contact_id() {
            m.serialize_entry("contactId", c)?;
        }
        m.serialize_entry("contactless", &user.is_contactless())?;
        m.serialize_entry("origin", user.origin.as_str())?;
        m.end()
    }
}

struct MetaDoc<'a> {
    user: &'a crate::domain::User,
    base: &'a str,
}

impl Serialize for MetaDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let user = self.user;
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("resourceType", "User")?;
        m.serialize_entry("created", &user.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))?;
        m.serialize_entry("lastModified", &user.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))?;
        m.serialize_entry("location", &format_args!("{}/Users/{}", self.base, user.id))?;
        m.serialize_entry("version", &format_args!("W/\"{}\"", user.version))?;
        m.end()
    }
}

/// A SCIM Group body as the draft to write.
pub fn group_from_json(body: Value) -> Result<GroupDraft, ScimError> {
    let obj = &canonical_body(body, &GroupSchema)?;
    require_core_schema(obj, GROUP_URN)?;
    let Some(display_name) = opt_str(obj, "displayName")? else {
        return Err(invalid("displayName is required"));
    };
    let member_ids = match get_ci(obj, "members") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(list)) => list
            .iter()
            .map(|m| match m {
                Value::Object(m) => opt_str(m, "value")?.ok_or_else(|| invalid("each member needs a value")),
                _ => Err(invalid("each member must be an object")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(invalid("members must be an array")),
    };
    Ok(GroupDraft { display_name, external_id: opt_str(obj, "externalId")?, member_ids })
}

/// The SCIM representation of a group; `names` gives members' display names.
pub fn render_group(g: &Group, names: &HashMap<String, String>, base: &str, with_members: bool) -> Value {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([GROUP_URN]));
    out.insert("id".into(), json!(g.id.as_str()));
    if let Some(x) = &g.external_id {
        out.insert("externalId".into(), json!(x));
    }
    out.insert("displayName".into(), json!(g.display_name));
    if with_members && !g.members.is_empty() {
        let members: Vec<Value> = g
            .members
            .iter()
            .map(|m| {
                let path = if m.kind == MemberKind::Group { "Groups" } else { "Users" };
                let mut v =
                    json!({ "value": m.id, "type": m.kind.as_str(), "$ref": format!("{base}/{path}/{}", m.id) });
                if let Some(n) = names.get(&m.id) {
                    v["display"] = json!(n);
                }
                v
            })
            .collect();
        out.insert("members".into(), Value::Array(members));
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": g.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "lastModified": g.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "location": format!("{base}/Groups/{}", g.id),
            "version": version(g.version),
        }),
    );
    Value::Object(out)
}

/// Case-folds a string for in-memory comparisons the way the store does.
pub fn folded(s: &str) -> String {
    fold(s)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::{Backing, Origin, User};
    use crate::scim::projection::project;

    fn user(attrs: Option<Value>, groups: usize) -> UserWithGroups {
        let at = |s: i64| Utc.timestamp_opt(1_700_000_000 + s, 123_456_000).single().unwrap_or_default();
        UserWithGroups {
            user: User {
                id: crate::domain::UserId::new("0190f3a2-7c1e-7d51-a8a8-5d0f6c1b2e10"),
                user_name: "Ann.Lee@example.com".into(),
                external_id: Some("ext \"1\" \\ é".into()),
                emails: vec![
                    UserEmail {
                        value: "ann@example.com".into(),
                        kind: Some("work".into()),
                        primary: Some(true),
                        display: None,
                    },
                    UserEmail {
                        value: "a@example.org".into(),
                        kind: None,
                        primary: None,
                        display: Some("home\n".into()),
                    },
                ],
                first_name: Some("Ann".into()),
                last_name: None,
                display_name: Some("Ann Lee".into()),
                active: false,
                license: License::PartnerCommunity,
                backing: Backing::from_parts(Some("c1".into()), Some("a1".into())).unwrap_or(Backing::Contactless),
                origin: Origin::Scim,
                site_ids: vec![crate::domain::SiteId::new("s1")],
                created_at: at(0),
                updated_at: at(60),
                version: 7,
                scim_attributes: attrs.map(|a| a.to_string()),
                password_hash: Some("$argon2id$secret".into()),
            },
            groups: (0..groups).map(|i| (format!("g{i}"), format!("Group \"{i}\""))).collect(),
        }
    }

    #[test]
    fn written_user_json_is_the_default_projection_of_the_document() {
        let cases = [
            None,
            Some(json!({ "title": "Engineer", "name": { "middleName": "Q", "formatted": "Ann Q Lee" } })),
            Some(json!({
                ENTERPRISE_USER_URN: { "employeeNumber": "42", "manager": { "value": "m1" } },
                "phoneNumbers": [{ "value": "+1 555", "type": "work" }],
                "addresses": [{ "locality": "Zürich", "primary": true }],
            })),
            // What the projection would change takes the general path.
            Some(json!({ "title": "", "nickName": null, "ims": [], "name": {} })),
            Some(json!({ "userName": "shadow", "meta": { "resourceType": "X" }, "name": { "givenName": "Stored" } })),
        ];
        for attrs in cases {
            for groups in [0, 3] {
                let u = user(attrs.clone(), groups);
                let written: Value = serde_json::from_slice(&user_json(&u, "https://gw/scim/v2")).unwrap_or_default();
                assert_eq!(written, projected_at(&u, "https://gw/scim/v2"), "attributes {attrs:?}, {groups} groups");
            }
        }
        let contactless = UserWithGroups {
            user: User { backing: Backing::Contactless, first_name: None, ..user(None, 0).user },
            groups: vec![],
        };
        let written: Value = serde_json::from_slice(&user_json(&contactless, "b")).unwrap_or_default();
        assert_eq!(written, projected_at(&contactless, "b"));
        assert_eq!(written[IDENTITY_USER_URN]["contactless"], json!(true));
        assert!(written.get("name").is_none() && written.get("password").is_none());
    }

    fn projected_at(u: &UserWithGroups, base: &str) -> Value {
        let mut doc = render_user(u, base);
        project(&mut doc, &UserSchema, &[], &[]);
        doc
    }
}
