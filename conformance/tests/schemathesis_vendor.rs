//! What a vendor runs with Schemathesis, run against the suite's fakes
//! ([`crate::fakes`]) over real sockets:
//! `st --config-file fixtures/schemathesis-vendor.toml run
//! fixtures/openapi.yaml --url URL -H "Authorization: Bearer TOKEN"` from
//! the repository root, with a real token for the fake's active account.
//!
//! Both tests need Schemathesis's `st` (`SCHEMATHESIS_ST`, else
//! `target/schemathesis-venv/bin/st`, which `.ci/schemathesis-venv.sh`
//! installs), so they are ignored unless asked for; `.ci/run` runs the
//! first after the strict check against the reference server:
//! `cargo test -p conformance --test tests schemathesis_vendor::variants -- --ignored`.
//! The second measures the whole measured-power table (docs/schemathesis.md):
//! `cargo test -p conformance --test tests schemathesis_vendor::power -- --ignored --nocapture`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use conformance::embedded::REFERENCE_PROFILE;
use conformance::profile::Profile;
use conformance::terminal;
use conformance::tokens::TokenFactory;

use crate::fakes::{Fake, Quirk, Tenant};
use crate::measured_power::{Kind, list, rows};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `st` to run: `SCHEMATHESIS_ST`, else the venv `.ci/schemathesis-venv.sh`
/// installs. Panics when there is none: these tests are only run on purpose.
fn st() -> PathBuf {
    let st = std::env::var_os("SCHEMATHESIS_ST").map_or_else(
        || {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| repo_root().join("target"), PathBuf::from);
            target.join("schemathesis-venv/bin/st")
        },
        PathBuf::from,
    );
    assert!(
        st.exists(),
        "no Schemathesis at {} (bash .ci/schemathesis-venv.sh installs it; SCHEMATHESIS_ST \
         names another)",
        st.display()
    );
    st
}

/// What one `st run` ended with.
struct Run {
    code: Option<i32>,
    /// Its output, made safe to show ([`conformance::terminal::text`]: a
    /// target's answers appear in it).
    output: String,
}

/// Starts `tenant`, runs the vendor's command against it, stops it.
async fn run_vendor_config(tenant: Tenant) -> Run {
    let fake = Fake::tenant(tenant).await;
    let mut profile = Profile::load(Path::new(REFERENCE_PROFILE)).unwrap();
    profile.base_url = format!("http://{}", fake.addr);
    let token = TokenFactory::new(&profile)
        .unwrap()
        .standard(profile.accounts.active())
        .await
        .unwrap();
    let (st, url) = (st(), profile.base_url.clone());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(st)
            .current_dir(repo_root())
            .args([
                "--config-file",
                "fixtures/schemathesis-vendor.toml",
                "run",
                "fixtures/openapi.yaml",
                "--url",
                &url,
                "-H",
                &format!("Authorization: Bearer {token}"),
            ])
            .env("NO_COLOR", "1")
            .output()
            .expect("st runs")
    })
    .await
    .unwrap();
    drop(fake);
    Run {
        code: output.status.code(),
        output: terminal::text(&String::from_utf8_lossy(
            &[output.stdout, output.stderr].concat(),
        ))
        .into_owned(),
    }
}

fn tenant(quirks: &[Quirk]) -> Tenant {
    Tenant {
        quirks: quirks.to_vec(),
        ..Tenant::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Schemathesis (bash .ci/schemathesis-venv.sh); .ci/run runs it"]
async fn variants() {
    use Quirk::*;
    let cases: Vec<(&str, Tenant, i32)> = vec![
        ("conformant", tenant(&[]), 0),
        (
            "extra members, with error_description, on every error",
            tenant(&[ExtraJsonMembers, CharsetSpelledOtherwise]),
            0,
        ),
        (
            "challenges reordered, with a realm, Connection: close",
            Tenant {
                close_connections: true,
                ..tenant(&[ChallengeReordered, ChallengeWithRealm])
            },
            0,
        ),
        (
            "open point 6 as a Node stack decides it",
            tenant(&[LenientNode]),
            0,
        ),
        ("S9 answered 401", tenant(&[MissingTokenStatus401]), 1),
        ("S2 as text/plain", tenant(&[WrongOldAsTextPlain]), 1),
        (
            "S2's error is wrong_password",
            tenant(&[WrongOldErrorString]),
            1,
        ),
    ];
    let mut problems = Vec::new();
    for (what, tenant, expected) in cases {
        let started = Instant::now();
        let run = run_vendor_config(tenant).await;
        eprintln!(
            "{what}: st exit {:?} in {:.1} s (expected {expected})",
            run.code,
            started.elapsed().as_secs_f64()
        );
        if run.code != Some(expected) {
            problems.push(format!(
                "{what}: st exited {:?}, expected {expected}\n{}",
                run.code, run.output
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Schemathesis; a measurement for docs/schemathesis.md (minutes)"]
async fn power() {
    let mut table = String::from(
        "| fake | one change | the suite (seed tier, tests/measured_power.rs) | Schemathesis |\n\
         |---|---|---|---|\n",
    );
    let (mut caught, mut defects, mut passed, mut others) = (0, 0, 0, 0);
    let started = Instant::now();
    for row in rows() {
        let run = run_vendor_config(tenant(row.quirk.as_slice())).await;
        let (suite, st) = match row.kind {
            Kind::Defect(ids) => {
                defects += 1;
                caught += usize::from(run.code == Some(1));
                let st = match run.code {
                    Some(1) => "exit 1: caught",
                    Some(0) => "exit 0: missed",
                    _ => "error",
                };
                (format!("fails {}", list(ids)), st)
            }
            Kind::Control | Kind::Decision(_) => {
                others += 1;
                passed += usize::from(run.code == Some(0));
                let st = match run.code {
                    Some(0) => "exit 0: passes",
                    Some(1) => "exit 1: FAILS UNFAIRLY",
                    _ => "error",
                };
                ("passes".to_string(), st)
            }
        };
        let line = format!("| `{}` | {} | {suite} | {st} |\n", row.name, row.what);
        eprint!("{line}");
        table.push_str(&line);
    }
    println!(
        "{table}\nSchemathesis (fixtures/schemathesis-vendor.toml) fails {caught} of {defects} \
         defects; passes {passed} of {others} conformant fakes and other decisions \
         ({:.0} s).",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(passed, others, "a legitimate fake failed:\n{table}");
}
