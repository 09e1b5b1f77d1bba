//! Wrong bearer tokens (S10): every forged, broken or unusable token is
//! "bearer token wrong". The first cases send a valid change of the active
//! account with a broken variant of its token (the plan of
//! [`super::auth`]); the token attacks ([`Forgery`], built from small
//! tables) forge tokens from the valid one with [`crate::forge`], with the
//! target's public keys ([`crate::jwks`]) where an attack needs them, and
//! the profile's signing key for the claims RFC 9068 rules on.

use http::{HeaderName, HeaderValue};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::forge;
use crate::session::{CaseContext, Stop, header};
use crate::vocabulary::{Case, Challenge, Expect, Row, Spec, TokenKind};

use super::auth::{self, Auth, Plan as P};
use Spec::Row as R;

pub use crate::vocabulary::plans::tokens::{Claims, Forgery, KeyBytes, KeyHint, Plan};

const RFC9068_ISS: Spec = Spec::Rfc {
    section: "RFC 9068 §4",
    quote: "The issuer identifier for the authorization server (which is typically obtained \
            during discovery) MUST exactly match the value of the iss claim.",
};

const RFC9068_AUD: Spec = Spec::Rfc {
    section: "RFC 9068 §4",
    quote: "The resource server MUST validate that the aud claim contains a resource indicator \
            value corresponding to an identifier the resource server expects for itself. The \
            JWT access token MUST be rejected if aud does not contain a resource indicator of \
            the current resource server as a valid audience.",
};

const RFC7515_CRIT: Spec = Spec::Rfc {
    section: "RFC 7515 §4.1.11",
    quote: "If any of the listed extension Header Parameters are not understood and supported \
            by the recipient, then the JWS is invalid.",
};

const RFC9068_EXP: Spec = Spec::Rfc {
    section: "RFC 9068 §2.2",
    quote: "exp REQUIRED - as defined in Section 4.1.4 of [RFC7519]",
};

/// A URL the target has no reason to trust (and cannot reach).
const UNTRUSTED_URL: &str = "https://attacker.invalid/conformance/jwks.json";

/// The S10 cases.
pub fn cases() -> Vec<Case> {
    [
        invalid_tokens(),
        algorithm_attacks(),
        header_and_claim_attacks(),
        super::token_misses::cases(),
    ]
    .concat()
}

