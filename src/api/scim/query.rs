//! List query parameters (RFC 7644 §3.4.2), from a query string or a `/.search` body
//! (§3.4.3). What they ask of the directory is planned by `service::query`.

use serde_json::Value;

use super::cursor;
use super::error::ScimError;
use crate::scim::attrs::SchemaInfo;
use crate::scim::filter::{self, Filter};
use crate::scim::json::get_ci;
use crate::scim::sort::SortSpec;
use crate::service::query::ListQuery;

/// `startIndex`, `count`, `filter`, `sortBy`, `sortOrder`, `attributes`,
/// `excludedAttributes`, from a query string or a `/.search` body.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: Option<Filter>,
    pub sort: Option<SortSpec>,
    /// 1-based.
    pub start_index: i64,
    pub count: i64,
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
    /// Cursor paging (RFC 9865): the cursor as presented (empty: the first page).
    pub cursor: Option<String>,
}

/// A list's query for one resource type, and, for cursor paging, the fingerprint its
/// cursors carry.
#[derive(Debug, Clone)]
pub struct Listing {
    pub query: ListQuery,
    pub fingerprint: Option<String>,
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
    pub cursor: Option<String>,
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
            cursor: get("cursor"),
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
        let sort_path = sort_by
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
        if raw.cursor.is_some() && start_index.is_some() {
            return Err(ScimError::bad(
                "invalidValue",
                "startIndex and cursor are two ways of paging (RFC 7644 §3.4.2.4, RFC 9865): use one",
            ));
        }
        // RFC 7644 §3.4.2.4: startIndex < 1 is read as 1; a negative count as 0.
        let start_index = int(start_index, "startIndex")?.unwrap_or(1).max(1);
        let count = int(count, "count")?.unwrap_or(max).clamp(0, max);
        Ok(ListParams {
            filter,
            sort: sort_path.map(|path| SortSpec { path, descending }),
            start_index,
            count,
            attributes: attributes.map(crate::scim::projection::parse_attr_list).unwrap_or_default(),
            excluded: excluded.map(crate::scim::projection::parse_attr_list).unwrap_or_default(),
            cursor: raw.cursor.clone(),
        })
    }

    /// What the list asks of the directory of one resource type, its filter bound to the
    /// type's schema (`scim::filter::bind`); a cursor is read against that query, and
    /// `cursor_timeout_secs` after it was issued it has expired.
    pub fn query(&self, schema: &dyn SchemaInfo, cursor_timeout_secs: u64) -> Result<Listing, ScimError> {
        let filter = self
            .filter
            .clone()
            .map(|f| filter::bind(f, schema))
            .transpose()
            .map_err(|e| ScimError::bad("invalidFilter", e))?;
        let (cursor, fingerprint) = match &self.cursor {
            None => (None, None),
            Some(text) => {
                let fp = cursor::fingerprint(schema.core_urn(), filter.as_ref(), self.sort.as_ref());
                let now = chrono::Utc::now().timestamp();
                (Some(cursor::decode(text, &fp, now, cursor_timeout_secs)?), Some(fp))
            }
        };
        let query =
            ListQuery { filter, sort: self.sort.clone(), offset: self.start_index - 1, count: self.count, cursor };
        Ok(Listing { query, fingerprint })
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
            cursor: s("cursor")?,
        };
        ListParams::parse(&raw, max)
    }
}
