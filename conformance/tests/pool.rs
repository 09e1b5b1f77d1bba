//! The account pool (issue 20, points 2 and 6): a profile with several
//! active accounts (`[[accounts.active]]`) against a fake tenant that
//! counts wrong old passwords within a sliding window and locks at the
//! fourth. The catalogue passes on the pool as on one account, the cases
//! that send wrong old passwords are spread over the three accounts (each
//! under its own budget), every account of the fake ends at its original
//! password and none is locked (but `lockable`), and the run waits for
//! the window under a third of the time one account waits (its wall time,
//! printed, is about 0.29 of one account's on a quiet machine), within a
//! factor of two of the plan's estimate. A run with the pool killed with SIGKILL is restored
//! by `conformance restore`. The case that sends the first account's static
//! token runs on that account, whichever account has room.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use conformance::cases;
use conformance::embedded::REFERENCE_PROFILE;
use conformance::exchange::BodyRecord;
use conformance::plan::command::report;
use conformance::profile::{Account, Counting, Profile};
use conformance::runner::{self, RunOutcome};
use conformance::state::StateFile;
use conformance::verdict::Verdict;
use conformance::vocabulary::Case;

use crate::fakes::{ACCOUNTS, Fake, Quirk, Tenant};

/// The pool: three active accounts of the fake (`bob` is the profile's
/// `lockable`, locked on purpose).
const POOL: [&str; 3] = ["alice", "carol", "dave"];

/// Wrong old passwords that lock the fake's accounts.
const MAX_FAILURES: u32 = 4;

fn original(subject: &str) -> &'static str {
    ACCOUNTS.iter().find(|(s, _)| *s == subject).unwrap().1
}

/// A fake that locks an account at the [`MAX_FAILURES`]-th wrong old
/// password within `window`.
async fn window_fake(window: Duration) -> Fake {
    Fake::tenant(Tenant {
        lockout_window: Some(window),
        max_failures: Some(MAX_FAILURES),
        ..Tenant::default()
    })
    .await
}

