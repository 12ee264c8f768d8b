//! The SCIM schemas this server serves (RFC 7643 §4, §7) as one static table behind attribute lookups, discovery documents and projection; depends only on `attrs` and serde_json.

use serde_json::{Map, Value, json};

use crate::scim::attrs::{AttrInfo, AttrType, Mutability, Returned, SchemaInfo};

/// RFC 7643 §4.1.
pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// RFC 7643 §4.2.
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// RFC 7643 §4.3.
pub const ENTERPRISE_USER_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Our extension (CONTRACT.md, "SCIM 2.0").
pub const IDENTITY_USER_URN: &str = "urn:scimgate:schemas:extension:identity:2.0:User";
/// RFC 7643 §7.
pub const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// RFC 7643 §6.
pub const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// RFC 7643 §5.
pub const SERVICE_PROVIDER_CONFIG_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

const USER_EXTENSIONS: &[&str] = &[ENTERPRISE_USER_URN, IDENTITY_USER_URN];

/// One attribute or sub-attribute definition with every RFC 7643 §7 characteristic, so
/// that the `/Schemas` documents and the lookups cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrDef {
    pub name: &'static str,
    pub kind: AttrType,
    pub multi_valued: bool,
    pub description: &'static str,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    /// `none`, `server` or `global` (RFC 7643 §7).
    pub uniqueness: &'static str,
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub: &'static [AttrDef],
}

impl AttrDef {
    /// The RFC 7643 §7 defaults: single-valued, optional, case-insensitive, readWrite,
    /// returned by default, not unique.
    const fn new(name: &'static str, kind: AttrType, description: &'static str) -> Self {
        Self {
            name,
            kind,
            multi_valued: false,
            description,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: "none",
            canonical_values: &[],
            reference_types: &[],
            sub: &[],
        }
    }

    const fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    const fn mutability(mut self, mutability: Mutability) -> Self {
        self.mutability = mutability;
        self
    }

    const fn read_only(self) -> Self {
        self.mutability(Mutability::ReadOnly)
    }

    const fn returned(mut self, returned: Returned) -> Self {
        self.returned = returned;
        self
    }

    const fn unique(mut self, uniqueness: &'static str) -> Self {
        self.uniqueness = uniqueness;
        self
    }

    const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical_values = values;
        self
    }

    /// What the filter, PATCH and projection engines need of this definition.
    pub const fn info(&self) -> AttrInfo {
        AttrInfo {
            name: self.name,
            kind: self.kind,
            multi_valued: self.multi_valued,
            case_exact: self.case_exact,
            mutability: self.mutability,
            returned: self.returned,
            required: self.required,
        }
    }

    /// The RFC 7643 §7 JSON form; optional keys appear only when they carry something.
    fn document(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("name".into(), json!(self.name));
        obj.insert("type".into(), json!(type_name(self.kind)));
        obj.insert("multiValued".into(), json!(self.multi_valued));
        obj.insert("description".into(), json!(self.description));
        obj.insert("required".into(), json!(self.required));
        obj.insert("caseExact".into(), json!(self.case_exact));
        obj.insert("mutability".into(), json!(mutability_name(self.mutability)));
        obj.insert("returned".into(), json!(returned_name(self.returned)));
        obj.insert("uniqueness".into(), json!(self.uniqueness));
        if !self.canonical_values.is_empty() {
            // RFC 7643 §7 shows canonical values as strings, also for booleans ("false").
            obj.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        if !self.reference_types.is_empty() {
            obj.insert("referenceTypes".into(), json!(self.reference_types));
        }
        if !self.sub.is_empty() {
            let subs: Vec<Value> = self.sub.iter().map(AttrDef::document).collect();
            obj.insert("subAttributes".into(), Value::Array(subs));
        }
        Value::Object(obj)
    }
}

const fn string(name: &'static str, description: &'static str) -> AttrDef {
    AttrDef::new(name, AttrType::String, description)
}

const fn boolean(name: &'static str, description: &'static str) -> AttrDef {
    AttrDef::new(name, AttrType::Boolean, description)
}

const fn date_time(name: &'static str, description: &'static str) -> AttrDef {
    AttrDef::new(name, AttrType::DateTime, description)
}

const fn binary(name: &'static str, description: &'static str) -> AttrDef {
    AttrDef::new(name, AttrType::Binary, description)
}

const fn reference(name: &'static str, types: &'static [&'static str], description: &'static str) -> AttrDef {
    let mut def = AttrDef::new(name, AttrType::Reference, description);
    def.reference_types = types;
    def
}

const fn complex(name: &'static str, sub: &'static [AttrDef], description: &'static str) -> AttrDef {
    let mut def = AttrDef::new(name, AttrType::Complex, description);
    def.sub = sub;
    def
}

/// RFC 7643 §2.3 spells the types in lower camel case on the wire.
const fn type_name(kind: AttrType) -> &'static str {
    match kind {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Binary => "binary",
        AttrType::Reference => "reference",
        AttrType::Complex => "complex",
    }
}

