//! A legitimate decision on open point 10 (whether a change revokes other
//! tokens): [`super::Quirk::RevokesOnChange`] refuses, as S10 does, every
//! token of an account issued before its last password change: one whose
//! `iat` is before the second of the change, or one the fake had already
//! accepted before it (a change and the tokens minted around it can fall
//! in one second; `iat` counts seconds). And a defect that looks the same
//! at first: [`super::Quirk::ChangeBreaksTokens`] refuses every token of
//! an account once its password changed, new ones too.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{Quirk, Shared, has};

/// What the fake knows of each subject's tokens.
#[derive(Debug, Default)]
pub(super) struct Revocations {
    /// When each subject's password last changed (Unix seconds).
    changed_at: HashMap<String, i64>,
    /// `jti`s accepted since the subject's last change.
    accepted: HashMap<String, HashSet<String>>,
    /// `jti`s revoked by a change.
    revoked: HashSet<String>,
    /// Tokens refused as revoked.
    pub(super) refusals: usize,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Whether the fake refuses these (verified) claims as revoked; an
/// accepted token is remembered as issued before the next change.
pub(super) fn refused(s: &Shared, claims: &Value) -> bool {
    let broken = has(s, Quirk::ChangeBreaksTokens);
    if !has(s, Quirk::RevokesOnChange) && !broken {
        return false;
    }
    let Some(sub) = claims.get("sub").and_then(Value::as_str) else {
        return false;
    };
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .map_or_else(|| claims.to_string(), str::to_string);
    let iat = claims.get("iat").and_then(Value::as_i64).unwrap_or(0);
    let mut r = s.revocations.lock().unwrap();
    if broken && r.changed_at.contains_key(sub) {
        r.refusals += 1;
        return true;
    }
    if r.revoked.contains(&jti) || r.changed_at.get(sub).is_some_and(|at| iat < *at) {
        r.refusals += 1;
        return true;
    }
    r.accepted.entry(sub.to_string()).or_default().insert(jti);
    false
}

/// `subject`'s password changed: its tokens issued so far are revoked.
pub(super) fn changed(s: &Shared, subject: &str) {
    if !has(s, Quirk::RevokesOnChange) && !has(s, Quirk::ChangeBreaksTokens) {
        return;
    }
    let mut r = s.revocations.lock().unwrap();
    let accepted = r.accepted.remove(subject).unwrap_or_default();
    r.revoked.extend(accepted);
    r.changed_at.insert(subject.to_string(), now());
}
