//! Open point 10 (issue 18, point 4): a target that revokes an account's
//! tokens issued before its password changes
//! ([`Quirk::RevokesOnChange`]). With minted tokens the suite takes a new
//! token after its own change and sends the refused request once more:
//! the whole default catalogue passes (exit 0), every password is back,
//! and the revocation is reported once, at reference tier. With a static
//! token it cannot: the cases after the first change are not determined,
//! naming the profile keys that would decide them, never failed, and the
//! exit code is 2 (what the profile gives cannot serve the run), not 1.
//! The refusal is learned once (catalogue, confirmations, properties,
//! restore): the token is refused once in a whole run; the restore sends
//! nothing with it and says what sets the password back, and `conformance
//! restore` with minting, or with fresh static tokens (one change each),
//! does. A refusal before any change is no revocation.

use std::time::Duration;

use conformance::cases;
use conformance::checks::Weight;
use conformance::embedded::REFERENCE_PROFILE;
use conformance::profile::Profile;
use conformance::report::{RunReport, tree};
use conformance::runner::{self, RunOptions};
use conformance::state::StateFile;
use conformance::verdict::Verdict;

use crate::fakes::{ACCOUNTS, Fake, Quirk};

/// What the reference-tier check of a revoking target says.
const SAID: &str = "the target revokes tokens issued before a password change";

/// The options of a run (or a restore) keeping its state in `dir`.
fn options(dir: &std::path::Path) -> RunOptions {
    crate::support::external_options(dir)
}

/// The default catalogue against `fake` with `profile`: the report.
async fn run(fake: &Fake, mut profile: Profile) -> (RunReport, tempfile::TempDir) {
    profile.base_url = format!("http://{}", fake.addr);
    let dir = tempfile::tempdir().unwrap();
    let options = options(dir.path());
    let enforcement = options.enforcement;
    let cases: Vec<_> = cases::CATALOGUE.iter().collect();
    let outcome = runner::run(&profile, &cases, &options)
        .await
        .expect("the run starts");
    let report = RunReport::new(
        profile.endpoint().unwrap().endpoint_url(),
        "a revoking fake".into(),
        enforcement,
        false,
        "state.json".into(),
        outcome,
        0,
    );
    (report, dir)
}

fn reference() -> Profile {
    Profile::load(std::path::Path::new(REFERENCE_PROFILE)).unwrap()
}

/// A static token of alice the fake trusts, valid for an hour.
fn static_token() -> String {
    static_token_with("static-alice")
}

