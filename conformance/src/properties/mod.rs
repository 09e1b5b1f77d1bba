//! Generated properties (`conformance run --properties`, and `cargo test`):
//!
//! - `property.policy-oracle`: new passwords generated from the declared
//!   policy (valid ones, non-ASCII only with a declared normalisation, each
//!   way to be invalid, reuse of the current and previous passwords) get an
//!   answer the [`oracle`] allows, computed from the profile alone.
//! - `property.account-model`: sequences of steps against the [`model`] of
//!   the account (proptest-state-machine); after every step the answer must
//!   be one the model allows, and the model's current password must be the
//!   one that works.
//! - `property.hostile-inputs`: [`hostile`] requests get a 4xx (or 503),
//!   never 200 or another 5xx, and the password never changes.
//!
//! Answers are judged fairly ([`answers`]): where the document leaves the
//! choice open (several errors at once, the shape of a 4xx to a malformed
//! request), any allowed answer passes at seed tier and the reference's
//! choice is checked at reference tier, as a finding of that tier.
//!
//! Each runs under proptest with a seed (`--seed`): the same seed against
//! the same target state generates the same cases. A failure is shrunk and
//! reported as a numbered list of steps with the seed.
//! `conformance/PROPERTIES.md` documents the properties and their bounds.

pub mod answers;
pub mod driver;
pub mod generate;
mod harness;
pub mod hostile;
pub mod model;
pub mod oracle;
pub mod replay;

use std::cell::{Cell, RefCell};

use proptest::test_runner::TestCaseError;
use proptest_state_machine::ReferenceStateMachine;

use crate::checks::Outcome;
use crate::verdict::{CaseResult, Verdict};
use crate::vocabulary::Property;

use harness::{Progress, Tally, check, conclude, fail_on, play, runner, stopped};
pub use harness::{PropertyOptions, case};

use answers::{Answers, Deviations};
use driver::{DriveError, Driver, StepToken, describe, is_error};
use generate::Candidate;
use model::{Model, New, Old, PasswordRef, Setup, may_count};
use oracle::AccountView;

/// Changes to `depth + 1` fresh passwords, so that every password in the
/// target's history window is one the harness knows (a generated password
/// can then only be refused as recurrent when the oracle knows it).
fn prime_history(driver: &mut Driver) -> Result<(), DriveError> {
    let Some(depth) = driver.profile.policy.depth() else {
        return Ok(());
    };
    for _ in 0..=depth {
        let token = driver.token(StepToken::Standard)?;
        let current = driver.ledger.active.current.clone();
        let new = crate::password::fresh(&driver.profile.policy);
        let r = driver.change(&token, &current, &new)?;
        if r.status != 200 {
            return Err(DriveError::Poisoned(format!(
                "priming the history: a change to a fresh password got {}",
                describe(&r)
            )));
        }
    }
    Ok(())
}

/// Runs the selected properties; returns one unjudged result per property
/// and the driver (with the account as it is now). It stops early after a
/// property during which a change got no usable answer (the account's
/// password is then pending: the caller resolves it and may run the rest);
/// after a SIGINT/SIGTERM the properties left are skipped.
pub fn run(mut driver: Driver, opts: &PropertyOptions) -> (Vec<CaseResult>, Driver) {
    let primed = if driver.primed {
        Ok(())
    } else {
        let primed = prime_history(&mut driver);
        driver.primed = primed.is_ok();
        primed
    };
    if let Some(replay) = &opts.replay {
        return play(driver, primed, replay);
    }
    let driver = RefCell::new(driver);
    let mut results = Vec::new();
    for p in opts.selected() {
        let started = std::time::Instant::now();
        let before = driver.borrow().requests;
        let mut result = CaseResult::new(case(p));
        if let Some(signal) = crate::interrupt::requested() {
            result.verdict = Verdict::Skip;
            result.reason = Some(format!("interrupted by {}", crate::interrupt::name(signal)));
            results.push(result);
            continue;
        }
        if let Some(why) = driver.borrow().not_determined() {
            // A static token refused after the run's change: every
            // property sends the account's token (learned once).
            result.verdict = Verdict::Skip;
            result.reason = Some(why);
            results.push(result);
            continue;
        }
        if let Err(e) = &primed {
            let lost = driver.borrow().ledger.active.pending.is_some();
            result.verdict = if lost { Verdict::Skip } else { Verdict::Error };
            result.reason = Some(if lost {
                format!("not determined: before the properties: {e}")
            } else {
                format!("before the properties: {e}")
            });
            results.push(result);
            if driver.borrow().ledger.active.pending.is_some() {
                break;
            }
            continue;
        }
        match p {
            Property::PolicyOracle => policy_oracle(&driver, opts, &mut result),
            Property::AccountModel => account_model(&driver, opts, &mut result),
            Property::HostileInputs => hostile_inputs(&driver, opts, &mut result),
        }
        let sent = driver.borrow().requests - before;
        result.notes.push(format!(
            "seed {}: replay with `conformance run --properties --seed {} --case {}`; {sent} \
             requests",
            opts.seed, opts.seed, result.id
        ));
        result.elapsed_ms = started.elapsed().as_millis() as u64;
        let lost = driver.borrow().ledger.active.pending.is_some();
        let interrupted = crate::interrupt::requested();
        let refused = driver.borrow().not_determined();
        if lost || interrupted.is_some() || refused.is_some() {
            // What failed may be the cut itself: the checks become notes.
            for c in result.checks.drain(..) {
                if c.outcome == Outcome::Fail {
                    result
                        .notes
                        .push(format!("before it stopped: {}: {}", c.what, c.observed));
                }
            }
            result.verdict = Verdict::Skip;
            result.reason = Some(match (interrupted, refused) {
                (Some(signal), _) => format!("interrupted by {}", crate::interrupt::name(signal)),
                (None, Some(why)) => why,
                (None, None) => format!(
                    "not determined: {}",
                    driver
                        .borrow()
                        .ledger
                        .active
                        .poisoned
                        .clone()
                        .unwrap_or_default()
                ),
            });
        }
        results.push(result);
        if lost {
            break;
        }
    }
    (results, driver.into_inner())
}

