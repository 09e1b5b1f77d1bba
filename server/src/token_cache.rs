//! A bounded cache of verified access tokens, so that a token presented
//! again skips its signature check.
//!
//! - Keyed by the whole token string: entries are found by a 64-bit SipHash
//!   of the token's last [`HASHED_TAIL_BYTES`] bytes (inside its signature,
//!   where two signed tokens differ; hashing the whole ~600-byte token cost
//!   as much again on every request) under keys drawn at random for each
//!   cache (std's `RandomState`), and an entry answers only if its stored token equals
//!   the presented one, compared in constant time (a word-wise XOR/OR over
//!   the whole length, no early exit). A lookup allocates nothing. Two
//!   tokens with the same hash share one slot: the later one replaces the
//!   earlier (a miss for the earlier, never a wrong answer).
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
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

/// Longest token the cache stores, in bytes (typical access tokens: under 1 KiB).
pub const MAX_CACHED_TOKEN_BYTES: usize = 4096;

/// How many of a token's last bytes its slot is found by: 48 characters
/// of base64url signature, 288 bits chosen by the signer.
pub const HASHED_TAIL_BYTES: usize = 48;

/// The cache of outcomes `V`; `capacity` 0 disables it.
#[derive(Debug)]
pub struct TokenCache<V> {
    capacity: usize,
    /// The random keys of the tokens' hashes.
    hasher: RandomState,
    /// By the token's hash.
    entries: Mutex<HashMap<u64, Entry<V>>>,
}

#[derive(Debug)]
struct Entry<V> {
    /// The whole token, compared in constant time before the entry answers.
    token: Box<[u8]>,
    outcome: V,
    /// The token's `exp`, in milliseconds since the epoch.
    exp_ms: i64,
}

/// Whether `a` and `b` are equal, in time that depends on their lengths
/// only: eight bytes at a time XORed and ORed together, no early exit.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |c: &[u8]| u64::from_ne_bytes(c.try_into().expect("8 bytes"));
    let (wa, wb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = wa.remainder().iter().zip(wb.remainder());
    let mut diff = tail.fold(0u64, |d, (x, y)| d | u64::from(x ^ y));
    for (x, y) in wa.zip(wb) {
        diff |= word(x) ^ word(y);
    }
    std::hint::black_box(diff) == 0
}

impl<V: Clone> TokenCache<V> {
    /// A cache of at most `capacity` tokens.
    pub fn new(capacity: usize) -> TokenCache<V> {
        TokenCache {
            capacity,
            hasher: RandomState::new(),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The stored outcome of `token`, if it was verified and `now_ms` is before its `exp`.
    pub fn get(&self, token: &str, now_ms: i64) -> Option<V> {
        if self.capacity == 0 {
            return None;
        }
        let token = token.as_bytes();
        let key = self.key(token);
        let mut entries = self.lock();
        let entry = entries.get(&key)?;
        if !same(&entry.token, token) {
            return None;
        }
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
            && let Some(victim) = entries.keys().next().copied()
        {
            entries.remove(&victim);
        }
        let token = token.as_bytes();
        let entry = Entry {
            token: token.into(),
            outcome,
            exp_ms,
        };
        entries.insert(self.key(token), entry);
    }

    /// The slot of `token`: the hash of its tail. Tokens that share a tail
    /// share a slot; only a verified token is ever stored, so a forger
    /// who copies a valid token's tail gets a miss (the whole token is
    /// compared) and evicts nothing.
    fn key(&self, token: &[u8]) -> u64 {
        self.hasher
            .hash_one(&token[token.len().saturating_sub(HASHED_TAIL_BYTES)..])
    }

    /// Entries held now (tests and diagnostics).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry<V>>> {
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

    /// An entry found by the hash answers only for the very token it
    /// holds (a hash collision is a miss, never another token's answer).
    #[test]
    fn a_hash_match_with_other_bytes_is_a_miss() {
        let c = TokenCache::new(4);
        let key = c.key(b"a.b.c");
        c.lock().insert(
            key,
            Entry {
                token: b"x.y.z".as_slice().into(),
                outcome: alice(),
                exp_ms: 10_000,
            },
        );
        assert_eq!(c.get("a.b.c", 0), None);
        assert_eq!(
            c.len(),
            1,
            "a collision does not drop the other token's entry"
        );
    }

    #[test]
    fn same_compares_every_byte_and_the_length() {
        let a: Vec<u8> = (0..37).collect();
        assert!(same(&a, &a.clone()));
        assert!(same(b"", b""));
        for i in [0, 7, 8, 31, 32, 36] {
            let mut b = a.clone();
            b[i] ^= 0x40;
            assert!(!same(&a, &b), "byte {i}");
        }
        assert!(!same(&a, &a[..36]));
        assert!(!same(&a[..36], &a));
    }

    #[test]
    fn a_token_of_exactly_the_size_limit_is_cached() {
        let c = TokenCache::new(1);
        let token = "t".repeat(MAX_CACHED_TOKEN_BYTES);
        c.insert(&token, alice(), 9_000, 0);
        assert_eq!(c.get(&token, 0), Some(alice()));
    }

    /// Tokens that differ only before their last `HASHED_TAIL_BYTES`
    /// bytes share a slot: each is a hit only for itself, and the one
    /// stored later replaces the other.
    #[test]
    fn tokens_sharing_a_tail_share_a_slot_and_never_an_answer() {
        let c = TokenCache::new(4);
        let tail = "s".repeat(HASHED_TAIL_BYTES);
        let (a, b) = (format!("a.{tail}"), format!("b.{tail}"));
        c.insert(&a, alice(), 10_000, 0);
        assert_eq!(c.get(&a, 0), Some(alice()));
        assert_eq!(c.get(&b, 0), None, "a forger's copy of the tail is a miss");
        assert_eq!(c.get(&a, 0), Some(alice()), "and evicts nothing");
        c.insert(&b, alice(), 10_000, 0);
        assert_eq!((c.get(&a, 0), c.len()), (None, 1));
    }
}
