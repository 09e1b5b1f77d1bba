//! Never green while a seed row is unverified (issue 18, point 1): the
//! `conformance` binary against fakes ([`crate::fakes`]) with a minimal
//! profile (an active account and a signing key; the lockout rule not
//! declared, so the suite assumes the strictest one). A target that
//! answers 401 to a wrong old password is not green; a correct target
//! exits 3 naming the rows the profile gives no account for, and 0 once
//! `--allow-unverified` accepts exactly those; under the strictest assumed
//! lockout rule S1 and S2 are still verified (point 2).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::fakes::{Fake, Quirk};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// An active account and a signing key for the fake at `addr`, plus
/// `extra` TOML.
fn minimal_profile(dir: &Path, addr: std::net::SocketAddr, extra: &str) -> PathBuf {
    let keys = fixtures().join("keys");
    let text = format!(
        "base_url = \"http://{addr}\"\n\
         [tokens]\n\
         private_key = \"{}\"\n\
         algorithm = \"RS256\"\n\
         kid = \"dev-rs256\"\n\
         issuer = \"http://127.0.0.1:8080\"\n\
         audience = \"reference-app\"\n\
         [accounts.active]\n\
         subject = \"alice\"\n\
         password = \"Alice-Passw0rd\"\n\
         {extra}",
        keys.join("dev-rs256.pem").display()
    );
    let file = dir.join("minimal.toml");
    std::fs::write(&file, text).unwrap();
    file
}

/// Runs the binary on a blocking thread (the fake answers on this
/// runtime meanwhile).
async fn conformance(profile: &Path, state: &Path, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_conformance"));
    command
        .arg("--profile")
        .arg(profile)
        .arg("--state")
        .arg(state)
        .args(args);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The rows the text report lists as not verified.
fn unverified_rows(out: &str) -> Vec<String> {
    let Some(start) = out.find("\nseed rows not verified") else {
        return Vec::new();
    };
    out[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with("  S"))
        .map(|l| l.trim_start().split(' ').next().unwrap().to_string())
        .collect()
}

/// The reference server's policy (fixtures/server.toml), declared so S4
/// and S5 can be verified.
const REFERENCE_POLICY: &str = "[policy]\nmin_length = 8\nmax_length = 64\nrequire_lowercase = true\n\
     require_uppercase = true\nrequire_digit = true\nhistory = 5\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_to_a_wrong_old_password_is_not_green_with_a_minimal_profile() {
    let fake = Fake::start(Some(Quirk::WrongOld401)).await;
    let dir = tempfile::tempdir().unwrap();
    let profile = minimal_profile(dir.path(), fake.addr, "");
    let o = conformance(&profile, &dir.path().join("state.json"), &[]).await;
    let out = stdout(&o);
    assert!(
        matches!(o.status.code(), Some(1) | Some(3)),
        "{:?}\n{out}",
        o.status.code()
    );
    let rows = unverified_rows(&out);
    assert!(rows.contains(&"S2".to_string()), "{rows:?}\n{out}");
    let last = out.lines().last().unwrap();
    assert!(last.contains("S2"), "{last}");
    assert!(rows.contains(&"S1".to_string()), "{rows:?}\n{out}");
    // S1's check "the old password is refused after a change" runs first
    // (the strictest rule leaves one wrong old password) and meets the 401.
    assert!(out.contains("  FAIL   password.change "), "{out}");
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert_eq!(fake.account("alice").password, "Alice-Passw0rd");
}

