//! The query planner for SCIM lists, for Users and Groups alike: a filter on indexed
//! attributes becomes an exact store predicate (the database filters, counts, sorts and
//! pages); any other filter becomes a superset predicate whose candidates — at most
//! `scim.max_filter_scan` of them — are finished in memory by the SCIM evaluator. Both
//! paths order by the one rule of `scim::sort` (missing values last ascending and first
//! descending, `caseExact` honoured, ties in id order), so a request's answer does not
//! depend on the path taken or on the backend.

use serde_json::Value;

pub use crate::domain::Position;
use crate::error::ServiceError;
use crate::scim::attrs::SchemaInfo;
use crate::scim::filter::{AttrPath, CompareOp, Filter, Value as FV, matches};
use crate::scim::limits::json_size;
use crate::scim::schema::{GROUP_URN, USER_URN};
use crate::scim::sort::{self, SortSpec};
use crate::store::groups::{GroupPred, GroupSortKey};
use crate::store::user_query::{Pred, SortKey, StrOp, TextField, TimeField};

/// What a list asks: filter, sort and the page (`offset` = startIndex − 1, or a cursor).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort: Option<SortSpec>,
    pub offset: i64,
    pub count: i64,
    /// Cursor paging (RFC 9865) instead of `offset`.
    pub cursor: Option<Cursor>,
}

/// Where a cursor-paged page starts (RFC 9865): a keyset position in the list's order,
/// so that pages neither skip nor repeat resources when others are added or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// The first page.
    Start,
    /// The page after this position (`inclusive`: starting at it).
    After { pos: Position, inclusive: bool },
    /// The page before this position (`inclusive`: ending at it).
    Before { pos: Position, inclusive: bool },
}

impl Cursor {
    /// The point between two resources where an empty page at this cursor stands: a
    /// position and whether the point is just after it (else just before it).
    fn split(&self) -> Option<(&Position, bool)> {
        match self {
            Cursor::Start => None,
            Cursor::After { pos, inclusive } => Some((pos, !inclusive)),
            Cursor::Before { pos, inclusive } => Some((pos, *inclusive)),
        }
    }
}

/// One page of a list, rendered, and the number of matches.
#[derive(Debug)]
pub struct Page {
    pub total: i64,
    pub resources: Vec<Resource>,
    /// The resources' size as compact JSON (their share of the byte budget).
    pub bytes: usize,
    /// A cursor-paged page's neighbours (`None` for index paging).
    pub edges: Option<Edges>,
}

/// A resource on a list page: its document (the surface projects it when it answers) or,
/// when the answer shows every attribute returned by default, its JSON already written.
#[derive(Debug)]
pub enum Resource {
    Doc(Value),
    Json(Vec<u8>),
}

impl Resource {
    /// The resource as a document (JSON already written is read back: Bulk needs a created
    /// resource's id).
    pub fn to_value(&self) -> Value {
        match self {
            Resource::Doc(v) => v.clone(),
            Resource::Json(bytes) => serde_json::from_slice(bytes).unwrap_or_default(),
        }
    }

    /// Its size as compact JSON (its share of the byte budget).
    fn size(&self) -> usize {
        match self {
            Resource::Doc(doc) => json_size(doc),
            Resource::Json(bytes) => bytes.len(),
        }
    }
}

/// The cursors of the pages around a cursor-paged page: `previous` unless nothing lies
/// before it, `next` unless nothing lies after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edges {
    pub previous: Option<Cursor>,
    pub next: Option<Cursor>,
}

impl Edges {
    /// The cursors around a page from its first and last positions, or — an empty page —
    /// from the point it stands at; `before`/`after`: whether resources lie there.
    pub fn around(page: Option<(&Position, &Position)>, at: &Cursor, before: bool, after: bool) -> Edges {
        let (previous, next) = match (page, at.split()) {
            (Some((first, last)), _) => (
                Cursor::Before { pos: first.clone(), inclusive: false },
                Cursor::After { pos: last.clone(), inclusive: false },
            ),
            (None, Some((pos, just_after))) => (
                Cursor::Before { pos: pos.clone(), inclusive: just_after },
                Cursor::After { pos: pos.clone(), inclusive: !just_after },
            ),
            (None, None) => return Edges::default(),
        };
        Edges { previous: before.then_some(previous), next: after.then_some(next) }
    }
}

