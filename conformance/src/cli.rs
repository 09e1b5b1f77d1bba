//! The command line: `run` (the default), `list`, `plan`, `init` and
//! `restore`.
//! Exit codes: 0 every required case passed and every seed row that ran
//! was verified, 1 a case failed (or the password was not restored, or a
//! `--require-rows` row was not verified), 2 a configuration or connection
//! error, 3 a seed row was not verified (see [`crate::verified`]),
//! 130/143 the run was interrupted by SIGINT/SIGTERM (and restored what it
//! could; see [`crate::interrupt`]).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::baseline::Baseline;
pub use crate::command::{
    CliError, Exposure, REMOTE_MAX_REQUESTS, random_seed, select, select_properties,
};
use crate::embedded::{self, Embedded, Hashing};
use crate::plan::{self, estimate::PropertyLoad};
use crate::profile::{DEFAULT_TIMEOUT_SECS, Profile};
use crate::properties::PropertyOptions;
use crate::properties::driver::Bounds;
use crate::report::{self, EXIT_ERROR, RunReport};
use crate::runner::{self, RunOptions};
use crate::state::StateLock;
use crate::verdict::Enforcement;
use crate::vocabulary::Row;
use crate::{output, terminal};

/// Conformance suite for Tencent Cloud CIAM `POST /change_user_password`.
///
/// Without --profile it starts the embedded reference server and checks it.
#[derive(Debug, Parser)]
#[command(name = "conformance", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the default `run`.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the catalogue against a target (the default).
    Run(RunArgs),
    /// Print the catalogue: id, tier, spec reference.
    List(ListArgs),
    /// Print what a run would do, contacting nothing: the cases that would
    /// run or be skipped and why, the rows left unverified, the wrong old
    /// passwords each account receives, the estimated length.
    Plan(crate::plan::command::PlanArgs),
    /// Write a starter profile from the issuer's OpenID discovery document.
    Init(crate::init::InitArgs),
    /// Print the JSON Schema of the profile (every key, its type, default
    /// and meaning) for editors that read a `#:schema` line.
    Schema,
    /// Run the catalogue against two targets and report every behavioural
    /// difference (exit 0 alike, 1 differ, 2 configuration/connection).
    Diff(crate::diff::DiffArgs),
    /// Restore the original password from the state file alone (after a
    /// run was killed): exit 0 restored or nothing to do, 1 not restored
    /// (each account's recorded passwords are named), 2 error.
    Restore(RestoreArgs),
}

/// Options of `restore`.
#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// Target profile (as for `run`); without it the reference profile
    /// with --base-url.
    #[arg(long, value_name = "FILE", required_unless_present = "base_url")]
    pub profile: Option<PathBuf>,
    /// Override the profile's base_url.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// State file [default: ./conformance.state.json].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Timeout of one request attempt, in seconds [default: the profile's,
    /// else 10].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Print the recorded passwords instead of naming them.
    #[arg(long)]
    pub show_secrets: bool,
    /// Allow clear-text http to a host off the loopback interface
    /// (passwords and tokens then cross the network unencrypted; refused
    /// otherwise). Same as `[http] allow_insecure_http = true`.
    #[arg(long)]
    pub allow_insecure_http: bool,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Grouped lines for people.
    Tree,
    /// The whole report as JSON.
    Json,
    /// JUnit XML.
    Junit,
    /// One self-contained HTML page (use with --output).
    Html,
}

