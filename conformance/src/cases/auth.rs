//! The bearer token's presence, scheme and scope (S9, RFC 7235 §2.1, S11):
//! a valid change of the active account sent with some `Authorization`
//! header(s). The plan [`Plan::Auth`] is shared with [`super::tokens`],
//! whose S10 cases send the same change with a broken token.

use http::{HeaderName, HeaderValue};

use crate::session::{CaseContext, Effect, Stop, change, header};
use crate::vocabulary::{Case, Challenge, Expect, Row, ScopeForm, Spec, Tier, TokenKind};

use Plan as P;
use Spec::Row as R;

pub use crate::vocabulary::plans::auth::{Auth, Plan};

const OPENID: &[&str] = &["openid"];
const OPENID_PROFILE: &[&str] = &["openid", "profile"];
const PROFILE_EMAIL: &[&str] = &["profile", "email"];
const OPENIDX: &[&str] = &["openidx", "profile"];
const OPENID_UPPER: &[&str] = &["OPENID", "profile"];
const XOPENID: &[&str] = &["xopenid", "profile"];
const OPEN_ID: &[&str] = &["open id", "profile"];
const OPENID_MIDDLE: &[&str] = &["profile", "openid", "email"];
const OPENID_LAST: &[&str] = &["profile", "email", "openid"];

/// S9 and the scheme.
pub fn missing_token() -> Vec<Case> {
    vec![
        // --- S9: bearer token missing -------------------------------------------------
        case!(
            "auth.missing-token.no-header",
            Seed,
            R(Row::S9),
            "no Authorization header",
            P::Auth(Auth::None, Expect::Challenge(Challenge::InvalidRequest))
        ),
        case!(
            "auth.missing-token.other-scheme",
            Reference,
            R(Row::S9),
            "Authorization with a non-Bearer scheme counts as no bearer token",
            P::Auth(
                Auth::Literal("Basic dXNlcjpwYXNz"),
                Expect::Challenge(Challenge::InvalidRequest)
            ),
            BearerSyntax: "a non-Bearer scheme is answered like a missing token (S9)"
        ),
        case!(
            "auth.missing-token.empty-bearer",
            Reference,
            R(Row::S9),
            "`Bearer` with nothing after it counts as no bearer token",
            P::Auth(
                Auth::Literal("Bearer"),
                Expect::Challenge(Challenge::InvalidRequest)
            ),
            BearerSyntax: "`Bearer` with an empty token is answered like a missing token (S9)"
        ),
        case!(
            "auth.missing-token.several-headers",
            Reference,
            R(Row::S9),
            "two Authorization headers are not one bearer token",
            P::Auth(Auth::Twice, Expect::Challenge(Challenge::InvalidRequest)),
            BearerSyntax: "several Authorization headers are answered like a missing token (S9)"
        ),
        // --- RFC 7235: the scheme is case-insensitive -----------------------------------
        case!(
            "auth.scheme.lower-case",
            Rfc,
            Spec::Rfc {
                section: "RFC 7235 §2.1",
                quote: "It uses a case-insensitive token as a means to identify the authentication scheme"
            },
            "`bearer <token>` in lower case is accepted",
            P::Auth(Auth::LowerCaseScheme, Expect::Success),
            BearerSyntax: "`bearer` in lower case is accepted (RFC 7235)"
        ),
    ]
}

