//! Access-token validation: JWT → [`Principal`], to RFC 9068 §4 and the
//! RFC 8725 best practices.
//!
//! The key is chosen by the header's `kid` and the algorithm is pinned by
//! that key, never taken from the token, so `alg: none`, an HMAC token made
//! with a public key, or an RS256 token under an ES256 `kid` all fail. The
//! header may not carry `crit` (no extension is understood here), and `typ`,
//! when present, must be `JWT` or `at+jwt` (any case, optional
//! `application/` prefix). `exp`, `iss`, `aud` and `sub` are required; `iss`
//! must be a string equal to the configured issuer; `nbf` is honoured when
//! present; an `iat` more than the leeway in the future is refused; with
//! `max_token_lifetime_secs` set, `iat` is required and `exp − iat` may not
//! exceed it. The scope is read from `scope`, either a JSON array of strings
//! (the vendor's form) or a space-separated string (RFC 9068 §2.2.3); `scp`
//! is not consulted. Verified tokens are remembered in a
//! [`TokenCache`] until their `exp`.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Header, Validation, decode, decode_header};
use serde::Deserialize;
use serde_json::Value;

use crate::config::Config;
use crate::keys::{KeySet, PINNABLE};
use crate::token_cache::TokenCache;

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
#[derive(Debug)]
pub struct Verifier {
    keys: KeySet,
    issuer: String,
    /// One [`Validation`] per algorithm a key may pin, built once.
    validations: Vec<Validation>,
    leeway: u64,
    max_lifetime: Option<u64>,
    cache: TokenCache<Result<Principal, TokenError>>,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    iss: Option<Value>,
    iat: Option<f64>,
    exp: Option<f64>,
    #[serde(default)]
    scope: Option<Value>,
}

impl Verifier {
    /// A verifier for tokens from `issuer` meant for `audience`, with no
    /// lifetime bound and no cache.
    pub fn new(keys: KeySet, issuer: &str, audience: &str, leeway_secs: u64) -> Verifier {
        let validation = |alg| {
            let mut v = Validation::new(alg);
            v.leeway = leeway_secs;
            v.validate_nbf = true;
            v.set_issuer(&[issuer]);
            v.set_audience(&[audience]);
            v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            v
        };
        Verifier {
            keys,
            issuer: issuer.into(),
            validations: PINNABLE.into_iter().map(validation).collect(),
            leeway: leeway_secs,
            max_lifetime: None,
            cache: TokenCache::new(0),
        }
    }

    /// The verifier the configuration describes (issuer, audience, leeway,
    /// `max_token_lifetime_secs`, `token_cache_entries`).
    pub fn from_config(keys: KeySet, config: &Config) -> Verifier {
        Verifier {
            max_lifetime: config.max_token_lifetime_secs,
            cache: TokenCache::new(config.token_cache_entries),
            ..Verifier::new(keys, &config.issuer, &config.audience, config.leeway_secs)
        }
    }

