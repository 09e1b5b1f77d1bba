//! Near misses of the comparisons the endpoint makes on the token (issue
//! 18, `docs/catalogue.md`, "Near misses"): its time claims against now,
//! its `kid` against the published keys, its subject against the
//! accounts. Each case sends a valid change of the active account with a
//! token that is right but for one claim or header, just outside the
//! comparison (refused) or just inside it (accepted). The tokens are
//! minted with the profile's key, or, to show that a near-miss `kid`
//! never stands for a key, signed with the harness's own key
//! ([`crate::forge::HarnessKey`]), which no target publishes.
//!
//! Clock skew and leeway are open point 9: a seed-tier time probe stays
//! beyond any usual leeway (the widest common default, .NET's, is five
//! minutes), nearer ones are reference tier (the reference allows 30 s).

use serde_json::{Value, json};

use crate::session::{CaseContext, Stop};
use crate::tokens::unix_now;
use crate::vocabulary::{Case, Challenge, Expect, Row, Spec};

use Spec::Row as R;

pub use crate::vocabulary::plans::tokens::{Claims, Forgery, KidMiss, Plan, SubjectMiss};

/// The near-miss cases, in the order of the catalogue's table.
pub fn cases() -> Vec<Case> {
    [time_claims(), kid(), subject()].concat()
}

fn time_claims() -> Vec<Case> {
    use Claims::*;
    vec![
        case!(
            "auth.invalid-token.expired-minutes-ago",
            Seed,
            R(Row::S10),
            "a 300 s token that expired ten minutes ago (beyond any usual clock-skew leeway)",
            Plan::Forge(Forgery::Claims(ExpiredMinutesAgo))
        ),
        case!(
            "auth.invalid-token.expired-seconds-ago",
            Reference,
            R(Row::S10),
            "a token that expired 45 s ago",
            Plan::Forge(Forgery::Claims(ExpiredSecondsAgo)),
            TokenClaims: "`exp` is checked with a leeway of 30 s: a token expired 45 s ago is a wrong token (S10)"
        ),
        case!(
            "auth.token.expires-soon",
            Seed,
            R(Row::S10),
            "a 300 s token with a minute left is not expired: the change is accepted",
            Plan::Forge(Forgery::Claims(ExpiresSoon))
        ),
        case!(
            "auth.invalid-token.not-yet-valid-soon",
            Reference,
            R(Row::S10),
            "a token whose `nbf` is two minutes ahead",
            Plan::Forge(Forgery::Claims(NotBeforeSoon)),
            TokenClaims: "`nbf` is honoured with a leeway of 30 s: two minutes ahead is a wrong token (S10)"
        ),
        case!(
            "auth.invalid-token.issued-ahead",
            Reference,
            R(Row::S10),
            "a token whose `iat` is two minutes ahead",
            Plan::Forge(Forgery::Claims(IssuedAhead)),
            TokenClaims: "an `iat` more than the 30 s leeway ahead is a wrong token (S10)"
        ),
    ]
}

fn kid() -> Vec<Case> {
    use KidMiss::*;
    vec![
        case!(
            "auth.invalid-token.kid-case-changed",
            Reference,
            R(Row::S10),
            "the profile's key under its `kid` with the letter case flipped",
            Plan::Forge(Forgery::Claims(Claims::Kid(CaseChanged))),
            TokenClaims: "keys are chosen by exact `kid` (RFC 7515 §4.1.4: a case-sensitive string); another one is a wrong token (S10)"
        ),
        case!(
            "auth.invalid-token.kid-suffix",
            Reference,
            R(Row::S10),
            "the profile's key under its `kid` with a character appended",
            Plan::Forge(Forgery::Claims(Claims::Kid(Suffix))),
            TokenClaims: "keys are chosen by exact `kid`; a longer one is a wrong token (S10)"
        ),
        case!(
            "auth.invalid-token.kid-prefix",
            Reference,
            R(Row::S10),
            "the profile's key under its `kid` with a character prepended",
            Plan::Forge(Forgery::Claims(Claims::Kid(Prefix))),
            TokenClaims: "keys are chosen by exact `kid`; a longer one is a wrong token (S10)"
        ),
        case!(
            "auth.invalid-token.kid-empty",
            Reference,
            R(Row::S10),
            "the profile's key under an empty `kid`",
            Plan::Forge(Forgery::Claims(Claims::Kid(Empty))),
            TokenClaims: "keys are chosen by exact `kid`; an empty one is a wrong token (S10)"
        ),
        case!(
            "auth.invalid-token.kid-missing",
            Reference,
            R(Row::S10),
            "the profile's key, no `kid` header (the target publishes several keys)",
            Plan::Forge(Forgery::Claims(Claims::Kid(Missing))),
            TokenClaims: "a token without `kid` is a wrong token (S10): which key would verify it is ambiguous"
        ),
        case!(
            "auth.invalid-token.unpublished-key-published-kid",
            Seed,
            R(Row::S10),
            "a key the target does not publish under the published `kid` (bad signature)",
            Plan::Forge(Forgery::UnpublishedKey(Exact))
        ),
        case!(
            "auth.invalid-token.unpublished-key-kid-case-changed",
            Seed,
            R(Row::S10),
            "a key the target does not publish under the published `kid` with its case flipped",
            Plan::Forge(Forgery::UnpublishedKey(CaseChanged))
        ),
        case!(
            "auth.invalid-token.unpublished-key-empty-kid",
            Seed,
            R(Row::S10),
            "a key the target does not publish under an empty `kid`",
            Plan::Forge(Forgery::UnpublishedKey(Empty))
        ),
        case!(
            "auth.invalid-token.unpublished-key-no-kid",
            Seed,
            R(Row::S10),
            "a key the target does not publish, no `kid` header",
            Plan::Forge(Forgery::UnpublishedKey(Missing))
        ),
    ]
}

