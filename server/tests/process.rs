//! The `server` binary as a separate process: `serve` on a real port,
//! `mint-token`, bad configuration, graceful shutdown, a restart (also
//! after `kill -9`) that keeps a change, and database files mode 0600.

use std::path::Path;
use std::process::Command;

use crate::procs::*;
use crate::support::*;

fn mint_cli(config: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(["--config", config.to_str().unwrap(), "mint-token"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "exactly one line");
    assert!(text.ends_with('\n'));
    text.trim_end().to_string()
}

/// One log line per request, whatever the outcome: what happened, why,
/// the argon2 evaluations it caused; never the token or a password.
#[tokio::test]
async fn every_request_logs_exactly_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let token = mint_cli(&config, &["--sub", "alice"]);
    // The same header and claims with another signature: a forged token.
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.as_bytes()[20] == b'A' {
        "B"
    } else {
        "A"
    };
    let forged = format!("{signed}.{}{flipped}{}", &signature[..20], &signature[21..]);
    let p = Proc::start(&config);
    let s9 = post(p.addr, &[("content-type", "application/json")], "{}").await;
    assert_eq!(s9.status, 400);
    assert_eq!(change_with(p.addr, &forged, ALICE, "x").await.status, 401);
    change_with(p.addr, &token, "Wrong-Passw0rd", "Alice-Second1")
        .await
        .assert_error(400, "wrong_old_password", None);
    change_with(p.addr, &token, ALICE, "short")
        .await
        .assert_error(400, "invalid_new_password", None);
    let changed = change_with(p.addr, &token, ALICE, "Alice-Second1").await;
    assert_eq!(changed.status, 200);
    let log = p.stop();
    let lines = access_lines(&log);
    // Each request's line: outcome, status, argon2, and what else it says.
    let expected: [(&str, &str, &str, &[&str]); 5] = [
        ("missing_token", "400", "0", &[]),
        ("invalid_token", "401", "0", &["reason=\"bad signature\""]),
        (
            "wrong_old_password",
            "400",
            "1",
            &["subject=\"alice\"", "attempts=1"],
        ),
        (
            "invalid_new_password",
            "400",
            "1",
            &["reason=\"too_short\""],
        ),
        ("changed", "200", "3", &["subject=\"alice\""]),
    ];
    assert_eq!(lines.len(), expected.len(), "{log}");
    for (line, (outcome, status, argon2, more)) in lines.iter().zip(expected) {
        assert_eq!(field(line, "outcome"), Some(outcome), "{line}");
        assert_eq!(field(line, "status"), Some(status), "{line}");
        assert_eq!(field(line, "argon2"), Some(argon2), "{line}");
        assert!(field(line, "elapsed_us").is_some(), "{line}");
        for m in more {
            assert!(line.contains(m), "{line} lacks {m}");
        }
    }
    // Nothing else was logged between start and shutdown.
    let others: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains("server::access_log:") && !l.contains("shutdown"))
        .filter(|l| !l.contains("all connections closed"))
        .collect();
    assert!(others.is_empty(), "{others:?}");
    for secret in [
        ALICE,
        "Alice-Second1",
        "Wrong-Passw0rd",
        token.as_str(),
        forged.as_str(),
    ] {
        assert!(!log.contains(secret), "log leaks a secret");
    }
}

/// The access lines obey `RUST_LOG` like every other line: off for their
/// target, they are gone and the rest of the log stays; and each has the
/// layout of the server's other lines (timestamp, level, target).
#[tokio::test]
async fn access_lines_follow_the_log_filter_and_layout() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let quiet = Proc::start_logging(&config, "info,server::access_log=off");
    let s9 = post(quiet.addr, &[("content-type", "application/json")], "{}").await;
    assert_eq!(s9.status, 400);
    let log = quiet.stop();
    assert!(access_lines(&log).is_empty(), "{log}");
    assert!(log.contains("shutdown signal received"), "{log}");

    let p = Proc::start(&config);
    let s9 = post(p.addr, &[("content-type", "application/json")], "{}").await;
    assert_eq!(s9.status, 400);
    // A path the URI parser admits, with a next-line, a line separator and
    // an 8-bit terminal control in it: still one line, percent-encoded.
    let mut raw = tokio::net::TcpStream::connect(p.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    raw.write_all(
        "POST /x\u{85}FORGED\u{2028}L2\u{9b}31m HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).await.unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 404"), "{answer:?}");
    let log = p.stop();
    let lines = access_lines(&log);
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[1].contains(" path=/x%C2%85FORGED%E2%80%A8L2%C2%9B31m status=404 "),
        "{log}"
    );
    assert!(
        log.split(['\u{85}', '\u{2028}', '\u{9b}']).count() == 1,
        "{log}"
    );
    let shutdown = log.lines().find(|l| l.contains("shutdown")).unwrap();
    // `2026-12-07T15:52:56.452435Z  INFO server::…: …`, as tracing writes.
    fn layout(l: &str) -> (u8, u8, u8, u8, u8, u8, u8, &str) {
        let (time, rest) = l.split_at(27);
        let b = time.as_bytes();
        (b[4], b[7], b[10], b[13], b[16], b[19], b[26], &rest[..7])
    }
    assert_eq!(layout(lines[0]), layout(shutdown), "{log}");
    assert!(
        lines[0][27..].starts_with("  INFO server::access_log: request method=POST path=/change_user_password status=400 outcome=missing_token argon2=0 elapsed_us="),
        "{log}"
    );
}