const fn mutability_name(mutability: Mutability) -> &'static str {
    match mutability {
        Mutability::ReadOnly => "readOnly",
        Mutability::ReadWrite => "readWrite",
        Mutability::Immutable => "immutable",
        Mutability::WriteOnly => "writeOnly",
    }
}

const fn returned_name(returned: Returned) -> &'static str {
    match returned {
        Returned::Always => "always",
        Returned::Never => "never",
        Returned::Default => "default",
        Returned::Request => "request",
    }
}

// ---------------------------------------------------------------------------------------
// Common attributes (RFC 7643 §3.1). They belong to every resource but to no schema
// document, so they are looked up but never listed under /Schemas.

const META_SUB: &[AttrDef] = &[
    string("resourceType", "Name of the resource type this resource is an instance of.").case_exact().read_only(),
    date_time("created", "When the service provider first stored this resource.").read_only(),
    date_time("lastModified", "When this resource last changed; equal to created until the first change.").read_only(),
    reference("location", &["uri"], "URI of this resource, as also sent in the Content-Location header.")
        .case_exact()
        .read_only(),
    string("version", "Version of this resource, equal to the ETag sent with it.").case_exact().read_only(),
];

/// `id`, `externalId` and `meta`, shared by Users and Groups.
pub static COMMON_ATTRS: &[AttrDef] = &[
    string("id", "Identifier assigned to the resource by the service provider; stable and never reassigned.")
        .case_exact()
        .read_only()
        .returned(Returned::Always)
        .unique("server"),
    string("externalId", "Identifier of the resource in the provisioning client's own system.").case_exact(),
    complex("meta", META_SUB, "Resource metadata maintained by the service provider.").read_only(),
];

// ---------------------------------------------------------------------------------------
// Core User (RFC 7643 §4.1, representation in §8.7.1).

const NAME_SUB: &[AttrDef] = &[
    string("formatted", "The full name as it should be displayed, with all parts joined."),
    string("familyName", "Family name, or last name in most Western languages."),
    string("givenName", "Given name, or first name in most Western languages."),
    string("middleName", "Middle name or names."),
    string("honorificPrefix", "Title placed before the name, such as 'Dr.' or 'Ms.'."),
    string("honorificSuffix", "Suffix placed after the name, such as 'III' or 'PhD'."),
];

const EMAILS_SUB: &[AttrDef] = &[
    string("value", "The email address, canonicalised per RFC 5321."),
    string("display", "A label for the address, for display only."),
    string("type", "What the address is used for.").canonical(&["work", "home", "other"]),
    boolean("primary", "Marks the preferred address; at most one value may be primary."),
];

const PHONE_NUMBERS_SUB: &[AttrDef] = &[
    string("value", "The phone number, preferably in RFC 3966 form."),
    string("display", "A label for the number, for display only."),
    string("type", "What the number is used for.").canonical(&["work", "home", "mobile", "fax", "pager", "other"]),
    boolean("primary", "Marks the preferred number; at most one value may be primary."),
];

