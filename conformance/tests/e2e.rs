//! End to end: the `server` binary as a separate process (its default,
//! OWASP-cost configuration), the `conformance` binary against it with a
//! profile: exit 0 with the right profile, exit 1 naming the failing case
//! with a deliberately wrong one.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Builds (if needed) and returns the `server` binary of this workspace.
fn server_binary() -> PathBuf {
    // target/<profile>/deps/tests-… → target/<profile>
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let target_dir = profile_dir.parent().unwrap();
    let profile = profile_dir.file_name().unwrap().to_str().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args([
            "build",
            "--quiet",
            "-p",
            "server",
            "--bin",
            "server",
            "--target-dir",
        ])
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile != "debug" {
        build.args(["--profile", profile]);
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "cargo build -p server failed");
    profile_dir.join(format!("server{}", std::env::consts::EXE_SUFFIX))
}

struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(binary: &Path) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--db"])
            .arg(dir.path().join("e2e.sqlite3"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server binary starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server {
            child,
            port,
            _dir: dir,
        }
    }

    fn conformance(&self, profile: &str, state_dir: &Path) -> (Option<i32>, String) {
        let profile = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures")
            .join(profile);
        let out = Command::new(env!("CARGO_BIN_EXE_conformance"))
            .arg("--profile")
            .arg(profile)
            .args([
                "--base-url",
                &format!("http://127.0.0.1:{}", self.port),
                "--strict",
            ])
            .arg("--state")
            .arg(state_dir.join("state.json"))
            .output()
            .expect("the conformance binary runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM: the server shuts down gracefully.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn failing_cases(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.trim_start().strip_prefix("FAIL"))
        .filter_map(|rest| rest.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn server_binary_passes_with_its_profile_and_fails_with_a_wrong_one() {
    let binary = server_binary();
    let state = tempfile::tempdir().unwrap();

    let server = Server::start(&binary);
    let (code, out) = server.conformance("reference.toml", state.path());
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains(" passed, 0 failed, 1 skipped")),
        "{out}"
    );
    assert_eq!(
        out.lines().last(),
        Some("exit 0: no case failed and every seed row that ran was verified"),
        "{out}"
    );
    assert!(
        out.contains("restore: the original password of alice is restored"),
        "{out}"
    );
    drop(server);

    // A fresh server: the first run locked bob on purpose.
    let server = Server::start(&binary);
    let (code, out) = server.conformance("reference-wrong-history.toml", state.path());
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(failing_cases(&out), vec!["history.beyond-depth"], "{out}");
    assert!(
        out.contains("expected 200, observed 400") && out.contains("reproduce step"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains(" passed, 1 failed, 1 skipped")),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some("exit 1: 1 failed"), "{out}");
    // The harness still restored the password (it retries past the history).
    assert!(
        out.contains("restore: the original password of alice is restored"),
        "{out}"
    );
}
