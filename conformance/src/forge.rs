//! Forged tokens for the token attacks of [`crate::cases::tokens`]: HMAC
//! signatures made with the target's public key, `alg: none` in several
//! spellings, stripped signatures, tokens signed with the harness's own key
//! that carry or point at that key, `kid` injections, and the all-zero
//! ECDSA signature. Pure functions over compact JWS strings; the valid
//! token they start from supplies the claims, so no signing key of the
//! target is needed (except where a case mints with the profile's key).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, crypto};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use serde_json::{Value, json};

/// The `kid` of the harness's own key.
pub const HARNESS_KID: &str = "conformance-harness-key";

/// base64url without padding of a JSON value's compact form.
pub fn b64_json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// A compact JWS split into its header (parsed), the payload as sent
/// (base64url) and the signature as sent.
pub fn parts(token: &str) -> Option<(Value, String, String)> {
    let mut it = token.split('.');
    let header = URL_SAFE_NO_PAD.decode(it.next()?).ok()?;
    let payload = it.next()?.to_string();
    let signature = it.next()?.to_string();
    if it.next().is_some() {
        return None;
    }
    URL_SAFE_NO_PAD.decode(&payload).ok()?;
    Some((serde_json::from_slice(&header).ok()?, payload, signature))
}

/// `header.payload` signed with `key` under `alg`.
pub fn sign(
    header: &Value,
    payload_b64: &str,
    key: &EncodingKey,
    alg: Algorithm,
) -> Result<String, String> {
    server::jwt_crypto::install().map_err(|e| e.to_string())?;
    let message = format!("{}.{payload_b64}", b64_json(header));
    let signature =
        crypto::sign(message.as_bytes(), key, alg).map_err(|e| format!("cannot sign: {e}"))?;
    Ok(format!("{message}.{signature}"))
}

/// The header of `token` with `alg` replaced (and `kid` set, if given).
fn header_with(header: &Value, alg: &str, kid: Option<&str>) -> Value {
    let mut h = header.clone();
    h["alg"] = json!(alg);
    if let Some(kid) = kid {
        h["kid"] = json!(kid);
    }
    h
}

/// The valid token's claims under an HMAC `alg` keyed with `secret` (the
/// target's public key, for algorithm confusion), naming `kid`.
pub fn hmac(
    token: &str,
    alg: Algorithm,
    secret: &[u8],
    kid: Option<&str>,
) -> Result<String, String> {
    let (header, payload, _) = parts(token).ok_or("the account's token is not a JWT")?;
    let name = match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        other => return Err(format!("{other:?} is not an HMAC algorithm")),
    };
    sign(
        &header_with(&header, name, kid),
        &payload,
        &EncodingKey::from_secret(secret),
        alg,
    )
}

/// The valid token under `{"alg": spelling}`, with its original signature
/// kept or an empty one.
pub fn alg_none(token: &str, spelling: &str, keep_signature: bool) -> Option<String> {
    let (header, payload, signature) = parts(token)?;
    let h = b64_json(&header_with(&header, spelling, None));
    let signature = if keep_signature {
        signature
    } else {
        String::new()
    };
    Some(format!("{h}.{payload}.{signature}"))
}

/// The valid token with its signature removed (`header.payload.`).
pub fn strip_signature(token: &str) -> Option<String> {
    let (message, _) = token.rsplit_once('.')?;
    parts(token)?;
    Some(format!("{message}."))
}

/// The valid token's claims under `ES256`/`ES384` naming `kid`, with the
/// signature r = s = 0 (`len` zero bytes).
pub fn zero_ecdsa(token: &str, alg: &str, kid: Option<&str>, len: usize) -> Option<String> {
    let (header, payload, _) = parts(token)?;
    let h = b64_json(&header_with(&header, alg, kid));
    Some(format!(
        "{h}.{payload}.{}",
        URL_SAFE_NO_PAD.encode(vec![0u8; len])
    ))
}

/// The harness's own key: a P-256 key made for the run, which no target
/// trusts.
pub struct HarnessKey {
    key: EncodingKey,
    /// The public key as a JWK (with `kid` [`HARNESS_KID`]).
    pub jwk: Value,
}

impl std::fmt::Debug for HarnessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HarnessKey")
            .field("jwk", &self.jwk)
            .finish_non_exhaustive()
    }
}

