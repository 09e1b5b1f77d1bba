//! The runner: carries out each case's plan, one exchange per step, against
//! the target, and keeps track of the active account.
//!
//! Account state: the runner knows the active account's current password
//! and the previous ones it set, writes them to the state file before every
//! request that may change them and after every change, and keeps the
//! consecutive wrong old passwords two below the lockout threshold (a
//! successful change resets the count, so it inserts one when needed). If
//! the tracked password is ever refused it stops touching the account. At
//! the end it restores the original password, first cycling through enough
//! generated passwords that the original is out of the history.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue, Method};
use serde::Serialize;
use serde_json::{Value, json};

use crate::catalogue::{
    Auth, Body, Case, Expect, HistoryProbe, Member, Plan, PolicyBreak, Raw, RawAuth, Role,
    TokenKind, WrongOldNew,
};
use crate::checks;
use crate::exchange::{self, ENDPOINT_PATH, Endpoint, ExchangeRecord, Request, Response};
use crate::password;
use crate::profile::{Account, Profile};
use crate::properties::{
    self, PropertyOptions,
    driver::{Bounds, Driver, Tracked},
};
use crate::redact::Redactor;
use crate::state::{State, StateError};
use crate::tokens::{TokenError, TokenFactory};
use crate::verdict::{self, CaseResult, Enforcement, Verdict};

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
    /// Restoring the original password.
    pub restore: Housekeeping,
}

/// The active account as the runner knows it.
#[derive(Debug)]
struct Active {
    account: Account,
    original: String,
    current: String,
    /// Oldest first.
    previous: Vec<String>,
    failures: u32,
    pending: Option<String>,
    /// Why the account must not be touched any more.
    poisoned: Option<String>,
}

/// What a request means for the active account.
#[derive(Debug, Clone)]
enum Effect {
    /// Nothing (no token of the active account).
    None,
    /// A change request from `old` to `new` with the active account's token.
    Change { old: String, new: String },
    /// A request with the active account's token that cannot set a
    /// password (no string `new_password`): only wrong-password answers count.
    Harmless,
}

/// Why a case stopped early.
#[derive(Debug)]
enum Stop {
    /// A fixture is missing: skipped (if nothing was sent yet).
    Skip(String),
    /// A configuration problem (like a failing token command).
    Error(String),
    /// A step failed in a way that makes the rest meaningless (recorded).
    Abort,
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
    profile: Profile,
    tokens: TokenFactory,
    options: RunOptions,
    active: Active,
    /// Secrets of the profile (other accounts' passwords, static tokens).
    base: Redactor,
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
    for case in cases {
        results.push(runner.run_case(case).await);
    }
    if let Some((props, bounds)) = properties {
        results.extend(runner.run_properties(props, bounds).await);
    }
    let restore = runner.restore().await;
    Ok(RunOutcome {
        resumed,
        cases: results,
        restore,
    })
}

