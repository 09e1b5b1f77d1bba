//! The signature primitives under jsonwebtoken, on `ring`: a
//! [`CryptoProvider`] that jsonwebtoken calls for every signature it checks
//! or makes. jsonwebtoken keeps the parsing and the claims; this module only
//! answers "does this signature fit this message under this key".
//!
//! - Verifies RS256/RS384/RS512 (PKCS#1 v1.5) and PS256/PS384/PS512 (PSS,
//!   salt length = hash length, as RFC 7518 §3.5 requires) with RSA keys of
//!   2048 to 8192 bits; ES256/ES384 as the fixed-size `r‖s` of RFC 7518 §3.4
//!   (64 or 96 bytes, nothing else); HS256/HS384/HS512 in constant time (the
//!   server never holds an HMAC key: the conformance suite's fakes and
//!   forgeries use them).
//! - ECDSA signatures are accepted with either `s` or `n − s` ("high S"), as
//!   ring, RFC 7518 and the RustCrypto backend before it do: issuers such as
//!   OpenSSL do not normalise `s`, so refusing high S would refuse about half
//!   of their valid tokens. The malleated token is a different string with
//!   the same claims and the same holder; it grants nothing the original
//!   does not.
//! - Signs the same algorithms (RSA keys as PKCS#1 DER, EC keys as PKCS#8
//!   DER, which is what jsonwebtoken's PEM loaders hold): `mint-token` and
//!   the conformance suite's test tokens.
//! - EdDSA is not supported (nothing here uses it): an error, never a panic.
//!
//! [`install`] makes it the process's provider; it must run before the first
//! signature jsonwebtoken makes or checks (jsonwebtoken is built without a
//! backend of its own, so a process that forgets panics on first use rather
//! than verifying with something else).

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::signature::{self as sig, KeyPair};
use ring::{digest, hmac, rand};
use std::sync::atomic::{AtomicU64, Ordering};

/// The provider: ring's verifiers and signers.
pub static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: signer,
    verifier_factory: verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: rsa_components_from_private_key,
        rsa_pub_components_from_public_key: |_| Err(ErrorKind::UnsupportedAlgorithm.into()),
        ec_pub_components_from_private_key: ec_components_from_private_key,
        ed_pub_components_from_private_key: |_, _| Err(ErrorKind::UnsupportedAlgorithm.into()),
        compute_digest,
    },
};

/// jsonwebtoken already uses another provider in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignProvider;

impl std::fmt::Display for ForeignProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("jsonwebtoken's crypto provider was set before the ring provider was installed")
    }
}

impl std::error::Error for ForeignProvider {}

/// Makes [`PROVIDER`] the process's jsonwebtoken provider; `Ok` again if it
/// already is, `Err` if jsonwebtoken already settled on another one.
pub fn install() -> std::result::Result<(), ForeignProvider> {
    settled(PROVIDER.install_default())
}

/// What jsonwebtoken's `install_default` answered, as [`install`] reports it.
fn settled(
    answer: std::result::Result<(), &'static CryptoProvider>,
) -> std::result::Result<(), ForeignProvider> {
    match answer {
        Ok(()) => Ok(()),
        Err(current) if std::ptr::eq(current, &PROVIDER) => Ok(()),
        Err(_) => Err(ForeignProvider),
    }
}

