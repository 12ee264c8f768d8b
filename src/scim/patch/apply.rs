//! Applies RFC 7644 §3.5.2 PATCH operations to a resource's SCIM JSON, including the Entra ID and Okta dialects; attribute facts come only from `SchemaInfo`.

use std::collections::HashMap;
use std::fmt;

use chrono::DateTime;
use serde_json::{Map, Value};

use super::path::{PatchPath, parse_path};
use crate::scim::attrs::{AttrInfo, AttrType, Mutability, SchemaInfo};
use crate::scim::filter::{self, AttrPath, CompareOp, Filter, FilterError};
use crate::scim::json::get_ci;

type Object = Map<String, Value>;

/// RFC 7644 §3.5.2 `op`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Remove,
    Replace,
}

impl OpKind {
    /// Entra ID capitalises op names (`"Replace"`), so they compare case-insensitively.
    pub fn parse(name: &str) -> Option<OpKind> {
        [OpKind::Add, OpKind::Remove, OpKind::Replace].into_iter().find(|kind| name.eq_ignore_ascii_case(kind.name()))
    }

    fn name(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Remove => "remove",
            OpKind::Replace => "replace",
        }
    }
}

/// One element of a PatchOp request's `Operations`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<String>,
    pub value: Option<Value>,
}

/// Why a PATCH was refused; each variant is one RFC 7644 §3.12 `scimType` (status 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchError {
    InvalidPath(String),
    NoTarget(String),
    InvalidValue(String),
    Mutability(String),
    InvalidFilter(String),
}

impl PatchError {
    /// The RFC 7644 §3.12 Table 9 `scimType`.
    pub fn scim_type(&self) -> &'static str {
        match self {
            PatchError::InvalidPath(_) => "invalidPath",
            PatchError::NoTarget(_) => "noTarget",
            PatchError::InvalidValue(_) => "invalidValue",
            PatchError::Mutability(_) => "mutability",
            PatchError::InvalidFilter(_) => "invalidFilter",
        }
    }

    fn message(&self) -> &str {
        match self {
            PatchError::InvalidPath(message)
            | PatchError::NoTarget(message)
            | PatchError::InvalidValue(message)
            | PatchError::Mutability(message)
            | PatchError::InvalidFilter(message) => message,
        }
    }
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for PatchError {}

/// Applies `ops` in order to `resource` (core attributes at the top level, extension
/// attributes under their URN key, RFC 7643 §3). RFC 7644 §3.5.2 makes a PATCH atomic: on
/// error `resource` is left exactly as it was.
pub fn apply(resource: &mut Value, ops: &[PatchOp], schema: &dyn SchemaInfo) -> Result<(), PatchError> {
    let mut work = resource.clone();
    let Value::Object(root) = &mut work else {
        return Err(PatchError::InvalidValue("the resource is not a JSON object".to_owned()));
    };
    let patcher = Patcher { schema };
    for op in ops {
        patcher.apply_op(root, op)?;
    }
    *resource = work;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Add,
    Replace,
}

/// A resolved, schema-checked path.
struct Target {
    /// The path as written, for messages.
    text: String,
    /// The extension URN whose object holds the attribute; `None` for the core schema.
    ext: Option<&'static str>,
    attr: AttrInfo,
    sub: Option<AttrInfo>,
    filter: Option<Filter>,
    /// `attr` as a filter path, to evaluate `filter` on its values.
    parent: AttrPath,
}

struct Patcher<'s> {
    schema: &'s dyn SchemaInfo,
}

