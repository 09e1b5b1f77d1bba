//! Issue 9, token and protocol edges: RFC 9068 / RFC 8725 token checks with
//! really signed tokens, a JWKS that could never be right refused at start,
//! the served JWKS rebuilt from public parts, and the small points
//! (non-ASCII non-Bearer credentials, duplicate JSON members, `Allow` with
//! OPTIONS, `Cache-Control: no-store`).

use std::path::Path;
use std::process::Command;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::procs::{BIN, write_config};
use crate::support::*;

const DUP: &str = r#"{"old_password":"Alice-Passw0rd","new_password":"Alice-Passw0rd"}"#;

/// An RS256 token under the dev key, header edited by `edit`.
fn token_with(edit: impl FnOnce(&mut Header), claims: &Value) -> String {
    let pem = std::fs::read(fixtures().join("keys/dev-rs256.pem")).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("dev-rs256".into());
    edit(&mut header);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_pem(&pem).unwrap()).unwrap()
}

async fn answer(s: &TestServer, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    post(
        s.addr(),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        DUP,
    )
    .await
}

#[tokio::test]
async fn header_checks_crit_and_typ() {
    let s = TestServer::start().await;
    let c = claims(&s.config, "alice");
    for typ in [
        None,
        Some("JWT"),
        Some("at+jwt"),
        Some("application/AT+JWT"),
    ] {
        let t = token_with(|h| h.typ = typ.map(str::to_string), &c);
        answer(&s, &t)
            .await
            .assert_error(400, "duplicate_password", None);
    }
    for typ in ["logout+jwt", "JOSE", "id_token+jwt"] {
        let t = token_with(|h| h.typ = Some(typ.into()), &c);
        answer(&s, &t).await.assert_challenge(401, S10);
    }
    let t = token_with(|h| h.crit = Some(vec!["urn:example:unknown".into()]), &c);
    answer(&s, &t).await.assert_challenge(401, S10);
}

#[tokio::test]
async fn claim_checks_iss_iat_and_lifetime() {
    let s = TestServer::with(|c| c.max_token_lifetime_secs = Some(600)).await;
    let now = server::now_ms() / 1000;
    let base = claims(&s.config, "alice");
    let accepted = |edit: &dyn Fn(&mut Value)| {
        let mut c = base.clone();
        edit(&mut c);
        c
    };
    let cases: [(&str, Value, u16); 6] = [
        (
            "iss as an array holding the issuer",
            accepted(&|c| c["iss"] = json!([c["iss"].clone()])),
            401,
        ),
        (
            "iat ten years ahead",
            accepted(&|c| c["iat"] = json!(now + 10 * 365 * 86_400)),
            401,
        ),
        (
            "iat beyond the 30 s leeway",
            accepted(&|c| c["iat"] = json!(now + 60)),
            401,
        ),
        (
            "lifetime 601 s",
            accepted(&|c| c["exp"] = json!(c["iat"].as_i64().unwrap() + 601)),
            401,
        ),
        (
            "no iat while the lifetime is bounded",
            accepted(&|c| drop(c.as_object_mut().unwrap().remove("iat"))),
            401,
        ),
        (
            "lifetime exactly 600 s",
            accepted(&|c| c["exp"] = json!(c["iat"].as_i64().unwrap() + 600)),
            400,
        ),
    ];
    for (what, c, status) in cases {
        let r = answer(&s, &token_with(|_| {}, &c)).await;
        assert_eq!(r.status, status, "{what}");
        if status == 401 {
            r.assert_challenge(401, S10);
        } else {
            r.assert_error(400, "duplicate_password", None);
        }
    }
    // Without the bound, a long-lived token with no iat is fine.
    let s = TestServer::with(|c| c.max_token_lifetime_secs = None).await;
    let mut c = claims(&s.config, "alice");
    c.as_object_mut().unwrap().remove("iat");
    c["exp"] = json!(now + 86_400);
    answer(&s, &token_with(|_| {}, &c))
        .await
        .assert_error(400, "duplicate_password", None);
}

