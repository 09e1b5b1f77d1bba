//! The proof that the suite is safe to point at a real tenant (issue 10,
//! point 7): the whole suite, catalogue and generated properties, runs
//! against fake tenants over loopback ([`crate::fakes::Tenant`]) that
//! rate-limit with 429 and `Retry-After`, count wrong old passwords within
//! a sliding window (declared in the profile), cut answers off mid-body,
//! decode invalid UTF-8 leniently and apply the change, and change the
//! locked and frozen accounts' passwords when sent a valid change. After
//! each run, the fake's own accounts are read: every one has its original
//! password, and none was locked but `lockable` (which
//! `user.lockout-after-failures` locks on purpose).
//!
//! Against fakes that store the new password of a change they refuse
//! (`StoresDespiteWrongOld`, `StoresDespitePolicyError`), every account
//! ends at its original password or is named by the run with the fake's
//! actual password kept in the state file (as `current` or a candidate);
//! against a conformant fake the candidates cost no request.

use std::time::Duration;

use conformance::cases;
use conformance::embedded::REFERENCE_PROFILE;
use conformance::profile::{Counting, Profile};
use conformance::properties::PropertyOptions;
use conformance::properties::driver::Bounds;
use conformance::runner::{self, RunOutcome};
use conformance::verdict::Enforcement;
use conformance::vocabulary::Property;

use crate::fakes::{ACCOUNTS, Fake, Quirk, Tenant};

/// The lockout window of the fakes, declared in the profile.
const WINDOW: Duration = Duration::from_secs(1);

