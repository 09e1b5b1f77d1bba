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
    if !is_b64token(token) {
        return Err(BearerError::Malformed);
    }
    // ASCII only by now: the check cannot fail.
    std::str::from_utf8(token).map_err(|_| BearerError::Malformed)
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
///
/// Every token of every request passes here (about 600 bytes for an
/// RS256 access token): the bytes are checked 32 at a time without an
/// early exit inside a chunk, which the compiler turns into vector
/// instructions (about 4× faster than a byte-by-byte `all` with early
/// exit, measured in BENCHMARKS.md, issue 19).
fn is_b64token(token: &[u8]) -> bool {
    let end = token.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    let body = &token[..end];
    !body.is_empty()
        && body
            .chunks(32)
            .all(|chunk| chunk.iter().fold(true, |ok, &b| ok & is_b64token_char(b)))
}

/// One character of a b64token's body (branch-free, so it vectorises).
#[inline]
fn is_b64token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
        | (b == b'/')
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

    /// Every byte value, alone and at every position of a 70-byte token
    /// (inside the vectorised chunks, across their edge, in the tail),
    /// against RFC 6750's grammar written out as a list.
    #[test]
    fn b64token_chars_are_exactly_the_grammars() {
        const GRAMMAR: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";
        for b in 0..=255u8 {
            assert_eq!(is_b64token_char(b), GRAMMAR.contains(&b), "byte {b}");
            for at in [0, 5, 31, 32, 33, 63, 64, 69] {
                let mut token = vec![b'a'; 70];
                token[at] = b;
                let expected = GRAMMAR.contains(&b) || (b == b'=' && at == 69);
                assert_eq!(is_b64token(&token), expected, "byte {b} at {at}");
            }
        }
        assert!(is_b64token(b"abc=="));
        assert!(!is_b64token(b"=="));
        assert!(!is_b64token(b"ab=c"));
        assert!(!is_b64token(b""));
    }
}
