//! Wrong bearer tokens (S10): every forged, broken or unusable token is
//! "bearer token wrong". The cases send a valid change of the active
//! account with such a token (the plan of [`super::auth`]).

use crate::catalogue::{Case, Challenge, Expect, Row, Spec, TokenKind};

use super::auth::{Auth, Plan as P};
use Spec::Row as R;

/// The S10 cases.
pub fn cases() -> Vec<Case> {
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
            Reference,
            R(Row::S10),
            "a token from another issuer",
            P::Auth(
                Auth::Token(TokenKind::WrongIssuer),
                Expect::Challenge(Challenge::InvalidToken)
            ),
            TokenClaims: "the configured `iss` is enforced; another one is a wrong token (S10)"
        ),
        case!(
            "auth.invalid-token.wrong-audience",
            Reference,
            R(Row::S10),
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
