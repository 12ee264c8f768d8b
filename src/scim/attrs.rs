//! What SCIM semantics (filters, PATCH, projection) need to know about an attribute,
//! behind one trait so that the filter and PATCH engines stay independent of where the
//! schema definitions live (RFC 7643 §2.2, §7).

/// RFC 7643 §2.3 data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

/// One attribute (or sub-attribute) definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrInfo {
    /// The canonical spelling (e.g. `givenName`), used when a new key is written.
    pub name: &'static str,
    pub kind: AttrType,
    pub multi_valued: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    /// RFC 7643 §7 `required`: a resource always has it, so it cannot be removed.
    pub required: bool,
}

/// The schema of one resource type (User or Group) with its extensions.
pub trait SchemaInfo {
    /// The core schema URN, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`.
    fn core_urn(&self) -> &'static str;
    /// The extension schema URNs; their attributes live in the resource JSON under a key
    /// equal to the URN (RFC 7643 §3.3).
    fn extension_urns(&self) -> &'static [&'static str];
    /// Looks up an attribute. `urn`: `None` or the core URN for core attributes, else an
    /// extension URN; `sub`: a sub-attribute of a complex attribute. Every name and URN
    /// compares case-insensitively (RFC 7643 §2.1).
    fn attribute(&self, urn: Option<&str>, name: &str, sub: Option<&str>) -> Option<AttrInfo>;

    /// The schema of an attribute named without a URN: the core schema (`Some(None)`) when
    /// it has the attribute, else the one extension that does (Entra ID filters on
    /// `manager`, an enterprise attribute, without its URN); `None` when no schema has it.
    fn owner(&self, name: &str) -> Option<Option<&'static str>> {
        if self.attribute(None, name, None).is_some() {
            return Some(None);
        }
        let mut owners = self.extension_urns().iter().filter(|urn| self.attribute(Some(urn), name, None).is_some());
        match (owners.next(), owners.next()) {
            (Some(urn), None) => Some(Some(*urn)),
            _ => None,
        }
    }

    /// Whether the extension `urn` has a required attribute (then it cannot be removed as a
    /// whole).
    fn extension_required(&self, _urn: &str) -> bool {
        false
    }

    /// The canonical spelling of a schema URN this resource type serves (core or extension).
    fn known_urn(&self, urn: &str) -> Option<&'static str> {
        std::iter::once(self.core_urn())
            .chain(self.extension_urns().iter().copied())
            .find(|known| known.eq_ignore_ascii_case(urn))
    }
}
