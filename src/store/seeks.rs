//! Where recent index-paged list pages ended, so that the next page seeks past that key
//! instead of walking `startIndex − 1` index entries (a reconciliation reading a directory of
//! a million users page by page would otherwise walk half a million entries per page).
//!
//! A remembered position is exact only while nothing a list reads has changed: each one
//! carries the count of such changes it was read at (SQLite's `directory_changes`, kept by
//! triggers in every writing transaction, whichever process writes) and serves only a read
//! that finds the same count in its own snapshot. PostgreSQL keeps no such count (one row
//! every write across gateways updates would serialize them), so its pages walk.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::Position;

/// Remembered page ends; past this many the memory starts over.
const MAX_ENTRIES: usize = 4096;

/// Longer query keys (long filters) are not remembered: their pages walk. Bounds the memory
/// to about `MAX_ENTRIES × (MAX_QUERY_BYTES + a position)` whatever filters clients send.
const MAX_QUERY_BYTES: usize = 512;

#[derive(Default)]
pub struct Seeks {
    /// (the list's query, rows before the next page) → (changes count, last row's position).
    ends: Mutex<HashMap<(String, i64), (i64, Position)>>,
    /// Pages read by a seek, and by an offset walk (for the metrics).
    seeks: AtomicU64,
    walks: AtomicU64,
}

impl Seeks {
    /// Whether some page of `query` ended at row `offset` (whatever the count then).
    pub fn knows(&self, query: &str, offset: i64) -> bool {
        self.lock().contains_key(&(query.to_owned(), offset))
    }

    /// The position of row `offset` (the last row before a page that starts at `offset +
    /// 1`) of `query`, if a page read at the same `changes` count ended there.
    pub fn find(&self, query: &str, offset: i64, changes: i64) -> Option<Position> {
        match self.lock().get(&(query.to_owned(), offset)) {
            Some((n, pos)) if *n == changes => Some(pos.clone()),
            _ => None,
        }
    }

    /// Remembers that row `offset` of `query` is at `pos` at `changes`.
    pub fn remember(&self, query: String, offset: i64, changes: i64, pos: Position) {
        if query.len() > MAX_QUERY_BYTES {
            return;
        }
        let mut ends = self.lock();
        if ends.len() >= MAX_ENTRIES {
            ends.retain(|_, (n, _)| *n == changes);
            if ends.len() >= MAX_ENTRIES {
                ends.clear();
            }
        }
        ends.insert((query, offset), (changes, pos));
    }

    /// Counts a page read past a non-zero `startIndex`: by a seek or by a walk.
    pub fn count(&self, seek: bool) {
        let c = if seek { &self.seeks } else { &self.walks };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// (pages read by a seek, pages read by an offset walk) since start.
    pub fn totals(&self) -> (u64, u64) {
        (self.seeks.load(Ordering::Relaxed), self.walks.load(Ordering::Relaxed))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, i64), (i64, Position)>> {
        self.ends.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_serves_reads_at_its_changes_count_only() {
        let s = Seeks::default();
        let pos = Position { value: None, id: "u100".into() };
        s.remember("q".into(), 100, 7, pos.clone());
        assert_eq!(s.find("q", 100, 7), Some(pos));
        assert!(s.knows("q", 100));
        assert_eq!(s.find("q", 100, 8), None);
        assert_eq!(s.find("q", 200, 7), None);
        assert_eq!(s.find("other", 100, 7), None);
    }

    #[test]
    fn long_query_keys_are_not_remembered() {
        let s = Seeks::default();
        let pos = Position { value: None, id: "u1".into() };
        let long = "q".repeat(MAX_QUERY_BYTES + 1);
        s.remember(long.clone(), 10, 1, pos.clone());
        assert!(!s.knows(&long, 10));
        let fits = "q".repeat(MAX_QUERY_BYTES);
        s.remember(fits.clone(), 10, 1, pos);
        assert!(s.knows(&fits, 10));
    }
}
