//! The target's public keys, the raw material of algorithm-confusion
//! attacks: read from the profile's `tokens.public_key` (a PEM file),
//! fetched from `tokens.jwks_url` (a URL, or a path below `base_url`), or
//! found through the discovery document at
//! `{base_url}/.well-known/openid-configuration` (`jwks_uri`). Each key is
//! kept as the bytes an attacker would feed an HMAC: its PEM text and its
//! JWK's JSON as served.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Method;
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use serde_json::Value;

use crate::exchange::{self, Endpoint, Request};
use crate::profile::Profile;

/// One public key of the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetKey {
    /// `kid`, if the key has one.
    pub kid: Option<String>,
    /// `RSA` or `EC` (`kty`).
    pub kty: String,
    /// `P-256`, `P-384` for EC keys.
    pub crv: Option<String>,
    /// The PEM text (`-----BEGIN PUBLIC KEY-----…`), as the profile's file
    /// holds it or derived from the JWK.
    pub pem: Option<Vec<u8>>,
    /// The JWK's JSON as the JWKS serves it (compact).
    pub jwk: Option<Vec<u8>>,
}

/// The target's keys and where they came from.
#[derive(Debug, Clone)]
pub struct TargetKeys {
    /// `tokens.public_key`, `tokens.jwks_url` or the discovery document.
    pub source: String,
    /// The keys, in the order given.
    pub keys: Vec<TargetKey>,
}

impl TargetKeys {
    /// The key the target verifies the profile's tokens with: the one named
    /// by `kid`, else the first of the family of `algorithm`, else the first.
    pub fn signing_key(&self, kid: Option<&str>, algorithm: &str) -> Option<&TargetKey> {
        let family = if algorithm.starts_with("ES") {
            "EC"
        } else {
            "RSA"
        };
        kid.and_then(|k| self.keys.iter().find(|t| t.kid.as_deref() == Some(k)))
            .or_else(|| self.keys.iter().find(|t| t.kty == family))
            .or_else(|| self.keys.first())
    }

    /// The first EC key.
    pub fn ec_key(&self) -> Option<&TargetKey> {
        self.keys.iter().find(|k| k.kty == "EC")
    }
}

/// Why the keys could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeysError {
    /// The profile names no key and discovery found none: cases skip.
    Unavailable(String),
    /// A named source failed (unreadable file, bad JWKS).
    Failed(String),
}

