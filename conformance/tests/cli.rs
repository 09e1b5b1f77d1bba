//! The `conformance` binary: exit codes, formats, baselines, redaction.

use std::process::{Command, Output};

fn conformance(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .output()
        .expect("the conformance binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_closed_port_is_a_connection_error() {
    // Port 9 (discard) is closed on a test machine.
    let o = conformance(&[
        "--base-url",
        "http://127.0.0.1:9",
        "--state",
        "/nonexistent/s.json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot connect"));
}

#[test]
fn a_bad_profile_is_a_configuration_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    std::fs::write(
        &file,
        "base_url = \"http://127.0.0.1:9\"\n[policy]\nhistroy = 5\n",
    )
    .unwrap();
    let o = conformance(&["--profile", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("histroy"), "{err}");
}

#[test]
fn an_unknown_case_glob_is_an_error() {
    let o = conformance(&["--case", "no.such.case"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn embedded_run_of_a_selection_passes_and_redacts() {
    let o = conformance(&[
        "--case",
        "password.*",
        "--case",
        "auth.missing-token.no-header",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[lines.len() - 2..],
        [
            "17 passed, 0 failed, 0 skipped, 0 warnings",
            "exit 0: no case failed and every seed row that ran was verified"
        ]
    );
    assert!(!out.contains("Alice-Passw0rd"), "{out}");
    // JSON: every case, redacted requests.
    let o = conformance(&["--case", "password.change", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let json = stdout(&o);
    assert!(!json.contains("Alice-Passw0rd") && json.contains("<password:original>"));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["cases"][0]["id"], "password.change");
    assert_eq!(v["cases"][0]["verdict"], "pass");
    assert_eq!(v["restore"]["ok"], true);
}

/// `--show-secrets` shows them; a report file that does is readable by its
/// owner only (issue 21).
#[test]
fn show_secrets_shows_them_in_a_0600_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    let o = conformance(&[
        "--case",
        "password.change",
        "--format",
        "json",
        "--show-secrets",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("Alice-Passw0rd")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
}

#[test]
fn junit_output_goes_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.xml");
    let o = conformance(&[
        "--case",
        "user.*",
        "--format",
        "junit",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let xml = std::fs::read_to_string(&file).unwrap();
    let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(report.tests, 5);
    assert_eq!(report.failures, 0);
    assert!(String::from_utf8_lossy(&o.stderr).contains("5 passed, 0 failed, 0 skipped"));
}

#[test]
fn baseline_expected_failure_and_stale_entry() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baseline.toml");
    std::fs::write(
        &file,
        "[[expected_failure]]\nid = \"user.frozen\"\nreason = \"pretend it fails\"\n",
    )
    .unwrap();
    let o = conformance(&[
        "--case",
        "user.frozen",
        "--baseline",
        file.to_str().unwrap(),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("STALE  user.frozen"), "{out}");
    assert!(out.contains("pretend it fails"), "{out}");
}

#[test]
fn list_prints_the_catalogue() {
    let o = conformance(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("auth.missing-token.no-header"));
    assert!(out.contains("seed S9"));
    let o = conformance(&["list", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.as_array().unwrap().iter().any(|c| c["tier"] == "rfc"));
}

#[test]
fn coverage_ends_the_report_and_required_rows_fail_the_run() {
    let o = conformance(&[
        "--case",
        "auth.missing-token.no-header",
        "--require-rows",
        "S9,S7",
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("  S9 bearer token missing: 1 passed, 0 failed, 0 skipped"),
        "{out}"
    );
    assert!(out.contains("  S7 user frozen: 0 passed, 0 failed, 0 skipped (NOT COVERED)"));
    assert!(
        out.contains("FAILED: --require-rows: not verified: S7"),
        "{out}"
    );
    assert_eq!(
        out.lines().last(),
        Some("exit 1: --require-rows: not verified: S7"),
        "{out}"
    );
    let o = conformance(&[
        "--case",
        "auth.missing-token.no-header",
        "--require-rows",
        "S9",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = conformance(&[
        "--case",
        "auth.missing-token.no-header",
        "--require-rows",
        "S9",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["coverage"].as_array().unwrap().len(), 11);
    assert_eq!(v["coverage"][8]["row"], "S9");
    assert_eq!(v["coverage"][8]["passed"], 1);
}
