//! The near-miss defects of the fake (issue 18): comparisons that are right
//! for the value the catalogue names and wrong for its neighbours (an old
//! password compared on its first characters, `OPENID` taken for `openid`,
//! a body member that picks the account, a subject looked up loosely, a
//! token without `kid` left unverified, expiry misread), the lone-surrogate
//! 500, and the legitimate 503 with an HTTP-date `Retry-After` and `kid`
//! matched ignoring case. Each function answers
//! one question [`super::handle`] or [`super::tenant::network`] asks, and
//! is the identity (the document's comparison) without its quirk.

use std::time::{Duration, SystemTime};

use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use jsonwebtoken::jwk::Jwk;
use serde_json::Value;

use super::{Quirk, Shared, has};

/// Whether a defective comparison accepts `old` (normalised) for the
/// current password `current` (normalised) where the document's equality
/// does not.
pub(super) fn old_accepted(s: &Shared, old: &str, current: &str) -> bool {
    let skip_first = |x: &str| x.chars().skip(1).collect::<String>();
    let no_spaces = |x: &str| x.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    (has(s, Quirk::OldPasswordFirst4) && old.chars().take(4).eq(current.chars().take(4)))
        || (has(s, Quirk::OldPasswordPrefixAccepted) && current.starts_with(old))
        || (has(s, Quirk::OldPasswordExtensionAccepted) && old.starts_with(current))
        || (has(s, Quirk::OldPasswordNulTerminated) && old.split('\0').next() == Some(current))
        || (has(s, Quirk::OldPasswordFirstCharSkipped) && skip_first(old) == skip_first(current))
        || (has(s, Quirk::OldPasswordSpacesIgnored) && no_spaces(old) == no_spaces(current))
        || (has(s, Quirk::EmptyOldPasswordAccepted) && old.is_empty())
}

/// Whether a defective duplicate check takes `new` for the current
/// password (both normalised) where they are not equal.
pub(super) fn duplicate(s: &Shared, new: &str, current: &str) -> bool {
    (has(s, Quirk::DuplicateCaseInsensitive) && new.to_lowercase() == current.to_lowercase())
        || (has(s, Quirk::DuplicateByPrefix) && new.starts_with(current))
}

/// Whether a defective history check takes `new` for the previous
/// password `previous` (both normalised) where they are not equal.
pub(super) fn recurrent(s: &Shared, new: &str, previous: &str) -> bool {
    has(s, Quirk::HistoryCaseInsensitive) && new.to_lowercase() == previous.to_lowercase()
}

/// The scope values the check looks at (a defect looks at one only).
pub(super) fn considered(s: &Shared, scopes: Vec<String>) -> Vec<String> {
    if has(s, Quirk::ScopeFirstOnly) {
        scopes.into_iter().take(1).collect()
    } else if has(s, Quirk::ScopeLastOnly) {
        scopes.into_iter().last().into_iter().collect()
    } else {
        scopes
    }
}

/// Whether a defective comparison takes the scope value `sc` for `openid`.
pub(super) fn scope_accepted(s: &Shared, sc: &str) -> bool {
    (has(s, Quirk::ScopeCaseInsensitive) && sc.eq_ignore_ascii_case("openid"))
        || (has(s, Quirk::ScopeSubstring) && sc.contains("openid"))
        || (has(s, Quirk::ScopeSpacesRemoved) && sc.replace(' ', "") == "openid")
}

/// The account a defective lookup finds for the token's subject `sub`
/// among `accounts`: compared ignoring letter case and trailing spaces, as
/// MySQL's default collation compares (`None`: the exact lookup).
pub(super) fn collated<'a>(
    s: &Shared,
    sub: &str,
    mut accounts: impl Iterator<Item = &'a String>,
) -> Option<String> {
    if !has(s, Quirk::SubjectCollated) {
        return None;
    }
    let key = |x: &str| x.trim_end_matches(' ').to_lowercase();
    accounts.find(|a| key(a) == key(sub)).cloned()
}

/// Whether a defective check lets a token without a `kid` (or with an
/// empty one) through unverified.
pub(super) fn kidless_unverified(s: &Shared, header: &Value) -> bool {
    has(s, Quirk::KidlessNotVerified)
        && header
            .get("kid")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
}

