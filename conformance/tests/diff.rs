//! `conformance diff`: two reference servers configured differently differ
//! exactly where the configuration shows, and the command's exit codes.

use std::path::{Path, PathBuf};

use clap::Parser;
use conformance::cli::{self, Cli};
use std::process::Command;
use std::time::Duration;

use conformance::catalogue::CATALOGUE;
use conformance::diff::{self, Side};
use conformance::embedded::{Embedded, Hashing, REFERENCE_PROFILE};
use conformance::profile::Profile;

/// The reference profile declaring history depth `n`.
fn reference_with_history(n: usize) -> Profile {
    let mut p = Profile::load(Path::new(REFERENCE_PROFILE)).unwrap();
    p.policy.history = Some(n);
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_four_against_five_differs_in_beyond_depth_only() {
    // Two reference servers, configured from profiles that differ only in
    // the history depth (4 against 5).
    let a = Embedded::start_from(Hashing::CheapTestOnly, &reference_with_history(4))
        .await
        .unwrap();
    let b = Embedded::start_from(Hashing::CheapTestOnly, &reference_with_history(5))
        .await
        .unwrap();
    let side = |server: &Embedded, name: &str| Side {
        profile: server.profile.clone(),
        name: name.to_string(),
        state: server.state_file(),
    };
    let cases: Vec<_> = CATALOGUE.iter().collect();
    let report = diff::run_pair(
        &side(&a, "history 4"),
        &side(&b, "history 5"),
        &cases,
        Some(Duration::from_secs(10)),
        false,
    )
    .await
    .expect("both runs complete");
    a.stop().await;
    b.stop().await;
    let text = diff::render_text(&report);
    assert!(report.errors.is_empty(), "{text}");
    assert_eq!(report.cases, CATALOGUE.len());
    assert_eq!(report.cases_differing(), ["history.beyond-depth"], "{text}");
    assert_eq!(report.exit_code(), 1);
    // Step 1: the 5th previous password is accepted by A, refused by B.
    let first = &report.differences[0];
    assert_eq!(first.step, 1, "{text}");
    let status = first.aspects.iter().find(|x| x.what == "status").unwrap();
    assert_eq!((status.a.as_str(), status.b.as_str()), ("200", "400"));
    let error = first.aspects.iter().find(|x| x.what == "error").unwrap();
    assert_eq!(error.b, "\"recurrent_password\"");
    // Both exchanges, redacted, with a curl each.
    assert!(text.contains("reproduce on A: curl") && text.contains("reproduce on B: curl"));
    assert!(text.contains("<password:") && !text.contains("Alice-Passw0rd"));
    assert!(text.find("== seed rows").is_some(), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_against_itself_is_alike() {
    let a = Embedded::start_from(Hashing::CheapTestOnly, &reference_with_history(5))
        .await
        .unwrap();
    let b = Embedded::start_from(Hashing::CheapTestOnly, &reference_with_history(5))
        .await
        .unwrap();
    let side = |server: &Embedded| Side {
        profile: server.profile.clone(),
        name: server.profile.base_url.clone(),
        state: server.state_file(),
    };
    let cases: Vec<_> = CATALOGUE
        .iter()
        .filter(|c| c.id.starts_with("auth.") || c.id.starts_with("history."))
        .collect();
    let report = diff::run_pair(
        &side(&a),
        &side(&b),
        &cases,
        Some(Duration::from_secs(10)),
        false,
    )
    .await
    .unwrap();
    a.stop().await;
    b.stop().await;
    assert!(
        report.differences.is_empty(),
        "{}",
        diff::render_text(&report)
    );
    assert_eq!(report.exit_code(), 0);
}

/// `fixtures/reference.toml` with another base_url, written to `dir`
/// (key paths made absolute).
fn reference_profile_at(dir: &Path, base_url: &str) -> PathBuf {
    let fixtures = Path::new(REFERENCE_PROFILE).parent().unwrap();
    let text = std::fs::read_to_string(REFERENCE_PROFILE)
        .unwrap()
        .replace(
            "base_url = \"http://127.0.0.1:8080\"",
            &format!("base_url = \"{base_url}\""),
        )
        .replace("\"keys/", &format!("\"{}/keys/", fixtures.display()));
    let file = dir.join("a.toml");
    std::fs::write(&file, text).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_reference_configures_the_reference_from_a_profile() {
    // A keeps 4 previous passwords, its profile says 5 (like the
    // reference.toml it copies): the reference server configured from that
    // profile keeps 5, so the 5th previous password is where they part.
    let a = Embedded::start_from(Hashing::CheapTestOnly, &reference_with_history(4))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let profile = reference_profile_at(dir.path(), &a.profile.base_url);
    let cli = Cli::try_parse_from([
        "conformance".to_string(),
        "diff".into(),
        "--profile".into(),
        profile.display().to_string(),
        "--against-reference".into(),
        "--case".into(),
        "history.*".into(),
        "--state".into(),
        a.state_file().display().to_string(),
    ])
    .unwrap();
    let Some(cli::Command::Diff(args)) = cli.command else {
        panic!("diff");
    };
    let report = diff::diff(&args).await.expect("both runs complete");
    a.stop().await;
    let text = diff::render_text(&report);
    assert_eq!(report.cases_differing(), ["history.nth-previous"], "{text}");
    assert!(
        report
            .b
            .contains("embedded reference server configured from")
    );
    assert_eq!(report.exit_code(), 1);
    let json: serde_json::Value =
        serde_json::from_str(&diff::render(&report, diff::DiffFormat::Json)).unwrap();
    assert_eq!(json["differences"][0]["case"], "history.nth-previous");
    assert_eq!(json["differences"][0]["tier"], "seed");
}

#[test]
fn diff_exits_2_when_a_target_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let profile = reference_profile_at(dir.path(), "http://127.0.0.1:9");
    let o = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(["diff", "--profile"])
        .arg(&profile)
        .arg("--against-reference")
        .args(["--case", "password.change", "--timeout", "2"])
        .arg("--state")
        .arg(dir.path().join("a.json"))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
