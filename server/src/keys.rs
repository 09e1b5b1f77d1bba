//! Signing keys: the JWKS the server trusts (public keys by `kid`, each with
//! the one algorithm it may be used with) and the test-only private keys that
//! `mint-token` signs with.
//!
//! A JWKS is checked as a whole at start: a key that could never verify an
//! access token here (private members, `use` other than `sig`, an `alg` that
//! does not fit its type or curve, …) refuses the set, naming the key. The
//! document served at `/oauth2/jwks` is rebuilt from the parsed public parts.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
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
    /// The JWKS document as served at `/oauth2/jwks`: rebuilt from the
    /// parsed public parts (`kty`, `kid`, `use`, `alg`, `n`/`e` or
    /// `crv`/`x`/`y`), never the file's bytes.
    pub document: String,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// JWK members that only a private or symmetric key has (RFC 7518 §6.2.2,
/// §6.3.2, §6.4): a verifier has no use for them and must not publish them.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Smallest RSA modulus RS256 may use (RFC 7518 §3.3), in bytes.
const MIN_RSA_MODULUS_BYTES: usize = 2048 / 8;

impl KeySet {
    /// Loads a JWKS file. Every key needs a `kid`; its algorithm comes from
    /// `alg` or, failing that, from the key type (RSA → RS256, P-256 →
    /// ES256, P-384 → ES384).
    pub fn load(path: &Path) -> Result<KeySet, KeyError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::Io(name.clone(), e))?;
        KeySet::parse(&text).map_err(|why| KeyError::Invalid(name, why))
    }

    /// Parses a JWKS document, refusing any key that could never verify an
    /// access token here: private members, `use` other than `sig`,
    /// `key_ops` without `verify`, an `alg` that does not fit the key type or
    /// curve, an RSA modulus under 2048 bits, an EC coordinate of the wrong
    /// size. The error names the key. Installs the ring provider
    /// ([`crate::jwt_crypto`]) that will check the signatures.
    pub fn parse(text: &str) -> Result<KeySet, String> {
        #[derive(serde::Deserialize)]
        struct RawSet {
            keys: Vec<serde_json::Map<String, serde_json::Value>>,
        }
        crate::jwt_crypto::install().map_err(|e| e.to_string())?;
        let set: RawSet = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if set.keys.is_empty() {
            return Err("the key set holds no keys".into());
        }
        let mut keys = HashMap::new();
        let mut public = Vec::new();
        for (i, raw) in set.keys.into_iter().enumerate() {
            let kid = match raw.get("kid") {
                Some(serde_json::Value::String(kid)) => kid.clone(),
                _ => return Err(format!("key #{} has no string `kid`", i + 1)),
            };
            let (key, alg, doc) =
                public_key(raw).map_err(|why| format!("key `{}`: {why}", printable(&kid)))?;
            if keys.insert(kid.clone(), (key, alg)).is_some() {
                return Err(format!("duplicate kid `{}`", printable(&kid)));
            }
            public.push(doc);
        }
        Ok(KeySet {
            keys,
            document: serde_json::json!({ "keys": public }).to_string(),
        })
    }

    /// The key and its pinned algorithm for a `kid`.
    pub fn get(&self, kid: &str) -> Option<&(DecodingKey, Algorithm)> {
        self.keys.get(kid)
    }
}