/// S11 and the accepted scope forms.
pub fn scope() -> Vec<Case> {
    vec![
        // --- S11: token lacks the openid scope ----------------------------------------
        case!(
            "auth.insufficient-scope.no-scope-claim",
            Seed,
            R(Row::S11),
            "a token without a scope claim",
            P::Auth(
                Auth::Token(TokenKind::NoScope),
                Expect::Challenge(Challenge::InsufficientScope)
            )
        ),
        case!(
            "auth.insufficient-scope.array-without-openid",
            Seed,
            R(Row::S11),
            "scope as a JSON array without openid",
            P::Auth(
                Auth::Token(TokenKind::Scope(PROFILE_EMAIL, ScopeForm::Array)),
                Expect::Challenge(Challenge::InsufficientScope)
            )
        ),
        case!(
            "auth.insufficient-scope.string-without-openid",
            Seed,
            R(Row::S11),
            "scope as a space-separated string without openid",
            P::Auth(
                Auth::Token(TokenKind::Scope(PROFILE_EMAIL, ScopeForm::String)),
                Expect::Challenge(Challenge::InsufficientScope)
            )
        ),
        case!(
            "auth.insufficient-scope.openid-prefix",
            Seed,
            R(Row::S11),
            "`openidx` is not the openid scope",
            P::Auth(
                Auth::Token(TokenKind::DeclaredScope(OPENIDX)),
                Expect::Challenge(Challenge::InsufficientScope)
            )
        ),
        case!(
            "auth.insufficient-scope.openid-upper-case",
            Rfc,
            R(Row::S11),
            "`OPENID` is not the openid scope (scope values are case-sensitive, RFC 6749 §3.3)",
            P::Auth(
                Auth::Token(TokenKind::DeclaredScope(OPENID_UPPER)),
                Expect::Challenge(Challenge::InsufficientScope)
            )
        ),
        case!(
            "auth.insufficient-scope.openid-suffix",
            Seed,
            R(Row::S11),
            "`xopenid` is not the openid scope",
            P::Auth(
                Auth::Token(TokenKind::DeclaredScope(XOPENID)),
                Expect::Challenge(Challenge::InsufficientScope)
            )
        ),
        case!(
            "auth.insufficient-scope.openid-inner-space",
            Seed,
            R(Row::S11),
            "`open id` is not the openid scope",
            P::Auth(
                Auth::Token(TokenKind::DeclaredScope(OPEN_ID)),
                Expect::Challenge(Challenge::InsufficientScope)
            )
        ),
        case!(
            "auth.insufficient-scope.profile-token",
            Seed,
            R(Row::S11),
            "the profile's token without openid (tokens.no_openid_token), else one minted with \
             scope profile",
            P::Auth(
                Auth::Token(TokenKind::ProfileNoOpenid),
                Expect::Challenge(Challenge::InsufficientScope)
            )
        ),
        case!(
            "auth.scope.array-with-openid",
            Seed,
            R(Row::S11),
            "scope as a JSON array with openid (the vendor's form) is accepted",
            P::Auth(
                Auth::Token(TokenKind::Scope(OPENID, ScopeForm::Array)),
                Expect::Success
            )
        ),
        case!(
            "auth.scope.openid-middle",
            Seed,
            R(Row::S11),
            "openid in the middle of several scope values is accepted",
            P::Auth(
                Auth::Token(TokenKind::DeclaredScope(OPENID_MIDDLE)),
                Expect::Success
            )
        ),
        case!(
            "auth.scope.openid-last",
            Seed,
            R(Row::S11),
            "openid last of several scope values is accepted",
            P::Auth(
                Auth::Token(TokenKind::DeclaredScope(OPENID_LAST)),
                Expect::Success
            )
        ),
        case!(
            "auth.scope.string-with-openid",
            Reference,
            R(Row::S11),
            "scope as a space-separated string with openid (RFC 9068) is accepted",
            P::Auth(
                Auth::Token(TokenKind::Scope(OPENID_PROFILE, ScopeForm::String)),
                Expect::Success
            ),
            TokenClaims: "the scope claim is read as a JSON array or a space-separated string"
        ),
    ]
}

/// Carries out an auth plan.
pub(crate) async fn run(ctx: &mut CaseContext<'_>, plan: Plan) -> Result<(), Stop> {
    let Plan::Auth(auth, expect) = plan;
    let bearer =
        |t: &str, scheme: &str| header(http::header::AUTHORIZATION, &format!("{scheme} {t}"));
    let headers: Vec<(HeaderName, HeaderValue)> = match auth {
        Auth::None => Vec::new(),
        Auth::Literal(v) => header(http::header::AUTHORIZATION, v).into_iter().collect(),
        Auth::Twice => {
            let t = ctx.active_token().await?;
            [bearer(&t, "Bearer"), bearer(&t, "Bearer")]
                .into_iter()
                .flatten()
                .collect()
        }
        Auth::LowerCaseScheme => {
            let t = ctx.active_token().await?;
            bearer(&t, "bearer").into_iter().collect()
        }
        Auth::Token(kind) => {
            if let TokenKind::Scope(_, form) = kind {
                let declared = ctx.runner.profile.tokens.scope_format;
                if form != declared && ctx.result.tier != Tier::Reference {
                    // The document shows one form; the profile says which
                    // one the target issues. The other is a reference check.
                    ctx.result.tier = Tier::Reference;
                    ctx.result.notes.push(format!(
                        "the profile declares tokens.scope_format = {declared:?}: the other \
                         form is checked at reference tier"
                    ));
                }
            }
            let account = ctx.runner.ledger.active.account.clone();
            let t = ctx.runner.tokens.variant(&account, kind).await?;
            if let TokenKind::DeclaredScope(values) = kind {
                near_miss_as_asked(values, &t)?;
            }
            ctx.redactor.add(
                &t,
                &format!("token:{}-{}", account.subject, token_label(kind)),
            );
            bearer(&t, "Bearer").into_iter().collect()
        }
    };
    if let Auth::None = auth {
        ctx.result.notes.push(
            "RFC 6750 §3 says a request without authentication information SHOULD get no \
             error code; the vendor document answers invalid_request, and it wins here"
                .to_string(),
        );
    }
    send_change(ctx, headers, expect).await
}

