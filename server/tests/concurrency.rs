//! Concurrent changes with the same correct old password: exactly one wins.

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_changes_exactly_one_succeeds() {
    // Losers that verify after the winner committed really sent a wrong old
    // password; keep them from locking the account.
    let s = std::sync::Arc::new(TestServer::with(|c| c.lockout.max_failures = 0).await);
    for round in 0..3 {
        let old = if round == 0 {
            ALICE.to_string()
        } else {
            format!("Alice-Round{}x", round - 1)
        };
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (s, old) = (s.clone(), old.clone());
            tasks.push(tokio::spawn(async move {
                let new = format!("Alice-Race{round}-{i}x");
                (s.change("alice", &old, &new).await, new)
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            let (r, new) = t.await.unwrap();
            match r.status.as_u16() {
                200 => winners.push(new),
                _ => r.assert_error(400, "wrong_old_password", None),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        s.assert_current("alice", &winners[0]).await;
        // Move to a known password for the next round.
        let next = format!("Alice-Round{round}x");
        assert_eq!(s.change("alice", &winners[0], &next).await.status, 200);
    }
}