/// One JWK → its decoding key, pinned algorithm and public JWK, or why not.
fn public_key(
    raw: serde_json::Map<String, serde_json::Value>,
) -> Result<(DecodingKey, Algorithm, serde_json::Value), String> {
    use serde_json::{Value, json};
    if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| raw.contains_key(**m)) {
        return Err(format!(
            "holds the private member `{member}`; publish public keys only"
        ));
    }
    match raw.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(other) => return Err(format!("`use` is {other}, not \"sig\"")),
    }
    if let Some(ops) = raw.get("key_ops") {
        let verify = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|o| o == "verify"));
        if !verify {
            return Err("`key_ops` does not include \"verify\"".into());
        }
    }
    let jwk: Jwk = serde_json::from_value(Value::Object(raw)).map_err(|e| e.to_string())?;
    let kid = jwk.common.key_id.clone();
    let declared = jwk.common.key_algorithm;
    let (alg, doc) = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let alg = match declared {
                None | Some(KeyAlgorithm::RS256) => Algorithm::RS256,
                Some(KeyAlgorithm::RS384) => Algorithm::RS384,
                Some(KeyAlgorithm::RS512) => Algorithm::RS512,
                Some(KeyAlgorithm::PS256) => Algorithm::PS256,
                Some(other) => {
                    return Err(format!(
                        "`alg` {other:?} does not fit an RSA key (RS256, RS384, RS512, PS256)"
                    ));
                }
            };
            let modulus = URL_SAFE_NO_PAD
                .decode(&rsa.n)
                .map_err(|_| "`n` is not base64url".to_string())?;
            let bits = modulus.iter().skip_while(|b| **b == 0).count() * 8;
            if bits < MIN_RSA_MODULUS_BYTES * 8 {
                return Err(format!(
                    "RSA modulus of about {bits} bits; {alg:?} needs 2048 or more"
                ));
            }
            let doc =
                json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": alg, "n": rsa.n, "e": rsa.e});
            (alg, doc)
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            let (alg, crv, size) = match &ec.curve {
                EllipticCurve::P256 => (Algorithm::ES256, "P-256", 32),
                EllipticCurve::P384 => (Algorithm::ES384, "P-384", 48),
                other => {
                    return Err(format!(
                        "curve {other:?}: only P-256 (ES256) and P-384 (ES384) are supported"
                    ));
                }
            };
            let declared = match declared {
                None => Ok(alg),
                Some(KeyAlgorithm::ES256) => Ok(Algorithm::ES256),
                Some(KeyAlgorithm::ES384) => Ok(Algorithm::ES384),
                Some(other) => Err(format!("{other:?}")),
            };
            if declared != Ok(alg) {
                let named = declared.map_or_else(|other| other, |d| format!("{d:?}"));
                return Err(format!("`alg` {named} does not fit a {crv} key ({alg:?})"));
            }
            for (name, coordinate) in [("x", &ec.x), ("y", &ec.y)] {
                let bytes = URL_SAFE_NO_PAD
                    .decode(coordinate)
                    .map_err(|_| format!("`{name}` is not base64url"))?;
                if bytes.len() != size {
                    return Err(format!(
                        "`{name}` is {} bytes; a {crv} coordinate is {size}",
                        bytes.len()
                    ));
                }
            }
            let doc = json!({"kty": "EC", "kid": kid, "use": "sig", "alg": alg, "crv": crv, "x": ec.x, "y": ec.y});
            (alg, doc)
        }
        _ => {
            return Err(
                "only RSA (RS256, RS384, RS512, PS256) and EC P-256/P-384 (ES256, ES384) keys are supported"
                    .into(),
            );
        }
    };
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
    Ok((key, alg, doc))
}

