//! Differential runs (issue 11, parts 1 and 2): `conformance diff
//! --profile A.toml --against B.toml` runs the same catalogue and the same
//! generated account-model sequences against two targets and reports
//! every behavioural difference, documented or not.
//!
//! Both targets get the same requests: the catalogue is driven by A's
//! declared policy and limits and by the stricter of the two declared
//! lockout rules for both runs (B's profile supplies otherwise only where B
//! is, its tokens and its accounts), so a difference is a difference of
//! behaviour, not of inputs, and neither account is locked by the other's
//! allowance. `--against-reference` compares A
//! with the embedded reference server configured from A's profile
//! ([`Embedded::start_from`]).
//!
//! There is no second runner: each target is run by [`runner`] into a
//! [`RunReport`] (the JSON report's records), and [`compare`] walks the two
//! reports case by case and step by step. Per step it compares the status,
//! the body's `error` and `error_description`, the `WWW-Authenticate`
//! challenges (scheme and parameters, parsed), the headers of
//! [`ALLOWLISTED_HEADERS`], whether the exchange completed, and the step's
//! purpose (when it differs, the case took another path). A case that ran
//! on one side and was skipped on the other, or ran a different number of
//! steps, is a difference too. Effects ("which password works afterwards")
//! are the case's `effect:` steps (the refused password does not work, the
//! old one does) and the runner's batched confirmations
//! ([`crate::checks::PASSWORD_UNCHANGED`]); both are compared. A restore
//! that fails on either side is an error (exit 2).
//!
//! The generated account-model sequences ([`sequences`]): `--sequences N`
//! abstract sequences are drawn once from `--seed` and A's declared
//! history and policy, and the stricter of A's and B's declared lockout
//! thresholds (independently of either target's answers, before
//! either run), then played as given against each target after its
//! catalogue, on the same account and under the same state-file and
//! restore machinery as `run --properties`. Their steps are compared like
//! catalogue steps, plus the effect (which password works afterwards).
//!
//! Reports: text ([`render_text`]), JSON, and a self-contained HTML page
//! ([`html`]).

mod compare;
pub mod html;
mod report;
pub mod sequences;
mod text;

pub use compare::compare;
pub use report::{ALLOWLISTED_HEADERS, Aspect, DiffReport, Difference};
pub use text::render_text;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use crate::command::{CliError, Exposure, select};
use crate::embedded::{Embedded, Hashing};
use crate::exchange::Endpoint;
use crate::profile::{Counting, DEFAULT_TIMEOUT_SECS, Lockout, Profile};
use crate::properties::PropertyOptions;
use crate::properties::driver::Bounds;
use crate::properties::replay::{self, Played, Replay, Sequence};
use crate::report::RunReport;
use crate::runner::{self, RunOptions};
use crate::state::StateLock;
use crate::terminal;
use crate::verdict::Enforcement;
use crate::vocabulary::{self};

/// Options of `diff`.
#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// Profile of target A (its policy drives both runs).
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// Profile of target B (its base_url, tokens and accounts).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "against_reference"
    )]
    pub against: Option<PathBuf>,
    /// Compare A with the embedded reference server configured from A's
    /// profile (policy, lockout, limits, subjects, passwords, statuses; its
    /// own keys and tokens).
    #[arg(long, conflicts_with = "against")]
    pub against_reference: bool,
    /// Compare only cases whose ID matches (repeatable; `*` wildcards).
    #[arg(long = "case", value_name = "GLOB")]
    pub cases: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Write the report here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Secrets in the report, clear-text http.
    #[command(flatten)]
    pub exposure: Exposure,
    /// State file of A's active account [default: ./conformance.state.json].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// State file of B's active account [default:
    /// ./conformance.against.state.json; a temporary file for the
    /// reference server].
    #[arg(long, value_name = "FILE")]
    pub against_state: Option<PathBuf>,
    /// Timeout of one request attempt, in seconds [default: each profile's
    /// `[http] timeout_secs`, else 10].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Argon2id cost of the embedded reference server.
    #[arg(long, value_enum, default_value_t = Hashing::CheapTestOnly)]
    pub embedded_hashing: Hashing,
    /// Generated account-model sequences played against both targets (0:
    /// none; also none when `--case` does not match
    /// `property.account-model`).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub sequences: u32,
    /// Longest generated sequence.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max_steps: usize,
    /// Seed of the generated sequences [default: random, printed].
    #[arg(long)]
    pub seed: Option<u64>,
}

/// The generated sequences of a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceOptions {
    /// How many.
    pub count: u32,
    /// Longest.
    pub max_steps: usize,
    /// The seed.
    pub seed: u64,
}

