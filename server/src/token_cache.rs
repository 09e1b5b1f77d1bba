//! A bounded cache of verified access tokens, so that a token presented
//! again skips its signature check.
//!
//! - Keyed by the whole token string; a lookup compares the stored key with
//!   the presented one in constant time (`subtle`), behind a hash with
//!   per-process random keys (std's `RandomState`).
//! - Stores only what the handler needs: the outcome (for the verifier, the
//!   subject or "valid but without `openid`"; the cache is generic over it,
//!   so it knows nothing of tokens' meaning) and `exp`. The verifier never
//!   stores a refused token.
//! - An entry answers only while the clock is before its `exp` (no leeway);
//!   after that the token is verified again from scratch.
//! - Bounded in memory: at most `capacity` entries, and tokens longer than
//!   [`MAX_CACHED_TOKEN_BYTES`] are not stored, so the keys take at most
//!   `capacity × 4 KiB`. When full, expired entries are dropped first, then
//!   an arbitrary one.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use subtle::ConstantTimeEq;

/// Longest token the cache stores, in bytes (typical access tokens: under 1 KiB).
pub const MAX_CACHED_TOKEN_BYTES: usize = 4096;

/// The cache of outcomes `V`; `capacity` 0 disables it.
#[derive(Debug)]
pub struct TokenCache<V> {
    capacity: usize,
    entries: Mutex<HashMap<Key, Entry<V>>>,
}

#[derive(Debug)]
struct Entry<V> {
    outcome: V,
    /// The token's `exp`, in milliseconds since the epoch.
    exp_ms: i64,
}

/// A token's bytes; equality is constant-time in the content.
#[derive(Debug, Clone, Eq)]
struct Key(Box<[u8]>);

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl<V: Clone> TokenCache<V> {
    /// A cache of at most `capacity` tokens.
    pub fn new(capacity: usize) -> TokenCache<V> {
        TokenCache {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The stored outcome of `token`, if it was verified and `now_ms` is before its `exp`.
    pub fn get(&self, token: &str, now_ms: i64) -> Option<V> {
        if self.capacity == 0 {
            return None;
        }
        let key = Key(token.as_bytes().into());
        let mut entries = self.lock();
        let entry = entries.get(&key)?;
        if now_ms < entry.exp_ms {
            return Some(entry.outcome.clone());
        }
        entries.remove(&key);
        None
    }

    /// Stores the outcome of a verified `token` until `exp_ms`.
    pub fn insert(&self, token: &str, outcome: V, exp_ms: i64, now_ms: i64) {
        if self.capacity == 0 || token.len() > MAX_CACHED_TOKEN_BYTES || exp_ms <= now_ms {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            entries.retain(|_, e| now_ms < e.exp_ms);
        }
        if entries.len() >= self.capacity
            && let Some(victim) = entries.keys().next().cloned()
        {
            entries.remove(&victim);
        }
        entries.insert(Key(token.as_bytes().into()), Entry { outcome, exp_ms });
    }

    /// Entries held now (tests and diagnostics).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry<V>>> {
        // A panic while holding the lock cannot leave a half-written entry.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in outcome: the cache only stores and clones it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Outcome {
        Subject(String),
        NoOpenid,
    }

    fn alice() -> Outcome {
        Outcome::Subject("alice".into())
    }

    #[test]
    fn answers_until_exp_and_never_after() {
        let c = TokenCache::new(4);
        c.insert("a.b.c", alice(), 10_000, 1_000);
        assert_eq!(c.get("a.b.c", 9_999), Some(alice()));
        assert_eq!(c.get("a.b.c", 10_000), None);
        assert_eq!(c.len(), 0, "an expired entry is dropped when met");
        c.insert("x.y.z", Outcome::NoOpenid, 5_000, 1_000);
        assert_eq!(c.get("x.y.z", 1_000), Some(Outcome::NoOpenid));
    }

    #[test]
    fn the_whole_token_is_the_key() {
        let c = TokenCache::new(4);
        c.insert("a.b.c", alice(), 10_000, 0);
        for other in ["a.b.C", "a.b.cd", "a.b.", "a.b.c ", ""] {
            assert_eq!(c.get(other, 0), None, "{other:?}");
        }
    }

    #[test]
    fn stays_within_capacity_dropping_expired_entries_first() {
        let c = TokenCache::new(3);
        c.insert("old", alice(), 2_000, 0);
        c.insert("t1", alice(), 10_000, 0);
        c.insert("t2", alice(), 10_000, 0);
        c.insert("t3", alice(), 10_000, 3_000);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get("t1", 3_000), Some(alice()));
        assert_eq!(c.get("t2", 3_000), Some(alice()));
        assert_eq!(c.get("t3", 3_000), Some(alice()));
        c.insert("t4", alice(), 10_000, 3_000);
        assert_eq!(c.len(), 3, "one live entry made room");
        assert_eq!(c.get("t4", 3_000), Some(alice()));
    }

    #[test]
    fn refuses_what_it_must_not_hold() {
        let c = TokenCache::new(3);
        c.insert("expired", alice(), 1_000, 1_000);
        c.insert(&"t".repeat(MAX_CACHED_TOKEN_BYTES + 1), alice(), 9_000, 0);
        assert!(c.is_empty());
        let off = TokenCache::new(0);
        off.insert("t", alice(), 9_000, 0);
        assert_eq!(off.get("t", 0), None);
    }

    /// When full, every expired entry goes before any live one is evicted,
    /// and an entry whose `exp` is now counts as expired.
    #[test]
    fn a_full_cache_drops_all_expired_entries_first() {
        let c = TokenCache::new(3);
        c.insert("e1", alice(), 2_000, 0);
        c.insert("e2", alice(), 3_000, 0);
        c.insert("live", alice(), 10_000, 0);
        c.insert("new", alice(), 10_000, 3_000);
        assert_eq!(
            c.len(),
            2,
            "both expired entries dropped, nothing live evicted"
        );
        assert_eq!(c.get("live", 3_000), Some(alice()));
        let c = TokenCache::new(2);
        c.insert("a", alice(), 3_000, 0);
        c.insert("b", alice(), 3_000, 0);
        c.insert("c", alice(), 10_000, 3_000);
        assert_eq!(c.len(), 1, "entries expiring at `now` are expired");
    }

    /// Many distinct tokens never answer for one another (the key's equality
    /// is over the whole content, not just a hash match).
    #[test]
    fn many_tokens_each_answer_for_themselves_only() {
        let c = TokenCache::new(2048);
        let subject = |i: usize| Outcome::Subject(format!("s{i}"));
        for i in 0..2048 {
            c.insert(&format!("token-{i}"), subject(i), 10_000, 0);
        }
        assert_eq!(c.len(), 2048);
        assert!(!c.is_empty());
        for i in 0..2048 {
            assert_eq!(c.get(&format!("token-{i}"), 0), Some(subject(i)));
            assert_eq!(c.get(&format!("absent-{i}"), 0), None);
        }
    }

    #[test]
    fn a_token_of_exactly_the_size_limit_is_cached() {
        let c = TokenCache::new(1);
        let token = "t".repeat(MAX_CACHED_TOKEN_BYTES);
        c.insert(&token, alice(), 9_000, 0);
        assert_eq!(c.get(&token, 0), Some(alice()));
    }
}