/// The reference profile pointed at `fake`, its lockout rule declared,
/// with the pool of three active accounts or only the first.
fn profile_at(fake: &Fake, window: Duration, pool: bool) -> Profile {
    let mut profile = Profile::load(Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{}", fake.addr);
    profile.lockout.max_failures = Some(MAX_FAILURES);
    profile.lockout.counting = Some(Counting::Window);
    profile.lockout.window_secs = Some(window.as_secs());
    let n = if pool { POOL.len() } else { 1 };
    profile.accounts.active = POOL[..n]
        .iter()
        .map(|s| Account {
            subject: s.to_string(),
            password: Some(original(s).to_string()),
            token: None,
        })
        .collect();
    profile
}

/// Runs `cases` against a fresh window-locking fake, on the pool or on
/// one account, and checks what it left behind: every account of the
/// fake at its original password, none locked but `bob`, the restore
/// done and the state file gone. Returns the run, its wall time and the
/// plan's estimate of it (in seconds).
async fn timed_run(
    window: Duration,
    pool: bool,
    cases: &[&'static Case],
) -> (RunOutcome, Duration, f64) {
    let fake = window_fake(window).await;
    let profile = profile_at(&fake, window, pool);
    let estimate = report(&profile, "window tenant", cases, None, None)
        .estimate
        .without_properties;
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let started = Instant::now();
    let outcome = runner::run(&profile, cases, &options)
        .await
        .expect("the run starts");
    let took = started.elapsed();
    let said = format!(
        "restore: {}\n{}",
        outcome.restore.outcome,
        summary(&outcome)
    );
    for a in fake.accounts() {
        assert_eq!(a.password, original(&a.subject), "{}: {said}", a.subject);
        if a.subject != "bob" {
            assert!(!a.locked_here, "{} was locked: {said}", a.subject);
        }
    }
    assert!(outcome.restore.ok, "{said}");
    assert!(!dir.path().join("state.json").exists(), "{said}");
    (outcome, took, estimate.total_secs)
}

fn summary(outcome: &RunOutcome) -> String {
    outcome
        .cases
        .iter()
        .map(|r| {
            format!(
                "{} {:?} {:?} {:?} {} ms, {} wrong_old_password; {}",
                r.id,
                r.verdict,
                r.account,
                r.reason,
                r.elapsed_ms,
                wrong_olds(r),
                r.notes
                    .iter()
                    .filter(|n| n.starts_with("waited"))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The seconds a run's report says its cases waited for the lockout
/// window (the notes `waited 3.9 s for the lockout window …`).
fn waited(outcome: &RunOutcome) -> f64 {
    outcome
        .cases
        .iter()
        .flat_map(|r| &r.notes)
        .filter(|n| n.contains("for the lockout window"))
        .filter_map(|n| {
            n.strip_prefix("waited ")?
                .split(' ')
                .next()?
                .parse::<f64>()
                .ok()
        })
        .sum()
}

/// How many `wrong_old_password` answers a case got (the wrong old
/// passwords it sent, on a conformant tenant).
fn wrong_olds(r: &conformance::verdict::CaseResult) -> usize {
    r.exchanges
        .iter()
        .filter(|x| {
            x.response.as_ref().is_some_and(
                |a| matches!(&a.body, BodyRecord::Json(v) if v["error"] == "wrong_old_password"),
            )
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_of_three_passes_the_catalogue_in_under_a_third_of_the_time() {
    // The ratio nears a third as the window shrinks toward the run's own
    // work (about 2 s here): 4 s keeps it clear of that (3 s measured
    // 12.9-14.3 s against 43.8-44.4 s).
    let window = Duration::from_secs(4);
    let cases: Vec<_> = cases::CATALOGUE.iter().collect();
    let (one, one_took, one_estimate) = timed_run(window, false, &cases).await;
    let (three, three_took, three_estimate) = timed_run(window, true, &cases).await;
    let said = format!(
        "one account: {one_took:?} (estimate {one_estimate:.1} s), pool of three: \
         {three_took:?} (estimate {three_estimate:.1} s)\n--- one\n{}\n--- pool\n{}",
        summary(&one),
        summary(&three)
    );
    eprintln!("{said}");
    // The same verdicts, case by case, in the same (catalogue) order; no
    // failure on this conformant tenant.
    let verdicts = |o: &RunOutcome| {
        o.cases
            .iter()
            .map(|r| (r.id, r.verdict))
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(&one), verdicts(&three), "{said}");
    assert!(three.cases.iter().all(|r| !r.verdict.fails_run()), "{said}");
    assert!(
        three.cases.iter().any(|r| r.verdict == Verdict::Pass),
        "{said}"
    );
    // One account: no case names it. The pool: every case that ran (the
    // plan's up-front skips run on no account) names the account it ran
    // on, and the wrong old passwords went to all three.
    assert!(one.cases.iter().all(|r| r.account.is_none()), "{said}");
    assert!(
        three
            .cases
            .iter()
            .filter(|r| !r.exchanges.is_empty())
            .all(|r| r.account.is_some()),
        "{said}"
    );
    for subject in POOL {
        assert!(
            three
                .cases
                .iter()
                .any(|r| r.account.as_deref() == Some(subject) && wrong_olds(r) > 0),
            "no case sent {subject} a wrong old password\n{said}"
        );
    }
    // What a pool divides is the time spent waiting for the window: the
    // pool's waits (as the report states them) are under a third of one
    // account's (each of three accounts sends a third of the wrong old
    // passwords, and its first window costs no wait). The wall times are
    // printed above (a quiet machine: 16.8 s against 57.6 s); they are not
    // asserted, since the cases' own work, which no pool divides, grows
    // with the machine's load (24.3 s against 59.3 s at a load of 5.7).
    let (one_waited, three_waited) = (waited(&one), waited(&three));
    eprintln!("waited for the window: one account {one_waited:.1} s, pool {three_waited:.1} s");
    assert!(
        one_waited > 3.0 * window.as_secs_f64(),
        "one account waited only {one_waited:.1} s\n{said}"
    );
    assert!(
        three_waited * 3.0 < one_waited,
        "the pool waited {three_waited:.1} s, more than a third of one account's \
         {one_waited:.1} s\n{said}"
    );
    // The plan's estimate (each account's wrong old passwords through its
    // own window, the largest account's waits) within a factor of two of
    // the measured time, for the pool as for one account.
    for (estimate, took) in [(three_estimate, three_took), (one_estimate, one_took)] {
        let ratio = estimate / took.as_secs_f64();
        assert!((0.5..=2.0).contains(&ratio), "ratio {ratio:.2}\n{said}");
    }
}

/// Under the strictest assumed rule (one wrong old password per account)
/// the first account spends its one on `password.change`; the case that
/// sends `tokens.no_openid_token`, the first account's static token, must
/// still run on it (the plan binds it there), not on an account with room:
/// a target that takes that token acts on the first account, whose
/// password the run must have recorded. This fake skips the scope check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_accounts_static_token_runs_on_the_first_account() {
    use conformance::tokens::TokenFactory;
    use conformance::vocabulary::TokenKind;
    let fake = Fake::start(Some(Quirk::NoScopeCheck)).await;
    let mut profile = profile_at(&fake, Duration::from_secs(1), true);
    profile.lockout.max_failures = None;
    profile.lockout.counting = None;
    profile.lockout.window_secs = None;
    let alice = profile.accounts.active().clone();
    let mut factory = TokenFactory::new(&profile).unwrap();
    let form = profile.tokens.scope_format;
    let token = factory
        .variant(&alice, TokenKind::Scope(&["profile"], form))
        .await
        .unwrap();
    profile.tokens.no_openid_token = Some(token);
    let static_case = "auth.insufficient-scope.profile-token";
    let cases: Vec<_> = ["password.change", static_case]
        .iter()
        .map(|id| cases::find(id).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let outcome = runner::run(&profile, &cases, &options).await.unwrap();
    let said = format!(
        "restore: {}\n{}\n{:#?}",
        outcome.restore.outcome,
        summary(&outcome),
        fake.accounts()
    );
    let ran = outcome.cases.iter().find(|r| r.id == static_case).unwrap();
    assert_eq!(ran.account.as_deref(), Some("alice"), "{said}");
    // The fake took the token: the change it made is the run's to undo.
    assert_eq!(ran.verdict, Verdict::Fail, "{said}");
    for a in fake.accounts() {
        assert_eq!(a.password, original(&a.subject), "{}: {said}", a.subject);
        assert!(!a.locked_here, "{} was locked: {said}", a.subject);
        // No account received more wrong old passwords than the plan
        // gave it: one each at most.
        assert!(a.wrong_old <= 1, "{}: {said}", a.subject);
    }
    assert!(outcome.restore.ok, "{said}");
}

/// A profile file for the binary: the reference profile at `base_url`,
/// its key paths absolute, the lockout rule declared and the pool of
/// three as `[[accounts.active]]` tables.
fn write_pool_profile(dir: &Path, base_url: &str, window: Duration) -> PathBuf {
    let fixtures = Path::new(REFERENCE_PROFILE).parent().unwrap();
    let fixtures = fixtures.canonicalize().unwrap();
    let text = std::fs::read_to_string(REFERENCE_PROFILE).unwrap();
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.starts_with('[') {
            skipping = line.starts_with("[accounts.active]") || line.starts_with("[lockout]");
        }
        if skipping {
            continue;
        }
        let line = if line.starts_with("base_url") {
            format!("base_url = \"{base_url}\"")
        } else {
            line.replace("\"keys/", &format!("\"{}/keys/", fixtures.display()))
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&format!(
        "\n[lockout]\nmax_failures = {MAX_FAILURES}\ncounting = \"window\"\nwindow_secs = {}\n",
        window.as_secs()
    ));
    for s in POOL {
        out.push_str(&format!(
            "\n[[accounts.active]]\nsubject = \"{s}\"\npassword = \"{}\"\n",
            original(s)
        ));
    }
    let file = dir.join("pool.toml");
    std::fs::write(&file, out).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_run_killed_with_sigkill_is_restored_by_the_restore_command() {
    let window = Duration::from_secs(2);
    let fake = window_fake(window).await;
    let dir = tempfile::tempdir().unwrap();
    let profile = write_pool_profile(dir.path(), &format!("http://{}", fake.addr), window);
    let state = dir.path().join("s.json");
    let args = |command: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_conformance"));
        c.args(command);
        c.args(["--profile", profile.to_str().unwrap()]);
        c.args(["--state", state.to_str().unwrap()]);
        c
    };
    let mut child = args(None)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once an account of the pool other than the first was
    // changed (its password or its pending change in the state file).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let touched = StateFile::load(&state).ok().flatten().is_some_and(|f| {
            f.accounts.iter().any(|a| {
                POOL[1..].contains(&a.subject.as_str())
                    && (a.current != a.original || a.pending.is_some())
            })
        });
        if touched {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it changed a second account of the pool"
        );
        assert!(Instant::now() < deadline, "no second account was changed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    child.wait().unwrap();
    let recorded = StateFile::load(&state).unwrap().expect("the state file");
    for s in POOL {
        assert!(
            recorded.account(s).is_some(),
            "{s} is not in the state file"
        );
    }
    let out = args(Some("restore")).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    for s in POOL {
        assert!(
            !text.contains(original(s)),
            "a password was printed: {text}"
        );
    }
    assert!(StateFile::load(&state).unwrap().is_none(), "{text}");
    for a in fake.accounts() {
        assert_eq!(a.password, original(&a.subject), "{}: {text}", a.subject);
        if a.subject != "bob" {
            assert!(!a.locked_here, "{} was locked: {text}", a.subject);
        }
    }
}
