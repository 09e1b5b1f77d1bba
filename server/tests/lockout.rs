//! Automatic lockout: K consecutive wrong old passwords lock the account
//! (S8) until the configured time has passed; a correct old password resets
//! the count.

use std::time::Duration;

use crate::support::*;

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