fn policy_oracle(driver: &RefCell<Driver>, opts: &PropertyOptions, result: &mut CaseResult) {
    let policy = driver.borrow().profile.policy.clone();
    let max_failures = driver.borrow().profile.lockout.effective();
    let strategy = generate::candidates(&policy);
    let budget = Cell::new(0u32);
    let deviations = Deviations::default();
    let progress = Progress::new(result.id, opts.cases, opts.progress, driver);
    let outcome = runner(opts, Property::PolicyOracle, opts.cases).run(&strategy, |cand| {
        progress.tick();
        let mut d = driver.borrow_mut();
        if stopped(&d) {
            return Ok(());
        }
        if d.budget_left() < 2 {
            budget.set(budget.get() + 1);
            return Ok(());
        }
        d.reset_failures().map_err(fail_on)?;
        let current = d.ledger.active.current.clone();
        let previous = d.ledger.active.previous.clone();
        let (new, shown) = match &cand {
            Candidate::Generated { aim, password } => (
                password.clone(),
                format!(
                    "generated ({aim}) {password:?}, {} code points after normalisation",
                    oracle::normalize(&policy, password).chars().count()
                ),
            ),
            Candidate::Current => (current.clone(), "the current password".to_string()),
            Candidate::Previous(k) => {
                let k = (*k).min(previous.len());
                if k == 0 {
                    (
                        current.clone(),
                        "the current password (no previous known)".into(),
                    )
                } else {
                    (
                        previous[previous.len() - k].clone(),
                        format!("previous password #{k}"),
                    )
                }
            }
        };
        let view = AccountView {
            current: &current,
            previous: &previous,
            failures: d.ledger.active.budget.count(),
            max_failures,
        };
        let predicted = oracle::predict(&policy, view, &current, &new);
        let token = d.token(StepToken::Standard).map_err(fail_on)?;
        let r = d.change(&token, &current, &new).map_err(fail_on)?;
        let breaks = oracle::violations(&policy, &new);
        let request = format!(
            "change with the right old password, new = {shown} (breaks: {}; {} known previous)",
            if breaks.is_empty() {
                "nothing".to_string()
            } else {
                breaks.join(", ")
            },
            previous.len(),
        );
        match predicted.judge(&r) {
            Ok((_, found)) => {
                deviations.record(&request, found);
                Ok(())
            }
            Err(why) => Err(TestCaseError::fail(format!(
                "1. {request}: expected {}, got {} ({why})",
                predicted.label(),
                describe(&r)
            ))),
        }
    });
    let tally = Tally {
        started: progress.started(),
        budget: budget.get(),
        unsendable: 0,
    };
    conclude(
        result,
        opts,
        "answers match the policy oracle",
        outcome,
        tally,
        &deviations,
        driver,
    );
}

fn model_setup(driver: &mut Driver, tokens: &[StepToken]) -> Setup {
    let policy = driver.profile.policy.clone();
    let depth = policy.depth();
    let mut known = vec![driver.ledger.active.current.clone()];
    let keep = depth.map_or(0, |d| d + 1);
    known.extend(
        driver
            .ledger
            .active
            .previous
            .iter()
            .rev()
            .take(keep)
            .cloned(),
    );
    let breaks = model::breaks(&policy);
    let tokens = tokens.to_vec();
    Setup {
        depth,
        includes_current: policy.history_includes_current,
        max_failures: driver.profile.lockout.effective(),
        // A sequence starts with a reset where a success resets the count
        // ([`Driver::reset_failures`]).
        room: if driver.ledger.active.budget.success_resets() {
            driver.ledger.active.budget.rule().allowance()
        } else {
            driver.ledger.active.budget.left()
        },
        resets: driver.ledger.active.budget.success_resets(),
        known,
        breaks,
        tokens,
    }
}

