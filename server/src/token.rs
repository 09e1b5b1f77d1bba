//! Access-token validation: JWT → [`Principal`].
//!
//! The key is chosen by the header's `kid` and the algorithm is pinned by
//! that key, never taken from the token, so `alg: none`, an HMAC token made
//! with a public key, or an RS256 token under an ES256 `kid` all fail. `exp`,
//! `iss`, `aud` and `sub` are required; `nbf` is honoured when present; both
//! time checks allow the configured leeway. The scope is read from `scope`,
//! either a JSON array of strings (the vendor's form) or a space-separated
//! string (RFC 9068 §2.2.3); `scp` is not consulted.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};
use serde::Deserialize;
use serde_json::Value;

use crate::keys::KeySet;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The `sub` claim: the user whose password changes.
    pub subject: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// S10. The reason is for logs only; the response is the same for all.
    Invalid(&'static str),
    /// S11: valid, but without the `openid` scope.
    InsufficientScope,
}

/// Validates tokens against a key set, issuer and audience.
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: KeySet,
    issuer: String,
    audience: String,
    leeway: u64,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    #[serde(default)]
    scope: Option<Value>,
}

impl Verifier {
    /// A verifier for tokens from `issuer` meant for `audience`.
    pub fn new(keys: KeySet, issuer: &str, audience: &str, leeway_secs: u64) -> Verifier {
        Verifier {
            keys,
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: leeway_secs,
        }
    }

    /// Validates `token` and requires the `openid` scope.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid("undecodable header"))?;
        let kid = header.kid.ok_or(TokenError::Invalid("no kid"))?;
        let (key, alg) = self
            .keys
            .get(&kid)
            .ok_or(TokenError::Invalid("unknown kid"))?;
        let mut v = Validation::new(*alg);
        v.leeway = self.leeway;
        v.validate_nbf = true;
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = decode::<Claims>(token, key, &v).map_err(|e| {
            TokenError::Invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "expired",
                ErrorKind::ImmatureSignature => "not yet valid",
                ErrorKind::InvalidIssuer => "wrong issuer",
                ErrorKind::InvalidAudience => "wrong audience",
                ErrorKind::InvalidSignature => "bad signature",
                ErrorKind::InvalidAlgorithm => "algorithm not allowed for this key",
                ErrorKind::MissingRequiredClaim(_) => "missing required claim",
                _ => "undecodable",
            })
        })?;
        let subject = data
            .claims
            .sub
            .filter(|s| !s.is_empty())
            .ok_or(TokenError::Invalid("empty sub"))?;
        if has_openid(data.claims.scope.as_ref())? {
            Ok(Principal { subject })
        } else {
            Err(TokenError::InsufficientScope)
        }
    }
}

/// Whether the `scope` claim grants `openid`; a claim of the wrong type is invalid.
fn has_openid(scope: Option<&Value>) -> Result<bool, TokenError> {
    match scope {
        None | Some(Value::Null) => Ok(false),
        Some(Value::String(s)) => Ok(s.split(' ').any(|x| x == "openid")),
        Some(Value::Array(items)) => {
            let mut found = false;
            for item in items {
                match item {
                    Value::String(s) => found |= s == "openid",
                    _ => return Err(TokenError::Invalid("scope array holds a non-string")),
                }
            }
            Ok(found)
        }
        Some(_) => Err(TokenError::Invalid("scope is neither string nor array")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scope_forms() {
        assert_eq!(has_openid(Some(&json!(["openid"]))), Ok(true));
        assert_eq!(has_openid(Some(&json!(["profile", "openid"]))), Ok(true));
        assert_eq!(has_openid(Some(&json!(["profile"]))), Ok(false));
        assert_eq!(has_openid(Some(&json!([]))), Ok(false));
        assert_eq!(has_openid(Some(&json!("openid profile"))), Ok(true));
        assert_eq!(has_openid(Some(&json!("profile openid"))), Ok(true));
        assert_eq!(has_openid(Some(&json!("openidx profile"))), Ok(false));
        assert_eq!(has_openid(Some(&json!(""))), Ok(false));
        assert_eq!(has_openid(None), Ok(false));
        assert!(matches!(
            has_openid(Some(&json!(1))),
            Err(TokenError::Invalid(_))
        ));
        assert!(matches!(
            has_openid(Some(&json!([1]))),
            Err(TokenError::Invalid(_))
        ));
    }
}
