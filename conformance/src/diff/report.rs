//! The diff's result: every [`Difference`] (a case and step, what differs
//! in it, both exchanges), the [`DiffReport`] that holds them with its exit
//! code and order, and the headers compared.

use serde::Serialize;

use crate::cases;
use crate::exchange::ExchangeRecord;
use crate::report::{EXIT_ERROR, EXIT_FAIL, EXIT_PASS};
use crate::vocabulary::Tier;

/// Response headers compared besides `WWW-Authenticate` (whose challenges
/// are compared parsed). Others (`date`, `content-length`, …) vary by
/// design.
pub const ALLOWLISTED_HEADERS: &[&str] =
    &["content-type", "cache-control", "pragma", "allow", "vary"];

/// What differs in one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Aspect {
    /// `status`, `error`, `error_description`, `challenge`, `header x`,
    /// `exchange`, `purpose`, `steps`, `verdict`, `effect`.
    pub what: String,
    /// On A.
    pub a: String,
    /// On B.
    pub b: String,
}

/// One behavioural difference: a case and step, what differs, and both
/// exchanges (redacted) with a curl each.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    /// The case.
    pub case: &'static str,
    /// Its tier.
    pub tier: Tier,
    /// Its group key (`S4`, `RFC 6750 §3.1`, `open-3`).
    pub group: String,
    /// The generated sequence (1-based), for `property.account-model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<usize>,
    /// The step (1-based); 0 for the case (or sequence) as a whole.
    pub step: usize,
    /// What the step does (A's, else B's).
    pub purpose: String,
    /// What differs.
    pub aspects: Vec<Aspect>,
    /// A's exchange of the step.
    pub a: Option<ExchangeRecord>,
    /// B's exchange of the step.
    pub b: Option<ExchangeRecord>,
}

impl Difference {
    /// `step 2`, or `sequence 3 step 2` for a generated sequence.
    pub fn place(&self) -> String {
        match self.sequence {
            Some(s) => format!("sequence {s} step {}", self.step),
            None => format!("step {}", self.step),
        }
    }
}

/// The result of a differential run.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// Target A.
    pub a: String,
    /// Target B.
    pub b: String,
    /// Cases compared.
    pub cases: usize,
    /// Generated sequences compared.
    pub sequences: usize,
    /// Their seed.
    pub seed: Option<u64>,
    /// Every difference, seed rows first, then RFC, then open points.
    pub differences: Vec<Difference>,
    /// Exchanges that did not complete (A's and B's): these make the diff
    /// an error (exit 2).
    pub errors: Vec<String>,
    /// Wall time.
    pub elapsed_ms: u64,
    /// Passwords and tokens are shown (`--show-secrets`).
    pub secrets_shown: bool,
}

impl DiffReport {
    /// 0 alike, 1 differ, 2 an exchange did not complete.
    pub fn exit_code(&self) -> u8 {
        if !self.errors.is_empty() {
            EXIT_ERROR
        } else if !self.differences.is_empty() {
            EXIT_FAIL
        } else {
            EXIT_PASS
        }
    }

    /// `(sequence, step)` of every difference in a generated sequence.
    pub fn sequence_steps(&self) -> Vec<(usize, usize)> {
        self.differences
            .iter()
            .filter_map(|d| d.sequence.map(|s| (s, d.step)))
            .collect()
    }

    /// Differences per tier: seed, RFC, open points.
    pub fn per_tier(&self) -> [(Tier, usize); 3] {
        [Tier::Seed, Tier::Rfc, Tier::Reference]
            .map(|t| (t, self.differences.iter().filter(|d| d.tier == t).count()))
    }

    /// Orders the differences: seed rows first, then RFC, then open
    /// points; within a tier by group, case, sequence and step.
    pub fn sort(&mut self) {
        self.differences.sort_by_key(|d| {
            (
                tier_rank(d.tier),
                cases::find(d.case).map(|c| c.group()),
                d.case,
                d.sequence,
                d.step,
            )
        });
    }

    /// `86 cases and 8 generated sequences (seed 7) compared, 3
    /// differences in 2 cases`.
    pub fn summary_line(&self) -> String {
        let seqs = match self.seed {
            Some(seed) => format!(" and {} generated sequences (seed {seed})", self.sequences),
            None => String::new(),
        };
        format!(
            "{} cases{seqs} compared, {} differences in {} cases",
            self.cases,
            self.differences.len(),
            self.cases_differing().len()
        )
    }

    /// Case IDs with a difference, in report order, once each.
    pub fn cases_differing(&self) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = Vec::new();
        for d in &self.differences {
            if !ids.contains(&d.case) {
                ids.push(d.case);
            }
        }
        ids
    }
}

fn tier_rank(tier: Tier) -> u8 {
    match tier {
        Tier::Seed => 0,
        Tier::Rfc => 1,
        Tier::Reference => 2,
    }
}