/// The keyset paging a store predicate type offers (users and groups alike).
pub trait Keyset: Clone {
    type Key: Copy;
    /// `self`, restricted to the resources after (`forward`) or before `pos` in the order
    /// of `key`, `descending` (`inclusive`: and the one at `pos`).
    fn beyond(self, key: Self::Key, descending: bool, pos: Position, forward: bool, inclusive: bool) -> Self;
}

impl Keyset for Pred {
    type Key = SortKey;
    fn beyond(self, key: SortKey, descending: bool, pos: Position, forward: bool, inclusive: bool) -> Pred {
        Pred::And(Box::new(self), Box::new(Pred::Beyond { key, descending, pos, forward, inclusive }))
    }
}

impl Keyset for GroupPred {
    type Key = GroupSortKey;
    fn beyond(self, key: GroupSortKey, descending: bool, pos: Position, forward: bool, inclusive: bool) -> GroupPred {
        GroupPred::Beyond { inner: Box::new(self), key, descending, pos, forward, inclusive }
    }
}

/// How a store plan reads a cursor-paged page: the rows past the cursor, and whether they
/// are read backwards (a previous page: nearest the cursor first, then put in order, so
/// that a page cut by the byte budget keeps the resources next to the cursor).
pub struct CursorRead<P> {
    pub pred: P,
    pub backward: bool,
}

impl<P: Keyset> CursorRead<P> {
    pub fn new(pred: &P, key: P::Key, descending: bool, cursor: &Cursor) -> Self {
        match cursor {
            Cursor::Start => CursorRead { pred: pred.clone(), backward: false },
            Cursor::After { pos, inclusive } => CursorRead {
                pred: pred.clone().beyond(key, descending, pos.clone(), true, *inclusive),
                backward: false,
            },
            Cursor::Before { pos, inclusive } => CursorRead {
                pred: pred.clone().beyond(key, descending, pos.clone(), false, *inclusive),
                backward: true,
            },
        }
    }
}

/// The predicates of what lies before and after a cursor-paged page (each probed with a
/// one-row read): before its first and after its last position, or — an empty page — on
/// either side of the point it stands at. `None` for the first page's empty answer.
pub fn edge_probes<P: Keyset>(
    pred: &P,
    key: P::Key,
    descending: bool,
    page: Option<(&Position, &Position)>,
    at: &Cursor,
) -> Option<(P, P)> {
    let side = |pos: &Position, forward: bool, inclusive: bool| {
        pred.clone().beyond(key, descending, pos.clone(), forward, inclusive)
    };
    match (page, at.split()) {
        (Some((first, last)), _) => Some((side(first, false, false), side(last, true, false))),
        (None, Some((pos, just_after))) => Some((side(pos, false, just_after), side(pos, true, !just_after))),
        (None, None) => None,
    }
}

/// The order of two positions in a list sorted `descending` (or in id order): the sort
/// value by the one rule of `scim::sort`, then the id.
fn compare_positions(a: &Position, b: &Position, descending: bool) -> std::cmp::Ordering {
    sort::compare_keys(a.value.as_deref(), b.value.as_deref(), descending).then_with(|| a.id.cmp(&b.id))
}

/// How a list is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan<P, K> {
    /// The predicate is exact and the order is the store's: the database does it all.
    Store { pred: P, key: K, descending: bool },
    /// The predicate selects a superset (in id order); the filter, the order and the page
    /// are finished in memory.
    Finish { candidates: P },
}

/// Plans a user list.
pub fn plan_users(filter: Option<&Filter>, sort: Option<&SortSpec>) -> Plan<Pred, SortKey> {
    let (pred, exact) = filter.map(user_pred).unwrap_or((Pred::All, true));
    let order = match sort {
        None => Some((SortKey::Id, false)),
        Some(s) => user_sort(&s.path).map(|k| (k, s.descending)),
    };
    match (exact, order) {
        (true, Some((key, descending))) => Plan::Store { pred, key, descending },
        _ => Plan::Finish { candidates: pred },
    }
}