fn subject() -> Vec<Case> {
    vec![
        case!(
            "auth.subject.case-changed",
            Seed,
            R(Row::S6),
            "a valid token for the active account's subject with its letter case flipped: no \
             such user (`sub` is a case-sensitive string, RFC 7519 §4.1.2)",
            Plan::Forge(Forgery::Claims(Claims::Subject(SubjectMiss::CaseChanged)))
        ),
        case!(
            "auth.subject.trailing-space",
            Seed,
            R(Row::S6),
            "a valid token for the active account's subject with a space appended: no such user",
            Plan::Forge(Forgery::Claims(Claims::Subject(SubjectMiss::TrailingSpace)))
        ),
    ]
}

/// What the target must answer to a valid change sent with `forgery`'s
/// token: the change to a token not yet expired, `user_not_found` to
/// another subject, S10 to the rest.
pub(crate) fn expect(forgery: Forgery) -> Expect {
    match forgery {
        Forgery::Claims(Claims::ExpiresSoon) => Expect::Success,
        Forgery::Claims(Claims::Subject(_)) => Expect::USER_NOT_FOUND,
        _ => Expect::Challenge(Challenge::InvalidToken),
    }
}

/// The label of `forgery`'s token in reports, when it is one of these.
pub(crate) fn label(forgery: Forgery) -> Option<String> {
    let kid = |m: KidMiss| match m {
        KidMiss::Exact => "published",
        KidMiss::CaseChanged => "case-changed",
        KidMiss::Suffix => "suffix",
        KidMiss::Prefix => "prefix",
        KidMiss::Empty => "empty",
        KidMiss::Missing => "missing",
    };
    Some(match forgery {
        Forgery::Claims(Claims::Kid(m)) => format!("kid-{}", kid(m)),
        Forgery::Claims(Claims::Subject(SubjectMiss::CaseChanged)) => "sub-case-changed".into(),
        Forgery::Claims(Claims::Subject(SubjectMiss::TrailingSpace)) => "sub-trailing-space".into(),
        Forgery::UnpublishedKey(m) => format!("unpublished-key-kid-{}", kid(m)),
        Forgery::Claims(Claims::ExpiredMinutesAgo) => "expired-minutes-ago".into(),
        Forgery::Claims(Claims::ExpiredSecondsAgo) => "expired-seconds-ago".into(),
        Forgery::Claims(Claims::ExpiresSoon) => "expires-soon".into(),
        Forgery::Claims(Claims::NotBeforeSoon) => "not-before-soon".into(),
        Forgery::Claims(Claims::IssuedAhead) => "issued-ahead".into(),
        _ => return None,
    })
}

/// `text` with the case of each letter flipped, or `None` when it has no
/// letter (the flip would change nothing).
fn case_flipped(text: &str) -> Option<String> {
    let flipped: String = text
        .chars()
        .flat_map(|c| {
            if c.is_lowercase() {
                c.to_uppercase().collect::<Vec<_>>()
            } else {
                c.to_lowercase().collect()
            }
        })
        .collect();
    (flipped != text).then_some(flipped)
}

/// `published` missed the way `miss` says (`None`: no `kid`).
fn missed_kid(published: &str, miss: KidMiss) -> Result<Option<String>, Stop> {
    Ok(match miss {
        KidMiss::Exact => Some(published.to_string()),
        KidMiss::CaseChanged => Some(case_flipped(published).ok_or_else(|| {
            Stop::Skip(format!(
                "the published kid {published:?} has no letter to change"
            ))
        })?),
        KidMiss::Suffix => Some(format!("{published}x")),
        KidMiss::Prefix => Some(format!("x{published}")),
        KidMiss::Empty => Some(String::new()),
        KidMiss::Missing => None,
    })
}

/// The claims of a token of a given age: issued `age` seconds ago (and
/// valid from then), expiring `left` seconds from now (negative: ago).
fn aged(body: &mut Value, now: i64, age: i64, left: i64) {
    body["iat"] = json!(now - age);
    body["nbf"] = json!(now - age);
    body["exp"] = json!(now + left);
}