/// Options of `run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Target profile (TOML, see docs/profile.md); without it the
    /// embedded reference server is started.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Override the profile's base_url (without --profile: run the
    /// reference profile against this URL instead of the embedded server).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Run only cases whose ID matches (repeatable; `*` wildcards).
    #[arg(long = "case", value_name = "GLOB")]
    pub cases: Vec<String>,
    /// RFC and reference expectations fail the run too.
    #[arg(long)]
    pub strict: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Tree)]
    pub format: Format,
    /// Write the report here instead of stdout (the summary line still goes
    /// to stderr).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Expected failures with reasons (TOML); a listed case that passes is
    /// stale and fails the run.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Fail the run (exit 1) when one of these seed rows is not verified
    /// (no passing seed-tier case), selected or not: `all`, or a list
    /// like `S1,S2,S10`.
    #[arg(long, value_name = "ROWS", value_parser = parse_rows)]
    pub require_rows: Option<Rows>,
    /// Accept these seed rows left unverified (no exit 3 for them; still
    /// reported): `all`, or a list like `S7,S8`. Not with a row of
    /// --require-rows.
    #[arg(long, value_name = "ROWS", value_parser = parse_rows)]
    pub allow_unverified: Option<Rows>,
    /// Secrets in the report, clear-text http.
    #[command(flatten)]
    pub exposure: Exposure,
    /// State file of the active account [default: ./conformance.state.json;
    /// a temporary file for the embedded server].
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Timeout of one request attempt, in seconds [default: the profile's
    /// `[http] timeout_secs`, else 10].
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Requests per second at most, retries included; 0: unpaced
    /// [default: the profile's `[http] rate`, else 10 for a target off the
    /// loopback interface and unpaced on it].
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,
    /// Argon2id cost of the embedded reference server.
    #[arg(long, value_enum, default_value_t = Hashing::CheapTestOnly)]
    pub embedded_hashing: Hashing,
    /// Also run the generated properties (property.policy-oracle,
    /// property.account-model, property.hostile-inputs; see
    /// conformance/PROPERTIES.md) after the selected catalogue cases.
    #[arg(long)]
    pub properties: bool,
    /// Generated cases per property (the account model runs a quarter as
    /// many sequences) [default: 256 embedded, 64 for a remote target].
    #[arg(long = "cases", value_name = "N", requires = "properties")]
    pub property_cases: Option<u32>,
    /// Seed of the properties (printed with every run and failure;
    /// replays it) [default: random].
    #[arg(long, value_name = "S", requires = "properties")]
    pub seed: Option<u64>,
}

/// The seed rows of `--require-rows`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows(pub Vec<Row>);

