//! The runner: what every case shares. It runs the cases in order (each
//! family in [`crate::cases`] carries out its own plans with the steps of
//! `Ctx`: fresh and wrong passwords, tokens, one checked exchange per
//! step, effects), tracks the active account, and turns each case's checks
//! into a verdict.
//!
//! Account state: the runner knows the active account's current password
//! and the previous ones it set, writes them to the state file before every
//! request that may change them and after every change, and keeps the
//! consecutive wrong old passwords two below the lockout threshold (a
//! successful change resets the count, so it inserts one when needed). If
//! the tracked password is ever refused it stops touching the account,
//! unless the password before the last 200 still works (that 200 did not
//! take: a seed-tier failure, S1, and the run goes on from it). At
//! the end it restores the original password, first cycling through enough
//! generated passwords that the original is out of the history.
//!
//! The lockout budget is a [`Budget`] the runner owns and lends to the
//! properties driver (`Runner::run_properties`). Resuming, resolving a
//! change without a usable answer and the restore live in the child module
//! `restore`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue, Method};
use serde::Serialize;
use serde_json::Value;

use crate::budget::{Budget, Room};
use crate::catalogue::{Case, Expect, Plan, Property, Tier};
use crate::checks;
use crate::exchange::{self, ENDPOINT_PATH, Endpoint, ExchangeRecord, Request, Response};
use crate::forge::HarnessKey;
use crate::jwks::{self, KeysError, TargetKeys};
use crate::password;
use crate::profile::{Account, LockoutRule, Profile};
use crate::properties::{
    self, PropertyOptions,
    driver::{Bounds, Driver, Tracked},
};
use crate::redact::Redactor;
use crate::state::{AccountState, State, StateError, StateFile};
use crate::tokens::{TokenError, TokenFactory};
use crate::verdict::{self, CaseResult, Enforcement, Verdict};

mod restore;

use restore::upsert_other;

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

/// What a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    /// Resolving an interrupted run's state, if there was one.
    pub resumed: Option<Housekeeping>,
    /// One result per case, in catalogue order.
    pub cases: Vec<CaseResult>,
    /// The batched confirmations that the tracked password is unchanged
    /// after cases whose requests were refused.
    pub effects: Vec<Housekeeping>,
    /// Restoring the original password.
    pub restore: Housekeeping,
}