/// Builds the token of one of these forgeries; `None` for the others
/// (the token attacks of `super::tokens`).
pub(crate) async fn forge(
    ctx: &mut CaseContext<'_>,
    forgery: Forgery,
) -> Option<Result<String, Stop>> {
    Some(match forgery {
        Forgery::UnpublishedKey(miss) => unpublished(ctx, miss).await,
        Forgery::Claims(claims) => minted(ctx, claims)?,
        _ => return None,
    })
}

/// A token of the profile's key with one claim or header near the right
/// one; `None` for the claims `super::tokens` edits itself.
fn minted(ctx: &mut CaseContext<'_>, claims: Claims) -> Option<Result<String, Stop>> {
    if matches!(
        claims,
        Claims::NoExp | Claims::UnknownCrit | Claims::IssArray
    ) {
        return None;
    }
    Some(mint_near(ctx, claims))
}

fn mint_near(ctx: &mut CaseContext<'_>, claims: Claims) -> Result<String, Stop> {
    let subject = ctx.runner.ledger.active.account.subject.clone();
    let now = unix_now();
    let kid = match claims {
        Claims::Kid(miss) => {
            let published =
                ctx.runner.profile.tokens.kid.clone().ok_or_else(|| {
                    Stop::Skip("the profile declares no tokens.kid to miss".into())
                })?;
            missed_kid(&published, miss)?
        }
        _ => None,
    };
    let sub = match claims {
        Claims::Subject(SubjectMiss::CaseChanged) => case_flipped(&subject).ok_or_else(|| {
            Stop::Skip(format!("the subject {subject:?} has no letter to change"))
        })?,
        Claims::Subject(SubjectMiss::TrailingSpace) => format!("{subject} "),
        _ => subject.clone(),
    };
    let edit = |header: &mut Value, body: &mut Value| {
        body["sub"] = json!(sub);
        match claims {
            Claims::ExpiredMinutesAgo => aged(body, now, 900, -600),
            Claims::ExpiredSecondsAgo => aged(body, now, 345, -45),
            Claims::ExpiresSoon => aged(body, now, 0, 60),
            Claims::NotBeforeSoon => {
                body["nbf"] = json!(now + 120);
                body["exp"] = json!(now + 420);
            }
            Claims::IssuedAhead => {
                body["iat"] = json!(now + 120);
                body["exp"] = json!(now + 300);
            }
            Claims::Kid(_) => match &kid {
                Some(k) => header["kid"] = json!(k),
                None => {
                    if let Some(h) = header.as_object_mut() {
                        h.remove("kid");
                    }
                }
            },
            _ => {}
        }
    };
    Ok(ctx.runner.tokens.mint_edited(&subject, edit)?)
}

/// The valid token's claims signed with the harness's own key under the
/// published `kid` (the valid token's, else the profile's) missed the way
/// `miss` says.
async fn unpublished(ctx: &mut CaseContext<'_>, miss: KidMiss) -> Result<String, Stop> {
    let key = ctx.harness_key()?;
    let valid = ctx.active_token().await?;
    let published = crate::forge::parts(&valid)
        .and_then(|(h, _, _)| h.get("kid").and_then(Value::as_str).map(str::to_string))
        .or_else(|| ctx.runner.profile.tokens.kid.clone())
        .ok_or_else(|| {
            Stop::Skip(
                "neither the account's token nor the profile (tokens.kid) names a kid".into(),
            )
        })?;
    let kid = missed_kid(&published, miss)?;
    key.sign_as(&valid, kid.as_deref(), &[])
        .map_err(Stop::Error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kids_are_missed_by_one_thing_each() {
        let p = "dev-rs256";
        let m = |miss| missed_kid(p, miss).unwrap();
        assert_eq!(m(KidMiss::Exact).as_deref(), Some(p));
        assert_eq!(m(KidMiss::CaseChanged).as_deref(), Some("DEV-RS256"));
        assert_eq!(m(KidMiss::Suffix).as_deref(), Some("dev-rs256x"));
        assert_eq!(m(KidMiss::Prefix).as_deref(), Some("xdev-rs256"));
        assert_eq!(m(KidMiss::Empty).as_deref(), Some(""));
        assert_eq!(m(KidMiss::Missing), None);
        assert!(missed_kid("1234", KidMiss::CaseChanged).is_err());
        assert_eq!(case_flipped("Alice").as_deref(), Some("aLICE"));
    }

    #[test]
    fn only_the_acceptance_and_subject_probes_expect_something_else_than_s10() {
        for case in cases() {
            let crate::vocabulary::Plan::Tokens(Plan::Forge(f)) = case.plan else {
                panic!("{} is not a token plan", case.id);
            };
            let wrong = expect(f) == Expect::Challenge(Challenge::InvalidToken);
            assert_eq!(
                wrong,
                case.id.starts_with("auth.invalid-token."),
                "{}",
                case.id
            );
            assert!(label(f).is_some(), "{} has no label", case.id);
        }
    }
}
