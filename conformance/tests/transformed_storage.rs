//! "A 200 is a changed password" (issue 18, point 3): against fakes that
//! answer 200 to a change and store something else than the new password
//! (trimmed of surrounding spaces; a password of their own making), the
//! run fails at seed tier (S1), names what the target stored when one of
//! the usual transformations works ("the target stored P trimmed") and
//! gets the account back to its original password; when none works it
//! says "not determined", keeps the candidates not tried in the state
//! file, and locks nothing. The fake's own accounts are read after each
//! run: the suite's report is not trusted for it.

use conformance::cases;
use conformance::checks::{Check, Outcome, SUCCESS_TOOK_EFFECT};
use conformance::embedded::REFERENCE_PROFILE;
use conformance::profile::Profile;
use conformance::report::RunReport;
use conformance::runner::{self, RunOutcome};
use conformance::state::{AccountState, FORMAT, StateFile};
use conformance::transformed::{Candidate, UNCHANGED};
use conformance::verdict::{Enforcement, Verdict};
use conformance::vocabulary::Tier;

use crate::fakes::{ACCOUNTS, Fake, Quirk};

/// The reference profile (spaces allowed at both ends of generated
/// passwords, five wrong old passwords in a row lock) at `fake`.
fn profile_at(fake: &Fake) -> Profile {
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{}", fake.addr);
    // The suite sends passwords with surrounding spaces only then.
    assert!(profile.policy.allow_spaces);
    profile
}

async fn catalogue(fake: &Fake) -> (RunOutcome, tempfile::TempDir) {
    catalogue_with(&profile_at(fake)).await
}

/// The whole catalogue with `profile`, its state file in a fresh folder.
async fn catalogue_with(profile: &Profile) -> (RunOutcome, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let cases: Vec<_> = cases::CATALOGUE.iter().collect();
    let outcome = runner::run(profile, &cases, &options)
        .await
        .expect("the run starts");
    (outcome, dir)
}

fn exit_code(outcome: RunOutcome) -> u8 {
    RunReport::new(
        String::new(),
        String::new(),
        Enforcement {
            strict: false,
            reference: false,
        },
        false,
        String::new(),
        outcome,
        0,
    )
    .exit_code()
}

/// The S1 checks of the run that failed, with their case.
fn s1_failures(outcome: &RunOutcome) -> Vec<(&'static str, Verdict, &Check)> {
    outcome
        .cases
        .iter()
        .flat_map(|r| {
            r.checks
                .iter()
                .filter(|c| c.what == SUCCESS_TOOK_EFFECT && c.outcome == Outcome::Fail)
                .map(move |c| (r.id, r.verdict, c))
        })
        .collect()
}

fn summary(outcome: &RunOutcome) -> String {
    let mut s: Vec<String> = outcome
        .cases
        .iter()
        .map(|r| format!("{} {:?} {:?}", r.id, r.verdict, r.reason))
        .collect();
    s.push(format!("restore: {}", outcome.restore.outcome));
    s.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_stored_trimmed_fails_at_seed_tier_naming_it_and_is_restored() {
    let fake = Fake::start(Some(Quirk::StoresNewTrimmed)).await;
    let (outcome, dir) = catalogue(&fake).await;
    let said = summary(&outcome);
    let failures = s1_failures(&outcome);
    let (id, verdict, check) = failures
        .iter()
        .find(|(_, _, c)| c.observed.contains("the target stored P trimmed"))
        .unwrap_or_else(|| panic!("no S1 failure naming \"trimmed\": {said}"));
    assert_eq!(check.tier, Tier::Seed);
    assert_eq!(*verdict, Verdict::Fail, "{id}: {said}");
    // The run went on from the password found: the account was usable
    // again, so the cases after the first such failure were not skipped
    // for an unusable account.
    let unusable = outcome
        .cases
        .iter()
        .filter(|r| {
            r.reason
                .as_deref()
                .is_some_and(|w| w.contains("the active account is not usable"))
        })
        .count();
    assert_eq!(unusable, 0, "{said}");
    // Nothing of the passwords in what the report says.
    for (_, _, c) in &failures {
        assert!(!c.observed.contains("Passw0rd"), "{}", c.observed);
    }
    assert!(outcome.restore.ok, "{said}");
    all_back_none_locked(&fake, &said);
    assert!(!dir.path().join("state.json").exists(), "{said}");
    assert_eq!(exit_code(outcome), 1);
}

/// With a pool of active accounts, what the target was seen to store (a
/// property of the target, not of one account) is known to every account
/// of the pool: each account's 200s are checked at once and tried
/// trimmed first, so none ends unusable and all are restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_learns_once_what_the_target_stores() {
    let fake = Fake::start(Some(Quirk::StoresNewTrimmed)).await;
    let mut profile = profile_at(&fake);
    profile.accounts.active = ["alice", "carol", "dave"]
        .iter()
        .map(|s| conformance::profile::Account {
            subject: s.to_string(),
            password: Some(original(s).to_string()),
            token: None,
        })
        .collect();
    let (outcome, dir) = catalogue_with(&profile).await;
    let said = summary(&outcome);
    let unusable = outcome
        .cases
        .iter()
        .filter(|r| {
            r.reason
                .as_deref()
                .is_some_and(|w| w.contains("not usable") || w.contains("not determined"))
        })
        .count();
    assert_eq!(unusable, 0, "{said}");
    assert!(outcome.restore.ok, "{said}");
    all_back_none_locked(&fake, &said);
    assert!(!dir.path().join("state.json").exists(), "{said}");
}

