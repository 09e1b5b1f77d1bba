//! What the commands (`run`, `list`, `diff`, `init`, `restore`) share
//! below the command line itself: their error (exit 2), the case selection
//! by `--case` globs, the properties' random seed and request bound, and
//! the options `run` and `diff` share ([`Exposure`]).

use clap::Args;
use globset::{Glob, GlobMatcher};

use crate::cases::CATALOGUE;
use crate::vocabulary::{Case, PROPERTIES, Plan, Property};

/// Request bound of the properties against a remote target: at most this
/// many requests in all (their pace is the client's, `--rate`).
pub const REMOTE_MAX_REQUESTS: u64 = 3_000;

/// A random seed for the properties.
pub fn random_seed() -> u64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    }
    u64::from_le_bytes(b)
}

/// Why the command could not do its work (exit 2).
#[derive(Debug)]
#[non_exhaustive]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

/// The cases whose IDs match any of `globs` (all when empty), in catalogue
/// order. A glob that matches nothing is an error (a typo would otherwise
/// run nothing and pass).
pub fn select(globs: &[String]) -> Result<Vec<&'static Case>, CliError> {
    if globs.is_empty() {
        return Ok(CATALOGUE.iter().collect());
    }
    let matchers: Vec<(String, GlobMatcher)> = globs
        .iter()
        .map(|g| {
            Glob::new(g)
                .map(|glob| (g.clone(), glob.compile_matcher()))
                .map_err(|e| CliError(format!("--case {g}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    for (g, m) in &matchers {
        if !CATALOGUE
            .iter()
            .chain(PROPERTIES.iter())
            .any(|c| m.is_match(c.id))
        {
            return Err(CliError(format!(
                "--case {g} matches no case (see `conformance list`)"
            )));
        }
    }
    Ok(CATALOGUE
        .iter()
        .filter(|c| matchers.iter().any(|(_, m)| m.is_match(c.id)))
        .collect())
}

/// The properties whose IDs match any of `globs` (all when empty).
pub fn select_properties(globs: &[String]) -> Vec<Property> {
    let matchers: Vec<GlobMatcher> = globs
        .iter()
        .filter_map(|g| Glob::new(g).ok().map(|g| g.compile_matcher()))
        .collect();
    PROPERTIES
        .iter()
        .filter(|c| matchers.is_empty() || matchers.iter().any(|m| m.is_match(c.id)))
        .filter_map(|c| match c.plan {
            Plan::Property(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// The options `run` and `diff` share (flattened into both): whether the
/// report shows secrets, and whether clear-text http may carry them.
#[derive(Debug, Clone, Args)]
pub struct Exposure {
    /// Print passwords and tokens (otherwise redacted everywhere).
    #[arg(long)]
    pub show_secrets: bool,
    /// Allow clear-text http to a host off the loopback interface
    /// (passwords and tokens then cross the network unencrypted; refused
    /// otherwise). Same as `[http] allow_insecure_http = true`.
    #[arg(long)]
    pub allow_insecure_http: bool,
}
