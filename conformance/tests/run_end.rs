//! How a run ends: the restore line says what was checked, never more.

use conformance::cases;
use conformance::embedded::{Embedded, Hashing};
use conformance::runner;

#[tokio::test]
async fn a_run_that_never_touched_the_account_does_not_claim_a_checked_password() {
    let server = Embedded::start(Hashing::CheapTestOnly).await.unwrap();
    // Only the frozen account is sent a request: nothing can change alice's.
    let case = cases::find("user.frozen").unwrap();
    let outcome = runner::run(
        &server.profile,
        &[case],
        &crate::support::strict_options(&server),
    )
    .await
    .unwrap();
    let said = &outcome.restore.outcome;
    assert!(outcome.restore.ok, "{said}");
    let purposes: Vec<_> = outcome.cases[0]
        .exchanges
        .iter()
        .map(|x| x.purpose.clone())
        .collect();
    assert!(outcome.restore.exchanges.is_empty(), "{said} {purposes:?}");
    assert!(!said.contains("has its original password"), "{said}");
    assert!(said.contains("not checked"), "{said}");
    // A run that changed it and set it back says so from the answers.
    let case = cases::find("password.change").unwrap();
    let outcome = runner::run(
        &server.profile,
        &[case],
        &crate::support::strict_options(&server),
    )
    .await
    .unwrap();
    assert!(
        outcome.restore.ok && outcome.restore.outcome.contains("is restored"),
        "{}",
        outcome.restore.outcome
    );
    server.stop().await;
}