impl Patcher<'_> {
    fn apply_op(&self, root: &mut Object, op: &PatchOp) -> Result<(), PatchError> {
        // Some clients send `"path": ""` for a path-less operation.
        let path = op.path.as_deref().map(str::trim).filter(|path| !path.is_empty());
        if op.op == OpKind::Remove {
            let Some(path) = path else {
                return Err(PatchError::NoTarget("a remove operation needs a path (RFC 7644 §3.5.2.2)".to_owned()));
            };
            return self.remove_path(root, path, op.value.as_ref());
        }
        let mode = if op.op == OpKind::Add { Mode::Add } else { Mode::Replace };
        let Some(value) = &op.value else {
            return Err(PatchError::InvalidValue(format!("the {} operation needs a value", op.op.name())));
        };
        match path {
            None => self.write_pathless(root, mode, value),
            Some(path) => self.write_path(root, path, mode, value.clone()),
        }
    }

    /// The extension URN `path` names as a whole, if it does.
    fn whole_extension(&self, path: &str) -> Option<&'static str> {
        self.schema.extension_urns().iter().copied().find(|urn| urn.eq_ignore_ascii_case(path))
    }

    fn resolve(&self, text: &str) -> Result<Target, PatchError> {
        let PatchPath { attr: path, filter, sub } = parse_path(text).map_err(|error| path_error(text, &error))?;
        let ext = match path.urn.as_deref() {
            None => None,
            Some(urn) if urn.eq_ignore_ascii_case(self.schema.core_urn()) => None,
            Some(urn) => Some(
                self.schema
                    .extension_urns()
                    .iter()
                    .copied()
                    .find(|ext| ext.eq_ignore_ascii_case(urn))
                    .ok_or_else(|| PatchError::InvalidPath(format!("'{text}': unknown schema '{urn}'")))?,
            ),
        };
        let attr = self
            .schema
            .attribute(ext, &path.name, None)
            .ok_or_else(|| PatchError::InvalidPath(format!("'{text}': unknown attribute '{}'", path.name)))?;
        let sub = match path.sub.as_deref().or(sub.as_deref()) {
            None => None,
            Some(_) if attr.kind != AttrType::Complex => {
                return Err(PatchError::InvalidPath(format!("'{text}': '{}' has no sub-attributes", attr.name)));
            }
            Some(name) => Some(self.sub_info(ext, &attr, name, text)?),
        };
        if let Some(filter) = &filter {
            if !(attr.multi_valued && attr.kind == AttrType::Complex) {
                return Err(PatchError::InvalidPath(format!(
                    "'{text}': a value filter needs a multi-valued complex attribute"
                )));
            }
            self.check_filter(filter, ext, &attr, text)?;
            let parent = AttrPath { urn: ext.map(str::to_owned), name: attr.name.to_owned(), sub: None };
            filter::check_element(filter, &parent, self.schema)
                .map_err(|e| PatchError::InvalidFilter(format!("'{text}': {e}")))?;
        }
        // RFC 7643 §7: readOnly values are the service provider's alone.
        for info in std::iter::once(attr).chain(sub) {
            if info.mutability == Mutability::ReadOnly {
                return Err(PatchError::Mutability(format!("'{text}': '{}' is read-only", info.name)));
            }
        }
        let parent = AttrPath { urn: ext.map(str::to_owned), name: attr.name.to_owned(), sub: None };
        Ok(Target { text: text.to_owned(), ext, attr, sub, filter, parent })
    }

    fn sub_info(&self, ext: Option<&str>, attr: &AttrInfo, name: &str, text: &str) -> Result<AttrInfo, PatchError> {
        self.schema
            .attribute(ext, attr.name, Some(name))
            .ok_or_else(|| PatchError::InvalidPath(format!("'{text}': '{}' has no sub-attribute '{name}'", attr.name)))
    }

    /// Every path inside a value filter must name a sub-attribute of the filtered attribute.
    fn check_filter(&self, filter: &Filter, ext: Option<&str>, attr: &AttrInfo, text: &str) -> Result<(), PatchError> {
        match filter {
            Filter::Compare { path, .. } | Filter::Present(path) => {
                self.sub_info(ext, attr, &path.name, text).map(|_| ())
            }
            Filter::And(left, right) | Filter::Or(left, right) => {
                self.check_filter(left, ext, attr, text)?;
                self.check_filter(right, ext, attr, text)
            }
            Filter::Not(inner) => self.check_filter(inner, ext, attr, text),
            Filter::ValuePath { .. } => {
                Err(PatchError::InvalidFilter(format!("'{text}': value filters cannot be nested")))
            }
        }
    }

    /// The object that holds the attributes of `ext` (the resource itself for the core
    /// schema), created for an extension when `create` is set.
    fn container<'r>(&self, root: &'r mut Object, ext: Option<&'static str>, create: bool) -> Option<&'r mut Object> {
        let Some(urn) = ext else {
            return Some(root);
        };
        let key = match find_key(root, urn) {
            Some(key) => key,
            None if create => {
                add_schema_urn(root, urn);
                urn.to_owned()
            }
            None => return None,
        };
        let slot = root.entry(key).or_insert_with(|| Value::Object(Object::new()));
        if !slot.is_object() {
            if !create {
                return None;
            }
            *slot = Value::Object(Object::new());
        }
        slot.as_object_mut()
    }

    /// RFC 7644 §3.5.2.1/§3.5.2.3 without a path: the value is an object of attributes, each
    /// added or replaced in turn.
    fn write_pathless(&self, root: &mut Object, mode: Mode, value: &Value) -> Result<(), PatchError> {
        let Value::Object(fields) = value else {
            return Err(PatchError::InvalidValue(
                "an add or replace without a path needs an object of attributes".to_owned(),
            ));
        };
        for (key, value) in fields {
            // Okta echoes whole resources back; these keys belong to the service provider
            // (RFC 7643 §3.1) and are dropped rather than refused.
            if ["schemas", "id", "meta"].iter().any(|name| key.eq_ignore_ascii_case(name)) {
                continue;
            }
            if key.eq_ignore_ascii_case(self.schema.core_urn()) && value.is_object() {
                self.write_pathless(root, mode, value)?;
                continue;
            }
            // Entra ID uses paths as keys: `name.givenName`, `urn:…:User:department`.
            self.write_path(root, key, mode, value.clone())?;
        }
        Ok(())
    }

    fn write_path(&self, root: &mut Object, text: &str, mode: Mode, value: Value) -> Result<(), PatchError> {
        if let Some(urn) = self.whole_extension(text) {
            let Value::Object(fields) = value else {
                return Err(PatchError::InvalidValue(format!("'{text}' needs an object of attributes")));
            };
            for (name, value) in fields {
                // Clients built on schema libraries repeat the extension's `schemas` inside
                // its object; it is no attribute of the extension.
                if name.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                self.write_path(root, &format!("{urn}:{name}"), mode, value)?;
            }
            return Ok(());
        }
        let target = self.resolve(text)?;
        self.write(root, &target, mode, value)
    }

    fn write(&self, root: &mut Object, t: &Target, mode: Mode, value: Value) -> Result<(), PatchError> {
        if value.is_null() {
            // RFC 7643 §2.5: null is "unassigned"; replacing with it clears, adding it adds nothing.
            return match mode {
                Mode::Replace => self.remove(root, t, None),
                Mode::Add => Ok(()),
            };
        }
        let Some(container) = self.container(root, t.ext, true) else {
            return Err(PatchError::InvalidValue(format!("'{}': the extension object cannot be created", t.text)));
        };
        match (&t.filter, t.attr.multi_valued, t.sub) {
            (Some(filter), _, _) => self.write_filtered(container, t, filter, mode, value),
            (None, true, None) => self.write_multi(container, t, mode, value),
            (None, true, Some(sub)) => self.write_sub_everywhere(container, t, sub, value),
            (None, false, None) => self.write_single(container, t, value),
            (None, false, Some(sub)) => self.write_sub(container, t, sub, value),
        }
    }

    /// A single-valued attribute: a simple one is set, a complex one merged (RFC 7644
    /// §3.5.2.1 and §3.5.2.3 both leave unmentioned sub-attributes alone).
    fn write_single(&self, container: &mut Object, t: &Target, value: Value) -> Result<(), PatchError> {
        let value = single(value, &t.text)?;
        let key = find_key(container, t.attr.name);
        let current = key.as_ref().and_then(|key| container.get(key));
        let new = if t.attr.kind == AttrType::Complex {
            // A bare scalar (Entra ID's manager id) names a new referent as a whole, so the
            // stale sub-attributes of the old one (its displayName) must not survive.
            let mut object = match current {
                Some(Value::Object(object)) if value.is_object() => object.clone(),
                _ => Object::new(),
            };
            let fields = self.fields(t.ext, &t.attr, value, &t.text)?;
            merge(&mut object, fields, &t.text)?;
            Value::Object(object)
        } else {
            coerce(&t.attr, value, &t.text)?
        };
        check_write(&t.attr, current, &new, &t.text)?;
        set(container, key, t.attr.name, new);
        Ok(())
    }

    /// A sub-attribute of a single-valued complex attribute (`name.givenName`).
    fn write_sub(&self, container: &mut Object, t: &Target, sub: AttrInfo, value: Value) -> Result<(), PatchError> {
        let value = coerce(&sub, single_unless_multi(&sub, value, &t.text)?, &t.text)?;
        let key = find_key(container, t.attr.name);
        let current = key.as_ref().and_then(|key| container.get(key));
        let mut object = current.and_then(Value::as_object).cloned().unwrap_or_default();
        merge(&mut object, vec![(sub, value)], &t.text)?;
        let new = Value::Object(object);
        check_write(&t.attr, current, &new, &t.text)?;
        set(container, key, t.attr.name, new);
        Ok(())
    }

    /// A multi-valued attribute without a filter: add appends (RFC 7644 §3.5.2.1), replace
    /// swaps the whole list (§3.5.2.3).
    fn write_multi(&self, container: &mut Object, t: &Target, mode: Mode, value: Value) -> Result<(), PatchError> {
        let items = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        let items = items
            .into_iter()
            .filter(|item| !item.is_null())
            .map(|item| self.element(t, item))
            .collect::<Result<Vec<_>, _>>()?;
        let key = find_key(container, t.attr.name);
        if t.attr.mutability != Mutability::ReadWrite && t.attr.mutability != Mutability::WriteOnly {
            // Read-only and immutable attributes compare against the current value: the
            // rare path keeps it.
            let current = key.as_ref().and_then(|key| container.get(key)).cloned();
            let list = match mode {
                Mode::Add => current.as_ref().map(as_list).unwrap_or_default(),
                Mode::Replace => Vec::new(),
            };
            let new = Value::Array(append(list, items, mode, &t.text)?);
            check_write(&t.attr, current.as_ref(), &new, &t.text)?;
            set(container, key, t.attr.name, new);
            return Ok(());
        }
        // Writable: the current list is moved out, not copied, so that an operation costs
        // the values it adds, not the values already there (`apply` works on a copy of the
        // resource, so an error later still leaves the caller's resource untouched).
        let list = match (mode, key.as_ref().and_then(|key| container.remove(key))) {
            (Mode::Add, Some(current)) => into_list(current),
            _ => Vec::new(),
        };
        let new = Value::Array(append(list, items, mode, &t.text)?);
        set(container, key, t.attr.name, new);
        Ok(())
    }

    /// A sub-attribute of a multi-valued attribute without a filter (`emails.type`): every
    /// value gets it; with no values yet, one is made.
    fn write_sub_everywhere(
        &self,
        container: &mut Object,
        t: &Target,
        sub: AttrInfo,
        value: Value,
    ) -> Result<(), PatchError> {
        let value = coerce(&sub, single_unless_multi(&sub, value, &t.text)?, &t.text)?;
        let key = find_key(container, t.attr.name);
        let mut list = key.as_ref().and_then(|key| container.get(key)).map(as_list).unwrap_or_default();
        if list.is_empty() {
            list.push(Value::Object(Object::new()));
        }
        for element in &mut list {
            if let Value::Object(element) = element {
                merge(element, vec![(sub, value.clone())], &t.text)?;
            }
        }
        let touched: Vec<usize> = (0..list.len()).collect();
        single_primary(&mut list, &touched, &t.text)?;
        set(container, key, t.attr.name, Value::Array(list));
        Ok(())
    }

    /// A value-filter path, with or without a trailing sub-attribute.
    fn write_filtered(
        &self,
        container: &mut Object,
        t: &Target,
        filter: &Filter,
        mode: Mode,
        value: Value,
    ) -> Result<(), PatchError> {
        let key = find_key(container, t.attr.name);
        let mut list = key.as_ref().and_then(|key| container.get(key)).map(as_list).unwrap_or_default();
        let hits = self.hits(&list, t, filter);
        let seed = self.seed(t, filter);
        let touched = if hits.is_empty() {
            // RFC 7644 §3.5.2.3 answers a replace whose filter matches nothing with noTarget.
            // Entra ID, though, sends `replace` (and `add`) to `emails[type eq "work"].value`
            // to create the work email, so wherever the filter is plain equalities — which
            // say what the missing value looks like — a new value is made instead, for
            // replace as for add. Any other filter still gets noTarget.
            let Some(mut element) = seed else {
                return Err(PatchError::NoTarget(format!("'{}': no value matches the filter", t.text)));
            };
            self.fill(&mut element, t, value)?;
            list.push(Value::Object(element));
            vec![list.len() - 1]
        } else {
            for &index in &hits {
                if let Some(Value::Object(element)) = list.get_mut(index) {
                    match (t.sub, mode) {
                        (None, Mode::Replace) => {
                            // RFC 7644 §3.5.2.3: a matching value is replaced whole. The
                            // filter's equalities are kept so it still answers to the filter.
                            let mut new = seed.clone().unwrap_or_default();
                            self.fill(&mut new, t, value.clone())?;
                            self.check_replaced(element, &new, t)?;
                            *element = new;
                        }
                        _ => self.fill(element, t, value.clone())?,
                    }
                }
            }
            hits
        };
        single_primary(&mut list, &touched, &t.text)?;
        set(container, key, t.attr.name, Value::Array(list));
        Ok(())
    }

    /// Writes `value` into one value of a multi-valued attribute: into its sub-attribute
    /// when the path has one, else merged as an object of sub-attributes.
    fn fill(&self, element: &mut Object, t: &Target, value: Value) -> Result<(), PatchError> {
        let fields = match t.sub {
            Some(sub) => vec![(sub, coerce(&sub, single_unless_multi(&sub, value, &t.text)?, &t.text)?)],
            None => self.fields(t.ext, &t.attr, single(value, &t.text)?, &t.text)?,
        };
        merge(element, fields, &t.text)
    }

    /// Replacing a value whole must not change its immutable sub-attributes (RFC 7643 §7).
    fn check_replaced(&self, old: &Object, new: &Object, t: &Target) -> Result<(), PatchError> {
        for (name, value) in old {
            if let Some(info) = self.schema.attribute(t.ext, t.attr.name, Some(name)) {
                check_write(&info, Some(value), get_ci(new, name).unwrap_or(&Value::Null), &t.text)?;
            }
        }
        Ok(())
    }

    fn hits(&self, list: &[Value], t: &Target, filter: &Filter) -> Vec<usize> {
        list.iter()
            .enumerate()
            .filter(|(_, element)| filter::matches_element(filter, &t.parent, element, self.schema))
            .map(|(index, _)| index)
            .collect()
    }

    /// The sub-attributes an equality-only filter pins down (`type eq "work" and primary eq
    /// true`), as the start of a new value; `None` when the filter says anything else or
    /// what it says cannot be stored.
    fn seed(&self, t: &Target, filter: &Filter) -> Option<Object> {
        let mut pairs = Vec::new();
        if !equalities(filter, &mut pairs) {
            return None;
        }
        let mut object = Object::new();
        for (name, value) in pairs {
            let info = self.schema.attribute(t.ext, t.attr.name, Some(name))?;
            if info.mutability == Mutability::ReadOnly {
                return None;
            }
            let value = match value {
                filter::Value::String(text) => Value::String(text.clone()),
                filter::Value::Number(number) => Value::Number(number.clone()),
                filter::Value::Bool(flag) => Value::Bool(*flag),
                filter::Value::Null => return None,
            };
            let value = coerce(&info, value, &t.text).ok()?;
            if object.get(info.name).is_some_and(|seen| *seen != value) {
                return None;
            }
            object.insert(info.name.to_owned(), value);
        }
        Some(object)
    }

    /// One value for a multi-valued attribute, checked, with canonical sub-attribute names.
    fn element(&self, t: &Target, item: Value) -> Result<Value, PatchError> {
        if t.attr.kind != AttrType::Complex {
            return coerce(&t.attr, item, &t.text);
        }
        let fields = self.fields(t.ext, &t.attr, item, &t.text)?;
        let mut object = Object::new();
        merge(&mut object, fields, &t.text)?;
        Ok(Value::Object(object))
    }

    /// Checks and converts the sub-attributes of a complex value.
    fn fields(
        &self,
        ext: Option<&str>,
        attr: &AttrInfo,
        value: Value,
        text: &str,
    ) -> Result<Vec<(AttrInfo, Value)>, PatchError> {
        let object = match value {
            Value::Object(object) => object,
            // Entra ID sends the enterprise manager as a bare id. A complex attribute's
            // "value" sub-attribute carries its main content (RFC 7643 §2.4), so a scalar
            // goes there.
            scalar @ (Value::String(_) | Value::Number(_) | Value::Bool(_))
                if self.schema.attribute(ext, attr.name, Some("value")).is_some() =>
            {
                Object::from_iter([("value".to_owned(), scalar)])
            }
            other => {
                return Err(PatchError::InvalidValue(format!(
                    "'{text}': '{}' needs an object, got {}",
                    attr.name,
                    describe(&other)
                )));
            }
        };
        object
            .into_iter()
            .filter_map(|(name, value)| match self.sub_info(ext, attr, &name, text) {
                // A readOnly sub-attribute inside a value (an IdP echoing `members.display`)
                // is the service provider's: ignored, as RFC 7643 §7 has it for readOnly input.
                Ok(info) if info.mutability == Mutability::ReadOnly => None,
                other => Some(other.map(|info| (info, value))),
            })
            .map(|found| {
                let (info, value) = found?;
                // An empty string in a complex value is read as null, unassigned (Entra ID
                // clears the manager with `"value": ""`); a value left empty goes (`set`).
                let value = if value.is_null() || value.as_str() == Some("") {
                    Value::Null
                } else {
                    coerce(&info, single_unless_multi(&info, value, text)?, text)?
                };
                Ok((info, value))
            })
            .collect()
    }

    fn remove_path(&self, root: &mut Object, text: &str, value: Option<&Value>) -> Result<(), PatchError> {
        if let Some(urn) = self.whole_extension(text) {
            if self.schema.extension_required(urn) {
                return Err(PatchError::Mutability(format!(
                    "'{text}': the extension has required attributes and cannot be removed"
                )));
            }
            if let Some(key) = find_key(root, urn) {
                root.remove(&key);
            }
            remove_schema_urn(root, urn);
            return Ok(());
        }
        let target = self.resolve(text)?;
        if target.attr.required && target.filter.is_none() && target.sub.is_none() {
            // A required attribute is never unassigned (RFC 7643 §7): removing it is refused
            // rather than ignored (replace it instead).
            return Err(PatchError::Mutability(format!(
                "'{text}': '{}' is required and cannot be removed",
                target.attr.name
            )));
        }
        self.remove(root, &target, value)
    }

    /// RFC 7644 §3.5.2.2.
    fn remove(&self, root: &mut Object, t: &Target, value: Option<&Value>) -> Result<(), PatchError> {
        let no_target = || PatchError::NoTarget(format!("'{}': no value matches the filter", t.text));
        // Removing what is not there leaves the resource as asked; only a filter that selects
        // nothing is an error (RFC 7644 §3.12, noTarget).
        let absent = || match t.filter {
            Some(_) => Err(no_target()),
            None => Ok(()),
        };
        let Some(container) = self.container(root, t.ext, false) else {
            return absent();
        };
        let Some(key) = find_key(container, t.attr.name) else {
            return absent();
        };
        let current = container.get(&key).cloned().unwrap_or(Value::Null);
        let new = match (&t.filter, t.sub) {
            (None, None) => match value.filter(|value| !value.is_null()) {
                // Entra ID removes group members with
                // `{"op":"remove","path":"members","value":[{"value":"<id>"}]}`: only the
                // listed values go; listed values that are not there are ignored.
                Some(selected) if t.attr.multi_valued => {
                    let selected = as_list(selected);
                    let mut list = as_list(&current);
                    list.retain(|element| !selected.iter().any(|item| covers(element, item)));
                    Value::Array(list)
                }
                _ => Value::Null,
            },
            (None, Some(sub)) => {
                let mut new = current.clone();
                match &mut new {
                    Value::Object(object) => remove_sub(object, &sub, &t.text)?,
                    Value::Array(items) => {
                        for item in items.iter_mut() {
                            if let Value::Object(object) = item {
                                remove_sub(object, &sub, &t.text)?;
                            }
                        }
                        items.retain(|item| item.as_object().is_none_or(|object| !object.is_empty()));
                    }
                    _ => {}
                }
                new
            }
            (Some(filter), sub) => {
                let mut list = as_list(&current);
                let hits = self.hits(&list, t, filter);
                if hits.is_empty() {
                    return Err(no_target());
                }
                match sub {
                    None => {
                        let mut index = 0;
                        list.retain(|_| {
                            let keep = !hits.contains(&index);
                            index += 1;
                            keep
                        });
                    }
                    Some(sub) => {
                        for &index in &hits {
                            if let Some(Value::Object(object)) = list.get_mut(index) {
                                remove_sub(object, &sub, &t.text)?;
                            }
                        }
                    }
                }
                Value::Array(list)
            }
        };
        check_write(&t.attr, Some(&current), &new, &t.text)?;
        set(container, Some(key), t.attr.name, new);
        Ok(())
    }
}

