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
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::json;

    fn keys_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/keys")
    }

    fn verifier() -> Verifier {
        let keys = KeySet::load(&keys_dir().join("jwks.json")).unwrap();
        Verifier::new(keys, "https://iss.example", "app", 0)
    }

    fn token(alg: Algorithm, file: &str, kid: &str, claims: Value) -> String {
        let pem = std::fs::read(keys_dir().join(file)).unwrap();
        let key = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
            _ => EncodingKey::from_rsa_pem(&pem).unwrap(),
        };
        let mut h = Header::new(alg);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(&h, &claims, &key).unwrap()
    }

    fn claims(scope: Value) -> Value {
        let now = jsonwebtoken::get_current_timestamp();
        json!({"iss": "https://iss.example", "aud": "app", "sub": "alice", "exp": now + 60, "scope": scope})
    }

    #[test]
    fn valid_tokens_give_the_subject() {
        let v = verifier();
        for (alg, file, kid) in [
            (Algorithm::RS256, "dev-rs256.pem", "dev-rs256"),
            (Algorithm::ES256, "dev-es256.pem", "dev-es256"),
        ] {
            let t = token(alg, file, kid, claims(json!(["openid"])));
            assert_eq!(
                v.verify(&t),
                Ok(Principal {
                    subject: "alice".into()
                })
            );
        }
    }

    #[test]
    fn refusals() {
        let v = verifier();
        let rs = |c| token(Algorithm::RS256, "dev-rs256.pem", "dev-rs256", c);
        assert_eq!(
            v.verify(&rs(claims(json!("profile")))),
            Err(TokenError::InsufficientScope)
        );
        assert_eq!(
            v.verify(&token(
                Algorithm::RS256,
                "untrusted-rs256.pem",
                "dev-rs256",
                claims(json!(["openid"]))
            )),
            Err(TokenError::Invalid("bad signature"))
        );
        assert_eq!(
            v.verify(&token(
                Algorithm::RS256,
                "dev-rs256.pem",
                "dev-es256",
                claims(json!(["openid"]))
            )),
            Err(TokenError::Invalid("algorithm not allowed for this key"))
        );
        assert_eq!(
            v.verify(&token(
                Algorithm::RS256,
                "dev-rs256.pem",
                "other",
                claims(json!(["openid"]))
            )),
            Err(TokenError::Invalid("unknown kid"))
        );
        let mut expired = claims(json!(["openid"]));
        expired["exp"] = json!(jsonwebtoken::get_current_timestamp() - 5);
        assert_eq!(v.verify(&rs(expired)), Err(TokenError::Invalid("expired")));
        let mut wrong_aud = claims(json!(["openid"]));
        wrong_aud["aud"] = json!("other");
        assert_eq!(
            v.verify(&rs(wrong_aud)),
            Err(TokenError::Invalid("wrong audience"))
        );
        let mut wrong_iss = claims(json!(["openid"]));
        wrong_iss["iss"] = json!("https://other.example");
        assert_eq!(
            v.verify(&rs(wrong_iss)),
            Err(TokenError::Invalid("wrong issuer"))
        );
        assert_eq!(
            v.verify("garbage"),
            Err(TokenError::Invalid("undecodable header"))
        );
        let mut early = claims(json!(["openid"]));
        early["nbf"] = json!(jsonwebtoken::get_current_timestamp() + 60);
        assert_eq!(
            v.verify(&rs(early)),
            Err(TokenError::Invalid("not yet valid"))
        );
        let mut no_exp = claims(json!(["openid"]));
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(
            v.verify(&rs(no_exp)),
            Err(TokenError::Invalid("missing required claim"))
        );
    }

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
