//! Fuzz target `http_request`: raw bytes on a connection → hyper's HTTP/1.1
//! server parser → `server::http::handle` (bearer, JWT, body limits, JSON,
//! the change-password use case, argon2, SQLite) → the bytes sent back.
//!
//! Each input is written to one in-memory connection (`tokio::io::duplex`)
//! served by `hyper::server::conn::http1` with the same settings as
//! `server::server::serve` (plus `half_close`, so the client can end its input
//! and still read every answer). Several pipelined requests per input are fine.
//!
//! Placeholders in the input are replaced before it is sent (see the README):
//! tokens the fuzzer could never forge, and alice's current password, so the
//! fuzzer reaches body parsing and every branch of the use case.
//!
//! Invariants (a panic is a finding):
//! - nothing panics (handler, hyper, or the harness's checks below);
//! - no 5xx other than 503, neither from the service nor on the wire;
//! - a `WWW-Authenticate` answer is 400/401/403 with an empty body;
//! - every service answer carries `Cache-Control: no-store`; every other
//!   error answer is `application/json;charset=UTF-8` with a string `error`;
//!   405 carries `Allow`, 503 carries `Retry-After`;
//! - the bytes on the wire parse as HTTP/1.1 responses whose statuses are the
//!   ones the service produced, in order;
//! - one input's exchange ends within 20 s.

#![no_main]

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use http::response::Parts;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use libfuzzer_sys::fuzz_target;
use server::change_password::ChangeRequest;
use server::cli::{ScopeFormat, mint};
use server::config::HashingProfile;
use server::policy::Policy;
use server::secret::Password;
use server::{App, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Token placeholders: (placeholder, sub, scope, scope format, ttl, alg).
#[rustfmt::skip]
const TOKENS: &[(&str, &str, &str, ScopeFormat, i64, &str)] = &[
    ("@TOKEN@", "alice", "openid", ScopeFormat::Array, 300, "RS256"),
    ("@ES256@", "alice", "openid profile", ScopeFormat::String, 300, "ES256"),
    ("@NOSCOPE@", "alice", "profile", ScopeFormat::Array, 300, "RS256"),
    ("@EXPIRED@", "alice", "openid", ScopeFormat::Array, -300, "RS256"),
    ("@NOUSER@", "nobody", "openid", ScopeFormat::Array, 300, "RS256"),
    ("@FROZEN@", "frank", "openid", ScopeFormat::Array, 300, "RS256"),
    ("@LOCKED@", "lucy", "openid", ScopeFormat::Array, 300, "RS256"),
];
/// alice's current password. Every password placeholder is 14 bytes, like
/// every password the harness tracks, so `Content-Length` in seeds stays right.
const OLD: &str = "@OLD_PASSWORD@";
/// A fresh, policy-valid password never used before.
const NEW: &str = "@NEW_PASSWORD@";
/// alice's previous password (S4), once she has one.
const PRV: &str = "@PRV_PASSWORD@";
/// alice's seed password (fixtures/users.toml).
const ALICE_SEED: &str = "Alice-Passw0rd";
/// Tokens are re-minted after this long (they live 300 s).
const TOKEN_REFRESH: Duration = Duration::from_secs(120);
/// Longest one input's exchange may take.
const EXCHANGE_LIMIT: Duration = Duration::from_secs(20);
/// The JSON error media type, byte for byte.
const JSON_UTF8: &str = "application/json;charset=UTF-8";

struct Harness {
    rt: tokio::runtime::Runtime,
    config: Config,
    policy: Policy,
    state: Mutex<State>,
}

struct State {
    app: Arc<App>,
    generation: u64,
    tokens: HashMap<&'static str, (String, Instant)>,
    /// alice's current password, her previous one, and the stored hash they match.
    current: String,
    previous: Option<String>,
    phc: String,
    fresh: u64,
}

/// Counters printed every `STATS_EVERY` inputs.
static INPUTS: AtomicU64 = AtomicU64::new(0);
static STATUS: [AtomicU64; 600] = [const { AtomicU64::new(0) }; 600];
static HYPER_ONLY: [AtomicU64; 600] = [const { AtomicU64::new(0) }; 600];
static NO_ANSWER: AtomicU64 = AtomicU64::new(0);
static CHANGES: AtomicU64 = AtomicU64::new(0);
static RESETS: AtomicU64 = AtomicU64::new(0);
static REBUILDS: AtomicU64 = AtomicU64::new(0);
const STATS_EVERY: u64 = 20_000;

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let mut config =
            Config::load(Path::new(server::cli::DEFAULT_CONFIG)).expect("the dev config loads");
        config.hashing.profile = HashingProfile::CheapTestOnly;
        // A short automatic lock, so alice is locked (S8) and unlocked again
        // many times per run instead of once for 15 minutes.
        config.lockout.lock_seconds = 1.0;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let (app, generation) = build_app(&mut config, 0);
        let phc = alice_phc(&app);
        eprintln!(
            "harness: app ready (db {}, cheap-test-only hashing, lock_seconds 1)",
            config.db.display()
        );
        let policy = Policy::new(config.policy.clone());
        Harness {
            rt,
            policy,
            state: Mutex::new(State {
                app,
                generation,
                tokens: HashMap::new(),
                current: ALICE_SEED.into(),
                previous: None,
                phc,
                fresh: 0,
            }),
            config,
        }
    })
}

