//! The properties judge open points fairly and say how much they ran:
//! against fakes ([`crate::fakes`]) that decide open points otherwise, a
//! property passes at seed tier and reports the reference's choice as a
//! reference-tier finding (a failure only when reference decisions are
//! enforced); a property whose request budget ran out says how many
//! generated cases ran, and one that ran none is skipped.

use std::time::Duration;

use conformance::checks::{Outcome, Weight};
use conformance::embedded::REFERENCE_PROFILE;
use conformance::profile::Profile;
use conformance::properties::PropertyOptions;
use conformance::properties::driver::Bounds;
use conformance::runner::{self, RunOptions};
use conformance::verdict::{CaseResult, Enforcement, Verdict};
use conformance::vocabulary::{Property, Tier};

use crate::fakes::{Fake, Quirk};

const EXTERNAL: Enforcement = Enforcement {
    strict: false,
    reference: false,
};
const REFERENCE: Enforcement = Enforcement {
    strict: false,
    reference: true,
};

async fn run(
    quirk: Option<Quirk>,
    property: Property,
    enforcement: Enforcement,
    cases: u32,
    max_requests: u64,
) -> CaseResult {
    let fake = Fake::start(quirk).await;
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{}", fake.addr);
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        enforcement,
        show_secrets: false,
        state_file: dir.path().join("state.json"),
        timeout: Duration::from_secs(10),
    };
    let props = PropertyOptions {
        cases,
        sequences: cases,
        max_steps: 12,
        seed: 11,
        only: vec![property],
        regressions: None,
        enforcement,
        progress: false,
        max_shrink_iters: 64,
        replay: None,
    };
    let bounds = Bounds {
        max_requests,
        timeout: Duration::from_secs(10),
    };
    let outcome = runner::run_with_properties(&profile, &[], &options, Some((props, bounds)))
        .await
        .expect("the run starts");
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    outcome.cases.into_iter().next().expect("one result")
}

fn reference_findings(r: &CaseResult) -> Vec<String> {
    r.checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail && c.tier == Tier::Reference)
        .map(|c| format!("{}: {}", c.what, c.observed))
        .collect()
}

fn seed_failures(r: &CaseResult) -> Vec<String> {
    r.checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail && c.tier == Tier::Seed)
        .map(|c| c.observed.clone())
        .collect()
}

/// Policy before the old password (open point 1): the account model
/// passes at seed tier and names the precedence as a reference finding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_precedence_is_a_reference_finding_not_a_failure() {
    let q = Some(Quirk::PolicyBeforeOldPassword);
    let r = run(q, Property::AccountModel, EXTERNAL, 12, 100_000).await;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", seed_failures(&r));
    let found = reference_findings(&r);
    assert!(
        found.iter().any(|f| f.contains("precedence (open point 1)")
            && f.contains("400 invalid_new_password (S5)")),
        "{found:?}"
    );
    assert!(r.checks.iter().any(|c| c.weight == Weight::Info));
    // Enforced as the embedded reference server is: the finding fails.
    let r = run(q, Property::AccountModel, REFERENCE, 12, 100_000).await;
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(seed_failures(&r).is_empty(), "{:?}", seed_failures(&r));
    // The conformant fake has no finding at all.
    let r = run(None, Property::AccountModel, REFERENCE, 12, 100_000).await;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", reference_findings(&r));
}

/// A Node-like target (any Content-Type, invalid UTF-8 decoded with
/// U+FFFD, 400 in plain text for bad JSON): the hostile property passes at
/// seed tier, the password is never lost, the shapes are findings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lenient_decoder_passes_hostile_inputs_at_seed_tier() {
    let r = run(
        Some(Quirk::LenientNode),
        Property::HostileInputs,
        EXTERNAL,
        128,
        100_000,
    )
    .await;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", seed_failures(&r));
    let found = reference_findings(&r);
    assert!(
        found.iter().any(|f| f.contains("open point 6")),
        "{found:?}"
    );
    let effect = r
        .checks
        .iter()
        .find(|c| c.what == "the password never changes")
        .unwrap();
    assert_eq!(effect.outcome, Outcome::Pass, "{}", effect.observed);
}

/// A 500 to malformed JSON still fails the hostile property at seed tier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_still_fails_hostile_inputs() {
    let r = run(
        Some(Quirk::Status500OnMalformedJson),
        Property::HostileInputs,
        EXTERNAL,
        64,
        100_000,
    )
    .await;
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        seed_failures(&r)
            .iter()
            .any(|f| f.contains("500: a server error")),
        "{:?}",
        seed_failures(&r)
    );
}

/// A spent budget is said, with how many generated cases ran; a property
/// that could send nothing is skipped, never passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_says_how_many_cases_ran() {
    // Priming the history takes 6 changes; 30 more requests leave room
    // for some of the 64 cases only.
    let r = run(None, Property::PolicyOracle, EXTERNAL, 64, 36).await;
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", seed_failures(&r));
    let note = r
        .notes
        .iter()
        .find(|n| n.starts_with("the request budget ran out"))
        .unwrap_or_else(|| panic!("{:?}", r.notes));
    let ran: u32 = note
        .split(": ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{note}"));
    assert!(ran > 0 && ran < 64, "{note}");
    let held = r
        .checks
        .iter()
        .find(|c| c.outcome == Outcome::Pass)
        .unwrap();
    assert_eq!(
        held.observed,
        format!("held for the {ran} generated cases that ran")
    );
    // Room for the priming only: nothing ran, so the property is skipped.
    let r = run(None, Property::PolicyOracle, EXTERNAL, 16, 7).await;
    assert_eq!(r.verdict, Verdict::Skip, "{:?} {:?}", r.checks, r.notes);
}