/// The active account as the runner knows it.
#[derive(Debug)]
pub(crate) struct Active {
    /// The profile's `[accounts.active]`.
    pub(crate) account: Account,
    original: String,
    current: String,
    /// Oldest first.
    pub(crate) previous: Vec<String>,
    /// Wrong old passwords spent against the lockout rule (handed to the
    /// properties and back: one count for the whole run).
    budget: Budget,
    pending: Option<String>,
    /// Why the account must not be touched any more.
    poisoned: Option<String>,
    /// The last 200 to a change in this run: its step, its case, the
    /// password before it, the password it set.
    last_change: Option<(String, &'static str, String, String)>,
    /// A request that could change the password was sent this run.
    touched: bool,
    /// The pending password the run last tried to resolve during the run
    /// (each lost answer is tried once before the restore; a refused
    /// probe counts toward the lockout).
    tried: Option<String>,
    /// New passwords of refused changes since the tracked password last
    /// worked (the state file's `candidates`): a target that stores
    /// refused changes gives the account one of them.
    candidates: Vec<String>,
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
pub struct Runner {
    endpoint: Endpoint,
    pub(crate) profile: Profile,
    pub(crate) tokens: TokenFactory,
    options: RunOptions,
    pub(crate) active: Active,
    /// Secrets of the profile (other accounts' passwords, static tokens).
    base: Redactor,
    /// The target's public keys, once looked up.
    target_keys: Option<Result<TargetKeys, KeysError>>,
    /// The harness's own key, once made.
    harness_key: Option<Result<Arc<HarnessKey>, String>>,
    /// Cases (index in the results, candidate passwords) whose refused
    /// requests are not yet confirmed to have left the password unchanged.
    unconfirmed: Vec<(usize, Vec<String>)>,
    /// The other accounts this run sent valid changes to.
    others: Vec<AccountState>,
    /// This run saw the target store a change it refused (the active
    /// account's confirmation found its password changed), or resumed a
    /// state file with candidates: the other accounts' candidates are
    /// then checked at the end.
    stores_refused: bool,
    /// Why the last write of the state file failed (`None`: it was
    /// written). No request that could change a password is sent while it
    /// is set: a change goes out recorded or not at all.
    unsaved: Option<String>,
}

/// The "case" of a 200 an interrupted run got (recorded in its state file).
const RESUMED: &str = "the interrupted run";

/// Whether a catalogue run prints a line per case on stderr: for a target
/// off the loopback interface (paced, so a run takes a while) when stderr
/// is a terminal.
fn shows_progress(stderr_is_terminal: bool, endpoint: &Endpoint) -> bool {
    stderr_is_terminal && !endpoint.is_loopback()
}

/// `catalogue: 12/86 cases run (auth.invalid-token.garbage)`: no verdict,
/// since a later batched confirmation can still fail a case.
fn progress_line(n: usize, total: usize, id: &str) -> String {
    format!("catalogue: {n}/{total} cases run ({id})")
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Runs `cases` against the profile's target and restores the password.
pub async fn run(
    profile: &Profile,
    cases: &[&'static Case],
    options: &RunOptions,
) -> Result<RunOutcome, RunError> {
    run_with_properties(profile, cases, options, None).await
}

/// Runs `cases`, then the generated properties (if any) on the same
/// account, and restores the password.
pub async fn run_with_properties(
    profile: &Profile,
    cases: &[&'static Case],
    options: &RunOptions,
    properties: Option<(PropertyOptions, Bounds)>,
) -> Result<RunOutcome, RunError> {
    let mut runner = Runner::new(profile, options)?;
    exchange::probe(&runner.endpoint, options.timeout)
        .await
        .map_err(RunError::Connection)?;
    let resumed = runner.resume().await?;
    let mut results = Vec::new();
    let mut effects = Vec::new();
    let progress = shows_progress(std::io::stderr().is_terminal(), &runner.endpoint);
    for case in cases {
        if crate::interrupt::requested().is_some() {
            break;
        }
        if !runner.unconfirmed.is_empty()
            && (!case.plan.defers_confirmation() || runner.batch_is_full())
        {
            effects.push(runner.confirm(&mut results).await);
        }
        let (result, unconfirmed) = runner.run_case(case).await;
        if let Some(candidates) = unconfirmed
            && case.plan.defers_confirmation()
        {
            runner.expect_unchanged(results.len(), candidates);
        }
        if progress {
            eprintln!("{}", progress_line(results.len() + 1, cases.len(), case.id));
        }
        results.push(result);
    }
    if !runner.unconfirmed.is_empty() {
        effects.push(runner.confirm(&mut results).await);
    }
    if let Some((props, bounds)) = properties
        && crate::interrupt::requested().is_none()
    {
        let first = results.len();
        results.extend(runner.run_properties(props, bounds).await);
        // Hostile inputs must never change the password: confirmed like
        // the catalogue's refused requests (a batch of one).
        let hostile = properties::case(Property::HostileInputs).id;
        let ran: Vec<usize> = (first..results.len())
            .filter(|i| results[*i].id == hostile && results[*i].verdict != Verdict::Skip)
            .collect();
        for index in ran {
            runner.expect_unchanged(index, Vec::new());
        }
        if !runner.unconfirmed.is_empty() {
            effects.push(runner.confirm(&mut results).await);
        }
    }
    let restore = runner.restore().await;
    Ok(RunOutcome {
        resumed,
        cases: results,
        effects,
        restore,
    })
}

/// What `conformance restore` did.
#[derive(Debug, Clone)]
pub struct RestoreOutcome {
    /// The state file as found (`None`: there was none, nothing to do).
    pub recorded: Option<StateFile>,
    /// Resolving its pending change, if it had one.
    pub resumed: Option<Housekeeping>,
    /// Restoring the original password (`None` when nothing was tried).
    pub restore: Option<Housekeeping>,
}

impl RestoreOutcome {
    /// Whether every recorded account is back at its original password
    /// (or there was nothing to restore).
    pub fn ok(&self) -> bool {
        self.resumed.as_ref().is_none_or(|h| h.ok) && self.restore.as_ref().is_none_or(|h| h.ok)
    }
}

/// `conformance restore`: restores the original password from the state
/// file alone. A pending change is resolved first (the recorded password,
/// then the pending one, as old password), then the original is set back
/// (cycling through the history if the profile declares one).
pub async fn restore_from_state(
    profile: &Profile,
    options: &RunOptions,
) -> Result<RestoreOutcome, RunError> {
    let Some(recorded) = StateFile::load(&options.state_file).map_err(RunError::State)? else {
        return Ok(RestoreOutcome {
            recorded: None,
            resumed: None,
            restore: None,
        });
    };
    let mut runner = Runner::new(profile, options)?;
    exchange::probe(&runner.endpoint, options.timeout)
        .await
        .map_err(RunError::Connection)?;
    let resumed = runner.resume().await?;
    let restore = runner.restore().await;
    Ok(RestoreOutcome {
        recorded: Some(recorded),
        resumed,
        restore: Some(restore),
    })
}

impl Runner {
    /// Another account's entry, by subject.
    fn other_mut(&mut self, subject: &str) -> Option<&mut AccountState> {
        self.others.iter_mut().find(|o| o.subject == subject)
    }

    fn new(profile: &Profile, options: &RunOptions) -> Result<Runner, RunError> {
        let endpoint = Endpoint::for_profile(profile).map_err(RunError::Profile)?;
        let tokens = TokenFactory::new(profile).map_err(RunError::Tokens)?;
        let account = profile.accounts.active.clone();
        let original = account
            .password
            .clone()
            .ok_or_else(|| RunError::Profile("accounts.active.password is required".to_string()))?;
        let mut base = Redactor::new(options.show_secrets);
        let subject = &profile.accounts.active.subject;
        if let Some(t) = &profile.tokens.expired_token {
            base.add(t, &format!("token:{subject}-expired"));
        }
        if let Some(t) = &profile.tokens.no_openid_token {
            base.add(t, &format!("token:{subject}-no-openid"));
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
                    base.add(p, &format!("password:{role}"));
                }
                if let Some(t) = &acc.token {
                    base.add(t, &format!("token:{}", acc.subject));
                }
            }
        }
        Ok(Runner {
            endpoint,
            profile: profile.clone(),
            tokens,
            options: options.clone(),
            active: Active {
                account,
                current: original.clone(),
                original,
                previous: Vec::new(),
                budget: Budget::new(profile.lockout.rule()),
                pending: None,
                poisoned: None,
                last_change: None,
                touched: false,
                tried: None,
                candidates: Vec::new(),
            },
            base,
            target_keys: None,
            harness_key: None,
            unconfirmed: Vec::new(),
            others: Vec::new(),
            stores_refused: false,
            unsaved: None,
        })
    }

    fn state(&self) -> State {
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

    fn save_state(&mut self) {
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
    fn state_saved(&self) -> bool {
        self.unsaved.is_none()
    }

    /// The lockout threshold the runner stays under, if any.
    fn max_failures(&self) -> Option<u32> {
        self.profile.lockout.effective()
    }

    /// The lockout rule wrong attempts are spent against.
    pub(crate) fn lockout_rule(&self) -> LockoutRule {
        self.profile.lockout.rule()
    }

    /// One more wrong old password was sent to the active account.
    fn note_failure(&mut self) {
        self.active.budget.note_failure();
    }

    /// A successful change: resets the count if the target counts in a
    /// row, and only then.
    fn note_success(&mut self) {
        self.active.budget.note_success();
    }

    /// Counted wrong attempts now (expired ones forgotten).
    fn failures(&self) -> u32 {
        self.active.budget.count()
    }

    /// The active account as the properties driver tracks it.
    fn tracked(&self) -> Tracked {
        let a = &self.active;
        Tracked {
            account: a.account.clone(),
            original: a.original.clone(),
            current: a.current.clone(),
            previous: a.previous.clone(),
            budget: a.budget.clone(),
            pending: a.pending.clone(),
            poisoned: a.poisoned.clone(),
            candidates: a.candidates.clone(),
        }
    }

    /// Takes the active account back from the properties driver.
    fn take_back(&mut self, t: &Tracked) {
        self.active.touched = true;
        self.active.current = t.current.clone();
        self.active.previous = t.previous.clone();
        self.active.budget = t.budget.clone();
        self.active.pending = t.pending.clone();
        self.active.candidates = t.candidates.clone();
        if t.poisoned.is_some() {
            self.active.poisoned = t.poisoned.clone();
        }
        self.track_password();
        self.save_state();
    }

    /// Hands the active account, and the run's lockout budget, to the
    /// properties (on a blocking thread: proptest is synchronous) and takes
    /// them back. A change the properties sent without a usable answer
    /// stops them; it is resolved here as in the catalogue
    /// ([`Runner::resolve_pending`]) and the remaining properties go on.
    async fn run_properties(&mut self, opts: PropertyOptions, bounds: Bounds) -> Vec<CaseResult> {
        let enforcement = self.options.enforcement;
        let handle = tokio::runtime::Handle::current();
        let mut driver = match Driver::new(
            handle,
            &self.profile,
            self.tracked(),
            bounds,
            Some(self.options.state_file.clone()),
        ) {
            Ok(d) => d,
            Err(e) => {
                return opts
                    .selected()
                    .into_iter()
                    .map(|p| {
                        let mut r = CaseResult::new(properties::case(p));
                        r.verdict = Verdict::Error;
                        r.reason = Some(e.clone());
                        r
                    })
                    .collect();
            }
        };
        let mut left = opts.selected();
        let mut results = Vec::new();
        let mut stopped = None;
        while !left.is_empty() {
            let mut these = opts.clone();
            these.only = left.clone();
            let joined = tokio::task::spawn_blocking(move || properties::run(driver, &these)).await;
            let (mut ran, d) = match joined {
                Ok(done) => done,
                Err(e) => {
                    self.active.poisoned = Some(format!("the properties stopped: {e}"));
                    stopped = Some(format!("the properties stopped: {e}"));
                    break;
                }
            };
            driver = d;
            self.take_back(&driver.account);
            left.drain(..ran.len().min(left.len()));
            results.append(&mut ran);
            if left.is_empty() {
                break;
            }
            if let Some(signal) = crate::interrupt::requested() {
                stopped = Some(format!("interrupted by {}", crate::interrupt::name(signal)));
                break;
            }
            let Some(h) = self
                .resolve_during_run("after a property's change without an answer")
                .await
            else {
                stopped = self.active.poisoned.clone();
                break;
            };
            if let Some(r) = results.last_mut() {
                for x in h.exchanges {
                    let mut x = x;
                    x.step = r.exchanges.len() + 1;
                    r.exchanges.push(x);
                }
                r.notes.push(format!(
                    "a change got no usable answer; resolving it: {}",
                    h.outcome
                ));
            }
            if !h.ok {
                stopped = Some(format!("the active account is not usable: {}", h.outcome));
                break;
            }
            driver.account = self.tracked();
        }
        for p in left {
            let mut r = CaseResult::new(properties::case(p));
            r.verdict = Verdict::Skip;
            r.reason = stopped.clone();
            results.push(r);
        }
        for r in &mut results {
            verdict::judge(r, enforcement);
        }
        results
    }

    fn apply_change(&mut self, new: &str) {
        let old = std::mem::replace(&mut self.active.current, new.to_string());
        self.active.previous.push(old);
        self.note_success();
        self.track_password();
    }

    /// Tells the token source the active account's current password (a
    /// `token_command` gets it as `{password}`).
    fn track_password(&mut self) {
        self.tokens
            .set_password(&self.active.account.subject, &self.active.current);
    }

    async fn run_case(&mut self, case: &'static Case) -> (CaseResult, Option<Vec<String>>) {
        let started = Instant::now();
        let enforcement = self.options.enforcement;
        let mut ctx = Ctx::new(self, case);
        let stop = ctx.plan(case.plan).await;
        let unconfirmed = ctx.unverified.then(|| std::mem::take(&mut ctx.candidates));
        // Reasons may quote a token command's stderr or a target's words:
        // every secret the case knew is replaced by its label.
        let stop = match stop {
            Err(Stop::Skip(why)) => Err(Stop::Skip(ctx.redactor.apply(&why))),
            Err(Stop::NotDetermined(why)) => Err(Stop::NotDetermined(ctx.redactor.apply(&why))),
            Err(Stop::Error(why)) => Err(Stop::Error(ctx.redactor.apply(&why))),
            other => other,
        };
        let mut result = ctx.result;
        let mut cut_short = None;
        match stop {
            Ok(()) | Err(Stop::Abort) => {}
            Err(Stop::Skip(why)) if result.exchanges.is_empty() => {
                result.verdict = Verdict::Skip;
                result.reason = Some(why);
            }
            Err(Stop::Skip(why)) => {
                result.notes.push(format!("stopped early: {why}"));
                cut_short = Some(why);
            }
            Err(Stop::NotDetermined(why)) => {
                for c in result.checks.drain(..) {
                    if c.outcome == checks::Outcome::Fail {
                        result.notes.push(format!(
                            "step {}: {}: expected {}, observed {}",
                            c.step, c.what, c.expected, c.observed
                        ));
                    }
                }
                result.verdict = Verdict::Skip;
                result.reason = Some(format!("not determined: {why}"));
            }
            Err(Stop::Error(why)) => {
                result.verdict = Verdict::Error;
                result.reason = Some(why);
            }
        }
        verdict::judge(&mut result, enforcement);
        if let Some(why) = cut_short
            && matches!(result.verdict, Verdict::Pass | Verdict::Warn)
        {
            // What ran passed, but the case did not run to its end.
            result.verdict = Verdict::Partial;
            result.reason = Some(format!("cut short: {why}"));
        }
        result.elapsed_ms = started.elapsed().as_millis() as u64;
        (result, unconfirmed)
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
    fn batch_is_full(&mut self) -> bool {
        let candidates: usize = self.unconfirmed.iter().map(|(_, c)| c.len()).sum();
        let room = match self.active.budget.left() {
            Some(n) => n.max(1) as usize,
            None => 32,
        };
        candidates >= room
    }

    /// Confirms, with one successful change, that the tracked password is
    /// unchanged after the unconfirmed cases. If it was changed, narrows
    /// down: tries each case's candidate passwords, newest first, within
    /// the lockout's room; the case whose candidate works changed it and
    /// fails at seed tier. A change that cannot be narrowed down makes
    /// every unconfirmed case an error (which one did it is not
    /// determined) and stops changes of the account.
    async fn confirm(&mut self, results: &mut [CaseResult]) -> Housekeeping {
        let batch = std::mem::take(&mut self.unconfirmed);
        let ids: Vec<&str> = batch.iter().map(|(i, _)| results[*i].id).collect();
        let enforcement = self.options.enforcement;
        // A change without a usable answer: resolved first.
        let resolved = self
            .resolve_during_run("before the confirmation")
            .await
            .map(|h| h.exchanges)
            .unwrap_or_default();
        if let Some(why) = self.active.poisoned.clone() {
            return Housekeeping {
                ok: false,
                outcome: format!("not confirmed after {}: {why}", ids.join(", ")),
                exchanges: resolved,
            };
        }
        let mut log = Ctx::housekeeping(self);
        log.result.exchanges = resolved;
        for (_, candidates) in &batch {
            log.redact_candidates(candidates, "candidate");
        }
        let token = log.token_or_empty().await;
        let current = log.current();
        let new = log.fresh();
        let r = log
            .exchange(
                &format!(
                    "effects: the tracked password still works after {}",
                    ids.join(", ")
                ),
                change(Some(&token), &current, &new, None),
                Effect::Change {
                    old: current.clone(),
                    new: new.clone(),
                },
            )
            .await;
        match r {
            Some(r) if r.status == 200 => {
                return Housekeeping {
                    ok: true,
                    outcome: format!("unchanged after {}", ids.join(", ")),
                    exchanges: log.result.exchanges,
                };
            }
            Some(r) if is_error(&r, "wrong_old_password") => {
                if let Some(id) = log.recheck_last_change().await {
                    // The password before the last 200 still works: the
                    // batch left it alone; that 200 did not take.
                    let check = log.result.checks.pop();
                    let exchanges = log.result.exchanges;
                    let last = batch.last().map(|(i, _)| *i);
                    if let Some(i) = results.iter().rposition(|r| r.id == id).or(last) {
                        let result = &mut results[i];
                        let refused = result.exchanges.len() + 1;
                        for x in &exchanges {
                            let mut x = x.clone();
                            x.step = result.exchanges.len() + 1;
                            result.exchanges.push(x);
                        }
                        result.checks.extend(check.map(|mut c| {
                            c.step = refused;
                            c.observed = format!("found after {}: {}", ids.join(", "), c.observed);
                            c
                        }));
                        verdict::judge(result, enforcement);
                    }
                    return Housekeeping {
                        ok: false,
                        outcome: format!(
                            "unchanged after {}, but a 200 did not take",
                            ids.join(", ")
                        ),
                        exchanges,
                    };
                }
            }
            _ => {
                let exchanges = log.result.exchanges;
                return Housekeeping {
                    ok: false,
                    outcome: format!("could not confirm after {}", ids.join(", ")),
                    exchanges,
                };
            }
        }
        // Changed: which case's new password is it?
        log.runner.stores_refused = true;
        let mut found = None;
        'narrow: for (index, candidates) in batch.iter().rev() {
            for candidate in candidates.iter().rev() {
                if log.runner.active.budget.left() == Some(0) {
                    break 'narrow;
                }
                let next = log.fresh();
                // Refused, it may be stored all the same: recorded first.
                log.runner.active.candidates.push(next.clone());
                log.runner.save_state();
                let r = log
                    .exchange(
                        &format!(
                            "effects: narrowing down: is it the new password of {}?",
                            results[*index].id
                        ),
                        change(Some(&token), candidate, &next, None),
                        Effect::None,
                    )
                    .await;
                match r {
                    Some(r) if r.status == 200 => {
                        found = Some(*index);
                        let a = &mut log.runner.active;
                        a.previous.push(a.current.clone());
                        a.previous.push(candidate.clone());
                        a.current = next;
                        a.poisoned = None;
                        a.candidates.clear();
                        log.runner.note_success();
                        log.runner.save_state();
                        break 'narrow;
                    }
                    Some(r) if is_error(&r, "wrong_old_password") => {
                        log.runner.note_failure();
                        log.runner.save_state();
                    }
                    _ => break 'narrow,
                }
            }
        }
        let exchanges = log.result.exchanges;
        match found {
            Some(index) => {
                let id = results[index].id;
                changed_by(
                    &mut results[index],
                    &exchanges,
                    "the password was changed to a new password this case sent",
                    enforcement,
                );
                Housekeeping {
                    ok: false,
                    outcome: format!("changed by {id}; the account was recovered"),
                    exchanges,
                }
            }
            None if batch.len() == 1 => {
                // One case only: it changed the password, to something the
                // harness does not know.
                let index = batch[0].0;
                let id = results[index].id;
                changed_by(
                    &mut results[index],
                    &exchanges,
                    "the password was changed (to a password the harness cannot tell)",
                    enforcement,
                );
                Housekeeping {
                    ok: false,
                    outcome: format!(
                        "changed by {id}; the new password is unknown, the account is left alone"
                    ),
                    exchanges,
                }
            }
            None => {
                for (index, _) in &batch {
                    let result = &mut results[*index];
                    result.verdict = Verdict::Error;
                    result.reason = Some(format!(
                        "the tracked password changed during {}: not determined which case \
                         changed it (the lockout leaves no room to try more candidates)",
                        ids.join(", ")
                    ));
                }
                Housekeeping {
                    ok: false,
                    outcome: format!(
                        "changed during {}; not narrowed down, the account is left alone",
                        ids.join(", ")
                    ),
                    exchanges,
                }
            }
        }
    }
}

/// Fails `result` with the seed-tier effect check: its refused requests
/// changed the tracked password (`exchanges`: the confirmation and the
/// narrowing, appended to its record).
fn changed_by(
    result: &mut CaseResult,
    exchanges: &[ExchangeRecord],
    observed: &str,
    enforcement: Enforcement,
) {
    for x in exchanges {
        let mut x = x.clone();
        x.step = result.exchanges.len() + 1;
        result.exchanges.push(x);
    }
    result.checks.push(checks::Check {
        step: result.exchanges.len(),
        tier: Tier::Seed,
        what: checks::PASSWORD_UNCHANGED.to_string(),
        expected: "the tracked password still works after the refused requests".to_string(),
        observed: observed.to_string(),
        outcome: checks::Outcome::Fail,
        weight: checks::Weight::Pass,
    });
    if matches!(result.verdict, Verdict::Skip | Verdict::Error) {
        result.verdict = Verdict::Pass;
    }
    verdict::judge(result, enforcement);
}

pub(crate) fn is_error(r: &Response, error: &str) -> bool {
    r.status == 400
        && serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(|e| e == error))
            .unwrap_or(false)
}

pub(crate) fn header(name: HeaderName, value: &str) -> Option<(HeaderName, HeaderValue)> {
    HeaderValue::from_str(value).ok().map(|v| (name, v))
}

/// A POST of `{"old_password": old, "new_password": new}` with `Bearer token`.
pub(crate) fn change(
    token: Option<&str>,
    old: &str,
    new: &str,
    authorization: Option<Vec<(HeaderName, HeaderValue)>>,
) -> Request {
    let mut headers = authorization.unwrap_or_else(|| {
        token
            .and_then(|t| header(http::header::AUTHORIZATION, &format!("Bearer {t}")))
            .into_iter()
            .collect()
    });
    headers.extend(header(http::header::CONTENT_TYPE, "application/json"));
    Request {
        method: Method::POST,
        path: ENDPOINT_PATH.to_string(),
        headers,
        body: object(&[
            ("old_password", Value::String(old.to_string())),
            ("new_password", Value::String(new.to_string())),
        ]),
    }
}

/// A JSON object with members in the given order (as the document writes
/// them: old_password first).
pub(crate) fn object(members: &[(&str, Value)]) -> Vec<u8> {
    let inner: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::String(k.to_string())))
        .collect();
    format!("{{{}}}", inner.join(",")).into_bytes()
}

/// One case in progress: the steps every case family shares (fresh and
/// wrong passwords, tokens, a checked exchange, effects, the lockout guard).
pub(crate) struct Ctx<'r> {
    /// The runner: profile, token factory, active account.
    pub(crate) runner: &'r mut Runner,
    /// The case's result so far (exchanges, checks, notes).
    pub(crate) result: CaseResult,
    /// Labels of every secret the case has seen.
    pub(crate) redactor: Redactor,
    fresh: usize,
    wrong: usize,
    /// A request with the active account's token was refused (or could
    /// not set a password) and no later step showed the password unchanged.
    unverified: bool,
    /// New passwords the refused requests sent: what the password is if
    /// the target set one of them anyway.
    candidates: Vec<String>,
}

impl<'r> Ctx<'r> {
    fn new(runner: &'r mut Runner, case: &'static Case) -> Ctx<'r> {
        let redactor = Ctx::labels(runner);
        Ctx {
            runner,
            result: CaseResult::new(case),
            redactor,
            fresh: 0,
            wrong: 0,
            unverified: false,
            candidates: Vec::new(),
        }
    }