/// S10: tokens a conformant target cannot accept (undecodable, bad signature, expired, not b64token).
fn invalid_tokens() -> Vec<Case> {
    vec![
        // --- S10: bearer token wrong ---------------------------------------------------
        case!(
            "auth.invalid-token.garbage",
            Seed,
            R(Row::S10),
            "a token that is not a JWT (undecodable)",
            P::Auth(
                Auth::Literal("Bearer not-a-jwt"),
                Expect::Challenge(Challenge::InvalidToken)
            )
        ),
        case!(
            "auth.invalid-token.bad-signature",
            Seed,
            R(Row::S10),
            "a valid token with its signature bytes altered",
            P::Auth(
                Auth::Token(TokenKind::BadSignature),
                Expect::Challenge(Challenge::InvalidToken)
            )
        ),
        case!(
            "auth.invalid-token.untrusted-key",
            Seed,
            R(Row::S10),
            "a token signed by a key the target does not trust (bad signature)",
            P::Auth(
                Auth::Token(TokenKind::UntrustedKey),
                Expect::Challenge(Challenge::InvalidToken)
            )
        ),
        case!(
            "auth.invalid-token.alg-none",
            Seed,
            R(Row::S10),
            "an unsigned token (`alg: none`) has no valid signature",
            P::Auth(
                Auth::Token(TokenKind::AlgNone),
                Expect::Challenge(Challenge::InvalidToken)
            )
        ),
        case!(
            "auth.invalid-token.expired",
            Seed,
            R(Row::S10),
            "a token that expired an hour ago",
            P::Auth(
                Auth::Token(TokenKind::Expired),
                Expect::Challenge(Challenge::InvalidToken)
            )
        ),
        case!(
            "auth.invalid-token.wrong-issuer",
            Rfc,
            RFC9068_ISS,
            "a token from another issuer",
            P::Auth(
                Auth::Token(TokenKind::WrongIssuer),
                Expect::Challenge(Challenge::InvalidToken)
            ),
            TokenClaims: "the configured `iss` is enforced; another one is a wrong token (S10)"
        ),
        case!(
            "auth.invalid-token.wrong-audience",
            Rfc,
            RFC9068_AUD,
            "a token for another audience",
            P::Auth(
                Auth::Token(TokenKind::WrongAudience),
                Expect::Challenge(Challenge::InvalidToken)
            ),
            TokenClaims: "the configured `aud` is enforced; another one is a wrong token (S10)"
        ),
        case!(
            "auth.invalid-token.unknown-kid",
            Reference,
            R(Row::S10),
            "a token whose `kid` the target does not publish",
            P::Auth(
                Auth::Token(TokenKind::UnknownKid),
                Expect::Challenge(Challenge::InvalidToken)
            ),
            TokenClaims: "keys are chosen by `kid`; an unknown `kid` is a wrong token (S10)"
        ),
        case!(
            "auth.invalid-token.not-yet-valid",
            Reference,
            R(Row::S10),
            "a token whose `nbf` is an hour ahead",
            P::Auth(
                Auth::Token(TokenKind::NotYetValid),
                Expect::Challenge(Challenge::InvalidToken)
            ),
            TokenClaims: "`nbf` is honoured (within the leeway)"
        ),
        case!(
            "auth.invalid-token.not-b64token",
            Reference,
            R(Row::S10),
            "a token outside the RFC 6750 b64token syntax",
            P::Auth(
                Auth::Literal("Bearer abc!def"),
                Expect::Challenge(Challenge::InvalidToken)
            ),
            BearerSyntax: "a token that is not b64token syntax is a wrong token (S10)"
        ),
    ]
}

/// Token attacks on the algorithm: the public key as an HMAC secret, `alg: none` in its spellings, a stripped signature.
fn algorithm_attacks() -> Vec<Case> {
    vec![
        // --- token attacks -----------------------------------------------------------
        case!(
            "auth.invalid-token.hs256-public-key-pem",
            Seed,
            R(Row::S10),
            "HS256 signed with the target's public key (PEM) as HMAC secret",
            Plan::Forge(Forgery::Hmac(Algorithm::HS256, KeyBytes::Pem))
        ),
        case!(
            "auth.invalid-token.hs384-public-key-pem",
            Seed,
            R(Row::S10),
            "HS384 signed with the target's public key (PEM) as HMAC secret",
            Plan::Forge(Forgery::Hmac(Algorithm::HS384, KeyBytes::Pem))
        ),
        case!(
            "auth.invalid-token.hs512-public-key-pem",
            Seed,
            R(Row::S10),
            "HS512 signed with the target's public key (PEM) as HMAC secret",
            Plan::Forge(Forgery::Hmac(Algorithm::HS512, KeyBytes::Pem))
        ),
        case!(
            "auth.invalid-token.hs256-public-key-jwk",
            Seed,
            R(Row::S10),
            "HS256 signed with the target's JWK (JSON bytes) as HMAC secret",
            Plan::Forge(Forgery::Hmac(Algorithm::HS256, KeyBytes::Jwk))
        ),
        case!(
            "auth.invalid-token.hs384-public-key-jwk",
            Seed,
            R(Row::S10),
            "HS384 signed with the target's JWK (JSON bytes) as HMAC secret",
            Plan::Forge(Forgery::Hmac(Algorithm::HS384, KeyBytes::Jwk))
        ),
        case!(
            "auth.invalid-token.hs512-public-key-jwk",
            Seed,
            R(Row::S10),
            "HS512 signed with the target's JWK (JSON bytes) as HMAC secret",
            Plan::Forge(Forgery::Hmac(Algorithm::HS512, KeyBytes::Jwk))
        ),
        case!(
            "auth.invalid-token.alg-none-capitalised",
            Seed,
            R(Row::S10),
            "`alg: None`, no signature",
            Plan::Forge(Forgery::AlgNone("None", false))
        ),
        case!(
            "auth.invalid-token.alg-none-upper-case",
            Seed,
            R(Row::S10),
            "`alg: NONE`, no signature",
            Plan::Forge(Forgery::AlgNone("NONE", false))
        ),
        case!(
            "auth.invalid-token.alg-none-with-signature",
            Seed,
            R(Row::S10),
            "`alg: none` with the valid token's signature left on",
            Plan::Forge(Forgery::AlgNone("none", true))
        ),
        case!(
            "auth.invalid-token.alg-none-capitalised-with-signature",
            Seed,
            R(Row::S10),
            "`alg: None` with the valid token's signature left on",
            Plan::Forge(Forgery::AlgNone("None", true))
        ),
        case!(
            "auth.invalid-token.alg-none-upper-case-with-signature",
            Seed,
            R(Row::S10),
            "`alg: NONE` with the valid token's signature left on",
            Plan::Forge(Forgery::AlgNone("NONE", true))
        ),
        case!(
            "auth.invalid-token.signature-stripped",
            Seed,
            R(Row::S10),
            "a valid token with its signature removed (`header.payload.`)",
            Plan::Forge(Forgery::SignatureStripped)
        ),
    ]
}

