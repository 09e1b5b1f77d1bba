//! Bearer token extraction from the `Authorization` header (RFC 6750 §2.1).
//!
//! Decisions (the vendor document only shows `Bearer <token>`):
//! - the scheme matches case-insensitively (RFC 7235 §2.1), one or more
//!   spaces may follow it;
//! - no header, another scheme (whatever bytes follow it, ASCII or not),
//!   `Bearer` with nothing after it, or several `Authorization` headers
//!   count as no bearer token (S9);
//! - a token that is not `b64token` syntax is a wrong token (S10);
//! - tokens in the query string or the body are not looked for (RFC 6750
//!   §2.2/2.3 are optional and the vendor documents only the header).

use http::HeaderMap;
use http::header::AUTHORIZATION;

/// Why no usable bearer token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    /// S9: no bearer credentials in the request.
    Missing,
    /// S10: credentials present but not `b64token` syntax.
    Malformed,
}

/// The bearer token of a request.
pub fn extract(headers: &HeaderMap) -> Result<&str, BearerError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(BearerError::Missing);
    };
    // Bytes, not text: a non-ASCII byte after another scheme is still another scheme.
    let value = value.as_bytes();
    // `rest` keeps the separating space; the spaces around the token are skipped below.
    let (scheme, rest) = match value.iter().position(|&b| b == b' ') {
        Some(i) => value.split_at(i),
        None => (value, &[][..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(BearerError::Missing);
    }
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let end = rest
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |i| i + 1);
    let token = &rest[start..end];
    if token.is_empty() {
        return Err(BearerError::Missing);
    }
    match std::str::from_utf8(token) {
        Ok(token) if is_b64token(token) => Ok(token),
        _ => Err(BearerError::Malformed),
    }
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_b64token(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn accepts_bearer_in_any_case() {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let h = with(&[format!("{scheme} abc.def.ghi").as_bytes()]);
            assert_eq!(extract(&h), Ok("abc.def.ghi"));
        }
        assert_eq!(extract(&with(&[b"Bearer   a.b.c"])), Ok("a.b.c"));
        assert_eq!(extract(&with(&[b"Bearer abc=="])), Ok("abc=="));
    }

    #[test]
    fn missing_variants() {
        assert_eq!(extract(&HeaderMap::new()), Err(BearerError::Missing));
        assert_eq!(
            extract(&with(&[b"Basic dXNlcjpwYXNz"])),
            Err(BearerError::Missing)
        );
        assert_eq!(extract(&with(&[b"Bearer"])), Err(BearerError::Missing));
        assert_eq!(extract(&with(&[b"Bearer "])), Err(BearerError::Missing));
        assert_eq!(extract(&with(&[b""])), Err(BearerError::Missing));
        assert_eq!(extract(&with(&[b"Bearerabc"])), Err(BearerError::Missing));
        assert_eq!(
            extract(&with(&[b"Bearer a.b.c", b"Bearer d.e.f"])),
            Err(BearerError::Missing)
        );
    }

    #[test]
    fn malformed_variants() {
        assert_eq!(
            extract(&with(&[b"Bearer a b"])),
            Err(BearerError::Malformed)
        );
        assert_eq!(
            extract(&with(&[b"Bearer a,b"])),
            Err(BearerError::Malformed)
        );
        assert_eq!(
            extract(&with(&[b"Bearer ==="])),
            Err(BearerError::Malformed)
        );
        assert_eq!(
            extract(&with(&[b"Bearer a=b"])),
            Err(BearerError::Malformed)
        );
        assert_eq!(
            extract(&with(&[b"Bearer \xff\xfe"])),
            Err(BearerError::Malformed)
        );
        assert_eq!(
            extract(&with(&[b"bearer abc\xe9"])),
            Err(BearerError::Malformed)
        );
    }

    #[test]
    fn another_scheme_with_non_ascii_bytes_is_missing() {
        for value in [
            &b"Basic \xe9t\xe9:p\xe4ss"[..],
            b"Digest username=\"\xc3\xa9\"",
            b"\xe9Bearer abc",
            b"Bearer\xa0abc",
        ] {
            assert_eq!(
                extract(&with(&[value])),
                Err(BearerError::Missing),
                "{value:?}"
            );
        }
    }
}
