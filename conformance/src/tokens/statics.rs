//! The profile's own tokens and passwords, as the token factory sees
//! them: its static tokens (`accounts.<name>.token`,
//! `tokens.no_openid_token`) with the keys and subjects that give them,
//! why one that has expired cannot be used, and the passwords the
//! profile gives.

use std::collections::HashMap;

use crate::profile::Profile;

/// A static token of the profile.
#[derive(Debug, Clone)]
pub(super) struct Static {
    /// The profile key that gives it (`accounts.active.token`).
    pub(super) key: String,
    /// The token.
    pub(super) token: String,
    /// Whose token it is.
    pub(super) subject: Option<String>,
}

/// The profile's static valid tokens with the keys and subjects that give
/// them: `accounts.<name>.token` and `tokens.no_openid_token` (the active
/// account's; not `tokens.expired_token`, expired on purpose).
pub(super) fn static_tokens(profile: &Profile) -> Vec<Static> {
    let a = &profile.accounts;
    // Every account of the pool: `accounts.active` for one, else
    // `accounts.active[i]`.
    let pool = a.active.len();
    let active = a.active.iter().enumerate().map(|(i, account)| match pool {
        1 => ("active".to_string(), Some(account)),
        _ => (format!("active[{i}]"), Some(account)),
    });
    let roles = [
        ("frozen", a.frozen.as_ref()),
        ("locked", a.locked.as_ref()),
        ("frozen_and_locked", a.frozen_and_locked.as_ref()),
        ("lockable", a.lockable.as_ref()),
        ("missing", a.missing.as_ref()),
    ]
    .map(|(name, account)| (name.to_string(), account));
    let mut out: Vec<Static> = active
        .chain(roles)
        .filter_map(|(name, account)| {
            let account = account?;
            Some(Static {
                key: format!("accounts.{name}.token"),
                token: account.token.clone()?,
                subject: Some(account.subject.clone()),
            })
        })
        .collect();
    if let Some(token) = &profile.tokens.no_openid_token {
        out.push(Static {
            key: "tokens.no_openid_token".into(),
            token: token.clone(),
            subject: Some(a.active().subject.clone()),
        });
    }
    out
}

/// The profile's passwords by subject.
pub(super) fn profile_passwords(profile: &Profile) -> HashMap<String, String> {
    let a = &profile.accounts;
    a.active
        .iter()
        .chain(a.others())
        .filter_map(|acc| Some((acc.subject.clone(), acc.password.clone()?)))
        .collect()
}

/// Why a static token cannot be used: it expired (or expires before a
/// request can arrive).
pub fn static_expired_message(key: &str, exp: i64, now: i64) -> String {
    let when = if exp <= now {
        format!("expired {} s ago (its exp)", now - exp)
    } else {
        format!(
            "expires in {} s (its exp), before a request can arrive",
            exp - now
        )
    };
    format!(
        "{key} {when}: a static token must outlast the run; give a fresh one, or let the \
         suite take tokens itself (tokens.private_key or tokens.token_command)"
    )
}
