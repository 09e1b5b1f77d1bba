//! The HTML report in a real headless browser (Debian's Chromium): one run
//! against the in-process reference server with a deliberately wrong
//! profile (one failure, one skip) is rendered to HTML and JSON; Chromium
//! loads the page with a probe appended that clicks each filter button and
//! types in the search box as a user would, then writes what is visible
//! into the DOM, which `--dump-dom` returns. Asserts: no console message
//! and no script error or CSP violation, the counts shown equal the JSON
//! report's summary field by field (partial included), the S1–S11 table
//! equals the JSON report's `coverage` field column by column (and a
//! recount from the JSON's cases, independently), and each filter (failed,
//! warnings, skipped, partial) shows exactly its cases. Also: `--format
//! html --output` from the binary and printing to PDF.
//!
//! The diff report likewise: a vendor (a fake) against the reference,
//! rendered to HTML and JSON from one run; the tiles equal the JSON's
//! counts, each tier filter shows exactly that tier's differences, the
//! search narrows, and the page prints.
//!
//! Without Chromium the test fails under CI=true and otherwise prints that
//! it skipped (it is then not a pass of anything: it checked nothing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use conformance::cli::{self, Cli};
use conformance::diff;
use conformance::embedded::{Embedded, Hashing};
use conformance::report::{html, json};

use crate::fakes::{Fake, Quirk};

/// Chromium: `$CHROMIUM`, else Debian's `/usr/bin/chromium`.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{} is missing: .ci/run installs Debian's chromium; the HTML report test cannot run",
            path.display()
        );
    }
    eprintln!(
        "SKIPPED html_report: no Chromium at {} (apt-get install chromium); nothing was checked",
        path.display()
    );
    None
}

