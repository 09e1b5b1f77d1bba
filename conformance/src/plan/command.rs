//! `conformance plan`: what a run would do, from the profile alone
//! (nothing is contacted, not even the JWKS): the cases that would run,
//! those skipped and why, the seed rows that would stay unverified, the
//! wrong old passwords each account would receive, and the estimate of
//! the run's length with and without `--properties`. As text or as one
//! stable JSON object; [`summary`] is the line a run prints on stderr
//! before its first request.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::command::{CliError, REMOTE_MAX_REQUESTS, select, select_properties};
use crate::profile::Profile;
use crate::state::StateFile;
use crate::terminal;
use crate::vocabulary::Case;

use super::estimate::{self, Estimate, PropertyLoad};
use super::{Decision, PlannedCase, RunPlan};

/// Formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// For people.
    Text,
    /// One JSON object.
    Json,
}

/// Options of `plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Target profile (as for `run`).
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// Override the profile's base_url.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Plan only cases whose ID matches (repeatable; `*` wildcards).
    #[arg(long = "case", value_name = "GLOB")]
    pub cases: Vec<String>,
    /// Plan the generated properties too (as `run --properties`).
    #[arg(long)]
    pub properties: bool,
    /// Generated cases per property, as for `run --cases`.
    #[arg(long = "cases", value_name = "N", requires = "properties")]
    pub property_cases: Option<u32>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// The state file a run would resume (as for `run`): the wrong
    /// attempts an interrupted run left counted on each pool account are
    /// planned as spent. Read only; a missing file counts nothing.
    #[arg(long, value_name = "FILE", default_value = "conformance.state.json")]
    pub state: PathBuf,
}

/// The estimates of `plan`.
#[derive(Debug, Clone, Serialize)]
pub struct Estimates {
    /// The catalogue alone.
    pub without_properties: Estimate,
    /// The catalogue and the generated properties.
    pub with_properties: Estimate,
    /// The model (docs/vendor-guide.md).
    pub model: &'static str,
}

/// `plan --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    /// The profile file.
    pub profile: String,
    /// Its target.
    pub base_url: String,
    /// Whether the properties are planned.
    pub properties: bool,
    /// Cases that run, share another's request, are skipped.
    pub counts: Counts,
    /// The plan.
    #[serde(flatten)]
    pub plan: RunPlan,
    /// How long the run would take.
    pub estimate: Estimates,
}

/// How many cases of each kind.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Counts {
    /// Run.
    pub run: usize,
    /// Checked by another case's request.
    pub shared: usize,
    /// Skipped up front.
    pub skip: usize,
}

const MODEL: &str = "requests x per-request time (1/rate when paced, else 3 ms on the loopback \
                     interface, 150 ms off it) + lockout waits (per pool account: (ceil(n/a) - 1) x \
                     window_secs + 0.1 s per wait, for the n wrong old passwords planned for it \
                     and a allowed at once; the largest account's, as accounts wait in parallel)";

/// The wrong attempts `state` (an interrupted run's file, if any) left
/// counted on each account of `profile`'s pool, in the profile's order
/// (0 for an account the file does not hold; nothing from a file of
/// another target, which a run refuses to resume).
pub fn counted_before(profile: &Profile, state: Option<&StateFile>) -> Vec<u32> {
    let ours = profile.endpoint().map(|e| e.endpoint_url()).ok();
    let state = state.filter(|f| ours.as_deref() == Some(f.endpoint.as_str()));
    profile
        .accounts
        .active
        .iter()
        .map(|account| {
            state
                .and_then(|f| f.accounts.iter().find(|a| a.subject == account.subject))
                .map_or(0, |a| a.failures)
        })
        .collect()
}