const IMS_SUB: &[AttrDef] = &[
    string("value", "The instant messaging address."),
    string("display", "A label for the address, for display only."),
    string("type", "The messaging service.").canonical(&["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
    boolean("primary", "Marks the preferred address; at most one value may be primary."),
];

const PHOTOS_SUB: &[AttrDef] = &[
    reference("value", &["external"], "URL of an image of the user."),
    string("display", "A label for the image, for display only."),
    string("type", "What kind of image this is.").canonical(&["photo", "thumbnail"]),
    boolean("primary", "Marks the preferred image; at most one value may be primary."),
];

const ADDRESSES_SUB: &[AttrDef] = &[
    string("formatted", "The whole postal address formatted for display or mailing labels."),
    string("streetAddress", "Street, house number and any further delivery lines."),
    string("locality", "City or locality."),
    string("region", "State, province or region."),
    string("postalCode", "Postal or ZIP code."),
    string("country", "Country as an ISO 3166-1 alpha-2 code."),
    string("type", "What the address is used for.").canonical(&["work", "home", "other"]),
    boolean("primary", "Marks the preferred address; at most one value may be primary."),
];

const GROUPS_SUB: &[AttrDef] = &[
    string("value", "The id of a group the user belongs to.").read_only(),
    reference("$ref", &["User", "Group"], "URI of that group.").read_only(),
    string("display", "The group's displayName.").read_only(),
    string("type", "Whether the user is a member of the group itself or through a nested group.")
        .canonical(&["direct", "indirect"])
        .read_only(),
];

const ENTITLEMENTS_SUB: &[AttrDef] = &[
    string("value", "The entitlement."),
    string("display", "A label for the entitlement, for display only."),
    string("type", "A label saying what kind of entitlement this is."),
    boolean("primary", "Marks the primary entitlement; at most one value may be primary."),
];

const ROLES_SUB: &[AttrDef] = &[
    string("value", "The role."),
    string("display", "A label for the role, for display only."),
    string("type", "A label saying what kind of role this is."),
    boolean("primary", "Marks the primary role; at most one value may be primary."),
];

const X509_SUB: &[AttrDef] = &[
    binary("value", "A DER-encoded X.509 certificate, base64-encoded on the wire."),
    string("display", "A label for the certificate, for display only."),
    string("type", "A label saying what the certificate is used for."),
    boolean("primary", "Marks the preferred certificate; at most one value may be primary."),
];

/// The core User attributes (without the common ones).
pub static USER_ATTRS: &[AttrDef] = &[
    string("userName", "Unique identifier the user signs in with; unique across users regardless of case.")
        .required()
        .unique("server"),
    complex("name", NAME_SUB, "The components of the user's real name."),
    string("displayName", "The name of the user as it should be displayed to end users."),
    string("nickName", "The casual name the user goes by."),
    reference("profileUrl", &["external"], "URL of the user's online profile."),
    string("title", "The user's job title."),
    string("userType", "The relationship between the organisation and the user, e.g. 'Employee'."),
    string("preferredLanguage", "The user's preferred written or spoken language (RFC 7231 Accept-Language form)."),
    string("locale", "The user's default location for localising values such as currency and dates (BCP 47 tag)."),
    string("timezone", "The user's time zone in IANA tz database form, e.g. 'Europe/Berlin'."),
    // Always present on this server's users (omitted on create, it is true), hence required.
    boolean("active", "Whether the user may sign in; true when a create leaves it out.").required(),
    string("password", "A new clear-text password for the user; it can be set but is never returned.")
        .mutability(Mutability::WriteOnly)
        .returned(Returned::Never),
    complex("emails", EMAILS_SUB, "Email addresses of the user.").multi(),
    complex("phoneNumbers", PHONE_NUMBERS_SUB, "Phone numbers of the user.").multi(),
    complex("ims", IMS_SUB, "Instant messaging addresses of the user.").multi(),
    complex("photos", PHOTOS_SUB, "URLs of images of the user.").multi(),
    complex("addresses", ADDRESSES_SUB, "Physical mailing addresses of the user.").multi(),
    complex("groups", GROUPS_SUB, "Groups the user belongs to; maintained through the Group resources.")
        .multi()
        .read_only(),
    complex("entitlements", ENTITLEMENTS_SUB, "Entitlements held by the user.").multi(),
    complex("roles", ROLES_SUB, "Roles held by the user.").multi(),
    complex("x509Certificates", X509_SUB, "X.509 certificates issued to the user.").multi(),
];

// ---------------------------------------------------------------------------------------
// Enterprise User extension (RFC 7643 §4.3).

const MANAGER_SUB: &[AttrDef] = &[
    string("value", "The id of the user's manager."),
    reference("$ref", &["User"], "URI of the manager's User resource."),
    string("displayName", "The manager's displayName.").read_only(),
];

/// The Enterprise User extension attributes.
pub static ENTERPRISE_USER_ATTRS: &[AttrDef] = &[
    string("employeeNumber", "Identifier the organisation assigns to the user."),
    string("costCenter", "Name of the cost center."),
    string("organization", "Name of the organisation."),
    string("division", "Name of the division."),
    string("department", "Name of the department."),
    complex("manager", MANAGER_SUB, "The user's manager."),
];

// ---------------------------------------------------------------------------------------
// Our identity extension (CONTRACT.md, "SCIM 2.0" and invariants 1, 2).

/// The scimgate identity extension attributes.
pub static IDENTITY_USER_ATTRS: &[AttrDef] = &[
    string(
        "license",
        "The one license the user holds (never absent: a create that leaves it out gets the gateway's default). The community licenses require a contact.",
    )
    .case_exact()
    .required()
    .canonical(&[
        "external_identity",
        "customer_community",
        "customer_community_plus",
        "partner_community",
    ]),
    string(
        "accountId",
        "The account of the user's contact: every user SCIM creates has one (a create that names none gets the token's first account, else the default account). A different value later moves the user and its contact to that account (licenses unchanged; a token confined to accounts moves only between them). It cannot be removed: SCIM never makes a user contactless. Only contactless users made natively lack it.",
    )
    .case_exact()
    .required(),
    // The readOnly facts below are returned by default: whether a user is contactless is
    // the one fact this gateway exists for, and IdPs, admin tools and auditors reading a
    // user must see it. A client that sends them back with their current values is
    // accepted (readOnly input is ignored, RFC 7643 §7; `contactless` is checked).
    string("contactId", "The id of the contact backing this user.").case_exact().read_only(),
    // readOnly over SCIM: false → true would make a contactless user (rule 2) and true → false
    // needs a contact, which SCIM cannot assign. `true` sent on a create or on an update of a
    // contact-backed user is refused rather than ignored, so that a client learns why.
    boolean(
        "contactless",
        "Whether the user has no contact. SCIM users are always contact-backed: true on create or update is refused with 400 invalidValue; use the native API for contactless users.",
    )
    .read_only(),
    string("origin", "How the user came to exist.")
        .case_exact()
        .read_only()
        .canonical(&["native", "scim", "self_registration"]),
];

// ---------------------------------------------------------------------------------------
// Core Group (RFC 7643 §4.2).

const MEMBERS_SUB: &[AttrDef] = &[
    string("value", "The id of the member User or Group.").mutability(Mutability::Immutable),
    reference("$ref", &["User", "Group"], "URI of the member resource.").mutability(Mutability::Immutable),
    // Set by the service provider from the member (a user's displayName, else userName; a
    // group's displayName) and returned by default, as User `groups.display` is.
    string("display", "The member's display name, set by the service provider.").read_only(),
    string("type", "Whether the member is a User or a Group.")
        .canonical(&["User", "Group"])
        .mutability(Mutability::Immutable),
];

/// The core Group attributes (without the common ones).
pub static GROUP_ATTRS: &[AttrDef] = &[
    string("displayName", "The name of the group, for display to end users.").required(),
    complex("members", MEMBERS_SUB, "The members of the group.").multi(),
];

// ---------------------------------------------------------------------------------------
// Schema documents.

struct SchemaDef {
    id: &'static str,
    name: &'static str,
    description: &'static str,
    attributes: &'static [AttrDef],
}

const USER_SCHEMA: SchemaDef =
    SchemaDef { id: USER_URN, name: "User", description: "User Account", attributes: USER_ATTRS };

const ENTERPRISE_USER_SCHEMA: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_URN,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: ENTERPRISE_USER_ATTRS,
};

const IDENTITY_USER_SCHEMA: SchemaDef = SchemaDef {
    id: IDENTITY_USER_URN,
    name: "IdentityUser",
    description: "scimgate identity: license, contact and account of a user",
    attributes: IDENTITY_USER_ATTRS,
};

const GROUP_SCHEMA: SchemaDef =
    SchemaDef { id: GROUP_URN, name: "Group", description: "Group", attributes: GROUP_ATTRS };

const ALL_SCHEMAS: &[&SchemaDef] = &[&USER_SCHEMA, &ENTERPRISE_USER_SCHEMA, &IDENTITY_USER_SCHEMA, &GROUP_SCHEMA];

/// Clients and operators configure the base URL with or without a trailing slash.
fn base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

fn schema_json(def: &SchemaDef, base_url: &str) -> Value {
    let attributes: Vec<Value> = def.attributes.iter().map(AttrDef::document).collect();
    json!({
        "schemas": [SCHEMA_URN],
        "id": def.id,
        "name": def.name,
        "description": def.description,
        "attributes": attributes,
        "meta": {
            "resourceType": "Schema",
            "location": format!("{}/Schemas/{}", base(base_url), def.id),
        },
    })
}

/// Every Schema resource served under `/Schemas` (RFC 7643 §7), common attributes left out
/// as §3.1 requires.
pub fn schemas(base_url: &str) -> Vec<Value> {
    ALL_SCHEMAS.iter().map(|def| schema_json(def, base_url)).collect()
}

/// The Schema resource whose id (a URN) matches `id` case-insensitively (RFC 7643 §2.1).
pub fn schema(id: &str, base_url: &str) -> Option<Value> {
    ALL_SCHEMAS.iter().find(|def| def.id.eq_ignore_ascii_case(id)).map(|def| schema_json(def, base_url))
}

struct ResourceTypeDef {
    id: &'static str,
    endpoint: &'static str,
    description: &'static str,
    schema: &'static str,
    extensions: &'static [&'static str],
}