/// The same, with its own `jti` (a token issued anew).
fn static_token_with(jti: &str) -> String {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let pem = std::fs::read(fixtures.join("keys/dev-rs256.pem")).unwrap();
    let now = conformance::tokens::unix_now();
    let claims = serde_json::json!({
        "iss": "http://127.0.0.1:8080", "aud": "reference-app", "sub": "alice",
        "iat": now, "nbf": now, "exp": now + 3600, "jti": jti,
        "scope": ["openid"],
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("dev-rs256".into());
    server::jwt_crypto::install().unwrap();
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minted_tokens_follow_a_revoking_target_and_the_catalogue_passes() {
    let fake = Fake::start(Some(Quirk::RevokesOnChange)).await;
    let (report, _dir) = run(&fake, reference()).await;
    let text = tree::render(&report);
    // The fake did revoke tokens the suite had used, and the suite went on.
    assert!(fake.revoked_refusals() > 0, "{text}");
    assert_eq!(report.exit_code(), 0, "{text}");
    // Reported once per run, at reference tier (information here).
    let said: Vec<_> = report
        .cases
        .iter()
        .flat_map(|c| c.checks.iter())
        .filter(|c| c.observed.contains(SAID))
        .collect();
    assert_eq!(said.len(), 1, "{text}");
    assert_eq!(said[0].weight, Weight::Info, "{text}");
    assert_eq!(text.matches(SAID).count(), 1, "{text}");
    // Every refused request was sent once more with a new token.
    let resent = report
        .cases
        .iter()
        .flat_map(|c| c.exchanges.iter())
        .filter(|x| x.purpose.contains("again with a new token"))
        .count();
    assert!(resent > 0, "{text}");
    assert!(report.restore.ok, "{text}");
    for (subject, original) in ACCOUNTS {
        assert_eq!(fake.account(subject).password, *original, "{subject}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_token_refused_after_the_change_is_not_determined_never_failed() {
    let fake = Fake::start(Some(Quirk::RevokesOnChange)).await;
    let mut profile = reference();
    profile.tokens.private_key = None;
    profile.accounts.active_mut().token = Some(static_token());
    let (report, _dir) = run(&fake, profile).await;
    let text = tree::render(&report);
    assert!(fake.revoked_refusals() > 0, "{text}");
    let failed: Vec<_> = report
        .cases
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Error))
        .map(|c| c.id)
        .collect();
    assert!(failed.is_empty(), "failed: {failed:?}\n{text}");
    let undetermined: Vec<_> = report
        .cases
        .iter()
        .filter(|c| {
            c.verdict == Verdict::Skip
                && c.reason.as_deref().is_some_and(|r| {
                    r.starts_with("not determined: the target refused accounts.active.token")
                        && r.contains("tokens.private_key or tokens.token_command")
                })
        })
        .collect();
    assert!(undetermined.len() > 1, "{text}");
    // Learned once: the token was sent once after the change, refused,
    // and never again (not by a case, a confirmation or the restore).
    assert_eq!(fake.revoked_refusals(), 1, "{text}");
    let not_sent = undetermined
        .iter()
        .filter(|c| {
            c.notes
                .iter()
                .any(|n| n.starts_with("not sent (") && n.contains("accounts.active.token"))
        })
        .count();
    assert_eq!(not_sent, undetermined.len() - 1, "{text}");
    // The cases with other tokens still ran and passed.
    let garbage = report
        .cases
        .iter()
        .find(|c| c.id == "auth.invalid-token.garbage")
        .unwrap();
    assert_eq!(garbage.verdict, Verdict::Pass, "{text}");
    // The confirmations after the refusal say why they could not run.
    let unconfirmed: Vec<_> = report.effects.iter().filter(|h| !h.ok).collect();
    assert!(!unconfirmed.is_empty(), "{text}");
    for h in unconfirmed {
        assert!(
            h.outcome
                .contains("accounts.active.token was refused after this run changed"),
            "{}",
            h.outcome
        );
    }
    // Nothing was resent as if its answer had been lost.
    let every = report
        .cases
        .iter()
        .flat_map(|c| c.exchanges.iter())
        .chain(report.effects.iter().flat_map(|h| h.exchanges.iter()))
        .chain(report.restore.exchanges.iter());
    for x in every {
        assert!(!x.purpose.contains("answer was lost"), "{}", x.purpose);
    }
    assert_eq!(report.exit_code(), 2, "{text}");
    let last = text.lines().last().unwrap();
    assert!(
        last.starts_with("exit 2: accounts.active.token was refused after this run changed"),
        "{last}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_breaks_every_token_of_the_account_fails_at_seed_tier() {
    // The new token is refused too: judged as it is, and S1 does not hold.
    let fake = Fake::start(Some(Quirk::ChangeBreaksTokens)).await;
    let (report, _dir) = run(&fake, reference()).await;
    let text = tree::render(&report);
    let change = report
        .cases
        .iter()
        .find(|c| c.id == "password.change")
        .unwrap();
    assert_eq!(change.verdict, Verdict::Fail, "{text}");
    // The first refusal after a change was followed: the token taken
    // again, the request sent once more, and refused too.
    let followed = report.cases.iter().find(|c| {
        c.notes
            .iter()
            .any(|n| n.contains("the new token was refused too"))
    });
    let followed = followed.unwrap_or_else(|| panic!("{text}"));
    assert!(
        followed
            .exchanges
            .iter()
            .any(|x| x.purpose.contains("again with a new token")),
        "{text}"
    );
    assert!(!text.contains(SAID), "{text}");
    assert_eq!(report.exit_code(), 1, "{text}");
}

/// A profile whose active account has a static token (no minting).
fn static_profile(fake: &Fake, token: String) -> Profile {
    let mut profile = reference();
    profile.base_url = format!("http://{}", fake.addr);
    profile.tokens.private_key = None;
    profile.accounts.active_mut().token = Some(token);
    profile
}

/// After a run whose static token was refused: the restore sent nothing
/// with it, said what sets the password back, and the state file records
/// the password alice has now. Returns the state file.
async fn run_leaving_alice_changed(fake: &Fake) -> (tempfile::TempDir, std::path::PathBuf) {
    let (report, dir) = run(fake, static_profile(fake, static_token())).await;
    let text = tree::render(&report);
    assert!(!report.restore.ok, "{text}");
    let said = &report.restore.outcome;
    for words in [
        "the original password of alice was not restored: accounts.active.token was refused \
         after this run changed its password",
        "is recorded in",
        "run `conformance restore --profile <profile> --state",
        "(tokens.private_key or tokens.token_command: all at once)",
        "whose accounts.active.token is a fresh token issued after the last change",
        // History 5: five changes push the original out, the sixth sets it.
        "6 changes to go",
    ] {
        assert!(said.contains(words), "{words}\n{said}");
    }
    assert!(report.restore.exchanges.is_empty(), "{text}");
    let state = dir.path().join("state.json");
    let recorded = StateFile::load(&state).unwrap().expect("a state file");
    let alice = recorded
        .accounts
        .iter()
        .find(|a| a.subject == "alice")
        .unwrap();
    assert_ne!(alice.current, alice.original);
    assert_eq!(fake.account("alice").password, alice.current);
    (dir, state)
}

/// Where the account's password is original, and the state file gone.
fn alice_restored(fake: &Fake, state: &std::path::Path) {
    let original = ACCOUNTS.iter().find(|(s, _)| *s == "alice").unwrap().1;
    assert_eq!(fake.account("alice").password, original);
    assert!(!state.exists(), "the state file stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_refused_static_token_restore_with_minting_sets_the_password_back() {
    let fake = Fake::start(Some(Quirk::RevokesOnChange)).await;
    let (dir, state) = run_leaving_alice_changed(&fake).await;
    let mut profile = reference();
    profile.base_url = format!("http://{}", fake.addr);
    let out = runner::restore_from_state(&profile, &options(dir.path()))
        .await
        .expect("the restore starts");
    let said = out.restore.as_ref().map(|h| h.outcome.clone());
    assert!(out.ok(), "{said:?}");
    alice_restored(&fake, &state);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_refused_static_token_restore_with_fresh_static_tokens_sets_it_back() {
    let fake = Fake::start(Some(Quirk::RevokesOnChange)).await;
    let (dir, state) = run_leaving_alice_changed(&fake).await;
    // A revoking target takes one change per fresh token: each restore
    // makes one, records it, and says again what to do.
    let mut rounds = 0;
    loop {
        rounds += 1;
        // The history (5) out of the way, and the original set: six.
        assert!(rounds <= 6, "not restored after {rounds} rounds");
        let token = static_token_with(&format!("fresh-{rounds}"));
        let profile = static_profile(&fake, token);
        let out = runner::restore_from_state(&profile, &options(dir.path()))
            .await
            .expect("the restore starts");
        if out.ok() {
            break;
        }
        let said = out.restore.as_ref().unwrap().outcome.clone();
        assert!(
            said.contains("a fresh token issued after the last change"),
            "{said}"
        );
        // History 5: five changes push the original out, the sixth sets
        // it; this round made one.
        let to_go = match 6 - rounds {
            1 => "1 change to go".to_string(),
            n => format!("{n} changes to go"),
        };
        assert!(said.contains(&to_go), "{to_go}\n{said}");
        let left = out.left.expect("the state file stays");
        let alice = left.accounts.iter().find(|a| a.subject == "alice").unwrap();
        assert_eq!(fake.account("alice").password, alice.current, "{said}");
    }
    assert!(rounds > 1, "one fresh token made every change");
    alice_restored(&fake, &state);
}

/// The generated properties (alone, or after a case that learned the
/// refusal) against a revoking target with a static token: the run's
/// exit 2 is set from them too, every property is not determined for the
/// same reason (none failed), and the token is refused once in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_properties_learn_a_refused_static_token_once_and_set_exit_2() {
    use conformance::cases::CATALOGUE;
    use conformance::properties::PropertyOptions;
    use conformance::properties::driver::Bounds;
    use conformance::vocabulary::Property;
    for before in [&[][..], &["password.change"][..]] {
        let fake = Fake::start(Some(Quirk::RevokesOnChange)).await;
        let profile = static_profile(&fake, static_token());
        let dir = tempfile::tempdir().unwrap();
        let options = options(dir.path());
        let props = PropertyOptions {
            cases: 8,
            sequences: 4,
            max_steps: 6,
            seed: 7,
            only: vec![
                Property::PolicyOracle,
                Property::AccountModel,
                Property::HostileInputs,
            ],
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
        let cases: Vec<_> = CATALOGUE
            .iter()
            .filter(|c| before.contains(&c.id))
            .collect();
        let outcome =
            runner::run_with_properties(&profile, &cases, &options, Some((props, bounds)))
                .await
                .expect("the run starts");
        let results: Vec<_> = outcome
            .cases
            .iter()
            .map(|c| (c.id, c.verdict, c.reason.clone()))
            .collect();
        let why = outcome.token_refused.as_deref().unwrap_or_default();
        assert!(
            why.starts_with("accounts.active.token was refused after this run changed"),
            "{before:?}: {why:?} {results:?}"
        );
        let properties = &outcome.cases[cases.len()..];
        assert_eq!(properties.len(), 3, "{results:?}");
        for p in properties {
            assert_eq!(p.verdict, Verdict::Skip, "{before:?}: {results:?}");
            let reason = p.reason.as_deref().unwrap_or_default();
            assert!(
                reason.starts_with("not determined: the target refused accounts.active.token"),
                "{before:?}: {reason}"
            );
        }
        assert_eq!(fake.revoked_refusals(), 1, "{before:?}: {results:?}");
        assert!(!outcome.restore.ok);
        assert!(
            outcome.restore.outcome.contains("fresh token"),
            "{}",
            outcome.restore.outcome
        );
    }
}

/// A static token refused before any change by the run is no revocation:
/// the token is misconfigured, judged as it is (the case fails), never
/// learned, and the run's exit is not the configuration limit's 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_token_refused_before_any_change_is_judged_as_it_is() {
    let fake = Fake::start(Some(Quirk::RevokesOnChange)).await;
    let profile = static_profile(&fake, "not-a-token-of-this-target".into());
    let dir = tempfile::tempdir().unwrap();
    let options = options(dir.path());
    let cases: Vec<_> = cases::CATALOGUE
        .iter()
        .filter(|c| c.id == "password.change" || c.id == "password.duplicate")
        .collect();
    let outcome = runner::run(&profile, &cases, &options).await.unwrap();
    let results: Vec<_> = outcome
        .cases
        .iter()
        .map(|c| (c.id, c.verdict, c.reason.clone(), c.notes.clone()))
        .collect();
    assert!(outcome.token_refused.is_none(), "{results:?}");
    for c in &outcome.cases {
        assert_eq!(c.verdict, Verdict::Fail, "{results:?}");
        // Both sent it: nothing was learned.
        assert!(!c.exchanges.is_empty(), "{results:?}");
        assert!(
            c.notes.iter().all(|n| !n.starts_with("not sent")),
            "{results:?}"
        );
    }
    assert_eq!(fake.revoked_refusals(), 0);
}

/// The binary: a run whose static token was refused after its change
/// exits 2 and says on stderr what the account has and what sets it back;
/// `conformance restore` with minting then sets it back (exit 0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_says_on_stderr_how_to_set_the_password_back() {
    let fake = Fake::start(Some(Quirk::RevokesOnChange)).await;
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let reference = std::fs::read_to_string(fixtures.join("reference.toml")).unwrap();
    let key = fixtures.join("keys/dev-rs256.pem");
    let untrusted = fixtures.join("keys/untrusted-rs256.pem");
    let with = |private: bool| {
        let mut text = String::new();
        for line in reference.lines() {
            let line = if line.starts_with("private_key") {
                match private {
                    true => format!("private_key = {:?}", key.to_str().unwrap()),
                    false => continue,
                }
            } else if line.starts_with("untrusted_private_key") {
                format!("untrusted_private_key = {:?}", untrusted.to_str().unwrap())
            } else {
                line.to_string()
            };
            text.push_str(&line);
            text.push('\n');
            if line == "password = \"Alice-Passw0rd\"" && !private {
                text.push_str(&format!("token = {:?}\n", static_token_with("cli")));
            }
        }
        text
    };
    let dir = tempfile::tempdir().unwrap();
    let (static_file, minted_file) = (dir.path().join("static.toml"), dir.path().join("m.toml"));
    std::fs::write(&static_file, with(false)).unwrap();
    std::fs::write(&minted_file, with(true)).unwrap();
    let state = dir.path().join("state.json");
    let url = format!("http://{}", fake.addr);
    let conformance = |args: Vec<&str>| {
        let bin = env!("CARGO_BIN_EXE_conformance");
        let args: Vec<String> = args.into_iter().map(str::to_string).collect();
        async move {
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(bin)
                    .args(&args)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let report = dir.path().join("report.txt");
    let o = conformance(vec![
        "run",
        "--profile",
        static_file.to_str().unwrap(),
        "--base-url",
        &url,
        "--state",
        state.to_str().unwrap(),
        "--case",
        "password.*",
        "--output",
        report.to_str().unwrap(),
    ])
    .await;
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for words in [
        "restore: the original password of alice was not restored: accounts.active.token was \
         refused after this run changed its password",
        "run `conformance restore --profile <profile> --state",
        "exit 2: accounts.active.token was refused after this run changed",
    ] {
        assert!(err.contains(words), "{words}\n{err}");
    }
    assert!(state.exists(), "{err}");
    let o = conformance(vec![
        "restore",
        "--profile",
        minted_file.to_str().unwrap(),
        "--base-url",
        &url,
        "--state",
        state.to_str().unwrap(),
    ])
    .await;
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    alice_restored(&fake, &state);
}

/// A failure seen before a static token is refused stands: a target that
/// takes a new password shorter than the policy allows (S5 requires 400
/// `invalid_password`) and revokes the static token with that change
/// fails `policy.too-short`; the refusal of the step after it (open
/// point 10) only cuts what came after, and is said in a note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_seen_before_a_static_token_is_refused_stands() {
    let fake = Fake::tenant(crate::fakes::Tenant {
        quirks: vec![Quirk::RevokesOnChange, Quirk::MinLengthNotEnforced],
        ..crate::fakes::Tenant::default()
    })
    .await;
    let mut profile = reference();
    profile.tokens.private_key = None;
    profile.accounts.active_mut().token = Some(static_token());
    profile.base_url = format!("http://{}", fake.addr);
    let dir = tempfile::tempdir().unwrap();
    let cases = vec![cases::find("policy.too-short").unwrap()];
    let outcome = runner::run(&profile, &cases, &options(dir.path()))
        .await
        .expect("the run starts");
    let case = &outcome.cases[0];
    let said = format!("{case:#?}\n{:#?}\n{:#?}", outcome.effects, outcome.restore);
    assert_eq!(fake.revoked_refusals(), 1, "{said}");
    assert_eq!(case.verdict, Verdict::Fail, "{said}");
    assert!(
        case.notes
            .iter()
            .any(|n| n.contains("accounts.active.token") && n.contains("not judged")),
        "{said}"
    );
    // The run still says why it could not go on (exit 2's reason).
    assert!(outcome.token_refused.is_some(), "{said}");
}
