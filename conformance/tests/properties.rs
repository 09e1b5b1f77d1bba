//! The generated properties against the embedded reference server (cheap
//! hashing): 256 policy-oracle cases, 64 account-model sequences of up to
//! 30 steps, 256 hostile requests. Failing seeds are kept in
//! `conformance/proptest-regressions/` (commit them); `PROPERTY_SEED=S`
//! replays a run.

use std::path::Path;
use std::time::Duration;

use conformance::embedded::{Embedded, Hashing};
use conformance::properties::PropertyOptions;
use conformance::properties::driver::Bounds;
use conformance::runner::{self, RunOptions};
use conformance::verdict::{Enforcement, Verdict};
use conformance::vocabulary::Property;

fn seed() -> u64 {
    std::env::var("PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(conformance::cli::random_seed)
}

/// Runs `property` against a fresh embedded server whose profile
/// `alter` changed; failing seeds are kept only when `keep` is set.
fn run_against(
    property: Property,
    seed: u64,
    cases: u32,
    keep: bool,
    alter: impl FnOnce(&mut conformance::profile::Profile),
) -> conformance::runner::RunOutcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let enforcement = Enforcement {
        strict: true,
        reference: true,
    };
    runtime.block_on(async {
        let server = Embedded::start(Hashing::CheapTestOnly)
            .await
            .expect("the embedded reference server starts");
        let mut profile = server.profile.clone();
        alter(&mut profile);
        let options = RunOptions {
            enforcement,
            show_secrets: false,
            state_file: server.state_file(),
            timeout: Duration::from_secs(10),
        };
        let props = PropertyOptions {
            cases,
            sequences: cases / 4,
            max_steps: 30,
            seed,
            only: vec![property],
            regressions: keep
                .then(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("proptest-regressions")),
            enforcement,
            progress: false,
            max_shrink_iters: 1_000,
            replay: None,
        };
        let bounds = Bounds {
            max_requests: u64::MAX,
            timeout: Duration::from_secs(10),
        };
        let outcome = runner::run_with_properties(&profile, &[], &options, Some((props, bounds)))
            .await
            .expect("the run starts");
        server.stop().await;
        outcome
    })
}

fn run_property(property: Property) {
    let seed = seed();
    let report = run_against(property, seed, 256, true, |_| {});
    assert_eq!(report.cases.len(), 1);
    let result = &report.cases[0];
    let findings: Vec<String> = result
        .checks
        .iter()
        .filter(|c| c.outcome != conformance::checks::Outcome::Pass)
        .map(|c| format!("{}:\n{}", c.what, c.observed))
        .collect();
    assert_eq!(
        result.verdict,
        Verdict::Pass,
        "{} (PROPERTY_SEED={seed}): {:?}\n{}\nnotes: {:?}",
        result.id,
        result.reason,
        findings.join("\n"),
        result.notes
    );
    eprintln!(
        "{}: {} ms, notes {:?}",
        result.id, result.elapsed_ms, result.notes
    );
    assert!(
        report.restore.ok,
        "the original password is restored: {}",
        report.restore.outcome
    );
}

#[test]
fn policy_oracle() {
    run_property(Property::PolicyOracle);
}

#[test]
fn account_model() {
    run_property(Property::AccountModel);
}

#[test]
fn hostile_inputs() {
    run_property(Property::HostileInputs);
}

/// The properties guard the server: a profile that declares a history of
/// 4 where the reference keeps 5 makes both the oracle and the model fail,
/// shrunk to one step that reuses the fifth previous password.
#[test]
fn a_wrong_history_depth_is_caught_and_shrunk() {
    for property in [Property::PolicyOracle, Property::AccountModel] {
        let report = run_against(property, 7, 64, false, |p| p.policy.history = Some(4));
        let result = &report.cases[0];
        assert_eq!(result.verdict, Verdict::Fail, "{}", result.id);
        let failure = result
            .checks
            .iter()
            .find(|c| c.outcome == conformance::checks::Outcome::Fail)
            .expect("a failing check");
        assert!(
            failure.observed.contains("seed 7")
                && failure.observed.contains("\n1. ")
                && !failure.observed.contains("\n2. ")
                && failure.observed.contains("previous password #5")
                && failure
                    .observed
                    .contains("expected 200 (S1), got 400 {\"error\":\"recurrent_password\"}"),
            "{}: {}",
            result.id,
            failure.observed
        );
        assert!(report.restore.ok, "{}", report.restore.outcome);
    }
}