/// Maps a path syntax error to `invalidFilter` when it lies inside the brackets, else to
/// `invalidPath` (RFC 7644 §3.12).
fn path_error(text: &str, error: &FilterError) -> PatchError {
    let message = format!("invalid path '{text}': {error}");
    let in_filter = text
        .find('[')
        .is_some_and(|open| error.position > open && text.rfind(']').is_none_or(|close| error.position <= close));
    if in_filter { PatchError::InvalidFilter(message) } else { PatchError::InvalidPath(message) }
}

/// Collects the `name eq value` terms of a filter made only of them and `and`.
fn equalities<'f>(filter: &'f Filter, out: &mut Vec<(&'f str, &'f filter::Value)>) -> bool {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value } => {
            out.push((&path.name, value));
            true
        }
        Filter::And(left, right) => equalities(left, out) && equalities(right, out),
        _ => false,
    }
}

/// Writes checked sub-attributes into a complex value; null removes one (RFC 7643 §2.5).
fn merge(object: &mut Object, fields: Vec<(AttrInfo, Value)>, text: &str) -> Result<(), PatchError> {
    for (info, value) in fields {
        let key = find_key(object, info.name);
        check_write(&info, key.as_ref().and_then(|key| object.get(key)), &value, text)?;
        match (value, key) {
            (Value::Null, Some(key)) => {
                object.remove(&key);
            }
            (Value::Null, None) => {}
            (value, key) => {
                object.insert(key.unwrap_or_else(|| info.name.to_owned()), value);
            }
        }
    }
    Ok(())
}