/// Plans a group list.
pub fn plan_groups(filter: Option<&Filter>, sort: Option<&SortSpec>) -> Plan<GroupPred, GroupSortKey> {
    let exact = match filter {
        None => Some(GroupPred::All),
        Some(f) => group_pred(f),
    };
    let order = match sort {
        None => Some((GroupSortKey::Id, false)),
        Some(s) => group_sort(&s.path).map(|k| (k, s.descending)),
    };
    match (exact, order) {
        (Some(pred), Some((key, descending))) => Plan::Store { pred, key, descending },
        (pred, _) => Plan::Finish { candidates: pred.unwrap_or(GroupPred::All) },
    }
}

/// How many terms of a predicate read every row (see `Pred::scan_terms`).
pub fn scan_terms(p: &Pred) -> usize {
    p.scan_terms()
}

/// Whether a predicate is a lookup — an equality on `id`, `userName`, `externalId` or an
/// email address, alone or AND-ed with anything: what IdPs send before every write, an
/// index probe that matches a handful of users at most.
pub fn is_lookup(p: &Pred) -> bool {
    match p {
        Pred::Text(TextField::Id | TextField::UserName | TextField::ExternalId, StrOp::Eq, _) => true,
        Pred::Email { value: Some((StrOp::Eq, _)), .. } => true,
        Pred::And(a, b) => is_lookup(a) || is_lookup(b),
        _ => false,
    }
}

/// A list page filled up to a byte budget: resources are taken while their JSON fits,
/// always at least one (a single resource is bounded by `limits.max_resource_bytes`).
#[derive(Debug)]
pub struct PageBuilder {
    budget: usize,
    pub used: usize,
    pub resources: Vec<Resource>,
}

impl PageBuilder {
    pub fn new(budget: usize) -> Self {
        PageBuilder { budget, used: 0, resources: vec![] }
    }

    /// Takes resources while they fit; false once the budget is spent (the page ends).
    pub fn extend(&mut self, resources: impl Iterator<Item = Resource>) -> bool {
        for r in resources {
            if !self.push(r) {
                return false;
            }
        }
        true
    }

    /// Takes one resource if it fits; false (and the page ends) when it does not.
    pub fn push(&mut self, r: Resource) -> bool {
        let size = r.size();
        if !self.resources.is_empty() && self.used.saturating_add(size) > self.budget {
            return false;
        }
        self.used += size;
        self.resources.push(r);
        true
    }
}

/// How many times the page budget a sort in memory may hold.
const SORT_BUDGETS: usize = 4;

/// The in-memory finish of a `Plan::Finish`, fed the candidates (rendered, in id order) a
/// chunk at a time: it counts the matches, and keeps only what the answer needs — the
/// page's matches in id order; for a cursor in id order, the matches past it that the page
/// can hold and one more; for a sort, every match (past the cursor) up to `SORT_BUDGETS`
/// page budgets (past that the request is refused `tooMany` rather than the memory taken).
pub struct Finisher<'a> {
    q: &'a ListQuery,
    schema: &'a dyn SchemaInfo,
    budget: usize,
    matched: i64,
    kept: std::collections::VecDeque<(Position, Value)>,
    kept_bytes: usize,
    /// Cursor paging: matches on the far side of the cursor (before an `After`, after a
    /// `Before`), which tell that a previous (next) page exists.
    beside: i64,
    /// Cursor paging back in id order: matches dropped from the front of `kept` (too far
    /// from the cursor to be on the page).
    dropped: bool,
    page: PageBuilder,
    page_full: bool,
}

impl<'a> Finisher<'a> {
    pub fn new(q: &'a ListQuery, schema: &'a dyn SchemaInfo, budget: usize) -> Self {
        Finisher {
            q,
            schema,
            budget,
            matched: 0,
            kept: Default::default(),
            kept_bytes: 0,
            beside: 0,
            dropped: false,
            page: PageBuilder::new(budget),
            page_full: false,
        }
    }