/// Formats of the diff report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Grouped by tier, both exchanges side by side.
    Text,
    /// The whole diff as JSON.
    Json,
    /// One self-contained HTML page (needs `--output`).
    Html,
}

/// Options of one side's run.
#[derive(Debug, Clone)]
pub struct Side {
    /// The profile (already pointing at the target).
    pub profile: Profile,
    /// How the report names the target.
    pub name: String,
    /// Its state file.
    pub state: PathBuf,
}

/// Runs `cases` against one target with the runner; the report carries
/// every case's exchanges.
pub async fn run_side(
    side: &Side,
    cases: &[&'static vocabulary::Case],
    timeout: Option<Duration>,
    show_secrets: bool,
    sequences: Option<Arc<Vec<Sequence>>>,
) -> Result<(RunReport, Played), CliError> {
    let started = Instant::now();
    let fail = |e: &dyn std::fmt::Display| CliError(format!("{}: {e}", side.name));
    let timeout = timeout.unwrap_or_else(|| {
        Duration::from_secs(
            side.profile
                .http
                .timeout_secs
                .unwrap_or(DEFAULT_TIMEOUT_SECS)
                .max(1),
        )
    });
    // As `run`: an unreachable target fails before the state file is
    // touched; one run per state file.
    let target = side.profile.endpoint().map_err(|e| fail(&e))?;
    crate::exchange::probe(&target, timeout)
        .await
        .map_err(|e| fail(&e))?;
    let _lock = StateLock::acquire(&side.state).map_err(|e| fail(&e))?;
    let enforcement = Enforcement {
        strict: false,
        reference: false,
    };
    let options = RunOptions {
        enforcement,
        show_secrets,
        state_file: side.state.clone(),
        timeout,
    };
    let endpoint = Endpoint::parse(&side.profile.base_url)
        .map_err(|e| fail(&e))?
        .endpoint_url();
    let played = Arc::new(Mutex::new(None));
    let properties = sequences.map(|sequences| {
        let replay = Replay {
            sequences,
            played: played.clone(),
            show_secrets,
        };
        (
            play_options(replay, enforcement),
            play_bounds(&target, timeout),
        )
    });
    let outcome = runner::run_with_properties(&side.profile, cases, &options, properties)
        .await
        .map_err(|e| fail(&e))?;
    let played = played
        .lock()
        .ok()
        .and_then(|mut p| p.take())
        .unwrap_or_default();
    let report = RunReport::new(
        endpoint,
        side.name.clone(),
        enforcement,
        show_secrets,
        side.state.display().to_string(),
        outcome,
        started.elapsed().as_millis() as u64,
    );
    Ok((report, played))
}

/// The properties run of a diff: the account model only, its sequences
/// played as given (no proptest run, no shrinking).
fn play_options(replay: Replay, enforcement: Enforcement) -> PropertyOptions {
    PropertyOptions {
        cases: 0,
        sequences: replay.sequences.len() as u32,
        max_steps: 0,
        seed: 0,
        only: vec![vocabulary::Property::AccountModel],
        regressions: None,
        enforcement,
        progress: false,
        max_shrink_iters: 0,
        replay: Some(replay),
    }
}

/// As `run --properties`: a remote target is paced and bounded.
fn play_bounds(target: &Endpoint, timeout: Duration) -> Bounds {
    let remote = !target.is_loopback();
    Bounds {
        max_requests: if remote {
            crate::command::REMOTE_MAX_REQUESTS
        } else {
            u64::MAX
        },
        timeout,
    }
}

/// `b` driven with `a`'s declared policy and limits, so both targets get
/// the same requests. The lockout rule is the one both are run under
/// ([`stricter_lockout`]), set on both sides by [`run_pair`].
pub fn same_inputs(a: &Profile, mut b: Profile) -> Profile {
    b.policy = a.policy.clone();
    b.lockout = a.lockout.clone();
    b.limits = a.limits.clone();
    b
}

/// The stricter of two declared lockout rules, which both targets are run
/// under so that neither account is locked by the other's allowance: the
/// lower threshold (an undeclared one counts as the harness's assumption);
/// counting in a row only when both do; a window only when both count
/// within one, then the longer; otherwise the strictest reading
/// (failures never expire).
pub fn stricter_lockout(a: &Lockout, b: &Lockout) -> Lockout {
    let max_failures = Some(stricter(a.effective(), b.effective()).unwrap_or(0));
    let (counting, window_secs) = match (a.counting, b.counting) {
        (Some(Counting::Consecutive), Some(Counting::Consecutive)) => {
            (Some(Counting::Consecutive), None)
        }
        (Some(Counting::Window), Some(Counting::Window)) => match (a.window_secs, b.window_secs) {
            (Some(x), Some(y)) => (Some(Counting::Window), Some(x.max(y))),
            _ => (None, None),
        },
        _ => (None, None),
    };
    Lockout {
        max_failures,
        counting,
        window_secs,
    }
}

/// Runs both sides (A first, then B) and compares them.
pub async fn run_pair(
    a: &Side,
    b: &Side,
    cases: &[&'static vocabulary::Case],
    timeout: Option<Duration>,
    show_secrets: bool,
    sequences: Option<SequenceOptions>,
) -> Result<DiffReport, CliError> {
    let started = Instant::now();
    // The sequences are drawn before B's profile takes A's inputs: B's own
    // declared lockout bounds their wrong old passwords too.
    let generated = match sequences {
        Some(s) if s.count > 0 => Some(Arc::new(generate(&a.profile, &b.profile, s).await)),
        _ => None,
    };
    let lockout = stricter_lockout(&a.profile.lockout, &b.profile.lockout);
    let mut pa = a.profile.clone();
    pa.lockout = lockout.clone();
    let a = &Side {
        profile: pa,
        ..a.clone()
    };
    let mut pb = same_inputs(&a.profile, b.profile.clone());
    pb.lockout = lockout;
    let b = Side {
        profile: pb,
        ..b.clone()
    };
    let (ra, pa) = run_side(a, cases, timeout, show_secrets, generated.clone()).await?;
    let (rb, pb) = run_side(&b, cases, timeout, show_secrets, generated.clone()).await?;
    let mut report = compare(&ra, &rb);
    if generated.is_some() {
        sequences::compare(&pa, &pb, &mut report);
        report.seed = sequences.map(|s| s.seed);
        report.sort();
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    report.secrets_shown = show_secrets;
    Ok(report)
}

/// The abstract sequences, from A's profile and the seed alone (the token
/// variants both targets can make), their wrong old passwords kept under
/// the stricter of the two declared lockout thresholds: no sequence locks
/// either account.
pub async fn generate(a: &Profile, b: &Profile, s: SequenceOptions) -> Vec<Sequence> {
    let vb = replay::variants(b).await;
    let tokens: Vec<_> = replay::variants(a)
        .await
        .into_iter()
        .filter(|t| vb.contains(t))
        .collect();
    let mut setup = replay::setup(a, &tokens);
    setup.max_failures = stricter(a.lockout.effective(), b.lockout.effective());
    let (ra, rb) = (a.lockout.rule(), b.lockout.rule());
    setup.room = stricter(ra.allowance(), rb.allowance());
    setup.resets = ra.counting == Counting::Consecutive && rb.counting == Counting::Consecutive;
    replay::generate(setup, s.count, s.max_steps, s.seed)
}

/// The lower of two lockout thresholds (`None`: no lockout).
fn stricter(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// The sequence options `args` ask for: none with `--sequences 0`, or
/// when `--case` leaves out `property.account-model`.
fn sequence_options(args: &DiffArgs) -> Option<SequenceOptions> {
    let selected = crate::command::select_properties(&args.cases)
        .contains(&vocabulary::Property::AccountModel);
    if args.sequences == 0 || !selected {
        return None;
    }
    let seed = args.seed.unwrap_or_else(|| {
        let seed = crate::command::random_seed();
        eprintln!("sequences: seed {seed} (replay with --seed {seed})");
        seed
    });
    Some(SequenceOptions {
        count: args.sequences,
        max_steps: args.max_steps.max(1),
        seed,
    })
}

/// Runs `diff` as the command line asks.
pub async fn diff(args: &DiffArgs) -> Result<DiffReport, CliError> {
    let cases = select(&args.cases)?;
    if args.format == DiffFormat::Html && args.output.is_none() {
        return Err(CliError("--format html needs --output FILE".into()));
    }
    let sequences = sequence_options(args);
    let timeout = args.timeout.map(|s| Duration::from_secs(s.max(1)));
    // Both profiles are loaded, and clear-text http refused, before either
    // target is touched.
    let load = |file: &PathBuf| {
        let mut profile = Profile::load(file).map_err(|e| CliError(e.to_string()))?;
        profile.http.allow_insecure_http |= args.exposure.allow_insecure_http;
        profile
            .endpoint()
            .map_err(|e| CliError(format!("profile {}: {e}", file.display())))?;
        Ok::<Profile, CliError>(profile)
    };
    let pa = load(&args.profile)?;
    let a = Side {
        profile: pa.clone(),
        name: format!("profile {}", args.profile.display()),
        state: args
            .state
            .clone()
            .unwrap_or_else(|| PathBuf::from("conformance.state.json")),
    };
    if args.against_reference {
        let server = Embedded::start_from(args.embedded_hashing, &pa)
            .await
            .map_err(|e| CliError(e.to_string()))?;
        let b = Side {
            profile: server.profile.clone(),
            name: format!(
                "embedded reference server configured from {}",
                args.profile.display()
            ),
            state: args
                .against_state
                .clone()
                .unwrap_or_else(|| server.state_file()),
        };
        let report = run_pair(
            &a,
            &b,
            &cases,
            timeout,
            args.exposure.show_secrets,
            sequences,
        )
        .await;
        server.stop().await;
        report
    } else {
        let file = args.against.as_ref().expect("clap requires --against");
        let b = Side {
            profile: load(file)?,
            name: format!("profile {}", file.display()),
            state: args
                .against_state
                .clone()
                .unwrap_or_else(|| PathBuf::from("conformance.against.state.json")),
        };
        run_pair(
            &a,
            &b,
            &cases,
            timeout,
            args.exposure.show_secrets,
            sequences,
        )
        .await
    }
}

/// Renders the diff in `format`, what the targets sent escaped
/// ([`crate::terminal`]).
pub fn render(report: &DiffReport, format: DiffFormat) -> String {
    match format {
        DiffFormat::Text => terminal::text(&render_text(report)).into_owned(),
        DiffFormat::Json => terminal::json(
            &serde_json::to_string_pretty(report)
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")),
        )
        .into_owned(),
        DiffFormat::Html => terminal::text(&html::render(report)).into_owned(),
    }
}

/// `conformance diff`: returns the exit code.
pub fn run_command(args: &DiffArgs) -> Result<u8, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError(e.to_string()))?;
    let report = runtime.block_on(diff(args))?;
    let text = render(&report, args.format);
    crate::output::deliver(&text, args.output.as_deref(), args.exposure.show_secrets)
        .map_err(CliError)?;
    if let Some(file) = &args.output {
        eprintln!("{}: {}", file.display(), report.summary_line());
    }
    Ok(report.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::BodyRecord;
    use crate::report::fixture;
    use crate::report::{EXIT_FAIL, EXIT_PASS};
    use crate::verdict::Verdict;
    use crate::vocabulary::Tier;

    #[test]
    fn same_report_is_alike_and_each_aspect_differs_alone() {
        let a = fixture::report();
        assert!(compare(&a, &a).differences.is_empty());
        assert_eq!(compare(&a, &a).exit_code(), EXIT_PASS);

        // Challenge parameters in another order are the same behaviour.
        let mut a = fixture::report();
        let mut b = fixture::report();
        let set = |r: &mut RunReport, v: &str| {
            r.cases[1].exchanges[0]
                .response
                .as_mut()
                .unwrap()
                .headers
                .push(("www-authenticate".into(), v.into()));
        };
        set(&mut a, r#"Bearer realm="x", error="invalid_token""#);
        set(&mut b, r#"Bearer error="invalid_token", realm="x""#);
        assert!(compare(&a, &b).differences.is_empty());

        // A status, an error member and an allowlisted header.
        let response = b.cases[1].exchanges[0].response.as_mut().unwrap();
        response.status = 403;
        response.body = BodyRecord::Json(serde_json::json!({"error": "abnormal_user_status"}));
        response
            .headers
            .push(("content-type".into(), "text/plain".into()));
        response.headers.push(("date".into(), "ignored".into()));
        let d = compare(&a, &b);
        assert_eq!(d.cases_differing(), ["user.frozen"]);
        let what: Vec<&str> = d.differences[0]
            .aspects
            .iter()
            .map(|x| x.what.as_str())
            .collect();
        assert_eq!(what, ["status", "error", "header content-type"]);
        assert_eq!(d.exit_code(), EXIT_FAIL);

        // Skipped on one side only.
        let mut c = fixture::report();
        c.cases[0].verdict = Verdict::Skip;
        let d = compare(&fixture::report(), &c);
        assert_eq!(d.differences[0].aspects[0].what, "ran");
    }

    /// Two 200s that differ in headers or body are open point 7, whatever
    /// the case's tier; a status that differs keeps the case's tier.
    #[test]
    fn headers_of_two_200s_are_open_point_7() {
        let status = |r: &mut RunReport, s: u16| {
            r.cases[1].exchanges[0].response.as_mut().unwrap().status = s;
        };
        let (mut a, mut b) = (fixture::report(), fixture::report());
        assert_eq!(a.cases[1].tier, Tier::Seed);
        status(&mut a, 200);
        status(&mut b, 200);
        b.cases[1].exchanges[0]
            .response
            .as_mut()
            .unwrap()
            .headers
            .push(("cache-control".into(), "no-store".into()));
        let d = compare(&a, &b);
        assert_eq!(d.differences.len(), 1);
        assert_eq!(
            (d.differences[0].tier, d.differences[0].group.as_str()),
            (Tier::Reference, "open-7")
        );
        status(&mut b, 400);
        let d = compare(&a, &b);
        assert_eq!(d.differences[0].tier, Tier::Seed);
    }

    #[test]
    fn differences_are_ordered_seed_rfc_open_points() {
        let a = fixture::report();
        let mut b = fixture::report();
        for case in &mut b.cases {
            for x in &mut case.exchanges {
                x.response.as_mut().unwrap().status = 599;
            }
        }
        // Give the RFC case an exchange on both sides.
        let x = a.cases[1].exchanges[0].clone();
        let mut a = a;
        a.cases[2].exchanges.push(x.clone());
        let mut y = x;
        y.response.as_mut().unwrap().status = 599;
        b.cases[2].exchanges.push(y);
        let d = compare(&a, &b);
        let tiers: Vec<Tier> = d.differences.iter().map(|d| d.tier).collect();
        assert_eq!(tiers, [Tier::Seed, Tier::Rfc]);
        let text = render_text(&d);
        assert!(text.find("== seed rows").unwrap() < text.find("== RFC expectations").unwrap());
        assert!(text.contains("reproduce on A: curl") && text.contains("reproduce on B: curl"));
    }

    /// The most wrong old passwords counted in a row (no success between)
    /// over the sequences.
    fn most_failures(seqs: &[Sequence]) -> u32 {
        use crate::properties::model::{Model, may_count};
        use proptest_state_machine::ReferenceStateMachine;
        let mut most = 0;
        for q in seqs {
            let mut state = q.init.clone();
            let mut run = 0;
            for step in &q.steps {
                let success = state.predict(step)
                    == crate::properties::answers::Answers::one(
                        crate::properties::answers::Prediction::Success,
                    );
                if success {
                    run = 0;
                } else if may_count(step) {
                    run += 1;
                }
                most = most.max(run);
                state = Model::apply(state, step);
            }
        }
        most
    }

    #[tokio::test]
    async fn sequences_stay_under_the_stricter_of_the_two_lockout_thresholds() {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/reference.toml");
        let a = Profile::load(&file).unwrap();
        assert_eq!(a.lockout.effective(), Some(5));
        let s = SequenceOptions {
            count: 40,
            max_steps: 12,
            seed: 11,
        };
        // A against itself: up to three wrong old passwords in a row (5,
        // less the one that locks, less the run's spare).
        let same = generate(&a, &a, s).await;
        assert!(most_failures(&same) >= 2, "{}", most_failures(&same));
        // B declares a lockout after 3: room for one, on either side; after
        // 2, room for none; and a B without lockout does not loosen A's.
        let mut b = a.clone();
        b.lockout.max_failures = Some(3);
        assert_eq!(most_failures(&generate(&a, &b, s).await), 1);
        assert_eq!(most_failures(&generate(&b, &a, s).await), 1);
        b.lockout.max_failures = Some(2);
        assert_eq!(most_failures(&generate(&a, &b, s).await), 0);
        b.lockout.max_failures = Some(0);
        assert!(most_failures(&generate(&a, &b, s).await) <= 3);
        assert_eq!(stricter(None, Some(3)), Some(3));
        let rule = |m: Option<u32>, c: Option<Counting>, w: Option<u64>| Lockout {
            max_failures: m,
            counting: c,
            window_secs: w,
        };
        let (row, win) = (Some(Counting::Consecutive), Some(Counting::Window));
        assert_eq!(
            stricter_lockout(&rule(Some(5), row, None), &rule(Some(3), row, None)),
            rule(Some(3), row, None)
        );
        assert_eq!(
            stricter_lockout(
                &rule(Some(5), win, Some(60)),
                &rule(Some(0), win, Some(300))
            ),
            rule(Some(5), win, Some(300))
        );
        assert_eq!(
            stricter_lockout(&rule(Some(5), row, None), &rule(None, win, Some(60))),
            rule(Some(crate::profile::ASSUMED_MAX_FAILURES), None, None)
        );
        assert_eq!(
            stricter_lockout(&rule(Some(0), row, None), &rule(Some(0), None, None)),
            rule(Some(0), None, None)
        );
        assert_eq!(stricter(Some(4), None), Some(4));
        assert_eq!(stricter(None, None), None);
    }
}