/// Runs the whole catalogue and the three properties (a few generated
/// cases) against `tenant`, with its lockout rule declared: `max_failures`
/// wrong old passwords within [`WINDOW`] lock.
async fn whole_suite(max_failures: u32, tenant: Tenant) -> (Fake, RunOutcome, tempfile::TempDir) {
    let fake = Fake::tenant(Tenant {
        lockout_window: Some(WINDOW),
        max_failures: Some(max_failures),
        ..tenant
    })
    .await;
    let mut profile = reference_profile_at(&fake);
    profile.lockout.max_failures = Some(max_failures);
    profile.lockout.counting = Some(Counting::Window);
    profile.lockout.window_secs = Some(WINDOW.as_secs());
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let enforcement = Enforcement {
        strict: false,
        reference: false,
    };
    let props = PropertyOptions {
        cases: 12,
        sequences: 3,
        max_steps: 8,
        seed: 10,
        only: vec![
            Property::PolicyOracle,
            Property::AccountModel,
            Property::HostileInputs,
        ],
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
        .expect("the run starts");
    (fake, outcome, dir)
}

/// Every account of the fake has its original password and none is
/// locked but `bob` (the profile's `lockable`); the run says so too and
/// removed its state file.
fn assert_nothing_lost_nothing_locked(fake: &Fake, outcome: &RunOutcome, dir: &tempfile::TempDir) {
    let now = fake.accounts();
    let said = || {
        format!(
            "restore: {}\neffects: {:?}\n{}",
            outcome.restore.outcome,
            outcome
                .effects
                .iter()
                .map(|h| &h.outcome)
                .collect::<Vec<_>>(),
            summary(outcome)
        )
    };
    for (subject, original) in ACCOUNTS {
        let a = now.iter().find(|a| a.subject == *subject).unwrap();
        assert!(
            a.password == *original,
            "{subject} does not have its original password; {}",
            said()
        );
        if *subject != "bob" {
            assert!(!a.locked_here, "{subject} was locked; {}", said());
        }
    }
    assert!(outcome.restore.ok, "{}", said());
    assert!(!dir.path().join("state.json").exists(), "{}", said());
}

fn summary(outcome: &RunOutcome) -> String {
    outcome
        .cases
        .iter()
        .map(|r| {
            format!(
                "{} {:?} {:?} {} ms",
                r.id, r.verdict, r.reason, r.elapsed_ms
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The quirks every tenant here has: a Node-like lenient decoder (invalid
/// UTF-8 decoded with U+FFFD and the change applied), and statuses not
/// enforced (the frozen and locked accounts' passwords change when sent a
/// valid change).
fn lenient() -> Vec<Quirk> {
    vec![
        Quirk::LenientNode,
        Quirk::FrozenNotChecked,
        Quirk::LockedNotChecked,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_lenient_tenant_that_cuts_answers_keeps_every_password() {
    // It also checks the policy before the old password (open point 1).
    let mut quirks = lenient();
    quirks.push(Quirk::PolicyBeforeOldPassword);
    let (fake, outcome, dir) = whole_suite(
        20,
        Tenant {
            quirks,
            limit_every: Some(61),
            cut_every: Some(37),
            ..Tenant::default()
        },
    )
    .await;
    let traffic = fake.traffic();
    assert_nothing_lost_nothing_locked(&fake, &outcome, &dir);
    assert!(traffic.rate_limited >= 3 && traffic.cut >= 4, "{traffic:?}");
    // A cut answer reached the suite as a lost answer, and a 429 as a
    // retry it waited out.
    let exchanges: Vec<_> = outcome
        .cases
        .iter()
        .flat_map(|r| &r.exchanges)
        .chain(outcome.effects.iter().flat_map(|h| &h.exchanges))
        .chain(&outcome.restore.exchanges)
        .collect();
    assert!(exchanges.iter().any(|x| x.error.is_some()));
    assert!(
        exchanges
            .iter()
            .any(|x| x.purpose.contains("waited out 1 answer: 429"))
    );
}

/// Six wrong old passwords within a second lock: the catalogue and the
/// properties spend one budget of four, and wait for the window rather
/// than reset it with a success (which a window does not forget).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tight_sliding_window_is_never_filled() {
    let (fake, outcome, dir) = whole_suite(
        6,
        Tenant {
            quirks: lenient(),
            limit_every: Some(150),
            cut_every: Some(131),
            ..Tenant::default()
        },
    )
    .await;
    let traffic = fake.traffic();
    assert_nothing_lost_nothing_locked(&fake, &outcome, &dir);
    assert!(traffic.rate_limited >= 1 && traffic.cut >= 1, "{traffic:?}");
    let waited = outcome
        .cases
        .iter()
        .flat_map(|r| &r.notes)
        .any(|n| n.contains("lockout window"));
    assert!(waited, "the run waited for the window at least once");
}

/// Runs the catalogue against `fake` with the reference profile (lockout
/// in a row, five wrong old passwords), the state file in a fresh folder.
async fn catalogue_against(fake: &Fake) -> (RunOutcome, tempfile::TempDir) {
    let profile = reference_profile_at(fake);
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let cases: Vec<_> = cases::CATALOGUE.iter().collect();
    let outcome = runner::run(&profile, &cases, &options)
        .await
        .expect("the run starts");
    (outcome, dir)
}

/// Every request of a run, in order.
fn all_exchanges(outcome: &RunOutcome) -> Vec<&conformance::exchange::ExchangeRecord> {
    outcome
        .resumed
        .iter()
        .flat_map(|h| &h.exchanges)
        .chain(outcome.cases.iter().flat_map(|r| &r.exchanges))
        .chain(outcome.effects.iter().flat_map(|h| &h.exchanges))
        .chain(&outcome.restore.exchanges)
        .collect()
}

/// A target that stores the new password of a change it refuses: after
/// the run, every account of the fake has its original password, or the
/// run failed, named the account, and left the state file holding the
/// fake's actual password among that account's candidates.
async fn refused_changes_stored(quirk: Quirk) -> usize {
    let fake = Fake::start(Some(quirk)).await;
    let (outcome, dir) = catalogue_against(&fake).await;
    restored_or_named(&fake, &outcome, &dir)
}

/// Every account of `fake` has its original password, or the run failed,
/// named it, and left the state file holding the fake's actual password
/// (as `current` or among its `candidates`); returns how many were not at
/// their original.
fn restored_or_named(fake: &Fake, outcome: &RunOutcome, dir: &tempfile::TempDir) -> usize {
    let file = dir.path().join("state.json");
    let recorded = conformance::state::StateFile::load(&file).unwrap();
    let said = format!(
        "restore: {}\nstate file: {recorded:#?}\n{}",
        outcome.restore.outcome,
        summary(outcome)
    );
    let mut named = 0;
    for a in fake.accounts() {
        let original = ACCOUNTS
            .iter()
            .find(|(s, _)| *s == a.subject)
            .map(|(_, p)| *p)
            .unwrap();
        if a.password == original {
            continue;
        }
        named += 1;
        assert!(!outcome.restore.ok, "{} changed; {said}", a.subject);
        assert!(
            outcome.restore.outcome.contains(&a.subject),
            "{} is not named; {said}",
            a.subject
        );
        let entry = recorded
            .as_ref()
            .and_then(|f| f.account(&a.subject))
            .unwrap_or_else(|| panic!("no entry for {}; {said}", a.subject));
        assert!(
            entry.current == a.password || entry.candidates.contains(&a.password),
            "the state file does not hold the password of {}; {said}",
            a.subject
        );
        if entry.current != a.password {
            assert!(outcome.restore.outcome.contains("candidates"), "{said}");
        }
    }
    // Whatever the run could not confirm, it names, and keeps on file.
    if !outcome.restore.ok {
        let recorded = recorded.unwrap_or_else(|| panic!("no state file; {said}"));
        for entry in recorded
            .accounts
            .iter()
            .filter(|e| !e.candidates.is_empty())
        {
            assert!(outcome.restore.outcome.contains(&entry.subject), "{said}");
        }
    }
    named
}

/// Review finding 7: a target that obeys a body member naming another
/// account (and stores the change it refuses there) gives that account
/// the change's new password. It is recorded as that account's candidate
/// before the request is sent, and the confirmation finding its password
/// changed makes the restore check that account. (This fake's
/// confirmation, a change of the password to itself refused as wrong, is
/// itself stored and sets the original back; the restore's check of the
/// recorded candidate is what shows it was recorded.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_naming_another_account_records_its_candidate() {
    let fake = Fake::tenant(Tenant {
        quirks: vec![Quirk::ObeysBodyAccount, Quirk::StoresDespiteWrongOld],
        ..Tenant::default()
    })
    .await;
    let profile = reference_profile_at(&fake);
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let lockable = profile.accounts.lockable.clone().unwrap();
    let cases = vec![cases::find("body.other-account.user-id").unwrap()];
    let outcome = runner::run(&profile, &cases, &options)
        .await
        .expect("the run starts");
    let said = format!(
        "restore: {}
{}",
        outcome.restore.outcome,
        summary(&outcome)
    );
    assert_eq!(
        fake.account(&lockable.subject).password,
        lockable.password.clone().unwrap(),
        "{said}"
    );
    assert_eq!(restored_or_named(&fake, &outcome, &dir), 0, "{said}");
    let checked = format!("restore: {}", lockable.subject);
    assert!(
        outcome
            .restore
            .exchanges
            .iter()
            .any(|x| x.purpose.starts_with(&checked)),
        "{} was not checked at the restore; {said}",
        lockable.subject
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_despite_a_wrong_old_password_every_account_is_restored_or_named() {
    // bob (lockable) takes the new passwords of the lockout's wrong old
    // passwords, alice those of the refused cases.
    assert!(refused_changes_stored(Quirk::StoresDespiteWrongOld).await >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_despite_a_policy_error_every_account_is_restored_or_named() {
    refused_changes_stored(Quirk::StoresDespitePolicyError).await;
}

/// The same with the generated properties after the catalogue (their
/// refused changes of the active account are candidates too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_refused_changes_with_the_properties_every_account_is_restored_or_named() {
    for quirk in [
        Quirk::StoresDespiteWrongOld,
        Quirk::StoresDespitePolicyError,
    ] {
        let (fake, outcome, dir) = whole_suite(
            20,
            Tenant {
                quirks: vec![quirk],
                ..Tenant::default()
            },
        )
        .await;
        restored_or_named(&fake, &outcome, &dir);
    }
}

/// Against a conformant target, the candidates cost nothing: every
/// request the fake handled is one the run recorded, none of the
/// restore's goes to another account, and the run ends clean (state file
/// removed, no account changed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conformant_target_gets_no_request_for_the_candidates() {
    let fake = Fake::start(None).await;
    let (outcome, dir) = catalogue_against(&fake).await;
    let sent = all_exchanges(&outcome)
        .iter()
        .filter(|x| x.request.path.ends_with("/change_user_password"))
        .count();
    assert_eq!(fake.traffic().handled, sent);
    let others: Vec<_> = outcome
        .restore
        .exchanges
        .iter()
        .map(|x| x.purpose.clone())
        .filter(|p| ACCOUNTS[1..].iter().any(|(s, _)| p.contains(s)))
        .collect();
    assert!(others.is_empty(), "{others:?}");
    // Candidates were recorded during the run (bob got wrong old
    // passwords), and said to be unchecked at the end.
    assert!(
        outcome.restore.outcome.contains("not checked"),
        "{}",
        outcome.restore.outcome
    );
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    assert!(!dir.path().join("state.json").exists());
    for a in fake.accounts() {
        let original = ACCOUNTS.iter().find(|(s, _)| *s == a.subject).unwrap().1;
        assert_eq!(a.password, original, "{}", a.subject);
    }
}

/// `conformance restore` after such a run: it tries the candidates the
/// file holds (within each account's budget, locking nobody new), and
/// what it cannot settle it names and keeps on file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_after_stored_refused_changes_locks_nobody_and_keeps_what_it_cannot_settle() {
    let fake = Fake::start(Some(Quirk::StoresDespiteWrongOld)).await;
    let (_, dir) = catalogue_against(&fake).await;
    let locked_before: Vec<_> = fake
        .accounts()
        .into_iter()
        .filter(|a| a.locked_here)
        .map(|a| a.subject)
        .collect();
    let profile = reference_profile_at(&fake);
    let options = crate::support::external_options(dir.path());
    let restored = runner::restore_from_state(&profile, &options)
        .await
        .expect("the restore starts");
    let said = restored
        .restore
        .as_ref()
        .map(|h| h.outcome.clone())
        .unwrap_or_default();
    let recorded = conformance::state::StateFile::load(&options.state_file).unwrap();
    for a in fake.accounts() {
        assert!(
            !a.locked_here || locked_before.contains(&a.subject),
            "{} was locked by the restore; {said}",
            a.subject
        );
        let original = ACCOUNTS.iter().find(|(s, _)| *s == a.subject).unwrap().1;
        if a.password == original {
            continue;
        }
        assert!(!restored.ok(), "{said}");
        assert!(said.contains(&a.subject), "{} not named; {said}", a.subject);
        let entry = recorded
            .as_ref()
            .and_then(|f| f.account(&a.subject))
            .unwrap();
        assert!(
            entry.current == a.password || entry.candidates.contains(&a.password),
            "the state file lost the password of {}; {said}",
            a.subject
        );
    }
}

/// A state file that cannot be written (its folder does not exist) must
/// keep every change from going out: a change is recorded before it is
/// sent, or not sent. The run then says the active account is unusable
/// and does not claim a restore.
async fn unwritable_state_run(with_cases: bool) -> (Fake, RunOutcome) {
    let fake = Fake::tenant(Tenant::default()).await;
    let profile = reference_profile_at(&fake);
    let dir = tempfile::tempdir().unwrap();
    let mut options = crate::support::external_options(dir.path());
    options.state_file = dir.path().join("no-such-folder").join("state.json");
    let props = PropertyOptions {
        cases: 4,
        sequences: 2,
        max_steps: 4,
        seed: 10,
        only: vec![Property::PolicyOracle, Property::AccountModel],
        regressions: None,
        enforcement: options.enforcement,
        progress: false,
        max_shrink_iters: 4,
        replay: None,
    };
    let bounds = Bounds {
        max_requests: 500,
        timeout: Duration::from_secs(5),
    };
    let cases: Vec<_> = if with_cases {
        cases::CATALOGUE.iter().collect()
    } else {
        Vec::new()
    };
    let outcome = runner::run_with_properties(&profile, &cases, &options, Some((props, bounds)))
        .await
        .expect("the run starts");
    (fake, outcome)
}

fn assert_no_change_went_out(fake: &Fake, outcome: &RunOutcome) {
    let t = fake.traffic();
    assert_eq!(
        t.applied,
        0,
        "a change was applied although the state file could not record it; restore: {}\n{}",
        outcome.restore.outcome,
        summary(outcome)
    );
    for (subject, original) in ACCOUNTS {
        let a = fake
            .accounts()
            .into_iter()
            .find(|a| a.subject == *subject)
            .unwrap();
        assert_eq!(a.password, *original, "{subject}");
        assert!(!a.locked_here, "{subject} was locked");
    }
    assert!(!outcome.restore.ok, "{}", outcome.restore.outcome);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_state_file_keeps_the_catalogues_changes_unsent() {
    let (fake, outcome) = unwritable_state_run(true).await;
    assert_no_change_went_out(&fake, &outcome);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_state_file_keeps_the_properties_changes_unsent() {
    let (fake, outcome) = unwritable_state_run(false).await;
    assert_no_change_went_out(&fake, &outcome);
}

/// `conformance restore` of a file where the active account is at its
/// original and another account has candidates to check: the file keeps
/// that account's entry while its requests are sent (the active account's
/// restore must not remove the file the others still need).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_file_outlives_the_active_restore_while_others_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let fake = Fake::tenant(Tenant {
        watch_file: Some(file.clone()),
        ..Tenant::default()
    })
    .await;
    let profile = reference_profile_at(&fake);
    let options = crate::support::external_options(dir.path());
    save_state(
        &file,
        &fake,
        vec![
            entry("alice", "Alice-Passw0rd", "Alice-Passw0rd", &[]),
            entry("bob", "Bob-Passw0rd", "Bob-Passw0rd", &["Bob-Candidate-9x"]),
        ],
    );
    let outcome = runner::restore_from_state(&profile, &options)
        .await
        .expect("the restore starts");
    let seen = fake.file_seen();
    assert!(!seen.is_empty(), "bob's recorded password was not checked");
    assert!(
        seen.iter().all(|s| *s),
        "a request was sent while the state file was gone: {seen:?}; {:?}",
        outcome.restore.as_ref().map(|h| &h.outcome)
    );
    assert!(outcome.ok(), "{:?}", outcome.restore.map(|h| h.outcome));
    assert!(!file.exists());
}

/// A state file left by a run stopped right after a refused change from
/// the original password (the active account's `current` is its original,
/// with a candidate): `conformance restore` must not claim the original
/// without checking it. Here the target did store the refused change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_checks_the_original_when_candidates_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let fake = Fake::tenant(Tenant::default()).await;
    fake.set_password("alice", "Alice-Cand-7x");
    let profile = reference_profile_at(&fake);
    let options = crate::support::external_options(dir.path());
    save_state(
        &file,
        &fake,
        vec![entry(
            "alice",
            "Alice-Passw0rd",
            "Alice-Passw0rd",
            &["Alice-Cand-7x"],
        )],
    );
    let outcome = runner::restore_from_state(&profile, &options)
        .await
        .expect("the restore starts");
    let said = format!("{:?}", outcome.restore.as_ref().map(|h| &h.outcome));
    let alice = fake.account("alice");
    // Never a claim without the original: here the candidate is found and
    // the original set back.
    assert_eq!(alice.password, "Alice-Passw0rd", "{said}");
    assert!(outcome.ok(), "{said}");
    assert!(!file.exists(), "{said}");
    assert!(!alice.locked_here, "{said}");
}

/// Another account's change without an answer, resolved by the restore
/// when its recorded failures leave room for one wrong old password only:
/// the recorded password refused, the pending one is not tried (it would
/// be a wrong old password past the spare), and the account is not locked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolving_another_accounts_lost_change_spends_its_lockout_budget() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let fake = Fake::tenant(Tenant::default()).await;
    // bob's last change was never applied and the run's first guess is
    // wrong too: the fake has counted the 3 failures the file records.
    fake.set_failures("bob", 3);
    let mut profile = reference_profile_at(&fake);
    profile.lockout.max_failures = Some(5);
    let options = crate::support::external_options(dir.path());
    save_state(
        &file,
        &fake,
        vec![
            entry("alice", "Alice-Passw0rd", "Alice-Passw0rd", &[]),
            conformance::state::AccountState {
                pending: Some("Bob-Guess-2x".into()),
                failures: 3,
                ..entry("bob", "Bob-Passw0rd", "Bob-Guess-1x", &[])
            },
        ],
    );
    let outcome = runner::restore_from_state(&profile, &options)
        .await
        .expect("the restore starts");
    let said = format!("{:?}", outcome.restore.as_ref().map(|h| &h.outcome));
    let bob = fake.account("bob");
    assert!(!bob.locked_here, "bob was locked; {said}");
    assert!(!outcome.ok(), "{said}");
    assert!(said.contains("bob"), "{said}");
}

/// Another account's recorded candidates are tried while its lockout
/// budget stays two below the threshold, as the active account's does
/// (the restore review's finding: they stopped at max − 1). bob has 1
/// failure counted and a password none of its candidates is: the recorded
/// password and one candidate are tried (3 failures with max 5), never a
/// second candidate (4, one short of locking).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_candidates_stop_two_below_its_lockout() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let fake = Fake::tenant(Tenant::default()).await;
    fake.set_password("bob", "Bob-Stored-9x");
    fake.set_failures("bob", 1);
    let mut profile = reference_profile_at(&fake);
    profile.lockout.max_failures = Some(5);
    let options = crate::support::external_options(dir.path());
    save_state(
        &file,
        &fake,
        vec![
            entry("alice", "Alice-Passw0rd", "Alice-Passw0rd", &[]),
            conformance::state::AccountState {
                failures: 1,
                ..entry(
                    "bob",
                    "Bob-Passw0rd",
                    "Bob-Passw0rd",
                    &["Bob-Cand-1x", "Bob-Cand-2x", "Bob-Cand-3x", "Bob-Cand-4x"],
                )
            },
        ],
    );
    let outcome = runner::restore_from_state(&profile, &options)
        .await
        .expect("the restore starts");
    let said = format!("{:?}", outcome.restore.as_ref().map(|h| &h.outcome));
    let bob = fake.account("bob");
    assert!(!bob.locked_here, "bob was locked; {said}");
    assert_eq!(
        1 + bob.wrong_old,
        3,
        "bob's failures must stay at max - 2 = 3; {said}"
    );
    assert!(!outcome.ok(), "{said}");
    assert!(said.contains("bob"), "{said}");
}

/// `conformance restore` that cannot restore every account names what the
/// state file says after the restore, not before it (the restore review's
/// finding): alice, set back to her original, is not said to still have
/// the password the file recorded before the restore.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_names_the_accounts_as_the_restore_left_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let fake = Fake::tenant(Tenant::default()).await;
    fake.set_password("alice", "Alice-Moved-1x");
    fake.set_password("bob", "Bob-Stored-9x");
    save_state(
        &file,
        &fake,
        vec![
            entry("alice", "Alice-Passw0rd", "Alice-Moved-1x", &[]),
            entry("bob", "Bob-Passw0rd", "Bob-Passw0rd", &["Bob-Cand-1x"]),
        ],
    );
    let base_url = format!("http://{}", fake.addr);
    let state = file.to_str().unwrap().to_string();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
            .args(["restore", "--base-url", &base_url, "--state", &state])
            .arg("--show-secrets")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(fake.account("alice").password, "Alice-Passw0rd", "{stdout}");
    assert!(stdout.contains("restore: bob has"), "{stdout}");
    assert!(!stdout.contains("alice has \"Alice-Moved-1x\""), "{stdout}");
}

/// A state-file entry: `subject` recorded at `current` (its original
/// `original`), nothing pending, no failures counted, `candidates` recorded.
/// The reference profile pointed at the fake tenant.
fn reference_profile_at(fake: &Fake) -> Profile {
    let mut profile = Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{}", fake.addr);
    profile
}

fn entry(
    subject: &str,
    original: &str,
    current: &str,
    candidates: &[&str],
) -> conformance::state::AccountState {
    conformance::state::AccountState {
        subject: subject.into(),
        original: original.into(),
        current: current.into(),
        pending: None,
        previous: Vec::new(),
        failures: 0,
        before_last_change: None,
        candidates: candidates.iter().map(|c| c.to_string()).collect(),
        answered: Vec::new(),
        transformed: Vec::new(),
    }
}

/// Writes to `file` the state file of a run against `fake` holding
/// `accounts`, as written before the file recorded whether the target was
/// seen to store a refused change.
fn save_state(
    file: &std::path::Path,
    fake: &Fake,
    accounts: Vec<conformance::state::AccountState>,
) {
    save_state_seen(file, fake, accounts, None);
}

/// [`save_state`] with `stores_refused` recorded.
fn save_state_seen(
    file: &std::path::Path,
    fake: &Fake,
    accounts: Vec<conformance::state::AccountState>,
    stores_refused: Option<bool>,
) {
    conformance::state::StateFile {
        version: conformance::state::FORMAT,
        endpoint: format!("http://{}/change_user_password", fake.addr),
        accounts,
        stores_refused,
        without_password: Vec::new(),
    }
    .save(file)
    .unwrap();
}

/// Another account's change whose answer is lost is sent again only while
/// its lockout count stays two below the threshold after it (the restore
/// review's finding: the resend, a wrong old password if the lost change
/// was applied, was sent without counting). bob has 3 failures counted
/// (max 5) and the first change to set him back is applied and its
/// answer cut: the resend would be his 4th, one short of locking, so it
/// is not sent; bob is named, his change left pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_lost_change_is_resent_only_within_its_lockout_budget() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let fake = Fake::tenant(Tenant {
        cut_only: Some(1),
        ..Tenant::default()
    })
    .await;
    fake.set_password("bob", "Bob-Moved-1x");
    fake.set_failures("bob", 3);
    let mut profile = reference_profile_at(&fake);
    profile.lockout.max_failures = Some(5);
    let options = crate::support::external_options(dir.path());
    save_state(
        &file,
        &fake,
        vec![
            entry("alice", "Alice-Passw0rd", "Alice-Passw0rd", &[]),
            conformance::state::AccountState {
                failures: 3,
                ..entry("bob", "Bob-Passw0rd", "Bob-Moved-1x", &[])
            },
        ],
    );
    let outcome = runner::restore_from_state(&profile, &options)
        .await
        .expect("the restore starts");
    let said = format!("{:?}", outcome.restore.as_ref().map(|h| &h.outcome));
    let bob = fake.account("bob");
    assert_eq!(fake.traffic().cut, 1, "{said}");
    assert_eq!(bob.wrong_old, 0, "the resend went out; {said}");
    assert!(!bob.locked_here, "{said}");
    assert!(!outcome.ok(), "{said}");
    let left = conformance::state::StateFile::load(&file).unwrap().unwrap();
    let entry = left.account("bob").unwrap();
    assert!(entry.pending.is_some(), "{left:?}");
}