/// A key checked against one algorithm; `verify` runs ring.
struct Verifier {
    algorithm: Algorithm,
    key: DecodingKey,
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if key.family() != algorithm.family() || *algorithm == Algorithm::EdDSA {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    Ok(Box::new(Verifier {
        algorithm: *algorithm,
        key: key.clone(),
    }))
}

impl signature::Verifier<Vec<u8>> for Verifier {
    fn verify(
        &self,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> std::result::Result<(), signature::Error> {
        verify(self.algorithm, &self.key, message, signature).map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Verifier {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

/// Signatures checked so far in this process, whatever the outcome.
static VERIFICATIONS: AtomicU64 = AtomicU64::new(0);

/// How many signatures [`verify`] has checked in this process: the
/// benchmark's proof that every forged token cost a verification.
pub fn verifications() -> u64 {
    VERIFICATIONS.load(Ordering::Relaxed)
}

/// Whether `signature` is `algorithm`'s signature of `message` under `key`.
pub fn verify(
    algorithm: Algorithm,
    key: &DecodingKey,
    message: &[u8],
    signature: &[u8],
) -> std::result::Result<(), ring::error::Unspecified> {
    use Algorithm::*;
    VERIFICATIONS.fetch_add(1, Ordering::Relaxed);
    let rsa = |params| verify_rsa(params, key, message, signature);
    let ec = |params| {
        let point = key
            .try_get_as_bytes()
            .map_err(|_| ring::error::Unspecified)?;
        sig::UnparsedPublicKey::new(params, point).verify(message, signature)
    };
    let mac = |alg| {
        let secret = key
            .try_get_as_bytes()
            .map_err(|_| ring::error::Unspecified)?;
        hmac::verify(&hmac::Key::new(alg, secret), message, signature)
    };
    match algorithm {
        RS256 => rsa(&sig::RSA_PKCS1_2048_8192_SHA256),
        RS384 => rsa(&sig::RSA_PKCS1_2048_8192_SHA384),
        RS512 => rsa(&sig::RSA_PKCS1_2048_8192_SHA512),
        PS256 => rsa(&sig::RSA_PSS_2048_8192_SHA256),
        PS384 => rsa(&sig::RSA_PSS_2048_8192_SHA384),
        PS512 => rsa(&sig::RSA_PSS_2048_8192_SHA512),
        ES256 => ec(&sig::ECDSA_P256_SHA256_FIXED),
        ES384 => ec(&sig::ECDSA_P384_SHA384_FIXED),
        HS256 => mac(hmac::HMAC_SHA256),
        HS384 => mac(hmac::HMAC_SHA384),
        HS512 => mac(hmac::HMAC_SHA512),
        // EdDSA, and whatever a later jsonwebtoken adds.
        _ => Err(ring::error::Unspecified),
    }
}

/// An RSA key as `n`/`e` (a JWK: what the server holds) or as PKCS#1 DER
/// (a PEM file).
fn verify_rsa(
    params: &'static sig::RsaParameters,
    key: &DecodingKey,
    message: &[u8],
    signature: &[u8],
) -> std::result::Result<(), ring::error::Unspecified> {
    match key.kind() {
        DecodingKeyKind::RsaModulusExponent { n, e } => {
            // ring refuses a signature that is not exactly the modulus
            // length too, but only after preparing the key (a few modular
            // squarings): refusing it first keeps a garbage token cheap.
            if signature.len() != n.iter().skip_while(|b| **b == 0).count() {
                return Err(ring::error::Unspecified);
            }
            sig::RsaPublicKeyComponents { n, e }.verify(params, message, signature)
        }
        DecodingKeyKind::SecretOrDer(der) => {
            sig::UnparsedPublicKey::new(params, der).verify(message, signature)
        }
    }
}

/// A private key ready to sign with one algorithm.
enum Signer {
    Rsa(Algorithm, sig::RsaKeyPair, &'static dyn sig::RsaEncoding),
    Ec(Algorithm, sig::EcdsaKeyPair),
    Mac(Algorithm, hmac::Key),
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    use Algorithm::*;
    if key.family() != algorithm.family() {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    let rsa = |encoding: &'static dyn sig::RsaEncoding| {
        let pair = sig::RsaKeyPair::from_der(key.as_bytes())
            .map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()))?;
        Ok::<_, jsonwebtoken::errors::Error>(Signer::Rsa(*algorithm, pair, encoding))
    };
    let ec = |alg| {
        let pair = sig::EcdsaKeyPair::from_pkcs8(alg, key.as_bytes(), &rand::SystemRandom::new())
            .map_err(|_| ErrorKind::InvalidEcdsaKey)?;
        Ok::<_, jsonwebtoken::errors::Error>(Signer::Ec(*algorithm, pair))
    };
    let mac = |alg| Signer::Mac(*algorithm, hmac::Key::new(alg, key.as_bytes()));
    let signer = match algorithm {
        RS256 => rsa(&sig::RSA_PKCS1_SHA256)?,
        RS384 => rsa(&sig::RSA_PKCS1_SHA384)?,
        RS512 => rsa(&sig::RSA_PKCS1_SHA512)?,
        PS256 => rsa(&sig::RSA_PSS_SHA256)?,
        PS384 => rsa(&sig::RSA_PSS_SHA384)?,
        PS512 => rsa(&sig::RSA_PSS_SHA512)?,
        ES256 => ec(&sig::ECDSA_P256_SHA256_FIXED_SIGNING)?,
        ES384 => ec(&sig::ECDSA_P384_SHA384_FIXED_SIGNING)?,
        HS256 => mac(hmac::HMAC_SHA256),
        HS384 => mac(hmac::HMAC_SHA384),
        HS512 => mac(hmac::HMAC_SHA512),
        // EdDSA, and whatever a later jsonwebtoken adds.
        _ => return Err(ErrorKind::UnsupportedAlgorithm.into()),
    };
    Ok(Box::new(signer))
}

impl signature::Signer<Vec<u8>> for Signer {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        let rng = rand::SystemRandom::new();
        match self {
            Signer::Rsa(_, pair, encoding) => {
                let mut out = vec![0; pair.public().modulus_len()];
                pair.sign(*encoding, &rng, message, &mut out)
                    .map_err(|_| signature::Error::new())?;
                Ok(out)
            }
            Signer::Ec(_, pair) => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| signature::Error::new()),
            Signer::Mac(_, key) => Ok(hmac::sign(key, message).as_ref().to_vec()),
        }
    }
}

impl JwtSigner for Signer {
    fn algorithm(&self) -> Algorithm {
        match self {
            Signer::Rsa(alg, ..) | Signer::Ec(alg, _) | Signer::Mac(alg, _) => *alg,
        }
    }
}

fn rsa_components_from_private_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let pair =
        sig::RsaKeyPair::from_der(der).map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()))?;
    let public = sig::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
    Ok((public.n, public.e))
}