/// RFC 7643 §7 for one write: readOnly never, immutable only while unset.
fn check_write(info: &AttrInfo, current: Option<&Value>, new: &Value, text: &str) -> Result<(), PatchError> {
    match info.mutability {
        Mutability::ReadOnly => Err(PatchError::Mutability(format!("'{text}': '{}' is read-only", info.name))),
        Mutability::Immutable if current.is_some_and(|current| !current.is_null() && current != new) => {
            Err(PatchError::Mutability(format!("'{text}': '{}' is immutable once set", info.name)))
        }
        _ => Ok(()),
    }
}

/// Converts a value to the attribute's RFC 7643 §2.3 type or refuses it.
fn coerce(info: &AttrInfo, value: Value, text: &str) -> Result<Value, PatchError> {
    if info.multi_valued
        && let Value::Array(items) = value
    {
        return items
            .into_iter()
            .map(|item| coerce(&AttrInfo { multi_valued: false, ..*info }, item, text))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    let fits = match (info.kind, &value) {
        (AttrType::Boolean, Value::Bool(_)) => true,
        // Entra ID sends booleans as the strings "True" and "False".
        (AttrType::Boolean, Value::String(text)) => {
            if let Some(flag) = parse_bool(text) {
                return Ok(Value::Bool(flag));
            }
            false
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(_)) => true,
        (AttrType::Integer, Value::Number(number)) => number.is_i64() || number.is_u64(),
        (AttrType::Decimal, Value::Number(_)) => true,
        (AttrType::DateTime, Value::String(text)) => DateTime::parse_from_rfc3339(text).is_ok(),
        _ => false,
    };
    if fits {
        Ok(value)
    } else {
        Err(PatchError::InvalidValue(format!(
            "'{text}': '{}' must be {}, got {}",
            info.name,
            type_name(info.kind),
            describe(&value)
        )))
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn type_name(kind: AttrType) -> &'static str {
    match kind {
        AttrType::String => "a string",
        AttrType::Boolean => "a boolean",
        AttrType::Decimal => "a number",
        AttrType::Integer => "an integer",
        AttrType::DateTime => "an RFC 3339 date-time string",
        AttrType::Binary => "a base64 string",
        AttrType::Reference => "a URI string",
        AttrType::Complex => "an object",
    }
}

/// The JSON type of a value, for messages; the value itself may be personal data.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Okta sends single-valued values wrapped in a one-element array.
fn single(value: Value, text: &str) -> Result<Value, PatchError> {
    match value {
        Value::Array(mut items) if items.len() == 1 => Ok(items.remove(0)),
        Value::Array(_) => {
            Err(PatchError::InvalidValue(format!("'{text}' is single-valued but the value is an array")))
        }
        other => Ok(other),
    }
}

fn single_unless_multi(info: &AttrInfo, value: Value, text: &str) -> Result<Value, PatchError> {
    if info.multi_valued { Ok(value) } else { single(value, text) }
}

/// Appends `items` to `list` (RFC 7644 §3.5.2.1: adding a value that is already there
/// changes nothing), then keeps one primary (RFC 7643 §2.4). Duplicates are looked up by
/// `value` through an index, so adding m values to n costs O(n + m), not O(n·m).
fn append(mut list: Vec<Value>, items: Vec<Value>, mode: Mode, text: &str) -> Result<Vec<Value>, PatchError> {
    // What `covers` compares first: an element's non-null `value` (a simple value itself).
    fn value_key(element: &Value) -> Option<String> {
        match element {
            Value::Object(object) => get_ci(object, "value").filter(|v| !v.is_null()).map(Value::to_string),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }
    let mut by_value: HashMap<String, Vec<usize>> = HashMap::new();
    if mode == Mode::Add {
        for (index, element) in list.iter().enumerate() {
            if let Some(k) = value_key(element) {
                by_value.entry(k).or_default().push(index);
            }
        }
    }
    let mut touched = Vec::new();
    for item in items {
        if mode == Mode::Add {
            // An item with a value can only cover the elements with that same value; one
            // without may cover any element.
            let key = value_key(&item);
            let covered = match &key {
                Some(k) => by_value.get(k).into_iter().flatten().any(|&index| covers(&list[index], &item)),
                None => list.iter().any(|existing| covers(existing, &item)),
            };
            if covered {
                continue;
            }
            if let Some(k) = key {
                by_value.entry(k).or_default().push(list.len());
            }
        }
        list.push(item);
        touched.push(list.len() - 1);
    }
    single_primary(&mut list, &touched, text)?;
    Ok(list)
}

/// A stored multi-valued attribute, owned (a lone value counts as a list of one).
fn into_list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The values of a multi-valued attribute as stored (a lone value counts as a list of one).
fn as_list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Whether `existing` already holds everything `item` says, so adding `item` would change
/// nothing and removing by `item` selects `existing` (`{"value":"id"}` covers a member that
/// also has a display name).
fn covers(existing: &Value, item: &Value) -> bool {
    if existing == item {
        return true;
    }
    match (existing, item) {
        (Value::Object(existing), Value::Object(item)) => {
            !item.is_empty()
                && item.iter().all(|(name, value)| value.is_null() || get_ci(existing, name) == Some(value))
        }
        _ => false,
    }
}

/// RFC 7643 §2.4: "primary" is true for one value at most, so the value just written wins
/// and the others lose the flag. Two written at once contradict each other.
fn single_primary(list: &mut [Value], touched: &[usize], text: &str) -> Result<(), PatchError> {
    let winners: Vec<usize> =
        touched.iter().copied().filter(|&index| list.get(index).is_some_and(is_primary)).collect();
    match winners.as_slice() {
        [] => Ok(()),
        [winner] => {
            for (index, element) in list.iter_mut().enumerate() {
                if index != *winner
                    && is_primary(element)
                    && let Value::Object(object) = element
                    && let Some(key) = find_key(object, "primary")
                {
                    object.insert(key, Value::Bool(false));
                }
            }
            Ok(())
        }
        _ => Err(PatchError::InvalidValue(format!("'{text}': more than one value is marked primary"))),
    }
}

fn is_primary(value: &Value) -> bool {
    value.as_object().and_then(|object| get_ci(object, "primary")).and_then(Value::as_bool) == Some(true)
}

fn remove_sub(object: &mut Object, sub: &AttrInfo, text: &str) -> Result<(), PatchError> {
    if let Some(key) = find_key(object, sub.name) {
        check_write(sub, object.get(&key), &Value::Null, text)?;
        object.remove(&key);
    }
    Ok(())
}

/// The key under which `name` is stored, matched case-insensitively (RFC 7643 §2.1), so
/// that a write updates the existing entry instead of adding a second spelling.
fn find_key(object: &Object, name: &str) -> Option<String> {
    if object.contains_key(name) {
        return Some(name.to_owned());
    }
    object.keys().find(|key| key.eq_ignore_ascii_case(name)).cloned()
}

/// Stores an attribute under its existing key, or its canonical name when new. Null, an
/// empty list and an empty object are all "unassigned" (RFC 7643 §2.5), so the key goes.
fn set(container: &mut Object, key: Option<String>, canonical: &str, value: Value) {
    let empty = match &value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        _ => false,
    };
    match (empty, key) {
        (true, Some(key)) => {
            container.remove(&key);
        }
        (true, None) => {}
        (false, key) => {
            container.insert(key.unwrap_or_else(|| canonical.to_owned()), value);
        }
    }
}

/// RFC 7643 §3: `schemas` lists the extensions a resource uses.
fn add_schema_urn(root: &mut Object, urn: &str) {
    if let Some(key) = find_key(root, "schemas")
        && let Some(Value::Array(urns)) = root.get_mut(&key)
        && !urns.iter().any(|known| known.as_str().is_some_and(|known| known.eq_ignore_ascii_case(urn)))
    {
        urns.push(Value::String(urn.to_owned()));
    }
}

fn remove_schema_urn(root: &mut Object, urn: &str) {
    if let Some(key) = find_key(root, "schemas")
        && let Some(Value::Array(urns)) = root.get_mut(&key)
    {
        urns.retain(|known| !known.as_str().is_some_and(|known| known.eq_ignore_ascii_case(urn)));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::filter::test_schema::{ENTERPRISE_URN, GroupSchema, UserSchema};

    fn ops(ops: Value) -> Vec<PatchOp> {
        ops.as_array()
            .unwrap()
            .iter()
            .map(|op| PatchOp {
                op: OpKind::parse(op["op"].as_str().unwrap()).unwrap(),
                path: op.get("path").and_then(Value::as_str).map(str::to_owned),
                value: op.get("value").cloned(),
            })
            .collect()
    }

    fn run(resource: Value, request: Value, schema: &dyn SchemaInfo) -> Result<Value, PatchError> {
        let mut resource = resource;
        let before = resource.clone();
        let result = apply(&mut resource, &ops(request), schema);
        if result.is_err() {
            assert_eq!(resource, before, "a failed PATCH must leave the resource alone");
        }
        result.map(|()| resource)
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "groups": [{"value": "e9e30dba", "display": "Tour Guides"}],
            "meta": {"resourceType": "User", "created": "2011-08-01T18:29:49.793Z"}
        })
    }

    fn group() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "e9e30dba",
            "displayName": "Tour Guides",
            "members": [
                {"value": "2819c223", "display": "Babs"},
                {"value": "902c246b", "display": "Mandy"},
                {"value": "c3a26dd3"}
            ]
        })
    }

    fn patch_user(request: Value) -> Value {
        run(user(), request, &UserSchema).unwrap_or_else(|error| panic!("{error:?}"))
    }

    fn patch_group(request: Value) -> Value {
        run(group(), request, &GroupSchema).unwrap_or_else(|error| panic!("{error:?}"))
    }

    fn user_error(request: Value) -> PatchError {
        run(user(), request, &UserSchema).unwrap_err()
    }

    fn member_ids(group: &Value) -> Vec<&str> {
        group["members"]
            .as_array()
            .map(|members| members.iter().map(|m| m["value"].as_str().unwrap()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn op_names_parse_in_any_case() {
        assert_eq!(OpKind::parse("add"), Some(OpKind::Add));
        assert_eq!(OpKind::parse("Add"), Some(OpKind::Add));
        assert_eq!(OpKind::parse("Replace"), Some(OpKind::Replace));
        assert_eq!(OpKind::parse("REPLACE"), Some(OpKind::Replace));
        assert_eq!(OpKind::parse("remove"), Some(OpKind::Remove));
        assert_eq!(OpKind::parse("move"), None);
    }

    #[test]
    fn errors_carry_their_scim_type() {
        let cases = [
            (PatchError::InvalidPath("x".into()), "invalidPath"),
            (PatchError::NoTarget("x".into()), "noTarget"),
            (PatchError::InvalidValue("x".into()), "invalidValue"),
            (PatchError::Mutability("x".into()), "mutability"),
            (PatchError::InvalidFilter("x".into()), "invalidFilter"),
        ];
        for (error, scim_type) in cases {
            assert_eq!(error.scim_type(), scim_type);
            assert_eq!(error.to_string(), "x");
        }
    }

    #[test]
    fn add_without_path_adds_each_attribute() {
        let user = patch_user(json!([{"op": "add", "value": {
            "title": "Tour Guide",
            "emails": [{"value": "b@new.example", "type": "other"}],
            "name": {"formatted": "Ms. Barbara J Jensen"}
        }}]));
        assert_eq!(user["title"], "Tour Guide");
        assert_eq!(user["emails"].as_array().unwrap().len(), 3);
        assert_eq!(user["emails"][2]["value"], "b@new.example");
        assert_eq!(user["name"]["givenName"], "Barbara");
        assert_eq!(user["name"]["formatted"], "Ms. Barbara J Jensen");
    }

    #[test]
    fn add_with_path_sets_simple_and_sub_attributes() {
        let user = patch_user(json!([
            {"op": "add", "path": "title", "value": "Tour Guide"},
            {"op": "add", "path": "name.familyName", "value": "Jensen-Smith"},
            {"op": "add", "path": "displayName", "value": "Babs"},
            {"op": "add", "path": "displayName", "value": "Barbara"}
        ]));
        assert_eq!(user["title"], "Tour Guide");
        assert_eq!(user["name"], json!({"givenName": "Barbara", "familyName": "Jensen-Smith"}));
        assert_eq!(user["displayName"], "Barbara");
    }

    #[test]
    fn add_merges_into_a_single_valued_complex_attribute() {
        let user = patch_user(json!([{"op": "add", "path": "name", "value": {"familyName": "J", "formatted": "B J"}}]));
        assert_eq!(user["name"], json!({"givenName": "Barbara", "familyName": "J", "formatted": "B J"}));
    }

    #[test]
    fn add_to_a_multi_valued_attribute_appends_and_skips_duplicates() {
        let user = patch_user(json!([{"op": "add", "path": "emails", "value": [
            {"value": "babs@jensen.org", "type": "home"},
            {"value": "babs@jensen.org"},
            {"value": "b@new.example", "type": "other"}
        ]}]));
        let emails = user["emails"].as_array().unwrap();
        assert_eq!(emails.len(), 3);
        assert_eq!(emails[2], json!({"value": "b@new.example", "type": "other"}));
    }

    #[test]
    fn add_deduplicates_by_value_within_the_batch_and_against_what_is_there() {
        let user = patch_user(json!([{"op": "add", "path": "emails", "value": [
            {"value": "x@new.example", "type": "work"},
            {"value": "x@new.example", "type": "work"},
            {"value": "x@new.example", "type": "home"},
            {"type": "home"},
            {"value": null, "type": "work"}
        ]}]));
        let emails = user["emails"].as_array().unwrap();
        // The fixture's two emails (work, home) and the two new x@ values; the items
        // without a value are covered by elements that have their fields.
        assert_eq!(emails.len(), 4, "{emails:?}");
        assert_eq!(emails[2], json!({"value": "x@new.example", "type": "work"}));
        assert_eq!(emails[3], json!({"value": "x@new.example", "type": "home"}));
    }

    #[test]
    fn adding_many_members_keeps_each_once_in_order() {
        let members: Vec<Value> = (0..5000).map(|i| json!({"value": format!("u{i}")})).collect();
        let mut group = json!({"displayName": "Big", "members": members});
        let more: Vec<Value> = (2500..7500).map(|i| json!({"value": format!("u{i}")})).collect();
        apply(
            &mut group,
            &[PatchOp { op: OpKind::Add, path: Some("members".into()), value: Some(json!(more)) }],
            &GroupSchema,
        )
        .unwrap();
        let values: Vec<&str> =
            group["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
        assert_eq!(values.len(), 7500);
        assert_eq!((values[0], values[4999], values[5000], values[7499]), ("u0", "u4999", "u5000", "u7499"));
    }

    #[test]
    fn add_of_a_single_object_to_a_multi_valued_attribute_appends_it() {
        let user =
            patch_user(json!([{"op": "add", "path": "phoneNumbers", "value": {"value": "555-1234", "type": "work"}}]));
        assert_eq!(user["phoneNumbers"], json!([{"value": "555-1234", "type": "work"}]));
    }

    #[test]
    fn add_through_a_value_filter_merges_into_matching_values() {
        let user = patch_user(json!([
            {"op": "add", "path": "emails[type eq \"work\"]", "value": {"display": "Work mail"}},
            {"op": "add", "path": "emails[type eq \"home\"].display", "value": "Home mail"}
        ]));
        assert_eq!(
            user["emails"],
            json!([
                {"value": "bjensen@example.com", "type": "work", "primary": true, "display": "Work mail"},
                {"value": "babs@jensen.org", "type": "home", "display": "Home mail"}
            ])
        );
    }

    #[test]
    fn add_through_an_equality_filter_creates_the_missing_value() {
        let resource = json!({"userName": "bjensen"});
        let user = run(
            resource,
            json!([
                {"op": "add", "path": "emails[type eq \"work\"].value", "value": "w@example.com"},
                {"op": "add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
                {"op": "add", "path": "addresses[type eq \"work\"].locality", "value": "Springfield"},
                {"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
                {"op": "add", "path": "phoneNumbers[type eq \"work\" and primary eq true]", "value": {"value": "+1 555 0199"}}
            ]),
            &UserSchema,
        )
        .unwrap();
        assert_eq!(user["emails"], json!([{"type": "work", "value": "w@example.com"}]));
        assert_eq!(
            user["addresses"],
            json!([{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield"}])
        );
        assert_eq!(
            user["phoneNumbers"],
            json!([
                {"type": "mobile", "value": "+1 555 0100"},
                {"type": "work", "primary": true, "value": "+1 555 0199"}
            ])
        );
    }

    #[test]
    fn a_filter_that_is_not_plain_equality_and_matches_nothing_is_no_target() {
        for path in [
            "emails[value co \"zzz\"].display",
            "emails[type eq \"x\" or type eq \"y\"].value",
            "emails[not (type eq \"work\") and type eq \"home\" and value eq \"q\"]",
            "emails[type pr and type eq \"other\"].value",
        ] {
            for op in ["add", "replace"] {
                let error = user_error(json!([{"op": op, "path": path, "value": "x"}]));
                assert_eq!(error.scim_type(), "noTarget", "{op} {path}: {error}");
            }
        }
    }

    #[test]
    fn remove_without_path_is_no_target() {
        let error = user_error(json!([{"op": "remove"}]));
        assert_eq!(error.scim_type(), "noTarget");
        let error = user_error(json!([{"op": "remove", "path": "  "}]));
        assert_eq!(error.scim_type(), "noTarget");
    }

    #[test]
    fn remove_takes_away_attributes_and_sub_attributes() {
        let user = patch_user(json!([
            {"op": "remove", "path": "active"},
            {"op": "remove", "path": "name.givenName"},
            {"op": "remove", "path": "emails.primary"}
        ]));
        assert!(user.get("active").is_none());
        assert_eq!(user["name"], json!({"familyName": "Jensen"}));
        assert!(user["emails"].as_array().unwrap().iter().all(|e| e.get("primary").is_none()));
        let user = patch_user(json!([
            {"op": "remove", "path": "name.givenName"},
            {"op": "remove", "path": "name.familyName"},
            {"op": "remove", "path": "emails"}
        ]));
        assert!(user.get("name").is_none());
        assert!(user.get("emails").is_none());
    }

    #[test]
    fn removing_an_absent_attribute_changes_nothing() {
        let user = patch_user(json!([
            {"op": "remove", "path": "title"},
            {"op": "remove", "path": "addresses.type"},
            {"op": "remove", "path": format!("{ENTERPRISE_URN}:department")}
        ]));
        assert_eq!(user, self::user());
    }

    #[test]
    fn remove_through_a_value_filter_drops_matching_values() {
        let user = patch_user(json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]));
        assert_eq!(user["emails"], json!([{"value": "bjensen@example.com", "type": "work", "primary": true}]));
        let user = patch_user(json!([{"op": "remove", "path": "emails[value ew \".com\" or value ew \".org\"]"}]));
        assert!(user.get("emails").is_none(), "no values left means unassigned");
    }

    #[test]
    fn remove_through_a_value_filter_with_sub_attribute_clears_it_on_matches() {
        let user = patch_user(json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]));
        assert_eq!(user["emails"][0], json!({"value": "bjensen@example.com", "type": "work"}));
        assert_eq!(user["emails"][1], json!({"value": "babs@jensen.org", "type": "home"}));
    }

    #[test]
    fn remove_through_a_filter_without_match_is_no_target() {
        for path in ["emails[type eq \"other\"]", "emails[type eq \"other\"].value", "phoneNumbers[type eq \"work\"]"] {
            let error = user_error(json!([{"op": "remove", "path": path}]));
            assert_eq!(error.scim_type(), "noTarget", "{path}");
        }
    }

    #[test]
    fn entra_removes_members_by_value_list() {
        let group = patch_group(json!([{"op": "Remove", "path": "members", "value": [
            {"value": "2819c223"},
            {"value": "not-a-member"}
        ]}]));
        assert_eq!(member_ids(&group), ["902c246b", "c3a26dd3"]);
        let group = patch_group(json!([{"op": "remove", "path": "members", "value": [
            {"value": "2819c223"}, {"value": "902c246b"}, {"value": "c3a26dd3"}
        ]}]));
        assert!(group.get("members").is_none());
    }

    #[test]
    fn remove_without_value_list_drops_all_members() {
        let group = patch_group(json!([{"op": "remove", "path": "members"}]));
        assert!(group.get("members").is_none());
    }

    #[test]
    fn okta_removes_a_member_by_value_filter() {
        let group = patch_group(json!([{"op": "remove", "path": "members[value eq \"902c246b\"]"}]));
        assert_eq!(member_ids(&group), ["2819c223", "c3a26dd3"]);
    }

    #[test]
    fn members_are_added_without_duplicates() {
        let group = patch_group(json!([{"op": "Add", "path": "members", "value": [
            {"value": "2819c223"},
            {"value": "6c5bb468", "display": "Ann"}
        ]}]));
        assert_eq!(member_ids(&group), ["2819c223", "902c246b", "c3a26dd3", "6c5bb468"]);
    }

    #[test]
    fn replace_without_path_takes_attribute_paths_as_keys() {
        let user = patch_user(json!([{"op": "Replace", "value": {
            "name.givenName": "Babs",
            format!("{ENTERPRISE_URN}:department"): "Sales",
            "active": false
        }}]));
        assert_eq!(user["name"], json!({"givenName": "Babs", "familyName": "Jensen"}));
        assert_eq!(user[ENTERPRISE_URN], json!({"department": "Sales"}));
        assert_eq!(user["active"], false);
        assert_eq!(user["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_URN]));
    }

    #[test]
    fn replace_without_path_accepts_the_extension_as_a_nested_object() {
        let user = patch_user(json!([{"op": "replace", "value": {
            ENTERPRISE_URN: {"department": "Sales", "employeeNumber": "701984"},
            "urn:ietf:params:scim:schemas:core:2.0:User": {"title": "Guide"}
        }}]));
        assert_eq!(user[ENTERPRISE_URN], json!({"department": "Sales", "employeeNumber": "701984"}));
        assert_eq!(user["title"], "Guide");
    }

    #[test]
    fn replace_with_path_sets_merges_or_swaps_whole_lists() {
        let user = patch_user(json!([
            {"op": "replace", "path": "userName", "value": "babs"},
            {"op": "replace", "path": "name", "value": {"givenName": "Babs"}},
            {"op": "replace", "path": "emails", "value": [{"value": "only@example.com", "type": "work"}]},
            {"op": "replace", "path": "title", "value": "Guide"}
        ]));
        assert_eq!(user["userName"], "babs");
        assert_eq!(user["name"], json!({"givenName": "Babs", "familyName": "Jensen"}));
        assert_eq!(user["emails"], json!([{"value": "only@example.com", "type": "work"}]));
        assert_eq!(user["title"], "Guide");
    }

    #[test]
    fn replace_through_a_value_filter_replaces_matching_values_whole() {
        let user = patch_user(
            json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "new@jensen.org"}}]),
        );
        assert_eq!(user["emails"][1], json!({"type": "home", "value": "new@jensen.org"}));
        let user =
            patch_user(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@example.org"}]));
        assert_eq!(user["emails"][0], json!({"value": "b@example.org", "type": "work", "primary": true}));
    }

    #[test]
    fn entra_replace_through_an_equality_filter_creates_the_missing_value() {
        let user = patch_user(json!([
            {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
            {"op": "Replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
            {"op": "Replace", "path": "emails[type eq \"other\"]", "value": {"value": "o@example.com"}}
        ]));
        assert_eq!(user["phoneNumbers"], json!([{"type": "mobile", "value": "+1 555 0100"}]));
        assert_eq!(user["addresses"], json!([{"type": "work", "streetAddress": "1 Main St"}]));
        assert_eq!(user["emails"][2], json!({"type": "other", "value": "o@example.com"}));
    }

    #[test]
    fn replace_with_null_unassigns_and_add_with_null_does_nothing() {
        let user = patch_user(json!([
            {"op": "replace", "path": "name.givenName", "value": null},
            {"op": "replace", "value": {"active": null}},
            {"op": "add", "path": "title", "value": null}
        ]));
        assert_eq!(user["name"], json!({"familyName": "Jensen"}));
        assert!(user.get("active").is_none());
        assert!(user.get("title").is_none());
    }

    #[test]
    fn primary_true_on_one_value_clears_it_on_the_others() {
        let user = patch_user(
            json!([{"op": "add", "path": "emails", "value": [{"value": "n@example.com", "primary": "True"}]}]),
        );
        assert_eq!(user["emails"][0]["primary"], false);
        assert_eq!(user["emails"][2]["primary"], true);
        let user = patch_user(json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]));
        assert_eq!(user["emails"][0]["primary"], false);
        assert_eq!(user["emails"][1]["primary"], true);
        let error = user_error(json!([{"op": "replace", "path": "emails", "value": [
            {"value": "a@example.com", "primary": true},
            {"value": "b@example.com", "primary": true}
        ]}]));
        assert_eq!(error.scim_type(), "invalidValue");
    }

    #[test]
    fn read_only_attributes_cannot_be_written() {
        for (op, path, value) in [
            ("replace", "id", json!("x")),
            ("remove", "id", Value::Null),
            ("replace", "meta.created", json!("2020-01-01T00:00:00Z")),
            ("add", "groups", json!([{"value": "g"}])),
            ("remove", "groups[value eq \"e9e30dba\"]", Value::Null),
            ("replace", &format!("{ENTERPRISE_URN}:manager.displayName"), json!("Boss")),
        ] {
            let mut op = json!({"op": op, "path": path});
            if !value.is_null() {
                op["value"] = value;
            }
            let error = user_error(json!([op]));
            assert_eq!(error.scim_type(), "mutability", "{op}: {error}");
        }
        let error = user_error(json!([{"op": "replace", "value": {"groups": []}}]));
        assert_eq!(error.scim_type(), "mutability");
    }

    #[test]
    fn read_only_sub_attributes_inside_a_value_are_ignored() {
        // An IdP echoing what it read (manager.displayName, members.display) is not refused:
        // the service provider keeps its own value (RFC 7643 §7).
        let user = patch_user(json!([{"op": "add", "path": format!("{ENTERPRISE_URN}:manager"),
            "value": {"value": "x", "displayName": "Boss"}}]));
        assert_eq!(user[ENTERPRISE_URN]["manager"], json!({"value": "x"}));
    }

    #[test]
    fn an_extension_value_may_repeat_its_schemas() {
        let user = patch_user(json!([{"op": "add", "path": ENTERPRISE_URN,
            "value": {"schemas": [ENTERPRISE_URN], "employeeNumber": "42"}}]));
        assert_eq!(user[ENTERPRISE_URN]["employeeNumber"], "42");
        assert!(user[ENTERPRISE_URN].get("schemas").is_none());
    }

    #[test]
    fn schemas_id_and_meta_in_a_pathless_value_are_ignored() {
        let user = patch_user(json!([{"op": "replace", "value": {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "other",
            "meta": {"resourceType": "User"},
            "active": false
        }}]));
        assert_eq!(user["id"], "2819c223-7f76-453a-919d-413861904646");
        assert_eq!(user["active"], false);
    }

    #[test]
    fn immutable_values_can_be_set_but_not_changed() {
        let error = run(
            group(),
            json!([{"op": "replace", "path": "members[value eq \"2819c223\"].value", "value": "other"}]),
            &GroupSchema,
        )
        .unwrap_err();
        assert_eq!(error.scim_type(), "mutability");
        let error = run(
            group(),
            json!([{"op": "replace", "path": "members[value eq \"2819c223\"]", "value": {"value": "other"}}]),
            &GroupSchema,
        )
        .unwrap_err();
        assert_eq!(error.scim_type(), "mutability");
        let error =
            run(group(), json!([{"op": "remove", "path": "members[value eq \"2819c223\"].value"}]), &GroupSchema)
                .unwrap_err();
        assert_eq!(error.scim_type(), "mutability");
        let group = patch_group(json!([
            {"op": "replace", "path": "members[value eq \"2819c223\"]", "value": {"value": "2819c223", "display": "B"}},
            {"op": "replace", "path": "members[value eq \"902c246b\"].display", "value": "M"}
        ]));
        assert_eq!(group["members"][0], json!({"value": "2819c223", "display": "B"}));
        assert_eq!(group["members"][1], json!({"value": "902c246b", "display": "M"}));
    }

    #[test]
    fn unknown_attributes_are_invalid_paths() {
        for op in [
            json!({"op": "add", "path": "nickName", "value": "Babs"}),
            json!({"op": "replace", "path": "name.middleName", "value": "J"}),
            json!({"op": "remove", "path": "urn:example:params:scim:schemas:extension:acme:2.0:User:costCenter"}),
            json!({"op": "replace", "path": format!("{ENTERPRISE_URN}:userName"), "value": "x"}),
            json!({"op": "replace", "value": {"nickName": "Babs"}}),
            json!({"op": "replace", "value": {ENTERPRISE_URN: {"costCenter": "4130"}}}),
            json!({"op": "add", "path": "name", "value": {"middleName": "J"}}),
            json!({"op": "add", "path": "emails", "value": [{"value": "x@example.com", "label": "x"}]}),
            json!({"op": "remove", "path": "emails[label eq \"x\"]"}),
            json!({"op": "replace", "path": "title.value", "value": "x"}),
            json!({"op": "replace", "path": "name[givenName eq \"x\"]", "value": "x"}),
        ] {
            let error = user_error(json!([op]));
            assert_eq!(error.scim_type(), "invalidPath", "{op}: {error}");
        }
    }

    #[test]
    fn malformed_paths_and_filters_are_reported() {
        let error = user_error(json!([{"op": "remove", "path": "emails[type eq \"work\""}]));
        assert_eq!(error.scim_type(), "invalidFilter");
        let error = user_error(json!([{"op": "remove", "path": "emails[type zz \"work\"]"}]));
        assert_eq!(error.scim_type(), "invalidFilter");
        let error = user_error(json!([{"op": "remove", "path": "emails type"}]));
        assert_eq!(error.scim_type(), "invalidPath");
        let error = user_error(json!([{"op": "remove", "path": "emails[type eq \"work\"].value.x"}]));
        assert_eq!(error.scim_type(), "invalidPath");
    }

    #[test]
    fn values_of_the_wrong_type_are_invalid() {
        for op in [
            json!({"op": "replace", "path": "active", "value": "maybe"}),
            json!({"op": "replace", "path": "active", "value": 1}),
            json!({"op": "replace", "path": "title", "value": 5}),
            json!({"op": "replace", "path": "loginCount", "value": 1.5}),
            json!({"op": "replace", "path": "name", "value": "Barbara"}),
            json!({"op": "replace", "path": "name", "value": [{"givenName": "a"}, {"givenName": "b"}]}),
            json!({"op": "add", "path": "emails", "value": [{"value": "x@example.com", "primary": "yes"}]}),
            json!({"op": "add", "path": "emails", "value": [[1]]}),
            json!({"op": "replace", "value": "not an object"}),
            json!({"op": "replace", "value": {ENTERPRISE_URN: "Sales"}}),
            json!({"op": "add", "path": "title"}),
        ] {
            let error = user_error(json!([op]));
            assert_eq!(error.scim_type(), "invalidValue", "{op}: {error}");
        }
    }

    #[test]
    fn booleans_sent_as_strings_are_accepted() {
        let user = patch_user(json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "emails[type eq \"home\"].primary", "value": "true"}
        ]));
        assert_eq!(user["active"], false);
        assert_eq!(user["emails"][1]["primary"], true);
        assert_eq!(user["emails"][0]["primary"], false);
        let user = patch_user(json!([{"op": "replace", "value": {"active": "TRUE"}}]));
        assert_eq!(user["active"], true);
    }

    #[test]
    fn entra_sends_the_manager_as_a_bare_id() {
        let manager_path = format!("{ENTERPRISE_URN}:manager");
        let mut resource = user();
        resource[ENTERPRISE_URN] = json!({"manager": {"value": "old", "displayName": "Old Boss"}});
        let user = run(
            resource,
            json!([{"op": "Replace", "path": manager_path, "value": "26118915-6090-4610-87e4-49d8ca9f808d"}]),
            &UserSchema,
        )
        .unwrap();
        assert_eq!(user[ENTERPRISE_URN]["manager"], json!({"value": "26118915-6090-4610-87e4-49d8ca9f808d"}));
        let user = patch_user(json!([{"op": "add", "path": manager_path, "value": {"value": "x"}}]));
        assert_eq!(user[ENTERPRISE_URN]["manager"], json!({"value": "x"}));
        let user = patch_user(json!([{"op": "add", "path": format!("{manager_path}.value"), "value": "y"}]));
        assert_eq!(user[ENTERPRISE_URN]["manager"], json!({"value": "y"}));
        let user = run(user, json!([{"op": "remove", "path": manager_path}]), &UserSchema).unwrap();
        assert_eq!(user[ENTERPRISE_URN], json!({}));
    }

    #[test]
    fn okta_sends_single_values_in_arrays_and_pathless_objects() {
        let user = patch_user(json!([
            {"op": "replace", "value": {"active": false}},
            {"op": "replace", "path": "title", "value": ["Guide"]},
            {"op": "replace", "value": {"displayName": ["Babs"]}}
        ]));
        assert_eq!(user["active"], false);
        assert_eq!(user["title"], "Guide");
        assert_eq!(user["displayName"], "Babs");
        let error = user_error(json!([{"op": "replace", "path": "title", "value": ["a", "b"]}]));
        assert_eq!(error.scim_type(), "invalidValue");
    }

    #[test]
    fn keys_are_matched_case_insensitively_and_written_canonically() {
        let resource = json!({"UserName": "bjensen", "NAME": {"GIVENNAME": "Barbara"}});
        let user = run(
            resource,
            json!([
                {"op": "replace", "path": "userName", "value": "babs"},
                {"op": "replace", "path": "Name.givenName", "value": "Babs"},
                {"op": "add", "path": "TITLE", "value": "Guide"},
                {"op": "add", "path": "EMAILS", "value": [{"VALUE": "a@example.com", "Type": "work"}]}
            ]),
            &UserSchema,
        )
        .unwrap();
        assert_eq!(
            user,
            json!({
                "UserName": "babs",
                "NAME": {"GIVENNAME": "Babs"},
                "title": "Guide",
                "emails": [{"value": "a@example.com", "type": "work"}]
            })
        );
    }

    #[test]
    fn urn_qualified_core_paths_write_at_the_top_level() {
        let user = patch_user(
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName", "value": "Babs"}]),
        );
        assert_eq!(user["name"]["givenName"], "Babs");
    }

    #[test]
    fn a_whole_extension_can_be_replaced_and_removed() {
        let user = patch_user(
            json!([{"op": "replace", "path": ENTERPRISE_URN, "value": {"employeeNumber": "7", "manager": "m1"}}]),
        );
        assert_eq!(user[ENTERPRISE_URN], json!({"employeeNumber": "7", "manager": {"value": "m1"}}));
        let user = run(user, json!([{"op": "remove", "path": ENTERPRISE_URN}]), &UserSchema).unwrap();
        assert!(user.get(ENTERPRISE_URN).is_none());
        assert_eq!(user["schemas"], json!(["urn:ietf:params:scim:schemas:core:2.0:User"]));
    }

    #[test]
    fn a_patch_is_all_or_nothing() {
        let mut resource = user();
        let request = ops(json!([
            {"op": "replace", "path": "title", "value": "Guide"},
            {"op": "replace", "path": "id", "value": "x"}
        ]));
        assert!(apply(&mut resource, &request, &UserSchema).is_err());
        assert_eq!(resource, user());
    }

    #[test]
    fn a_typical_entra_user_update_applies() {
        let user = patch_user(json!([
            {"op": "Replace", "path": "displayName", "value": "Barbara Jensen"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "barbara@example.com"},
            {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0142"},
            {"op": "Replace", "path": "name.familyName", "value": "Jensen-Smith"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "701984"},
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "value": {"title": "Tour Guide", "externalId": "bjensen-ext"}}
        ]));
        assert_eq!(user["displayName"], "Barbara Jensen");
        assert_eq!(user["emails"][0]["value"], "barbara@example.com");
        assert_eq!(user["phoneNumbers"], json!([{"type": "work", "value": "+1 555 0142"}]));
        assert_eq!(user["name"]["familyName"], "Jensen-Smith");
        assert_eq!(user[ENTERPRISE_URN]["employeeNumber"], "701984");
        assert_eq!(user["active"], false);
        assert_eq!(user["externalId"], "bjensen-ext");
    }

    #[test]
    fn the_resource_must_be_an_object() {
        let mut resource = json!([]);
        let error = apply(&mut resource, &[], &UserSchema).unwrap_err();
        assert_eq!(error.scim_type(), "invalidValue");
    }
}