impl Runner {
    fn new(profile: &Profile, options: &RunOptions) -> Result<Runner, RunError> {
        let endpoint = Endpoint::parse(&profile.base_url).map_err(RunError::Profile)?;
        let tokens = TokenFactory::new(profile).map_err(RunError::Tokens)?;
        let account = profile.accounts.active.clone();
        let original = account
            .password
            .clone()
            .ok_or_else(|| RunError::Profile("accounts.active.password is required".to_string()))?;
        let mut base = Redactor::new(options.show_secrets);
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
                failures: 0,
                pending: None,
                poisoned: None,
            },
            base,
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
            failures: self.active.failures,
        }
    }

    fn save_state(&mut self) {
        if let Err(e) = self.state().save(&self.options.state_file) {
            self.active.poisoned = Some(format!("cannot write the state file: {e}"));
        }
    }

    /// The lockout threshold the runner stays under, if any.
    fn max_failures(&self) -> Option<u32> {
        self.profile.lockout.effective()
    }

    /// Picks up an interrupted run's state file.
    async fn resume(&mut self) -> Result<Option<Housekeeping>, RunError> {
        let file = self.options.state_file.clone();
        let Some(state) = State::load(&file).map_err(RunError::State)? else {
            return Ok(None);
        };
        if state.endpoint != self.endpoint.endpoint_url()
            || state.subject != self.active.account.subject
        {
            return Err(RunError::State(StateError {
                file,
                message: format!(
                    "belongs to {} ({}); finish that run or remove the file",
                    state.endpoint, state.subject
                ),
            }));
        }
        self.active.original = state.original;
        self.active.current = state.current;
        self.active.previous = state.previous;
        self.active.failures = state.failures;
        let mut log = Ctx::housekeeping(self);
        let ok;
        let outcome;
        match state.pending {
            None => {
                ok = true;
                outcome = "resumed from the state file".to_string();
            }
            Some(pending) => {
                // Was the interrupted change applied? Try the recorded
                // password, then the pending one (one wrong attempt at most).
                log.redactor.add(&pending, "password:pending");
                let token = log.token_or_empty().await;
                let current = log.runner.active.current.clone();
                let new = log.fresh();
                let r = log
                    .exchange(
                        "resume: does the recorded password still work?",
                        change(Some(&token), &current, &new, None),
                        Effect::None,
                    )
                    .await;
                match r {
                    Some(r) if r.status == 200 => {
                        log.runner.apply_change(&new);
                        ok = true;
                        outcome = "resumed; the interrupted change had not been applied".into();
                    }
                    Some(r) if is_error(&r, "wrong_old_password") => {
                        log.runner.active.failures += 1;
                        let new2 = log.fresh();
                        let r = log
                            .exchange(
                                "resume: was the interrupted change applied?",
                                change(Some(&token), &pending, &new2, None),
                                Effect::None,
                            )
                            .await;
                        if r.as_ref().is_some_and(|r| r.status == 200) {
                            log.runner.apply_change(&pending);
                            log.runner.apply_change(&new2);
                            ok = true;
                            outcome = "resumed; the interrupted change had been applied".into();
                        } else {
                            ok = false;
                            outcome = "resume failed: neither the recorded nor the pending \
                                       password works"
                                .into();
                        }
                    }
                    _ => {
                        ok = false;
                        outcome = "resume failed: the recorded password could not be tried".into();
                    }
                }
            }
        }
        let exchanges = log.result.exchanges;
        if !ok {
            self.active.poisoned = Some(outcome.clone());
        }
        self.active.pending = None;
        self.save_state();
        Ok(Some(Housekeeping {
            ok,
            outcome,
            exchanges,
        }))
    }

    /// Hands the active account to the properties (on a blocking thread:
    /// proptest is synchronous) and takes it back.
    async fn run_properties(&mut self, opts: PropertyOptions, bounds: Bounds) -> Vec<CaseResult> {
        let enforcement = self.options.enforcement;
        let a = &self.active;
        let tracked = Tracked {
            account: a.account.clone(),
            original: a.original.clone(),
            current: a.current.clone(),
            previous: a.previous.clone(),
            failures: a.failures,
            poisoned: a.poisoned.clone(),
        };
        let handle = tokio::runtime::Handle::current();
        let driver = match Driver::new(
            handle,
            &self.profile,
            tracked,
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
        let joined = tokio::task::spawn_blocking(move || properties::run(driver, &opts)).await;
        let (mut results, driver) = match joined {
            Ok(done) => done,
            Err(e) => {
                self.active.poisoned = Some(format!("the properties stopped: {e}"));
                return Vec::new();
            }
        };
        let t = driver.account;
        self.active.current = t.current;
        self.active.previous = t.previous;
        self.active.failures = t.failures;
        if t.poisoned.is_some() {
            self.active.poisoned = t.poisoned;
        }
        self.save_state();
        for r in &mut results {
            verdict::judge(r, enforcement);
        }
        results
    }

    fn apply_change(&mut self, new: &str) {
        let old = std::mem::replace(&mut self.active.current, new.to_string());
        self.active.previous.push(old);
        self.active.failures = 0;
    }

    async fn run_case(&mut self, case: &'static Case) -> CaseResult {
        let started = Instant::now();
        let enforcement = self.options.enforcement;
        let mut ctx = Ctx::new(self, case);
        let stop = ctx.plan(case.plan).await;
        let mut result = ctx.result;
        match stop {
            Ok(()) | Err(Stop::Abort) => {}
            Err(Stop::Skip(why)) if result.exchanges.is_empty() => {
                result.verdict = Verdict::Skip;
                result.reason = Some(why);
            }
            Err(Stop::Skip(why)) => result.notes.push(format!("stopped early: {why}")),
            Err(Stop::Error(why)) => {
                result.verdict = Verdict::Error;
                result.reason = Some(why);
            }
        }
        verdict::judge(&mut result, enforcement);
        result.elapsed_ms = started.elapsed().as_millis() as u64;
        result
    }

    /// Restores the original password of the active account.
    async fn restore(&mut self) -> Housekeeping {
        let done = |ok: bool, outcome: String, exchanges| Housekeeping {
            ok,
            outcome,
            exchanges,
        };
        let subject = self.active.account.subject.clone();
        if let Some(why) = self.active.poisoned.clone() {
            return done(
                false,
                format!(
                    "the original password of {subject} was not restored: {why}; the last known \
                     state is in {}",
                    self.options.state_file.display()
                ),
                Vec::new(),
            );
        }
        if self.active.current == self.active.original {
            let _ = State::remove(&self.options.state_file);
            return done(
                true,
                format!("{subject} has its original password"),
                Vec::new(),
            );
        }
        let depth = self.profile.policy.depth();
        let position = self
            .active
            .previous
            .iter()
            .rev()
            .position(|p| *p == self.active.original)
            .map(|i| i + 1);
        // Changes to fresh passwords until the original is older than the
        // history depth; unknown depth: try, and add one on refusal.
        let mut needed = match (depth, position) {
            (Some(d), Some(p)) => (d + 1).saturating_sub(p),
            (Some(d), None) => d + 1,
            (None, _) => 0,
        };
        let state_file = self.options.state_file.clone();
        let mut log = Ctx::housekeeping(self);
        let mut changes = 0usize;
        let original = log.runner.active.original.clone();
        for _ in 0..=129 {
            while needed > 0 {
                let current = log.runner.active.current.clone();
                let new = log.fresh();
                let token = log.token_or_empty().await;
                let req = change(Some(&token), &current, &new, None);
                let r = log
                    .exchange(
                        "restore: cycle through a generated password",
                        req,
                        Effect::Change {
                            old: current,
                            new: new.clone(),
                        },
                    )
                    .await;
                if r.as_ref().is_none_or(|r| r.status != 200) {
                    let exchanges = log.result.exchanges;
                    return done(
                        false,
                        format!(
                            "the original password of {subject} was not restored: a change to a \
                             generated password was refused; the current one is in {}",
                            state_file.display()
                        ),
                        exchanges,
                    );
                }
                changes += 1;
                needed -= 1;
            }
            let current = log.runner.active.current.clone();
            let token = log.token_or_empty().await;
            let req = change(Some(&token), &current, &original, None);
            let r = log
                .exchange(
                    "restore: set the original password",
                    req,
                    Effect::Change {
                        old: current,
                        new: original.clone(),
                    },
                )
                .await;
            match r {
                Some(r) if r.status == 200 => {
                    changes += 1;
                    let exchanges = log.result.exchanges;
                    let _ = State::remove(&state_file);
                    return done(
                        true,
                        format!(
                            "the original password of {subject} is restored ({changes} changes)"
                        ),
                        exchanges,
                    );
                }
                Some(r) if is_error(&r, "recurrent_password") => needed = 1,
                _ => break,
            }
        }
        let exchanges = log.result.exchanges;
        done(
            false,
            format!(
                "the original password of {subject} was not restored: the target refused it; \
                 the current one is in {}",
                state_file.display()
            ),
            exchanges,
        )
    }
}

