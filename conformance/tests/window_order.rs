//! No idle waiting while work remains (issue 20, point 3), with one
//! active account: against a fake tenant that counts wrong old passwords
//! within a sliding window and locks at the fourth, the cases that send no
//! wrong old password run while the account waits for its window, and
//! the report keeps catalogue order. The fake's own log of the requests it
//! handled is the proof: requests of cases that send no wrong old password
//! arrive between the account's wrong old passwords, which the catalogue
//! order (those cases first) would never do.
//!
//! The account `user.lockout-after-failures` locks on purpose (`bob`, the
//! profile's `lockable`) is set back whatever the order: when an answer
//! about it is lost, the restore waits for its window to forget the
//! lock's wrong old passwords, and for its lock to lift, rather than
//! leave it unresolved.

use std::time::Duration;

use conformance::cases;
use conformance::embedded::REFERENCE_PROFILE;
use conformance::profile::{Counting, Profile};
use conformance::runner;
use conformance::vocabulary::Case;

use crate::fakes::{ACCOUNTS, Fake, Tenant};

/// The fake's window, declared in the profile.
const WINDOW: Duration = Duration::from_secs(1);

/// Wrong old passwords that lock (two of room per window, one spared).
const MAX_FAILURES: u32 = 4;

/// The subset: the invalid-token cases (no wrong old password: the target
/// refuses the token first, 401) and the cases that send the active
/// account wrong old passwords to check the old password is compared
/// exactly (more than one window's worth).
fn subset() -> Vec<&'static Case> {
    cases::CATALOGUE
        .iter()
        .filter(|c| {
            c.id.starts_with("auth.invalid-token.")
                || c.id == "password.wrong-old"
                || c.id.starts_with("password.exact.")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_runs_other_cases_while_its_window_is_full() {
    let cases = subset();
    let wrong: Vec<bool> = cases
        .iter()
        .map(|c| c.plan.sends_wrong_passwords())
        .collect();
    // In catalogue order every case without a wrong old password comes
    // before the first that sends one: run in that order, none of their
    // requests could fall between two wrong old passwords.
    let first_wrong = wrong.iter().position(|w| *w).expect("a case sends some");
    assert!(first_wrong > 10, "{first_wrong}");
    assert!(wrong[first_wrong..].iter().all(|w| *w));

    let fake = Fake::tenant(Tenant {
        lockout_window: Some(WINDOW),
        max_failures: Some(MAX_FAILURES),
        ..Tenant::default()
    })
    .await;
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{}", fake.addr);
    profile.lockout.max_failures = Some(MAX_FAILURES);
    profile.lockout.counting = Some(Counting::Window);
    profile.lockout.window_secs = Some(WINDOW.as_secs());
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let outcome = runner::run(&profile, &cases, &options)
        .await
        .expect("the run starts");

    // The report keeps catalogue order.
    let ids: Vec<&str> = outcome.cases.iter().map(|r| r.id).collect();
    let expected: Vec<&str> = cases.iter().map(|c| c.id).collect();
    assert_eq!(ids, expected);
    // Every account back and unlocked, the state file gone.
    for a in fake.accounts() {
        let original = ACCOUNTS.iter().find(|(s, _)| *s == a.subject).unwrap().1;
        assert_eq!(a.password, original, "{}", a.subject);
        assert!(!a.locked_here, "{} was locked", a.subject);
    }
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    assert!(!dir.path().join("state.json").exists());

    let log = fake.answered();
    let wrong_at: Vec<usize> = log
        .iter()
        .enumerate()
        .filter(|(_, a)| a.wrong_old_of.as_deref() == Some("alice"))
        .map(|(i, _)| i)
        .collect();
    let (first, last) = (wrong_at[0], *wrong_at.last().unwrap());
    // More wrong old passwords than a window holds: the account had to
    // wait for its window at least once.
    assert!(wrong_at.len() > 2, "{wrong_at:?}");
    assert!(
        log[last].at - log[first].at >= WINDOW,
        "the wrong old passwords span a window"
    );
    // The invalid-token cases' 401s went out while it waited.
    let between = log[first..last].iter().filter(|a| a.status == 401).count();
    assert!(
        between >= 10,
        "{between} requests refused for their token arrived between the first and the last \
         wrong old password"
    );
}

/// The window fake with `quirks`, the reference profile pointed at it,
/// its rule declared, and a run of the catalogue cases named `ids`.
async fn run_cases(
    tenant: Tenant,
    ids: &[&str],
) -> (Fake, conformance::runner::RunOutcome, tempfile::TempDir) {
    let fake = Fake::tenant(Tenant {
        lockout_window: Some(WINDOW),
        max_failures: Some(MAX_FAILURES),
        ..tenant
    })
    .await;
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{}", fake.addr);
    profile.lockout.max_failures = Some(MAX_FAILURES);
    profile.lockout.counting = Some(Counting::Window);
    profile.lockout.window_secs = Some(WINDOW.as_secs());
    let cases: Vec<&'static Case> = cases::CATALOGUE
        .iter()
        .filter(|c| ids.contains(&c.id))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let outcome = runner::run(&profile, &cases, &options)
        .await
        .expect("the run starts");
    (fake, outcome, dir)
}

/// `user.lockout-after-failures` locks `bob` (the profile's `lockable`)
/// on a tenant that lets a locked account change its password, and the
/// answer to its change with the right password is cut off: the lock's
/// wrong old passwords fill bob's window, so the restore waits for it to
/// make room before it asks which password bob has, and sets bob back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_on_the_locked_account_is_resolved_after_its_window() {
    let (fake, outcome, dir) = run_cases(
        Tenant {
            quirks: vec![crate::fakes::Quirk::LockedNotChecked],
            // The four wrong old passwords, then the right one (applied).
            cut_only: Some(MAX_FAILURES as usize + 1),
            ..Tenant::default()
        },
        &["user.lockout-after-failures"],
    )
    .await;
    let said = bob_set_back(&fake, &outcome, dir.path());
    // It said it waited for bob's window.
    assert!(
        outcome.restore.outcome.contains("for bob's lockout window"),
        "{said}"
    );
}

/// On a tenant that enforces its lock and releases it after its lock
/// time, the answer to `user.lockout-after-failures`'s change with the
/// right password (refused: locked) is cut off: the restore must ask which
/// password `bob` has, and the target answers that bob is locked until
/// the lock lifts. The restore waits for it (the lock time is not
/// declared: the window's length, a bounded number of times), says so,
/// and finds bob at his original password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_restore_waits_for_the_locked_accounts_lock_to_lift() {
    let (fake, outcome, dir) = run_cases(
        Tenant {
            lock_lifts_after: Some(Duration::from_millis(1500)),
            cut_only: Some(MAX_FAILURES as usize + 1),
            ..Tenant::default()
        },
        &["user.lockout-after-failures"],
    )
    .await;
    let said = bob_set_back(&fake, &outcome, dir.path());
    assert!(
        outcome.restore.outcome.contains("for bob's lock to lift"),
        "{said}"
    );
}

/// What a run whose one answer about `bob` was cut off must leave: that
/// one cut, bob at his original password, the restore done and the state
/// file gone. Returns what the run said (for the caller's messages).
fn bob_set_back(fake: &Fake, outcome: &runner::RunOutcome, dir: &std::path::Path) -> String {
    let said = format!(
        "restore: {}\n{:?}",
        outcome.restore.outcome,
        outcome
            .cases
            .iter()
            .map(|r| (&r.verdict, &r.reason))
            .collect::<Vec<_>>()
    );
    assert_eq!(fake.traffic().cut, 1, "{said}");
    assert_eq!(fake.account("bob").password, "Bob-Passw0rd", "{said}");
    assert!(outcome.restore.ok, "{said}");
    assert!(!dir.join("state.json").exists(), "{said}");
    said
}