/// Sends a valid change of the active account (old = current, new =
/// fresh) with these `Authorization` headers, and follows its effect.
pub(crate) async fn send_change(
    ctx: &mut CaseContext<'_>,
    headers: Vec<(HeaderName, HeaderValue)>,
    expect: Expect,
) -> Result<(), Stop> {
    let current = ctx.current();
    let new = ctx.fresh();
    let request = change(None, &current, &new, Some(headers));
    ctx.step(
        "a valid change of the active account's password",
        request,
        Effect::Change { old: current, new },
        expect,
    )
    .await?;
    Ok(())
}

/// A scope without `openid` must reach the target as asked: the case is
/// not determined when the issued token's scope holds an exact `openid`
/// (the issuer normalised a near miss, `OPENID`, to it) or does not hold
/// a requested value as one value (a space-separated scope, or a token
/// command given the values joined with spaces, splits `open id`). A
/// token whose payload does not decode is sent as it is.
fn near_miss_as_asked(values: &[&str], t: &str) -> Result<(), Stop> {
    if values.contains(&"openid") {
        return Ok(());
    }
    let Some(issued) = issued_scope(t) else {
        return Ok(());
    };
    if issued.iter().any(|v| v == "openid") {
        return Err(Stop::Skip(
            "not determined: the issued token's scope holds openid (the issuer normalised the \
             requested values): the near miss cannot reach the target"
                .into(),
        ));
    }
    if let Some(missing) = values.iter().find(|v| !issued.iter().any(|i| i == *v)) {
        return Err(Stop::Skip(format!(
            "not determined: the issued token's scope does not hold {missing:?} as one value (a \
             space-separated scope splits it)"
        )));
    }
    Ok(())
}

/// The scope values of JWT `t` (a JSON array, or a space-separated
/// string), when its payload decodes and has a scope.
fn issued_scope(t: &str) -> Option<Vec<String>> {
    use base64::Engine;
    let payload = t.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    match claims.get("scope")? {
        serde_json::Value::Array(a) => Some(
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ),
        serde_json::Value::String(s) => Some(
            s.split(' ')
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    }
}

fn token_label(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::BadSignature => "bad-signature",
        TokenKind::UntrustedKey => "untrusted-key",
        TokenKind::Expired => "expired",
        TokenKind::NotYetValid => "not-yet-valid",
        TokenKind::WrongIssuer => "wrong-issuer",
        TokenKind::WrongAudience => "wrong-audience",
        TokenKind::AlgNone => "alg-none",
        TokenKind::UnknownKid => "unknown-kid",
        TokenKind::NoScope => "no-scope",
        TokenKind::Scope(..) | TokenKind::DeclaredScope(_) => "scope",
        TokenKind::ProfileNoOpenid => "no-openid",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn token(claims: serde_json::Value) -> String {
        let b = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!("{}.{}.sig", b(b"{}"), b(claims.to_string().as_bytes()))
    }

    #[test]
    fn a_near_miss_the_issuer_did_not_keep_is_not_determined() {
        let normalised = token(serde_json::json!({"scope": ["openid", "profile"]}));
        assert!(near_miss_as_asked(OPENID_UPPER, &normalised).is_err());
        let split = token(serde_json::json!({"scope": "open id profile"}));
        assert!(near_miss_as_asked(OPEN_ID, &split).is_err());
        let kept = token(serde_json::json!({"scope": ["open id", "profile"]}));
        assert!(near_miss_as_asked(OPEN_ID, &kept).is_ok());
        let upper = token(serde_json::json!({"scope": "OPENID profile"}));
        assert!(near_miss_as_asked(OPENID_UPPER, &upper).is_ok());
        // Not a JWT: sent as it is.
        assert!(near_miss_as_asked(OPENID_UPPER, "opaque").is_ok());
        // Cases that ask for openid are not near misses.
        assert!(near_miss_as_asked(OPENID_MIDDLE, &normalised).is_ok());
    }
}
