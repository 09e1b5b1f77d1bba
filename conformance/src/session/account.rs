//! The run's state as one target sees it: [`Session`] (the profile, the
//! token factory, the active account, the other accounts this run
//! changed, the lockout budget), writing it to the state file before every
//! request that may change a password and after every change, and what a
//! request means for the accounts (`Effect`) and why a case stops
//! (`Stop`).
//!
//! Account state: the session knows the active account's current password
//! and the previous ones it set, writes them to the state file before every
//! request that may change them and after every change, and keeps the
//! consecutive wrong old passwords two below the lockout threshold (a
//! successful change resets the count, so it inserts one when needed). The
//! lockout budget is a [`Budget`] the session owns and lends to the
//! properties driver.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::budget::Budget;
use crate::exchange::{self, Endpoint, ExchangeRecord};
use crate::forge::HarnessKey;
use crate::jwks::{KeysError, TargetKeys};
use crate::profile::{Account, LockoutRule, Profile};
use crate::redact::Redactor;
use crate::state::{AccountState, State, StateError, StateFile};
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

/// The active account as the runner knows it.
#[derive(Debug)]
pub(crate) struct ActiveAccount {
    /// The profile's `[accounts.active]`.
    pub(crate) account: Account,
    pub(crate) original: String,
    pub(crate) current: String,
    /// Oldest first.
    pub(crate) previous: Vec<String>,
    /// Wrong old passwords spent against the lockout rule (handed to the
    /// properties and back: one count for the whole run).
    pub(crate) budget: Budget,
    pub(crate) pending: Option<String>,
    /// Why the account must not be touched any more.
    pub(crate) poisoned: Option<String>,
    /// The last 200 to a change in this run: its step, its case, the
    /// password before it, the password it set.
    pub(crate) last_change: Option<(String, &'static str, String, String)>,
    /// A request that could change the password was sent this run.
    pub(crate) change_sent: bool,
    /// The pending password the run last tried to resolve during the run
    /// (each lost answer is tried once before the restore; a refused
    /// probe counts toward the lockout).
    pub(crate) pending_tried: Option<String>,
    /// New passwords of refused changes since the tracked password last
    /// worked (the state file's `candidates`): a target that stores
    /// refused changes gives the account one of them.
    pub(crate) candidates: Vec<String>,
}

/// What a request means for the active account.
#[derive(Debug, Clone)]
pub(crate) enum Effect {
    /// Nothing (no token of the active account).
    None,
    /// A change request from `old` to `new` with the active account's token.
    Change { old: String, new: String },
    /// A request with the active account's token that cannot set a
    /// password (no string `new_password`): only wrong-password answers count.
    Harmless,
    /// A change of another account (`frozen`, `locked`, `lockable`, …)
    /// with its own password: recorded in the state file as pending before
    /// it is sent (a target that does not enforce the status answers 200),
    /// and set back at the end.
    Other {
        subject: String,
        old: String,
        new: String,
    },
    /// A change of another account that a conformant target refuses
    /// whatever its password (a wrong or made-up old password): `new` is
    /// recorded in the state file as one of the account's candidates
    /// before it is sent (a target that stores refused changes gives the
    /// account one of them); `original` is the account's password from
    /// the profile, `known` the one the run knows it has.
    Candidate {
        subject: String,
        original: String,
        known: String,
        new: String,
    },
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
    pub(crate) active: ActiveAccount,
    /// Secrets of the profile (other accounts' passwords, static tokens).
    pub(crate) profile_secrets: Redactor,
    /// The target's public keys, once looked up.
    pub(crate) target_keys: Option<Result<TargetKeys, KeysError>>,
    /// The harness's own key, once made.
    pub(crate) harness_key: Option<Result<Arc<HarnessKey>, String>>,
    /// Cases (index in the results, candidate passwords) whose refused
    /// requests are not yet confirmed to have left the password unchanged.
    pub(crate) unconfirmed: Vec<(usize, Vec<String>)>,
    /// The other accounts this run sent valid changes to.
    pub(crate) others: Vec<AccountState>,
    /// This run saw the target store a change it refused (the active
    /// account's confirmation found its password changed), or resumed a
    /// state file with candidates: the other accounts' candidates are
    /// then checked at the end.
    pub(crate) stores_refused: bool,
    /// Why the last write of the state file failed (`None`: it was
    /// written). No request that could change a password is sent while it
    /// is set: a change goes out recorded or not at all.
    pub(crate) unsaved: Option<String>,
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
    /// Another account's entry, by subject.
    pub(crate) fn other_mut(&mut self, subject: &str) -> Option<&mut AccountState> {
        self.others.iter_mut().find(|o| o.subject == subject)
    }

