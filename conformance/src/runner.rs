//! The runner: carries out the run's plan ([`crate::plan`], made after
//! resuming, before the first case): it runs the cases the plan runs, in
//! the order given (`password.change` first under a lockout budget that
//! cannot grow back, [`crate::plan::share`]), skips the others up front
//! with the plan's reason, and reports in the order given (each family in
//! [`crate::cases`] carries out its own plans on a `CaseContext` of the
//! [`Session`]); it batches the
//! confirmation that refused requests changed nothing, hands the session's
//! account ledger to the generated properties and takes it back, turns
//! each case's checks into a verdict, and ends with the restore. `conformance restore` ([`restore_from_state`]) restores from
//! the state file alone.
//!
//! Under a window with `window_secs` ([`reorders`]), one account or a
//! pool, no time is spent idle while work remains ([`next_case`]): cases
//! that send wrong old passwords while an account has room, the others
//! while every account waits for its window; the results are put back in
//! catalogue order.

use std::io::IsTerminal;
use std::time::Instant;

use serde::Serialize;

use crate::checks;
use crate::exchange::{self, Endpoint};
use crate::plan::{self, Decision, share};
use crate::profile::{Counting, Profile};
use crate::properties::{
    self, PropertyOptions,
    driver::{Bounds, Driver},
};
use crate::session::{CaseContext, Session, Stop};
pub use crate::session::{Housekeeping, RunError, RunOptions};
use crate::state::StateFile;
use crate::verdict::{self, CaseResult, Verdict};
use crate::vocabulary::{Case, Property};

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
    /// Why a static token of the profile stopped serving the run: the
    /// target refused it after the run changed its account's password
    /// (open point 10), and it cannot be taken again. A configuration
    /// limit of the profile (exit 2), not a failure of the target.
    #[serde(skip)]
    pub token_refused: Option<String>,
}

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
    let mut runner = Session::new(profile, options)?;
    exchange::probe(&runner.endpoint, options.timeout)
        .await
        .map_err(RunError::Connection)?;
    let resumed = runner.resume().await?;
    let mut results = Vec::new();
    let mut effects = Vec::new();
    let progress = shows_progress(std::io::stderr().is_terminal(), &runner.endpoint);
    // The plan: the lockout budget goes to the seed rows first; what it
    // cannot hold, and what the profile cannot run, is skipped up front.
    // Each pool account's count after the resume, in the profile's order.
    let counted: Vec<u32> = runner
        .ledger
        .pool()
        .iter()
        .map(|a| a.budget.count())
        .collect();
    let planned = plan::make(profile, cases, &counted);
    // `ran[k]`: the index in `cases` of `results[k]`.
    let mut ran = Vec::new();
    // `user.lockout-after-failures` keeps its place among the cases that
    // send the active accounts no wrong old password: after those that
    // confirm `[accounts.lockable]`'s password (`body.other-account.*`),
    // which its lock would refuse.
    let mut queue = share::order(cases, &runner.lockout_rule());
    while let Some(i) = next_case(&mut queue, cases, &runner) {
        let case = cases[i];
        if crate::interrupt::requested().is_some() {
            break;
        }
        let this = &planned.cases[i];
        if let Decision::Skip { reason, .. } | Decision::Shared { reason, .. } = &this.decision {
            let mut result = CaseResult::new(case);
            result.verdict = Verdict::Skip;
            result.reason = Some(reason.clone());
            ran.push(i);
            results.push(result);
            continue;
        }
        // The pool's account for this case (the one account without a
        // pool): the plan's when it binds the case, else the ledger's
        // choice now; the confirmation pending on the account in use comes
        // first when the case moves to another.
        let wrong = case.plan.sends_wrong_passwords();
        // A case bound for its wrong old passwords moves to the ledger's
        // choice when its account can no longer take them (poisoned, or
        // its room spent by what the plan does not count: a confirmation,
        // a lost answer resolved); one bound for the first account's
        // static token never moves.
        let needs = this.wrong_olds + this.effect_wrong_olds;
        let place_now = |runner: &Session| match this.bound_to() {
            Some(p)
                if plan::sends_first_accounts_token(profile, case)
                    || runner.ledger.has_room(p, needs) =>
            {
                p
            }
            _ => runner.ledger.choose(wrong),
        };
        let mut place = place_now(&runner);
        if !runner.unconfirmed.is_empty()
            && (!case.plan.defers_confirmation()
                || runner.batch_is_full()
                || place != runner.ledger.active.place)
        {
            effects.push(runner.confirm(&mut results).await);
            // The confirmation may have spent its account's room.
            place = place_now(&runner);
        }
        runner.select(place);
        let (result, unconfirmed) = run_case(&mut runner, case, this.refused_as_old()).await;
        if let Some(candidates) = unconfirmed
            && case.plan.defers_confirmation()
        {
            runner.expect_unchanged(results.len(), candidates);
        }
        if progress {
            eprintln!("{}", progress_line(results.len() + 1, cases.len(), case.id));
        }
        ran.push(i);
        results.push(result);
    }
    if !runner.unconfirmed.is_empty() {
        effects.push(runner.confirm(&mut results).await);
    }
    let mut results = share::given_order(results, &ran);
    share::share_with_wrong_old(&mut results);
    if let Some((props, bounds)) = properties
        && crate::interrupt::requested().is_none()
    {
        let first = results.len();
        // The properties send wrong old passwords: on the pool's account
        // with the most room (the one account without a pool).
        let place = runner.ledger.choose(true);
        runner.select(place);
        let subject = runner.pooled_subject();
        let mut ran = run_properties(&mut runner, props, bounds).await;
        for r in &mut ran {
            r.account = subject.clone();
        }
        results.extend(ran);
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
        token_refused: runner.static_refused.take(),
    })
}

