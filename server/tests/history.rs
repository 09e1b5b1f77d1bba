//! Password history: the previous N passwords are refused, the (N+1)-th is
//! accepted, and a successful change costs exactly three argon2 evaluations
//! whatever N is.

use server::{App, Running};

use crate::support::*;

/// Changes alice's password through `count` fresh ones; returns all of them,
/// the seeded one first.
async fn walk(s: &TestServer, count: usize) -> Vec<String> {
    let mut passwords = vec![ALICE.to_string()];
    for i in 1..=count {
        let next = format!("Alice-Step{i}x");
        let r = s.change("alice", passwords.last().unwrap(), &next).await;
        assert_eq!(r.status, 200, "step {i}: {:?}", r.body);
        passwords.push(next);
    }
    passwords
}

#[tokio::test]
async fn the_previous_n_are_refused_and_the_n_plus_first_is_accepted() {
    let s = TestServer::start().await; // N = 5
    let p = walk(&s, 6).await; // current p[6]; previous p[5]..p[1]; p[0] is the 6th previous
    let current = &p[6];
    for previous in &p[1..6] {
        s.change("alice", current, previous)
            .await
            .assert_error(400, "recurrent_password", None);
    }
    s.assert_current("alice", current).await;
    assert_eq!(s.change("alice", current, &p[0]).await.status, 200);
}

#[tokio::test]
async fn history_depth_one() {
    let s = TestServer::with(|c| c.policy.history = 1).await;
    let p = walk(&s, 2).await;
    s.change("alice", &p[2], &p[1])
        .await
        .assert_error(400, "recurrent_password", None);
    assert_eq!(s.change("alice", &p[2], &p[0]).await.status, 200);
}

#[tokio::test]
async fn history_depth_128_remembers_128() {
    let s = TestServer::with(|c| c.policy.history = 128).await;
    let p = walk(&s, 129).await;
    let current = &p[129];
    // p[1] is the 128th previous, p[0] the 129th.
    s.change("alice", current, &p[1])
        .await
        .assert_error(400, "recurrent_password", None);
    assert_eq!(s.change("alice", current, &p[0]).await.status, 200);
}

#[tokio::test]
async fn argon2_evaluations_per_request_do_not_grow_with_n() {
    for n in [1, 5, 128] {
        let s = TestServer::with(|c| c.policy.history = n).await;
        let p = walk(&s, 3).await;
        let hasher = s.running.app.hasher();
        let count = async |f: std::pin::Pin<Box<dyn std::future::Future<Output = Reply> + '_>>| {
            let before = hasher.evaluations();
            let r = f.await;
            (r, hasher.evaluations() - before)
        };
        let (r, evals) = count(Box::pin(s.change("alice", &p[3], "Alice-Fresh9x"))).await;
        assert_eq!(r.status, 200);
        assert_eq!(evals, 3, "success at N={n}");
        let (r, evals) = count(Box::pin(s.change("alice", "Alice-Fresh9x", &p[3]))).await;
        r.assert_error(400, "recurrent_password", None);
        assert_eq!(evals, 2, "recurrent at N={n}");
        let (r, evals) = count(Box::pin(s.change("alice", "wrong", "Alice-Other9x"))).await;
        r.assert_error(400, "wrong_old_password", None);
        assert_eq!(evals, 1, "wrong old at N={n}");
        let (r, evals) = count(Box::pin(s.change("alice", "Alice-Fresh9x", "short"))).await;
        r.assert_error(400, "invalid_new_password", None);
        assert_eq!(evals, 1, "policy at N={n}");
        let (r, evals) = count(Box::pin(s.change("nobody", "a", "b"))).await;
        r.assert_error(400, "user_not_found", None);
        assert_eq!(evals, 0, "unknown user at N={n}");
    }
}

#[tokio::test]
async fn policy_is_checked_before_history() {
    // Change once under the default policy, then restart on the same store
    // with a policy the old password breaks, and try to go back to it.
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&dir);
    let running = Running::start(App::build(&c).unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let s = TestServer::start().await; // only for minting with the same keys
    let token = format!("Bearer {}", s.token("alice"));
    let h = [
        ("authorization", token.as_str()),
        ("content-type", "application/json"),
    ];
    let r = post(
        running.addr,
        &h,
        r#"{"old_password":"Alice-Passw0rd","new_password":"Alice-Much-Longer-Passw0rd"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    running.shutdown().await;
    c.policy.min_length = 20;
    let running = Running::start(App::build(&c).unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    // "Alice-Passw0rd" is both in the history and too short now: policy wins.
    post(
        running.addr,
        &h,
        r#"{"old_password":"Alice-Much-Longer-Passw0rd","new_password":"Alice-Passw0rd"}"#,
    )
    .await
    .assert_error(400, "invalid_new_password", None);
    running.shutdown().await;
}

#[tokio::test]
async fn a_password_in_the_history_twice_is_still_refused() {
    // With N = 1, P0 may come back after two changes, so the full history
    // holds it twice; a later, deeper policy must still refuse it.
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&dir);
    c.policy.history = 1;
    let running = Running::start(App::build(&c).unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let s = TestServer::start().await; // only for minting with the same keys
    let token = s.token("alice");
    for (old, new) in [
        (ALICE, "Alice-Step1x"),
        ("Alice-Step1x", "Alice-Step2x"),
        ("Alice-Step2x", ALICE),
        (ALICE, "Alice-Step3x"),
    ] {
        assert_eq!(
            change_with(running.addr, &token, old, new).await.status,
            200
        );
    }
    running.shutdown().await;
    c.policy.history = 5;
    let running = Running::start(App::build(&c).unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    change_with(running.addr, &token, "Alice-Step3x", ALICE)
        .await
        .assert_error(400, "recurrent_password", None);
    running.shutdown().await;
}
