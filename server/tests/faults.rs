//! Fault and abuse tests against the `server` binary: a kill -9 crash loop,
//! overload far beyond the hashing pool, and 100,000 hostile requests.
//! (Brute force and automatic unlock are in `lockout`.) Bounded in count and
//! time; loopback only.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rusqlite::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::procs::*;
use crate::support::*;

/// xorshift64*: deterministic, seed printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn from_env() -> Rng {
        let seed = std::env::var("FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| server::now_ms() as u64 | 1);
        eprintln!("FAULT_SEED={seed}");
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn b64ish(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..n).map(|_| A[self.below(64) as usize] as char).collect()
    }
}

/// A change request that returns `None` when the connection breaks.
async fn try_change(addr: SocketAddr, token: &str, old: &str, new: &str) -> Option<u16> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    let body = serde_json::json!({"old_password": old, "new_password": new}).to_string();
    let req = Request::post("/change_user_password")
        .header("host", "x")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let res = sender.send_request(req).await.ok()?;
    let status = res.status().as_u16();
    res.into_body().collect().await.ok()?;
    Some(status)
}

/// Which of `candidates` is the user's current password (exactly one must be).
async fn current_of(addr: SocketAddr, token: &str, candidates: &[String]) -> String {
    let mut found = Vec::new();
    for c in candidates {
        // duplicate_password is answered only after the old password verified.
        if try_change(addr, token, c, c).await == Some(400) {
            let r = change_with(addr, token, c, c).await;
            if r.json()["error"] == "duplicate_password" {
                found.push(c.clone());
            }
        }
    }
    assert_eq!(
        found.len(),
        1,
        "current password among {candidates:?}: {found:?}"
    );
    found.pop().unwrap()
}