/// Issue 18, point 2: under the strictest assumed lockout rule (one wrong
/// old password in the whole run) the seed rows' checks get it first: S1's
/// "the old password is refused after a change" is S2's wrong old password
/// too. With only an active account (and the policy), S1–S6 and S9–S11
/// are verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_strictest_assumed_rule_with_only_an_active_account_verifies_all_but_s7_s8() {
    let fake = Fake::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    // Only the active account: S6 gets a made-up subject (the run mints
    // its tokens).
    let profile = minimal_profile(dir.path(), fake.addr, REFERENCE_POLICY);
    let o = conformance(&profile, &dir.path().join("state.json"), &[]).await;
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert_eq!(unverified_rows(&out), ["S7", "S8"], "{out}");
    assert!(out.contains("  pass   password.wrong-old "), "{out}");
    // The plan gave the one wrong old password to S1 and S2 before the
    // run: nothing is cut short half-way, the exactness variants are
    // skipped up front naming the key that allows more, and after a
    // refused change the tracked password alone confirms the effect.
    let cut: Vec<&str> = out.lines().filter(|l| l.starts_with("  partial")).collect();
    assert!(cut.is_empty(), "{cut:#?}\n{out}");
    let exact: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(" password.exact."))
        .collect();
    assert!(!exact.is_empty(), "{out}");
    for line in &exact {
        assert!(line.starts_with("  skip "), "{line}\n{out}");
    }
    assert!(
        out.contains("the lockout budget has no room for it"),
        "{out}"
    );
    // The plan's line came before the run.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.lines()
            .any(|l| l.starts_with("plan: ") && l.contains("estimate ~")),
        "{err}"
    );
    // One wrong old password reached the account, no more.
    let alice = fake.account("alice");
    assert_eq!(alice.wrong_old, 1);
    assert_eq!(alice.password, "Alice-Passw0rd");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_target_with_a_minimal_profile_exits_3_naming_s7_and_s8() {
    let fake = Fake::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    // The policy and history the fake keeps, the lockout it applies and
    // an account that does not exist: every row but S7 and S8 has what
    // it needs.
    let profile = minimal_profile(
        dir.path(),
        fake.addr,
        "[accounts.missing]\nsubject = \"nobody\"\n\
         [policy]\nmin_length = 8\nmax_length = 64\nrequire_lowercase = true\n\
         require_uppercase = true\nrequire_digit = true\nhistory = 5\n\
         [lockout]\nmax_failures = 5\ncounting = \"consecutive\"\n",
    );
    let state = dir.path().join("state.json");
    let o = conformance(&profile, &state, &[]).await;
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(3), "{out}");
    assert_eq!(unverified_rows(&out), ["S7", "S8"], "{out}");
    assert!(
        out.contains("\n  S7 user frozen: no account for it; verify with [accounts.frozen]\n"),
        "{out}"
    );
    assert!(
        out.contains("\n  S8 user locked: no account for it; verify with [accounts.locked]\n"),
        "{out}"
    );
    assert_eq!(
        out.lines().last(),
        Some(
            "exit 3: seed rows not verified: S7, S8 (see above; --allow-unverified S7,S8 \
             accepts them)"
        ),
        "{out}"
    );

    // Accepted: exit 0, the rows still reported (JSON: `unverified`).
    let o = conformance(
        &profile,
        &state,
        &["--allow-unverified", "S7,S8", "--format", "json"],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let unverified = v["unverified"].as_array().unwrap();
    let rows: Vec<_> = unverified.iter().map(|u| u["row"].clone()).collect();
    assert_eq!(rows, ["S7", "S8"]);
    assert!(unverified.iter().all(|u| u["accepted"] == true));
    assert_eq!(unverified[0]["verify_with"][0], "[accounts.frozen]");
    assert_eq!(v["exit"]["code"], 0);

    // Accepting one of the two is not enough; a bad row name is a
    // command-line error.
    let o = conformance(&profile, &state, &["--allow-unverified", "S7"]).await;
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    let o = conformance(&profile, &state, &["--allow-unverified", "S7,S12"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("\"S12\" is not a seed row"));
    // Rows none of whose cases ran are not unverified.
    let o = conformance(&profile, &state, &["--case", "password.*"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(fake.account("alice").password, "Alice-Passw0rd");
}

/// Confirming a refused change with the tracked password alone still
/// catches a target that stores it: the tracked password is then refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_policy_break_is_caught_under_the_strictest_assumed_rule() {
    let fake = Fake::start(Some(Quirk::StoresDespitePolicyError)).await;
    let dir = tempfile::tempdir().unwrap();
    let profile = minimal_profile(dir.path(), fake.addr, REFERENCE_POLICY);
    let o = conformance(&profile, &dir.path().join("state.json"), &[]).await;
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("  FAIL   policy.")),
        "{out}"
    );
}
