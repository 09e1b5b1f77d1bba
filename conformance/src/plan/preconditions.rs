//! The cases' skip conditions that the profile alone decides (an account
//! the profile does not give, a policy key it does not declare, a token it
//! cannot make), evaluated before the run starts: `conformance plan`
//! prints them and the runner skips those cases up front with the same
//! reason the case would give. Conditions that need the target (its
//! published keys, the token an issuer returns) or the password the run
//! has reached are left to the case at run time.

use crate::password;
use crate::profile::Profile;
use crate::vocabulary::plans::{auth, history, http, members, password as pw, policy, user};
use crate::vocabulary::{Case, Plan, PolicyBreak, TokenKind};

/// Why `case` cannot run with `profile`, in the case's own words, or
/// `None` when the profile alone does not stop it.
pub fn skip_reason(profile: &Profile, case: &Case) -> Option<String> {
    match case.plan {
        Plan::User(p) => user_skip(profile, p),
        Plan::Members(members::Plan::OtherAccount(_)) => {
            let a = &profile.accounts;
            let other = a.others().any(|o| o.subject != a.active().subject);
            (!other).then(|| "the profile names no account besides the active one".to_string())
        }
        Plan::History(history::Plan::History(_)) => match profile.policy.depth() {
            None => Some("policy.history is not declared".into()),
            Some(0) => Some("the declared history keeps no previous password".into()),
            Some(_) => None,
        },
        Plan::Policy(policy::Plan::Break(kind)) => password::breaking(&profile.policy, kind).err(),
        Plan::Policy(policy::Plan::Edge(kind)) => password::edge(&profile.policy, kind).err(),
        Plan::Policy(policy::Plan::FarTooLong) => profile
            .policy
            .max_length
            .is_none()
            .then(|| "policy.max_length is not declared".to_string()),
        Plan::Password(pw::Plan::Exact(pw::NearMiss::First72Bytes)) => {
            password::long(&profile.policy).err()
        }
        Plan::Password(pw::Plan::Exact(pw::NearMiss::WhitespaceRemoved))
            if !profile.policy.allow_spaces =>
        {
            Some("policy.allow_spaces is not set: P cannot hold spaces".into())
        }
        Plan::Password(pw::Plan::WrongOldFirst(pw::WrongOldNew::TooShort)) => {
            password::breaking(&profile.policy, PolicyBreak::TooShort).err()
        }
        Plan::Http(http::Plan::Raw(raw, _))
            if raw.body == http::Body::Oversized && profile.limits.max_body_bytes.is_none() =>
        {
            Some("limits.max_body_bytes is not declared".into())
        }
        Plan::Auth(auth::Plan::Auth(auth::Auth::Token(kind), _)) => token_skip(profile, kind),
        Plan::Property(_) => Some("a generated property: run with --properties".into()),
        _ => None,
    }
}

fn user_skip(profile: &Profile, plan: user::Plan) -> Option<String> {
    let a = &profile.accounts;
    match plan {
        user::Plan::Account { role, .. } => {
            let account = match role {
                user::Role::Frozen => &a.frozen,
                user::Role::Locked => &a.locked,
                user::Role::FrozenAndLocked => &a.frozen_and_locked,
                user::Role::Missing => &a.missing,
            };
            let made_up = role == user::Role::Missing && profile.tokens.private_key.is_some();
            (account.is_none() && !made_up).then(|| format!("no [{}] in the profile", role.table()))
        }
        user::Plan::Lockout => {
            if a.lockable.is_none() {
                Some("no [accounts.lockable] in the profile".into())
            } else if profile.lockout.max_failures.filter(|m| *m > 0).is_none() {
                Some("lockout.max_failures is not declared".into())
            } else {
                None
            }
        }
    }
}

/// The token variants the profile cannot make (the token factory's own
/// reasons, `crate::tokens`).
fn token_skip(profile: &Profile, kind: TokenKind) -> Option<String> {
    let t = &profile.tokens;
    let minting = t.private_key.is_some();
    match kind {
        TokenKind::UntrustedKey if t.untrusted_private_key.is_none() => {
            Some("needs tokens.untrusted_private_key".into())
        }
        TokenKind::Expired if !minting && t.expired_token.is_none() => {
            Some("needs minting (tokens.private_key) or tokens.expired_token".into())
        }
        TokenKind::ProfileNoOpenid if !minting && t.no_openid_token.is_none() => {
            Some("needs tokens.no_openid_token or minting (tokens.private_key)".into())
        }
        TokenKind::Scope(..) | TokenKind::DeclaredScope(_)
            if !minting && t.token_command.is_none() =>
        {
            Some("needs minting (tokens.private_key) or tokens.token_command".into())
        }
        TokenKind::NotYetValid
        | TokenKind::WrongIssuer
        | TokenKind::WrongAudience
        | TokenKind::UnknownKid
        | TokenKind::NoScope
            if !minting =>
        {
            Some("needs minting (tokens.private_key in the profile)".into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Profile {
        Profile::load(std::path::Path::new(crate::embedded::REFERENCE_PROFILE)).unwrap()
    }

    #[test]
    fn the_reference_profile_stops_only_the_symbol_case() {
        let profile = reference();
        let stopped: Vec<_> = crate::cases::CATALOGUE
            .iter()
            .filter_map(|c| skip_reason(&profile, c).map(|why| (c.id, why)))
            .collect();
        // The reference policy requires no symbol.
        assert_eq!(
            stopped,
            [(
                "policy.no-symbol",
                "policy.require_symbol is not set".to_string()
            )]
        );
    }

    #[test]
    fn missing_accounts_and_keys_are_named() {
        let mut profile = reference();
        profile.accounts.frozen = None;
        profile.accounts.missing = None;
        profile.policy.history = None;
        let why = |id: &str| skip_reason(&profile, crate::cases::find(id).unwrap());
        assert_eq!(
            why("user.frozen").as_deref(),
            Some("no [accounts.frozen] in the profile")
        );
        // A missing subject is made up when the run can mint.
        assert_eq!(why("user.not-found"), None);
        assert_eq!(
            why("history.most-recent").as_deref(),
            Some("policy.history is not declared")
        );
        profile.tokens.private_key = None;
        let why = |id: &str| skip_reason(&profile, crate::cases::find(id).unwrap());
        assert_eq!(
            why("user.not-found").as_deref(),
            Some("no [accounts.missing] in the profile")
        );
    }
}
