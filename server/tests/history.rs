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

/// Starts the app of `c` on an ephemeral port.
async fn start(c: &server::Config) -> Running {
    Running::start(App::build(c).unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn digests_are_made_at_the_configured_cost_and_old_entries_keep_theirs() {
    use server::config::HashingProfile;
    use server::hashing::Cost;
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&dir); // seeded under cheap-test-only
    c.policy.history = 1;
    let cheap = Cost::of(HashingProfile::CheapTestOnly);
    let owasp = Cost::of(HashingProfile::Owasp);
    start(&c).await.shutdown().await;
    c.hashing.profile = HashingProfile::Owasp;
    let running = start(&c).await;
    let (app, addr) = (running.app.clone(), running.addr);
    let token = TestServer::start().await.token("alice");
    let counted = async |old: &str, new: &str| {
        let before = app.hasher().evaluations();
        let r = change_with(addr, &token, old, new).await;
        (r, app.hasher().evaluations() - before)
    };
    let digest_cost = || app.store().find("alice").unwrap().unwrap().digest_cost;
    assert_eq!(digest_cost(), cheap);
    // History holds nothing yet: verify, digest (owasp), hash.
    let (r, evals) = counted(ALICE, "Alice-Owasp1x").await;
    assert_eq!((r.status.as_u16(), evals), (200, 3));
    assert_eq!(digest_cost(), owasp);
    let alice_id = app.store().find("alice").unwrap().unwrap().id;
    let window = app.store().history(alice_id, 1).unwrap();
    assert_eq!(window[0].cost, cheap, "the seeded entry keeps its cost");
    // The window holds a cheap entry: one more digest, and it is still compared.
    let (r, evals) = counted("Alice-Owasp1x", ALICE).await;
    r.assert_error(400, "recurrent_password", None);
    assert_eq!(evals, 3);
    let (r, evals) = counted("Alice-Owasp1x", "Alice-Owasp2x").await;
    assert_eq!((r.status.as_u16(), evals), (200, 4));
    // Only owasp entries in the window of N = 1 again: the steady state.
    let (r, evals) = counted("Alice-Owasp2x", "Alice-Owasp3x").await;
    assert_eq!((r.status.as_u16(), evals), (200, 3));
    assert_eq!(app.store().history(alice_id, 1).unwrap()[0].cost, owasp);
    running.shutdown().await;
}

#[tokio::test]
async fn a_restart_with_another_normalization_keeps_the_recorded_form() {
    use server::config::Normalization;
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    // A full-width W: NFKC folds it to "W", NFC keeps it.
    let typed = "\u{ff37}anda-Passw0rd";
    std::fs::write(
        &users,
        format!("[[user]]\nsubject = \"wanda\"\npassword = \"{typed}\"\n"),
    )
    .unwrap();
    let mut c = config(&dir);
    c.users = users;
    c.policy.normalization = Normalization::Nfkc;
    start(&c).await.shutdown().await;
    c.policy.normalization = Normalization::Nfc;
    let running = start(&c).await;
    let token = TestServer::start().await.token("wanda");
    // Under NFC the typed password differs from what was hashed; the recorded
    // NFKC form still accepts it, and its folded spelling (what NFKC hashed).
    change_with(running.addr, &token, typed, typed)
        .await
        .assert_error(400, "duplicate_password", None);
    change_with(running.addr, &token, "Wanda-Passw0rd", "Wanda-Passw0rd")
        .await
        .assert_error(400, "duplicate_password", None);
    let r = change_with(running.addr, &token, typed, "\u{ff37}anda-N3w-Passw0rd").await;
    assert_eq!(r.status, 200);
    // The new credential is NFC: the folded spelling is now another password,
    // and the old one (NFKC in the history) is still recognised as recurrent.
    let found = running.app.store().find("wanda").unwrap().unwrap();
    assert_eq!(found.normalization, Some(Normalization::Nfc));
    change_with(running.addr, &token, "Wanda-N3w-Passw0rd", "x")
        .await
        .assert_error(400, "wrong_old_password", None);
    change_with(running.addr, &token, "\u{ff37}anda-N3w-Passw0rd", typed)
        .await
        .assert_error(400, "recurrent_password", None);
    running.shutdown().await;
}