fn ec_components_from_private_key(
    der: &[u8],
    algorithm: Algorithm,
) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>)> {
    let (alg, curve, len) = match algorithm {
        Algorithm::ES256 => (
            &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            EllipticCurve::P256,
            32,
        ),
        Algorithm::ES384 => (
            &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            EllipticCurve::P384,
            48,
        ),
        _ => return Err(ErrorKind::InvalidEcdsaKey.into()),
    };
    let pair = sig::EcdsaKeyPair::from_pkcs8(alg, der, &rand::SystemRandom::new())
        .map_err(|_| ErrorKind::InvalidEcdsaKey)?;
    // ring's public key is the uncompressed point 0x04 ‖ x ‖ y.
    let point = pair.public_key().as_ref();
    let (x, y) = point[1..].split_at(len);
    Ok((curve, x.to_vec(), y.to_vec()))
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &digest::SHA256,
        ThumbprintHash::SHA384 => &digest::SHA384,
        ThumbprintHash::SHA512 => &digest::SHA512,
        _ => return Err(ErrorKind::UnsupportedAlgorithm.into()),
    };
    Ok(digest::digest(algorithm, data).as_ref().to_vec())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{Header, Validation};
    use serde_json::{Value, json};

    fn b64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    fn pem(file: &str) -> Vec<u8> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/keys");
        std::fs::read(dir.join(file)).unwrap()
    }

    /// The dev RSA key's public half as the server holds it (JWK `n`/`e`).
    fn dev_rsa() -> DecodingKey {
        let text = String::from_utf8(pem("jwks.json")).unwrap();
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&text).unwrap();
        DecodingKey::from_jwk(set.find("dev-rs256").unwrap()).unwrap()
    }

    fn dev_ec() -> DecodingKey {
        let text = String::from_utf8(pem("jwks.json")).unwrap();
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&text).unwrap();
        DecodingKey::from_jwk(set.find("dev-es256").unwrap()).unwrap()
    }

    /// A fresh P-384 key pair: the private key and the public point's JWK
    /// `x` and `y`.
    pub(crate) fn p384() -> (EncodingKey, String, String) {
        let rng = rand::SystemRandom::new();
        let alg = &sig::ECDSA_P384_SHA384_FIXED_SIGNING;
        let pkcs8 = sig::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = sig::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let (x, y) = pair.public_key().as_ref()[1..].split_at(48);
        (
            EncodingKey::from_ec_der(pkcs8.as_ref()),
            URL_SAFE_NO_PAD.encode(x),
            URL_SAFE_NO_PAD.encode(y),
        )
    }

    fn sign_with(alg: Algorithm, key: &EncodingKey, message: &[u8]) -> Vec<u8> {
        install().unwrap();
        b64(&jsonwebtoken::crypto::sign(message, key, alg).unwrap())
    }

    pub(crate) const MESSAGE: &[u8] =
        b"eyJhbGciOiJQUzI1NiIsImtpZCI6ImRldi1wczI1NiJ9.eyJzdWIiOiJhbGljZSJ9";

    /// `MESSAGE` signed by `openssl dgst -sha256 -sign dev-rs256.pem -sigopt
    /// rsa_padding_mode:pss -sigopt rsa_pss_saltlen:N` for N = 32 (the
    /// length RFC 7518 §3.5 requires), 20, 0 and the maximum.
    pub(crate) const PSS_SALT_32: &str = "abVzMowTLZgBoin-UzqxgtOJUfWcwFx-0EheGd5eqU_JR1vxvjYGd15X8saIlznai09QjELCk7uWnko3tNeXhEw1NDh_gzFExW9rN9S0UhGbnftmMI8Ln4Rmlsxggxbz0k3hkKA-UKyqnETEFi0YKfPUsJNEuZraV4fEUgOVjPHdArjttdaY4cjD1TN4cGkVCztdcuAfWQd8lpE2uL0koeNcsqPRLvMxLBAdplLzTAiIL-RE2HtqPkRvLTMoBfl6EndiBWLXsyletY5uj0_LF20JOGBrDD1KFwxnHi0NpIuQ_sK4gRrYTUMkxtwgMVAxqHjgoGbZr1U-GcPrVBtHNg";
    pub(crate) const PSS_SALT_20: &str = "ah_8Z0mkVWfJ5em1IErdMnN87IKTISRR5kykQ-0ukpVgCQui8g_PAQ2CtiLjAHPL7TXuC777ZY1fppgiv1c4dpSqHz2KMVB8wtmiDL8ADIbCtq9KuJ8fgKyKigmjM0wPe8Y4UgKkHuuu3w7OSVLpC5tljGtGM8RfpUrAQlQz6FNfVw3LUziOSV9O8T3nJBlojxIshC9D3pFXLHkemp4GTkDqE075aNZXbmop36cyNBXsAD9kprKyV7AfVdeMWNAlaUggBXMbd7FsRHJ3VDX_9FM4-WPZNRl8WU1yaMuRLKN8Wk0Kkh8PKln-C4mRnBrqpYKpTW-bBKSkpZEDMDEkdQ";
    const PSS_SALT_0: &str = "kTEBpITq_V9VrjJi6IubQ_RYFSETomhNfbdAvIhAPWxL2p8gKdnLeDZlzEcTv4I9Q11c0hjxfthUbEuS1GwWizWExONPeBc5lh4bBXux2decPPqYYQ8h1_ZDPNpwIQzHAu5_5sHxnaE-0AaDEuAUoCps21feJS0UVIHyFLn-cBJ6f4-0F45IaRzQkxljUJraJBFV4r5REqm-xHgsMbJcFPsSb43w8yXHSOwqBcFmb_BNiiyQUy63JNBILI94-M6AE1EbP_7GpTKu4dOAa4kDqDnJtqLrlhSYkfqVj8ac9Lm3PTUho9iLLoRaqrNOuEnVVblaigJIQQBr3NnAdGM7GQ";
    const PSS_SALT_MAX: &str = "TbnBElQ72mMuM-9NxjfiLk4PpGn0JA1TpXKj2vlxWPnaoA16xQHW1Ry4IfeLrvtoqRK9OuDtOIDgSMPvuU_JwvTxN-ffMet7Kew5bm-lBKT5dbwbeHe0Ykbr8cyta2dFeb91Rg_2N79GRKTnPsuAJzvcQgMoGEXp2RE4RzmsN6NO0ufozhTJ99qFvp4Dvp6EY8ywJj5uDn0dYrwb1kW7Yf95IqcbTxtOkenprJVYtOzZuwey8g3QKoF48E5ndbKRX4cMk5yHhtLfltUaICk_RCI1wuDPvrl5Ei6WryDhPy6E87Ql-rzONd4REnfMsaYfH1oIZcqaXjj8drejrXsa3Q";

    /// A 1024-bit RSA key (`openssl genrsa 1024`, e = 65537) and its
    /// PKCS#1 v1.5 SHA-256 signature of `MESSAGE` (`openssl dgst` verifies it).
    pub(crate) const WEAK_N: &str = "zTt8P3_oCQIMiFtRvvM4HADAORLujSvXdT-Hdid9WbSR7dbSVNXPWne1ArHGkdBEJQwuWvzydVRGjoWe1iq8Ys2f114gGZYlYH0KyjUvqJvV6Ze967dB3O_rgLtLs6GPYxip4u4FaUARxRIkI2q3EsdP7ImfHWiKP7TJnCl-8Oc";
    const WEAK_SIG: &str = "s5iXJtf0Daz-DDWX0VsNLdKVkasf8hSAgRxooZHLqii4Llqbun-i0DmylWEYhu_fHQSRptsOKlGf9ytyuZTxPGuMNQXWT0xTLEY_eAi69ziVGg_hjwiSAXEI47Rsw3jaiIAXNTpimr3kx2C6163URsAU-L277PN38WUo28xqtFE";

    /// Every check counts, refused or not (other tests verify concurrently,
    /// so the count grows by at least the checks made here).
    #[test]
    fn verifications_are_counted() {
        let before = verifications();
        for signature in [&[0u8; 256][..], &[0u8; 3][..]] {
            assert!(verify(Algorithm::RS256, &dev_rsa(), MESSAGE, signature).is_err());
        }
        assert!(verifications() >= before + 2);
    }

    #[test]
    fn install_is_idempotent() {
        assert_eq!(install(), Ok(()));
        assert_eq!(install(), Ok(()));
    }

    /// Another provider settled first is reported, naming the problem.
    #[test]
    fn a_foreign_provider_is_an_error() {
        static OTHER: CryptoProvider = CryptoProvider {
            signer_factory: signer,
            verifier_factory: verifier,
            key_utils: KeyUtils::new_unimplemented(),
        };
        assert_eq!(settled(Err(&OTHER)), Err(ForeignProvider));
        assert_eq!(settled(Err(&PROVIDER)), Ok(()));
        assert_eq!(settled(Ok(())), Ok(()));
        assert_eq!(
            ForeignProvider.to_string(),
            "jsonwebtoken's crypto provider was set before the ring provider was installed"
        );
    }

    /// Every supported algorithm: what ring signs, ring verifies, and one
    /// flipped bit of the message or the signature is refused.
    #[test]
    fn signs_and_verifies_every_supported_algorithm() {
        let rsa = EncodingKey::from_rsa_pem(&pem("dev-rs256.pem")).unwrap();
        let ec = EncodingKey::from_ec_pem(&pem("dev-es256.pem")).unwrap();
        let (p384_private, x, y) = p384();
        let p384_public = DecodingKey::from_ec_components(&x, &y).unwrap();
        let secret = b"a shared secret of thirty-two b.";
        let cases = [
            (Algorithm::RS256, &rsa, dev_rsa(), 256),
            (Algorithm::RS384, &rsa, dev_rsa(), 256),
            (Algorithm::RS512, &rsa, dev_rsa(), 256),
            (Algorithm::PS256, &rsa, dev_rsa(), 256),
            (Algorithm::PS384, &rsa, dev_rsa(), 256),
            (Algorithm::PS512, &rsa, dev_rsa(), 256),
            (Algorithm::ES256, &ec, dev_ec(), 64),
            (Algorithm::ES384, &p384_private, p384_public, 96),
            (
                Algorithm::HS256,
                &EncodingKey::from_secret(secret),
                DecodingKey::from_secret(secret),
                32,
            ),
            (
                Algorithm::HS384,
                &EncodingKey::from_secret(secret),
                DecodingKey::from_secret(secret),
                48,
            ),
            (
                Algorithm::HS512,
                &EncodingKey::from_secret(secret),
                DecodingKey::from_secret(secret),
                64,
            ),
        ];
        for (alg, private, public, len) in cases {
            let signature = sign_with(alg, private, MESSAGE);
            assert_eq!(signature.len(), len, "{alg:?}");
            assert_eq!(verify(alg, &public, MESSAGE, &signature), Ok(()), "{alg:?}");
            let mut message = MESSAGE.to_vec();
            message[3] ^= 1;
            assert!(
                verify(alg, &public, &message, &signature).is_err(),
                "{alg:?}"
            );
            let mut bad = signature.clone();
            bad[len / 2] ^= 0x10;
            assert!(verify(alg, &public, MESSAGE, &bad).is_err(), "{alg:?}");
            // The factory gives a verifier for this algorithm that agrees.
            let v =
                (PROVIDER.verifier_factory)(&alg, &public).unwrap_or_else(|_| panic!("{alg:?}"));
            assert_eq!(v.algorithm(), alg);
            assert!(v.verify(MESSAGE, &signature).is_ok(), "{alg:?}");
            assert!(v.verify(MESSAGE, &bad).is_err(), "{alg:?}");
            let s = (PROVIDER.signer_factory)(&alg, private).unwrap_or_else(|_| panic!("{alg:?}"));
            assert_eq!(s.algorithm(), alg);
        }
    }

    /// Under the same key, an algorithm other than the one that signed is refused.
    #[test]
    fn a_signature_verifies_only_under_its_own_algorithm() {
        let rsa = EncodingKey::from_rsa_pem(&pem("dev-rs256.pem")).unwrap();
        let rs256 = sign_with(Algorithm::RS256, &rsa, MESSAGE);
        for other in [Algorithm::RS384, Algorithm::RS512, Algorithm::PS256] {
            assert!(
                verify(other, &dev_rsa(), MESSAGE, &rs256).is_err(),
                "{other:?}"
            );
        }
        let ps256 = sign_with(Algorithm::PS256, &rsa, MESSAGE);
        assert!(verify(Algorithm::RS256, &dev_rsa(), MESSAGE, &ps256).is_err());
    }

    /// RSA signatures are exactly the modulus length, ECDSA ones exactly
    /// `r‖s`: a byte more or less, or the ASN.1 DER form, is refused.
    #[test]
    fn a_signature_of_the_wrong_length_is_refused() {
        let rsa = EncodingKey::from_rsa_pem(&pem("dev-rs256.pem")).unwrap();
        let good = sign_with(Algorithm::RS256, &rsa, MESSAGE);
        let mut longer = vec![0];
        longer.extend(&good);
        for bad in [&good[1..], &good[..255], &longer[..], &[][..]] {
            assert!(
                verify(Algorithm::RS256, &dev_rsa(), MESSAGE, bad).is_err(),
                "{}",
                bad.len()
            );
        }
        let ec = EncodingKey::from_ec_pem(&pem("dev-es256.pem")).unwrap();
        let good = sign_with(Algorithm::ES256, &ec, MESSAGE);
        assert_eq!(verify(Algorithm::ES256, &dev_ec(), MESSAGE, &good), Ok(()));
        let mut longer = good.clone();
        longer.push(0);
        let mut der = vec![0x30, 0x44, 0x02, 0x20];
        der.extend(&good[..32]);
        der.extend([0x02, 0x20]);
        der.extend(&good[32..]);
        for bad in [&good[..63], &longer[..], &der[..], &good[..32]] {
            assert!(
                verify(Algorithm::ES256, &dev_ec(), MESSAGE, bad).is_err(),
                "{}",
                bad.len()
            );
        }
    }

    /// The decision documented at the top of the module: `(r, n − s)`
    /// verifies as `(r, s)` does, as it does with ring in general; `s = 0`,
    /// `s = n` and `r = 0` do not.
    #[test]
    fn a_high_s_ecdsa_signature_is_accepted_and_degenerate_ones_are_not() {
        // The order of P-256.
        let n = b64("_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE");
        let ec = EncodingKey::from_ec_pem(&pem("dev-es256.pem")).unwrap();
        let good = sign_with(Algorithm::ES256, &ec, MESSAGE);
        let (r, s) = good.split_at(32);
        let mut high = r.to_vec();
        high.extend(sub(&n, s));
        assert_ne!(high, good);
        assert_eq!(verify(Algorithm::ES256, &dev_ec(), MESSAGE, &high), Ok(()));
        for (r, s) in [(r, &[0; 32][..]), (r, &n[..]), (&[0; 32][..], s)] {
            let bad = [r, s].concat();
            assert!(verify(Algorithm::ES256, &dev_ec(), MESSAGE, &bad).is_err());
        }
    }

    /// `a − b` for big-endian numbers of the same length, `a ≥ b`.
    pub(crate) fn sub(a: &[u8], b: &[u8]) -> Vec<u8> {
        let mut out = vec![0; a.len()];
        let mut borrow = 0i16;
        for i in (0..a.len()).rev() {
            let d = a[i] as i16 - b[i] as i16 - borrow;
            borrow = i16::from(d < 0);
            out[i] = (d + 256 * borrow) as u8;
        }
        out
    }

    /// PS256 needs a 32-byte salt (RFC 7518 §3.5); openssl's signatures
    /// with other salt lengths are refused, the 32-byte one is accepted.
    #[test]
    fn ps256_with_the_wrong_salt_length_is_refused() {
        assert_eq!(
            verify(Algorithm::PS256, &dev_rsa(), MESSAGE, &b64(PSS_SALT_32)),
            Ok(())
        );
        for (salt, signature) in [
            ("20", PSS_SALT_20),
            ("0", PSS_SALT_0),
            ("max", PSS_SALT_MAX),
        ] {
            assert!(
                verify(Algorithm::PS256, &dev_rsa(), MESSAGE, &b64(signature)).is_err(),
                "salt {salt}"
            );
        }
    }

    /// A key under 2048 bits verifies nothing, even its own good signature
    /// (the key set refuses such a key at start as well: `keys::tests`).
    #[test]
    fn an_rsa_key_under_2048_bits_verifies_nothing() {
        let weak = DecodingKey::from_rsa_components(WEAK_N, "AQAB").unwrap();
        let signature = b64(WEAK_SIG);
        assert_eq!(signature.len(), 128);
        for alg in [Algorithm::RS256, Algorithm::PS256] {
            assert!(verify(alg, &weak, MESSAGE, &signature).is_err(), "{alg:?}");
        }
        // The same check at the legacy 1024-bit floor accepts it: the
        // signature is good, only the key size refuses it.
        let legacy = sig::RsaPublicKeyComponents {
            n: b64(WEAK_N),
            e: vec![1, 0, 1],
        };
        assert_eq!(
            legacy.verify(
                &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                MESSAGE,
                &signature
            ),
            Ok(())
        );
    }

    /// A key of another family, or EdDSA, gets no verifier or signer.
    #[test]
    fn keys_of_another_family_and_eddsa_are_refused() {
        let rsa = dev_rsa();
        let ec = dev_ec();
        let hmac = DecodingKey::from_secret(b"k");
        for (alg, key) in [
            (Algorithm::ES256, &rsa),
            (Algorithm::HS256, &rsa),
            (Algorithm::RS256, &ec),
            (Algorithm::RS256, &hmac),
            (Algorithm::EdDSA, &ec),
        ] {
            assert!((PROVIDER.verifier_factory)(&alg, key).is_err(), "{alg:?}");
        }
        let rsa_private = EncodingKey::from_rsa_pem(&pem("dev-rs256.pem")).unwrap();
        assert!((PROVIDER.signer_factory)(&Algorithm::ES256, &rsa_private).is_err());
        assert!((PROVIDER.signer_factory)(&Algorithm::HS256, &rsa_private).is_err());
        assert!(
            (PROVIDER.signer_factory)(&Algorithm::EdDSA, &EncodingKey::from_ed_der(b"k")).is_err()
        );
        assert!(verify(Algorithm::EdDSA, &ec, MESSAGE, &[0; 64]).is_err());
    }

    /// An RSA public key given as PKCS#1 DER (what a PEM file gives
    /// jsonwebtoken) verifies like the same key given as `n`/`e`.
    #[test]
    fn an_rsa_key_in_pkcs1_der_verifies() {
        fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
            let len = content.len();
            let mut out = vec![tag];
            match len {
                0..128 => out.push(len as u8),
                128..256 => out.extend([0x81, len as u8]),
                _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
            }
            out.extend(content);
            out
        }
        let int = |b: &[u8]| {
            let mut v = b.to_vec();
            if v[0] & 0x80 != 0 {
                v.insert(0, 0);
            }
            tlv(0x02, &v)
        };
        let jwk = dev_rsa();
        let DecodingKeyKind::RsaModulusExponent { n, e } = jwk.kind() else {
            panic!("a JWK gives n and e")
        };
        let der = DecodingKey::from_rsa_der(&tlv(0x30, &[int(n), int(e)].concat()));
        let rsa = EncodingKey::from_rsa_pem(&pem("dev-rs256.pem")).unwrap();
        let signature = sign_with(Algorithm::RS256, &rsa, MESSAGE);
        assert_eq!(verify(Algorithm::RS256, &der, MESSAGE, &signature), Ok(()));
        assert!(verify(Algorithm::RS256, &der, b"other", &signature).is_err());
    }

    /// Through jsonwebtoken: a token the provider signs decodes with the
    /// provider's verifier, and the public parts of the private keys match
    /// the published ones.
    #[test]
    fn jsonwebtoken_uses_the_provider_end_to_end() {
        install().unwrap();
        let rsa = EncodingKey::from_rsa_pem(&pem("dev-rs256.pem")).unwrap();
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::PS256), &json!({"sub": "a"}), &rsa)
                .unwrap();
        let mut v = Validation::new(Algorithm::PS256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let claims = jsonwebtoken::decode::<Value>(&token, &dev_rsa(), &v)
            .unwrap()
            .claims;
        assert_eq!(claims, json!({"sub": "a"}));
        let (n, e) = rsa_components_from_private_key(rsa.as_bytes()).unwrap();
        let jwk = dev_rsa();
        let DecodingKeyKind::RsaModulusExponent { n: n2, e: e2 } = jwk.kind() else {
            panic!("a JWK gives n and e")
        };
        assert_eq!((&n, &e), (n2, e2));
        let ec = EncodingKey::from_ec_pem(&pem("dev-es256.pem")).unwrap();
        let (curve, x, y) =
            ec_components_from_private_key(ec.as_bytes(), Algorithm::ES256).unwrap();
        assert_eq!(curve, EllipticCurve::P256);
        assert_eq!(
            [&[4][..], &x, &y].concat(),
            dev_ec().try_get_as_bytes().unwrap()
        );
        assert!(ec_components_from_private_key(ec.as_bytes(), Algorithm::RS256).is_err());
        let (p384, x384, y384) = p384();
        let (curve, x, y) =
            ec_components_from_private_key(p384.as_bytes(), Algorithm::ES384).unwrap();
        assert_eq!(curve, EllipticCurve::P384);
        assert_eq!((b64(&x384), b64(&y384)), (x, y));
        assert_eq!(
            compute_digest(b"abc", ThumbprintHash::SHA256).unwrap(),
            b64("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0")
        );
        assert_eq!(
            compute_digest(b"abc", ThumbprintHash::SHA384)
                .unwrap()
                .len(),
            48
        );
        assert_eq!(
            compute_digest(b"abc", ThumbprintHash::SHA512)
                .unwrap()
                .len(),
            64
        );
    }
}
