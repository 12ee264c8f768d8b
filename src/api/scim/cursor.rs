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

/// The cursor of the page after (`forward`) or before `pos`.
pub fn encode(pos: &Position, forward: bool, fingerprint: &str, now: i64) -> String {
    let wire = Wire {
        v: 1,
        d: if forward { "a" } else { "b" }.into(),
        k: pos.value.clone(),
        i: pos.id.clone(),
        q: fingerprint.to_owned(),
        t: now,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
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
        .filter(|w: &Wire| w.v == 1)
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
    let pos = Position { value: wire.k, id: wire.i };
    match wire.d.as_str() {
        "a" => Ok(Cursor::After(pos)),
        "b" => Ok(Cursor::Before(pos)),
        _ => Err(invalid("the cursor is not one this gateway issued")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos() -> Position {
        Position { value: Some("ada".into()), id: "u-1".into() }
    }

    #[test]
    fn a_cursor_reads_back_as_issued_and_only_for_its_query() {
        let fp = fingerprint("User", None, None);
        let next = encode(&pos(), true, &fp, 1_000);
        assert!(next.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "unreserved: {next}");
        assert_eq!(decode(&next, &fp, 1_010, 60).unwrap(), Cursor::After(pos()));
        let previous = encode(&pos(), false, &fp, 1_000);
        assert_eq!(decode(&previous, &fp, 1_000, 60).unwrap(), Cursor::Before(pos()));
        assert_eq!(decode("", &fp, 1_000, 60).unwrap(), Cursor::Start);
        let other = fingerprint("Group", None, None);
        assert_eq!(decode(&next, &other, 1_000, 60).unwrap_err().scim_type, Some("invalidCursor"));
        assert_eq!(decode("bm9wZQ", &fp, 1_000, 60).unwrap_err().scim_type, Some("invalidCursor"));
        assert_eq!(decode("***", &fp, 1_000, 60).unwrap_err().scim_type, Some("invalidCursor"));
        assert_eq!(decode(&next, &fp, 1_061, 60).unwrap_err().scim_type, Some("expiredCursor"));
    }
}