    /// A context for work outside the cases (resume, restore): only its
    /// exchange list and labels are used.
    fn housekeeping(runner: &'r mut Runner) -> Ctx<'r> {
        let case = crate::catalogue::CATALOGUE
            .first()
            .expect("the catalogue is not empty");
        let mut ctx = Ctx::new(runner, case);
        ctx.result.id = "the runner's housekeeping";
        ctx
    }

    /// A request that changes nothing (a change of a password to itself),
    /// sent once more if its answer is lost: re-sending it is safe.
    pub(super) async fn probe(&mut self, purpose: &str, request: Request) -> Option<Response> {
        match self.exchange(purpose, request.clone(), Effect::None).await {
            Some(r) => Some(r),
            None => {
                let again = format!("{purpose} (again: the answer was lost)");
                self.exchange(&again, request, Effect::None).await
            }
        }
    }

    /// Whether one more wrong old password fits the lockout budget now,
    /// after waiting for the window if the target counts within one (the
    /// password being unknown, no success can reset a count in a row).
    async fn room_for_one_more(&mut self) -> bool {
        match self.runner.active.budget.room() {
            Room::Now => true,
            Room::After(wait) => {
                self.result.notes.push(format!(
                    "waited {:.1} s for the lockout window to make room for a probe",
                    wait.as_secs_f64()
                ));
                tokio::time::sleep(wait).await;
                self.runner.active.budget.room() == Room::Now
            }
            Room::AfterSuccess | Room::Never => false,
        }
    }

    /// Labels of the passwords known when the case starts.
    fn labels(runner: &Runner) -> Redactor {
        let mut r = runner.base.clone();
        let a = &runner.active;
        if a.current == a.original {
            r.add(&a.current, "password:original");
        } else {
            r.add(&a.current, "password:current");
            r.add(&a.original, "password:original");
        }
        for (i, p) in a.previous.iter().rev().enumerate() {
            r.add(p, &format!("password:previous-{}", i + 1));
        }
        r
    }

    pub(crate) fn fresh(&mut self) -> String {
        self.fresh += 1;
        let p = password::fresh(&self.runner.profile.policy);
        self.redactor
            .add(&p, &format!("password:new-{}", self.fresh));
        p
    }

    pub(crate) fn wrong(&mut self) -> String {
        self.wrong += 1;
        let p = password::wrong(&self.runner.profile.policy);
        self.redactor
            .add(&p, &format!("password:wrong-{}", self.wrong));
        p
    }

    pub(crate) fn current(&self) -> String {
        self.runner.active.current.clone()
    }

    /// Another account's password as the run knows it: the one it
    /// recorded after a change the target applied (labelled), else the
    /// profile's.
    pub(crate) fn password_of(&mut self, account: &Account) -> Option<String> {
        let recorded = self
            .runner
            .others
            .iter()
            .find(|o| o.subject == account.subject && o.current != o.original)
            .map(|o| o.current.clone());
        if let Some(p) = &recorded {
            self.redactor
                .add(p, &format!("password:{}-current", account.subject));
        }
        recorded.or_else(|| account.password.clone())
    }

    pub(crate) async fn token_for(
        &mut self,
        account: &Account,
        label: &str,
    ) -> Result<String, Stop> {
        let token = self.runner.tokens.standard(account).await?;
        self.redactor.add(&token, label);
        Ok(token)
    }

    pub(crate) async fn active_token(&mut self) -> Result<String, Stop> {
        let account = self.runner.active.account.clone();
        let label = format!("token:{}", account.subject);
        self.token_for(&account, &label).await
    }

    /// The target's public keys (looked up once per run); a skip naming
    /// the profile keys when there are none.
    pub(crate) async fn target_keys(&mut self) -> Result<TargetKeys, Stop> {
        if self.runner.target_keys.is_none() {
            let r = &self.runner;
            let keys = jwks::load(&r.profile, &r.endpoint, r.options.timeout).await;
            self.runner.target_keys = Some(keys);
        }
        match self.runner.target_keys.as_ref() {
            Some(Ok(keys)) => Ok(keys.clone()),
            Some(Err(KeysError::Failed(why))) => Err(Stop::Error(why.clone())),
            Some(Err(e)) => Err(Stop::Skip(e.to_string())),
            None => Err(Stop::Skip("no target keys".into())),
        }
    }

    /// The harness's own key (made once per run).
    pub(crate) fn harness_key(&mut self) -> Result<Arc<HarnessKey>, Stop> {
        let key = self
            .runner
            .harness_key
            .get_or_insert_with(|| HarnessKey::generate().map(Arc::new));
        key.clone().map_err(Stop::Error)
    }

    /// Redacts recorded candidate passwords as `<password:{label}-N>`.
    fn redact_candidates(&mut self, candidates: &[String], label: &str) {
        for (i, c) in candidates.iter().enumerate() {
            self.redactor.add(c, &format!("password:{label}-{}", i + 1));
        }
    }

    async fn token_or_empty(&mut self) -> String {
        self.active_token().await.unwrap_or_default()
    }

    /// Sends one request, records it, and updates the account state.
    async fn exchange(
        &mut self,
        purpose: &str,
        request: Request,
        effect: Effect,
    ) -> Option<Response> {
        let sent_current = self.current();
        if matches!(effect, Effect::Change { .. } | Effect::Harmless) {
            self.runner.active.touched = true;
        }
        if let Effect::Other { subject, old, new } = &effect {
            let entry = match self.runner.others.iter().find(|o| o.subject == *subject) {
                Some(o) => AccountState {
                    pending: Some(new.clone()),
                    ..o.clone()
                },
                None => AccountState {
                    subject: subject.clone(),
                    original: old.clone(),
                    current: old.clone(),
                    pending: Some(new.clone()),
                    previous: Vec::new(),
                    failures: 0,
                    before_last_change: None,
                    candidates: Vec::new(),
                },
            };
            upsert_other(&mut self.runner.others, entry);
            self.runner.save_state();
        }
        if let Effect::Candidate {
            subject,
            original,
            known,
            new,
        } = &effect
        {
            let mut entry = match self.runner.others.iter().find(|o| o.subject == *subject) {
                Some(o) => o.clone(),
                None => AccountState {
                    subject: subject.clone(),
                    original: original.clone(),
                    current: known.clone(),
                    pending: None,
                    previous: Vec::new(),
                    failures: 0,
                    before_last_change: None,
                    candidates: Vec::new(),
                },
            };
            if !entry.candidates.contains(new) {
                entry.candidates.push(new.clone());
            }
            upsert_other(&mut self.runner.others, entry);
            self.runner.save_state();
        }
        if let Effect::Change { new, .. } = &effect {
            self.runner.active.pending = Some(new.clone());
            self.runner.save_state();
        }
        if matches!(
            effect,
            Effect::Change { .. } | Effect::Other { .. } | Effect::Candidate { .. }
        ) && let Some(why) = self.runner.unsaved.clone()
        {
            // Not recorded, so not sent: nothing is pending.
            match &effect {
                Effect::Change { .. } => self.runner.active.pending = None,
                Effect::Other { subject, .. } => {
                    if let Some(o) = self.runner.other_mut(subject) {
                        o.pending = None;
                    }
                }
                _ => {}
            }
            self.result.verdict = Verdict::Skip;
            self.result.reason = Some(format!("not sent ({purpose}): {why}"));
            return None;
        }
        // The client waits out 429s and 503s with Retry-After itself
        // (bounded by `[http] max_retries` / `max_retry_wait_secs`); the
        // record's purpose lists them. They are never judged.
        let started = Instant::now();
        let outcome =
            exchange::send(&self.runner.endpoint, &request, self.runner.options.timeout).await;
        let step = self.result.exchanges.len() + 1;
        self.result.exchanges.push(ExchangeRecord::new(
            step,
            purpose,
            &self.runner.endpoint,
            &request,
            &outcome,
            started,
            &self.redactor,
        ));
        if let Ok(r) = &outcome
            && r.retry_budget_exhausted
        {
            // A 429/503 the retry bound did not wait out determines
            // nothing: no verdict, and a change may or may not have been
            // applied: it stays pending (resolved before the restore).
            self.result.verdict = Verdict::Skip;
            self.result.reason = Some(format!(
                "not determined: step {step} got {} after the retry bound was spent ([http] \
                 max_retries, max_retry_wait_secs: the target was rate limiting or \
                 overloaded); rerun when it is not",
                r.status
            ));
            if matches!(effect, Effect::Change { .. }) {
                self.runner.active.poisoned = Some(format!(
                    "a change got {} after the retry bound was spent: possibly applied; the \
                     state file keeps both candidates",
                    r.status
                ));
            }
            return None;
        }
        if let Ok(r) = &outcome
            && r.status >= 500
        {
            self.result.checks.push(checks::Check {
                step,
                tier: Tier::Seed,
                what: checks::NO_SERVER_ERROR.to_string(),
                expected: "no 5xx: the document's error table has none (a 503 with Retry-After \
                           is waited out and sent again)"
                    .to_string(),
                observed: format!("{}", r.status),
                outcome: checks::Outcome::Fail,
                weight: checks::Weight::Pass,
            });
        }
        let response = match outcome {
            Ok(r) => r,
            Err(e) => {
                // A transport error weighs as the case's tier: a failed
                // check (capped by the case's tier), not a run error.
                self.result.checks.push(checks::Check {
                    step,
                    tier: Tier::Seed,
                    what: "the exchange completed".to_string(),
                    expected: "a response".to_string(),
                    observed: self.redactor.apply(&e.to_string()),
                    outcome: checks::Outcome::Fail,
                    weight: checks::Weight::Pass,
                });
                if matches!(effect, Effect::Change { .. }) {
                    self.runner.active.poisoned = Some(format!(
                        "a change got no answer ({e}); the state file keeps both candidates"
                    ));
                }
                // A wrong old password whose answer was lost may have
                // counted: counted (the budget is an upper bound).
                let wrong_old = match &effect {
                    Effect::Change { old, .. } => *old != sent_current,
                    Effect::Harmless => true,
                    Effect::None | Effect::Other { .. } | Effect::Candidate { .. } => false,
                };
                if wrong_old {
                    self.runner.note_failure();
                    self.runner.save_state();
                }
                return None;
            }
        };
        match &effect {
            Effect::None => {}
            Effect::Change { old, new } => {
                self.runner.active.pending = None;
                if response.status == 200 {
                    if *old == sent_current {
                        // The tracked password worked: nothing before this
                        // step changed it.
                        self.unverified = false;
                        self.candidates.clear();
                        self.runner.active.candidates.clear();
                    } else {
                        // An old password other than the tracked one
                        // worked: a refused change was stored (or the old
                        // password is not checked).
                        self.runner.stores_refused = true;
                    }
                    self.runner.apply_change(new);
                    let by = format!("step {step} of {} ({purpose})", self.result.id);
                    let id = self.result.id;
                    self.runner.active.last_change = Some((by, id, old.clone(), new.clone()));
                } else {
                    self.unverified = true;
                    self.candidates.push(new.clone());
                    // Recorded (it was `pending` while in flight): what the
                    // password is if the target stored it anyway.
                    let c = &mut self.runner.active.candidates;
                    if !c.contains(new) {
                        c.push(new.clone());
                    }
                }
                let wrong_old = is_error(&response, "wrong_old_password");
                if !wrong_old && response.status == 400 && *old != sent_current {
                    // A wrong old password refused for another reason (a
                    // target that checks the policy or the history first)
                    // may still have counted: counted (an upper bound).
                    self.runner.note_failure();
                }
                if wrong_old {
                    self.runner.note_failure();
                    if *old == sent_current {
                        // Refused changes may have been stored.
                        self.runner.stores_refused = true;
                        self.runner.active.poisoned = Some(
                            "the tracked password was refused (wrong_old_password); changes of \
                             the active account stopped to avoid a lockout"
                                .to_string(),
                        );
                    }
                }
                self.runner.save_state();
            }
            Effect::Harmless => {
                self.unverified = true;
                if is_error(&response, "wrong_old_password") {
                    self.runner.note_failure();
                    self.runner.save_state();
                }
            }
            Effect::Other { subject, new, .. } => {
                if let Some(o) = self.runner.other_mut(subject) {
                    o.pending = None;
                    if response.status == 200 {
                        let old = std::mem::replace(&mut o.current, new.clone());
                        o.previous.push(old);
                        // A known password confirmed: the refused changes
                        // before it did not take.
                        o.candidates.clear();
                    }
                }
                self.runner.save_state();
            }
            Effect::Candidate { subject, new, .. } => {
                if let Some(o) = self.runner.other_mut(subject) {
                    if response.status == 200 {
                        // Applied despite a wrong old password: it has `new`.
                        let old = std::mem::replace(&mut o.current, new.clone());
                        o.previous.push(old);
                        o.candidates.clear();
                    } else if is_error(&response, "wrong_old_password") {
                        o.failures += 1;
                    }
                }
                self.runner.save_state();
            }
        }
        Some(response)
    }

    /// One step of a case: guards the lockout, sends, checks.
    pub(crate) async fn step(
        &mut self,
        purpose: &str,
        request: Request,
        effect: Effect,
        expect: Expect,
    ) -> Result<Response, Stop> {
        let tracked = self.sends_tracked(&effect);
        let response = self.send_step(purpose, request, effect).await?;
        self.check(&expect, &response);
        self.after_answer(tracked, &response).await;
        Ok(response)
    }

    /// A step without its checks: guards the lockout and sends.
    async fn send_step(
        &mut self,
        purpose: &str,
        request: Request,
        effect: Effect,
    ) -> Result<Response, Stop> {
        if let Some(signal) = crate::interrupt::requested() {
            return Err(Stop::Skip(format!(
                "interrupted by {}",
                crate::interrupt::name(signal)
            )));
        }
        if matches!(effect, Effect::Change { .. } | Effect::Harmless) {
            self.resolve_lost_answer().await;
        }
        if matches!(effect, Effect::Change { .. } | Effect::Harmless)
            && let Some(why) = &self.runner.active.poisoned
        {
            return Err(Stop::Skip(format!(
                "the active account is not usable: {why}"
            )));
        }
        if let Effect::Change { old, .. } = &effect
            && *old != self.current()
        {
            self.guard().await?;
        }
        if let Effect::Other { subject, .. } = &effect
            && self
                .runner
                .others
                .iter()
                .any(|o| o.subject == *subject && o.pending.is_some())
        {
            // Its password is one of two the state file holds: resolved
            // at the end, not overwritten by another change now.
            return Err(Stop::Skip(format!(
                "an earlier change of {subject} got no usable answer; it is resolved at the end"
            )));
        }
        self.exchange(purpose, request, effect)
            .await
            .ok_or(Stop::Abort)
    }

    /// A change got no answer (a connection cut mid-answer, a 429 past the
    /// retry bound): before the account is touched again, resolves it as
    /// a resumed run would ([`Runner::resolve_pending`]); its exchanges
    /// join this case's record. If it cannot, the account stays untouched.
    async fn resolve_lost_answer(&mut self) {
        let Some(h) = self
            .runner
            .resolve_during_run("after a change without an answer")
            .await
        else {
            return;
        };
        for x in h.exchanges {
            let mut x = x;
            x.step = self.result.exchanges.len() + 1;
            self.result.exchanges.push(x);
        }
        self.result.notes.push(format!(
            "an earlier change got no usable answer; resolving it: {}",
            h.outcome
        ));
    }

    /// [`Ctx::step`] where the document allows several answers (open
    /// points): the expectation whose `error` the answer names is checked,
    /// else the first; a note says which one was taken.
    pub(crate) async fn step_one_of(
        &mut self,
        purpose: &str,
        request: Request,
        effect: Effect,
        expects: &[Expect],
    ) -> Result<Response, Stop> {
        let first = expects[0];
        let tracked = self.sends_tracked(&effect);
        let response = self.send_step(purpose, request, effect).await?;
        let step = self.result.exchanges.len();
        let chosen = expects
            .iter()
            .copied()
            .find(|e| matches!(e, Expect::JsonError { error, .. } if is_error(&response, error)))
            .unwrap_or(first);
        if chosen != first {
            self.result.notes.push(format!(
                "step {step}: judged as {chosen:?}, an answer the document also allows here"
            ));
        }
        self.check(&chosen, &response);
        self.after_answer(tracked, &response).await;
        Ok(response)
    }

    /// Whether `effect` sends the tracked password as the old one.
    fn sends_tracked(&self, effect: &Effect) -> bool {
        matches!(effect, Effect::Change { old, .. } if *old == self.current())
    }

    /// After a step's checks: a refused tracked password is looked into
    /// ([`Ctx::recheck_last_change`]).
    async fn after_answer(&mut self, tracked: bool, response: &Response) {
        if tracked && is_error(response, "wrong_old_password") {
            let _ = self.recheck_last_change().await;
        }
    }

    fn check(&mut self, expect: &Expect, response: &Response) {
        let step = self.result.exchanges.len();
        for mut c in checks::evaluate(expect, response, &self.redactor) {
            c.step = step;
            self.result.checks.push(c);
        }
    }

    /// The tracked password was just refused (wrong_old_password). If a
    /// 200 in this run set it, either that 200 did not take or something
    /// changed the password since: tries the password before the 200
    /// (within the lockout's room). If it works, the 200 did not take: a
    /// seed-tier failure (S1) in this case, and the run goes on from it.
    /// Returns the case of that 200 when it did not take.
    async fn recheck_last_change(&mut self) -> Option<&'static str> {
        let refused = self.result.exchanges.len();
        let (by, id, before, set) = self.runner.active.last_change.clone()?;
        if set != self.current() || before == set || self.runner.active.poisoned.is_none() {
            return None;
        }
        let decide = format!(
            "not determined whether the 200 of {by} did not take or the password changed since \
             (a change from the password before that 200 would decide it)"
        );
        let token = match self.active_token().await {
            Ok(t) if self.runner.active.budget.left().is_none_or(|n| n > 0) => t,
            _ => {
                let why = self.runner.active.poisoned.take().unwrap_or_default();
                self.runner.active.poisoned = Some(format!("{why}; {decide}"));
                return None;
            }
        };
        let next = self.fresh();
        let r = self
            .exchange(
                "effect: does the password before the last 200 still work?",
                change(Some(&token), &before, &next, None),
                Effect::Change {
                    old: before.clone(),
                    new: next.clone(),
                },
            )
            .await;
        let a = &mut self.runner.active;
        if r.is_none_or(|r| r.status != 200) {
            if a.current == set {
                let why = a.poisoned.take().unwrap_or_default();
                a.poisoned = Some(format!(
                    "{why}; neither it nor the one before it works: {decide}"
                ));
            }
            return None;
        }
        // The target kept `before`: `set` was never its password.
        if let Some(i) = a.previous.iter().rposition(|p| *p == set) {
            a.previous.remove(i);
        }
        a.poisoned = None;
        a.candidates.clear();
        self.unverified = false;
        self.candidates.clear();
        self.runner.save_state();
        self.result.checks.push(checks::Check {
            step: refused,
            tier: Tier::Seed,
            what: checks::SUCCESS_TOOK_EFFECT.to_string(),
            expected: "S1: 200 OK means the password was changed".to_string(),
            observed: format!(
                "{by} got 200, but its new password was refused (wrong_old_password) here and \
                 the password before it still works (the next step): that 200 did not take; \
                 the run goes on from the password that works"
            ),
            outcome: checks::Outcome::Fail,
            weight: checks::Weight::Pass,
        });
        Some(id)
    }