/// The fake's own accounts: every original password back, none locked
/// (bob is locked on purpose by user.lockout-after-failures).
fn all_back_none_locked(fake: &Fake, said: &str) {
    for (subject, original) in ACCOUNTS {
        let a = fake.account(subject);
        assert_eq!(a.password, *original, "{subject}: {said}");
        assert!(!a.locked_here || *subject == "bob", "{subject}: {said}");
    }
}

fn original(subject: &str) -> &'static str {
    ACCOUNTS
        .iter()
        .find(|(s, _)| *s == subject)
        .map(|(_, p)| *p)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_stored_otherwise_fails_at_seed_tier_keeps_the_candidates_and_locks_nothing() {
    let fake = Fake::start(Some(Quirk::StoresRandomPassword)).await;
    let (outcome, dir) = catalogue(&fake).await;
    let said = summary(&outcome);
    let failures = s1_failures(&outcome);
    let (id, verdict, check) = failures
        .first()
        .unwrap_or_else(|| panic!("no S1 failure: {said}"));
    assert_eq!(check.tier, Tier::Seed);
    assert_eq!(*verdict, Verdict::Fail, "{id}: {said}");
    assert!(
        check.observed.contains("the 200 did not set P")
            && check.observed.contains("is not determined")
            && check.observed.contains("not tried: "),
        "{}",
        check.observed
    );
    assert!(!outcome.restore.ok, "{said}");
    // The state file keeps the candidates not ruled out.
    let file = dir.path().join("state.json");
    let recorded = StateFile::load(&file)
        .unwrap()
        .expect("the state file is kept");
    let alice = recorded.account("alice").unwrap();
    assert!(!alice.transformed.is_empty(), "{alice:?}");
    assert!(
        alice
            .transformed
            .iter()
            .all(|c| c.transformation != UNCHANGED),
        "the password before the 200 was ruled out: {alice:?}"
    );
    for a in fake.accounts() {
        assert!(
            !a.locked_here || a.subject == "bob",
            "{}: {said}",
            a.subject
        );
    }
    let wrong_before = fake.account("alice").wrong_old;
    assert_eq!(exit_code(outcome), 1);
    // `conformance restore` later: the budget in a row has no room
    // (nothing resets it), so it sends nothing wrong, locks nothing and
    // keeps the file.
    let options = crate::support::external_options(dir.path());
    let restored = runner::restore_from_state(&profile_at(&fake), &options)
        .await
        .expect("the restore starts");
    assert!(!restored.ok());
    assert!(!fake.account("alice").locked_here);
    assert_eq!(fake.account("alice").wrong_old, wrong_before);
    let kept = StateFile::load(&file).unwrap().expect("still kept");
    assert_eq!(
        kept.account("alice").unwrap().transformed,
        alice.transformed
    );
}

/// A state file left by a killed run after such a 200: `current` (P, with
/// spaces) refused, the password before it ruled out, the transformations
/// still to try recorded. `conformance restore` tries them (and not the
/// ruled-out one), finds the stored one and sets the original back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_after_a_kill_tries_the_recorded_transformations() {
    let fake = Fake::start(None).await;
    let profile = profile_at(&fake);
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let sent = " Alice-Sent-1x ";
    fake.set_password("alice", " ALICE-SENT-1X ");
    let transformed = ["trimmed", "in lower case", "in upper case"]
        .iter()
        .map(|t| Candidate {
            transformation: t.to_string(),
            password: conformance::transformed::ALL
                .iter()
                .find(|x| x.name == *t)
                .unwrap()
                .apply(sent),
        })
        .collect();
    StateFile {
        version: FORMAT,
        endpoint: format!("http://{}/change_user_password", fake.addr),
        accounts: vec![AccountState {
            subject: "alice".into(),
            original: "Alice-Passw0rd".into(),
            current: sent.into(),
            pending: None,
            previous: vec!["Alice-Passw0rd".into()],
            failures: 0,
            before_last_change: Some("Alice-Passw0rd".into()),
            candidates: Vec::new(),
            answered: Vec::new(),
            transformed,
        }],
        stores_refused: Some(false),
        without_password: Vec::new(),
    }
    .save(&options.state_file)
    .unwrap();
    let restored = runner::restore_from_state(&profile, &options)
        .await
        .expect("the restore starts");
    let said = restored
        .restore
        .as_ref()
        .map(|h| h.outcome.clone())
        .unwrap_or_default();
    assert!(restored.ok(), "{said}");
    let alice = fake.account("alice");
    assert_eq!(alice.password, "Alice-Passw0rd", "{said}");
    // "trimmed" and "in lower case" were wrong; the ruled-out password
    // before the 200 and `current` were not sent.
    assert_eq!(alice.wrong_old, 2, "{said}");
    assert!(!options.state_file.exists());
}
