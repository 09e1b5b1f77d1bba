//! What the vendor document leaves open, as this project decided it (see the
//! decisions table in docs/behaviour.md), and the precedence order.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

const BODY: &str = r#"{"old_password":"Alice-Passw0rd","new_password":"Alice-Changed1"}"#;

fn auth(s: &TestServer) -> String {
    format!("Bearer {}", s.token("alice"))
}

#[tokio::test]
async fn other_methods_get_405_with_allow_post() {
    let s = TestServer::with(|c| c.cors.allowed_origins.clear()).await;
    for method in ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let r = send(s.addr(), method, "/change_user_password", &[], vec![]).await;
        r.assert_error(405, "method_not_allowed", None);
        assert_eq!(r.header("allow"), Some("POST"), "{method}");
    }
}

#[tokio::test]
async fn unknown_paths_get_404() {
    let s = TestServer::start().await;
    for path in [
        "/",
        "/change_user_password/",
        "/change_user_passwords",
        "/CHANGE_USER_PASSWORD",
    ] {
        let r = send(s.addr(), "POST", path, &[], vec![]).await;
        r.assert_error(404, "not_found", None);
    }
}

#[tokio::test]
async fn non_json_content_type_gets_415_after_the_token() {
    let s = TestServer::start().await;
    let a = auth(&s);
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/json; charset=latin1"),
    ] {
        let mut h = vec![("authorization", a.as_str())];
        if let Some(ct) = ct {
            h.push(("content-type", ct));
        }
        post(s.addr(), &h, BODY).await.assert_invalid_request(415);
    }
    // Without a token the token wins.
    post(s.addr(), &[("content-type", "text/plain")], BODY)
        .await
        .assert_challenge(400, S9);
    // Parameters and case are tolerated.
    let r = post(
        s.addr(),
        &[
            ("authorization", &a),
            ("content-type", "Application/JSON; charset=utf-8"),
        ],
        BODY,
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn malformed_bodies_get_invalid_request() {
    let s = TestServer::start().await;
    let a = auth(&s);
    let h = [
        ("authorization", a.as_str()),
        ("content-type", "application/json"),
    ];
    for body in [
        "",
        "{",
        "[]",
        "null",
        r#"{"new_password":"Alice-Changed1"}"#,
        r#"{"old_password":"Alice-Passw0rd"}"#,
        r#"{"old_password":null,"new_password":"Alice-Changed1"}"#,
        r#"{"old_password":"Alice-Passw0rd","new_password":["x"]}"#,
        r#"{"old_password":1,"new_password":"Alice-Changed1"}"#,
    ] {
        let r = post(s.addr(), &h, body).await;
        assert_eq!(r.status, 400, "{body}");
        r.assert_invalid_request(400);
    }
    let deep = format!("{}{}", "[".repeat(2_000), "]".repeat(2_000));
    send(
        s.addr(),
        "POST",
        "/change_user_password",
        &h,
        deep.into_bytes(),
    )
    .await
    .assert_invalid_request(400);
    let invalid_utf8 = b"{\"old_password\":\"\xff\",\"new_password\":\"x\"}".to_vec();
    send(s.addr(), "POST", "/change_user_password", &h, invalid_utf8)
        .await
        .assert_invalid_request(400);
    s.assert_current("alice", ALICE).await;
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let s = TestServer::start().await;
    let a = auth(&s);
    let h = [
        ("authorization", a.as_str()),
        ("content-type", "application/json"),
    ];
    let big = format!(
        r#"{{"old_password":"{}","new_password":"x"}}"#,
        "a".repeat(5000)
    );
    post(s.addr(), &h, &big).await.assert_invalid_request(413);
    // Exactly at the limit is read (and then judged on content).
    let at_limit = format!("{BODY}{}", " ".repeat(4096 - BODY.len()));
    assert_eq!(at_limit.len(), 4096);
    assert_eq!(post(s.addr(), &h, &at_limit).await.status, 200);
}

#[tokio::test]
async fn chunked_oversized_body_gets_413() {
    let s = TestServer::start().await;
    let mut stream = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
    let head = format!(
        "POST /change_user_password HTTP/1.1\r\nhost: x\r\nauthorization: {}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        auth(&s)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = "a".repeat(3000);
    for _ in 0..2 {
        let _ = stream
            .write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes())
            .await;
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut buf = vec![0; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
}

#[tokio::test]
async fn authorization_header_variants() {
    let s = TestServer::start().await;
    let token = s.token("alice");
    let ct = ("content-type", "application/json");
    let dup = r#"{"old_password":"Alice-Passw0rd","new_password":"Alice-Passw0rd"}"#;
    // Lower-case scheme is accepted (RFC 7235: case-insensitive).
    let lower = format!("bearer {token}");
    post(s.addr(), &[("authorization", &lower), ct], dup)
        .await
        .assert_error(400, "duplicate_password", None);
    // Another scheme, an empty token: no bearer token (S9).
    for value in [
        "Basic YWxpY2U6cGFzcw==",
        "Bearer",
        "Bearer    ",
        "Token abc",
    ] {
        post(s.addr(), &[("authorization", value), ct], dup)
            .await
            .assert_challenge(400, S9);
    }
    // Not b64token syntax: a wrong token (S10).
    let spaced = format!("Bearer {token} extra");
    post(s.addr(), &[("authorization", &spaced), ct], dup)
        .await
        .assert_challenge(401, S10);
    // Two Authorization headers: S9.
    let b = format!("Bearer {token}");
    post(
        s.addr(),
        &[("authorization", &b), ("authorization", &b), ct],
        dup,
    )
    .await
    .assert_challenge(400, S9);
    // Token in the query string or the body is not looked at.
    let path = format!("/change_user_password?access_token={token}");
    send(s.addr(), "POST", &path, &[ct], dup.as_bytes().to_vec())
        .await
        .assert_challenge(400, S9);
    let form = format!("access_token={token}");
    post(
        s.addr(),
        &[("content-type", "application/x-www-form-urlencoded")],
        &form,
    )
    .await
    .assert_challenge(400, S9);
}

#[tokio::test]
async fn precedence_token_body_user_status_old_duplicate_policy() {
    let s = TestServer::start().await;
    // No token and a bad body: the token wins.
    post(s.addr(), &[("content-type", "application/json")], "{")
        .await
        .assert_challenge(400, S9);
    // Unknown user and a bad body: the body wins.
    let nobody = format!("Bearer {}", s.token("nobody"));
    post(
        s.addr(),
        &[
            ("authorization", &nobody),
            ("content-type", "application/json"),
        ],
        "{",
    )
    .await
    .assert_invalid_request(400);
    // Frozen and wrong old password: status wins (no password oracle).
    s.change("frank", "wrong", "x").await.assert_error(
        400,
        "abnormal_user_status",
        Some("User is frozen."),
    );
    s.change("lucy", "wrong", "x").await.assert_error(
        400,
        "abnormal_user_status",
        Some("User is locked."),
    );
    // Frozen and locked at once: frozen.
    s.change("fiona", "Fiona-Passw0rd", "Fiona-Changed1")
        .await
        .assert_error(400, "abnormal_user_status", Some("User is frozen."));
    // Wrong old password and a new one that breaks the policy: old password wins.
    s.change("alice", "wrong", "x")
        .await
        .assert_error(400, "wrong_old_password", None);
    // Right old password equal to the new: duplicate (before policy).
    s.change("alice", ALICE, ALICE)
        .await
        .assert_error(400, "duplicate_password", None);
}

#[tokio::test]
async fn nfc_normalisation_makes_composed_and_decomposed_the_same_password() {
    let s = TestServer::start().await;
    let composed = "Caf\u{e9}-Passw0rd";
    let decomposed = "Cafe\u{301}-Passw0rd";
    assert_eq!(s.change("alice", ALICE, composed).await.status, 200);
    s.assert_current("alice", decomposed).await;
    s.change("alice", decomposed, composed)
        .await
        .assert_error(400, "duplicate_password", None);
}

#[tokio::test]
async fn cors_preflight_and_response_headers() {
    let s = TestServer::start().await;
    let pre = [
        ("origin", "http://localhost:3000"),
        ("access-control-request-method", "POST"),
        (
            "access-control-request-headers",
            "authorization, content-type",
        ),
    ];
    let r = send(s.addr(), "OPTIONS", "/change_user_password", &pre, vec![]).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert_eq!(r.header("access-control-allow-methods"), Some("POST"));
    let allowed = r
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"));
    // A foreign origin gets no CORS grant.
    let foreign = [
        ("origin", "https://evil.example"),
        ("access-control-request-method", "POST"),
    ];
    let r = send(
        s.addr(),
        "OPTIONS",
        "/change_user_password",
        &foreign,
        vec![],
    )
    .await;
    assert_eq!(r.status, 405);
    assert!(r.header("access-control-allow-origin").is_none());
    // An actual request from the allowed origin can read the challenge.
    let r = post(s.addr(), &[("origin", "http://localhost:3000")], BODY).await;
    r.assert_challenge(400, S9);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert!(
        r.header("access-control-expose-headers")
            .unwrap()
            .contains("WWW-Authenticate")
    );
    let r = post(s.addr(), &[("origin", "https://evil.example")], BODY).await;
    assert!(r.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn jwks_and_discovery_are_served() {
    let s = TestServer::start().await;
    let r = send(s.addr(), "GET", "/oauth2/jwks", &[], vec![]).await;
    assert_eq!(r.status, 200);
    let jwks = r.json();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["dev-rs256", "dev-es256"]);
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("d").is_none())
    );
    let r = send(
        s.addr(),
        "GET",
        "/.well-known/openid-configuration",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.status, 200);
    let d = r.json();
    assert_eq!(d["issuer"], "http://127.0.0.1:8080");
    assert_eq!(d["jwks_uri"], "http://127.0.0.1:8080/oauth2/jwks");
    let r = send(s.addr(), "POST", "/oauth2/jwks", &[], vec![]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn a_full_hashing_pool_gets_503_with_retry_after() {
    let s = TestServer::with(|c| {
        c.hashing.workers = 1;
        c.hashing.queue_timeout_ms = 50;
    })
    .await;
    let held = s.running.app.hasher().session("holder").await.unwrap();
    let r = s.change("alice", ALICE, "Alice-Changed1").await;
    r.assert_error(
        503,
        "temporarily_unavailable",
        Some("the server is busy; retry later"),
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    drop(held);
    // Requests that need no hashing are not held up by a busy pool.
    let held = s.running.app.hasher().session("holder").await.unwrap();
    post(s.addr(), &[], BODY).await.assert_challenge(400, S9);
    drop(held);
    assert_eq!(s.change("alice", ALICE, "Alice-Changed1").await.status, 200);
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let s = TestServer::with(|c| c.limits.header_read_timeout_ms = 200).await;
    let mut stream = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
    stream
        .write_all(b"POST /change_user_password HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut buf = vec![0; 512];
    let read = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf)).await;
    let n = read
        .expect("the server closes a slow connection")
        .unwrap_or(0);
    // Closed, possibly after a 408.
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
}

#[tokio::test]
async fn slow_bodies_get_408() {
    let s = TestServer::with(|c| c.limits.body_read_timeout_ms = 200).await;
    let mut stream = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
    let head = format!(
        "POST /change_user_password HTTP/1.1\r\nhost: x\r\nauthorization: {}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"old",
        auth(&s)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0; 1024];
    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let s = TestServer::start().await;
    let huge = "a".repeat(20_000);
    let mut stream = tokio::net::TcpStream::connect(s.addr()).await.unwrap();
    let req = format!("POST /change_user_password HTTP/1.1\r\nhost: x\r\nx-big: {huge}\r\n\r\n");
    let _ = stream.write_all(req.as_bytes()).await;
    let mut buf = vec![0; 512];
    let n = stream.read(&mut buf).await.unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");
}

#[tokio::test]
async fn every_response_says_no_store() {
    let s = TestServer::start().await;
    let r = post(s.addr(), &[], BODY).await;
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = s.change("alice", ALICE, "Alice-Changed1").await;
    assert_eq!(r.header("cache-control"), Some("no-store"));
}