const RESOURCE_TYPES: &[ResourceTypeDef] = &[
    ResourceTypeDef {
        id: "User",
        endpoint: "/Users",
        description: "User Account",
        schema: USER_URN,
        extensions: USER_EXTENSIONS,
    },
    ResourceTypeDef { id: "Group", endpoint: "/Groups", description: "Group", schema: GROUP_URN, extensions: &[] },
];

fn resource_type_json(def: &ResourceTypeDef, base_url: &str) -> Value {
    let mut doc = json!({
        "schemas": [RESOURCE_TYPE_URN],
        "id": def.id,
        "name": def.id,
        "endpoint": def.endpoint,
        "description": def.description,
        "schema": def.schema,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/{}", base(base_url), def.id),
        },
    });
    // RFC 7643 §6: `schemaExtensions` is optional; omitted when there are none, as in the
    // RFC's own Group example.
    if !def.extensions.is_empty()
        && let Value::Object(obj) = &mut doc
    {
        // RFC 7643 §6: every User this server holds carries the identity extension (its
        // license is never absent), so that extension is required; a request may still
        // leave it out: the gateway fills in the defaults (rule 2's routing).
        let exts: Vec<Value> =
            def.extensions.iter().map(|urn| json!({ "schema": urn, "required": *urn == IDENTITY_USER_URN })).collect();
        obj.insert("schemaExtensions".into(), Value::Array(exts));
    }
    doc
}