impl std::fmt::Display for KeysError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeysError::Unavailable(why) | KeysError::Failed(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for KeysError {}

/// Loads the target's keys as the profile says (see the module doc).
pub async fn load(
    profile: &Profile,
    base: &Endpoint,
    timeout: Duration,
) -> Result<TargetKeys, KeysError> {
    let tokens = &profile.tokens;
    if let Some(path) = &tokens.public_key {
        let file = profile.resolve(path);
        let pem = std::fs::read(&file).map_err(|e| {
            KeysError::Failed(format!(
                "tokens.public_key: cannot read {}: {e}",
                file.display()
            ))
        })?;
        let text = String::from_utf8_lossy(&pem);
        let kty = if p256::PublicKey::from_public_key_pem(&text).is_ok() {
            "EC"
        } else {
            "RSA"
        };
        let mut keys = vec![TargetKey {
            kid: tokens.kid.clone(),
            kty: kty.to_string(),
            crv: None,
            pem: Some(pem),
            jwk: None,
        }];
        // The JWKS, when named too, adds the JWK bytes.
        if let Some(url) = &tokens.jwks_url
            && let Ok(more) = fetch_jwks(base, url, timeout).await
        {
            keys.extend(more);
        }
        return Ok(TargetKeys {
            source: format!("tokens.public_key ({})", file.display()),
            keys,
        });
    }
    if let Some(url) = &tokens.jwks_url {
        let keys = fetch_jwks(base, url, timeout)
            .await
            .map_err(|e| KeysError::Failed(format!("tokens.jwks_url: {e}")))?;
        return Ok(TargetKeys {
            source: format!("tokens.jwks_url ({url})"),
            keys,
        });
    }
    let discovery = "/.well-known/openid-configuration";
    let document = get(base, discovery, timeout).await.map_err(|e| {
        KeysError::Unavailable(format!(
            "needs tokens.public_key or tokens.jwks_url (discovery at {discovery}: {e})"
        ))
    })?;
    let uri = serde_json::from_slice::<Value>(&document)
        .ok()
        .and_then(|v| {
            v.get("jwks_uri")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .ok_or_else(|| {
            KeysError::Unavailable(format!(
                "needs tokens.public_key or tokens.jwks_url ({discovery} names no jwks_uri)"
            ))
        })?;
    let keys = fetch_jwks(base, &uri, timeout).await.map_err(|e| {
        KeysError::Unavailable(format!(
            "needs tokens.public_key or tokens.jwks_url (the discovered jwks_uri {uri}: {e})"
        ))
    })?;
    Ok(TargetKeys {
        source: format!("jwks_uri of {discovery} ({uri})"),
        keys,
    })
}

async fn get(base: &Endpoint, url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let (endpoint, path) = if url.starts_with('/') {
        (base.clone(), url.to_string())
    } else {
        (Endpoint::parse(url)?, String::new())
    };
    let request = Request {
        method: Method::GET,
        path,
        headers: Vec::new(),
        body: Vec::new(),
    };
    let response = exchange::send(&endpoint, &request, timeout)
        .await
        .map_err(|e| e.to_string())?;
    if response.status != 200 {
        return Err(format!("answered {}", response.status));
    }
    Ok(response.body)
}

async fn fetch_jwks(
    base: &Endpoint,
    url: &str,
    timeout: Duration,
) -> Result<Vec<TargetKey>, String> {
    parse_jwks(&get(base, url, timeout).await?)
}

/// The keys of a JWKS document.
pub fn parse_jwks(bytes: &[u8]) -> Result<Vec<TargetKey>, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no \"keys\" array")?;
    let keys: Vec<TargetKey> = keys
        .iter()
        .filter_map(|jwk| {
            let kty = jwk.get("kty")?.as_str()?.to_string();
            Some(TargetKey {
                kid: jwk.get("kid").and_then(Value::as_str).map(str::to_string),
                crv: jwk.get("crv").and_then(Value::as_str).map(str::to_string),
                pem: pem_of_jwk(jwk).map(String::into_bytes),
                jwk: serde_json::to_vec(jwk).ok(),
                kty,
            })
        })
        .collect();
    if keys.is_empty() {
        return Err("the JWKS holds no key".into());
    }
    Ok(keys)
}

/// The SubjectPublicKeyInfo PEM of an RSA or P-256 JWK.
pub fn pem_of_jwk(jwk: &Value) -> Option<String> {
    let member = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
    };
    match jwk.get("kty")?.as_str()? {
        "RSA" => {
            let n = rsa::BigUint::from_bytes_be(&member("n")?);
            let e = rsa::BigUint::from_bytes_be(&member("e")?);
            let key = rsa::RsaPublicKey::new(n, e).ok()?;
            key.to_public_key_pem(LineEnding::LF).ok()
        }
        "EC" if jwk.get("crv").and_then(Value::as_str) == Some("P-256") => {
            let mut sec1 = vec![0x04];
            sec1.extend(member("x")?);
            sec1.extend(member("y")?);
            let key = p256::PublicKey::from_sec1_bytes(&sec1).ok()?;
            key.to_public_key_pem(LineEnding::LF).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWKS: &str = include_str!("../../fixtures/keys/jwks.json");

    #[test]
    fn the_fixture_jwks_gives_an_rsa_and_an_ec_key_with_pem_forms() {
        let keys = parse_jwks(JWKS.as_bytes()).unwrap();
        assert_eq!(keys.len(), 2);
        let rsa_key = &keys[0];
        assert_eq!(rsa_key.kid.as_deref(), Some("dev-rs256"));
        let pem = String::from_utf8(rsa_key.pem.clone().unwrap()).unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
        // The derived PEM is the key the private fixture key belongs to:
        // a token signed with the private key verifies with it.
        let private = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/keys/dev-rs256.pem"
        ))
        .unwrap();
        server::jwt_crypto::install().unwrap();
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &serde_json::json!({"sub": "x", "exp": 4_000_000_000u64}),
            &jsonwebtoken::EncodingKey::from_rsa_pem(&private).unwrap(),
        )
        .unwrap();
        let decoding = jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_aud = false;
        jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
        let ec = &keys[1];
        assert_eq!(ec.kty, "EC");
        assert!(ec.pem.is_some());
        let jwk: Value = serde_json::from_slice(ec.jwk.as_ref().unwrap()).unwrap();
        assert_eq!(jwk["kid"], "dev-es256");
    }

    #[test]
    fn the_signing_key_follows_kid_then_family() {
        let keys = TargetKeys {
            source: "test".into(),
            keys: parse_jwks(JWKS.as_bytes()).unwrap(),
        };
        let by_kid = keys.signing_key(Some("dev-es256"), "RS256").unwrap();
        assert_eq!(by_kid.kty, "EC");
        let by_family = keys.signing_key(None, "ES256").unwrap();
        assert_eq!(by_family.kid.as_deref(), Some("dev-es256"));
        assert_eq!(keys.ec_key().unwrap().kid.as_deref(), Some("dev-es256"));
    }

    #[test]
    fn a_jwks_without_keys_is_refused() {
        assert!(parse_jwks(b"{\"keys\":[]}").is_err());
        assert!(parse_jwks(b"[]").is_err());
    }
}
