//! The run's context as one target sees it: [`Session`] (the endpoint,
//! the profile, the token factory, the target's keys, the run's options,
//! the [`Ledger`] of every account the run may change), why a case stops
//! (`Stop`), and the run's options and errors. The accounts themselves,
//! their budget, their candidates and the state file live in the ledger
//! ([`super::ledger`]); the session tells the token source each new
//! password of the active account.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::exchange::{self, Endpoint, ExchangeRecord};
use crate::forge::HarnessKey;
use crate::jwks::{KeysError, TargetKeys};
use crate::profile::{LockoutRule, Profile};

pub(crate) use super::ledger::Effect;
use super::ledger::Ledger;
use crate::redact::Redactor;
use crate::state::StateError;
use crate::tokens::{TokenError, TokenFactory};
use crate::verdict::Enforcement;

/// How a run is carried out.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Which tiers fail the run.
    pub enforcement: Enforcement,
    /// Print passwords and tokens instead of labels.
    pub show_secrets: bool,
    /// Where the active account's state is kept.
    pub state_file: PathBuf,
    /// Timeout of one exchange.
    pub timeout: Duration,
}

/// Why a run could not start or go on.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// The profile's tokens cannot be made (unreadable key, …).
    Tokens(TokenError),
    /// The state file is unusable or belongs to another target.
    State(StateError),
    /// The target does not accept connections.
    Connection(exchange::TransportError),
    /// The profile is unusable.
    Profile(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Tokens(e) => write!(f, "{e}"),
            RunError::State(e) => write!(f, "{e}"),
            RunError::Connection(e) => write!(f, "{e}"),
            RunError::Profile(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// Work the runner did outside the cases (resuming, restoring).
#[derive(Debug, Clone, Serialize)]
pub struct Housekeeping {
    /// Whether it reached its goal.
    pub ok: bool,
    /// What happened, in one sentence.
    pub outcome: String,
    /// The exchanges, redacted.
    pub exchanges: Vec<ExchangeRecord>,
}

/// Why a case stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// A fixture is missing: skipped (if nothing was sent yet).
    Skip(String),
    /// A configuration problem (like a failing token command).
    Error(String),
    /// A step failed in a way that makes the rest meaningless (recorded).
    Abort,
    /// The answers cannot tell a pass from a failure (the document leaves
    /// open which answer comes first): skipped with what would decide it;
    /// the exchanges stay in the record, the checks become notes.
    NotDetermined(String),
}

impl From<TokenError> for Stop {
    fn from(e: TokenError) -> Stop {
        match e {
            TokenError::Unavailable(why) => Stop::Skip(why),
            TokenError::Failed(why) => Stop::Error(why),
        }
    }
}

/// Runs cases against one target.
pub struct Session {
    pub(crate) endpoint: Endpoint,
    pub(crate) profile: Profile,
    pub(crate) tokens: TokenFactory,
    pub(crate) options: RunOptions,
    /// Every account the run may change, saved before every request that
    /// may change one.
    pub(crate) ledger: Ledger,
    /// Secrets of the profile (other accounts' passwords, static tokens).
    pub(crate) profile_secrets: Redactor,
    /// The target's public keys, once looked up.
    pub(crate) target_keys: Option<Result<TargetKeys, KeysError>>,
    /// The harness's own key, once made.
    pub(crate) harness_key: Option<Result<Arc<HarnessKey>, String>>,
    /// Cases (index in the results, candidate passwords) whose refused
    /// requests are not yet confirmed to have left the password unchanged.
    pub(crate) unconfirmed: Vec<(usize, Vec<String>)>,
    /// Whether a case reported that the target revokes tokens on a change
    /// (open point 10): said once per run.
    pub(crate) revocation_reported: bool,
    /// Why a static token of the profile stopped serving the run: refused
    /// after the run's change of its account (open point 10).
    pub(crate) static_refused: Option<String>,
}

/// The "case" of a 200 an interrupted run got (recorded in its state file).
pub(crate) const RESUMED: &str = "the interrupted run";

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(profile: &Profile, options: &RunOptions) -> Result<Session, RunError> {
        let endpoint = profile.endpoint().map_err(RunError::Profile)?;
        let tokens = TokenFactory::new(profile).map_err(RunError::Tokens)?;
        let mut pool = Vec::new();
        for account in &profile.accounts.active {
            let original = account.password.clone().ok_or_else(|| {
                RunError::Profile("accounts.active.password is required".to_string())
            })?;
            pool.push((account.clone(), original));
        }
        let mut pool = pool.into_iter();
        let (account, original) = pool
            .next()
            .ok_or_else(|| RunError::Profile("accounts.active is required".to_string()))?;
        let mut profile_secrets = Redactor::new(options.show_secrets);
        let subject = &account.subject;
        if let Some(t) = &profile.tokens.expired_token {
            profile_secrets.add(t, &format!("token:{subject}-expired"));
        }
        if let Some(t) = &profile.tokens.no_openid_token {
            profile_secrets.add(t, &format!("token:{subject}-no-openid"));
        }
        let a = &profile.accounts;
        for (role, acc) in [
            ("active", Some(a.active())),
            ("frozen", a.frozen.as_ref()),
            ("locked", a.locked.as_ref()),
            ("frozen-and-locked", a.frozen_and_locked.as_ref()),
            ("lockable", a.lockable.as_ref()),
            ("missing", a.missing.as_ref()),
        ] {
            if let Some(acc) = acc {
                if role != "active"
                    && let Some(p) = &acc.password
                {
                    profile_secrets.add(p, &format!("password:{role}"));
                }
                if let Some(t) = &acc.token {
                    profile_secrets.add(t, &format!("token:{}", acc.subject));
                }
            }
        }
        let mut ledger = Ledger::new(
            endpoint.endpoint_url(),
            Some(options.state_file.clone()),
            account,
            original,
            profile.lockout.rule(),
        );
        for (account, original) in pool {
            // The pool's other accounts: their static tokens are secrets
            // too (their passwords are labelled per case, with their
            // subject: `CaseContext::labels`).
            if let Some(t) = &account.token {
                profile_secrets.add(t, &format!("token:{}", account.subject));
            }
            ledger.join_pool(account, original);
        }
        Ok(Session {
            ledger,
            endpoint,
            profile: profile.clone(),
            tokens,
            options: options.clone(),
            profile_secrets,
            target_keys: None,
            harness_key: None,
            unconfirmed: Vec::new(),
            revocation_reported: false,
            static_refused: None,
        })
    }

    /// The lockout threshold the runner stays under, if any.
    pub(crate) fn max_failures(&self) -> Option<u32> {
        self.profile.lockout.effective()
    }

    /// The lockout rule wrong attempts are spent against.
    pub(crate) fn lockout_rule(&self) -> LockoutRule {
        self.profile.lockout.rule()
    }

    /// A change of the active account was applied: recorded in the
    /// ledger, and the token source told the new password.
    pub(crate) fn apply_change(&mut self, new: &str) {
        self.ledger.apply_change(new);
        self.track_password();
    }

    /// Puts the pool's account at `place` in use ([`Ledger::select`]) and
    /// tells the token source its password.
    pub(crate) fn select(&mut self, place: usize) {
        self.ledger.select(place);
        self.track_password();
    }

    /// The subject of the account in use, when the pool holds several
    /// (what a case's result names); `None` without a pool.
    pub(crate) fn pooled_subject(&self) -> Option<String> {
        (self.ledger.pool_len() > 1).then(|| self.ledger.active.account.subject.clone())
    }

    /// Tells the token source the active account's current password (a
    /// `token_command` gets it as `{password}`).
    pub(crate) fn track_password(&mut self) {
        self.tokens.set_password(
            &self.ledger.active.account.subject,
            &self.ledger.active.current,
        );
    }

    /// The hook for anything that sends requests which must not change
    /// the password (the catalogue's refused requests, the hostile-inputs
    /// property): the result at `index` joins the next batched
    /// confirmation, with the new passwords it sent as `candidates`.
    pub(crate) fn expect_unchanged(&mut self, index: usize, candidates: Vec<String>) {
        self.unconfirmed.push((index, candidates));
    }

    /// Whether the unconfirmed cases hold as many candidate passwords as
    /// the lockout leaves wrong attempts for (narrowing down tries each).
    pub(crate) fn batch_is_full(&mut self) -> bool {
        let candidates: usize = self.unconfirmed.iter().map(|(_, c)| c.len()).sum();
        let room = match self.ledger.active.budget.left() {
            Some(n) => n.max(1) as usize,
            None => 32,
        };
        candidates >= room
    }
}