impl HarnessKey {
    /// A fresh P-256 key.
    pub fn generate() -> Result<HarnessKey, String> {
        let secret = loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
            if let Ok(s) = p256::SecretKey::from_slice(&bytes) {
                break s;
            }
        };
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| format!("cannot encode the harness key: {e}"))?;
        let key = EncodingKey::from_ec_der(der.as_bytes());
        let point = secret.public_key().to_encoded_point(false);
        let (x, y) = (
            point.x().ok_or("no x coordinate")?,
            point.y().ok_or("no y coordinate")?,
        );
        Ok(HarnessKey {
            key,
            jwk: json!({
                "kty": "EC",
                "crv": "P-256",
                "kid": HARNESS_KID,
                "use": "sig",
                "alg": "ES256",
                "x": URL_SAFE_NO_PAD.encode(x),
                "y": URL_SAFE_NO_PAD.encode(y),
            }),
        })
    }

    /// The valid token's claims signed with this key under a header of
    /// `{"alg": "ES256", "typ", "kid": HARNESS_KID}` plus `extra` members.
    pub fn sign(&self, token: &str, extra: &[(&str, Value)]) -> Result<String, String> {
        self.sign_as(token, Some(HARNESS_KID), extra)
    }

    /// [`HarnessKey::sign`] naming `kid` instead (a published one, or a
    /// near miss of it), or no `kid` at all.
    pub fn sign_as(
        &self,
        token: &str,
        kid: Option<&str>,
        extra: &[(&str, Value)],
    ) -> Result<String, String> {
        let (header, payload, _) = parts(token).ok_or("the account's token is not a JWT")?;
        let mut h = json!({"alg": "ES256"});
        if let Some(kid) = kid {
            h["kid"] = json!(kid);
        }
        if let Some(typ) = header.get("typ") {
            h["typ"] = typ.clone();
        }
        for (name, value) in extra {
            h[*name] = value.clone();
        }
        sign(&h, &payload, &self.key, Algorithm::ES256)
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, Validation};

    use super::*;

    fn token() -> String {
        let header = b64_json(&json!({"alg": "RS256", "typ": "JWT", "kid": "k1"}));
        let payload = b64_json(&json!({"sub": "alice", "exp": 4_000_000_000u64}));
        format!("{header}.{payload}.c2lnbmF0dXJl")
    }

    fn lax(alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.validate_aud = false;
        v.required_spec_claims.clear();
        v
    }

    #[test]
    fn hmac_tokens_verify_with_the_public_key_bytes_as_secret() {
        let pem = b"-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n";
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let forged = hmac(&token(), alg, pem, Some("k1")).unwrap();
            let (header, _, _) = parts(&forged).unwrap();
            assert_eq!(header["kid"], "k1");
            let data =
                jsonwebtoken::decode::<Value>(&forged, &DecodingKey::from_secret(pem), &lax(alg))
                    .unwrap();
            assert_eq!(data.claims["sub"], "alice");
            // Another secret does not verify it: the bytes matter.
            assert!(
                jsonwebtoken::decode::<Value>(&forged, &DecodingKey::from_secret(b"x"), &lax(alg))
                    .is_err()
            );
        }
    }

    #[test]
    fn alg_none_spellings_keep_the_payload() {
        let t = token();
        let (_, payload, signature) = parts(&t).unwrap();
        let bare = alg_none(&t, "NONE", false).unwrap();
        let (h, p, s) = parts(&bare).unwrap();
        assert_eq!(
            (h["alg"].as_str(), p.as_str(), s.as_str()),
            (Some("NONE"), payload.as_str(), "")
        );
        let signed = alg_none(&t, "None", true).unwrap();
        assert_eq!(parts(&signed).unwrap().2, signature);
        assert_eq!(
            strip_signature(&t).unwrap(),
            format!("{}.", t.rsplit_once('.').unwrap().0)
        );
    }

    #[test]
    fn the_zero_signature_is_all_zero() {
        let z = zero_ecdsa(&token(), "ES256", Some("ec"), 64).unwrap();
        let (h, _, s) = parts(&z).unwrap();
        assert_eq!(h["alg"], "ES256");
        assert_eq!(URL_SAFE_NO_PAD.decode(s).unwrap(), vec![0u8; 64]);
    }

    #[test]
    fn the_harness_key_signs_tokens_its_jwk_verifies() {
        let key = HarnessKey::generate().unwrap();
        let forged = key.sign(&token(), &[("jwk", key.jwk.clone())]).unwrap();
        let (header, _, _) = parts(&forged).unwrap();
        assert_eq!(header["jwk"], key.jwk);
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.jwk.clone()).unwrap();
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        jsonwebtoken::decode::<Value>(&forged, &decoding, &lax(Algorithm::ES256)).unwrap();
        // Under another `kid`, or none: the same key signs.
        for kid in [Some("dev-rs256"), None] {
            let named = key.sign_as(&token(), kid, &[]).unwrap();
            let (header, _, _) = parts(&named).unwrap();
            assert_eq!(header.get("kid").and_then(Value::as_str), kid);
            jsonwebtoken::decode::<Value>(&named, &decoding, &lax(Algorithm::ES256)).unwrap();
        }
        // A second key is another key.
        let other = HarnessKey::generate().unwrap();
        assert_ne!(other.jwk["x"], key.jwk["x"]);
    }
}