    /// Makes room for one more wrong old password below the lockout
    /// threshold: at most `max_failures - 1 - SPARE` counted wrong
    /// attempts. In a row (a success resets): a successful change when
    /// needed. Within a window: waits until the oldest counted attempt
    /// leaves it. Never expiring (the strictest reading, or a window
    /// counting without `window_secs`): no room once spent: the step is
    /// skipped.
    async fn guard(&mut self) -> Result<(), Stop> {
        let rule = self.runner.lockout_rule();
        match self.runner.active.budget.room() {
            Room::Now => Ok(()),
            Room::Never if rule.allowance() == Some(0) => Err(Stop::Skip(format!(
                "lockout.max_failures = {} leaves no room for wrong passwords",
                rule.max_failures.unwrap_or_default()
            ))),
            Room::Never => Err(Stop::Skip(format!(
                "the lockout budget is spent: {} wrong old passwords sent, at most {} \
                 under the rule ({}); declare [lockout] counting (and window_secs) to allow more",
                self.runner.failures(),
                rule.allowance().unwrap_or_default(),
                rule.describe()
            ))),
            Room::After(wait) => {
                self.result.notes.push(format!(
                    "waited {:.1} s for the lockout window ({} s) to make room for a wrong \
                     password",
                    wait.as_secs_f64(),
                    rule.window.unwrap_or_default().as_secs()
                ));
                tokio::time::sleep(wait).await;
                match self.runner.active.budget.room() {
                    Room::Now => Ok(()),
                    _ => Err(Stop::Skip("no room in the lockout window".into())),
                }
            }
            Room::AfterSuccess => {
                let token = self.active_token().await?;
                let current = self.current();
                let new = self.fresh();
                let request = change(Some(&token), &current, &new, None);
                let response = self
                    .exchange(
                        "lockout guard: a successful change resets the failure count",
                        request,
                        Effect::Change {
                            old: current,
                            new: new.clone(),
                        },
                    )
                    .await
                    .ok_or(Stop::Abort)?;
                self.check(&Expect::Success, &response);
                if is_error(&response, "wrong_old_password") {
                    let _ = self.recheck_last_change().await;
                }
                if response.status == 200 {
                    Ok(())
                } else {
                    Err(Stop::Abort)
                }
            }
        }
    }