/// Every ResourceType served under `/ResourceTypes` (RFC 7643 §6).
pub fn resource_types(base_url: &str) -> Vec<Value> {
    RESOURCE_TYPES.iter().map(|def| resource_type_json(def, base_url)).collect()
}

/// The ResourceType named `id` (`User`, `Group`), matched case-insensitively.
pub fn resource_type(id: &str, base_url: &str) -> Option<Value> {
    RESOURCE_TYPES.iter().find(|def| def.id.eq_ignore_ascii_case(id)).map(|def| resource_type_json(def, base_url))
}

/// The server capabilities that depend on configuration (RFC 7643 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpcOptions {
    pub bulk_max_operations: usize,
    pub bulk_max_payload_bytes: usize,
    pub filter_max_results: usize,
    pub etag: bool,
    pub sort: bool,
    pub change_password: bool,
    pub patch: bool,
    /// RFC 9865 §4 `pagination.cursorTimeout`, in seconds.
    pub cursor_timeout_secs: u64,
}

/// The `/ServiceProviderConfig` document (RFC 7643 §5). Bulk is advertised as supported
/// only when both of its limits allow at least something; filtering is always supported.
pub fn service_provider_config(base_url: &str, o: &SpcOptions) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_URN],
        "patch": { "supported": o.patch },
        "bulk": {
            "supported": o.bulk_max_operations > 0 && o.bulk_max_payload_bytes > 0,
            "maxOperations": o.bulk_max_operations,
            "maxPayloadSize": o.bulk_max_payload_bytes,
        },
        "filter": { "supported": true, "maxResults": o.filter_max_results },
        // RFC 9865 §4: both paging methods, index by default (what RFC 7644 clients expect
        // when they name neither); page sizes are filter.maxResults.
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": o.filter_max_results,
            "maxPageSize": o.filter_max_results,
            "cursorTimeout": o.cursor_timeout_secs,
        },
        "changePassword": { "supported": o.change_password },
        "sort": { "supported": o.sort },
        "etag": { "supported": o.etag },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token created by the gateway's admin API",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base(base_url)),
        },
    })
}

// ---------------------------------------------------------------------------------------
// Attribute lookups.

fn find_attr<'a>(list: &'a [AttrDef], name: &str) -> Option<&'a AttrDef> {
    list.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

fn lookup(
    core: &SchemaDef,
    extensions: &[&SchemaDef],
    urn: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> Option<AttrInfo> {
    let def = match urn {
        Some(u) if !u.eq_ignore_ascii_case(core.id) => {
            let ext = extensions.iter().find(|e| e.id.eq_ignore_ascii_case(u))?;
            find_attr(ext.attributes, name)?
        }
        // RFC 7643 §3.1: the common attributes sit beside the core ones.
        _ => find_attr(core.attributes, name).or_else(|| find_attr(COMMON_ATTRS, name))?,
    };
    match sub {
        None => Some(def.info()),
        Some(s) => find_attr(def.sub, s).map(AttrDef::info),
    }
}

/// The User resource type: core User plus the enterprise and identity extensions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserSchema;

/// The Group resource type: core Group, no extensions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupSchema;

impl SchemaInfo for UserSchema {
    fn core_urn(&self) -> &'static str {
        USER_URN
    }

    fn extension_urns(&self) -> &'static [&'static str] {
        USER_EXTENSIONS
    }

    fn attribute(&self, urn: Option<&str>, name: &str, sub: Option<&str>) -> Option<AttrInfo> {
        lookup(&USER_SCHEMA, &[&ENTERPRISE_USER_SCHEMA, &IDENTITY_USER_SCHEMA], urn, name, sub)
    }

    fn extension_required(&self, urn: &str) -> bool {
        [&ENTERPRISE_USER_SCHEMA, &IDENTITY_USER_SCHEMA]
            .iter()
            .find(|e| e.id.eq_ignore_ascii_case(urn))
            .is_some_and(|e| e.attributes.iter().any(|a| a.required))
    }
}