/// Token attacks through the header (embedded keys, untrusted key URLs, injected `kid`) and the claims.
fn header_and_claim_attacks() -> Vec<Case> {
    vec![
        case!(
            "auth.invalid-token.embedded-jwk",
            Seed,
            R(Row::S10),
            "signed with the harness's own key, carried in an embedded `jwk` header",
            Plan::Forge(Forgery::HarnessKey(KeyHint::Jwk))
        ),
        case!(
            "auth.invalid-token.jku-untrusted",
            Seed,
            R(Row::S10),
            "signed with the harness's own key, `jku` pointing at an untrusted URL",
            Plan::Forge(Forgery::HarnessKey(KeyHint::Jku))
        ),
        case!(
            "auth.invalid-token.x5u-untrusted",
            Seed,
            R(Row::S10),
            "signed with the harness's own key, `x5u` pointing at an untrusted URL",
            Plan::Forge(Forgery::HarnessKey(KeyHint::X5u))
        ),
        case!(
            "auth.invalid-token.kid-path-traversal",
            Seed,
            R(Row::S10),
            "`kid` = ../../../../dev/null, HS256 with an empty secret",
            Plan::Forge(Forgery::Kid("../../../../../../../../dev/null", b""))
        ),
        case!(
            "auth.invalid-token.kid-sql-injection",
            Seed,
            R(Row::S10),
            "`kid` with SQL injection selecting a known secret, HS256 with that secret",
            Plan::Forge(Forgery::Kid(
                "x' UNION SELECT 'conformance-secret' -- ",
                b"conformance-secret"
            ))
        ),
        case!(
            "auth.invalid-token.kid-command-injection",
            Seed,
            R(Row::S10),
            "`kid` with shell command injection printing a known secret, HS256 with it",
            Plan::Forge(Forgery::Kid(
                "dev.pem; printf conformance-secret #",
                b"conformance-secret"
            ))
        ),
        case!(
            "auth.invalid-token.ecdsa-zero-signature",
            Seed,
            R(Row::S10),
            "ES256/ES384 naming the target's EC key with the signature r = s = 0",
            Plan::Forge(Forgery::ZeroEcdsa)
        ),
        case!(
            "auth.invalid-token.no-exp",
            Rfc,
            RFC9068_EXP,
            "a token without `exp`, signed with the trusted key",
            Plan::Forge(Forgery::Claims(Claims::NoExp)),
            TokenClaims: "`exp` is required: a token without it is a wrong token (S10)"
        ),
        case!(
            "auth.invalid-token.unknown-crit",
            Rfc,
            RFC7515_CRIT,
            "a token whose `crit` header names an extension nobody understands, signed with the trusted key",
            Plan::Forge(Forgery::Claims(Claims::UnknownCrit)),
            TokenClaims: "an unknown `crit` extension makes the token wrong (S10)"
        ),
        case!(
            "auth.invalid-token.iss-array",
            Rfc,
            RFC9068_ISS,
            "`iss` given as an array holding the issuer, signed with the trusted key",
            Plan::Forge(Forgery::Claims(Claims::IssArray)),
            TokenClaims: "`iss` must be a string equal to the issuer: an array is a wrong token (S10)"
        ),
    ]
}

