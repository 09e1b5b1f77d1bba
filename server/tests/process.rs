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
    assert!(log.contains("password changed"));

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