/// After a run stopped with SIGKILL against a correct target, the state
/// file says the target was never seen to store a refused change, and
/// which candidates were answered: `restore` then sends nothing for the
/// other accounts' answered candidates and succeeds (issue 20 point 2; it
/// used to take any candidate as a sign of storing, probe the locked
/// account, which answers `account_locked` whatever its password, and
/// exit 1 naming an account never at risk). A file of the same run that
/// saw the target store a refused change has them checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_checks_other_accounts_candidates_only_when_storing_was_seen() {
    for seen in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.json");
        let fake = Fake::tenant(Tenant::default()).await;
        let profile = reference_profile_at(&fake);
        let options = crate::support::external_options(dir.path());
        let lucy = conformance::state::AccountState {
            answered: vec!["Lucy-Cand-1x".into()],
            ..entry("lucy", "Lucy-Passw0rd", "Lucy-Passw0rd", &["Lucy-Cand-1x"])
        };
        save_state_seen(
            &file,
            &fake,
            vec![
                entry("alice", "Alice-Passw0rd", "Alice-Passw0rd", &[]),
                lucy,
            ],
            Some(seen),
        );
        let outcome = runner::restore_from_state(&profile, &options)
            .await
            .expect("the restore starts");
        let said = format!("{:?}", outcome.restore.as_ref().map(|h| &h.outcome));
        let handled = fake.traffic().handled;
        if seen {
            assert!(handled > 0, "{said}");
        } else {
            assert_eq!(handled, 0, "{said}");
            assert!(outcome.ok(), "{said}");
            assert!(!file.exists(), "{said}");
        }
    }
}

