//! Helpers for tests that run the `server` binary as a separate process.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::fixtures;

pub const BIN: &str = env!("CARGO_BIN_EXE_server");

/// A config file in `dir` that points at the fixtures with absolute paths,
/// the cheap hashing profile and a database inside `dir`.
pub fn write_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let users = fixtures().canonicalize().unwrap().join("users.toml");
    write_config_with_users(dir, &users, "cheap-test-only", extra)
}

/// As [`write_config`], with another seed users file and hashing profile.
/// `extra` is appended inside the `[hashing]` table, so it may set more
/// hashing keys before opening other tables.
pub fn write_config_with_users(
    dir: &Path,
    users: &Path,
    profile: &str,
    extra: &str,
) -> std::path::PathBuf {
    let f = fixtures().canonicalize().unwrap();
    let text = format!(
        r#"addr = "127.0.0.1:0"
db = "{db}"
users = "{users}"
jwks = "{f}/keys/jwks.json"
[[signing_key]]
kid = "dev-rs256"
algorithm = "RS256"
private_key = "{f}/keys/dev-rs256.pem"
[[signing_key]]
kid = "dev-es256"
algorithm = "ES256"
private_key = "{f}/keys/dev-es256.pem"
[hashing]
profile = "{profile}"
{extra}"#,
        db = dir.join("db.sqlite3").display(),
        f = f.display(),
        users = users.display(),
        profile = profile
    );
    let path = dir.join("server.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub struct Proc {
    pub child: Child,
    pub addr: SocketAddr,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Proc {
    pub fn start(config: &Path) -> Proc {
        Proc::start_logging(config, "info")
    }

    /// As [`Proc::start`] with `RUST_LOG=filter`.
    pub fn start_logging(config: &Path, filter: &str) -> Proc {
        let mut child = Command::new(BIN)
            .args(["--config", config.to_str().unwrap(), "serve"])
            .env("RUST_LOG", filter)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let deadline = Instant::now() + Duration::from_secs(20);
        let addr = loop {
            assert!(Instant::now() < deadline, "server did not start");
            let line = lines.next().expect("server exited early").unwrap();
            if let Some(rest) = line.split("listening addr=").nth(1) {
                break rest.trim().parse().unwrap();
            }
        };
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        Proc { child, addr, log }
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Peak resident set size (VmHWM) in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Stops the server (SIGTERM) and returns how many argon2 evaluations
    /// of `kind` it logged (needs `server::hashing=debug` in the filter).
    pub fn stop_and_count(self, kind: &str) -> u64 {
        evaluations(&self.stop(), kind)
    }

    /// Stops the server (SIGTERM), checks it exited cleanly, returns its log.
    pub fn stop(self) -> String {
        self.signal("-TERM");
        let (status, log) = self.wait();
        assert!(status.success(), "{status:?}\n{log}");
        log
    }

    pub fn wait(mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let log = self.log.lock().unwrap().clone();
        (status, log)
    }
}

/// argon2 evaluations of `kind` in `log` (the hasher's `debug` lines).
pub fn evaluations(log: &str, kind: &str) -> u64 {
    let needle = format!("kind=\"{kind}\"");
    log.lines()
        .filter(|l| l.contains("argon2 evaluation") && l.contains(&needle))
        .count() as u64
}

/// The access log's lines in `log` (one per request).
pub fn access_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("server::access_log:"))
        .collect()
}

/// The value of `field` on an access line (`field=value`, up to the next space).
pub fn field<'a>(line: &'a str, field: &str) -> Option<&'a str> {
    let at = line.find(&format!(" {field}="))? + field.len() + 2;
    line[at..].split(' ').next()
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