/// The plan of a run of `cases` with `profile` and its estimates;
/// `properties`: whether the properties are planned; `state`: the state
/// file the run would resume (its counted wrong attempts are spent).
pub fn report(
    profile: &Profile,
    file: &str,
    cases: &[&'static Case],
    properties: Option<PropertyLoad>,
    state: Option<&StateFile>,
) -> PlanReport {
    let plan = super::make(profile, cases, &counted_before(profile, state));
    let load = properties.unwrap_or_else(|| default_load(profile));
    let counts = Counts {
        run: plan.cases.iter().filter(|c| c.runs()).count(),
        shared: plan
            .cases
            .iter()
            .filter(|c| matches!(c.decision, Decision::Shared { .. }))
            .count(),
        skip: plan
            .cases
            .iter()
            .filter(|c| matches!(c.decision, Decision::Skip { .. }))
            .count(),
    };
    PlanReport {
        profile: file.to_string(),
        base_url: profile.base_url.clone(),
        properties: properties.is_some(),
        counts,
        estimate: Estimates {
            without_properties: estimate::estimate(profile, cases, &plan, None),
            with_properties: estimate::estimate(profile, cases, &plan, Some(load)),
            model: MODEL,
        },
        plan,
    }
}

/// What `run --properties` generates for `profile`'s target by default.
pub fn default_load(profile: &Profile) -> PropertyLoad {
    let remote = profile.endpoint().map_or(true, |e| !e.is_loopback());
    PropertyLoad::default_for(remote, REMOTE_MAX_REQUESTS)
}

/// The line a run prints on stderr before its first request.
pub fn summary(report: &PlanReport) -> String {
    let e = if report.properties {
        &report.estimate.with_properties
    } else {
        &report.estimate.without_properties
    };
    let c = report.counts;
    format!(
        "plan: {} cases run, {} skipped up front{}; {} wrong old passwords planned; estimate {} \
         (conformance plan tells more)",
        c.run + c.shared,
        c.skip,
        if c.shared > 0 {
            format!(" ({} checked by another's request)", c.shared)
        } else {
            String::new()
        },
        e.wrong_olds,
        e.line()
    )
}

/// The plan as text.
pub fn render_text(report: &PlanReport, cases: &[&'static Case]) -> String {
    let mut out = String::new();
    let plan = &report.plan;
    let _ = writeln!(
        out,
        "plan of a run with {} against {} (nothing contacted)",
        report.profile, report.base_url
    );
    let _ = writeln!(out, "\nwrong old passwords each account would receive:");
    for a in &plan.accounts {
        let _ = writeln!(
            out,
            "  {} {}: {} ({} for the seed rows, {} for other cases, {} for effect checks){}",
            a.account,
            a.subject,
            a.planned(),
            a.seed_rows,
            a.variants,
            a.effects,
            match a.left_for_properties {
                Some(n) => format!("; {n} left for the properties"),
                None => String::new(),
            }
        );
        let _ = writeln!(out, "    {}", a.rule);
    }
    if plan.accounts.len() > 1 {
        let _ = writeln!(
            out,
            "  (a pool: each case's wrong old passwords go to the account with the most room, \
             ties to the earlier; {})",
            if plan
                .accounts
                .iter()
                .any(|a| a.left_for_properties.is_some())
            {
                "the run keeps to it, as the budget cannot grow back"
            } else {
                "the run picks the account as each case comes, by its wait"
            }
        );
    }
    for o in &plan.others {
        let _ = writeln!(
            out,
            "  {} {}: {} ({})",
            o.account,
            o.subject,
            o.wrong_olds,
            o.cases.join(", ")
        );
    }
    let c = report.counts;
    let _ = writeln!(
        out,
        "\ncases: {} run, {} checked by another case's request, {} skipped",
        c.run, c.shared, c.skip
    );
    for (case, p) in cases.iter().zip(&plan.cases) {
        let line = match &p.decision {
            Decision::Run => {
                let mut notes = Vec::new();
                let spends = p.wrong_olds + p.effect_wrong_olds;
                if spends > 0 {
                    notes.push(format!("{spends} wrong old"));
                }
                if let Some(on) = account_note(plan, p, spends) {
                    notes.push(on);
                }
                if notes.is_empty() {
                    format!("  run     {}", case.id)
                } else {
                    format!("  run     {} ({})", case.id, notes.join(", "))
                }
            }
            Decision::Shared { with, .. } => format!("  shared  {}: checked by {with}", case.id),
            Decision::Skip {
                reason,
                enable_with,
            } => match enable_with {
                Some(key) => format!("  skip    {}: {reason} (enable: {key})", case.id),
                None => format!("  skip    {}: {reason}", case.id),
            },
        };
        let _ = writeln!(out, "{line}");
    }
    if report.properties {
        let _ = writeln!(
            out,
            "  then the generated properties ({})",
            select_properties(&[])
                .iter()
                .map(|p| crate::properties::case(*p).id)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if plan.unverified.is_empty() {
        let _ = writeln!(out, "\nevery seed row in scope would be verified");
    } else {
        let _ = writeln!(out, "\nseed rows that would stay unverified:");
        for u in &plan.unverified {
            let _ = writeln!(out, "  {}", u.line());
        }
    }
    let e = &report.estimate;
    let _ = writeln!(out, "\nestimate:");
    let _ = writeln!(
        out,
        "  without --properties: {}",
        e.without_properties.line()
    );
    let _ = writeln!(out, "  with --properties:    {}", e.with_properties.line());
    let _ = writeln!(out, "  model: {}", e.model);
    out
}

/// Which account of a pool a running case goes to: `on carol` when the
/// plan binds it there, `planned for carol` when the run picks the
/// account as the case comes; `None` without a pool or for a case that
/// any account will do.
fn account_note(plan: &RunPlan, p: &PlannedCase, spends: u32) -> Option<String> {
    if plan.accounts.len() < 2 {
        return None;
    }
    let subject = &plan.accounts.get(p.account?)?.subject;
    Some(match (p.bound, spends) {
        (true, 0) => format!("on {subject}: the profile's static token of it"),
        (true, _) => format!("on {subject}"),
        (false, _) => format!("planned for {subject}"),
    })
}

/// `conformance plan`: exit 0, or 2 for a profile or selection error.
pub fn run_command(args: &PlanArgs) -> Result<u8, CliError> {
    let mut profile = Profile::load(&args.profile).map_err(|e| CliError(e.to_string()))?;
    if let Some(url) = &args.base_url {
        profile.base_url = url.clone();
    }
    let cases = select(&args.cases)?;
    if !args.cases.is_empty() && cases.is_empty() && select_properties(&args.cases).is_empty() {
        return Err(CliError("no case matches the --case globs".into()));
    }
    let load = args.properties.then(|| {
        let mut load = default_load(&profile);
        if let Some(n) = args.property_cases {
            load.cases = n;
            load.sequences = (n / 4).max(1);
        }
        load
    });
    let state = StateFile::load(&args.state).map_err(|e| CliError(e.to_string()))?;
    let report = report(
        &profile,
        &args.profile.display().to_string(),
        &cases,
        load,
        state.as_ref(),
    );
    let text = match args.format {
        PlanFormat::Text => terminal::text(&render_text(&report, &cases)).into_owned(),
        PlanFormat::Json => {
            let json =
                serde_json::to_string_pretty(&report).map_err(|e| CliError(e.to_string()))?;
            terminal::json(&json).into_owned()
        }
    };
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    Ok(0)
}