    /// Validates `token` and requires the `openid` scope.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let now_ms = crate::now_ms();
        if let Some(outcome) = self.cache.get(token, now_ms) {
            return outcome;
        }
        let (outcome, exp) = self.verify_uncached(token, now_ms)?;
        self.cache
            .insert(token, outcome.clone(), (exp * 1000.0) as i64, now_ms);
        outcome
    }

    /// Full validation; `Err` for S10, otherwise the outcome and `exp`.
    fn verify_uncached(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<(Result<Principal, TokenError>, f64), TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid("undecodable header"))?;
        check_header(&header)?;
        let kid = header.kid.ok_or(TokenError::Invalid("no kid"))?;
        let (key, alg) = self
            .keys
            .get(&kid)
            .ok_or(TokenError::Invalid("unknown kid"))?;
        let v = self
            .validations
            .iter()
            .find(|v| v.algorithms == [*alg])
            .ok_or(TokenError::Invalid("algorithm not allowed for this key"))?;
        let claims = decode::<Claims>(token, key, v)
            .map_err(|e| {
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
            })?
            .claims;
        if claims.iss.as_ref().and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(TokenError::Invalid("iss is not the issuer as a string"));
        }
        let exp = claims
            .exp
            .ok_or(TokenError::Invalid("missing required claim"))?;
        self.check_times(&claims, exp, now_ms as f64 / 1000.0)?;
        let subject = claims
            .sub
            .filter(|s| !s.is_empty())
            .ok_or(TokenError::Invalid("empty sub"))?;
        let outcome = if has_openid(claims.scope.as_ref())? {
            Ok(Principal { subject })
        } else {
            Err(TokenError::InsufficientScope)
        };
        Ok((outcome, exp))
    }

    /// Tokens held in the verified-token cache now.
    pub fn cached_tokens(&self) -> usize {
        self.cache.len()
    }

    /// `iat` not beyond the leeway in the future; `exp − iat` within the bound.
    fn check_times(&self, claims: &Claims, exp: f64, now: f64) -> Result<(), TokenError> {
        if claims.iat.is_some_and(|iat| iat > now + self.leeway as f64) {
            return Err(TokenError::Invalid("iat in the future"));
        }
        if let Some(max) = self.max_lifetime {
            let iat = claims
                .iat
                .ok_or(TokenError::Invalid("no iat to bound the lifetime"))?;
            if exp - iat > max as f64 {
                return Err(TokenError::Invalid("lifetime over max_token_lifetime_secs"));
            }
        }
        Ok(())
    }
}

