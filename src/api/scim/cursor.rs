//! List cursors (RFC 9865) on the wire: an opaque token of unreserved characters
//! (base64url JSON) carrying a keyset position in the list's order, the query it belongs
//! to, and when it was issued. A cursor names a place, not an offset, so paging neither
//! skips nor repeats resources when others are added or deleted meanwhile.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::ScimError;
use crate::scim::filter::Filter;
use crate::scim::sort::SortSpec;
use crate::service::query::{Cursor, Position};

/// Longer than any cursor this gateway issues (ids and sort values are bounded).
const MAX_LEN: usize = 4096;

#[derive(Serialize, Deserialize)]
struct Wire {
    /// The format's version.
    v: u8,
    /// `a`: the page after the position; `b`: the page before it.
    d: String,
    /// The position itself is on the page (a cursor issued by an empty page).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    e: bool,
    /// The position's sort value (null: missing, or id order) and id.
    k: Option<String>,
    i: String,
    /// The query's fingerprint.
    q: String,
    /// Issued at, in Unix seconds.
    t: i64,
}

/// Which query a cursor belongs to: the resource type, the bound filter and the order.
/// RFC 9865 §2 has later requests repeat the first one's parameters; a cursor presented
/// with another filter or order is `invalidCursor`, not a page of something else.
pub fn fingerprint(resource: &str, filter: Option<&Filter>, sort: Option<&SortSpec>) -> String {
    let text = format!("{resource}\n{filter:?}\n{sort:?}");
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// A cursor to hand out (`Start` is the empty cursor, never issued).
pub fn encode(cursor: &Cursor, fingerprint: &str, now: i64) -> Option<String> {
    let (d, pos, inclusive) = match cursor {
        Cursor::Start => return None,
        Cursor::After { pos, inclusive } => ("a", pos, *inclusive),
        Cursor::Before { pos, inclusive } => ("b", pos, *inclusive),
    };
    let wire = Wire {
        v: 1,
        d: d.into(),
        e: inclusive,
        k: pos.value.clone(),
        i: pos.id.clone(),
        q: fingerprint.to_owned(),
        t: now,
    };
    Some(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default()))
}

/// Reads a presented cursor: empty is the first page (RFC 9865 §2).
pub fn decode(text: &str, fingerprint: &str, now: i64, timeout_secs: u64) -> Result<Cursor, ScimError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Cursor::Start);
    }
    let invalid = |why: &str| {
        ScimError::bad(
            "invalidCursor",
            format!("{why}: send an empty cursor for the first page, then the nextCursor or previousCursor received"),
        )
    };
    if text.len() > MAX_LEN {
        return Err(invalid("the cursor is not one this gateway issued"));
    }
    let wire: Wire = URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        // Ids are UUIDs; a sort value holds no control character (PostgreSQL text cannot
        // hold NUL): anything else was not issued here.
        .filter(|w: &Wire| {
            w.v == 1
                && uuid::Uuid::parse_str(&w.i).is_ok()
                && w.k.as_deref().is_none_or(|k| !k.chars().any(|c| c == '\0'))
        })
        .ok_or_else(|| invalid("the cursor is not one this gateway issued"))?;
    if wire.q != fingerprint {
        return Err(invalid("the cursor belongs to another filter or sort order"));
    }
    let age = now.saturating_sub(wire.t);
    if age < 0 || age.unsigned_abs() > timeout_secs {
        return Err(ScimError::bad(
            "expiredCursor",
            format!("the cursor is older than the cursor timeout ({timeout_secs} s): start again with an empty cursor"),
        ));
    }
    let (pos, inclusive) = (Position { value: wire.k, id: wire.i }, wire.e);
    match wire.d.as_str() {
        "a" => Ok(Cursor::After { pos, inclusive }),
        "b" => Ok(Cursor::Before { pos, inclusive }),
        _ => Err(invalid("the cursor is not one this gateway issued")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos() -> Position {
        Position { value: Some("ada".into()), id: "01a23be6-ab01-778a-943e-01a6c809d1a3".into() }
    }

    #[test]
    fn a_cursor_reads_back_as_issued_and_only_for_its_query() {
        let fp = fingerprint("User", None, None);
        let after = Cursor::After { pos: pos(), inclusive: false };
        let next = encode(&after, &fp, 1_000).unwrap();
        assert!(next.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "unreserved: {next}");
        assert_eq!(decode(&next, &fp, 1_010, 60).unwrap(), after);
        let before = Cursor::Before { pos: pos(), inclusive: true };
        assert_eq!(decode(&encode(&before, &fp, 1_000).unwrap(), &fp, 1_000, 60).unwrap(), before);
        assert_eq!(encode(&Cursor::Start, &fp, 1_000), None);
        assert_eq!(decode("", &fp, 1_000, 60).unwrap(), Cursor::Start);
        let other = fingerprint("Group", None, None);
        assert_eq!(decode(&next, &other, 1_000, 60).unwrap_err().scim_type, Some("invalidCursor"));
        assert_eq!(decode("bm9wZQ", &fp, 1_000, 60).unwrap_err().scim_type, Some("invalidCursor"));
        assert_eq!(decode("***", &fp, 1_000, 60).unwrap_err().scim_type, Some("invalidCursor"));
        assert_eq!(decode(&next, &fp, 1_061, 60).unwrap_err().scim_type, Some("expiredCursor"));
        // Forged contents: not an id, or a NUL in the value.
        let forged = |value: &str, id: &str| {
            let wire =
                Wire { v: 1, d: "a".into(), e: false, k: Some(value.into()), i: id.into(), q: fp.clone(), t: 1_000 };
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap())
        };
        assert_eq!(decode(&forged("a", "x' OR 1=1"), &fp, 1_000, 60).unwrap_err().scim_type, Some("invalidCursor"));
        assert_eq!(decode(&forged("a\u{0}b", &pos().id), &fp, 1_000, 60).unwrap_err().scim_type, Some("invalidCursor"));
    }
}
