//! The runner's account keeping against the in-process reference server:
//! the lockout guard, resuming an interrupted run, and refusing a state
//! file that belongs to another target.

use conformance::cases;
use conformance::embedded::{Embedded, Hashing};
use conformance::exchange::Endpoint;
use conformance::runner::{self, RunError};
use conformance::state::State;
use conformance::verdict::Verdict;

#[tokio::test]
async fn consecutive_wrong_passwords_stay_below_the_lockout() {
    let server = Embedded::start(Hashing::CheapTestOnly).await.unwrap();
    // Six wrong old passwords in a row would lock alice (max_failures = 5).
    let case = cases::find("precedence.old-password-before-duplicate").unwrap();
    let cases = vec![case; 6];
    let outcome = runner::run(
        &server.profile,
        &cases,
        &crate::support::strict_options(&server),
    )
    .await
    .unwrap();
    for r in &outcome.cases {
        assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.checks);
    }
    let guards = outcome
        .cases
        .iter()
        .flat_map(|r| &r.exchanges)
        .filter(|x| x.purpose.starts_with("lockout guard"))
        .count();
    // At most max_failures - 2 = 3 wrong attempts between successes.
    assert_eq!(guards, 1);
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    server.stop().await;
}

#[tokio::test]
async fn an_interrupted_change_is_resolved_on_resume() {
    let server = Embedded::start(Hashing::CheapTestOnly).await.unwrap();
    let profile = &server.profile;
    let original = profile.accounts.active().password.clone().unwrap();
    let applied = "Interrupted-Change-7";
    // The change went through, but the harness never read the answer.
    let endpoint = Endpoint::parse(&profile.base_url).unwrap();
    assert_eq!(
        crate::support::change_active(profile, &original, applied).await,
        200
    );
    let options = crate::support::strict_options(&server);
    State {
        endpoint: endpoint.endpoint_url(),
        subject: "alice".into(),
        original: original.clone(),
        current: original.clone(),
        pending: Some(applied.into()),
        previous: vec![],
        failures: 0,
    }
    .save(&options.state_file)
    .unwrap();

    let case = cases::find("password.change").unwrap();
    let outcome = runner::run(profile, &[case], &options).await.unwrap();
    let resumed = outcome.resumed.expect("the state file was picked up");
    assert!(
        resumed.ok && resumed.outcome.contains("had been applied"),
        "{resumed:?}"
    );
    assert_eq!(outcome.cases[0].verdict, Verdict::Pass);
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    assert_eq!(State::load(&options.state_file).unwrap(), None);
    // The original password works again.
    let again = runner::run(profile, &[case], &options).await.unwrap();
    assert_eq!(again.cases[0].verdict, Verdict::Pass);
    server.stop().await;
}

#[tokio::test]
async fn a_state_file_of_another_target_is_refused() {
    let server = Embedded::start(Hashing::CheapTestOnly).await.unwrap();
    let options = crate::support::strict_options(&server);
    State {
        endpoint: "http://elsewhere.test/change_user_password".into(),
        subject: "alice".into(),
        original: "a-password".into(),
        current: "b-password".into(),
        pending: None,
        previous: vec![],
        failures: 0,
    }
    .save(&options.state_file)
    .unwrap();
    let case = cases::find("user.frozen").unwrap();
    let e = runner::run(&server.profile, &[case], &options)
        .await
        .unwrap_err();
    assert!(matches!(e, RunError::State(_)), "{e}");
    assert!(e.to_string().contains("elsewhere.test"), "{e}");
    server.stop().await;
}