fn label(f: Forgery) -> String {
    match f {
        Forgery::Hmac(alg, KeyBytes::Pem) => format!("{alg:?}-public-key-pem").to_lowercase(),
        Forgery::Hmac(alg, KeyBytes::Jwk) => format!("{alg:?}-public-key-jwk").to_lowercase(),
        Forgery::AlgNone(s, sig) => format!("alg-{s}{}", if sig { "-signed" } else { "" }),
        Forgery::SignatureStripped => "signature-stripped".into(),
        Forgery::HarnessKey(h) => format!("harness-key-{h:?}").to_lowercase(),
        Forgery::Kid(..) => "kid-injection".into(),
        Forgery::ZeroEcdsa => "ecdsa-zero".into(),
        Forgery::Claims(c) => format!("{c:?}").to_lowercase(),
        Forgery::UnpublishedKey(m) => format!("unpublished-key-{m:?}").to_lowercase(),
    }
}

/// Builds the forged token and sends a valid change with it: S10 (or,
/// for the near misses of [`super::token_misses`], what they expect).
pub(crate) async fn run(ctx: &mut CaseContext<'_>, plan: Plan) -> Result<(), Stop> {
    let Plan::Forge(forgery) = plan;
    let token = match super::token_misses::forge(ctx, forgery).await {
        Some(token) => token?,
        None => forge_token(ctx, forgery).await?,
    };
    let subject = ctx.runner.ledger.active.account.subject.clone();
    let label = super::token_misses::label(forgery).unwrap_or_else(|| label(forgery));
    ctx.redactor
        .add(&token, &format!("token:{subject}-{label}"));
    let headers: Vec<(HeaderName, HeaderValue)> =
        header(http::header::AUTHORIZATION, &format!("Bearer {token}"))
            .into_iter()
            .collect();
    auth::send_change(ctx, headers, super::token_misses::expect(forgery)).await
}

