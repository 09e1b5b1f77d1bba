//! What the three properties share to run under proptest: their options,
//! their case records, a proptest runner per property (seed, cases,
//! regression file), the progress line, the tally of requests and the
//! conclusion of a property into checks.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;

use proptest::test_runner::{
    Config, FileFailurePersistence, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};

use crate::checks::{Check, Outcome, Weight};
use crate::verdict::{CaseResult, Enforcement, Verdict};
use crate::vocabulary::{self, Case, Property};

use super::answers::Deviations;
use super::driver::{DriveError, Driver};
use super::replay;

/// How the properties run.
#[derive(Debug, Clone)]
pub struct PropertyOptions {
    /// Generated cases of the policy and hostile properties.
    pub cases: u32,
    /// Generated sequences of the account model.
    pub sequences: u32,
    /// Longest sequence.
    pub max_steps: usize,
    /// The seed; each property derives its own from it.
    pub seed: u64,
    /// Which properties.
    pub only: Vec<Property>,
    /// Where proptest keeps failing seeds (`cargo test`); `None`: nowhere.
    pub regressions: Option<PathBuf>,
    /// Which tiers fail.
    pub enforcement: Enforcement,
    /// Print progress lines on stderr.
    pub progress: bool,
    /// Most shrinking steps per failure.
    pub max_shrink_iters: u32,
    /// Sequences to play as given instead of the properties (`diff`).
    pub replay: Option<replay::Replay>,
}

impl PropertyOptions {
    /// The properties to run, in order.
    pub fn selected(&self) -> Vec<Property> {
        [
            Property::PolicyOracle,
            Property::AccountModel,
            Property::HostileInputs,
        ]
        .into_iter()
        .filter(|p| self.only.is_empty() || self.only.contains(p))
        .collect()
    }
}

/// The case of a property.
pub fn case(p: Property) -> &'static Case {
    vocabulary::PROPERTIES
        .iter()
        .find(|c| c.plan == vocabulary::Plan::Property(p))
        .expect("every property has a case")
}

pub(crate) fn file_name(p: Property) -> &'static str {
    match p {
        Property::PolicyOracle => "policy-oracle.txt",
        Property::AccountModel => "account-model.txt",
        Property::HostileInputs => "hostile-inputs.txt",
    }
}

pub(crate) fn runner(opts: &PropertyOptions, p: Property, cases: u32) -> TestRunner {
    let persistence = opts.regressions.as_ref().map(|dir| {
        let path: &'static str = Box::leak(
            dir.join(file_name(p))
                .display()
                .to_string()
                .into_boxed_str(),
        );
        Box::new(FileFailurePersistence::Direct(path))
            as Box<dyn proptest::test_runner::FailurePersistence>
    });
    let config = Config {
        cases,
        failure_persistence: persistence,
        max_shrink_iters: opts.max_shrink_iters,
        max_local_rejects: 10_000,
        max_global_rejects: 10_000,
        ..Config::default()
    };
    let salt = match p {
        Property::PolicyOracle => 1u8,
        Property::AccountModel => 2,
        Property::HostileInputs => 3,
    };
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&opts.seed.to_le_bytes());
    seed[8] = salt;
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed))
}

pub(crate) fn check(
    what: &str,
    expected: String,
    observed: String,
    ok: bool,
    tier: vocabulary::Tier,
) -> Check {
    Check {
        step: 0,
        tier,
        what: what.to_string(),
        expected,
        observed,
        outcome: if ok { Outcome::Pass } else { Outcome::Fail },
        weight: Weight::Pass,
    }
}

pub(crate) struct Progress<'a> {
    pub(crate) id: &'static str,
    pub(crate) total: u32,
    pub(crate) done: Cell<u32>,
    pub(crate) on: bool,
    pub(crate) driver: &'a RefCell<Driver>,
}

impl<'a> Progress<'a> {
    pub(crate) fn new(id: &'static str, total: u32, on: bool, driver: &'a RefCell<Driver>) -> Self {
        Progress {
            id,
            total,
            done: Cell::new(0),
            on,
            driver,
        }
    }

    /// Generated cases started so far.
    pub(crate) fn started(&self) -> u32 {
        self.done.get()
    }

