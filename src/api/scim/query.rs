//! Query parameters (RFC 7644 §3.4.2) and SCIM filters compiled to store predicates.
//! A filter on indexed attributes compiles exactly, so the database pages and counts; any
//! other filter compiles to a superset and is finished in memory by the evaluator.

use serde_json::Value;

use super::error::ScimError;
use super::filter::{self, AttrPath, CompareOp, Filter, Value as FV};
use super::mapping::{get_ci, lenient_bool};
use super::schema::{GROUP_URN, USER_URN};
use crate::store::groups::GroupPred;
use crate::store::user_query::{Pred, SortKey, StrOp, TextField, TimeField};

/// `startIndex`, `count`, `filter`, `sortBy`, `sortOrder`, `attributes`,
/// `excludedAttributes`, from a query string or a `/.search` body.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: Option<Filter>,
    pub sort_by: Option<AttrPath>,
    pub descending: bool,
    /// 1-based.
    pub start_index: i64,
    pub count: i64,
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

/// The list parameters as they arrive (query string or `/.search` body).
#[derive(Debug, Clone, Default)]
pub struct RawParams {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub attributes: Option<String>,
    pub excluded: Option<String>,
}

impl RawParams {
    /// From a query string, parameter names compared case-insensitively.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> RawParams {
        RawParams {
            filter: get("filter"),
            sort_by: get("sortBy"),
            sort_order: get("sortOrder"),
            start_index: get("startIndex"),
            count: get("count"),
            attributes: get("attributes"),
            excluded: get("excludedAttributes"),
        }
    }
}

fn int(v: Option<&str>, name: &str) -> Result<Option<i64>, ScimError> {
    v.map(|s| s.trim().parse::<i64>().map_err(|_| ScimError::bad("invalidValue", format!("{name} must be an integer"))))
        .transpose()
}

impl ListParams {
    /// From the raw parameter values; `max` bounds `count` (the SPC's filter.maxResults).
    pub fn parse(raw: &RawParams, max: i64) -> Result<ListParams, ScimError> {
        let filter_s = raw.filter.as_deref();
        let (sort_by, sort_order) = (raw.sort_by.as_deref(), raw.sort_order.as_deref());
        let (start_index, count) = (raw.start_index.as_deref(), raw.count.as_deref());
        let (attributes, excluded) = (raw.attributes.as_deref(), raw.excluded.as_deref());
        let filter = match filter_s.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(f) => Some(filter::parse(f).map_err(|e| ScimError::bad("invalidFilter", e.to_string()))?),
        };
        let sort_by = sort_by
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| filter::parse_attr_path(s).map_err(|e| ScimError::bad("invalidValue", format!("sortBy: {e}"))))
            .transpose()?;
        let descending = match sort_order.map(str::trim) {
            None | Some("") => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(o) => {
                return Err(ScimError::bad("invalidValue", format!("sortOrder {o:?}: use ascending or descending")));
            }
        };
        // RFC 7644 §3.4.2.4: startIndex < 1 is read as 1; a negative count as 0.
        let start_index = int(start_index, "startIndex")?.unwrap_or(1).max(1);
        let count = int(count, "count")?.unwrap_or(max).clamp(0, max);
        Ok(ListParams {
            filter,
            sort_by,
            descending,
            start_index,
            count,
            attributes: attributes.map(super::schema::parse_attr_list).unwrap_or_default(),
            excluded: excluded.map(super::schema::parse_attr_list).unwrap_or_default(),
        })
    }

    /// From a `POST /.search` body (RFC 7644 §3.4.3).
    pub fn from_search(body: &Value, max: i64) -> Result<ListParams, ScimError> {
        let Value::Object(o) = body else {
            return Err(ScimError::bad("invalidSyntax", "the body must be a JSON object"));
        };
        let s = |k: &str| -> Result<Option<String>, ScimError> {
            match get_ci(o, k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Array(a)) => Ok(Some(a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))),
                Some(_) => Err(ScimError::bad("invalidValue", format!("{k} has the wrong type"))),
            }
        };
        let raw = RawParams {
            filter: s("filter")?,
            sort_by: s("sortBy")?,
            sort_order: s("sortOrder")?,
            start_index: s("startIndex")?,
            count: s("count")?,
            attributes: s("attributes")?,
            excluded: s("excludedAttributes")?,
        };
        ListParams::parse(&raw, max)
    }
}

fn is_core(path: &AttrPath, core: &str) -> bool {
    path.urn.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(core))
}

fn named(path: &AttrPath, name: &str, sub: Option<&str>) -> bool {
    path.name.eq_ignore_ascii_case(name)
        && match (path.sub.as_deref(), sub) {
            (None, None) => true,
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        }
}

