//! Interruptions of the `conformance` binary against an in-process
//! reference server or fake tenant over loopback: SIGINT mid-run restores
//! the password before exiting 130, in the catalogue and in the
//! properties; a second SIGINT while a change is in flight exits at once
//! and `conformance restore` resolves the change from the state file; a
//! run killed with SIGKILL is restored by `conformance restore`; `restore`
//! names (never prints) the recorded passwords when it cannot restore
//! them.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use conformance::embedded::{Embedded, Hashing};
use conformance::exchange::Endpoint;
use conformance::state::{State, StateFile};

use crate::fakes::{ACCOUNTS, Fake, Tenant};
use crate::support::is_current;

fn conformance(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_conformance"));
    c.args(args);
    c
}

/// A slow run (paced) of the whole catalogue against `server`.
/// `conformance restore` against `base_url` from the state file `state`, run to its end.
fn restore(base_url: &str, state: impl AsRef<std::ffi::OsStr>) -> std::process::Output {
    let state = state.as_ref().to_str().expect("a UTF-8 path");
    conformance(&["restore", "--base-url", base_url, "--state", state])
        .output()
        .unwrap()
}

fn spawn_run(server: &Embedded, state: &Path) -> Child {
    conformance(&[
        "--base-url",
        &server.profile.base_url,
        "--state",
        state.to_str().unwrap(),
        "--rate",
        "25",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

/// Waits until the state file records a password other than the original
/// (a change went through) or, unless `applied`, a pending change.
async fn wait_for_a_change(state: &Path, original: &str, applied: bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(f)) = StateFile::load(state)
            && f.accounts
                .iter()
                .any(|a| a.current != original || (!applied && a.pending.is_some()))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the run never changed the password"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn wait_for_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the run did not exit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn kill(signal: &str, child: &Child) {
    let ok = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_mid_run_restores_and_exits_130() {
    let server = Embedded::start(Hashing::CheapTestOnly).await.unwrap();
    let original = server.profile.accounts.active().password.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let mut child = spawn_run(&server, &state);
    wait_for_a_change(&state, &original, false).await;
    kill("-INT", &child);
    let status = wait_for_exit(&mut child).await;
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted by SIGINT"), "{err}");
    assert!(!err.contains(&original), "a password was printed: {err}");
    // Restored: the state file is gone and the original works.
    assert_eq!(State::load(&state).unwrap(), None, "{err}");
    assert!(is_current(&server.profile, &original).await, "{err}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_is_restored_by_the_restore_command() {
    let server = Embedded::start(Hashing::CheapTestOnly).await.unwrap();
    let original = server.profile.accounts.active().password.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let mut child = spawn_run(&server, &state);
    wait_for_a_change(&state, &original, true).await;
    kill("-KILL", &child);
    wait_for_exit(&mut child).await;
    assert!(StateFile::load(&state).unwrap().is_some());
    let out = restore(&server.profile.base_url, &state);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("restored"), "{text}");
    assert_eq!(State::load(&state).unwrap(), None);
    assert!(is_current(&server.profile, &original).await, "{text}");
    // Nothing left: a second restore has nothing to do.
    let again = restore(&server.profile.base_url, &state);
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to restore"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_that_cannot_names_the_recorded_passwords_without_printing_them() {
    let server = Embedded::start(Hashing::CheapTestOnly).await.unwrap();
    let original = server.profile.accounts.active().password.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let endpoint = Endpoint::parse(&server.profile.base_url).unwrap();
    // A recorded password the target does not have.
    let unknown = "Not-The-Password-8";
    State {
        endpoint: endpoint.endpoint_url(),
        subject: "alice".into(),
        original: original.clone(),
        current: unknown.into(),
        pending: None,
        previous: vec![],
        failures: 0,
    }
    .save(&state)
    .unwrap();
    let out = restore(&server.profile.base_url, &state);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("alice has the `current` password recorded in"),
        "{text}"
    );
    assert!(
        !text.contains(unknown) && !text.contains(&original),
        "{text}"
    );
    // The file is kept for a later attempt.
    assert!(StateFile::load(&state).unwrap().is_some());
    // And the account was not changed: the original still works.
    assert!(is_current(&server.profile, &original).await);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_tries_the_password_before_a_200_that_did_not_take() {
    let server = Embedded::start(Hashing::CheapTestOnly).await.unwrap();
    let original = server.profile.accounts.active().password.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let endpoint = Endpoint::parse(&server.profile.base_url).unwrap();
    // The interrupted run got a 200 that set `current`, but it did not
    // take: the target still has the password before it.
    let mut file = StateFile::from(State {
        endpoint: endpoint.endpoint_url(),
        subject: "alice".into(),
        original: original.clone(),
        current: "Never-Taken-42".into(),
        pending: None,
        previous: vec![original.clone()],
        failures: 0,
    });
    file.accounts[0].before_last_change = Some(original.clone());
    file.save(&state).unwrap();
    let out = restore(&server.profile.base_url, &state);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains(&original), "{text}");
    assert_eq!(State::load(&state).unwrap(), None, "{text}");
    assert!(is_current(&server.profile, &original).await, "{text}");
    server.stop().await;
}

/// A child's stderr, collected on a thread as it comes.
fn collect_stderr(child: &mut Child) -> Arc<Mutex<String>> {
    let mut err = child.stderr.take().unwrap();
    let text = Arc::new(Mutex::new(String::new()));
    let into = text.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 1024];
        while let Ok(n) = err.read(&mut chunk) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    text
}

/// Everything the exited child wrote to stderr: waits for the reader
/// thread of [`collect_stderr`] to reach the end of the pipe (it drops its
/// handle then), so the last lines, written just before the exit, are not
/// missed by a test that reads as soon as the child is gone.
async fn all_of(err: &Arc<Mutex<String>>) -> String {
    wait_until("stderr read to its end", || Arc::strong_count(err) == 1).await;
    err.lock().unwrap().clone()
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every account of the fake has its original password; none was locked.
fn assert_all_original(fake: &Fake, said: &str) {
    for a in fake.accounts() {
        let original = ACCOUNTS.iter().find(|(s, _)| *s == a.subject).unwrap().1;
        assert_eq!(a.password, original, "{}: {said}", a.subject);
        assert!(!a.locked_here, "{} was locked: {said}", a.subject);
    }
}

/// A run against a fake tenant whose `hold`-th applied change is answered
/// only after the given time, with its stderr collected.
struct HeldRun {
    fake: Fake,
    url: String,
    _dir: tempfile::TempDir,
    state: std::path::PathBuf,
    child: Child,
    err: Arc<Mutex<String>>,
}

async fn held_run(hold: (usize, Duration), extra: &[&str]) -> HeldRun {
    let fake = Fake::tenant(Tenant {
        hold_applied: Some(hold),
        ..Tenant::default()
    })
    .await;
    let url = format!("http://{}", fake.addr);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let mut args = vec!["--base-url", &url, "--state", state.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut child = conformance(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = collect_stderr(&mut child);
    HeldRun {
        fake,
        url,
        _dir: dir,
        state,
        child,
        err,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigint_mid_change_exits_and_restore_resolves_the_change() {
    // The first change the fake applies is answered only after a minute.
    let HeldRun {
        fake,
        url,
        _dir,
        state,
        mut child,
        err,
    } = held_run((1, Duration::from_secs(60)), &[]).await;
    let state_arg = state.to_str().unwrap();
    wait_until("a change in flight", || fake.traffic().holding).await;
    kill("-INT", &child);
    wait_until("the run saw the first SIGINT", || {
        err.lock()
            .unwrap()
            .contains("finishing the request in flight")
    })
    .await;
    kill("-INT", &child);
    let status = wait_for_exit(&mut child).await;
    let said = all_of(&err).await;
    assert_eq!(status.code(), Some(130), "{said}");
    assert!(fake.traffic().holding, "the change was still in flight");
    // It was applied, and the state file has it as pending.
    let recorded = StateFile::load(&state)
        .unwrap()
        .expect("the state file is kept");
    let alice = recorded.account("alice").unwrap();
    let applied = fake.account("alice").password;
    assert_eq!(alice.pending.as_deref(), Some(applied.as_str()));
    assert!(!said.contains(&applied), "a password was printed: {said}");
    let out = restore(&url, state_arg);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains(&applied), "{text}");
    assert_all_original(&fake, &text);
    assert!(StateFile::load(&state).unwrap().is_none(), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_the_properties_finishes_the_change_restores_and_exits_130() {
    // Past the priming of the history (six changes), a change of the
    // properties is held for a second.
    let HeldRun {
        fake,
        _dir,
        state,
        mut child,
        err,
        ..
    } = held_run(
        (9, Duration::from_secs(1)),
        &[
            "--properties",
            "--case",
            "property.*",
            "--cases",
            "64",
            "--seed",
            "3",
        ],
    )
    .await;
    wait_until("a property's change in flight", || fake.traffic().holding).await;
    let at_signal = fake.traffic().handled;
    kill("-INT", &child);
    let status = wait_for_exit(&mut child).await;
    let said = all_of(&err).await;
    assert_eq!(status.code(), Some(130), "{said}");
    assert!(said.contains("interrupted by SIGINT"), "{said}");
    // The held change was answered, followed and undone; no generated
    // case was sent after the signal, only the restore (at most the
    // history depth + 1 changes, and the set-back).
    let after = fake.traffic().handled - at_signal;
    assert!(after <= 10, "{after} requests after SIGINT: {said}");
    assert!(!fake.traffic().holding);
    assert_all_original(&fake, &said);
    assert_eq!(State::load(&state).unwrap(), None, "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_with_a_forged_token_is_pending_before_its_answer() {
    // A target that does not verify signatures applies the valid change
    // `auth.invalid-token.bad-signature` sends; its answer is held.
    let fake = Fake::tenant(Tenant {
        quirks: vec![crate::fakes::Quirk::SignatureNotVerified],
        hold_applied: Some((1, Duration::from_secs(60))),
        ..Tenant::default()
    })
    .await;
    let url = format!("http://{}", fake.addr);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let state_arg = state.to_str().unwrap();
    let mut child = conformance(&[
        "--base-url",
        &url,
        "--state",
        state_arg,
        "--case",
        "auth.invalid-token.bad-signature",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    wait_until("the forged change in flight", || fake.traffic().holding).await;
    kill("-KILL", &child);
    wait_for_exit(&mut child).await;
    let applied = fake.account("alice").password;
    let recorded = StateFile::load(&state).unwrap().expect("the state file");
    assert_eq!(
        recorded.account("alice").unwrap().pending.as_deref(),
        Some(applied.as_str()),
        "the change was recorded as pending before it was sent"
    );
    let out = restore(&url, state_arg);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_all_original(&fake, &text);
}
