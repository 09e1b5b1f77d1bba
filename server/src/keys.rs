//! Signing keys: the JWKS the server trusts (public keys by `kid`, each with
//! the one algorithm it may be used with) and the test-only private keys that
//! `mint-token` signs with.

use std::collections::HashMap;
use std::path::Path;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;

use crate::config::SigningKeyConfig;

/// What can go wrong loading keys or signing.
#[derive(Debug)]
#[non_exhaustive]
pub enum KeyError {
    /// A file could not be read.
    Io(String, std::io::Error),
    /// A file's content is not a usable key or key set.
    Invalid(String, String),
    /// No configured signing key has this algorithm.
    NoSigningKey(Algorithm),
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::Io(file, e) => write!(f, "cannot read {file}: {e}"),
            KeyError::Invalid(file, why) => write!(f, "{file}: {why}"),
            KeyError::NoSigningKey(alg) => {
                write!(f, "no signing_key with algorithm {alg:?} in the config")
            }
        }
    }
}

impl std::error::Error for KeyError {}

/// The trusted public keys, by `kid`.
#[derive(Clone)]
pub struct KeySet {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    /// The JWKS document as served at `/oauth2/jwks`.
    pub document: String,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeySet {
    /// Loads a JWKS file. Every key needs a `kid`; its algorithm comes from
    /// `alg` or, failing that, from the key type (RSA → RS256, P-256 → ES256).
    pub fn load(path: &Path) -> Result<KeySet, KeyError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::Io(name.clone(), e))?;
        KeySet::parse(&text).map_err(|why| KeyError::Invalid(name, why))
    }

    /// Parses a JWKS document.
    pub fn parse(text: &str) -> Result<KeySet, String> {
        let set: JwkSet = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let kid = jwk.common.key_id.clone().ok_or("a key has no `kid`")?;
            let alg = match (&jwk.common.key_algorithm, &jwk.algorithm) {
                (Some(KeyAlgorithm::RS256), AlgorithmParameters::RSA(_)) => Algorithm::RS256,
                (Some(KeyAlgorithm::ES256), AlgorithmParameters::EllipticCurve(_)) => {
                    Algorithm::ES256
                }
                (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
                (None, AlgorithmParameters::EllipticCurve(ec))
                    if ec.curve == EllipticCurve::P256 =>
                {
                    Algorithm::ES256
                }
                _ => {
                    return Err(format!(
                        "key `{kid}`: only RS256 and ES256 keys are supported"
                    ));
                }
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key `{kid}`: {e}"))?;
            if keys.insert(kid.clone(), (key, alg)).is_some() {
                return Err(format!("duplicate kid `{kid}`"));
            }
        }
        Ok(KeySet {
            keys,
            document: text.to_string(),
        })
    }

    /// The key and its pinned algorithm for a `kid`.
    pub fn get(&self, kid: &str) -> Option<&(DecodingKey, Algorithm)> {
        self.keys.get(kid)
    }
}

/// A private key that signs tokens (test-only).
pub struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    key: EncodingKey,
}

impl SigningKey {
    /// Loads the first configured key with `algorithm`.
    pub fn select(
        configs: &[SigningKeyConfig],
        algorithm: Algorithm,
    ) -> Result<SigningKey, KeyError> {
        let config = configs
            .iter()
            .find(|k| parse_algorithm(&k.algorithm) == Some(algorithm))
            .ok_or(KeyError::NoSigningKey(algorithm))?;
        let name = config.private_key.display().to_string();
        let pem = std::fs::read(&config.private_key).map_err(|e| KeyError::Io(name.clone(), e))?;
        let key = match algorithm {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
            _ => EncodingKey::from_rsa_pem(&pem),
        }
        .map_err(|e| KeyError::Invalid(name, e.to_string()))?;
        Ok(SigningKey {
            kid: config.kid.clone(),
            algorithm,
            key,
        })
    }

    /// Signs `claims` with `typ: JWT`, this key's `kid` and algorithm.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key)
            .map_err(|e| KeyError::Invalid(self.kid.clone(), e.to_string()))
    }
}

/// `RS256` / `ES256` (case-insensitive) as an algorithm.
pub fn parse_algorithm(s: &str) -> Option<Algorithm> {
    match s.to_ascii_uppercase().as_str() {
        "RS256" => Some(Algorithm::RS256),
        "ES256" => Some(Algorithm::ES256),
        _ => None,
    }
}