/// Runs one generated sequence; the error lists the steps up to the first
/// disagreement.
fn run_sequence(
    d: &mut Driver,
    init: &model::Account,
    steps: &[model::Step],
    seen: Option<&std::sync::atomic::AtomicUsize>,
    deviations: &Deviations,
) -> Result<(), TestCaseError> {
    d.reset_failures().map_err(fail_on)?;
    let mut known = vec![d.ledger.active.current.clone()];
    known.extend(d.ledger.active.previous.iter().rev().cloned());
    let policy = d.profile.policy.clone();
    let mut fresh: std::collections::HashMap<u32, String> = Default::default();
    let mut resolve = |pw: PasswordRef| -> Result<String, String> {
        match pw {
            PasswordRef::Start(i) => known
                .get(i)
                .cloned()
                .ok_or_else(|| format!("start entry {i} is not known")),
            PasswordRef::New(n) => Ok(fresh
                .entry(n)
                .or_insert_with(|| crate::password::fresh(&policy))
                .clone()),
        }
    };
    let mut log: Vec<String> = Vec::new();
    let fail = |log: &[String]| TestCaseError::fail(log.join("\n"));
    let mut state = init.clone();
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        // Tells the shrinker how far the sequence got.
        if let Some(seen) = seen {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        let predicted = state.predict(step);
        let old = match step.old {
            Old::Right => resolve(state.current).map_err(TestCaseError::fail)?,
            Old::Wrong => crate::password::wrong(&policy),
        };
        let new = match step.new {
            New::Breaking(b) => {
                crate::password::breaking(&policy, b).map_err(TestCaseError::fail)?
            }
            other => {
                let pw = state
                    .new_password(other)
                    .ok_or_else(|| TestCaseError::fail(format!("step {n}: no such password")))?;
                resolve(pw).map_err(TestCaseError::fail)?
            }
        };
        // The model keeps each sequence within the budget's room at its
        // start; across sequences (a window that gives nothing back) the
        // run's budget is guarded here too, as the catalogue's guard does.
        if may_count(step) && !d.make_room().map_err(fail_on)? {
            return Err(TestCaseError::reject(
                "the lockout budget leaves no room for a wrong old password",
            ));
        }
        let token = match d.token(step.token) {
            Ok(t) => t,
            Err(e) => {
                log.push(format!("{n}. {step}: {e}"));
                return Err(fail(&log));
            }
        };
        let r = match d.change(&token, &old, &new) {
            Ok(r) => r,
            Err(e) => {
                log.push(format!("{n}. {step}: {e}"));
                return Err(fail(&log));
            }
        };
        log.push(format!(
            "{n}. {step}: expected {}, got {}",
            predicted.label(),
            describe(&r)
        ));
        match predicted.judge(&r) {
            Ok((_, found)) => deviations.record(&format!("{n}. {step}"), found),
            Err(why) => {
                log.push(format!("   the answer differs from the model: {why}"));
                return Err(fail(&log));
            }
        }
        // A wrong old password may count toward the lockout whatever the
        // answer; a `wrong_old_password` answer was counted already.
        if may_count(step) && !is_error(&r, "wrong_old_password") {
            d.ledger.active.budget.note_failure();
        }
        state = Model::apply(state, step);
        // The model's current password must be the one that works.
        let current = resolve(state.current).map_err(TestCaseError::fail)?;
        if current != d.ledger.active.current {
            log.push("   the tracked password differs from the model's".into());
            return Err(fail(&log));
        }
        // After a refusal (where a change "stored anyway" would hide) and
        // at the end; a success is confirmed by the next right old password.
        let succeeded = predicted == Answers::one(answers::Prediction::Success);
        if !state.locked && (!succeeded || n == steps.len()) {
            match d.probe_current() {
                Ok(p) if d.confirms_current(&p) => {}
                Ok(p) => {
                    log.push(format!(
                        "   then the model's current password was tried (old = new = current): \
                         expected 400 duplicate_password, got {}",
                        describe(&p)
                    ));
                    return Err(fail(&log));
                }
                Err(e) => {
                    log.push(format!("   then probing the current password: {e}"));
                    return Err(fail(&log));
                }
            }
        }
    }
    Ok(())
}

