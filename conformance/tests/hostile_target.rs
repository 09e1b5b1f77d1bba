//! Issue 21, against the `conformance` binary: what a hostile target, a
//! careless profile or a shared folder can do to the person running the
//! suite. A target answering terminal escape sequences (body and discovery
//! document) gets them shown escaped; a profile syntax error names line,
//! column and key without the password; clear-text http to this machine's
//! own non-loopback address is refused before any request (a listener
//! there sees nothing). (A report with secrets written 0600: `cli.rs`.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn conformance(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .output()
        .expect("the conformance binary runs")
}

/// Window title, bell, clear screen, an 8-bit CSI, a bidi override.
const ESCAPES: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{202e}";

/// Whether `bytes` hold a raw control or bidi character a terminal acts on.
fn has_raw_escape(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes).chars().any(|c| {
        (c.is_control() && c != '\n' && c != '\t') || ('\u{202a}'..='\u{202e}').contains(&c)
    })
}

/// Reads one request (head and `content-length` body) from `stream`.
fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(head)
}

/// A target that answers every request with escape sequences: a 400
/// `text/html` body full of them, and a discovery document whose `issuer`
/// and `jwks_uri` carry them. Serves on a thread until the test ends.
fn hostile_target() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                while let Some(head) = read_request(&mut stream) {
                    let discovery = head.contains("/.well-known/openid-configuration");
                    let (status, kind, body) = if discovery {
                        let doc = serde_json::json!({
                            "issuer": format!("http://{addr}{ESCAPES}"),
                            "jwks_uri": format!("http://{addr}/jwks{ESCAPES}"),
                        });
                        ("200 OK", "application/json", doc.to_string())
                    } else {
                        let page = format!("{ESCAPES}<h1>no</h1>\r\n{ESCAPES}");
                        ("400 Bad Request", "text/html", page)
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\n\
                         content-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if stream.write_all(answer.as_bytes()).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn escapes_a_target_sends_reach_no_terminal() {
    let addr = hostile_target();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let url = format!("http://{addr}");
    for format in ["tree", "json", "junit"] {
        let o = conformance(&[
            "--base-url",
            &url,
            "--state",
            state.to_str().unwrap(),
            "--case",
            "auth.missing-token.*",
            "--format",
            format,
        ]);
        let out = String::from_utf8_lossy(&o.stdout);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!has_raw_escape(&o.stdout), "{format} stdout: {out:?}");
        assert!(!has_raw_escape(&o.stderr), "{format} stderr: {err:?}");
        // The body did reach the report, shown escaped.
        let shown = if format == "json" {
            "\\u009b"
        } else {
            "\\u{9b}"
        };
        assert!(out.contains(shown), "{format}: {out}");
    }
    let o = conformance(&["init", "--issuer", &url, "--timeout", "5"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!has_raw_escape(&o.stderr), "init stderr: {err:?}");
    assert!(!has_raw_escape(&o.stdout), "init stdout");
    assert!(err.contains("\\u{1b}]0;pwned\\u{7}"), "{err}");
    let profile = String::from_utf8_lossy(&o.stdout);
    assert!(profile.contains("\\u001b]0;pwned\\u0007"), "{profile}");
}

#[test]
fn a_profile_syntax_error_names_line_and_key_but_never_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        "base_url = \"http://127.0.0.1:9\"\n[accounts.active]\nsubject = \"alice\"\n\
         password = \"Hunter2-Secret\" extra\n",
    )
    .unwrap();
    let o = conformance(&["--profile", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("Hunter2"), "{err}");
    assert!(
        err.contains("line 4, column") && err.contains("`password`"),
        "{err}"
    );
    // A value of the wrong type is not quoted back either.
    std::fs::write(
        &file,
        "base_url = \"http://127.0.0.1:9\"\n[http]\nheaders = \"Bearer Hunter2-Secret\"\n",
    )
    .unwrap();
    let o = conformance(&["--profile", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("Hunter2"), "{err}");
    assert!(err.contains("line 3") && err.contains("`headers`"), "{err}");
}

/// This machine's own address off the loopback interface (the source
/// address of its default route), if it has one.
fn own_address() -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // No packet is sent: connecting a UDP socket only picks the route.
    socket
        .connect("192.0.2.1:9")
        .or_else(|_| socket.connect("8.8.8.8:53"))
        .ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Listens on `ip`; counts the connections that arrive.
fn counting_listener(ip: IpAddr) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let arrived = Arc::new(AtomicUsize::new(0));
    let count = arrived.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            count.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (addr, arrived)
}

fn profile_at(dir: &Path, url: &str, extra: &str) -> String {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let text = std::fs::read_to_string(fixtures.join("reference.toml"))
        .unwrap()
        .replace(
            "base_url = \"http://127.0.0.1:8080\"",
            &format!("base_url = \"{url}\""),
        )
        + extra;
    assert!(text.contains(url), "the fixture's base_url line changed");
    // Relative key paths follow the profile file: keep it beside the fixtures'.
    let file = dir.join(if extra.is_empty() {
        "remote.toml"
    } else {
        "opted-in.toml"
    });
    std::fs::write(&file, text).unwrap();
    let keys = dir.join("keys");
    if !keys.exists() {
        std::os::unix::fs::symlink(fixtures.canonicalize().unwrap().join("keys"), keys).unwrap();
    }
    file.to_str().unwrap().to_string()
}

#[test]
fn clear_text_http_off_the_loopback_interface_is_refused_before_any_request() {
    let Some(ip) = own_address() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no address off the loopback interface to test with"
        );
        eprintln!("SKIPPED: this machine has no address off the loopback interface");
        return;
    };
    let (addr, arrived) = counting_listener(ip);
    let url = format!("http://{addr}");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s.json");
    let state = state.to_str().unwrap();
    let profile = profile_at(dir.path(), &url, "");
    let refused = [
        vec!["--base-url", &url, "--state", state],
        vec!["--profile", &profile, "--state", state],
        vec!["restore", "--profile", &profile, "--state", state],
        vec![
            "diff",
            "--profile",
            &profile,
            "--against-reference",
            "--state",
            state,
        ],
        vec!["init", "--issuer", &url],
    ];
    for args in &refused {
        let o = conformance(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("--allow-insecure-http"), "{args:?}: {err}");
    }
    // Give a connection that slipped through time to be counted.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        arrived.load(Ordering::SeqCst),
        0,
        "a request reached {addr}"
    );
    // The listener is reachable: with the opt-in (flag or profile key) the
    // run connects.
    let o = conformance(&[
        "--base-url",
        &url,
        "--state",
        state,
        "--allow-insecure-http",
    ]);
    assert_eq!(o.status.code(), Some(2), "the listener answers nothing");
    let opted_in = profile_at(dir.path(), &url, "\n[http]\nallow_insecure_http = true\n");
    let _ = conformance(&["--profile", &opted_in, "--state", state, "--timeout", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        arrived.load(Ordering::SeqCst) >= 2,
        "the opted-in runs connected"
    );
}
