//! Every row of the vendor document, S1–S11, end to end.

use crate::support::*;

#[tokio::test]
async fn s1_success_is_an_empty_200_and_the_new_password_works() {
    let s = TestServer::start().await;
    let r = s.change("alice", ALICE, "Alice-Changed1").await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), Some("0"));
    assert!(r.header("www-authenticate").is_none());
    s.assert_current("alice", "Alice-Changed1").await;
    s.assert_not_current("alice", ALICE).await;
}

#[tokio::test]
async fn s2_wrong_old_password() {
    let s = TestServer::start().await;
    let r = s
        .change("alice", "Not-Her-Passw0rd", "Alice-Changed1")
        .await;
    r.assert_error(400, "wrong_old_password", None);
    s.assert_current("alice", ALICE).await;
}

#[tokio::test]
async fn s3_new_password_equals_old() {
    let s = TestServer::start().await;
    let r = s.change("alice", ALICE, ALICE).await;
    r.assert_error(400, "duplicate_password", None);
}

#[tokio::test]
async fn s4_new_password_equals_a_previous_one() {
    let s = TestServer::start().await;
    assert_eq!(s.change("alice", ALICE, "Alice-Second1").await.status, 200);
    let r = s.change("alice", "Alice-Second1", ALICE).await;
    r.assert_error(400, "recurrent_password", None);
    s.assert_current("alice", "Alice-Second1").await;
}

#[tokio::test]
async fn s5_new_password_breaks_the_policy() {
    let s = TestServer::start().await;
    for bad in [
        "Short1a",
        "alllower1",
        "ALLUPPER1",
        "NoDigitsHere",
        &format!("Aa1{}", "x".repeat(62)),
    ] {
        let r = s.change("alice", ALICE, bad).await;
        r.assert_error(400, "invalid_new_password", None);
    }
    s.assert_current("alice", ALICE).await;
}

#[tokio::test]
async fn s6_user_not_found() {
    let s = TestServer::start().await;
    let r = s.change("nobody", "Whatever-1", "Whatever-2").await;
    r.assert_error(400, "user_not_found", None);
}

#[tokio::test]
async fn s7_user_frozen() {
    let s = TestServer::start().await;
    let r = s.change("frank", "Frank-Passw0rd", "Frank-Changed1").await;
    r.assert_error(400, "abnormal_user_status", Some("User is frozen."));
}

#[tokio::test]
async fn s8_user_locked() {
    let s = TestServer::start().await;
    let r = s.change("lucy", "Lucy-Passw0rd", "Lucy-Changed1").await;
    r.assert_error(400, "abnormal_user_status", Some("User is locked."));
}

#[tokio::test]
async fn s9_bearer_token_missing() {
    let s = TestServer::start().await;
    let body = r#"{"old_password":"Alice-Passw0rd","new_password":"Alice-Changed1"}"#;
    let r = post(s.addr(), &[("content-type", "application/json")], body).await;
    r.assert_challenge(400, S9);
    s.assert_current("alice", ALICE).await;
}

#[tokio::test]
async fn s10_bearer_token_wrong() {
    let s = TestServer::start().await;
    let body = r#"{"old_password":"Alice-Passw0rd","new_password":"Alice-Changed1"}"#;
    let r = post(
        s.addr(),
        &[
            ("authorization", "Bearer not.a.jwt"),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await;
    r.assert_challenge(401, S10);
}

#[tokio::test]
async fn s11_token_without_openid_scope() {
    let s = TestServer::start().await;
    let mut c = claims(&s.config, "alice");
    c["scope"] = serde_json::json!(["profile"]);
    let auth = format!(
        "Bearer {}",
        mint(&s.config, jsonwebtoken::Algorithm::RS256, c)
    );
    let body = r#"{"old_password":"Alice-Passw0rd","new_password":"Alice-Changed1"}"#;
    let r = post(
        s.addr(),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await;
    r.assert_challenge(403, S11);
    s.assert_current("alice", ALICE).await;
}