/// A fresh database file per process and generation (removed first if left over).
fn build_app(config: &mut Config, generation: u64) -> (Arc<App>, u64) {
    if generation == 0 {
        remove_stale_dbs();
    }
    let db = db_path(generation);
    remove_db(&db);
    if generation > 0 {
        remove_db(&db_path(generation - 1));
    }
    config.db = db;
    let app = App::build(config).expect("the app builds");
    (Arc::new(app), generation)
}

fn db_path(generation: u64) -> PathBuf {
    std::env::temp_dir().join(format!(
        "fuzz-http-request-{}-{generation}.sqlite3",
        std::process::id()
    ))
}

/// libFuzzer ends the process with `exit`, so nothing is dropped: remove the
/// databases of earlier runs whose process is gone.
fn remove_stale_dbs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix("fuzz-http-request-"))
        else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn remove_db(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

fn alice_phc(app: &App) -> String {
    app.store()
        .find("alice")
        .expect("the store answers")
        .expect("alice is seeded")
        .password_hash
}

/// A never-used, policy-valid, 14-byte password.
fn fresh_password(state: &mut State) -> String {
    state.fresh += 1;
    format!("N{:09}-aA1", state.fresh % 1_000_000_000)
}

/// Passwords the harness can put into a seed without changing its length.
fn is_trackable(p: &str) -> bool {
    p.len() == OLD.len() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Replaces every placeholder; returns the bytes to send and the fresh
/// passwords handed out for `@NEW_PASSWORD@`.
fn substitute(h: &Harness, state: &mut State, input: &[u8]) -> (Vec<u8>, Vec<String>) {
    let mut out = Vec::with_capacity(input.len() + 64);
    let mut fresh = Vec::new();
    let mut i = 0;
    'scan: while i < input.len() {
        if input[i] == b'@' {
            let rest = &input[i..];
            for &(name, sub, scope, format, ttl, alg) in TOKENS {
                if rest.starts_with(name.as_bytes()) {
                    let now = Instant::now();
                    let (token, _) = state
                        .tokens
                        .entry(name)
                        .and_modify(|(t, at)| {
                            if now.duration_since(*at) > TOKEN_REFRESH {
                                *t = mint(&h.config, sub, scope, format, ttl, alg)
                                    .expect("a dev token");
                                *at = now;
                            }
                        })
                        .or_insert_with(|| {
                            let t =
                                mint(&h.config, sub, scope, format, ttl, alg).expect("a dev token");
                            (t, now)
                        });
                    out.extend_from_slice(token.as_bytes());
                    i += name.len();
                    continue 'scan;
                }
            }
            if rest.starts_with(OLD.as_bytes()) {
                out.extend_from_slice(state.current.as_bytes());
                i += OLD.len();
                continue;
            }
            if rest.starts_with(PRV.as_bytes()) {
                let prev = state.previous.as_deref().unwrap_or("NoPrevious-0aA");
                out.extend_from_slice(prev.as_bytes());
                i += PRV.len();
                continue;
            }
            if rest.starts_with(NEW.as_bytes()) {
                let p = fresh_password(state);
                out.extend_from_slice(p.as_bytes());
                fresh.push(p);
                i += NEW.len();
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    (out, fresh)
}

/// What the service answered, in order.
struct Served {
    method: Method,
    status: StatusCode,
}

fn check_response(method: &Method, path: &str, parts: &Parts, body: &[u8]) {
    let status = parts.status;
    let ctx = || format!("{method} {path:?} -> {status}");
    assert!(
        !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
        "unexpected 5xx: {}, body {:?}",
        ctx(),
        String::from_utf8_lossy(body)
    );
    assert_eq!(
        parts
            .headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..]),
        "no Cache-Control: no-store: {}",
        ctx()
    );
    if parts.headers.contains_key(header::WWW_AUTHENTICATE) {
        assert!(
            matches!(status.as_u16(), 400 | 401 | 403),
            "WWW-Authenticate on an unexpected status: {}",
            ctx()
        );
        assert!(
            body.is_empty(),
            "a challenge with a body: {}, body {:?}",
            ctx(),
            String::from_utf8_lossy(body)
        );
    } else if status.is_client_error() || status.is_server_error() {
        assert_eq!(
            parts
                .headers
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes()),
            Some(JSON_UTF8.as_bytes()),
            "error without the JSON media type: {}",
            ctx()
        );
        let value: serde_json::Value = serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("{}: body not JSON: {e}", ctx()));
        assert!(
            value.get("error").is_some_and(|e| e.is_string()),
            "{}: no string `error` in {value}",
            ctx()
        );
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        assert!(
            parts.headers.contains_key(header::ALLOW),
            "405 without Allow: {}",
            ctx()
        );
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        assert!(
            parts.headers.contains_key(header::RETRY_AFTER),
            "503 without Retry-After: {}",
            ctx()
        );
    }
}

