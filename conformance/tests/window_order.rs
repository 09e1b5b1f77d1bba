//! No idle waiting while work remains (issue 20, point 3), with one
//! active account: against a fake tenant that counts wrong old passwords
//! within a sliding window and locks at the fourth, the cases that send no
//! wrong old password run while the account waits for its window, and
//! the report keeps catalogue order. The fake's own log of the requests it
//! handled is the proof: requests of cases that send no wrong old password
//! arrive between the account's wrong old passwords, which the catalogue
//! order (those cases first) would never do.

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
