//! A second run against the same tenant soon after the first: the
//! `[accounts.lockable]` account the first run locked on purpose
//! (`user.lockout-after-failures`) is still locked, as a real tenant keeps
//! it for its lock time. The cases that confirm that account's password
//! (`body.other-account.*`: a change of it to itself must be
//! `duplicate_password`) get `abnormal_user_status` instead; that says
//! nothing about the target's S1 behaviour, so no case fails for it: the
//! confirmation is said to be impossible, and nothing more is sent to it.

use conformance::cases;
use conformance::embedded::REFERENCE_PROFILE;
use conformance::profile::Profile;
use conformance::runner::{self, RunOutcome};
use conformance::verdict::Verdict;

use crate::fakes::Fake;

async fn run(fake: &Fake) -> RunOutcome {
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{}", fake.addr);
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let all: Vec<_> = cases::CATALOGUE.iter().collect();
    runner::run(&profile, &all, &options)
        .await
        .expect("the run starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_while_the_lockable_account_is_still_locked_fails_nothing() {
    // The fake's lock does not lift by itself: the second run comes
    // within the lock time.
    let fake = Fake::start(None).await;
    let failed = |o: &RunOutcome| -> Vec<&'static str> {
        o.cases
            .iter()
            .filter(|r| r.verdict.fails_run())
            .map(|r| r.id)
            .collect()
    };
    let first = run(&fake).await;
    assert!(failed(&first).is_empty(), "{:?}", failed(&first));
    assert!(
        fake.accounts()
            .iter()
            .any(|a| a.subject == "bob" && a.locked_here),
        "the first run locked bob"
    );
    let second = run(&fake).await;
    assert!(failed(&second).is_empty(), "{:?}", failed(&second));
    let members: Vec<_> = second
        .cases
        .iter()
        .filter(|r| r.id.starts_with("body.other-account."))
        .collect();
    assert_eq!(members.len(), 5);
    // The first learns the lock from the answer; the others send it
    // nothing more.
    let said = |r: &conformance::verdict::CaseResult, what: &str| {
        r.notes
            .iter()
            .any(|n| n.contains(&format!("bob's password was not confirmed: {what}")))
    };
    assert!(
        said(members[0], "it answered abnormal_user_status"),
        "{:#?}",
        members[0]
    );
    for r in &members {
        assert_eq!(r.verdict, Verdict::Pass, "{r:#?}");
    }
    for r in &members[1..] {
        assert!(said(r, "the target answered that it is locked"), "{r:#?}");
        assert_eq!(
            r.exchanges.len(),
            1,
            "only the active account's change: {r:#?}"
        );
    }
    assert!(second.restore.ok, "{}", second.restore.outcome);
}
