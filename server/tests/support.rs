//! Test helpers: a server on an ephemeral port with a temporary database and
//! the cheap hashing profile, a minimal HTTP/1.1 client, and token minting.

use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use server::config::HashingProfile;
use server::{App, Config, Running};

pub const S9: &str = "Bearer error=\"invalid_request\", error_description=\"Bearer token not found in the request\", error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\"";
pub const S10: &str = "Bearer error=\"invalid_token\", error_description=\"Error decoding JWT\", error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\"";
pub const S11: &str = "Bearer error=\"insufficient_scope\", error_description=\"The request requires higher privileges than provided by the access token.\", error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\"";
pub const JSON_UTF8: &str = "application/json;charset=UTF-8";

pub const ALICE: &str = "Alice-Passw0rd";

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The development config with a temporary database and cheap hashing.
pub fn config(dir: &tempfile::TempDir) -> Config {
    let mut c = Config::load(&fixtures().join("server.toml")).unwrap();
    c.db = dir.path().join("test.sqlite3");
    c.hashing.profile = HashingProfile::CheapTestOnly;
    c
}

pub struct TestServer {
    pub running: Running,
    pub config: Config,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::with(|_| {}).await
    }

    pub async fn with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(&dir);
        tweak(&mut config);
        let app = App::build(&config).unwrap();
        let running = Running::start(app, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        TestServer {
            running,
            config,
            _dir: dir,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    /// A token for `sub` with the `openid` scope, RS256.
    pub fn token(&self, sub: &str) -> String {
        mint(&self.config, Algorithm::RS256, claims(&self.config, sub))
    }

    /// POST /change_user_password with a token for `sub`.
    pub async fn change(&self, sub: &str, old: &str, new: &str) -> Reply {
        let body = json!({"old_password": old, "new_password": new}).to_string();
        let auth = format!("Bearer {}", self.token(sub));
        send(
            self.addr(),
            "POST",
            "/change_user_password",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.into_bytes(),
        )
        .await
    }

    /// Asserts that `password` is `sub`'s current one, without changing it:
    /// the server answers duplicate_password only after verifying the old one.
    pub async fn assert_current(&self, sub: &str, password: &str) {
        let r = self.change(sub, password, password).await;
        r.assert_error(400, "duplicate_password", None);
    }

    pub async fn assert_not_current(&self, sub: &str, password: &str) {
        let r = self.change(sub, password, password).await;
        r.assert_error(400, "wrong_old_password", None);
    }
}

/// Standard claims: vendor form (scope as a JSON array), valid for 300 s.
pub fn claims(config: &Config, sub: &str) -> Value {
    let now = server::now_ms() / 1000;
    json!({
        "iss": config.issuer, "aud": config.audience, "sub": sub,
        "iat": now, "nbf": now, "exp": now + 300, "jti": "test",
        "scope": ["openid"],
    })
}

/// Signs `claims` with the development key of `alg` and its kid.
pub fn mint(_config: &Config, alg: Algorithm, claims: Value) -> String {
    let (file, kid) = match alg {
        Algorithm::ES256 => ("dev-es256.pem", "dev-es256"),
        _ => ("dev-rs256.pem", "dev-rs256"),
    };
    sign(alg, file, Some(kid), &claims)
}

pub fn sign(alg: Algorithm, key_file: &str, kid: Option<&str>, claims: &Value) -> String {
    let pem = std::fs::read(fixtures().join("keys").join(key_file)).unwrap();
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
        Algorithm::HS256 => EncodingKey::from_secret(&pem),
        _ => EncodingKey::from_rsa_pem(&pem).unwrap(),
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// A JSON error: status, exact media type, exact members.
    pub fn assert_error(&self, status: u16, error: &str, description: Option<&str>) {
        assert_eq!(self.status, status, "body: {:?}", self.body);
        assert_eq!(self.header("content-type"), Some(JSON_UTF8));
        let mut expected = json!({"error": error});
        if let Some(d) = description {
            expected["error_description"] = json!(d);
        }
        assert_eq!(self.json(), expected);
        assert!(self.header("www-authenticate").is_none());
    }

    /// A bearer challenge: status, exact header, no body.
    pub fn assert_challenge(&self, status: u16, challenge: &str) {
        assert_eq!(self.status, status, "body: {:?}", self.body);
        assert_eq!(self.header("www-authenticate"), Some(challenge));
        assert!(self.body.is_empty(), "body: {:?}", self.body);
    }

    /// `invalid_request` with a description (the decided shape for bad input).
    pub fn assert_invalid_request(&self, status: u16) {
        assert_eq!(self.status, status, "body: {:?}", self.body);
        assert_eq!(self.header("content-type"), Some(JSON_UTF8));
        let v = self.json();
        assert_eq!(v["error"], "invalid_request");
        assert!(
            v["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
}

/// One request on a fresh connection.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = sender
        .send_request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

/// POST /change_user_password with raw headers and body.
pub async fn post(addr: SocketAddr, headers: &[(&str, &str)], body: &str) -> Reply {
    send(
        addr,
        "POST",
        "/change_user_password",
        headers,
        body.as_bytes().to_vec(),
    )
    .await
}

/// A change request with `token` to the server at `addr`.
pub async fn change_with(addr: SocketAddr, token: &str, old: &str, new: &str) -> Reply {
    let auth = format!("Bearer {token}");
    let body = json!({"old_password": old, "new_password": new}).to_string();
    post(
        addr,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        &body,
    )
    .await
}