/// Issue 21: the default configuration bounds the token lifetime (one
/// hour): a ten-year `exp` and a token without `iat` are S10, an hour is
/// accepted.
#[tokio::test]
async fn the_default_config_bounds_the_token_lifetime() {
    let s = TestServer::start().await;
    let base = claims(&s.config, "alice");
    let iat = base["iat"].as_i64().unwrap();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut c = base.clone();
        edit(&mut c);
        token_with(|_| {}, &c)
    };
    let ten_years = with(&|c| c["exp"] = json!(iat + 10 * 365 * 86_400));
    answer(&s, &ten_years).await.assert_challenge(401, S10);
    let no_iat = with(&|c| drop(c.as_object_mut().unwrap().remove("iat")));
    answer(&s, &no_iat).await.assert_challenge(401, S10);
    let an_hour = with(&|c| c["exp"] = json!(iat + 3_600));
    answer(&s, &an_hour)
        .await
        .assert_error(400, "duplicate_password", None);
}

/// A copy of the dev JWKS with key `index` edited.
fn jwks_with(
    dir: &Path,
    index: usize,
    edit: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> std::path::PathBuf {
    let mut set: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("keys/jwks.json")).unwrap())
            .unwrap();
    edit(set["keys"][index].as_object_mut().unwrap());
    let path = dir.join("jwks.json");
    std::fs::write(&path, set.to_string()).unwrap();
    path
}

/// The modulus of a 1024-bit RSA key (`openssl genrsa 1024`).
const WEAK_RSA_N: &str = "zTt8P3_oCQIMiFtRvvM4HADAORLujSvXdT-Hdid9WbSR7dbSVNXPWne1ArHGkdBEJQwuWvzydVRGjoWe1iq8Ys2f114gGZYlYH0KyjUvqJvV6Ze967dB3O_rgLtLs6GPYxip4u4FaUARxRIkI2q3EsdP7ImfHWiKP7TJnCl-8Oc";

#[test]
fn a_jwks_that_could_never_be_right_is_refused_at_start() {
    type Edit = Box<dyn FnOnce(&mut serde_json::Map<String, Value>)>;
    let cases: Vec<(usize, Edit, &str)> = vec![
        (
            0,
            Box::new(|k| drop(k.insert("d".into(), json!("AQAB")))),
            "key `dev-rs256`: holds the private member `d`",
        ),
        (
            0,
            Box::new(|k| drop(k.insert("use".into(), json!("enc")))),
            "key `dev-rs256`: `use` is \"enc\"",
        ),
        (
            1,
            Box::new(|k| drop(k.insert("crv".into(), json!("P-521")))),
            "key `dev-es256`: curve P521",
        ),
        (
            // A 1024-bit modulus (a real key, `openssl genrsa 1024`).
            0,
            Box::new(|k| drop(k.insert("n".into(), json!(WEAK_RSA_N)))),
            "key `dev-rs256`: RSA modulus of about 1024 bits",
        ),
    ];
    for (index, edit, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let jwks = jwks_with(dir.path(), index, edit);
        let config = write_config(dir.path(), "");
        let text = std::fs::read_to_string(&config).unwrap();
        let dev = fixtures().canonicalize().unwrap().join("keys/jwks.json");
        std::fs::write(
            &config,
            text.replace(dev.to_str().unwrap(), jwks.to_str().unwrap()),
        )
        .unwrap();
        let out = Command::new(BIN)
            .args(["--config", config.to_str().unwrap(), "serve"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{expected}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("`jwks`") && err.contains(expected), "{err}");
    }
}

#[tokio::test]
async fn the_served_jwks_is_rebuilt_from_public_parts() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = jwks_with(dir.path(), 0, |k| {
        k.insert("x5c".into(), json!(["MIIBfake"]));
        k.insert("note".into(), json!("not for publishing"));
    });
    let s = TestServer::with(|c| c.jwks = jwks).await;
    let r = send(s.addr(), "GET", "/oauth2/jwks", &[], vec![]).await;
    assert_eq!(r.status, 200);
    let served = r.json();
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("keys/jwks.json")).unwrap())
            .unwrap();
    // The committed file holds exactly the public members, so it is what must be served.
    assert_eq!(served, file);
}

/// One raw request; returns the response head.
async fn raw_head(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = vec![0; 4096];
    let n = stream.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn another_scheme_with_non_ascii_bytes_is_s9() {
    let s = TestServer::start().await;
    for value in [
        &b"Basic \xe9t\xe9:p\xe4ss"[..],
        b"Digest username=\"\xc3\xa9\"",
    ] {
        let mut req = b"POST /change_user_password HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: ".to_vec();
        req.extend_from_slice(value);
        req.extend_from_slice(format!("\r\ncontent-length: {}\r\n\r\n{DUP}", DUP.len()).as_bytes());
        let head = raw_head(s.addr(), &req).await;
        assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains(&format!("www-authenticate: {}", S9.to_ascii_lowercase())),
            "{head}"
        );
    }
    // A Bearer token with a non-ASCII byte is still a wrong token (S10).
    let req = b"POST /change_user_password HTTP/1.1\r\nhost: x\r\nauthorization: Bearer abc\xe9\r\ncontent-length: 0\r\n\r\n";
    let head = raw_head(s.addr(), req).await;
    assert!(head.starts_with("HTTP/1.1 401 "), "{head}");
}