fn str_op(op: CompareOp) -> Option<StrOp> {
    match op {
        CompareOp::Eq => Some(StrOp::Eq),
        CompareOp::Co => Some(StrOp::Co),
        CompareOp::Sw => Some(StrOp::Sw),
        CompareOp::Ew => Some(StrOp::Ew),
        CompareOp::Gt => Some(StrOp::Gt),
        CompareOp::Ge => Some(StrOp::Ge),
        CompareOp::Lt => Some(StrOp::Lt),
        CompareOp::Le => Some(StrOp::Le),
        CompareOp::Ne => None,
    }
}

/// Text operators whose SQL result equals the evaluator's on a case-folded column (order
/// comparisons are not: PostgreSQL collations need not order by code point).
fn folded_exact(op: StrOp) -> bool {
    matches!(op, StrOp::Eq | StrOp::Co | StrOp::Sw | StrOp::Ew)
}

const SUPERSET: (Pred, bool) = (Pred::All, false);

fn compare(path: &AttrPath, op: CompareOp, value: &FV) -> (Pred, bool) {
    if op == CompareOp::Ne {
        // ne = not eq, where absent counts as "not equal" — exact for single-valued columns.
        let (p, exact) = compare(path, CompareOp::Eq, value);
        let single = !(named(path, "emails", None)
            || named(path, "emails", Some("value"))
            || path.name.eq_ignore_ascii_case("groups"));
        return if exact && single { (Pred::Not(Box::new(p)), true) } else { SUPERSET };
    }
    if !is_core(path, USER_URN) {
        return SUPERSET;
    }
    let Some(sop) = str_op(op) else {
        return SUPERSET;
    };
    match value {
        FV::String(v) => {
            let text = |f: TextField, exact: bool| (Pred::Text(f, sop, v.clone()), exact);
            if named(path, "userName", None) {
                text(TextField::UserName, folded_exact(sop))
            } else if named(path, "displayName", None) {
                text(TextField::DisplayName, folded_exact(sop))
            } else if named(path, "id", None) && sop == StrOp::Eq {
                text(TextField::Id, true)
            } else if named(path, "externalId", None) && sop == StrOp::Eq {
                text(TextField::ExternalId, true)
            } else if named(path, "emails", None) || named(path, "emails", Some("value")) {
                (Pred::Email { value: Some((sop, v.clone())), kind: None, primary: None }, folded_exact(sop))
            } else if (named(path, "groups", None) || named(path, "groups", Some("value"))) && sop == StrOp::Eq {
                (Pred::InGroup(v.clone()), true)
            } else if path.name.eq_ignore_ascii_case("meta") {
                let field = match path.sub.as_deref() {
                    Some(s) if s.eq_ignore_ascii_case("created") => TimeField::Created,
                    Some(s) if s.eq_ignore_ascii_case("lastModified") => TimeField::Modified,
                    _ => return SUPERSET,
                };
                match (chrono::DateTime::parse_from_rfc3339(v), sop) {
                    (Ok(_), StrOp::Co | StrOp::Sw | StrOp::Ew) | (Err(_), _) => SUPERSET,
                    (Ok(t), _) => (Pred::Time(field, sop, t.with_timezone(&chrono::Utc)), true),
                }
            } else {
                SUPERSET
            }
        }
        FV::Bool(b) if sop == StrOp::Eq => {
            if named(path, "active", None) {
                (Pred::Active(*b), true)
            } else if named(path, "emails", Some("primary")) {
                (Pred::Email { value: None, kind: None, primary: Some(*b) }, true)
            } else {
                SUPERSET
            }
        }
        _ => SUPERSET,
    }
}

/// `emails[…]`: the conditions on one email row; exact when each part is.
fn email_value_path(inner: &Filter) -> (Pred, bool) {
    let mut parts = vec![];
    fn flatten<'a>(f: &'a Filter, out: &mut Vec<&'a Filter>) {
        match f {
            Filter::And(a, b) => {
                flatten(a, out);
                flatten(b, out);
            }
            other => out.push(other),
        }
    }
    flatten(inner, &mut parts);
    let (mut value, mut kind, mut primary, mut exact) = (None, None, None, true);
    for p in parts {
        match p {
            Filter::Compare { path, op, value: FV::String(v) } if path.name.eq_ignore_ascii_case("value") => {
                match str_op(*op) {
                    Some(sop) if value.is_none() => {
                        exact &= folded_exact(sop);
                        value = Some((sop, v.clone()));
                    }
                    _ => exact = false,
                }
            }
            Filter::Compare { path, op: CompareOp::Eq, value: FV::String(v) }
                if path.name.eq_ignore_ascii_case("type") =>
            {
                // `type` is caseExact=false; the column keeps the case sent: narrow by the
                // exact spelling only when it is already lower case, and finish in memory.
                exact = false;
                if v.chars().all(|c| !c.is_uppercase()) {
                    kind = Some(v.clone());
                }
            }
            Filter::Compare { path, op: CompareOp::Eq, value: FV::Bool(b) }
                if path.name.eq_ignore_ascii_case("primary") =>
            {
                primary = Some(*b);
            }
            _ => exact = false,
        }
    }
    // The stored kind may be "Work" where the filter says "work": only narrow by kind when
    // the answer is finished in memory anyway, and never drop rows it should keep.
    let kind = if exact { kind } else { None };
    (Pred::Email { value, kind, primary }, exact)
}

