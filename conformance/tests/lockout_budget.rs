//! The lockout rule of the profile, spent across the run, against the
//! in-process reference server (which counts in a row and locks at 5):
//! a declared window makes the runner wait instead of resetting with a
//! success; no declared counting makes it assume the strictest rule and
//! stop sending wrong passwords once `max_failures - 2` are spent; and,
//! against a fake that counts what it receives, the catalogue and the
//! generated properties spend that one budget together.

use std::time::{Duration, Instant};

use conformance::cases;
use conformance::embedded::{Embedded, Hashing};
use conformance::exchange::ExchangeRecord;
use conformance::profile::Counting;
use conformance::runner::{self, RunOutcome};
use conformance::verdict::Verdict;

fn wrong_old_answers(outcome: &RunOutcome) -> usize {
    outcome
        .cases
        .iter()
        .flat_map(|r| &r.exchanges)
        .chain(outcome.effects.iter().flat_map(|h| &h.exchanges))
        .chain(&outcome.restore.exchanges)
        .filter(|x: &&ExchangeRecord| {
            serde_json::to_string(&x.response)
                .unwrap()
                .contains("wrong_old_password")
        })
        .count()
}

#[tokio::test]
async fn a_declared_window_is_waited_out_instead_of_reset() {
    // The reference server counts in a row, so a pause does not reset its
    // count: it locks at 10 here, while the profile declares 5 within a
    // window (the rule the runner spends against), so that the five wrong
    // old passwords below lock nothing and the restore can check the
    // original password.
    let mut roomy = conformance::profile::Profile::load(std::path::Path::new(
        conformance::embedded::REFERENCE_PROFILE,
    ))
    .unwrap();
    roomy.lockout.max_failures = Some(10);
    let server = Embedded::start_from(Hashing::CheapTestOnly, &roomy)
        .await
        .unwrap();
    let mut profile = server.profile.clone();
    profile.lockout.max_failures = Some(5);
    profile.lockout.counting = Some(Counting::Window);
    profile.lockout.window_secs = Some(1);
    let case = cases::find("precedence.old-password-before-duplicate").unwrap();
    let cases = vec![case; 5];
    let started = Instant::now();
    let outcome = runner::run(&profile, &cases, &crate::support::strict_options(&server))
        .await
        .unwrap();
    for r in &outcome.cases {
        assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.checks);
    }
    let exchanges: Vec<_> = outcome.cases.iter().flat_map(|r| &r.exchanges).collect();
    // No success is spent to reset the count: under window counting it
    // would not.
    assert!(
        !exchanges
            .iter()
            .any(|x| x.purpose.starts_with("lockout guard")),
    );
    let waited = outcome
        .cases
        .iter()
        .flat_map(|r| &r.notes)
        .filter(|n| n.contains("lockout window"))
        .count();
    assert!(waited >= 1, "five wrong passwords need a pause");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    server.stop().await;
}

#[tokio::test]
async fn without_declared_counting_the_strictest_rule_is_assumed() {
    let server = Embedded::start(Hashing::CheapTestOnly).await.unwrap();
    let mut profile = server.profile.clone();
    profile.lockout.counting = None;
    let rule = profile.lockout.rule();
    assert!(!rule.declared);
    assert!(rule.describe().contains("assumed"), "{}", rule.describe());
    let case = cases::find("precedence.old-password-before-duplicate").unwrap();
    let cases = vec![case; 5];
    let outcome = runner::run(&profile, &cases, &crate::support::strict_options(&server))
        .await
        .unwrap();
    // max_failures = 5: at most 5 - 1 - 1 = 3 wrong old passwords in the
    // whole run, successes in between or not.
    let wrong = wrong_old_answers(&outcome);
    assert!(wrong <= 3, "{wrong} wrong old passwords sent");
    assert!(wrong >= 1);
    // The plan gives the three to the first three cases; the others are
    // skipped up front.
    let spent = outcome
        .cases
        .iter()
        .filter(|r| {
            r.reason
                .as_deref()
                .is_some_and(|why| why.contains("lockout budget has no room for it"))
                && r.exchanges.is_empty()
        })
        .count();
    assert!(
        spent >= 1,
        "{:#?}",
        outcome
            .cases
            .iter()
            .map(|r| (&r.verdict, &r.reason))
            .collect::<Vec<_>>()
    );
    for r in &outcome.cases {
        assert!(
            matches!(r.verdict, Verdict::Pass | Verdict::Skip | Verdict::Partial),
            "{:?} {:?}",
            r.verdict,
            r.reason
        );
    }
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    server.stop().await;
}