/// An account without a password in the profile that was sent refused
/// changes (recorded under `without_password`) is named by `restore`, and
/// the file kept, when the target was seen to store a refused change;
/// otherwise nothing is sent or said for it and the file goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_names_an_account_without_a_password_only_when_storing_was_seen() {
    for seen in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.json");
        let fake = Fake::tenant(Tenant::default()).await;
        let profile = reference_profile_at(&fake);
        let options = crate::support::external_options(dir.path());
        conformance::state::StateFile {
            version: conformance::state::FORMAT,
            endpoint: format!("http://{}/change_user_password", fake.addr),
            accounts: vec![entry("alice", "Alice-Passw0rd", "Alice-Passw0rd", &[])],
            stores_refused: Some(seen),
            without_password: vec![conformance::state::WithoutPassword {
                subject: "frank".into(),
                candidates: vec!["Frank-Cand-1x".into()],
            }],
        }
        .save(&file)
        .unwrap();
        let outcome = runner::restore_from_state(&profile, &options)
            .await
            .expect("the restore starts");
        let said = format!("{:?}", outcome.restore.as_ref().map(|h| &h.outcome));
        assert_eq!(outcome.ok(), !seen, "{said}");
        assert_eq!(file.exists(), seen, "{said}");
        assert_eq!(
            said.contains("frank (no password in the profile)"),
            seen,
            "{said}"
        );
    }
}