    fn descending(&self) -> bool {
        self.q.sort.as_ref().is_some_and(|s| s.descending)
    }

    /// Where a rendered resource stands: its sort key (none in id order) and its id.
    fn position(&self, doc: &Value) -> Position {
        Position {
            value: self.q.sort.as_ref().and_then(|spec| sort::sort_key(doc, &spec.path, self.schema)),
            id: doc.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
        }
    }

    /// Whether a match lies on the far side of the cursor.
    fn beside_cursor(&self, pos: &Position) -> bool {
        let order = |c: &Position| compare_positions(pos, c, self.descending());
        match &self.q.cursor {
            Some(Cursor::After { pos: c, inclusive }) => {
                if *inclusive {
                    order(c).is_lt()
                } else {
                    order(c).is_le()
                }
            }
            Some(Cursor::Before { pos: c, inclusive }) => {
                if *inclusive {
                    order(c).is_gt()
                } else {
                    order(c).is_ge()
                }
            }
            _ => false,
        }
    }

    pub fn offer(&mut self, docs: impl Iterator<Item = Value>) -> Result<(), ServiceError> {
        let count = usize::try_from(self.q.count).unwrap_or(0);
        for doc in docs {
            if !self.q.filter.as_ref().is_none_or(|f| matches(f, &doc, self.schema)) {
                continue;
            }
            let index = self.matched;
            self.matched += 1;
            if self.q.sort.is_none() && self.q.cursor.is_none() {
                let in_page = index >= self.q.offset && index - self.q.offset < self.q.count;
                if in_page && !self.page_full {
                    self.page_full = !self.page.push(Resource::Doc(doc));
                }
                continue;
            }
            let pos = self.position(&doc);
            if self.beside_cursor(&pos) {
                self.beside += 1;
                continue;
            }
            let size = json_size(&doc);
            if self.q.sort.is_none() {
                // In id order the matches arrive in page order: forward, the page and one
                // more is all that is kept; backward, the latest that the page can hold.
                let full = |f: &Self| f.kept.len() > count || f.kept_bytes > f.budget;
                if matches!(self.q.cursor, Some(Cursor::Start | Cursor::After { .. })) {
                    if full(self) {
                        continue;
                    }
                } else {
                    self.kept.push_back((pos, doc));
                    self.kept_bytes = self.kept_bytes.saturating_add(size);
                    while self.kept.len() > count + 1
                        || (self.kept.len() > 2
                            && self.kept_bytes - self.kept.front().map_or(0, |(_, d)| json_size(d)) > self.budget)
                    {
                        if let Some((_, d)) = self.kept.pop_front() {
                            self.kept_bytes -= json_size(&d);
                            self.dropped = true;
                        }
                    }
                    continue;
                }
            }
            self.kept_bytes = self.kept_bytes.saturating_add(size);
            if self.q.sort.is_some() && self.kept_bytes > self.budget.saturating_mul(SORT_BUDGETS) {
                return Err(ServiceError::TooMany(format!(
                    "the filter matches more than {} bytes of resources to sort in memory: narrow it, \
                     or sort by an attribute the store orders",
                    self.budget.saturating_mul(SORT_BUDGETS)
                )));
            }
            self.kept.push_back((pos, doc));
        }
        Ok(())
    }