async fn forge_token(ctx: &mut CaseContext<'_>, forgery: Forgery) -> Result<String, Stop> {
    let not_jwt = || Stop::Skip("the account's token is not a JWT".to_string());
    let tokens = ctx.runner.profile.tokens.clone();
    match forgery {
        Forgery::Hmac(alg, bytes) => {
            let keys = ctx.target_keys().await?;
            let key = keys
                .signing_key(tokens.kid.as_deref(), &tokens.algorithm)
                .ok_or_else(|| Stop::Skip(format!("{} holds no key", keys.source)))?;
            let secret = match bytes {
                KeyBytes::Pem => key.pem.clone(),
                KeyBytes::Jwk => key.jwk.clone(),
            }
            .ok_or_else(|| {
                Stop::Skip(match bytes {
                    KeyBytes::Pem => format!("no PEM form of the target's key ({})", keys.source),
                    KeyBytes::Jwk => format!(
                        "needs the target's JWKS (tokens.jwks_url): {} gives no JWK",
                        keys.source
                    ),
                })
            })?;
            ctx.result.notes.push(format!(
                "the target's key{}: {}",
                key.kid
                    .as_deref()
                    .map(|k| format!(" {k}"))
                    .unwrap_or_default(),
                keys.source
            ));
            let valid = ctx.active_token().await?;
            forge::hmac(&valid, alg, &secret, key.kid.as_deref()).map_err(Stop::Skip)
        }
        Forgery::AlgNone(spelling, keep) => {
            let valid = ctx.active_token().await?;
            forge::alg_none(&valid, spelling, keep).ok_or_else(not_jwt)
        }
        Forgery::SignatureStripped => {
            let valid = ctx.active_token().await?;
            forge::strip_signature(&valid).ok_or_else(not_jwt)
        }
        Forgery::HarnessKey(hint) => {
            let key = ctx.harness_key()?;
            let valid = ctx.active_token().await?;
            let extra: Vec<(&str, Value)> = match hint {
                KeyHint::Jwk => vec![("jwk", key.jwk.clone())],
                KeyHint::Jku => vec![("jku", json!(UNTRUSTED_URL))],
                KeyHint::X5u => vec![(
                    "x5u",
                    json!("https://attacker.invalid/conformance/cert.pem"),
                )],
            };
            key.sign(&valid, &extra).map_err(Stop::Error)
        }
        Forgery::Kid(kid, secret) => {
            let valid = ctx.active_token().await?;
            forge::hmac(&valid, Algorithm::HS256, secret, Some(kid)).map_err(Stop::Skip)
        }
        Forgery::ZeroEcdsa => {
            let (alg, len, kid) = if tokens.algorithm.starts_with("ES") {
                let len = if tokens.algorithm == "ES384" { 96 } else { 64 };
                (tokens.algorithm.clone(), len, tokens.kid.clone())
            } else {
                let keys = ctx.target_keys().await?;
                let key = keys.ec_key().ok_or_else(|| {
                    Stop::Skip(format!(
                        "the target has no EC key (tokens.algorithm {}, {})",
                        tokens.algorithm, keys.source
                    ))
                })?;
                match key.crv.as_deref() {
                    Some("P-384") => ("ES384".to_string(), 96, key.kid.clone()),
                    _ => ("ES256".to_string(), 64, key.kid.clone()),
                }
            };
            let valid = ctx.active_token().await?;
            forge::zero_ecdsa(&valid, &alg, kid.as_deref(), len).ok_or_else(not_jwt)
        }
        Forgery::Claims(claims) => {
            let subject = ctx.runner.ledger.active.account.subject.clone();
            let token = ctx
                .runner
                .tokens
                .mint_edited(&subject, |header, body| match claims {
                    Claims::NoExp => {
                        if let Some(map) = body.as_object_mut() {
                            map.remove("exp");
                        }
                    }
                    Claims::UnknownCrit => {
                        header["crit"] = json!(["urn:conformance:unknown-extension"]);
                        header["urn:conformance:unknown-extension"] = json!(true);
                    }
                    Claims::IssArray => {
                        let iss = body["iss"].clone();
                        body["iss"] = json!([iss]);
                    }
                    // The near misses' own ([`super::token_misses`]).
                    _ => {}
                })?;
            Ok(token)
        }
        Forgery::UnpublishedKey(_) => Err(Stop::Error(
            "the unpublished-key forgeries are token_misses'".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_attack_expects_bearer_token_wrong() {
        for case in cases() {
            if let crate::vocabulary::Plan::Tokens(Plan::Forge(f)) = case.plan
                && super::super::token_misses::expect(f)
                    == Expect::Challenge(Challenge::InvalidToken)
            {
                assert!(case.id.starts_with("auth.invalid-token."), "{}", case.id);
            }
        }
        let attacks = cases()
            .iter()
            .filter(|c| matches!(c.plan, crate::vocabulary::Plan::Tokens(_)))
            .count();
        assert!(attacks >= 20, "{attacks} token attacks");
    }
}
