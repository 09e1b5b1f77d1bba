//! The shape of a JWT, read or edited without verifying anything: its
//! `exp`, its decoded header and claims, a copy with one bit of its
//! signature flipped, its claims unsigned under `alg: none`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The `exp` claim of a JWT, read without verifying anything.
pub fn jwt_expiry(token: &str) -> Option<i64> {
    let (_, claims) = decode_parts(token)?;
    claims.get("exp")?.as_i64()
}

pub(super) fn decode_parts(token: &str) -> Option<(Value, Value)> {
    let mut parts = token.split('.');
    let header = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    let claims = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    Some((
        serde_json::from_slice(&header).ok()?,
        serde_json::from_slice(&claims).ok()?,
    ))
}

/// The token with one bit of its signature flipped.
pub fn alter_signature(token: &str) -> Option<String> {
    let (message, signature) = token.rsplit_once('.')?;
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).ok()?;
    if bytes.is_empty() {
        return None;
    }
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    Some(format!("{message}.{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The token's claims under `{"alg":"none","typ":"JWT"}` and no signature.
pub fn unsigned(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let _header = parts.next()?;
    let claims = parts.next()?;
    URL_SAFE_NO_PAD.decode(claims).ok()?;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    Some(format!("{header}.{claims}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn altered_signature_differs_in_one_bit() {
        let token = format!("a.b.{}", URL_SAFE_NO_PAD.encode([0u8, 0, 0, 0]));
        let altered = alter_signature(&token).unwrap();
        assert_eq!(
            altered,
            format!("a.b.{}", URL_SAFE_NO_PAD.encode([0u8, 0, 1, 0]))
        );
        assert!(alter_signature("a.b.").is_none());
    }

    #[test]
    fn expiry_is_read_without_verifying() {
        let claims = URL_SAFE_NO_PAD.encode(br#"{"exp":1700000000}"#);
        assert_eq!(
            jwt_expiry(&format!("e30.{claims}.sig")),
            Some(1_700_000_000)
        );
        assert_eq!(jwt_expiry("opaque-token"), None);
    }

    #[test]
    fn unsigned_keeps_claims() {
        let claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"alice"}"#);
        let t = unsigned(&format!("xx.{claims}.sig")).unwrap();
        let (header, c) = decode_parts(&t).unwrap();
        assert_eq!(header["alg"], "none");
        assert_eq!(c["sub"], "alice");
        assert!(t.ends_with('.'));
    }
}