/// Runs headless Chromium on `page` with `extra` arguments; returns
/// (stdout, stderr).
fn headless(chromium: &Path, page: &Path, extra: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1366,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium failed: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// Collects errors before the page's own script runs.
const CAPTURE: &str = r#"<script>
window.__probeErrors = [];
window.addEventListener("error", function (e) { window.__probeErrors.push("error: " + e.message); });
document.addEventListener("securitypolicyviolation", function (e) {
  window.__probeErrors.push("CSP: " + e.violatedDirective + " " + e.blockedURI);
});
</script>"#;

/// Clicks each filter, types a search, records what is visible.
const PROBE: &str = r#"<script>
(function () {
  function visible() {
    return Array.prototype.slice.call(document.querySelectorAll(".case"))
      .filter(function (c) { return c.offsetParent !== null; })
      .map(function (c) { return c.id.slice(5); });
  }
  var out = { counts: {}, coverage: {}, filters: {}, errors: null };
  document.querySelectorAll("[data-testid^='count-']").forEach(function (e) {
    out.counts[e.getAttribute("data-testid").slice(6)] = Number(e.textContent);
  });
  document.querySelectorAll("table.coverage tbody tr").forEach(function (tr) {
    var row = {};
    tr.querySelectorAll("td[data-col]").forEach(function (td) { row[td.getAttribute("data-col")] = Number(td.textContent); });
    out.coverage[tr.getAttribute("data-row")] = row;
  });
  out.initial = visible();
  ["failed", "warnings", "skipped", "partial", "all"].forEach(function (f) {
    document.querySelector("[data-set-filter='" + f + "']").click();
    out.filters[f] = {
      visible: visible(),
      shown: Number(document.getElementById("shown").textContent),
      empty: document.getElementById("empty").offsetParent !== null
    };
  });
  var search = document.getElementById("search");
  search.value = "FROZEN";
  search.dispatchEvent(new Event("input"));
  out.search = visible();
  search.value = "";
  search.dispatchEvent(new Event("input"));
  out.cleared = visible().length;
  out.errors = window.__probeErrors;
  var pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"#;

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn ids_with(report: &serde_json::Value, verdicts: &[&str]) -> Vec<String> {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| verdicts.contains(&c["verdict"].as_str().unwrap()))
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_report_loads_cleanly_matches_the_json_and_filters() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // One run: the embedded server, the deliberately wrong profile (history
    // 4 instead of 5: history.beyond-depth fails; no symbol rule:
    // policy.no-symbol is skipped).
    let server = Embedded::start(Hashing::CheapTestOnly).await.unwrap();
    let profile =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/reference-wrong-history.toml");
    let state = dir.path().join("state.json");
    let cli = Cli::try_parse_from([
        "conformance".to_string(),
        "--profile".into(),
        profile.display().to_string(),
        "--base-url".into(),
        server.profile.base_url.clone(),
        "--state".into(),
        state.display().to_string(),
    ])
    .unwrap();
    let report = cli::run(&cli.run).await.expect("the run completes");
    server.stop().await;
    let json: serde_json::Value = serde_json::from_str(&json::render(&report)).unwrap();
    let page = html::render(&report);
    std::fs::write(dir.path().join("report.html"), &page).unwrap();

    let failed = ids_with(&json, &["fail", "error", "stale"]);
    let skipped = ids_with(&json, &["skip"]);
    let warnings = ids_with(&json, &["warn"]);
    let partial = ids_with(&json, &["partial"]);
    assert_eq!(
        failed,
        ["history.beyond-depth"],
        "the run this test relies on"
    );
    assert!(skipped.contains(&"policy.no-symbol".to_string()));

    let probe = page
        .replacen("<head>", &format!("<head>{CAPTURE}"), 1)
        .replacen("</body>", &format!("{PROBE}</body>"), 1);
    let probe_file = dir.path().join("probe.html");
    std::fs::write(&probe_file, probe).unwrap();
    let (dom, log) = headless(&chromium, &probe_file, &["--dump-dom".to_string()]);

    // Chromium logs every console message of the page as ":CONSOLE";
    // the report writes none, and a blocked resource or an exception
    // would be one.
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    let start = dom
        .find("<pre id=\"probe-result\">")
        .unwrap_or_else(|| panic!("the probe ran (its script was not blocked):\n{dom}"));
    let rest = &dom[start + "<pre id=\"probe-result\">".len()..];
    let out: serde_json::Value =
        serde_json::from_str(&unescape(&rest[..rest.find("</pre>").unwrap()])).unwrap();
    assert_eq!(
        out["errors"],
        serde_json::json!([]),
        "script errors or CSP violations"
    );

    // The counts shown equal the JSON report's summary, field by field:
    // every field of the summary has a tile, and no tile but "total" is
    // outside the summary.
    let summary = json["summary"].as_object().unwrap();
    let tile = |field: &str| field.replace('_', "-");
    for (field, value) in summary {
        assert_eq!(out["counts"][tile(field)], *value, "count {field}");
    }
    for shown in out["counts"].as_object().unwrap().keys() {
        assert!(
            shown == "total" || summary.keys().any(|f| tile(f) == *shown),
            "tile {shown} is not a summary field"
        );
    }
    assert!(summary.contains_key("partial"));
    let total = json["cases"].as_array().unwrap().len();
    assert_eq!(out["counts"]["total"], total);

    // The S1–S11 table is the JSON report's `coverage` field, every column
    // of every row.
    let coverage = json["coverage"].as_array().unwrap();
    assert_eq!(coverage.len(), 11);
    assert_eq!(out["coverage"].as_object().unwrap().len(), 11);
    for row in coverage {
        let id = row["row"].as_str().unwrap();
        let shown = &out["coverage"][id];
        let columns = row.as_object().unwrap();
        for (col, value) in columns.iter().filter(|(k, _)| *k != "row") {
            assert_eq!(shown[col], *value, "coverage of {id}, {col}");
        }
        assert_eq!(
            shown.as_object().unwrap().len(),
            columns.len() - 1,
            "columns of {id}: {shown}"
        );
    }
    // And, independently of the model, a recount from the JSON's cases
    // agrees with it.
    let mut recount: BTreeMap<String, BTreeMap<&str, u64>> = BTreeMap::new();
    for c in json["cases"].as_array().unwrap() {
        let group = c["group"].as_str().unwrap();
        if !coverage.iter().any(|r| r["row"] == group) {
            continue;
        }
        let col = match c["verdict"].as_str().unwrap() {
            "pass" | "warn" => "passed",
            "fail" | "error" | "stale" => "failed",
            "skip" => "skipped",
            "partial" => "partial",
            "expected-failure" => "expected_failures",
            other => panic!("verdict {other}"),
        };
        *recount
            .entry(group.to_string())
            .or_default()
            .entry(col)
            .or_default() += 1;
    }
    for row in coverage {
        let id = row["row"].as_str().unwrap();
        for col in [
            "passed",
            "failed",
            "skipped",
            "partial",
            "expected_failures",
        ] {
            let n = recount.get(id).and_then(|m| m.get(col)).copied();
            assert_eq!(
                out["coverage"][id][col],
                n.unwrap_or(0),
                "recount of {id}, {col}"
            );
        }
    }
    assert_eq!(out["coverage"]["S4"]["failed"], 1);

    // Every case is visible at first; each filter shows exactly its cases.
    assert_eq!(out["initial"].as_array().unwrap().len(), total);
    assert_eq!(strings(&out["filters"]["failed"]["visible"]), failed);
    assert_eq!(out["filters"]["failed"]["shown"], failed.len());
    assert_eq!(
        sorted(strings(&out["filters"]["skipped"]["visible"])),
        sorted(skipped)
    );
    assert_eq!(
        sorted(strings(&out["filters"]["warnings"]["visible"])),
        sorted(warnings.clone())
    );
    assert_eq!(out["filters"]["warnings"]["empty"], warnings.is_empty());
    assert_eq!(
        sorted(strings(&out["filters"]["partial"]["visible"])),
        sorted(partial.clone())
    );
    assert_eq!(out["filters"]["partial"]["shown"], partial.len());
    assert_eq!(out["filters"]["partial"]["empty"], partial.is_empty());
    assert_eq!(out["filters"]["failed"]["empty"], false);
    assert_eq!(
        out["filters"]["all"]["visible"].as_array().unwrap().len(),
        total
    );
    // The search box narrows by ID, title, spec or reason, case-insensitively.
    let frozen = strings(&out["search"]);
    assert!(frozen.contains(&"user.frozen".to_string()), "{frozen:?}");
    assert!(
        frozen.len() < total
            && frozen.iter().all(|id| {
                let case = json["cases"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["id"] == id.as_str())
                    .unwrap();
                format!(
                    "{} {} {} {}",
                    case["id"], case["title"], case["spec"], case["reason"]
                )
                .to_lowercase()
                .contains("frozen")
            }),
        "{frozen:?}"
    );
    assert_eq!(out["cleared"], total);

    // The page prints: a PDF comes out.
    let pdf = dir.path().join("report.pdf");
    headless(
        &chromium,
        &dir.path().join("report.html"),
        &[
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".to_string(),
        ],
    );
    let bytes = std::fs::read(&pdf).expect("a PDF was written");
    assert!(
        bytes.starts_with(b"%PDF-") && bytes.len() > 10_000,
        "{} bytes",
        bytes.len()
    );
}

#[test]
fn the_binary_writes_an_html_report_with_redacted_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let o = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(["--case", "password.*", "--format", "html", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(
        page.contains("Bearer &lt;token:alice&gt;"),
        "tokens are labels"
    );
    assert!(!page.contains("Alice-Passw0rd"), "no password in the page");
    assert!(!page.contains("eyJ"), "no JWT in the page");
    // Every selected case passed: the passed tile counts the pass badges.
    let passed = page.matches("class=\"badge pass\"").count();
    assert!(passed >= 3, "{passed} passed");
    assert!(page.contains(&format!(
        "data-testid=\"count-passed\" data-count=\"{passed}\""
    )));
    assert!(page.contains("data-testid=\"count-failed\" data-count=\"0\""));
}

/// Clicks each tier filter of the diff page, types a search, records what
/// is visible (difference IDs `diff-N`, N its index in the JSON).
const DIFF_PROBE: &str = r#"<script>
(function () {
  function visible() {
    return Array.prototype.slice.call(document.querySelectorAll(".case"))
      .filter(function (c) { return c.offsetParent !== null; })
      .map(function (c) { return Number(c.id.slice(5)); });
  }
  var out = { counts: {}, filters: {}, errors: null };
  document.querySelectorAll("[data-testid^='count-']").forEach(function (e) {
    out.counts[e.getAttribute("data-testid").slice(6)] = Number(e.textContent);
  });
  out.exit = Number(document.querySelector("[data-testid='exit-code']").getAttribute("data-count"));
  out.initial = visible();
  ["seed", "rfc", "open-points", "all"].forEach(function (f) {
    document.querySelector("[data-set-filter='" + f + "']").click();
    out.filters[f] = {
      visible: visible(),
      shown: Number(document.getElementById("shown").textContent)
    };
  });
  var search = document.getElementById("search");
  search.value = "PRECEDENCE";
  search.dispatchEvent(new Event("input"));
  out.search = visible();
  search.value = "";
  search.dispatchEvent(new Event("input"));
  out.cleared = visible().length;
  out.errors = window.__probeErrors;
  var pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"#;

/// `fixtures/reference.toml` pointed at `base_url`, written to `dir`.
fn reference_profile_at(dir: &Path, base_url: &str) -> PathBuf {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let text = std::fs::read_to_string(fixtures.join("reference.toml"))
        .unwrap()
        .replace(
            "base_url = \"http://127.0.0.1:8080\"",
            &format!("base_url = \"{base_url}\""),
        )
        .replace("\"keys/", &format!("\"{}/keys/", fixtures.display()));
    let file = dir.join("vendor.toml");
    std::fs::write(&file, text).unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_diff_report_loads_cleanly_matches_the_json_and_filters() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // A vendor (an independent implementation that checks the policy
    // before the old password) against the reference: differences at seed
    // tier (no Cache-Control), RFC tier and open points.
    let fake = Fake::start(Some(Quirk::PolicyBeforeOldPassword)).await;
    let profile = reference_profile_at(dir.path(), &format!("http://{}", fake.addr));
    let cli = Cli::try_parse_from([
        "conformance",
        "diff",
        "--profile",
        &profile.display().to_string(),
        "--against-reference",
        "--state",
        &dir.path().join("state.json").display().to_string(),
        "--case",
        "precedence.*",
        "--case",
        "auth.invalid-token.unknown-crit",
        "--case",
        "property.account-model",
        "--sequences",
        "4",
        "--max-steps",
        "6",
        "--seed",
        "9",
    ])
    .unwrap();
    let Some(cli::Command::Diff(args)) = cli.command else {
        panic!("diff");
    };
    let report = diff::diff(&args).await.expect("both runs complete");
    drop(fake);
    let json: serde_json::Value =
        serde_json::from_str(&diff::render(&report, diff::DiffFormat::Json)).unwrap();
    let page = diff::render(&report, diff::DiffFormat::Html);
    let differences = json["differences"].as_array().unwrap();
    let with_tier = |tier: &str| -> Vec<u64> {
        (0..differences.len() as u64)
            .filter(|i| differences[*i as usize]["tier"] == tier)
            .collect()
    };
    let (seed, rfc, open) = (with_tier("seed"), with_tier("rfc"), with_tier("reference"));
    assert!(
        !seed.is_empty() && !rfc.is_empty() && !open.is_empty(),
        "the run this test relies on has differences in every tier: {}",
        diff::render_text(&report)
    );

    let probe = page
        .replacen("<head>", &format!("<head>{CAPTURE}"), 1)
        .replacen("</body>", &format!("{DIFF_PROBE}</body>"), 1);
    let probe_file = dir.path().join("diff-probe.html");
    std::fs::write(&probe_file, probe).unwrap();
    let (dom, log) = headless(&chromium, &probe_file, &["--dump-dom".to_string()]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    let start = dom
        .find("<pre id=\"probe-result\">")
        .unwrap_or_else(|| panic!("the probe ran:\n{dom}"));
    let rest = &dom[start + "<pre id=\"probe-result\">".len()..];
    let out: serde_json::Value =
        serde_json::from_str(&unescape(&rest[..rest.find("</pre>").unwrap()])).unwrap();
    assert_eq!(out["errors"], serde_json::json!([]), "script errors or CSP");

    // The counts shown are the JSON diff's.
    let mut cases: Vec<&str> = differences
        .iter()
        .map(|d| d["case"].as_str().unwrap())
        .collect();
    cases.sort();
    cases.dedup();
    assert_eq!(out["counts"]["seed"], seed.len());
    assert_eq!(out["counts"]["rfc"], rfc.len());
    assert_eq!(out["counts"]["open-points"], open.len());
    assert_eq!(out["counts"]["total"], differences.len());
    assert_eq!(out["counts"]["cases"], cases.len());
    assert_eq!(out["counts"]["compared"], json["cases"]);
    assert_eq!(out["counts"]["sequences"], json["sequences"]);
    assert_eq!(
        out["counts"]["errors"],
        json["errors"].as_array().unwrap().len()
    );
    assert_eq!(out["exit"], 1);

    // Every difference shows at first; each filter shows exactly its tier.
    let all: Vec<u64> = (0..differences.len() as u64).collect();
    let ids = |v: &serde_json::Value| -> Vec<u64> {
        let mut ids: Vec<u64> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&out["initial"]), all);
    assert_eq!(ids(&out["filters"]["seed"]["visible"]), seed);
    assert_eq!(ids(&out["filters"]["rfc"]["visible"]), rfc);
    assert_eq!(ids(&out["filters"]["open-points"]["visible"]), open);
    assert_eq!(out["filters"]["rfc"]["shown"], rfc.len());
    assert_eq!(ids(&out["filters"]["all"]["visible"]), all);
    let found = ids(&out["search"]);
    assert!(!found.is_empty() && found.len() < all.len(), "{found:?}");
    for i in found {
        let d = &differences[i as usize];
        assert!(d.to_string().to_lowercase().contains("precedence"), "{d}");
    }
    assert_eq!(out["cleared"], all.len());

    // Redacted, and it prints.
    assert!(!page.contains("Alice-Passw0rd") && !page.contains("eyJ"));
    let file = dir.path().join("diff.html");
    std::fs::write(&file, &page).unwrap();
    let pdf = dir.path().join("diff.pdf");
    headless(
        &chromium,
        &file,
        &[
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".to_string(),
        ],
    );
    let bytes = std::fs::read(&pdf).expect("a PDF was written");
    assert!(bytes.starts_with(b"%PDF-") && bytes.len() > 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_writes_an_html_diff_report() {
    let dir = tempfile::tempdir().unwrap();
    let server = Embedded::start(Hashing::CheapTestOnly).await.unwrap();
    let profile = reference_profile_at(dir.path(), &server.profile.base_url);
    let out = dir.path().join("diff.html");
    let o = tokio::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(["diff", "--profile"])
        .arg(&profile)
        .args(["--against-reference", "--case", "password.*"])
        .args(["--sequences", "2", "--seed", "1", "--format", "html"])
        .arg("--state")
        .arg(dir.path().join("state.json"))
        .arg("--output")
        .arg(&out)
        .output()
        .await
        .unwrap();
    server.stop().await;
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("0 differences"), "{stderr}");
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("data-testid=\"count-total\" data-count=\"0\""));
    assert!(page.contains("alike (exit 0)"));
    // Without --output there is nowhere to write the page.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(["diff", "--profile"])
        .arg(&profile)
        .args(["--against-reference", "--format", "html"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
