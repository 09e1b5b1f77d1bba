//! `conformance plan` (issue 20, point 1): what a run would do, from the
//! profile alone. The text and JSON outputs on the reference profile, a
//! plan that contacts nothing (its target is a listener that records any
//! connection), and the estimate against a measured run on a fake tenant
//! that locks within a sliding window.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use conformance::cases;
use conformance::embedded::REFERENCE_PROFILE;
use conformance::plan::command::report;
use conformance::profile::{Counting, Profile};
use conformance::runner;

use crate::fakes::{Fake, Tenant};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn plan(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
        .current_dir(workspace())
        .arg("plan")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn plan_on_the_reference_profile_prints_what_a_run_would_do() {
    let o = plan(&["--profile", "fixtures/reference.toml"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.starts_with(
            "plan of a run with fixtures/reference.toml against http://127.0.0.1:8080 (nothing \
             contacted)\n"
        ),
        "{out}"
    );
    // Every catalogue case, once, as run but the one the reference policy
    // cannot make (it requires no symbol): the reference profile gives
    // every account and key, and counts in a row (nothing is skipped for
    // the budget).
    let n = cases::CATALOGUE.len() - 1;
    assert!(
        out.contains(&format!(
            "\ncases: {n} run, 0 checked by another case's request, 1 skipped\n"
        )),
        "{out}"
    );
    assert!(
        out.contains(
            "\n  skip    policy.no-symbol: policy.require_symbol is not set (enable: \
             policy.require_symbol)\n"
        ),
        "{out}"
    );
    for case in cases::CATALOGUE
        .iter()
        .filter(|c| c.id != "policy.no-symbol")
    {
        assert!(
            out.lines().any(|l| l == format!("  run     {}", case.id)
                || l.starts_with(&format!("  run     {} (", case.id))),
            "{} missing\n{out}",
            case.id
        );
    }
    assert!(out.contains("\n  [accounts.active] alice: "), "{out}");
    assert!(
        out.contains("\n  [accounts.lockable] bob: 5 (user.lockout-after-failures)\n"),
        "{out}"
    );
    assert!(
        out.contains("\nevery seed row in scope would be verified\n"),
        "{out}"
    );
    assert!(out.contains("\n  without --properties: ~"), "{out}");
    assert!(out.contains("\n  with --properties:    ~"), "{out}");

    // A profile without the other accounts and history: their cases are
    // skipped naming the table, and the rows they verify are listed.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(workspace().join("fixtures/reference.toml")).unwrap();
    let cut = text.find("[accounts.frozen]").unwrap();
    let text = text[..cut]
        .replace("history = 5 ", "# history = 5 ")
        .replace(
            "\"keys/",
            &format!("\"{}/fixtures/keys/", workspace().display()),
        );
    let file = dir.path().join("p.toml");
    std::fs::write(&file, text).unwrap();
    let o = plan(&["--profile", file.to_str().unwrap()]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains(
            "\n  skip    user.frozen: no [accounts.frozen] in the profile (enable: \
             [accounts.frozen])\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "\n  skip    history.most-recent: policy.history is not declared (enable: \
             policy.history)\n"
        ),
        "{out}"
    );
    let unverified = &out[out
        .find("\nseed rows that would stay unverified:\n")
        .unwrap()..];
    for row in ["S4 ", "S7 ", "S8 "] {
        assert!(unverified.contains(&format!("\n  {row}")), "{row}\n{out}");
    }
    assert!(!unverified.contains("\n  S6 "), "{out}");
}

#[test]
fn plan_json_has_the_fields() {
    let o = plan(&[
        "--profile",
        "fixtures/reference.toml",
        "--format",
        "json",
        "--case",
        "password.*",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["profile"], "fixtures/reference.toml");
    assert_eq!(v["properties"], false);
    let cases = v["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    assert!(
        cases
            .iter()
            .all(|c| c["id"].as_str().unwrap().starts_with("password."))
    );
    let change = cases.iter().find(|c| c["id"] == "password.change").unwrap();
    assert_eq!(change["will"], "run");
    assert_eq!(change["row"], "S1");
    assert_eq!(change["wrong_olds"], 1);
    assert_eq!(v["counts"]["run"], cases.len());
    let active = &v["accounts"][0];
    assert_eq!(active["account"], "[accounts.active]");
    assert_eq!(active["subject"], "alice");
    assert_eq!(active["regrows"], true);
    assert!(active["seed_rows"].as_u64().unwrap() >= 1);
    assert!(v["others"].as_array().unwrap().is_empty());
    assert!(v["unverified"].as_array().unwrap().is_empty());
    for which in ["without_properties", "with_properties"] {
        let e = &v["estimate"][which];
        for field in [
            "requests",
            "per_request_secs",
            "lockout_waits_secs",
            "total_secs",
        ] {
            assert!(e[field].is_number(), "{which}.{field}: {e}");
        }
    }
    assert!(
        v["estimate"]["with_properties"]["requests"].as_u64()
            > v["estimate"]["without_properties"]["requests"].as_u64()
    );
    assert!(v["estimate"]["model"].is_string());
}

/// The plan connects to nothing: its target, and its JWKS, are a listener
/// that would see any connection.
#[test]
fn plan_contacts_nothing() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(workspace().join("fixtures/reference.toml"))
        .unwrap()
        .replace("http://127.0.0.1:8080\"\n", &format!("http://{addr}\"\n"))
        .replace(
            "\"/oauth2/jwks\"",
            &format!("\"http://{addr}/oauth2/jwks\""),
        )
        .replace(
            "\"keys/",
            &format!("\"{}/fixtures/keys/", workspace().display()),
        );
    assert!(text.contains(&format!("base_url = \"http://{addr}\"")));
    let file = dir.path().join("p.toml");
    std::fs::write(&file, text).unwrap();
    for format in ["text", "json"] {
        let o = plan(&[
            "--profile",
            file.to_str().unwrap(),
            "--properties",
            "--format",
            format,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    }
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the plan connected to its target: {other:?}"),
    }
}

/// The estimate is within a factor of two of a measured run of the
/// catalogue against a tenant that locks after 4 wrong old passwords
/// within 2 s (declared), where the waits for the window are most of the
/// run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_estimate_is_within_a_factor_of_two_of_a_window_run() {
    let window = Duration::from_secs(2);
    let fake = Fake::tenant(Tenant {
        lockout_window: Some(window),
        max_failures: Some(4),
        ..Tenant::default()
    })
    .await;
    let mut profile = Profile::load(Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{}", fake.addr);
    profile.lockout.max_failures = Some(4);
    profile.lockout.counting = Some(Counting::Window);
    profile.lockout.window_secs = Some(window.as_secs());
    let all: Vec<_> = cases::CATALOGUE.iter().collect();
    let planned = report(&profile, "window tenant", &all, None, None);
    let estimate = planned.estimate.without_properties;
    assert!(estimate.lockout_waits_secs > 0.0, "{estimate:?}");
    let dir = tempfile::tempdir().unwrap();
    let options = crate::support::external_options(dir.path());
    let started = Instant::now();
    let outcome = runner::run(&profile, &all, &options).await.unwrap();
    let took = started.elapsed().as_secs_f64();
    assert!(outcome.restore.ok, "{}", outcome.restore.outcome);
    let ratio = estimate.total_secs / took;
    eprintln!(
        "estimate {:.1} s, measured {took:.1} s, ratio {ratio:.2}",
        estimate.total_secs
    );
    assert!(
        (0.5..=2.0).contains(&ratio),
        "estimate {estimate:?}, measured {took:.1} s"
    );
}

/// With a pool of three under the strictest assumed rule (no `[lockout]`),
/// the plan gives each account its one wrong old password, names each
/// case's account in the text, and has it (`account`, `bound`) in the JSON.
#[test]
fn plan_names_each_cases_account_in_a_pool() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(workspace().join("fixtures/reference.toml")).unwrap();
    let cut = text.find("[accounts.frozen]").unwrap();
    let lockout = text.find("[lockout]").unwrap();
    let limits = text.find("[limits]").unwrap();
    let text = format!("{}{}", &text[..lockout], &text[limits..cut])
        .replace("[accounts.active]", "[[accounts.active]]")
        .replace(
            "\"keys/",
            &format!("\"{}/fixtures/keys/", workspace().display()),
        );
    let text = format!(
        "{text}\n[[accounts.active]]\nsubject = \"carol\"\npassword = \"Carol-Passw0rd\"\n\n\
         [[accounts.active]]\nsubject = \"dave\"\npassword = \"Dave-Passw0rd\"\n"
    );
    let file = dir.path().join("pool.toml");
    std::fs::write(&file, text).unwrap();
    let o = plan(&["--profile", file.to_str().unwrap()]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for (i, s) in ["alice", "carol", "dave"].iter().enumerate() {
        assert!(
            out.contains(&format!("\n  [[accounts.active]] {i} {s}: 1 (")),
            "{s}\n{out}"
        );
    }
    assert!(
        out.contains("\n  run     password.change (1 wrong old, on alice)\n"),
        "{out}"
    );
    let o = plan(&["--profile", file.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let subjects: Vec<&str> = v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["alice", "carol", "dave"]);
    let cases = v["cases"].as_array().unwrap();
    let change = cases.iter().find(|c| c["id"] == "password.change").unwrap();
    assert_eq!(
        (&change["account"], &change["bound"]),
        (&0.into(), &true.into())
    );
    // Every running case that spends goes to an account, bound to it; the
    // three accounts get one each.
    let mut per_account = [0; 3];
    for c in cases.iter().filter(|c| c["will"] == "run") {
        let spends = c["wrong_olds"].as_u64().unwrap() + c["effect_wrong_olds"].as_u64().unwrap();
        if spends > 0 {
            assert_eq!(c["bound"], true, "{c}");
            per_account[c["account"].as_u64().unwrap() as usize] += spends;
        }
    }
    assert_eq!(per_account, [1, 1, 1]);
}

/// The wrong attempts an interrupted run left counted (its state file)
/// are planned as spent: under a budget that cannot grow back the plan
/// runs fewer cases, and `conformance plan --state` reads the file (and
/// only reads it).
#[test]
fn the_state_files_counted_attempts_are_planned_as_spent() {
    use conformance::state::{State, StateFile};
    let mut profile = Profile::load(Path::new(REFERENCE_PROFILE)).unwrap();
    // No declared counting: the strictest assumed rule, a fixed budget.
    profile.lockout.counting = None;
    let all: Vec<_> = cases::CATALOGUE.iter().collect();
    let subject = profile.accounts.active().subject.clone();
    let file = StateFile::from(State {
        endpoint: format!("{}/change_user_password", profile.base_url),
        subject: subject.clone(),
        original: "Orig1nal-Pw".into(),
        current: "Orig1nal-Pw".into(),
        pending: None,
        previous: Vec::new(),
        failures: 2,
    });
    let fresh = report(&profile, "p", &all, None, None);
    let resumed = report(&profile, "p", &all, None, Some(&file));
    assert_eq!(fresh.plan.accounts[0].counted_before, 0);
    assert_eq!(resumed.plan.accounts[0].counted_before, 2);
    let planned = |r: &conformance::plan::command::PlanReport| r.plan.accounts[0].planned();
    assert!(
        planned(&resumed) + 2 <= planned(&fresh),
        "{} wrong old passwords planned after 2 counted, {} before",
        planned(&resumed),
        planned(&fresh)
    );
    assert!(resumed.counts.run < fresh.counts.run);
    // A file of another target counts nothing (a run refuses it).
    let mut elsewhere = file.clone();
    elsewhere.endpoint = "http://elsewhere.invalid/change_user_password".into();
    let other = report(&profile, "p", &all, None, Some(&elsewhere));
    assert_eq!(other.plan.accounts[0].counted_before, 0);
    // The command reads --state; the file is left as it was.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let text = serde_json::to_string(&file).unwrap();
    std::fs::write(&state, &text).unwrap();
    let o = plan(&[
        "--profile",
        "fixtures/reference.toml",
        "--state",
        state.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["accounts"][0]["counted_before"], 2, "{json}");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), text);
}