/// The next case to run, taken from `queue` (issue 20, point 3: no idle
/// waiting while work remains). When it [`reorders`]: while an account of
/// the pool (the one account without a pool) has room for a wrong old
/// password, the first case that sends them (their window starts as early
/// as it can); while every account must wait, the first case that sends
/// none, so that the wait is spent on work. Otherwise, and when no case of
/// the other kind is left: the first. Results are put back in catalogue
/// order at the end ([`share::given_order`]).
fn next_case(queue: &mut Vec<usize>, cases: &[&'static Case], session: &Session) -> Option<usize> {
    queue.first()?;
    if reorders(session) {
        let room = session.ledger.wait_for_room().is_zero();
        if let Some(i) = queue
            .iter()
            .position(|&c| cases[c].plan.sends_wrong_passwords() == room)
        {
            return Some(queue.remove(i));
        }
    }
    Some(queue.remove(0))
}

/// Whether the run orders its cases by room ([`next_case`]): under a rule
/// that counts wrong old passwords within a window whose room comes back
/// with time, with one active account as with a pool. Under a fixed
/// budget or a count in a row the catalogue order is kept (waiting gains
/// nothing there: room comes back with a success, or never).
fn reorders(session: &Session) -> bool {
    let rule = session.lockout_rule();
    rule.max_failures.is_some() && rule.counting == Counting::Window && rule.window.is_some()
}

/// What `conformance restore` did.
#[derive(Debug, Clone)]
pub struct RestoreOutcome {
    /// The state file as found (`None`: there was none, nothing to do).
    pub recorded: Option<StateFile>,
    /// The state file as the restore left it (`None`: removed, every
    /// account restored, or unreadable).
    pub left: Option<StateFile>,
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
            left: None,
            resumed: None,
            restore: None,
        });
    };
    let mut runner = Session::new(profile, options)?;
    exchange::probe(&runner.endpoint, options.timeout)
        .await
        .map_err(RunError::Connection)?;
    let resumed = runner.resume().await?;
    let restore = runner.restore().await;
    let left = StateFile::load(&options.state_file).ok().flatten();
    Ok(RestoreOutcome {
        recorded: Some(recorded),
        left,
        resumed,
        restore: Some(restore),
    })
}

/// Hands the session's account ledger (the active account, the other
/// accounts, the lockout budget, the state file) to the properties (on a
/// blocking thread: proptest is synchronous) and takes it back. A change the properties sent without a usable answer
/// stops them; it is resolved here as in the catalogue
/// ([`Session::resolve_pending`]) and the remaining properties go on.
async fn run_properties(
    session: &mut Session,
    opts: PropertyOptions,
    bounds: Bounds,
) -> Vec<CaseResult> {
    let enforcement = session.options.enforcement;
    let handle = tokio::runtime::Handle::current();
    let mut driver = match Driver::new(handle, &session.profile, &mut session.ledger, bounds) {
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
    // The static tokens the target refused after the run's change: never
    // sent again, by the properties either (and back, for the restore).
    driver.tokens_mut().learn_refused_from(&session.tokens);
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
                // The ledger went down with them: the stand-in stays (it
                // changes nothing); the state file keeps what they saved.
                session.ledger.active.poisoned = Some(format!("the properties stopped: {e}"));
                stopped = Some(format!("the properties stopped: {e}"));
                break;
            }
        };
        driver = d;
        session.ledger = driver.ledger.lend();
        session.track_password();
        session.tokens.learn_refused_from(driver.tokens_mut());
        if let Some(why) = driver.token_refused() {
            session.static_refused.get_or_insert(why);
        }
        left.drain(..ran.len().min(left.len()));
        results.append(&mut ran);
        if left.is_empty() {
            break;
        }
        if let Some(signal) = crate::interrupt::requested() {
            stopped = Some(format!("interrupted by {}", crate::interrupt::name(signal)));
            break;
        }
        let Some(h) = session
            .resolve_during_run("after a property's change without an answer")
            .await
        else {
            stopped = session.ledger.active.poisoned.clone();
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
        driver.ledger = session.ledger.lend();
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

/// Runs one case; `refused_as_old`: whether the plan lets its effect
/// checks try a refused new password as old password.
async fn run_case(
    session: &mut Session,
    case: &'static Case,
    refused_as_old: bool,
) -> (CaseResult, Option<Vec<String>>) {
    let started = Instant::now();
    let enforcement = session.options.enforcement;
    let account = session.pooled_subject();
    let mut ctx = CaseContext::new(session, case);
    ctx.refused_as_old = refused_as_old;
    if let Some(subject) = &account {
        ctx.result
            .notes
            .push(format!("ran on the pool's active account {subject}"));
    }
    ctx.result.account = account;
    let stop = crate::cases::run(&mut ctx, case.plan).await;
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
