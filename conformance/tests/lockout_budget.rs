//! The lockout rule of the profile, spent across the run, against the
//! in-process reference server (which counts in a row and locks at 5):
//! a declared window makes the runner wait instead of resetting with a
//! success; no declared counting makes it assume the strictest rule and
//! stop sending wrong passwords once `max_failures - 2` are spent.

use std::time::{Duration, Instant};

use conformance::catalogue;
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
    let server = Embedded::start(Hashing::CheapTestOnly).await.unwrap();
    let mut profile = server.profile.clone();
    profile.lockout.counting = Some(Counting::Window);
    profile.lockout.window_secs = Some(1);
    let case = catalogue::find("precedence.old-password-before-duplicate").unwrap();
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
    let case = catalogue::find("precedence.old-password-before-duplicate").unwrap();
    let cases = vec![case; 5];
    let outcome = runner::run(&profile, &cases, &crate::support::strict_options(&server))
        .await
        .unwrap();
    // max_failures = 5: at most 5 - 1 - 1 = 3 wrong old passwords in the
    // whole run, successes in between or not.
    let wrong = wrong_old_answers(&outcome);
    assert!(wrong <= 3, "{wrong} wrong old passwords sent");
    assert!(wrong >= 1);
    let spent = outcome
        .cases
        .iter()
        .filter(|r| {
            r.reason
                .as_deref()
                .is_some_and(|why| why.contains("lockout budget is spent"))
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