    pub(crate) fn new(profile: &Profile, options: &RunOptions) -> Result<Session, RunError> {
        let endpoint = profile.endpoint().map_err(RunError::Profile)?;
        let tokens = TokenFactory::new(profile).map_err(RunError::Tokens)?;
        let account = profile.accounts.active.clone();
        let original = account
            .password
            .clone()
            .ok_or_else(|| RunError::Profile("accounts.active.password is required".to_string()))?;
        let mut profile_secrets = Redactor::new(options.show_secrets);
        let subject = &profile.accounts.active.subject;
        if let Some(t) = &profile.tokens.expired_token {
            profile_secrets.add(t, &format!("token:{subject}-expired"));
        }
        if let Some(t) = &profile.tokens.no_openid_token {
            profile_secrets.add(t, &format!("token:{subject}-no-openid"));
        }
        let a = &profile.accounts;
        for (role, acc) in [
            ("active", Some(&a.active)),
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
        Ok(Session {
            endpoint,
            profile: profile.clone(),
            tokens,
            options: options.clone(),
            active: ActiveAccount {
                account,
                current: original.clone(),
                original,
                previous: Vec::new(),
                budget: Budget::new(profile.lockout.rule()),
                pending: None,
                poisoned: None,
                last_change: None,
                change_sent: false,
                pending_tried: None,
                candidates: Vec::new(),
            },
            profile_secrets,
            target_keys: None,
            harness_key: None,
            unconfirmed: Vec::new(),
            others: Vec::new(),
            stores_refused: false,
            unsaved: None,
        })
    }

    pub(crate) fn state(&self) -> State {
        State {
            endpoint: self.endpoint.endpoint_url(),
            subject: self.active.account.subject.clone(),
            original: self.active.original.clone(),
            current: self.active.current.clone(),
            pending: self.active.pending.clone(),
            previous: self.active.previous.clone(),
            failures: self.active.budget.count(),
        }
    }

    pub(crate) fn save_state(&mut self) {
        let mut file = StateFile::from(self.state());
        let a = &self.active;
        if let Some(entry) = file.accounts.first_mut() {
            entry.before_last_change = a
                .last_change
                .as_ref()
                .filter(|(_, _, before, set)| *set == a.current && before != set)
                .map(|(_, _, before, _)| before.clone());
            entry.candidates = a.candidates.clone();
        }
        for o in &self.others {
            file.upsert(o.clone());
        }
        match file.save(&self.options.state_file) {
            Ok(()) => self.unsaved = None,
            Err(e) => {
                let why = format!("cannot write the state file: {e}");
                self.active.poisoned = Some(why.clone());
                self.unsaved = Some(why);
            }
        }
    }

    /// Whether the last write of the state file succeeded (a request that
    /// could change a password is sent only then).
    pub(crate) fn state_saved(&self) -> bool {
        self.unsaved.is_none()
    }

    /// The lockout threshold the runner stays under, if any.
    pub(crate) fn max_failures(&self) -> Option<u32> {
        self.profile.lockout.effective()
    }

    /// The lockout rule wrong attempts are spent against.
    pub(crate) fn lockout_rule(&self) -> LockoutRule {
        self.profile.lockout.rule()
    }

    /// One more wrong old password was sent to the active account.
    pub(crate) fn note_failure(&mut self) {
        self.active.budget.note_failure();
    }

    /// A successful change: resets the count if the target counts in a
    /// row, and only then.
    pub(crate) fn note_success(&mut self) {
        self.active.budget.note_success();
    }

    /// Counted wrong attempts now (expired ones forgotten).
    pub(crate) fn failures(&self) -> u32 {
        self.active.budget.count()
    }

    pub(crate) fn apply_change(&mut self, new: &str) {
        let old = std::mem::replace(&mut self.active.current, new.to_string());
        self.active.previous.push(old);
        self.note_success();
        self.track_password();
    }

    /// Tells the token source the active account's current password (a
    /// `token_command` gets it as `{password}`).
    pub(crate) fn track_password(&mut self) {
        self.tokens
            .set_password(&self.active.account.subject, &self.active.current);
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
        let room = match self.active.budget.left() {
            Some(n) => n.max(1) as usize,
            None => 32,
        };
        candidates >= room
    }
}

/// Adds or replaces `entry` among the other accounts.
pub(crate) fn upsert_other(others: &mut Vec<AccountState>, entry: AccountState) {
    match others.iter_mut().find(|o| o.subject == entry.subject) {
        Some(slot) => *slot = entry,
        None => others.push(entry),
    }
}