/// Each user's history must hold exactly the versions before the current one
/// (the newest 128), and the file must pass `PRAGMA integrity_check`.
fn check_store(db: &std::path::Path) {
    let mut conn = Connection::open(db).unwrap();
    // One read transaction: a consistent snapshot even while the server commits.
    let conn = conn.transaction().unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let mut users = conn
        .prepare("SELECT id, credential_version FROM users")
        .unwrap();
    let rows: Vec<(i64, i64)> = users
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, version) in rows {
        let (count, min, max): (i64, Option<i64>, Option<i64>) = conn
            .query_row(
                "SELECT count(*), min(version), max(version) FROM password_history WHERE user_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let expected = (version - 1).min(128);
        assert_eq!(count, expected, "user {id} at version {version}");
        if expected > 0 {
            assert_eq!(max, Some(version - 1));
            assert_eq!(min, Some(version - expected));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_loop_leaves_every_password_old_or_new() {
    let mut rng = Rng::from_env();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[lockout]\nmax_failures = 0\n");
    let db = dir.path().join("db.sqlite3");
    let users = ["alice", "bob", "carol"];
    let mut tokens = HashMap::new();
    let mut candidates: HashMap<&str, Vec<String>> = HashMap::new();
    let cfg = server::Config::load(&config).unwrap();
    for u in users {
        tokens.insert(
            u,
            server::cli::mint(
                &cfg,
                u,
                "openid",
                server::cli::ScopeFormat::Array,
                3600,
                "RS256",
            )
            .unwrap(),
        );
    }
    candidates.insert("alice", vec!["Alice-Passw0rd".into()]);
    candidates.insert("bob", vec!["Bob-Passw0rd".into()]);
    candidates.insert("carol", vec!["Carol-Passw0rd".into()]);
    let mut changed = 0;
    for iteration in 0..20 {
        let p = Proc::start(&config);
        let mut tasks = Vec::new();
        for u in users {
            let current = current_of(p.addr, &tokens[u], &candidates[u]).await;
            let mut next = vec![current.clone()];
            for k in 0..3 {
                let new = format!("{}-I{iteration}k{k}x", &current[..3]);
                next.push(new.clone());
                let (token, old, addr) = (tokens[u].clone(), current.clone(), p.addr);
                tasks.push(tokio::spawn(async move {
                    try_change(addr, &token, &old, &new).await
                }));
            }
            candidates.insert(u, next);
        }
        check_store(&db);
        tokio::time::sleep(Duration::from_millis(rng.below(40))).await;
        p.signal("-KILL");
        let (_, log) = p.wait();
        assert!(!log.contains("panicked"), "{log}");
        for t in tasks {
            if t.await.unwrap() == Some(200) {
                changed += 1;
            }
        }
        check_store(&db);
    }
    // Final restart: every user has exactly one of the candidate passwords.
    let p = Proc::start(&config);
    for u in users {
        current_of(p.addr, &tokens[u], &candidates[u]).await;
    }
    eprintln!("crash loop: 20 kills, {changed} changes acknowledged before a kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_gets_503_with_retry_after_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let users_file = dir.path().join("users.toml");
    let mut seed = String::new();
    for i in 0..40 {
        seed.push_str(&format!(
            "[[user]]\nsubject = \"u{i}\"\npassword = \"User{i}-Passw0rd\"\n\n"
        ));
    }
    std::fs::write(&users_file, seed).unwrap();
    let config =
        write_config_with_users(dir.path(), &users_file, "owasp", "queue_timeout_ms = 300\n");
    let cfg = server::Config::load(&config).unwrap();
    let p = Proc::start(&config);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let token = server::cli::mint(
            &cfg,
            &format!("u{i}"),
            "openid",
            server::cli::ScopeFormat::Array,
            3600,
            "RS256",
        )
        .unwrap();
        for k in 0..5 {
            let (token, addr) = (token.clone(), p.addr);
            tasks.push(tokio::spawn(async move {
                let old = format!("User{i}-Passw0rd");
                let new = format!("User{i}-New{k}x");
                let r = change_with(addr, &token, &old, &new).await;
                (i, new, token, r)
            }));
        }
    }
    let (mut ok, mut busy, mut lost) = (0, 0, 0);
    let mut winners = Vec::new();
    for t in tasks {
        let (i, new, token, r) = t.await.unwrap();
        match r.status.as_u16() {
            200 => {
                ok += 1;
                winners.push((i, new, token));
            }
            503 => {
                busy += 1;
                assert_eq!(r.header("retry-after"), Some("1"));
                r.assert_error(
                    503,
                    "temporarily_unavailable",
                    Some("the server is busy; retry later"),
                );
            }
            400 => {
                lost += 1;
                r.assert_error(400, "wrong_old_password", None);
            }
            other => panic!("unexpected {other}: {:?}", r.body),
        }
    }
    let peak_kib = p.peak_rss_kib();
    eprintln!(
        "overload: 200 requests, {ok} ok, {busy} 503, {lost} lost a race; peak RSS {peak_kib} KiB"
    );
    assert!(
        busy > 0,
        "200 concurrent argon2 requests on 2 workers must overflow a 300 ms queue"
    );
    assert!(ok > 0);
    // At most one winner per user, and each winner's password really is current.
    let mut per_user = HashMap::new();
    for (i, new, token) in &winners {
        *per_user.entry(*i).or_insert(0) += 1;
        change_with(p.addr, token, new, new)
            .await
            .assert_error(400, "duplicate_password", None);
    }
    assert!(per_user.values().all(|n| *n == 1));
    // 64 MiB + workers × 19 MiB of argon2 memory (workers = cores).
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let bound_kib = 64 * 1024 + workers * 19 * 1024;
    assert!(
        peak_kib <= bound_kib,
        "peak RSS {peak_kib} KiB > {bound_kib} KiB"
    );
    assert!(!p.log().contains("panicked"));
}

/// One hostile exchange on its own connection: raw bytes in, status out
/// (`None` when the server closed without answering, which is allowed).
async fn raw(addr: SocketAddr, bytes: &[u8]) -> Option<u16> {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(bytes).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    let text = std::str::from_utf8(buf.get(..12)?).ok()?;
    text.strip_prefix("HTTP/1.1 ")?.parse().ok()
}

fn hostile_request(rng: &mut Rng, good: &str, nobody: &str, frank: &str) -> (Vec<u8>, bool) {
    let post = |auth: &str, ct: &str, body: &[u8]| {
        let mut r = format!(
            "POST /change_user_password HTTP/1.1\r\nhost: x\r\nconnection: close\r\n{auth}content-type: {ct}\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    };
    let bearer = |t: &str| format!("authorization: Bearer {t}\r\n");
    let token = match rng.below(3) {
        0 => nobody,
        1 => frank,
        _ => good, // valid token for bob: bodies below never carry two strings
    };
    let kind = rng.below(14);
    let req = match kind {
        0 => post("", "application/json", b"{}"),
        1 => {
            let n = 1 + rng.below(300) as usize;
            post(&bearer(&rng.b64ish(n)), "application/json", b"{}")
        }
        2 => {
            let t = format!("{}.{}.{}", rng.b64ish(40), rng.b64ish(80), rng.b64ish(60));
            post(&bearer(&t), "application/json", b"{}")
        }
        3 => {
            let header = ["{\"alg\":\"none\"}", "{\"alg\":\"HS256\",\"kid\":\"dev-rs256\"}", "{\"alg\":\"RS256\",\"kid\":\"x\"}", "{}"][rng.below(4) as usize];
            use base64::Engine;
            let h = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
            post(&bearer(&format!("{h}.e30.{}", rng.b64ish(20))), "application/json", b"{}")
        }
        4 => {
            let n = rng.below(4000) as usize;
            let body = rng.bytes(n);
            post(&bearer(token), "application/json", &body)
        }
        5 => {
            let depth = 1 + rng.below(1900) as usize;
            let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            post(&bearer(token), "application/json", body.as_bytes())
        }
        6 => {
            // Never a string: a wrong old password would count toward lockout.
            let v = ["null", "1", "[]", "{}", "true", "[\"\\u0000\"]", "1e999"][rng.below(7) as usize];
            let body = format!("{{\"old_password\":{v},\"new_password\":\"Xy-Passw0rd1\"}}");
            post(&bearer(token), "application/json", body.as_bytes())
        }
        7 => {
            let ct = ["text/plain", "application/xml", "", "application/json; charset=latin1", "multipart/form-data"][rng.below(5) as usize];
            post(&bearer(token), ct, b"{\"old_password\":1}")
        }
        8 => {
            let m = ["GET", "PUT", "DELETE", "PATCH", "FOO", "OPTIONS"][rng.below(6) as usize];
            let path = ["/change_user_password", "/", "/x", "/change_user_password/..", "/%00"][rng.below(5) as usize];
            format!("{m} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").into_bytes()
        }
        9 => {
            // Malformed request line or header bytes.
            let n = 1 + rng.below(200) as usize;
            let mut r = rng.bytes(n);
            r.extend_from_slice(b"\r\n\r\n");
            r
        }
        10 => {
            let mut r = b"POST /change_user_password HTTP/1.1\r\nhost: x\r\nx-bad: ".to_vec();
            r.extend(rng.bytes(50).into_iter().map(|b| if b == b'\r' || b == b'\n' { 0x7f } else { b }));
            r.extend_from_slice(b"\r\n\r\n");
            r
        }
        11 => {
            let big = "a".repeat(17_000 + rng.below(10_000) as usize);
            format!("POST /change_user_password HTTP/1.1\r\nhost: x\r\nx-big: {big}\r\n\r\n").into_bytes()
        }
        12 => format!(
            "POST /change_user_password HTTP/1.1\r\nhost: x\r\n{}content-type: application/json\r\ncontent-length: {}\r\n\r\n{{",
            bearer(token),
            5_000 + rng.below(1 << 30)
        )
        .into_bytes(),
        _ => {
            // Invalid UTF-8 inside the JSON strings.
            let mut body = b"{\"old_password\":\"\xff".to_vec(); // 0xFF is never UTF-8
            body.extend(rng.bytes(20).into_iter().map(|b| b | 0x80));
            body.extend_from_slice(b"\",\"new_password\":\"x\"}");
            post(&bearer(token), "application/json", &body)
        }
    };
    (req, kind == 9 || kind == 10)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_traffic_never_gets_a_5xx_and_s1_still_works() {
    const REQUESTS: usize = 100_000;
    const CLIENTS: usize = 32;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[limits]\nheader_read_timeout_ms = 500\nbody_read_timeout_ms = 500\n",
    );
    let cfg = server::Config::load(&config).unwrap();
    let p = Proc::start(&config);
    let mint = |sub: &str| {
        server::cli::mint(
            &cfg,
            sub,
            "openid",
            server::cli::ScopeFormat::Array,
            3600,
            "RS256",
        )
        .unwrap()
    };
    let tokens = Arc::new((mint("bob"), mint("nobody"), mint("frank")));
    let seed = Rng::from_env().next();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (tokens, addr) = (tokens.clone(), p.addr);
        clients.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ (c as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut statuses: HashMap<Option<u16>, usize> = HashMap::new();
            for _ in 0..REQUESTS / CLIENTS {
                let (req, garbage) = hostile_request(&mut rng, &tokens.0, &tokens.1, &tokens.2);
                let status = raw(addr, &req).await;
                if let Some(s) = status {
                    assert!(
                        s < 500 || s == 503,
                        "status {s} for {:?}",
                        String::from_utf8_lossy(&req[..req.len().min(200)])
                    );
                    assert_ne!(s, 200, "a hostile request changed a password");
                } else {
                    assert!(
                        garbage,
                        "no answer for {:?}",
                        String::from_utf8_lossy(&req[..req.len().min(200)])
                    );
                }
                *statuses.entry(status).or_default() += 1;
            }
            statuses
        }));
    }
    // A few slow senders at the same time: one byte every 100 ms, cut off by the header timeout.
    let mut slow = Vec::new();
    for _ in 0..8 {
        let addr = p.addr;
        slow.push(tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let started = std::time::Instant::now();
            for b in b"POST /change_user_password HTTP/1.1\r\nhost: x\r\n" {
                if s.write_all(&[*b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            started.elapsed()
        }));
    }
    let mut total: HashMap<Option<u16>, usize> = HashMap::new();
    for c in clients {
        for (k, v) in c.await.unwrap() {
            *total.entry(k).or_default() += v;
        }
    }
    for s in slow {
        let elapsed = s.await.unwrap();
        assert!(
            elapsed < Duration::from_secs(3),
            "slow sender kept for {elapsed:?}"
        );
    }
    let mut summary: Vec<_> = total.into_iter().collect();
    summary.sort();
    eprintln!("hostile: {REQUESTS} requests, statuses {summary:?}");
    assert_eq!(summary.iter().map(|(_, n)| n).sum::<usize>(), REQUESTS);
    // Still answers S1 correctly afterwards.
    let alice = mint("alice");
    let r = change_with(p.addr, &alice, ALICE, "Alice-After-Hostile1").await;
    assert_eq!(r.status, 200);
    change_with(
        p.addr,
        &alice,
        "Alice-After-Hostile1",
        "Alice-After-Hostile1",
    )
    .await
    .assert_error(400, "duplicate_password", None);
    change_with(p.addr, &mint("bob"), "Bob-Passw0rd", "Bob-Passw0rd")
        .await
        .assert_error(400, "duplicate_password", None);
    assert!(!p.log().contains("panicked"));
}

/// The SQLite file write-locked from outside: a wrong guess gets 503 with
/// `Retry-After` (never 500) once its failure cannot be written, and that
/// failure still counts; read-only answers (S6, S7) do not queue behind the
/// waiting write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_locked_store_answers_503_and_reads_do_not_queue() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(
        dir.path(),
        "[lockout]\nmax_failures = 3\n[store]\nbusy_timeout_ms = 1500\n",
    );
    let server = Proc::start_logging(&file, "info,server::hashing=debug");
    let config = server::Config::load(&file).unwrap();
    let token = |sub: &str| {
        mint(
            &config,
            jsonwebtoken::Algorithm::RS256,
            claims(&config, sub),
        )
    };
    let (alice, nobody, frank) = (token("alice"), token("nobody"), token("frank"));
    let addr = server.addr;

    let outside = Connection::open(dir.path().join("db.sqlite3")).unwrap();
    outside.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let a = alice.clone();
    let waiting =
        tokio::spawn(
            async move { change_with(addr, &a, "Wrong-Passw0rd1", "Alice-Changed1x").await },
        );
    tokio::time::sleep(Duration::from_millis(100)).await;
    change_with(addr, &nobody, "a", "b")
        .await
        .assert_error(400, "user_not_found", None);
    change_with(addr, &frank, "Frank-Passw0rd", "Frank-Changed1x")
        .await
        .assert_error(400, "abnormal_user_status", Some("User is frozen."));
    assert!(!waiting.is_finished(), "the reads waited behind the write");
    let r = waiting.await.unwrap();
    r.assert_error(
        503,
        "temporarily_unavailable",
        Some("the server is busy; retry later"),
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    outside.execute_batch("COMMIT").unwrap();

    // K = 3: the unwritten failure and two more lock the account.
    for _ in 0..2 {
        change_with(addr, &alice, "Wrong-Passw0rd1", "Alice-Changed1x")
            .await
            .assert_error(400, "wrong_old_password", None);
    }
    change_with(addr, &alice, ALICE, "Alice-Changed1x")
        .await
        .assert_error(400, "abnormal_user_status", Some("User is locked."));
    let log = server.log();
    assert!(log.contains("store busy"), "{log}");
    assert!(!log.contains("store failure"), "{log}");
    assert_eq!(server.stop_and_count("verify"), 3);
}
