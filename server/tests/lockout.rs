//! Automatic lockout: K consecutive wrong old passwords lock the account
//! (S8) until the configured time has passed; a correct old password resets
//! the count; a burst of concurrent guesses gets no more verifications than
//! sequential ones (against the `server` binary, evaluations counted from its
//! debug log and from its access log's `argon2` field).

use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::procs::*;
use crate::support::*;

const BURST: usize = 200;
const K: usize = 5;
const RIGHT: usize = 137;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_guesses_verifies_at_most_k_wrong_ones_and_then_answers_s8() {
    burst(1).await;
}

/// With several slots per subject, guesses in flight count toward K.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_with_parallel_slots_per_subject_is_bounded_too() {
    burst(16).await;
}

/// `BURST` concurrent guesses for alice (one right) with `slots` hashing slots per subject.
async fn burst(slots: usize) {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(
        dir.path(),
        &format!(
            "queue_timeout_ms = 30000\nworkers = 4\nslots_per_subject = {slots}\n\
             [lockout]\nmax_failures = {K}\nlock_seconds = 600\n"
        ),
    );
    let server = Proc::start_logging(&file, "info,server::hashing=debug");
    let config = server::Config::load(&file).unwrap();
    let token = mint(&config, Algorithm::RS256, claims(&config, "alice"));
    // Every guess comes with the same policy-breaking new password: before
    // the fix, the right one answered invalid_new_password even after the lock.
    let mut tasks = Vec::new();
    for i in 0..BURST {
        let (addr, token) = (server.addr, token.clone());
        tasks.push(tokio::spawn(async move {
            let old = if i == RIGHT {
                ALICE.to_string()
            } else {
                format!("Wrong-Guess{i}x")
            };
            change_with(addr, &token, &old, "short").await
        }));
    }
    let mut wrong_verified = 0;
    let mut right_verified = false;
    for (i, task) in tasks.into_iter().enumerate() {
        let r = task.await.unwrap();
        let error = r.json()["error"].as_str().unwrap_or_default().to_string();
        match (i == RIGHT, r.status.as_u16(), error.as_str()) {
            (false, 400, "wrong_old_password") => wrong_verified += 1,
            (true, 400, "invalid_new_password") => right_verified = true,
            (_, 400, "abnormal_user_status") => {
                r.assert_error(400, "abnormal_user_status", Some("User is locked."))
            }
            (_, 503, _) => assert_eq!(r.header("retry-after"), Some("1")),
            other => panic!("guess {i}: unexpected answer {other:?}"),
        }
    }
    // A right guess verified before the lock resets the count, after which
    // K more wrong ones may be verified (the K-th of them locks).
    let bound = if right_verified { 2 * K - 1 } else { K };
    assert!(
        wrong_verified <= bound,
        "{wrong_verified} wrong guesses verified (right one verified: {right_verified})"
    );
    // Locked now: the answer is the same bytes whatever the guess and the new password.
    let mut answers = Vec::new();
    for (old, new) in [
        (ALICE, "short"),
        ("Wrong-Guess-Late1", "short"),
        (ALICE, "Alice-Changed1x"),
        ("Wrong-Guess-Late2", "Alice-Changed1x"),
        (ALICE, ALICE),
    ] {
        let r = change_with(server.addr, &token, old, new).await;
        r.assert_error(400, "abnormal_user_status", Some("User is locked."));
        answers.push(r.body);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    // Every verification shows in an answer: none was hidden behind an S8 or a 503.
    let log = server.stop();
    let verified = evaluations(&log, "verify");
    eprintln!(
        "burst, {slots} slot(s): {wrong_verified} wrong verified, right verified: {right_verified}, verify evaluations: {verified}"
    );
    assert_eq!(verified, wrong_verified as u64 + u64::from(right_verified));
    // And in the access log: one line per request, each verification on
    // the line of the request that caused it.
    let lines = access_lines(&log);
    assert_eq!(lines.len(), BURST + answers.len(), "{log}");
    let on_lines: u64 = lines
        .iter()
        .map(|l| {
            field(l, "argon2")
                .expect("argon2 field")
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(on_lines, verified);
    let wrong_lines = lines
        .iter()
        .filter(|l| field(l, "outcome") == Some("wrong_old_password"))
        .count();
    assert_eq!(wrong_lines, wrong_verified);
}

#[tokio::test]
async fn k_wrong_old_passwords_lock_until_the_lock_expires() {
    let s = TestServer::with(|c| {
        c.lockout.max_failures = 3;
        c.lockout.lock_seconds = 2.0;
    })
    .await;
    for _ in 0..3 {
        s.change("alice", "Wrong-Passw0rd", "Alice-Changed1")
            .await
            .assert_error(400, "wrong_old_password", None);
    }
    let locked_at = std::time::Instant::now();
    // Locked now, even with the right password, and still after 1.2 s.
    s.change("alice", ALICE, "Alice-Changed1")
        .await
        .assert_error(400, "abnormal_user_status", Some("User is locked."));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    s.change("alice", ALICE, "Alice-Changed1")
        .await
        .assert_error(400, "abnormal_user_status", Some("User is locked."));
    // Released by itself once the 2 s are over.
    tokio::time::sleep(Duration::from_millis(2100).saturating_sub(locked_at.elapsed())).await;
    assert_eq!(s.change("alice", ALICE, "Alice-Changed1").await.status, 200);
}

#[tokio::test]
async fn a_correct_old_password_resets_the_count() {
    let s = TestServer::with(|c| c.lockout.max_failures = 3).await;
    for _ in 0..2 {
        s.change("alice", "Wrong-Passw0rd", "x").await.assert_error(
            400,
            "wrong_old_password",
            None,
        );
    }
    // Correct old password (the change itself is refused as a duplicate).
    s.assert_current("alice", ALICE).await;
    for _ in 0..2 {
        s.change("alice", "Wrong-Passw0rd", "x").await.assert_error(
            400,
            "wrong_old_password",
            None,
        );
    }
    assert_eq!(s.change("alice", ALICE, "Alice-Changed1").await.status, 200);
}

#[tokio::test]
async fn an_administrator_lock_does_not_expire() {
    let s = TestServer::with(|c| c.lockout.lock_seconds = 0.0).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    s.change("lucy", "Lucy-Passw0rd", "Lucy-Changed1")
        .await
        .assert_error(400, "abnormal_user_status", Some("User is locked."));
}

#[tokio::test]
async fn lockout_zero_disables_it() {
    let s = TestServer::with(|c| c.lockout.max_failures = 0).await;
    for _ in 0..8 {
        s.change("alice", "Wrong-Passw0rd", "x").await.assert_error(
            400,
            "wrong_old_password",
            None,
        );
    }
    s.assert_current("alice", ALICE).await;
}