/// A user filter as a store predicate and whether the predicate is the exact answer.
pub fn user_pred(f: &Filter) -> (Pred, bool) {
    match f {
        Filter::Compare { path, op, value } => compare(path, *op, value),
        Filter::Present(path) if is_core(path, USER_URN) => {
            if named(path, "userName", None) || named(path, "id", None) {
                (Pred::All, true)
            } else if named(path, "externalId", None) {
                (Pred::Present(TextField::ExternalId), true)
            } else if named(path, "displayName", None) {
                (Pred::Present(TextField::DisplayName), true)
            } else if named(path, "emails", None) || named(path, "emails", Some("value")) {
                (Pred::Email { value: None, kind: None, primary: None }, true)
            } else {
                SUPERSET
            }
        }
        Filter::Present(_) => SUPERSET,
        Filter::And(a, b) => {
            let ((pa, ea), (pb, eb)) = (user_pred(a), user_pred(b));
            (Pred::And(Box::new(pa), Box::new(pb)), ea && eb)
        }
        Filter::Or(a, b) => {
            let ((pa, ea), (pb, eb)) = (user_pred(a), user_pred(b));
            (Pred::Or(Box::new(pa), Box::new(pb)), ea && eb)
        }
        Filter::Not(a) => match user_pred(a) {
            (p, true) => (Pred::Not(Box::new(p)), true),
            _ => SUPERSET,
        },
        Filter::ValuePath { path, filter } if is_core(path, USER_URN) && named(path, "emails", None) => {
            email_value_path(filter)
        }
        Filter::ValuePath { path, filter } if is_core(path, USER_URN) && named(path, "groups", None) => match &**filter
        {
            Filter::Compare { path: p, op: CompareOp::Eq, value: FV::String(v) }
                if p.name.eq_ignore_ascii_case("value") =>
            {
                (Pred::InGroup(v.clone()), true)
            }
            _ => SUPERSET,
        },
        Filter::ValuePath { .. } => SUPERSET,
    }
}

/// A group filter: exact for `displayName eq`, `externalId eq`, `id eq`; else None
/// (evaluated in memory).
pub fn group_pred(f: &Filter) -> Option<GroupPred> {
    match f {
        Filter::Compare { path, op: CompareOp::Eq, value: FV::String(v) } if is_core(path, GROUP_URN) => {
            if named(path, "displayName", None) {
                Some(GroupPred::DisplayName(v.clone()))
            } else if named(path, "externalId", None) {
                Some(GroupPred::ExternalId(v.clone()))
            } else if named(path, "id", None) {
                Some(GroupPred::Id(v.clone()))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The SQL sort of a user `sortBy`, when there is one.
pub fn user_sort(path: &AttrPath) -> Option<SortKey> {
    if !is_core(path, USER_URN) {
        return None;
    }
    if named(path, "userName", None) {
        Some(SortKey::UserName)
    } else if named(path, "id", None) {
        Some(SortKey::Id)
    } else if named(path, "externalId", None) {
        Some(SortKey::ExternalId)
    } else if named(path, "displayName", None) {
        Some(SortKey::DisplayName)
    } else if named(path, "meta", Some("created")) {
        Some(SortKey::Created)
    } else if named(path, "meta", Some("lastModified")) {
        Some(SortKey::Modified)
    } else {
        None
    }
}

/// The sort key of a rendered resource for an in-memory sort: the attribute's first
/// value, case-folded unless caseExact (RFC 7644 §3.4.2.3).
pub fn sort_value(resource: &Value, path: &AttrPath, case_exact: bool) -> Option<String> {
    let Value::Object(o) = resource else {
        return None;
    };
    let holder = match &path.urn {
        Some(u) if !u.eq_ignore_ascii_case(USER_URN) && !u.eq_ignore_ascii_case(GROUP_URN) => match get_ci(o, u) {
            Some(Value::Object(e)) => e,
            _ => return None,
        },
        _ => o,
    };
    let mut v = get_ci(holder, &path.name)?;
    if let Value::Array(a) = v {
        v = a
            .iter()
            .find(|e| e.as_object().and_then(|m| get_ci(m, "primary")).and_then(lenient_bool) == Some(true))
            .or(a.first())?;
    }
    if let Some(sub) = &path.sub {
        v = get_ci(v.as_object()?, sub)?;
    } else if let Value::Object(m) = v {
        v = get_ci(m, "value")?;
    }
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => return None,
        other => other.to_string(),
    };
    Some(if case_exact { s } else { super::mapping::folded(&s) })
}