/// Parses the bytes the server sent; checks them against what the service produced.
fn check_wire(wire: &[u8], served: &[Served]) {
    let mut rest = wire;
    let mut next = 0;
    while !rest.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        let head_len = match resp.parse(rest) {
            Ok(httparse::Status::Complete(n)) => n,
            other => panic!(
                "unparsable bytes on the wire ({other:?}) after {next} responses: {:?}",
                String::from_utf8_lossy(&rest[..rest.len().min(256)])
            ),
        };
        let code = resp.code.expect("a complete response has a status");
        assert!(
            !(500..600).contains(&code) || code == 503,
            "unexpected {code} on the wire"
        );
        let content_length = resp
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .map(|h| {
                std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or_else(|| panic!("bad Content-Length {:?}", h.value))
            });
        let body_len = if (100..200).contains(&code) {
            0
        } else if let Some(s) = served.get(next) {
            assert_eq!(
                code,
                s.status.as_u16(),
                "response {next} on the wire differs from the service's"
            );
            next += 1;
            let no_body = s.method == Method::HEAD || code == 204 || code == 304;
            if no_body {
                0
            } else {
                content_length.unwrap_or(0)
            }
        } else {
            // hyper's own answer to a head it could not parse (400/414/431); it ends the connection.
            next += 1;
            HYPER_ONLY[usize::from(code).min(599)].fetch_add(1, Ordering::Relaxed);
            content_length.unwrap_or(0)
        };
        let end = head_len + body_len;
        assert!(
            end <= rest.len(),
            "response {next} is cut short on the wire"
        );
        rest = &rest[end..];
    }
}

/// Sends `bytes` on one connection and returns what came back, and what the service produced.
async fn exchange(app: Arc<App>, config: &Config, bytes: Vec<u8>) -> (Vec<u8>, Vec<Served>) {
    let (client, server_io) = tokio::io::duplex(64 * 1024);
    let served = Arc::new(Mutex::new(Vec::new()));
    let log = served.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        let (app, log) = (app.clone(), log.clone());
        async move {
            let method = req.method().clone();
            let path = req.uri().path().to_owned();
            let Ok(response) = server::http::handle(app, req).await;
            let (parts, body) = response.into_parts();
            let Ok(body) = body.collect().await.map(|c| c.to_bytes());
            check_response(&method, &path, &parts, &body);
            log.lock().unwrap().push(Served {
                method,
                status: parts.status,
            });
            Ok::<_, Infallible>(Response::from_parts(parts, Full::new(body)))
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(config.limits.header_read_timeout_ms))
        .max_buf_size(server::server::MAX_HEAD_BYTES)
        .half_close(true);
    let conn = builder.serve_connection(TokioIo::new(server_io), service);
    let (mut rd, mut wr) = tokio::io::split(client);
    let serve = async move {
        let _ = conn.await;
    };
    let send = async move {
        let _ = wr.write_all(&bytes).await;
        let _ = wr.shutdown().await;
    };
    let receive = async move {
        let mut wire = Vec::new();
        let _ = rd.read_to_end(&mut wire).await;
        wire
    };
    let ((), (), wire) = tokio::join!(serve, send, receive);
    let served = std::mem::take(&mut *served.lock().unwrap());
    (wire, served)
}