impl SchemaInfo for GroupSchema {
    fn core_urn(&self) -> &'static str {
        GROUP_URN
    }

    fn extension_urns(&self) -> &'static [&'static str] {
        &[]
    }

    fn attribute(&self, urn: Option<&str>, name: &str, sub: Option<&str>) -> Option<AttrInfo> {
        lookup(&GROUP_SCHEMA, &[], urn, name, sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://gw.example.com/scim/v2";

    // --- lookups -------------------------------------------------------------------

    #[test]
    fn core_attribute_lookup_returns_rfc_characteristics() {
        let a = UserSchema.attribute(None, "userName", None).unwrap();
        assert_eq!(a.name, "userName");
        assert_eq!(a.kind, AttrType::String);
        assert!(!a.case_exact);
        assert!(!a.multi_valued);
        assert_eq!(a.mutability, Mutability::ReadWrite);
        assert_eq!(a.returned, Returned::Default);

        let p = UserSchema.attribute(Some(USER_URN), "password", None).unwrap();
        assert_eq!(p.mutability, Mutability::WriteOnly);
        assert_eq!(p.returned, Returned::Never);

        let emails = UserSchema.attribute(None, "emails", None).unwrap();
        assert!(emails.multi_valued);
        assert_eq!(emails.kind, AttrType::Complex);

        let groups = UserSchema.attribute(None, "groups", None).unwrap();
        assert_eq!(groups.mutability, Mutability::ReadOnly);
    }

    #[test]
    fn sub_attribute_lookup_finds_children_only_of_complex_attributes() {
        let g = UserSchema.attribute(None, "name", Some("givenName")).unwrap();
        assert_eq!(g.name, "givenName");
        let x = UserSchema.attribute(None, "x509Certificates", Some("value")).unwrap();
        assert_eq!(x.kind, AttrType::Binary);
        let r = UserSchema.attribute(None, "groups", Some("$ref")).unwrap();
        assert_eq!(r.kind, AttrType::Reference);
        assert_eq!(r.mutability, Mutability::ReadOnly);
        let p = UserSchema.attribute(None, "addresses", Some("primary")).unwrap();
        assert_eq!(p.kind, AttrType::Boolean);
        assert!(UserSchema.attribute(None, "userName", Some("value")).is_none());
        assert!(UserSchema.attribute(None, "name", Some("nope")).is_none());
        let m = GroupSchema.attribute(None, "members", Some("value")).unwrap();
        assert_eq!(m.mutability, Mutability::Immutable);
    }

    #[test]
    fn common_attributes_are_answered_for_both_resource_types() {
        for schema in [&UserSchema as &dyn SchemaInfo, &GroupSchema] {
            let id = schema.attribute(None, "id", None).unwrap();
            assert_eq!(id.returned, Returned::Always);
            assert_eq!(id.mutability, Mutability::ReadOnly);
            assert!(id.case_exact);
            let ext = schema.attribute(Some(schema.core_urn()), "externalId", None).unwrap();
            assert_eq!(ext.mutability, Mutability::ReadWrite);
            assert!(ext.case_exact);
            let lm = schema.attribute(None, "meta", Some("lastModified")).unwrap();
            assert_eq!(lm.kind, AttrType::DateTime);
            assert_eq!(lm.mutability, Mutability::ReadOnly);
            let loc = schema.attribute(None, "meta", Some("location")).unwrap();
            assert_eq!(loc.kind, AttrType::Reference);
        }
    }

    #[test]
    fn extension_attributes_are_found_only_under_their_urn() {
        let d = UserSchema.attribute(Some(ENTERPRISE_USER_URN), "department", None).unwrap();
        assert_eq!(d.name, "department");
        let m = UserSchema.attribute(Some(ENTERPRISE_USER_URN), "manager", Some("displayName")).unwrap();
        assert_eq!(m.mutability, Mutability::ReadOnly);
        let acc = UserSchema.attribute(Some(IDENTITY_USER_URN), "accountId", None).unwrap();
        assert_eq!(acc.mutability, Mutability::ReadWrite);
        let cl = UserSchema.attribute(Some(IDENTITY_USER_URN), "contactless", None).unwrap();
        assert_eq!(cl.kind, AttrType::Boolean);
        assert_eq!(cl.mutability, Mutability::ReadOnly);
        let lic = UserSchema.attribute(Some(IDENTITY_USER_URN), "license", None).unwrap();
        assert!(lic.case_exact);
        // Not core attributes, and not each other's.
        assert!(UserSchema.attribute(None, "department", None).is_none());
        assert!(UserSchema.attribute(Some(IDENTITY_USER_URN), "department", None).is_none());
        assert!(UserSchema.attribute(Some(ENTERPRISE_USER_URN), "id", None).is_none());
        assert!(GroupSchema.attribute(Some(ENTERPRISE_USER_URN), "department", None).is_none());
    }

    #[test]
    fn lookups_ignore_case_of_urn_name_and_sub_attribute() {
        let upper = USER_URN.to_ascii_uppercase();
        let a = UserSchema.attribute(Some(&upper), "USERNAME", None).unwrap();
        assert_eq!(a.name, "userName");
        let g = UserSchema.attribute(None, "NAME", Some("GIVENNAME")).unwrap();
        assert_eq!(g.name, "givenName");
        let e = UserSchema.attribute(Some(&ENTERPRISE_USER_URN.to_ascii_lowercase()), "Manager", Some("$REF")).unwrap();
        assert_eq!(e.name, "$ref");
        assert!(GroupSchema.attribute(Some(&GROUP_URN.to_ascii_lowercase()), "DISPLAYNAME", None).is_some());
    }

    #[test]
    fn unknown_names_and_urns_yield_none() {
        assert!(UserSchema.attribute(None, "shoeSize", None).is_none());
        assert!(UserSchema.attribute(Some("urn:example:nope"), "userName", None).is_none());
        assert!(GroupSchema.attribute(None, "userName", None).is_none());
        assert!(GroupSchema.attribute(Some(USER_URN), "displayName", None).is_none());
    }

    #[test]
    fn extension_urns_per_resource_type() {
        assert_eq!(UserSchema.core_urn(), USER_URN);
        assert_eq!(UserSchema.extension_urns(), &[ENTERPRISE_USER_URN, IDENTITY_USER_URN]);
        assert_eq!(GroupSchema.core_urn(), GROUP_URN);
        assert!(GroupSchema.extension_urns().is_empty());
    }

    // --- discovery -----------------------------------------------------------------

    #[test]
    fn schemas_lists_exactly_the_four_schemas_without_common_attributes() {
        let docs = schemas(BASE);
        let ids: Vec<&str> = docs.iter().filter_map(|d| d["id"].as_str()).collect();
        assert_eq!(ids, vec![USER_URN, ENTERPRISE_USER_URN, IDENTITY_USER_URN, GROUP_URN]);
        for doc in &docs {
            assert_eq!(doc["schemas"], json!([SCHEMA_URN]));
            assert!(doc["name"].is_string());
            assert!(doc["description"].is_string());
            assert_eq!(doc["meta"]["resourceType"], "Schema");
            assert_eq!(doc["meta"]["location"], format!("{BASE}/Schemas/{}", doc["id"].as_str().unwrap()));
            for attr in doc["attributes"].as_array().unwrap() {
                let name = attr["name"].as_str().unwrap();
                assert!(!["id", "externalId", "meta"].contains(&name), "{name}");
            }
        }
    }

    #[test]
    fn every_attribute_document_carries_the_required_keys() {
        fn check(attr: &Value) {
            for key in [
                "name",
                "type",
                "multiValued",
                "description",
                "required",
                "caseExact",
                "mutability",
                "returned",
                "uniqueness",
            ] {
                assert!(attr.get(key).is_some(), "{key} missing in {attr}");
            }
            let ty = attr["type"].as_str().unwrap();
            assert!(
                ["string", "boolean", "decimal", "integer", "dateTime", "binary", "reference", "complex"].contains(&ty)
            );
            assert_eq!(ty == "complex", attr.get("subAttributes").is_some(), "{attr}");
            assert_eq!(ty == "reference", attr.get("referenceTypes").is_some(), "{attr}");
            if let Some(cv) = attr.get("canonicalValues") {
                assert!(!cv.as_array().unwrap().is_empty());
            }
            for sub in attr["subAttributes"].as_array().into_iter().flatten() {
                check(sub);
            }
        }
        for doc in schemas(BASE) {
            for attr in doc["attributes"].as_array().unwrap() {
                check(attr);
            }
        }
    }

    #[test]
    fn schema_documents_render_rfc_characteristics() {
        let user = schema(USER_URN, BASE).unwrap();
        let attrs = user["attributes"].as_array().unwrap();
        let user_name = attrs.iter().find(|a| a["name"] == "userName").unwrap();
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["caseExact"], false);
        let password = attrs.iter().find(|a| a["name"] == "password").unwrap();
        assert_eq!(password["mutability"], "writeOnly");
        assert_eq!(password["returned"], "never");
        let emails = attrs.iter().find(|a| a["name"] == "emails").unwrap();
        assert_eq!(emails["multiValued"], true);
        let ty = emails["subAttributes"].as_array().unwrap().iter().find(|a| a["name"] == "type").unwrap();
        assert_eq!(ty["canonicalValues"], json!(["work", "home", "other"]));

        let ours = schema(IDENTITY_USER_URN, BASE).unwrap();
        let attrs = ours["attributes"].as_array().unwrap();
        let license = attrs.iter().find(|a| a["name"] == "license").unwrap();
        assert_eq!(
            license["canonicalValues"],
            json!(["external_identity", "customer_community", "customer_community_plus", "partner_community"])
        );
        let account = attrs.iter().find(|a| a["name"] == "accountId").unwrap();
        assert_eq!(account["mutability"], "readWrite");
        let origin = attrs.iter().find(|a| a["name"] == "origin").unwrap();
        assert_eq!(origin["mutability"], "readOnly");
        assert_eq!(origin["canonicalValues"], json!(["native", "scim", "self_registration"]));

        let group = schema(GROUP_URN, BASE).unwrap();
        let members = &group["attributes"][1];
        assert_eq!(members["name"], "members");
        assert_eq!(members["subAttributes"][3]["canonicalValues"], json!(["User", "Group"]));
    }

    #[test]
    fn schema_by_id_is_case_insensitive_and_unknown_is_none() {
        let doc = schema(&ENTERPRISE_USER_URN.to_ascii_uppercase(), BASE).unwrap();
        assert_eq!(doc["id"], ENTERPRISE_USER_URN);
        assert!(schema("urn:example:nope", BASE).is_none());
        // A trailing slash on the base URL does not double up in locations.
        let doc = schema(GROUP_URN, &format!("{BASE}/")).unwrap();
        assert_eq!(doc["meta"]["location"], format!("{BASE}/Schemas/{GROUP_URN}"));
    }

    #[test]
    fn resource_types_describe_users_and_groups() {
        let all = resource_types(BASE);
        assert_eq!(all.len(), 2);
        let user = resource_type("user", BASE).unwrap();
        assert_eq!(user["schemas"], json!([RESOURCE_TYPE_URN]));
        assert_eq!(user["id"], "User");
        assert_eq!(user["name"], "User");
        assert_eq!(user["endpoint"], "/Users");
        assert_eq!(user["schema"], USER_URN);
        assert_eq!(
            user["schemaExtensions"],
            json!([
                { "schema": ENTERPRISE_USER_URN, "required": false },
                { "schema": IDENTITY_USER_URN, "required": true }
            ])
        );
        assert_eq!(user["meta"]["resourceType"], "ResourceType");
        assert_eq!(user["meta"]["location"], format!("{BASE}/ResourceTypes/User"));
        let group = resource_type("Group", BASE).unwrap();
        assert_eq!(group["endpoint"], "/Groups");
        assert_eq!(group["schema"], GROUP_URN);
        assert!(group.get("schemaExtensions").is_none());
        assert_eq!(group["meta"]["location"], format!("{BASE}/ResourceTypes/Group"));
        assert!(resource_type("Device", BASE).is_none());
    }

    #[test]
    fn service_provider_config_reflects_options() {
        let o = SpcOptions {
            bulk_max_operations: 100,
            bulk_max_payload_bytes: 1_048_576,
            filter_max_results: 200,
            etag: true,
            sort: false,
            change_password: false,
            patch: true,
            cursor_timeout_secs: 600,
        };
        let spc = service_provider_config(BASE, &o);
        assert_eq!(
            spc["pagination"],
            json!({ "cursor": true, "index": true, "defaultPaginationMethod": "index", "defaultPageSize": 200,
                "maxPageSize": 200, "cursorTimeout": 600 })
        );
        assert_eq!(spc["schemas"], json!([SERVICE_PROVIDER_CONFIG_URN]));
        assert_eq!(spc["patch"]["supported"], true);
        assert_eq!(spc["bulk"], json!({"supported": true, "maxOperations": 100, "maxPayloadSize": 1_048_576}));
        assert_eq!(spc["filter"], json!({"supported": true, "maxResults": 200}));
        assert_eq!(spc["changePassword"]["supported"], false);
        assert_eq!(spc["sort"]["supported"], false);
        assert_eq!(spc["etag"]["supported"], true);
        let schemes = spc["authenticationSchemes"].as_array().unwrap();
        assert_eq!(schemes.len(), 1);
        assert_eq!(schemes[0]["type"], "oauthbearertoken");
        assert_eq!(schemes[0]["name"], "OAuth Bearer Token");
        assert_eq!(schemes[0]["description"], "Authentication with a bearer token created by the gateway's admin API");
        assert_eq!(schemes[0]["primary"], true);
        assert_eq!(spc["meta"]["resourceType"], "ServiceProviderConfig");
        assert_eq!(spc["meta"]["location"], format!("{BASE}/ServiceProviderConfig"));

        let off = SpcOptions { bulk_max_operations: 0, sort: true, patch: false, ..o };
        let spc = service_provider_config(BASE, &off);
        assert_eq!(spc["bulk"]["supported"], false);
        assert_eq!(spc["sort"]["supported"], true);
        assert_eq!(spc["patch"]["supported"], false);
    }
}