fn account_model(driver: &RefCell<Driver>, opts: &PropertyOptions, result: &mut CaseResult) {
    let budget = Cell::new(0u32);
    let deviations = Deviations::default();
    let progress = Progress::new(result.id, opts.sequences, opts.progress, driver);
    // The setup is read when a sequence is generated: the account as it
    // is then.
    let strategy = Model::sequential_strategy(1..=opts.max_steps.max(1));
    let mut test_runner = runner(opts, Property::AccountModel, opts.sequences);
    let tokens: Vec<StepToken> = [StepToken::Renewed, StepToken::Expired, StepToken::NoOpenid]
        .into_iter()
        .filter(|t| driver.borrow_mut().can_make(*t))
        .collect();
    let outcome = {
        let refresh = || {
            let setup = model_setup(&mut driver.borrow_mut(), &tokens);
            model::SETUP.with(|s| *s.borrow_mut() = setup);
        };
        refresh();
        test_runner.run(&strategy, |(init, steps, seen)| {
            progress.tick();
            let result = {
                let mut d = driver.borrow_mut();
                if stopped(&d) {
                    return Ok(());
                }
                if d.budget_left() < (steps.len() as u64) * 2 + 2 {
                    budget.set(budget.get() + 1);
                    return Ok(());
                }
                run_sequence(&mut d, &init, &steps, seen.as_deref(), &deviations)
            };
            refresh();
            result
        })
    };
    let tally = Tally {
        started: progress.started(),
        budget: budget.get(),
        unsendable: 0,
    };
    conclude(
        result,
        opts,
        "every step's answer matches the account model",
        outcome,
        tally,
        &deviations,
        driver,
    );
}

fn hostile_inputs(driver: &RefCell<Driver>, opts: &PropertyOptions, result: &mut CaseResult) {
    let budget = Cell::new(0u32);
    let unsendable = Cell::new(0u32);
    let deviations = Deviations::default();
    let limit = driver
        .borrow()
        .profile
        .limits
        .max_body_bytes
        .unwrap_or(16 * 1024);
    let progress = Progress::new(result.id, opts.cases, opts.progress, driver);
    let strategy = hostile::requests();
    let outcome = runner(opts, Property::HostileInputs, opts.cases).run(&strategy, |h| {
        progress.tick();
        let mut d = driver.borrow_mut();
        if stopped(&d) {
            return Ok(());
        }
        if d.budget_left() < 3 {
            budget.set(budget.get() + 1);
            return Ok(());
        }
        let Ok(request) = h.request(&mut d) else {
            // A token the profile cannot make (like [accounts.missing]).
            unsendable.set(unsendable.get() + 1);
            return Ok(());
        };
        // A request of the active account that carries an old password
        // may count toward the lockout, whatever the target answers: it
        // is spent from the run's budget, as the catalogue's are.
        let counts = h.active_token() && hostile::carries_old_password(&h, &request.body);
        if counts && !d.make_room().map_err(fail_on)? {
            unsendable.set(unsendable.get() + 1);
            return Ok(());
        }
        let shown = h.describe(&request);
        if h.active_token() {
            // A target that stores a refused change gives the account
            // this new password: recorded before it is sent.
            d.record_candidate_of(&request.body, &h.new_passwords());
            // Not recorded, so not sent.
            d.may_send_with_token().map_err(fail_on)?;
        }
        let r = match d.send(&request) {
            Ok(r) => r,
            Err(DriveError::Transport(e)) if request.body.len() > limit => {
                // A target may close the connection on an oversized body.
                let _ = e;
                if counts {
                    d.ledger.active.budget.note_failure();
                }
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("1. {shown}: {e}"))),
        };
        if h.active_token() {
            d.observe(&r, None);
            if counts && !is_error(&r, "wrong_old_password") {
                d.ledger.active.budget.note_failure();
            }
        }
        match hostile::judge(&h, &r) {
            Ok(found) => {
                deviations.record(&shown, found);
                Ok(())
            }
            Err(why) => Err(TestCaseError::fail(format!(
                "1. {shown}: got {} ({why})",
                describe(&r)
            ))),
        }
    });
    let tally = Tally {
        started: progress.started(),
        budget: budget.get(),
        unsendable: unsendable.get(),
    };
    conclude(
        result,
        opts,
        "every answer is a 4xx (or 503), never 200, never another 5xx",
        outcome,
        tally,
        &deviations,
        driver,
    );
    // The effect check: no hostile request changed the password (the
    // harness's own changes, made to reset the failure count, are
    // tracked).
    let mut d = driver.borrow_mut();
    if stopped(&d) {
        return;
    }
    let probe = d.probe_current();
    let (ok, observed) = match &probe {
        Ok(r) => (
            d.ledger.active.poisoned.is_none() && d.confirms_current(r),
            format!(
                "a change from the tracked password to itself got {}",
                describe(r)
            ),
        ),
        Err(e) => (false, e.to_string()),
    };
    result.checks.push(check(
        "the password never changes",
        "400 duplicate_password for old = new = the tracked password (it still works)".into(),
        observed,
        ok,
        result.tier,
    ));
}