fn is_error(r: &Response, error: &str) -> bool {
    r.status == 400
        && serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(|e| e == error))
            .unwrap_or(false)
}

fn header(name: HeaderName, value: &str) -> Option<(HeaderName, HeaderValue)> {
    HeaderValue::from_str(value).ok().map(|v| (name, v))
}

/// A POST of `{"old_password": old, "new_password": new}` with `Bearer token`.
fn change(
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
fn object(members: &[(&str, Value)]) -> Vec<u8> {
    let inner: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::String(k.to_string())))
        .collect();
    format!("{{{}}}", inner.join(",")).into_bytes()
}

/// One case in progress.
struct Ctx<'r> {
    runner: &'r mut Runner,
    result: CaseResult,
    redactor: Redactor,
    fresh: usize,
    wrong: usize,
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
        }
    }

    /// A context for work outside the cases (resume, restore): only its
    /// exchange list and labels are used.
    fn housekeeping(runner: &'r mut Runner) -> Ctx<'r> {
        let case = crate::catalogue::CATALOGUE
            .first()
            .expect("the catalogue is not empty");
        Ctx::new(runner, case)
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

    fn fresh(&mut self) -> String {
        self.fresh += 1;
        let p = password::fresh(&self.runner.profile.policy);
        self.redactor
            .add(&p, &format!("password:new-{}", self.fresh));
        p
    }

    fn wrong(&mut self) -> String {
        self.wrong += 1;
        let p = password::wrong(&self.runner.profile.policy);
        self.redactor
            .add(&p, &format!("password:wrong-{}", self.wrong));
        p
    }

    fn current(&self) -> String {
        self.runner.active.current.clone()
    }

    async fn token_for(&mut self, account: &Account, label: &str) -> Result<String, Stop> {
        let token = self.runner.tokens.standard(account).await?;
        self.redactor.add(&token, label);
        Ok(token)
    }

    async fn active_token(&mut self) -> Result<String, Stop> {
        let account = self.runner.active.account.clone();
        let label = format!("token:{}", account.subject);
        self.token_for(&account, &label).await
    }

    async fn token_or_empty(&mut self) -> String {
        self.active_token().await.unwrap_or_default()
    }

    fn account(&self, role: Role) -> Result<Account, Stop> {
        let a = &self.runner.profile.accounts;
        let account = match role {
            Role::Frozen => &a.frozen,
            Role::Locked => &a.locked,
            Role::FrozenAndLocked => &a.frozen_and_locked,
            Role::Missing => &a.missing,
        };
        account
            .clone()
            .ok_or_else(|| Stop::Skip(format!("no [{}] in the profile", role.table())))
    }

    /// Sends one request, records it, and updates the account state.
    async fn exchange(
        &mut self,
        purpose: &str,
        request: Request,
        effect: Effect,
    ) -> Option<Response> {
        let sent_current = self.current();
        if let Effect::Change { new, .. } = &effect {
            self.runner.active.pending = Some(new.clone());
            self.runner.save_state();
        }
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
        let response = match outcome {
            Ok(r) => r,
            Err(e) => {
                self.result.verdict = Verdict::Error;
                self.result.reason = Some(self.redactor.apply(&format!("step {step}: {e}")));
                if matches!(effect, Effect::Change { .. }) {
                    self.runner.active.poisoned = Some(format!(
                        "a change got no answer ({e}); the state file keeps both candidates"
                    ));
                }
                return None;
            }
        };
        match &effect {
            Effect::None => {}
            Effect::Change { old, new } => {
                self.runner.active.pending = None;
                if response.status == 200 {
                    self.runner.apply_change(new);
                } else if is_error(&response, "wrong_old_password") {
                    self.runner.active.failures += 1;
                    if *old == sent_current {
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
                if is_error(&response, "wrong_old_password") {
                    self.runner.active.failures += 1;
                    self.runner.save_state();
                }
            }
        }
        Some(response)
    }

    /// One step of a case: guards the lockout, sends, checks.
    async fn step(
        &mut self,
        purpose: &str,
        request: Request,
        effect: Effect,
        expect: Expect,
    ) -> Result<Response, Stop> {
        if !matches!(effect, Effect::None)
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
        let response = self
            .exchange(purpose, request, effect)
            .await
            .ok_or(Stop::Abort)?;
        self.check(&expect, &response);
        Ok(response)
    }

    fn check(&mut self, expect: &Expect, response: &Response) {
        let step = self.result.exchanges.len();
        for mut c in checks::evaluate(expect, response, &self.redactor) {
            c.step = step;
            self.result.checks.push(c);
        }
    }

    /// Makes room for one more wrong old password below the lockout
    /// threshold (keeping one spare), with a successful change if needed.
    async fn guard(&mut self) -> Result<(), Stop> {
        let Some(max) = self.runner.max_failures() else {
            return Ok(());
        };
        if max < 3 {
            return Err(Stop::Skip(format!(
                "lockout.max_failures = {max} leaves no room for wrong passwords"
            )));
        }
        if self.runner.active.failures < max - 2 {
            return Ok(());
        }
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
        if response.status == 200 {
            Ok(())
        } else {
            Err(Stop::Abort)
        }
    }

    /// A change of the active account with its valid token.
    async fn change_step(
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
    async fn unchanged(&mut self, refused: Option<String>) -> Result<(), Stop> {
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
    async fn ensure_previous(&mut self, k: usize) -> Result<(), Stop> {
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
        match plan {
            Plan::Property(_) => Err(Stop::Skip(
                "a generated property: run with --properties".to_string(),
            )),
            Plan::Auth(auth, expect) => self.auth(auth, expect).await,
            Plan::Account {
                role,
                wrong_old,
                expect,
            } => self.other_account(role, wrong_old, expect).await,
            Plan::Raw(raw, expect) => self.raw(raw, expect).await,
            Plan::Success => self.success().await,
            Plan::WrongOld => {
                let wrong = self.wrong();
                let new = self.fresh();
                self.change_step(
                    "a change with a wrong old password",
                    &wrong,
                    &new,
                    Expect::WRONG_OLD,
                )
                .await?;
                self.unchanged(Some(new)).await
            }
            Plan::Duplicate => {
                let current = self.current();
                self.change_step(
                    "a change to the current password",
                    &current,
                    &current,
                    Expect::DUPLICATE,
                )
                .await?;
                self.unchanged(None).await
            }
            Plan::History(probe) => self.history(probe).await,
            Plan::Break(kind) => {
                let p =
                    password::breaking(&self.runner.profile.policy, kind).map_err(Stop::Skip)?;
                self.redactor
                    .add(&p, &format!("password:{}", break_label(kind)));
                let current = self.current();
                self.change_step(
                    &format!(
                        "a change to a password that breaks the policy ({})",
                        break_label(kind)
                    ),
                    &current,
                    &p,
                    Expect::INVALID_NEW,
                )
                .await?;
                self.unchanged(Some(p)).await
            }
            Plan::Edge(kind) => {
                let p = password::edge(&self.runner.profile.policy, kind).map_err(Stop::Skip)?;
                self.redactor.add(&p, "password:edge");
                let current = self.current();
                self.change_step(
                    "a change to a password on the edge of the policy",
                    &current,
                    &p,
                    Expect::Success,
                )
                .await?;
                Ok(())
            }
            Plan::WrongOldFirst(kind) => {
                let wrong = self.wrong();
                let new = match kind {
                    WrongOldNew::Same => wrong.clone(),
                    WrongOldNew::TooShort => {
                        let p =
                            password::breaking(&self.runner.profile.policy, PolicyBreak::TooShort)
                                .map_err(Stop::Skip)?;
                        self.redactor.add(&p, "password:too-short");
                        p
                    }
                };
                self.change_step(
                    "a wrong old password with a new one that is also refusable",
                    &wrong,
                    &new,
                    Expect::WRONG_OLD,
                )
                .await?;
                Ok(())
            }
            Plan::Lockout => self.lockout().await,
        }
    }

    async fn auth(&mut self, auth: Auth, expect: Expect) -> Result<(), Stop> {
        let bearer =
            |t: &str, scheme: &str| header(http::header::AUTHORIZATION, &format!("{scheme} {t}"));
        let headers: Vec<(HeaderName, HeaderValue)> = match auth {
            Auth::None => Vec::new(),
            Auth::Literal(v) => header(http::header::AUTHORIZATION, v).into_iter().collect(),
            Auth::Twice => {
                let t = self.active_token().await?;
                [bearer(&t, "Bearer"), bearer(&t, "Bearer")]
                    .into_iter()
                    .flatten()
                    .collect()
            }
            Auth::LowerCaseScheme => {
                let t = self.active_token().await?;
                bearer(&t, "bearer").into_iter().collect()
            }
            Auth::Token(kind) => {
                let account = self.runner.active.account.clone();
                let t = self.runner.tokens.variant(&account, kind).await?;
                self.redactor.add(
                    &t,
                    &format!("token:{}-{}", account.subject, token_label(kind)),
                );
                bearer(&t, "Bearer").into_iter().collect()
            }
        };
        if let Auth::None = auth {
            self.result.notes.push(
                "RFC 6750 §3 says a request without authentication information SHOULD get no \
                 error code; the vendor document answers invalid_request, and it wins here"
                    .to_string(),
            );
        }
        let current = self.current();
        let new = self.fresh();
        let request = change(None, &current, &new, Some(headers));
        self.step(
            "a valid change of the active account's password",
            request,
            Effect::Change { old: current, new },
            expect,
        )
        .await?;
        Ok(())
    }

    async fn other_account(
        &mut self,
        role: Role,
        wrong_old: bool,
        expect: Expect,
    ) -> Result<(), Stop> {
        let account = self.account(role)?;
        let label = format!("token:{}", account.subject);
        let token = self.token_for(&account, &label).await?;
        let old = match (&account.password, wrong_old) {
            (Some(p), false) => p.clone(),
            (None, false) => {
                self.result.notes.push(format!(
                    "[{}] has no password: a made-up old password was sent; a target that checks \
                     the old password before the status answers wrong_old_password",
                    role.table()
                ));
                self.wrong()
            }
            (_, true) => self.wrong(),
        };
        let new = self.fresh();
        let request = change(Some(&token), &old, &new, None);
        self.step(
            &format!("a change for {} ({})", account.subject, role.table()),
            request,
            Effect::None,
            expect,
        )
        .await?;
        Ok(())
    }

    async fn raw(&mut self, raw: Raw, expect: Expect) -> Result<(), Stop> {
        let mut headers = Vec::new();
        let token = match raw.auth {
            RawAuth::None => None,
            RawAuth::Active => Some(self.active_token().await?),
            RawAuth::Missing => {
                let account = self.account(Role::Missing)?;
                let label = format!("token:{}", account.subject);
                Some(self.token_for(&account, &label).await?)
            }
        };
        if let Some(t) = &token {
            headers.extend(header(http::header::AUTHORIZATION, &format!("Bearer {t}")));
        }
        if let Some(ct) = raw.content_type {
            headers.extend(header(http::header::CONTENT_TYPE, ct));
        }
        let mut change_of: Option<(String, String)> = None;
        let body = match raw.body {
            Body::Empty => Vec::new(),
            Body::Text(t) => t.as_bytes().to_vec(),
            Body::Members(old, new) => {
                let mut map: Vec<(&str, Value)> = Vec::new();
                let mut strings = (None, None);
                for (name, member, slot) in [
                    ("old_password", old, &mut strings.0),
                    ("new_password", new, &mut strings.1),
                ] {
                    let value = match member {
                        Member::Absent => continue,
                        Member::Null => Value::Null,
                        Member::Number => json!(12_345_678),
                        Member::Current => {
                            let c = self.current();
                            *slot = Some(c.clone());
                            Value::String(c)
                        }
                        Member::Fresh => {
                            let f = self.fresh();
                            *slot = Some(f.clone());
                            Value::String(f)
                        }
                    };
                    map.push((name, value));
                }
                // A string new_password could be set, even without a valid
                // old one: follow it if the target says 200.
                if let (o, Some(n)) = strings {
                    change_of = Some((o.unwrap_or_default(), n));
                }
                object(&map)
            }
            Body::Oversized => {
                let Some(limit) = self.runner.profile.limits.max_body_bytes else {
                    return Err(Stop::Skip("limits.max_body_bytes is not declared".into()));
                };
                let current = self.current();
                let new = self.fresh();
                let body = object(&[
                    ("old_password", Value::String(current.clone())),
                    ("new_password", Value::String(new.clone())),
                    ("padding", Value::String("x".repeat(limit + 1))),
                ]);
                self.result.notes.push(format!(
                    "the body is {} bytes, the declared limit {limit}",
                    body.len()
                ));
                change_of = Some((current, new));
                body
            }
        };
        let effect = match (raw.auth, change_of) {
            (RawAuth::Active, Some((old, new))) => Effect::Change { old, new },
            (RawAuth::Active, None) => Effect::Harmless,
            _ => Effect::None,
        };
        let path = raw.path.unwrap_or(ENDPOINT_PATH).to_string();
        let request = Request {
            method: Method::from_bytes(raw.method.as_bytes()).unwrap_or(Method::POST),
            path,
            headers,
            body,
        };
        self.step("a hand-made request", request, effect, expect)
            .await?;
        Ok(())
    }

    async fn success(&mut self) -> Result<(), Stop> {
        let old = self.current();
        let new = self.fresh();
        let r = self
            .change_step("a valid change", &old, &new, Expect::Success)
            .await?;
        if r.status != 200 {
            self.result
                .notes
                .push("effects not checked: the change was refused".to_string());
            return Ok(());
        }
        let other = self.fresh();
        self.change_step(
            "effect: the old password is refused",
            &old,
            &other,
            Expect::WRONG_OLD,
        )
        .await?;
        let current = self.current();
        let next = self.fresh();
        self.change_step(
            "effect: the new password works",
            &current,
            &next,
            Expect::Success,
        )
        .await?;
        Ok(())
    }

    async fn history(&mut self, probe: HistoryProbe) -> Result<(), Stop> {
        let policy = &self.runner.profile.policy;
        let Some(depth) = policy.depth() else {
            return Err(Stop::Skip("policy.history is not declared".into()));
        };
        if depth == 0 {
            return Err(Stop::Skip(
                "the declared history keeps no previous password".into(),
            ));
        }
        let k = match probe {
            HistoryProbe::MostRecent => 1,
            HistoryProbe::Nth => depth,
            HistoryProbe::Beyond => depth + 1,
        };
        self.ensure_previous(k).await?;
        let previous = &self.runner.active.previous;
        let reused = previous[previous.len() - k].clone();
        let current = self.current();
        let (purpose, expect) = match probe {
            HistoryProbe::MostRecent => (
                "a change back to the most recent previous password".to_string(),
                Expect::RECURRENT,
            ),
            HistoryProbe::Nth => (
                format!("a change back to the {k}th previous password"),
                Expect::RECURRENT,
            ),
            HistoryProbe::Beyond => (
                format!("a change back to the {k}th previous password (beyond the history)"),
                Expect::Success,
            ),
        };
        self.change_step(&purpose, &current, &reused, expect)
            .await?;
        if probe != HistoryProbe::Beyond {
            self.unchanged(Some(reused)).await?;
        }
        Ok(())
    }

    async fn lockout(&mut self) -> Result<(), Stop> {
        let account = self
            .runner
            .profile
            .accounts
            .lockable
            .clone()
            .ok_or_else(|| Stop::Skip("no [accounts.lockable] in the profile".into()))?;
        let Some(max) = self.runner.profile.lockout.max_failures.filter(|m| *m > 0) else {
            return Err(Stop::Skip("lockout.max_failures is not declared".into()));
        };
        let password = account.password.clone().unwrap_or_default();
        let label = format!("token:{}", account.subject);
        let token = self.token_for(&account, &label).await?;
        for i in 1..=max {
            let wrong = self.wrong();
            let new = self.fresh();
            let request = change(Some(&token), &wrong, &new, None);
            self.step(
                &format!("wrong old password {i} of {max} for {}", account.subject),
                request,
                Effect::None,
                Expect::WRONG_OLD,
            )
            .await?;
        }
        let new = self.fresh();
        let request = change(Some(&token), &password, &new, None);
        self.step(
            &format!("the right password for {}, now locked", account.subject),
            request,
            Effect::None,
            Expect::LOCKED,
        )
        .await?;
        self.result.notes.push(format!(
            "{} stays locked for the target's lock time",
            account.subject
        ));
        Ok(())
    }
}

fn break_label(kind: PolicyBreak) -> &'static str {
    match kind {
        PolicyBreak::TooShort => "too-short",
        PolicyBreak::TooLong => "too-long",
        PolicyBreak::NoLowercase => "no-lowercase",
        PolicyBreak::NoUppercase => "no-uppercase",
        PolicyBreak::NoDigit => "no-digit",
        PolicyBreak::NoSymbol => "no-symbol",
        PolicyBreak::ControlCharacter => "control-character",
        PolicyBreak::ShortAfterNormalization => "short-after-nfc",
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
        TokenKind::Scope(..) => "scope",
    }
}