/// Parses `all` or `S1,S2,…`.
pub fn parse_rows(s: &str) -> Result<Rows, String> {
    if s.trim().eq_ignore_ascii_case("all") {
        return Ok(Rows(Row::ALL.to_vec()));
    }
    s.split(',')
        .map(|part| {
            let part = part.trim();
            Row::ALL
                .iter()
                .copied()
                .find(|r| r.id().eq_ignore_ascii_case(part))
                .ok_or_else(|| format!("{part:?} is not a seed row (S1 … S11, or all)"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Rows)
}

/// Formats of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// One line per case.
    Text,
    /// A JSON array.
    Json,
}

/// Options of `list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
    /// Only cases whose ID matches (repeatable).
    #[arg(long = "case", value_name = "GLOB")]
    pub cases: Vec<String>,
}

fn err(e: impl std::fmt::Display) -> CliError {
    CliError(e.to_string())
}

/// One catalogue entry as `list --format json` prints it.
#[derive(Debug, Serialize)]
pub struct Listed {
    /// Stable ID.
    pub id: &'static str,
    /// Tier.
    pub tier: &'static str,
    /// Group key.
    pub group: String,
    /// `seed S9`, `RFC 7235 §2.1`, `open point 6`.
    pub spec: String,
    /// The quoted requirement.
    pub requirement: &'static str,
    /// The vendor document's own words, for seed rows.
    pub requirement_zh: Option<&'static str>,
    /// What the case checks.
    pub title: &'static str,
    /// The reference decision, for reference cases.
    pub decision: Option<String>,
}

/// The catalogue as `list` prints it.
pub fn list(args: &ListArgs) -> Result<String, CliError> {
    let cases = select(&args.cases)?;
    match args.format {
        ListFormat::Json => {
            let listed: Vec<Listed> = cases
                .iter()
                .map(|c| Listed {
                    id: c.id,
                    tier: c.tier.as_str(),
                    group: c.group().key(),
                    spec: c.spec.reference(),
                    requirement: c.spec.quote(),
                    requirement_zh: match c.spec {
                        crate::vocabulary::Spec::Row(r) => Some(r.quote_zh()),
                        _ => None,
                    },
                    title: c.title,
                    decision: c
                        .decision
                        .map(|(p, d)| format!("open point {}: {d}", p.number())),
                })
                .collect();
            serde_json::to_string_pretty(&listed).map_err(err)
        }
        ListFormat::Text => {
            let mut out = String::new();
            for c in cases {
                let _ = writeln!(
                    out,
                    "{:<46} {:<9} {:<16} {}",
                    c.id,
                    c.tier.as_str(),
                    c.spec.reference(),
                    c.title
                );
            }
            let _ = writeln!(out, "{} cases", out.lines().count());
            Ok(out)
        }
    }
}

/// A row both `--require-rows` and `--allow-unverified` name is a
/// contradiction (exit 2).
fn check_rows(args: &RunArgs) -> Result<(), CliError> {
    let (Some(Rows(required)), Some(Rows(allowed))) = (&args.require_rows, &args.allow_unverified)
    else {
        return Ok(());
    };
    let both: Vec<&str> = required
        .iter()
        .filter(|r| allowed.contains(r))
        .map(|r| r.id())
        .collect();
    if both.is_empty() {
        return Ok(());
    }
    Err(CliError(format!(
        "--require-rows and --allow-unverified both name {}: a row is either required or \
         accepted unverified",
        both.join(", ")
    )))
}

/// Runs the selected cases and returns the report (baseline applied).
pub async fn run(args: &RunArgs) -> Result<RunReport, CliError> {
    let started = Instant::now();
    check_rows(args)?;
    let cases = select(&args.cases)?;
    let baseline = match &args.baseline {
        Some(file) => Some(Baseline::load(file).map_err(err)?),
        None => None,
    };
    let (mut profile, target, state_file, embedded) = target_of(args).await?;
    profile.http.allow_insecure_http |= args.exposure.allow_insecure_http;
    if let Some(rate) = args.rate {
        if !rate.is_finite() || rate < 0.0 {
            return Err(CliError(format!(
                "--rate {rate}: a number of requests per second, 0 or more"
            )));
        }
        profile.http.rate = Some(rate);
    }
    let timeout = Duration::from_secs(
        args.timeout
            .or(profile.http.timeout_secs)
            .unwrap_or(DEFAULT_TIMEOUT_SECS)
            .max(1),
    );
    // An unreachable target is a connection error before anything is
    // written (the lock file included).
    let reachable = match profile.endpoint() {
        Ok(endpoint) => crate::exchange::probe(&endpoint, timeout)
            .await
            .map_err(|e| CliError(e.to_string())),
        Err(e) => Err(CliError(e)),
    };
    // One run per state file: a second one fails here, naming the holder.
    let lock = reachable.and_then(|()| StateLock::acquire(&state_file).map_err(err));
    let _lock = match lock {
        Ok(lock) => lock,
        Err(e) => {
            if let Some(server) = embedded {
                server.stop().await;
            }
            return Err(e);
        }
    };
    let enforcement = Enforcement {
        strict: args.strict,
        reference: embedded.is_some(),
    };
    let options = RunOptions {
        enforcement,
        show_secrets: args.exposure.show_secrets,
        state_file: state_file.clone(),
        timeout,
    };
    let endpoint = crate::exchange::Endpoint::parse(&profile.base_url)
        .map_err(err)?
        .endpoint_url();
    let properties = property_run(
        args,
        &cases,
        embedded.is_none(),
        enforcement,
        options.timeout,
    )?;
    let rule = profile.lockout.rule();
    if !rule.declared {
        eprintln!("lockout: {}", rule.describe());
    }
    let load = properties.as_ref().map(|(opts, bounds)| PropertyLoad {
        cases: opts.cases,
        sequences: opts.sequences,
        max_steps: u32::try_from(opts.max_steps).unwrap_or(u32::MAX),
        max_requests: bounds.max_requests,
    });
    // The estimate counts what an interrupted run left counted (an
    // unreadable file is the run's error to report, not the estimate's).
    let state = crate::state::StateFile::load(&state_file).ok().flatten();
    let planned = plan::command::report(&profile, &target, &cases, load, state.as_ref());
    eprintln!("{}", plan::command::summary(&planned));
    let outcome = runner::run_with_properties(&profile, &cases, &options, properties).await;
    if let Some(server) = embedded {
        server.stop().await;
    }
    let outcome = outcome.map_err(err)?;
    let mut report = RunReport::new(
        endpoint,
        target,
        enforcement,
        args.exposure.show_secrets,
        state_file.display().to_string(),
        outcome,
        started.elapsed().as_millis() as u64,
    );
    if let Some(baseline) = baseline {
        baseline.apply(&mut report.cases);
        report.recount();
    }
    if let Some(Rows(rows)) = &args.require_rows {
        report.require_rows(rows);
    }
    if let Some(Rows(rows)) = &args.allow_unverified {
        report.allow_unverified(rows);
    }
    if let (Some(code), Some(signal)) =
        (crate::interrupt::exit_code(), crate::interrupt::requested())
    {
        report.interrupted = Some((code, crate::interrupt::name(signal)));
    }
    Ok(report)
}

/// The profile, a description of the target, the state file and the
/// embedded server when `run` starts one (neither --profile nor --base-url).
async fn target_of(
    args: &RunArgs,
) -> Result<(Profile, String, PathBuf, Option<Embedded>), CliError> {
    let (profile, target, state_file) = match (&args.profile, &args.base_url) {
        (Some(file), base_url) => {
            let mut profile = Profile::load(file).map_err(err)?;
            if let Some(url) = base_url {
                profile.base_url = url.clone();
            }
            let state = args
                .state
                .clone()
                .unwrap_or_else(|| PathBuf::from("conformance.state.json"));
            (profile, format!("profile {}", file.display()), state)
        }
        (None, Some(url)) => {
            let mut profile =
                Profile::load(std::path::Path::new(embedded::REFERENCE_PROFILE)).map_err(err)?;
            profile.base_url = url.clone();
            let state = args
                .state
                .clone()
                .unwrap_or_else(|| PathBuf::from("conformance.state.json"));
            (
                profile,
                "reference profile (fixtures/reference.toml)".to_string(),
                state,
            )
        }
        (None, None) => {
            let server = Embedded::start(args.embedded_hashing).await.map_err(err)?;
            let profile = server.profile.clone();
            let state = match &args.state {
                Some(file) => file.clone(),
                None => {
                    // A throwaway file beside the server's temporary
                    // database: atomic writes without fsyncs.
                    crate::state::set_durable_writes(false);
                    server.state_file()
                }
            };
            return Ok((
                profile,
                "embedded reference server (fixtures/reference.toml)".to_string(),
                state,
                Some(server),
            ));
        }
    };
    Ok((profile, target, state_file, None))
}

/// The property run `--properties` asks for (`None` without it or when
/// the selection holds no property); `remote`: a target other than the
/// embedded server.
fn property_run(
    args: &RunArgs,
    cases: &[&'static crate::vocabulary::Case],
    remote: bool,
    enforcement: Enforcement,
    timeout: Duration,
) -> Result<Option<(PropertyOptions, Bounds)>, CliError> {
    let properties = if args.properties {
        let only = select_properties(&args.cases);
        if only.is_empty() {
            None
        } else {
            let n = args.property_cases.unwrap_or(if remote { 64 } else { 256 });
            let seed = args.seed.unwrap_or_else(random_seed);
            eprintln!("properties: seed {seed} (replay with --seed {seed})");
            let opts = PropertyOptions {
                cases: n,
                sequences: (n / 4).max(1),
                max_steps: 30,
                seed,
                only,
                regressions: None,
                enforcement,
                progress: true,
                max_shrink_iters: if remote { 200 } else { 2_000 },
                replay: None,
            };
            let bounds = Bounds {
                max_requests: if remote {
                    REMOTE_MAX_REQUESTS
                } else {
                    u64::MAX
                },
                timeout,
            };
            Some((opts, bounds))
        }
    } else {
        if !args.cases.is_empty() && cases.is_empty() {
            return Err(CliError(
                "the selected cases are generated properties: add --properties".into(),
            ));
        }
        None
    };
    Ok(properties)
}

/// Renders a report in `format`, what the target sent escaped
/// ([`crate::terminal`]).
pub fn render(report: &RunReport, format: Format) -> String {
    match format {
        Format::Tree => terminal::text(&report::tree::render(report)).into_owned(),
        Format::Json => terminal::json(&report::json::render(report)).into_owned(),
        Format::Junit => terminal::text(&report::junit::render(report)).into_owned(),
        Format::Html => terminal::text(&report::html::render(report)).into_owned(),
    }
}

fn run_command(args: &RunArgs) -> Result<u8, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(err)?;
    let report = runtime.block_on(async {
        crate::interrupt::install().map_err(err)?;
        run(args).await
    })?;
    if let Some(code) = crate::interrupt::exit_code() {
        let signal = crate::interrupt::requested().unwrap_or_default();
        eprintln!(
            "interrupted by {}: the run stopped early; restore: {}",
            crate::interrupt::name(signal),
            terminal::line(&report.restore.outcome)
        );
        let text = render(&report, args.format);
        output::deliver(&text, args.output.as_deref(), args.exposure.show_secrets)
            .map_err(CliError)?;
        return Ok(code);
    }
    let text = render(&report, args.format);
    output::deliver(&text, args.output.as_deref(), args.exposure.show_secrets).map_err(CliError)?;
    let exit = report.exit();
    if args.output.is_some() {
        eprintln!("{}", report.summary.line());
        if !report.restore.ok {
            // What the account has now and what sets it back (a static
            // token refused after the run's change, open point 10, …).
            eprintln!("restore: {}", terminal::line(&report.restore.outcome));
        }
        eprintln!("{}", terminal::line(&exit.line()));
    }
    Ok(exit.code)
}

/// `conformance restore`: exit 0 restored (or no state file), 1 not
/// restored, 2 error.
fn restore_command(args: &RestoreArgs) -> Result<u8, CliError> {
    let mut profile = match &args.profile {
        Some(file) => Profile::load(file).map_err(err)?,
        None => Profile::load(std::path::Path::new(embedded::REFERENCE_PROFILE)).map_err(err)?,
    };
    if let Some(url) = &args.base_url {
        profile.base_url = url.clone();
    }
    profile.http.allow_insecure_http |= args.allow_insecure_http;
    // Clear-text http off the loopback interface is refused up front.
    profile.endpoint().map_err(err)?;
    let state_file = args
        .state
        .clone()
        .unwrap_or_else(|| PathBuf::from("conformance.state.json"));
    let timeout = Duration::from_secs(
        args.timeout
            .or(profile.http.timeout_secs)
            .unwrap_or(DEFAULT_TIMEOUT_SECS)
            .max(1),
    );
    let _lock = StateLock::acquire(&state_file).map_err(err)?;
    let options = RunOptions {
        enforcement: Enforcement {
            strict: false,
            reference: false,
        },
        show_secrets: args.show_secrets,
        state_file: state_file.clone(),
        timeout,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(err)?;
    let outcome = runtime
        .block_on(runner::restore_from_state(&profile, &options))
        .map_err(err)?;
    let Some(recorded) = &outcome.recorded else {
        println!(
            "restore: no state file {}: nothing to restore",
            state_file.display()
        );
        return Ok(0);
    };
    for h in [&outcome.resumed, &outcome.restore].into_iter().flatten() {
        println!(
            "restore: {} ({} requests)",
            terminal::line(&h.outcome),
            h.exchanges.len()
        );
    }
    if outcome.ok() {
        return Ok(0);
    }
    // Not restored: what the file says each account has.
    let shown = |p: &str, label: &str| {
        if args.show_secrets {
            format!("{p:?}")
        } else {
            format!(
                "the `{label}` password recorded in {}",
                state_file.display()
            )
        }
    };
    // As the restore left the file (it records every change it made).
    let left = outcome.left.as_ref().unwrap_or(recorded);
    for a in &left.accounts {
        match &a.pending {
            Some(pending) => println!(
                "restore: {} has {} or {} (a change to it got no answer); its original is {}",
                a.subject,
                shown(&a.current, "current"),
                shown(pending, "pending"),
                shown(&a.original, "original"),
            ),
            None => println!(
                "restore: {} has {}; its original is {}",
                a.subject,
                shown(&a.current, "current"),
                shown(&a.original, "original"),
            ),
        }
    }
    Ok(crate::report::EXIT_FAIL)
}

/// Runs the command line; returns the process exit code.
pub fn main(cli: Cli) -> ExitCode {
    let result = match &cli.command {
        Some(Command::List(args)) => list(args).map(|text| {
            print!("{text}");
            0
        }),
        Some(Command::Run(args)) => run_command(args),
        Some(Command::Plan(args)) => crate::plan::command::run_command(args),
        Some(Command::Init(args)) => crate::init::run_command(args).map_err(err),
        Some(Command::Schema) => {
            print!("{}", crate::schema::render());
            Ok(0)
        }
        Some(Command::Diff(args)) => crate::diff::run_command(args),
        Some(Command::Restore(args)) => restore_command(args),
        None => run_command(&cli.run),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", terminal::text(&e.to_string()));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::CATALOGUE;
    use crate::vocabulary::Property;

    #[test]
    fn require_rows_parses_all_and_lists() {
        assert_eq!(parse_rows("all").unwrap().0.len(), 11);
        assert_eq!(
            parse_rows("S1, s10").unwrap(),
            Rows(vec![Row::S1, Row::S10])
        );
        assert!(parse_rows("S12").unwrap_err().contains("S12"));
    }

    #[test]
    fn allow_unverified_parses_and_contradicts_require_rows() {
        let cli = Cli::try_parse_from(["conformance", "--allow-unverified", "S7,s8"]).unwrap();
        assert_eq!(cli.run.allow_unverified, Some(Rows(vec![Row::S7, Row::S8])));
        let e = Cli::try_parse_from(["conformance", "--allow-unverified", "S7,S13"]).unwrap_err();
        assert!(e.to_string().contains("\"S13\" is not a seed row"), "{e}");
        let cli = Cli::try_parse_from([
            "conformance",
            "--require-rows",
            "all",
            "--allow-unverified",
            "S8",
        ])
        .unwrap();
        let e = check_rows(&cli.run).unwrap_err();
        assert!(e.0.contains("both name S8"), "{e}");
        let cli = Cli::try_parse_from([
            "conformance",
            "--require-rows",
            "S1",
            "--allow-unverified",
            "S8",
        ])
        .unwrap();
        assert!(check_rows(&cli.run).is_ok());
    }

    #[test]
    fn globs_select_and_typos_are_errors() {
        let s = select(&["auth.missing-token.*".to_string()]).unwrap();
        assert_eq!(s.len(), 4);
        assert!(s.iter().all(|c| c.id.starts_with("auth.missing-token.")));
        assert!(select(&["auth.nope*".to_string()]).is_err());
        assert_eq!(select(&[]).unwrap().len(), CATALOGUE.len());
    }

    #[test]
    fn list_json_has_every_case() {
        let text = list(&ListArgs {
            format: ListFormat::Json,
            cases: vec![],
        })
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v.as_array().unwrap().len(), CATALOGUE.len());
        assert_eq!(v[0]["id"], CATALOGUE[0].id);
    }

    #[test]
    fn cli_parses_the_default_run_and_subcommands() {
        let cli = Cli::try_parse_from(["conformance", "--strict", "--case", "user.*"]).unwrap();
        assert!(cli.command.is_none() && cli.run.strict);
        let cli = Cli::try_parse_from(["conformance", "list", "--format", "json"]).unwrap();
        assert!(matches!(cli.command, Some(Command::List(_))));
        let cli = Cli::try_parse_from([
            "conformance",
            "run",
            "--properties",
            "--cases",
            "8",
            "--seed",
            "42",
        ])
        .unwrap();
        let Some(Command::Run(run)) = cli.command else {
            panic!("run");
        };
        assert!(run.properties && run.property_cases == Some(8) && run.seed == Some(42));
        // --cases and --seed only mean something with --properties.
        assert!(Cli::try_parse_from(["conformance", "--seed", "1"]).is_err());
    }

    #[test]
    fn property_globs_select_properties() {
        assert_eq!(select_properties(&[]).len(), 3);
        assert_eq!(
            select_properties(&["property.account-*".to_string()]),
            vec![Property::AccountModel]
        );
        assert!(select(&["property.*".to_string()]).unwrap().is_empty());
    }
}