    pub fn finish(mut self) -> Page {
        if self.q.sort.is_some() {
            // A stable sort of matches in id order: ties stay in id order.
            let descending = self.descending();
            self.kept
                .make_contiguous()
                .sort_by(|a, b| sort::compare_keys(a.0.value.as_deref(), b.0.value.as_deref(), descending));
        }
        let count = usize::try_from(self.q.count).unwrap_or(0);
        let Some(cursor) = self.q.cursor.clone() else {
            if self.q.sort.is_some() {
                let offset = usize::try_from(self.q.offset).unwrap_or(usize::MAX);
                self.page.extend(self.kept.into_iter().skip(offset).take(count).map(|(_, d)| Resource::Doc(d)));
            }
            return Page { total: self.matched, bytes: self.page.used, resources: self.page.resources, edges: None };
        };
        let total = self.matched;
        if count == 0 {
            // RFC 9865 §2: count 0 asks for totalResults only.
            return Page { total, bytes: 0, resources: vec![], edges: Some(Edges::default()) };
        }
        let kept = self.kept.len();
        let backward = matches!(cursor, Cursor::Before { .. });
        // The page's window of `kept`; backward, filled from the cursor's side, so that
        // a page the budget cuts keeps the resources next to the cursor.
        let (start, end) = if backward { (kept.saturating_sub(count), kept) } else { (0, kept.min(count)) };
        let window: Vec<(Position, Value)> = self.kept.drain(start..end).collect();
        let items: Box<dyn Iterator<Item = (Position, Value)>> =
            if backward { Box::new(window.into_iter().rev()) } else { Box::new(window.into_iter()) };
        let mut positions = vec![];
        for (pos, doc) in items {
            if !self.page.push(Resource::Doc(doc)) {
                break;
            }
            positions.push(pos);
        }
        if backward {
            positions.reverse();
            self.page.resources.reverse();
        }
        let cut = positions.len() < end - start;
        let before = (backward && (start > 0 || self.dropped || cut)) || (!backward && self.beside > 0);
        let after = (!backward && (end < kept || cut)) || (backward && self.beside > 0);
        let edges = Edges::around(positions.first().zip(positions.last()), &cursor, before, after);
        let resources = self.page.resources;
        Page { total, bytes: self.page.used, resources, edges: Some(edges) }
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
            // The case-folded columns hold `domain::fold` of the value and compare by code
            // point on both backends (SQLite's BINARY, PostgreSQL's "C" collation, migration
            // 000007), as the evaluator compares folded strings: every operator is exact.
            let text = |f: TextField, exact: bool| (Pred::Text(f, sop, v.clone()), exact);
            if named(path, "userName", None) {
                text(TextField::UserName, true)
            } else if named(path, "displayName", None) {
                text(TextField::DisplayName, true)
            } else if named(path, "id", None) && sop == StrOp::Eq {
                text(TextField::Id, true)
            } else if named(path, "externalId", None) && sop == StrOp::Eq {
                text(TextField::ExternalId, true)
            } else if named(path, "emails", None) || named(path, "emails", Some("value")) {
                (Pred::Email { value: Some((sop, v.clone())), kind: None, primary: None }, true)
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
fn user_pred(f: &Filter) -> (Pred, bool) {
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
fn group_pred(f: &Filter) -> Option<GroupPred> {
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

/// The attributes the store sorts by, per resource type: (name, sub-attribute, key).
const USER_SORTS: &[(&str, Option<&str>, SortKey)] = &[
    ("userName", None, SortKey::UserName),
    ("id", None, SortKey::Id),
    ("externalId", None, SortKey::ExternalId),
    ("displayName", None, SortKey::DisplayName),
    ("meta", Some("created"), SortKey::Created),
    ("meta", Some("lastModified"), SortKey::Modified),
];
const GROUP_SORTS: &[(&str, Option<&str>, GroupSortKey)] =
    &[("displayName", None, GroupSortKey::DisplayName), ("id", None, GroupSortKey::Id)];

/// The store's sort for a `sortBy` of the core schema `core`, when it has one.
fn sql_sort<K: Copy>(path: &AttrPath, core: &str, table: &[(&str, Option<&str>, K)]) -> Option<K> {
    if !is_core(path, core) {
        return None;
    }
    table.iter().find(|(name, sub, _)| named(path, name, *sub)).map(|(_, _, key)| *key)
}

fn user_sort(path: &AttrPath) -> Option<SortKey> {
    sql_sort(path, USER_URN, USER_SORTS)
}

fn group_sort(path: &AttrPath) -> Option<GroupSortKey> {
    sql_sort(path, GROUP_URN, GROUP_SORTS)
}