    pub(crate) fn tick(&self) {
        let n = self.done.get() + 1;
        self.done.set(n);
        let step = (self.total / 10).max(1);
        if self.on && (n.is_multiple_of(step) || n == self.total) {
            eprintln!(
                "{}: {n}/{} generated cases run ({} requests)",
                self.id,
                self.total,
                self.driver.borrow().requests
            );
        }
    }
}

/// Plays the sequences of a `diff` (after priming): one result for the
/// account model, with no verdict of its own (the diff compares the
/// records it leaves in `replay.played`).
pub(crate) fn play(
    mut driver: Driver,
    primed: Result<(), DriveError>,
    replay: &replay::Replay,
) -> (Vec<CaseResult>, Driver) {
    let started = std::time::Instant::now();
    let mut result = CaseResult::new(case(Property::AccountModel));
    let played = match primed {
        Ok(()) => replay::play(&mut driver, replay),
        Err(e) => replay::Played {
            transport: matches!(e, DriveError::Transport(_)),
            error: Some(format!("before the sequences: {e}")),
            ..replay::Played::default()
        },
    };
    result.notes.push(format!(
        "{} of {} sequences played as generated for the diff; {} requests",
        played.sequences.len(),
        replay.sequences.len(),
        driver.requests
    ));
    result.elapsed_ms = started.elapsed().as_millis() as u64;
    if let Ok(mut slot) = replay.played.lock() {
        *slot = Some(played);
    }
    (vec![result], driver)
}

/// How many generated cases of a property sent their requests, and why
/// the others did not.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Generated cases started (shrinking included).
    pub(crate) started: u32,
    /// Not sent: the request budget was spent.
    pub(crate) budget: u32,
    /// Not sent: the profile cannot make them (a token, the lockout).
    pub(crate) unsendable: u32,
}

impl Tally {
    pub(crate) fn ran(&self) -> u32 {
        self.started.saturating_sub(self.budget + self.unsendable)
    }
}

/// Records the outcome of a proptest run in `result`: the seed-tier check,
/// the weaker deviations as checks of their tiers, and how many generated
/// cases ran (a property that sent nothing is skipped, never passed).
pub(crate) fn conclude<V: std::fmt::Debug>(
    result: &mut CaseResult,
    opts: &PropertyOptions,
    what: &str,
    outcome: Result<(), TestError<V>>,
    tally: Tally,
    deviations: &Deviations,
    driver: &RefCell<Driver>,
) {
    let ran = tally.ran();
    match outcome {
        Ok(()) if ran == 0 => {
            result.verdict = Verdict::Skip;
            result.reason = Some(format!(
                "no generated case was sent ({} for the request budget, {} the profile cannot \
                 make)",
                tally.budget, tally.unsendable
            ));
        }
        Ok(()) => result.checks.push(check(
            what,
            "holds for every generated case".into(),
            format!("held for the {ran} generated cases that ran"),
            true,
            result.tier,
        )),
        Err(TestError::Fail(reason, _)) => {
            let text = format!(
                "minimal failing case (seed {seed}; replay with `conformance run --properties \
                 --seed {seed} --case {id}`):\n{reason}",
                seed = opts.seed,
                id = result.id,
                reason = reason.message()
            );
            result.checks.push(check(
                what,
                "holds for every generated case".into(),
                text,
                false,
                result.tier,
            ));
        }
        Err(TestError::Abort(reason)) => {
            result.verdict = Verdict::Error;
            result.reason = Some(format!("{}: {}", result.id, reason.message()));
        }
    }
    result.checks.extend(deviations.checks());
    if tally.budget > 0 {
        result.notes.push(format!(
            "the request budget ran out: {ran} of the {} generated cases ran, {} sent \
             nothing ({} requests in all)",
            tally.started,
            tally.budget,
            driver.borrow().requests
        ));
    }
    if tally.unsendable > 0 {
        result.notes.push(format!(
            "{} generated cases were not sent: the profile cannot make them (a token or \
             account it does not declare, or a wrong old password the lockout leaves no room \
             for)",
            tally.unsendable
        ));
    }
}

/// Whether the generated cases must send nothing more: a SIGINT/SIGTERM,
/// or a change without a usable answer (the runner resolves it first).
pub(crate) fn stopped(d: &Driver) -> bool {
    crate::interrupt::requested().is_some() || d.ledger.active.pending.is_some()
}

pub(crate) fn fail_on(e: DriveError) -> TestCaseError {
    TestCaseError::fail(format!("1. {e}"))
}