/// A `kid` as it may appear in a one-line error: control characters escaped, at most 64 chars.
fn printable(kid: &str) -> String {
    kid.chars().take(64).flat_map(char::escape_debug).collect()
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
        crate::jwt_crypto::install().map_err(|e| KeyError::Invalid(name.clone(), e.to_string()))?;
        let pem = std::fs::read(&config.private_key).map_err(|e| KeyError::Io(name.clone(), e))?;
        let key = match algorithm {
            Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(&pem),
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

/// The algorithms a key of a [`KeySet`] may pin.
pub const PINNABLE: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// One of [`PINNABLE`] by name (case-insensitive).
pub fn parse_algorithm(s: &str) -> Option<Algorithm> {
    PINNABLE
        .into_iter()
        .find(|alg| format!("{alg:?}").eq_ignore_ascii_case(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn dev_keys() -> Vec<Value> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/keys/jwks.json");
        let set: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        set["keys"].as_array().unwrap().clone()
    }

    fn parse(keys: Vec<Value>) -> Result<KeySet, String> {
        KeySet::parse(&json!({ "keys": keys }).to_string())
    }

    /// The dev key set with one member of key `index` set (or removed, for null).
    fn edited(index: usize, member: &str, value: Value) -> Result<KeySet, String> {
        let mut keys = dev_keys();
        let key = keys[index].as_object_mut().unwrap();
        if value.is_null() {
            key.remove(member);
        } else {
            key.insert(member.into(), value);
        }
        parse(keys)
    }

    #[test]
    fn the_dev_keys_load_with_their_algorithms() {
        let set = parse(dev_keys()).unwrap();
        assert_eq!(set.get("dev-rs256").unwrap().1, Algorithm::RS256);
        assert_eq!(set.get("dev-es256").unwrap().1, Algorithm::ES256);
        // Without `alg` the key type decides.
        assert_eq!(
            edited(1, "alg", Value::Null)
                .unwrap()
                .get("dev-es256")
                .unwrap()
                .1,
            Algorithm::ES256
        );
    }

    #[test]
    fn private_members_are_refused_naming_the_key_and_member() {
        for (index, member) in [
            (0, "d"),
            (0, "p"),
            (0, "q"),
            (0, "dp"),
            (0, "dq"),
            (0, "qi"),
            (1, "d"),
            (1, "k"),
        ] {
            let kid = dev_keys()[index]["kid"].as_str().unwrap().to_string();
            let err = edited(index, member, json!("AQAB")).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "key `{kid}`: holds the private member `{member}`; publish public keys only"
                )
            );
        }
    }

    #[test]
    fn use_and_key_ops_must_allow_verification() {
        let err = edited(0, "use", json!("enc")).unwrap_err();
        assert_eq!(err, "key `dev-rs256`: `use` is \"enc\", not \"sig\"");
        assert!(edited(0, "use", Value::Null).is_ok());
        let err = edited(1, "key_ops", json!(["encrypt"])).unwrap_err();
        assert_eq!(
            err,
            "key `dev-es256`: `key_ops` does not include \"verify\""
        );
        assert!(edited(1, "key_ops", json!(["verify"])).is_ok());
    }

    #[test]
    fn alg_must_fit_the_key_type_and_curve() {
        let err = edited(1, "crv", json!("P-521")).unwrap_err();
        assert_eq!(
            err,
            "key `dev-es256`: curve P521: only P-256 (ES256) and P-384 (ES384) are supported"
        );
        // A P-384 key is ES384 and needs 48-byte coordinates.
        let err = edited(1, "crv", json!("P-384")).unwrap_err();
        assert_eq!(
            err,
            "key `dev-es256`: `alg` ES256 does not fit a P-384 key (ES384)"
        );
        let mut keys = dev_keys();
        keys[1]["crv"] = json!("P-384");
        keys[1].as_object_mut().unwrap().remove("alg");
        assert_eq!(
            parse(keys).unwrap_err(),
            "key `dev-es256`: `x` is 32 bytes; a P-384 coordinate is 48"
        );
        for alg in ["RS384", "RS512", "PS256"] {
            let set = edited(0, "alg", json!(alg)).unwrap();
            assert_eq!(Some(set.get("dev-rs256").unwrap().1), parse_algorithm(alg));
        }
        let err = edited(0, "alg", json!("PS512")).unwrap_err();
        assert!(err.contains("does not fit an RSA key"), "{err}");
        let err = edited(0, "alg", json!("ES256")).unwrap_err();
        assert!(
            err.starts_with("key `dev-rs256`: `alg` ES256 does not fit an RSA key"),
            "{err}"
        );
        let err = edited(1, "alg", json!("RS256")).unwrap_err();
        assert!(
            err.starts_with("key `dev-es256`: `alg` RS256 does not fit a P-256 key"),
            "{err}"
        );
        let err = edited(0, "n", json!("AQAB")).unwrap_err();
        assert_eq!(
            err,
            "key `dev-rs256`: RSA modulus of about 24 bits; RS256 needs 2048 or more"
        );
    }

    #[test]
    fn kids_are_required_and_unique_and_the_set_not_empty() {
        assert_eq!(parse(vec![]).unwrap_err(), "the key set holds no keys");
        assert_eq!(
            edited(0, "kid", Value::Null).unwrap_err(),
            "key #1 has no string `kid`"
        );
        let mut keys = dev_keys();
        keys.push(keys[0].clone());
        assert_eq!(parse(keys).unwrap_err(), "duplicate kid `dev-rs256`");
    }

    #[test]
    fn rsa_moduli_under_2048_bits_are_refused() {
        use base64::Engine as _;
        let modulus = |bytes: usize| json!(URL_SAFE_NO_PAD.encode(vec![0xC5_u8; bytes]));
        for (bytes, bits) in [(128, 1024), (255, 2040)] {
            let err = edited(0, "n", modulus(bytes)).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "key `dev-rs256`: RSA modulus of about {bits} bits; RS256 needs 2048 or more"
                )
            );
        }
        // Leading zero bytes do not count: 2048 bits padded to 257 bytes is still refused
        // when the significant part is shorter.
        let mut padded = vec![0_u8; 2];
        padded.extend(vec![0xC5_u8; 255]);
        assert!(edited(0, "n", json!(URL_SAFE_NO_PAD.encode(padded))).is_err());
        // A real 1024-bit key (openssl genrsa 1024) is refused at start.
        let weak = crate::jwt_crypto::tests::WEAK_N;
        assert_eq!(
            edited(0, "n", json!(weak)).unwrap_err(),
            "key `dev-rs256`: RSA modulus of about 1024 bits; RS256 needs 2048 or more"
        );
        // A full 2048-bit modulus passes the size check (the dev key is one).
        assert!(parse(dev_keys()).is_ok());
    }

    #[test]
    fn the_served_document_holds_only_the_parsed_public_parts() {
        let mut keys = dev_keys();
        keys[0]["x5c"] = json!(["MIIB..."]);
        keys[0]["extra"] = json!("echoed?");
        let served: Value = serde_json::from_str(&parse(keys).unwrap().document).unwrap();
        let dev = dev_keys();
        let public = |k: &Value, members: &[&str]| {
            Value::Object(
                members
                    .iter()
                    .map(|m| (m.to_string(), k[m].clone()))
                    .collect(),
            )
        };
        assert_eq!(
            served,
            json!({"keys": [
                public(&dev[0], &["kty", "kid", "use", "alg", "n", "e"]),
                public(&dev[1], &["kty", "kid", "use", "alg", "crv", "x", "y"]),
            ]})
        );
    }
}