/// The lone-surrogate bodies carry a wrong old password (review finding
/// 1): when the budget's plan has no room for them they are not sent,
/// and their readable new password is recorded as a candidate before they
/// are (they went out unguarded and unrecorded as requests that "cannot
/// set a password").
#[tokio::test]
async fn lone_surrogate_bodies_spend_the_lockout_budget() {
    let server = Embedded::start(Hashing::CheapTestOnly).await.unwrap();
    let mut profile = server.profile.clone();
    profile.lockout.counting = None;
    let spend = cases::find("precedence.old-password-before-duplicate").unwrap();
    let old = cases::find("body.lone-surrogate.old-password").unwrap();
    let new = cases::find("body.lone-surrogate.new-password").unwrap();
    let cases = vec![spend, spend, spend, spend, old, new];
    let outcome = runner::run(&profile, &cases, &crate::support::strict_options(&server))
        .await
        .unwrap();
    for id in [old.id, new.id] {
        let r = outcome.cases.iter().find(|r| r.id == id).unwrap();
        assert_eq!(r.verdict, Verdict::Skip, "{id}: {:?}", r.reason);
        assert!(r.exchanges.is_empty(), "{id} was sent");
        assert!(
            r.reason
                .as_deref()
                .is_some_and(|why| why.contains("lockout budget has no room for it")),
            "{id}: {:?}",
            r.reason
        );
    }
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    server.stop().await;
}

/// The catalogue and the properties spend one budget: with the strictest
/// rule (no `counting`: failures never expire, a success does not reset
/// them) and `max_failures = 5`, the whole run, catalogue and generated
/// properties, sends the active account at most 3 wrong old passwords, as
/// the fake counts them (it never locks, so nothing else stops the run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_and_properties_spend_one_budget() {
    use conformance::properties::PropertyOptions;
    use conformance::properties::driver::Bounds;
    use conformance::verdict::Enforcement;
    use conformance::vocabulary::Property;

    use crate::fakes::{Fake, Tenant};

    let fake = Fake::tenant(Tenant {
        max_failures: Some(1_000),
        ..Tenant::default()
    })
    .await;
    let mut profile = conformance::profile::Profile::load(std::path::Path::new(
        conformance::embedded::REFERENCE_PROFILE,
    ))
    .unwrap();
    profile.base_url = format!("http://{}", fake.addr);
    profile.lockout.counting = None;
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let enforcement = Enforcement {
        strict: false,
        reference: false,
    };
    let props = PropertyOptions {
        cases: 16,
        sequences: 8,
        max_steps: 10,
        seed: 4,
        only: vec![Property::AccountModel, Property::HostileInputs],
        regressions: None,
        enforcement,
        progress: false,
        max_shrink_iters: 16,
        replay: None,
    };
    let bounds = Bounds {
        max_requests: 3_000,
        timeout: Duration::from_secs(5),
    };
    let cases: Vec<_> = cases::CATALOGUE.iter().collect();
    let outcome = runner::run_with_properties(&profile, &cases, &options, Some((props, bounds)))
        .await
        .unwrap();
    let alice = fake.account("alice");
    assert!(
        (1..=3).contains(&alice.wrong_old),
        "{} wrong old passwords",
        alice.wrong_old
    );
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    assert_eq!(alice.password, "Alice-Passw0rd");
}
