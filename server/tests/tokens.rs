//! Token validation over HTTP with the committed development keys: every
//! way a token can be wrong gets S10, a valid token without `openid` S11.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::support::*;

async fn with_token(s: &TestServer, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    let body = r#"{"old_password":"Alice-Passw0rd","new_password":"Alice-Passw0rd"}"#;
    post(
        s.addr(),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await
}

/// A valid token reaches the use case: alice's duplicate is reported.
async fn assert_accepted(s: &TestServer, token: &str) {
    with_token(s, token)
        .await
        .assert_error(400, "duplicate_password", None);
}

async fn assert_s10(s: &TestServer, token: &str) {
    with_token(s, token).await.assert_challenge(401, S10);
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn rs256_and_es256_with_array_or_string_scope_are_accepted() {
    let s = TestServer::start().await;
    let c = claims(&s.config, "alice");
    assert_accepted(&s, &mint(&s.config, Algorithm::RS256, c.clone())).await;
    assert_accepted(&s, &mint(&s.config, Algorithm::ES256, c.clone())).await;
    let mut string_scope = c.clone();
    string_scope["scope"] = json!("profile openid");
    assert_accepted(&s, &mint(&s.config, Algorithm::RS256, string_scope)).await;
    let mut without_nbf = c;
    without_nbf.as_object_mut().unwrap().remove("nbf");
    assert_accepted(&s, &mint(&s.config, Algorithm::RS256, without_nbf)).await;
}

#[tokio::test]
async fn the_mint_token_command_output_is_accepted() {
    let s = TestServer::start().await;
    for (alg, format) in [
        ("RS256", server::cli::ScopeFormat::Array),
        ("ES256", server::cli::ScopeFormat::String),
    ] {
        let token =
            server::cli::mint(&s.config, "alice", "openid profile", format, 300, alg).unwrap();
        assert_accepted(&s, &token).await;
    }
    let expired = server::cli::mint(
        &s.config,
        "alice",
        "openid",
        server::cli::ScopeFormat::Array,
        -100,
        "RS256",
    )
    .unwrap();
    assert_s10(&s, &expired).await;
}

#[tokio::test]
async fn claim_failures_are_s10() {
    let s = TestServer::start().await;
    let now = server::now_ms() / 1000;
    let base = claims(&s.config, "alice");
    type Edit = Box<dyn Fn(&mut Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "expired beyond leeway",
            Box::new(move |c| c["exp"] = json!(now - 31)),
        ),
        (
            "nbf in the future",
            Box::new(move |c| c["nbf"] = json!(now + 120)),
        ),
        (
            "wrong issuer",
            Box::new(|c| c["iss"] = json!("https://evil.example")),
        ),
        (
            "wrong audience",
            Box::new(|c| c["aud"] = json!("other-app")),
        ),
        (
            "no exp",
            Box::new(|c| drop(c.as_object_mut().unwrap().remove("exp"))),
        ),
        (
            "no sub",
            Box::new(|c| drop(c.as_object_mut().unwrap().remove("sub"))),
        ),
        ("empty sub", Box::new(|c| c["sub"] = json!(""))),
        (
            "no iss",
            Box::new(|c| drop(c.as_object_mut().unwrap().remove("iss"))),
        ),
        (
            "no aud",
            Box::new(|c| drop(c.as_object_mut().unwrap().remove("aud"))),
        ),
        ("scope is a number", Box::new(|c| c["scope"] = json!(7))),
    ];
    for (what, edit) in edits {
        let mut c = base.clone();
        edit(&mut c);
        let r = with_token(&s, &mint(&s.config, Algorithm::RS256, c)).await;
        assert_eq!(r.status, 401, "{what}");
        r.assert_challenge(401, S10);
    }
}

#[tokio::test]
async fn leeway_is_honoured() {
    let s = TestServer::start().await;
    let now = server::now_ms() / 1000;
    let mut c = claims(&s.config, "alice");
    c["exp"] = json!(now - 10); // within the 30 s leeway
    assert_accepted(&s, &mint(&s.config, Algorithm::RS256, c)).await;
}

#[tokio::test]
async fn signature_and_algorithm_attacks_are_s10() {
    let s = TestServer::start().await;
    let c = claims(&s.config, "alice");
    // Signed by a key that is not in the JWKS, under a trusted kid.
    assert_s10(
        &s,
        &sign(
            Algorithm::RS256,
            "untrusted-rs256.pem",
            Some("dev-rs256"),
            &c,
        ),
    )
    .await;
    // Unknown kid, and no kid at all.
    assert_s10(
        &s,
        &sign(Algorithm::RS256, "dev-rs256.pem", Some("nope"), &c),
    )
    .await;
    assert_s10(&s, &sign(Algorithm::RS256, "dev-rs256.pem", None, &c)).await;
    // RS256 token under the ES256 kid: the key pins the algorithm.
    assert_s10(
        &s,
        &sign(Algorithm::RS256, "dev-rs256.pem", Some("dev-es256"), &c),
    )
    .await;
    // HMAC with the public JWKS material as the secret.
    assert_s10(
        &s,
        &sign(Algorithm::HS256, "jwks.json", Some("dev-rs256"), &c),
    )
    .await;
    // alg: none, unsigned.
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": "dev-rs256"})),
        b64(&c)
    );
    assert_s10(&s, &none).await;
    // A valid token with one payload byte changed.
    let good = mint(&s.config, Algorithm::RS256, c.clone());
    let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
    let mut forged = c;
    forged["sub"] = json!("bob");
    parts[1] = b64(&forged);
    assert_s10(&s, &parts.join(".")).await;
    // Garbage of several shapes.
    for garbage in [
        "x",
        "a.b",
        "a.b.c",
        "a.b.c.d.e",
        "eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
    ] {
        assert_s10(&s, garbage).await;
    }
}

#[tokio::test]
async fn missing_or_foreign_scope_is_s11() {
    let s = TestServer::start().await;
    let base = claims(&s.config, "alice");
    for scope in [
        None,
        Some(json!([])),
        Some(json!(["profile"])),
        Some(json!("profile email")),
        Some(json!("openidx")),
    ] {
        let mut c = base.clone();
        match &scope {
            None => drop(c.as_object_mut().unwrap().remove("scope")),
            Some(v) => c["scope"] = v.clone(),
        }
        let r = with_token(&s, &mint(&s.config, Algorithm::ES256, c)).await;
        assert_eq!(r.status, 403, "scope {scope:?}");
        r.assert_challenge(403, S11);
    }
}