#[tokio::test]
async fn duplicate_members_get_invalid_request_and_change_nothing() {
    let s = TestServer::start().await;
    let auth = format!("Bearer {}", s.token("alice"));
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    for body in [
        r#"{"old_password":"Alice-Passw0rd","new_password":"weak","new_password":"Alice-Changed1"}"#,
        r#"{"old_password":"wrong","old_password":"Alice-Passw0rd","new_password":"Alice-Changed1"}"#,
    ] {
        post(s.addr(), &h, body).await.assert_error(
            400,
            "invalid_request",
            Some("request body has a duplicate member"),
        );
    }
    s.assert_current("alice", ALICE).await;
}

#[tokio::test]
async fn allow_lists_options_where_a_preflight_is_served() {
    let with_cors = TestServer::start().await;
    assert!(!with_cors.config.cors.allowed_origins.is_empty());
    let without = TestServer::with(|c| c.cors.allowed_origins.clear()).await;
    for (s, allow) in [(&with_cors, "POST, OPTIONS"), (&without, "POST")] {
        for method in ["GET", "PUT", "OPTIONS"] {
            let r = send(s.addr(), method, "/change_user_password", &[], vec![]).await;
            r.assert_error(405, "method_not_allowed", None);
            assert_eq!(r.header("allow"), Some(allow), "{method}");
        }
    }
}

#[tokio::test]
async fn every_response_the_server_builds_says_no_store() {
    let s = TestServer::with(|c| {
        c.hashing.workers = 1;
        c.hashing.queue_timeout_ms = 50;
    })
    .await;
    let auth = format!("Bearer {}", s.token("alice"));
    let no_openid = format!(
        "Bearer {}",
        mint(&s.config, Algorithm::RS256, {
            let mut c = claims(&s.config, "alice");
            c["scope"] = json!(["profile"]);
            c
        })
    );
    let json_ct = ("content-type", "application/json");
    let preflight = [
        ("origin", "http://localhost:3000"),
        ("access-control-request-method", "POST"),
    ];
    let big = "x".repeat(10_000);
    let mut replies = vec![
        ("S9", post(s.addr(), &[json_ct], DUP).await),
        (
            "S10",
            post(s.addr(), &[("authorization", "Bearer a.b.c"), json_ct], DUP).await,
        ),
        (
            "S11",
            post(s.addr(), &[("authorization", &no_openid), json_ct], DUP).await,
        ),
        (
            "S3",
            post(s.addr(), &[("authorization", &auth), json_ct], DUP).await,
        ),
        (
            "400",
            post(s.addr(), &[("authorization", &auth), json_ct], "{").await,
        ),
        (
            "413",
            post(s.addr(), &[("authorization", &auth), json_ct], &big).await,
        ),
        (
            "415",
            post(s.addr(), &[("authorization", &auth)], DUP).await,
        ),
        ("404", send(s.addr(), "GET", "/nope", &[], vec![]).await),
        (
            "405",
            send(s.addr(), "GET", "/change_user_password", &[], vec![]).await,
        ),
        (
            "204",
            send(
                s.addr(),
                "OPTIONS",
                "/change_user_password",
                &preflight,
                vec![],
            )
            .await,
        ),
        (
            "jwks",
            send(s.addr(), "GET", "/oauth2/jwks", &[], vec![]).await,
        ),
        (
            "discovery",
            send(
                s.addr(),
                "GET",
                "/.well-known/openid-configuration",
                &[],
                vec![],
            )
            .await,
        ),
    ];
    let held = s.running.app.hasher().session("holder").await.unwrap();
    replies.push(("503", s.change("alice", ALICE, "Alice-Changed1").await));
    drop(held);
    replies.push(("200", s.change("alice", ALICE, "Alice-Changed1").await));
    let statuses: Vec<u16> = replies.iter().map(|(_, r)| r.status.as_u16()).collect();
    assert_eq!(
        statuses,
        [
            400, 401, 403, 400, 400, 413, 415, 404, 405, 204, 200, 200, 503, 200
        ]
    );
    for (what, r) in &replies {
        assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
    }
}