    /// A change of the active account with its valid token.
    pub(crate) async fn change_step(
        &mut self,
        purpose: &str,
        old: &str,
        new: &str,
        expect: Expect,
    ) -> Result<Response, Stop> {
        let token = self.active_token().await?;
        let request = change(Some(&token), old, new, None);
        self.step(
            purpose,
            request,
            Effect::Change {
                old: old.to_string(),
                new: new.to_string(),
            },
            expect,
        )
        .await
    }

    /// After a refused change: the refused new password does not work, the
    /// old one still does.
    pub(crate) async fn unchanged(&mut self, refused: Option<String>) -> Result<(), Stop> {
        if let Some(refused) = refused
            && refused != self.current()
        {
            let new = self.fresh();
            self.change_step(
                "effect: the refused new password does not work",
                &refused,
                &new,
                Expect::WRONG_OLD,
            )
            .await?;
        }
        let current = self.current();
        let new = self.fresh();
        self.change_step(
            "effect: the old password still works",
            &current,
            &new,
            Expect::Success,
        )
        .await?;
        Ok(())
    }

    /// Changes to fresh passwords until `k` previous passwords are known.
    pub(crate) async fn ensure_previous(&mut self, k: usize) -> Result<(), Stop> {
        while self.runner.active.previous.len() < k {
            let have = self.runner.active.previous.len();
            let current = self.current();
            let new = self.fresh();
            let r = self
                .change_step(
                    &format!(
                        "setup: a change to a generated password ({}/{k} previous passwords known)",
                        have + 1
                    ),
                    &current,
                    &new,
                    Expect::Success,
                )
                .await?;
            if r.status != 200 {
                return Err(Stop::Abort);
            }
        }
        Ok(())
    }

    async fn plan(&mut self, plan: Plan) -> Result<(), Stop> {
        if plan.sends_wrong_passwords()
            && let Some(max) = self.runner.max_failures()
            && max < 3
        {
            return Err(Stop::Skip(format!(
                "lockout.max_failures = {max} leaves no room for wrong passwords"
            )));
        }
        crate::cases::run(self, plan).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_for_remote_targets_on_a_terminal() {
        let remote = Endpoint::parse("https://ciam.example.com").unwrap();
        let local = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        let v6 = Endpoint::parse("http://[::1]:8080").unwrap();
        let named = Endpoint::parse("http://localhost:8080").unwrap();
        assert!(shows_progress(true, &remote));
        assert!(!shows_progress(false, &remote));
        for e in [&local, &v6, &named] {
            assert!(!shows_progress(true, e), "{e:?}");
        }
        assert_eq!(
            progress_line(12, 86, "auth.invalid-token.garbage"),
            "catalogue: 12/86 cases run (auth.invalid-token.garbage)"
        );
    }
}