/// After a 200, find alice's new password among the candidates; if it is not
/// one the seeds can carry, change it (through the use case) to one that is.
/// If it cannot be found, start over with a fresh database.
fn track_alice(h: &Harness, state: &mut State, sent: &[u8], fresh: Vec<String>) {
    let app = state.app.clone();
    let phc = alice_phc(&app);
    if phc == state.phc {
        return;
    }
    CHANGES.fetch_add(1, Ordering::Relaxed);
    let mut candidates = fresh;
    candidates.extend(json_new_passwords(sent));
    let found = candidates.into_iter().find(|c| {
        let p = h.policy.normalize(&Password::new(c.as_str()));
        app.hasher().verify_blocking(&phc, &p).unwrap_or(false)
    });
    let Some(found) = found else {
        REBUILDS.fetch_add(1, Ordering::Relaxed);
        let mut config = h.config.clone();
        let (app, generation) = build_app(&mut config, state.generation + 1);
        state.phc = alice_phc(&app);
        state.app = app;
        state.generation = generation;
        state.current = ALICE_SEED.into();
        state.previous = None;
        return;
    };
    state.previous = Some(std::mem::replace(&mut state.current, found));
    state.phc = phc;
    if !is_trackable(&state.current) {
        RESETS.fetch_add(1, Ordering::Relaxed);
        let next = fresh_password(state);
        let request = ChangeRequest {
            old_password: Password::new(state.current.as_str()),
            new_password: Password::new(next.as_str()),
        };
        let outcome = h.rt.block_on(app.use_case().execute("alice", request));
        match outcome {
            Ok(()) => {
                state.previous = Some(std::mem::replace(&mut state.current, next));
                state.phc = alice_phc(&app);
            }
            // Locked in the meantime: keep the untrackable one; a later 200 moves on.
            Err(e) => eprintln!("harness: could not reset alice's password: {e:?}"),
        }
    }
}

/// Every `new_password` string of a JSON object that starts anywhere in `bytes`.
fn json_new_passwords(bytes: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in bytes.iter().enumerate().filter(|(_, b)| **b == b'{') {
        let mut values =
            serde_json::Deserializer::from_slice(&bytes[i..]).into_iter::<serde_json::Value>();
        if let Some(Ok(serde_json::Value::Object(map))) = values.next()
            && let Some(serde_json::Value::String(s)) = map.get("new_password")
        {
            found.push(s.clone());
        }
    }
    found
}

/// `FUZZ_HTTP_TRACE=1`: print each exchange (for replaying seeds and artifacts).
fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FUZZ_HTTP_TRACE").is_some())
}

fn print_stats() {
    let list = |counts: &[AtomicU64]| {
        let mut out = String::new();
        for (code, n) in counts.iter().enumerate() {
            let n = n.load(Ordering::Relaxed);
            if n > 0 {
                out.push_str(&format!(" {code}:{n}"));
            }
        }
        out
    };
    eprintln!(
        "harness: inputs {} | service answers{} | hyper's own answers{} | no answer {} | alice changed {} (reset {}, db rebuilt {})",
        INPUTS.load(Ordering::Relaxed),
        list(&STATUS),
        list(&HYPER_ONLY),
        NO_ANSWER.load(Ordering::Relaxed),
        CHANGES.load(Ordering::Relaxed),
        RESETS.load(Ordering::Relaxed),
        REBUILDS.load(Ordering::Relaxed),
    );
}

fuzz_target!(|input: &[u8]| {
    let h = harness();
    let mut state = h.state.lock().unwrap_or_else(|e| e.into_inner());
    let (bytes, fresh) = substitute(h, &mut state, input);
    let app = state.app.clone();
    let (wire, served) = h.rt.block_on(async {
        tokio::time::timeout(EXCHANGE_LIMIT, exchange(app, &h.config, bytes.clone()))
            .await
            .unwrap_or_else(|_| panic!("the exchange did not finish within {EXCHANGE_LIMIT:?}"))
    });
    if trace() {
        let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        let statuses: Vec<u16> = served.iter().map(|s| s.status.as_u16()).collect();
        let wire_first = wire.split(|b| *b == b'\n').next().unwrap_or_default();
        eprintln!(
            "trace: {:?} -> service {statuses:?}, wire starts {:?} ({} bytes)",
            String::from_utf8_lossy(&first[..first.len().min(80)]),
            String::from_utf8_lossy(wire_first).trim_end(),
            wire.len()
        );
    }
    check_wire(&wire, &served);
    if wire.is_empty() {
        NO_ANSWER.fetch_add(1, Ordering::Relaxed);
    }
    for s in &served {
        STATUS[usize::from(s.status.as_u16()).min(599)].fetch_add(1, Ordering::Relaxed);
    }
    if served
        .iter()
        .any(|s| s.status == StatusCode::OK && s.method == Method::POST)
    {
        track_alice(h, &mut state, &bytes, fresh);
    }
    if INPUTS.fetch_add(1, Ordering::Relaxed) % STATS_EVERY == STATS_EVERY - 1 {
        print_stats();
    }
});