/// The published key for `kid`: the exact one, or (a legitimate choice)
/// one whose `kid` differs in letter case only.
pub(super) fn key_for<'a>(s: &'a Shared, kid: &str) -> Option<&'a Jwk> {
    s.jwks.find(kid).or_else(|| {
        has(s, Quirk::KidCaseInsensitive).then(|| {
            s.jwks.keys.iter().find(|k| {
                k.common
                    .key_id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(kid))
            })
        })?
    })
}

/// Whether `exp` is left to a defective check (the token's age from
/// `iat` instead).
pub(super) fn exp_ignored(s: &Shared) -> bool {
    has(s, Quirk::ExpiryFromIat)
}

/// Whether a defective time check refuses the verified `claims`: a token
/// older than an hour by its `iat` (when `exp` is ignored), or one with
/// less than two minutes left (the leeway applied the wrong way).
pub(super) fn time_refused(s: &Shared, claims: &Value) -> bool {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let claim = |name: &str| claims.get(name).and_then(Value::as_i64);
    (has(s, Quirk::ExpiryFromIat) && claim("iat").is_none_or(|iat| iat < now - 3600))
        || (has(s, Quirk::ExpiringSoonRefused) && claim("exp").is_none_or(|exp| exp < now + 120))
}

/// The members a defective target reads the account from.
const ACCOUNT_MEMBERS: &[&str] = &["user_id", "sub", "username", "uid", "email"];

/// The account a body member names, when the defect obeys it.
pub(super) fn redirected(s: &Shared, body: &Value) -> Option<String> {
    if !has(s, Quirk::ObeysBodyAccount) {
        return None;
    }
    ACCOUNT_MEMBERS
        .iter()
        .find_map(|m| body.get(*m).and_then(Value::as_str).map(str::to_string))
}

/// Whether the JSON text holds a `\u` escape of a surrogate that is not
/// part of a high-low pair (what a stack that decodes it into a string it
/// later cannot encode trips on).
pub(super) fn has_lone_surrogate(text: &str) -> bool {
    let escapes = text.match_indices("\\u").filter_map(|(i, _)| {
        let hex = text.get(i + 2..i + 6)?;
        u16::from_str_radix(hex, 16).ok().map(|v| (i, v))
    });
    let mut pending_high: Option<usize> = None;
    for (i, v) in escapes {
        let high = (0xd800..0xdc00).contains(&v);
        let low = (0xdc00..0xe000).contains(&v);
        match pending_high.take() {
            Some(end) if low && end == i => continue,
            Some(_) => return true,
            None if low => return true,
            None => {}
        }
        if high {
            pending_high = Some(i + 6);
        }
    }
    pending_high.is_some()
}

/// Every this many requests to the endpoint, the busy fake answers 503.
const BUSY_EVERY: usize = 97;

/// The legitimate 503 of an overloaded target, every [`BUSY_EVERY`]th
/// request to the endpoint (not handled), with `Retry-After` as an
/// HTTP-date two seconds ahead (RFC 9110 §10.2.3).
pub(super) fn busy(s: &Shared) -> Option<Response<Full<Bytes>>> {
    if !has(s, Quirk::Busy503HttpDate) {
        return None;
    }
    let mut n = s.busy.lock().unwrap();
    *n += 1;
    if !n.is_multiple_of(BUSY_EVERY) {
        return None;
    }
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    Some(
        Response::builder()
            .status(503)
            .header("retry-after", at)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(
                br#"{"error":"temporarily_unavailable"}"#,
            )))
            .unwrap(),
    )
}

/// How long the fake keeps an idle keep-alive connection open.
pub(super) fn idle_timeout(quirks: &[Quirk]) -> Option<Duration> {
    quirks
        .contains(&Quirk::CloseIdleQuickly)
        .then_some(Duration::from_millis(50))
}

#[cfg(test)]
mod tests {
    use super::has_lone_surrogate;

    #[test]
    fn lone_surrogates_are_found_and_pairs_are_not() {
        for lone in [
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\udc00"}"#,
            r#"{"a":"\udc00\ud800"}"#,
            r#"{"a":"\ud800x\udc00"}"#,
            r#"{"a":"x\uDBFF"}"#,
        ] {
            assert!(has_lone_surrogate(lone), "{lone}");
        }
        for fine in [r#"{"a":"\ud83d\ude00"}"#, r#"{"a":"\u00e9\u0000"}"#, "{}"] {
            assert!(!has_lone_surrogate(fine), "{fine}");
        }
    }
}