/// RFC 7515 §4.1.11: no extension is understood, so any `crit` is refused.
/// RFC 9068 §4 / RFC 8725 §3.11: `typ`, when present, says access token or JWT.
fn check_header(header: &Header) -> Result<(), TokenError> {
    if header.crit.is_some() {
        return Err(TokenError::Invalid("crit names an unsupported extension"));
    }
    if let Some(typ) = &header.typ {
        let media = match typ.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
            _ => typ.as_str(),
        };
        if !(media.eq_ignore_ascii_case("jwt") || media.eq_ignore_ascii_case("at+jwt")) {
            return Err(TokenError::Invalid("typ is neither JWT nor at+jwt"));
        }
    }
    Ok(())
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
        let mut h = Header::new(alg);
        h.kid = Some(kid.into());
        signed(h, file, claims)
    }

    fn signed(h: Header, file: &str, claims: Value) -> String {
        let pem = std::fs::read(keys_dir().join(file)).unwrap();
        let key = match h.alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
            _ => EncodingKey::from_rsa_pem(&pem).unwrap(),
        };
        jsonwebtoken::encode(&h, &claims, &key).unwrap()
    }

    /// An RS256 token under the dev key with the header changed by `edit`.
    fn with_header(edit: impl FnOnce(&mut Header), claims: Value) -> String {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some("dev-rs256".into());
        edit(&mut h);
        signed(h, "dev-rs256.pem", claims)
    }

    fn alice() -> Result<Principal, TokenError> {
        Ok(Principal {
            subject: "alice".into(),
        })
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

    #[test]
    fn crit_is_refused_whatever_it_names() {
        let v = verifier();
        let c = claims(json!(["openid"]));
        for crit in [
            vec![],
            vec!["exp".to_string()],
            vec!["urn:example:ext".to_string()],
        ] {
            let t = with_header(|h| h.crit = Some(crit.clone()), c.clone());
            assert_eq!(
                v.verify(&t),
                Err(TokenError::Invalid("crit names an unsupported extension")),
                "{crit:?}"
            );
        }
    }

    #[test]
    fn typ_when_present_is_jwt_or_at_jwt() {
        let v = verifier();
        let c = claims(json!(["openid"]));
        for typ in [
            None,
            Some("JWT"),
            Some("jwt"),
            Some("at+jwt"),
            Some("AT+JWT"),
            Some("application/at+jwt"),
            Some("Application/JWT"),
        ] {
            let t = with_header(|h| h.typ = typ.map(str::to_string), c.clone());
            assert_eq!(v.verify(&t), alice(), "{typ:?}");
        }
        for typ in [
            "logout+jwt",
            "JOSE",
            "",
            "application/",
            "application/logout+jwt",
            "at+jwt ",
            "text/jwt",
            "applicationé/jwt",
            // Twelve characters that are not `application/`, then a good media type.
            "applicationXat+jwt",
            "vnd.example/JWT",
        ] {
            let t = with_header(|h| h.typ = Some(typ.into()), c.clone());
            assert_eq!(
                v.verify(&t),
                Err(TokenError::Invalid("typ is neither JWT nor at+jwt")),
                "{typ:?}"
            );
        }
    }

    #[test]
    fn iss_must_be_the_issuer_as_a_string() {
        let v = verifier();
        let rs = |c| token(Algorithm::RS256, "dev-rs256.pem", "dev-rs256", c);
        for iss in [
            json!(["https://iss.example"]),
            json!(["https://iss.example", "x"]),
        ] {
            let mut c = claims(json!(["openid"]));
            c["iss"] = iss.clone();
            assert_eq!(
                v.verify(&rs(c)),
                Err(TokenError::Invalid("iss is not the issuer as a string")),
                "{iss}"
            );
        }
    }

    #[test]
    fn iat_beyond_the_leeway_in_the_future_is_refused() {
        let keys = KeySet::load(&keys_dir().join("jwks.json")).unwrap();
        let v = Verifier::new(keys, "https://iss.example", "app", 30);
        let rs = |c| token(Algorithm::RS256, "dev-rs256.pem", "dev-rs256", c);
        let now = jsonwebtoken::get_current_timestamp();
        let mut c = claims(json!(["openid"]));
        c["iat"] = json!(now + 20);
        assert_eq!(v.verify(&rs(c.clone())), alice(), "within the leeway");
        for ahead in [40, 10 * 365 * 86_400] {
            c["iat"] = json!(now + ahead);
            assert_eq!(
                v.verify(&rs(c.clone())),
                Err(TokenError::Invalid("iat in the future")),
                "{ahead} s ahead"
            );
        }
        c["iat"] = json!("now");
        assert_eq!(v.verify(&rs(c)), Err(TokenError::Invalid("undecodable")));
    }

    #[test]
    fn max_token_lifetime_bounds_exp_minus_iat() {
        let config = Config {
            issuer: "https://iss.example".into(),
            audience: "app".into(),
            max_token_lifetime_secs: Some(300),
            ..Config::default()
        };
        let keys = KeySet::load(&keys_dir().join("jwks.json")).unwrap();
        let v = Verifier::from_config(keys, &config);
        let rs = |c| token(Algorithm::RS256, "dev-rs256.pem", "dev-rs256", c);
        let now = jsonwebtoken::get_current_timestamp();
        let mut c = claims(json!(["openid"]));
        c["iat"] = json!(now - 100);
        c["exp"] = json!(now + 200);
        assert_eq!(v.verify(&rs(c.clone())), alice(), "exactly 300 s");
        c["exp"] = json!(now + 201);
        assert_eq!(
            v.verify(&rs(c.clone())),
            Err(TokenError::Invalid("lifetime over max_token_lifetime_secs"))
        );
        c.as_object_mut().unwrap().remove("iat");
        assert_eq!(
            v.verify(&rs(c)),
            Err(TokenError::Invalid("no iat to bound the lifetime"))
        );
    }

    #[test]
    fn the_cache_keeps_verified_outcomes_only_until_exp() {
        let config = Config {
            issuer: "https://iss.example".into(),
            audience: "app".into(),
            leeway_secs: 0,
            // The claims of these tests carry no `iat`.
            max_token_lifetime_secs: None,
            ..Config::default()
        };
        let keys = KeySet::load(&keys_dir().join("jwks.json")).unwrap();
        let v = Verifier::from_config(keys, &config);
        let rs = |c| token(Algorithm::RS256, "dev-rs256.pem", "dev-rs256", c);
        let no_openid = rs(claims(json!(["profile"])));
        for _ in 0..2 {
            assert_eq!(v.verify(&no_openid), Err(TokenError::InsufficientScope));
        }
        assert_eq!(v.cached_tokens(), 1);
        let forged = token(
            Algorithm::RS256,
            "untrusted-rs256.pem",
            "dev-rs256",
            claims(json!(["openid"])),
        );
        for _ in 0..2 {
            assert_eq!(v.verify(&forged), Err(TokenError::Invalid("bad signature")));
        }
        assert_eq!(v.cached_tokens(), 1, "refused tokens are not cached");
        // A token one second from its exp: cached, then refused once exp has
        // passed by a whole second (jsonwebtoken accepts `now == exp`).
        let now_ms = crate::now_ms();
        let mut c = claims(json!(["openid"]));
        let exp = now_ms / 1000 + 1;
        c["exp"] = json!(exp);
        let short = rs(c);
        assert_eq!(v.verify(&short), alice());
        assert_eq!(v.cached_tokens(), 2);
        std::thread::sleep(std::time::Duration::from_millis(
            (exp * 1000 + 1000 - now_ms + 20) as u64,
        ));
        assert_eq!(v.verify(&short), Err(TokenError::Invalid("expired")));
    }

    /// A key set: the dev keys with the RSA key's `alg` set to `rsa_alg`,
    /// plus `extra` keys.
    fn key_set(rsa_alg: &str, extra: Vec<Value>) -> Verifier {
        let text = std::fs::read_to_string(keys_dir().join("jwks.json")).unwrap();
        let mut set: Value = serde_json::from_str(&text).unwrap();
        set["keys"][0]["alg"] = json!(rsa_alg);
        set["keys"].as_array_mut().unwrap().extend(extra);
        let keys = KeySet::parse(&set.to_string()).unwrap();
        Verifier::new(keys, "https://iss.example", "app", 0)
    }

    /// RS384, RS512 and PS256 keys verify their own tokens and refuse
    /// another algorithm's, pinned by the key.
    #[test]
    fn rsa_keys_pin_rs384_rs512_or_ps256() {
        for alg in [Algorithm::RS384, Algorithm::RS512, Algorithm::PS256] {
            let v = key_set(&format!("{alg:?}"), vec![]);
            let t = token(alg, "dev-rs256.pem", "dev-rs256", claims(json!(["openid"])));
            assert_eq!(v.verify(&t), alice(), "{alg:?}");
            let rs256 = token(
                Algorithm::RS256,
                "dev-rs256.pem",
                "dev-rs256",
                claims(json!(["openid"])),
            );
            assert_eq!(
                v.verify(&rs256),
                Err(TokenError::Invalid("algorithm not allowed for this key")),
                "{alg:?}"
            );
        }
    }

    /// openssl's PS256 signatures of the same input: with a 32-byte salt the
    /// signature passes (and the claim-less payload is refused after it),
    /// with a 20-byte salt the signature itself is refused.
    #[test]
    fn ps256_with_the_wrong_salt_length_is_a_bad_signature() {
        use crate::jwt_crypto::tests::{MESSAGE, PSS_SALT_20, PSS_SALT_32};
        let mut key = serde_json::from_str::<Value>(
            &std::fs::read_to_string(keys_dir().join("jwks.json")).unwrap(),
        )
        .unwrap()["keys"][0]
            .clone();
        key["kid"] = json!("dev-ps256");
        key["alg"] = json!("PS256");
        let v = key_set("RS256", vec![key]);
        let message = std::str::from_utf8(MESSAGE).unwrap();
        assert_eq!(
            v.verify(&format!("{message}.{PSS_SALT_32}")),
            Err(TokenError::Invalid("missing required claim"))
        );
        assert_eq!(
            v.verify(&format!("{message}.{PSS_SALT_20}")),
            Err(TokenError::Invalid("bad signature"))
        );
    }

    /// A P-384 key pins ES384.
    #[test]
    fn p384_keys_verify_es384() {
        let (private, x, y) = crate::jwt_crypto::tests::p384();
        let v = key_set(
            "RS256",
            vec![json!({"kty": "EC", "kid": "p384", "crv": "P-384", "x": x, "y": y})],
        );
        let mut h = Header::new(Algorithm::ES384);
        h.kid = Some("p384".into());
        let t = jsonwebtoken::encode(&h, &claims(json!(["openid"])), &private).unwrap();
        assert_eq!(v.verify(&t), alice());
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("p384".into());
        let es256 = signed(h, "dev-es256.pem", claims(json!(["openid"])));
        assert_eq!(
            v.verify(&es256),
            Err(TokenError::Invalid("algorithm not allowed for this key"))
        );
    }

    /// A valid token whose signature loses or gains a byte is refused.
    #[test]
    fn a_signature_of_the_wrong_length_is_refused() {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let v = verifier();
        for (alg, file, kid) in [
            (Algorithm::RS256, "dev-rs256.pem", "dev-rs256"),
            (Algorithm::ES256, "dev-es256.pem", "dev-es256"),
        ] {
            let t = token(alg, file, kid, claims(json!(["openid"])));
            let (message, signature) = t.rsplit_once('.').unwrap();
            let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
            let mut longer = signature.clone();
            longer.push(0);
            for bad in [&signature[1..], &longer] {
                let forged = format!("{message}.{}", URL_SAFE_NO_PAD.encode(bad));
                assert_eq!(
                    v.verify(&forged),
                    Err(TokenError::Invalid("bad signature")),
                    "{alg:?} {}",
                    bad.len()
                );
            }
        }
    }

    /// The documented high-S decision, seen from the verifier: `(r, n − s)`
    /// is accepted like `(r, s)`; it is another string, so it is another
    /// cache entry, with the same subject.
    #[test]
    fn a_high_s_es256_token_is_accepted_as_the_same_caller() {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let v = Verifier::from_config(
            KeySet::load(&keys_dir().join("jwks.json")).unwrap(),
            &Config {
                issuer: "https://iss.example".into(),
                audience: "app".into(),
                max_token_lifetime_secs: None,
                ..Config::default()
            },
        );
        let t = token(
            Algorithm::ES256,
            "dev-es256.pem",
            "dev-es256",
            claims(json!(["openid"])),
        );
        let (message, signature) = t.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let n = URL_SAFE_NO_PAD
            .decode("_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE")
            .unwrap();
        let high = [
            &signature[..32],
            &crate::jwt_crypto::tests::sub(&n, &signature[32..]),
        ]
        .concat();
        let malleated = format!("{message}.{}", URL_SAFE_NO_PAD.encode(high));
        assert_ne!(malleated, t);
        assert_eq!(v.verify(&t), alice());
        assert_eq!(v.verify(&malleated), alice());
        assert_eq!(v.cached_tokens(), 2);
    }

    /// The bounds of `check_times`, at their edges: `iat` exactly at the
    /// leeway and a lifetime exactly at the bound are accepted, one second
    /// more is not.
    #[test]
    fn time_bounds_are_inclusive_at_their_edges() {
        let v = Verifier {
            leeway: 30,
            max_lifetime: Some(600),
            ..verifier()
        };
        let claims = |iat: f64| Claims {
            sub: Some("alice".into()),
            iss: None,
            iat: Some(iat),
            exp: Some(iat + 600.0),
            scope: None,
        };
        let now = 1_000_000.0;
        assert_eq!(v.check_times(&claims(now + 30.0), now + 630.0, now), Ok(()));
        assert!(
            v.check_times(&claims(now + 31.0), now + 631.0, now)
                .is_err()
        );
        assert_eq!(v.check_times(&claims(now), now + 600.0, now), Ok(()));
        assert!(v.check_times(&claims(now), now + 601.0, now).is_err());
    }
}