#[tokio::test]
async fn a_change_survives_a_restart_and_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let token = mint_cli(&config, &["--sub", "alice"]);

    let p = Proc::start(&config);
    assert_eq!(
        change_with(p.addr, &token, ALICE, "Alice-Second1")
            .await
            .status,
        200
    );
    // The database and its WAL files hold hashes and history digests:
    // readable by the server's user only.
    #[cfg(unix)]
    for name in ["db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name} is {:o}", mode & 0o777);
    }
    p.signal("-TERM");
    let (status, log) = p.wait();
    assert!(status.success(), "graceful exit: {status:?}");
    // Logs never contain a password or the token.
    for secret in [ALICE, "Alice-Second1", token.as_str()] {
        assert!(!log.contains(secret), "log leaks a secret");
    }
    assert!(
        access_lines(&log)
            .iter()
            .any(|l| field(l, "outcome") == Some("changed")),
        "{log}"
    );

    let p = Proc::start(&config);
    change_with(p.addr, &token, "Alice-Second1", "Alice-Second1")
        .await
        .assert_error(400, "duplicate_password", None);
    assert_eq!(
        change_with(p.addr, &token, "Alice-Second1", "Alice-Third1")
            .await
            .status,
        200
    );
    p.signal("-KILL");
    let _ = p.wait();

    let p = Proc::start(&config);
    change_with(p.addr, &token, "Alice-Second1", "x")
        .await
        .assert_error(400, "wrong_old_password", None);
    change_with(p.addr, &token, "Alice-Third1", "Alice-Second1")
        .await
        .assert_error(400, "recurrent_password", None);
    // Seeding did not reset the changed user.
    change_with(p.addr, &token, ALICE, "x")
        .await
        .assert_error(400, "wrong_old_password", None);
}

#[tokio::test]
async fn mint_token_variants_are_accepted_or_refused_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let p = Proc::start(&config);
    for args in [
        &["--sub", "alice"][..],
        &["--sub", "alice", "--alg", "ES256"],
        &[
            "--sub",
            "alice",
            "--scope",
            "openid profile",
            "--scope-format",
            "string",
        ],
    ] {
        let token = mint_cli(&config, args);
        change_with(p.addr, &token, ALICE, ALICE)
            .await
            .assert_error(400, "duplicate_password", None);
    }
    let expired = mint_cli(&config, &["--sub", "alice", "--ttl", "-100"]);
    change_with(p.addr, &expired, ALICE, ALICE)
        .await
        .assert_challenge(401, S10);
    let no_openid = mint_cli(&config, &["--sub", "alice", "--scope", "profile"]);
    change_with(p.addr, &no_openid, ALICE, ALICE)
        .await
        .assert_challenge(403, S11);
}

/// `serve` with `config` must fail with exit code 2 and one line on stderr.
fn serve_fails(config: &Path) -> String {
    let out = Command::new(BIN)
        .args(["--config", config.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn a_bad_config_is_one_line_naming_the_key_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[policy]\nhistory = 0\n");
    let err = serve_fails(&config);
    assert!(err.contains("`policy.history`"), "{err}");

    std::fs::write(&config, "[policy]\nmin_length = \"eight\"\n").unwrap();
    let err = serve_fails(&config);
    assert!(
        err.contains("`policy.min_length`") && err.contains("line 2"),
        "{err}"
    );

    serve_fails(Path::new("/nonexistent/server.toml"));

    // A JWKS that is not a key set names the `jwks` key.
    std::fs::write(dir.path().join("bad.json"), "{\"keys\": 5}").unwrap();
    let text = std::fs::read_to_string(write_config(dir.path(), "")).unwrap();
    let text = text.replace(
        &format!(
            "{}/keys/jwks.json",
            fixtures().canonicalize().unwrap().display()
        ),
        &dir.path().join("bad.json").display().to_string(),
    );
    std::fs::write(&config, text).unwrap();
    let err = serve_fails(&config);
    assert!(err.contains("`jwks`"), "{err}");
}
