//! Verdicts: checks weighed by tier and enforcement into one verdict per
//! case, and the counts the run ends with.

use serde::Serialize;

use crate::checks::{Check, Outcome, Weight};
use crate::exchange::ExchangeRecord;
use crate::vocabulary::{Case, Tier};

/// Which tiers fail the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Enforcement {
    /// `--strict`: RFC and reference expectations fail too.
    pub strict: bool,
    /// Reference expectations fail (the embedded reference server).
    pub reference: bool,
}

impl Enforcement {
    /// How a failed check of `tier` weighs.
    pub fn weigh_failure(self, tier: Tier) -> Weight {
        match tier {
            Tier::Seed => Weight::Fail,
            Tier::Rfc if self.strict => Weight::Fail,
            Tier::Rfc => Weight::Warn,
            Tier::Reference if self.strict || self.reference => Weight::Fail,
            Tier::Reference => Weight::Info,
        }
    }
}

/// The verdict of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every required check passed (informational differences may exist).
    Pass,
    /// Passed, with RFC expectations not met.
    Warn,
    /// A required check failed.
    Fail,
    /// Not run: a fixture is missing (the reason says which).
    Skip,
    /// The exchange itself failed (connection, timeout).
    Error,
    /// Failed, and the baseline expects it to.
    ExpectedFailure,
    /// Listed in the baseline as failing, but passed: the entry is stale.
    Stale,
    /// Cut short (a fixture or the account ran out midway): what ran
    /// passed, but the case is not complete. Not a pass, not a failure.
    Partial,
}

impl Verdict {
    /// How reports print it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "skip",
            Verdict::Error => "ERROR",
            Verdict::ExpectedFailure => "xfail",
            Verdict::Stale => "STALE",
            Verdict::Partial => "partial",
        }
    }

    /// Whether the verdict fails the run.
    pub fn fails_run(self) -> bool {
        matches!(self, Verdict::Fail | Verdict::Error | Verdict::Stale)
    }
}

/// Everything about one case after it ran.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Stable ID.
    pub id: &'static str,
    /// Tier of the case.
    pub tier: Tier,
    /// Report group key (`S9`, `RFC 7235 §2.1`, `open-6`).
    pub group: String,
    /// Short reference (`seed S9`, …).
    pub spec: String,
    /// The quoted requirement.
    pub requirement: &'static str,
    /// What the case checks.
    pub title: &'static str,
    /// For reference cases: the open point and the decision checked.
    pub decision: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why it was skipped or errored; the baseline's reason for xfail/stale.
    pub reason: Option<String>,
    /// Every check, weighed.
    pub checks: Vec<Check>,
    /// Remarks (RFC views, how a fixture was used).
    pub notes: Vec<String>,
    /// Every exchange, redacted.
    pub exchanges: Vec<ExchangeRecord>,
    /// Wall time of the case.
    pub elapsed_ms: u64,
    /// The subject of the pool's active account the case ran on (only
    /// with a pool of several: `[[accounts.active]]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl CaseResult {
    /// An empty result for `case`.
    pub fn new(case: &Case) -> CaseResult {
        CaseResult {
            id: case.id,
            tier: case.tier,
            group: case.group().key(),
            spec: case.spec.reference(),
            requirement: case.spec.quote(),
            title: case.title,
            decision: case
                .decision
                .map(|(p, d)| format!("open point {}: {d}", p.number())),
            verdict: Verdict::Pass,
            reason: None,
            checks: Vec::new(),
            notes: Vec::new(),
            exchanges: Vec::new(),
            elapsed_ms: 0,
            account: None,
        }
    }

    /// Checks that did not pass and weigh (fail, warn, info, note).
    pub fn findings(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.weight != Weight::Pass)
    }
}

/// Weighs every check of `result` and sets its verdict (unless it was
/// skipped or errored already).
pub fn judge(result: &mut CaseResult, enforcement: Enforcement) {
    let case_tier = result.tier;
    let mut worst = Verdict::Pass;
    for check in &mut result.checks {
        if !crate::checks::keeps_its_tier(&check.what) {
            check.tier = check.tier.weaker(case_tier);
        }
        check.weight = match check.outcome {
            Outcome::Pass => Weight::Pass,
            Outcome::Note => Weight::Note,
            Outcome::Fail => enforcement.weigh_failure(check.tier),
        };
        match check.weight {
            Weight::Fail => worst = Verdict::Fail,
            Weight::Warn if worst == Verdict::Pass => worst = Verdict::Warn,
            _ => {}
        }
    }
    if matches!(result.verdict, Verdict::Skip | Verdict::Error) {
        return;
    }
    result.verdict = worst;
}

/// The counts a run ends with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Passed (with or without warnings).
    pub passed: usize,
    /// Failed, errored, or stale baseline entries.
    pub failed: usize,
    /// Skipped for a missing fixture.
    pub skipped: usize,
    /// Passed with RFC warnings.
    pub warnings: usize,
    /// Failed as the baseline expects.
    pub expected_failures: usize,
    /// Cut short.
    pub partial: usize,
    /// Of the failed: exchanges that did not complete.
    pub errors: usize,
}

/// What ran for one seed row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RowCoverage {
    /// `S1` … `S11`.
    pub row: &'static str,
    /// Passed (with or without warnings).
    pub passed: usize,
    /// Failed, errored, stale.
    pub failed: usize,
    /// Skipped (or not determined).
    pub skipped: usize,
    /// Cut short.
    pub partial: usize,
    /// Failed as the baseline expects.
    pub expected_failures: usize,
}

impl RowCoverage {
    /// Cases that ran to a verdict on the row (not skipped).
    pub fn executed(&self) -> usize {
        self.passed + self.failed + self.partial + self.expected_failures
    }

    /// `S7 user frozen: 2 passed, 0 failed, 1 skipped`.
    pub fn line(&self) -> String {
        let title = crate::vocabulary::Row::ALL
            .iter()
            .find(|r| r.id() == self.row)
            .map_or("", |r| r.title());
        let mut line = format!(
            "{} {title}: {} passed, {} failed, {} skipped",
            self.row, self.passed, self.failed, self.skipped
        );
        if self.partial > 0 {
            line.push_str(&format!(", {} partial", self.partial));
        }
        if self.expected_failures > 0 {
            line.push_str(&format!(", {} expected failures", self.expected_failures));
        }
        if self.executed() == 0 {
            line.push_str(" (NOT COVERED)");
        }
        line
    }

    /// One entry per seed row, counting the results whose group is it.
    pub fn of(results: &[CaseResult]) -> Vec<RowCoverage> {
        crate::vocabulary::Row::ALL
            .iter()
            .map(|row| {
                let mut c = RowCoverage {
                    row: row.id(),
                    passed: 0,
                    failed: 0,
                    skipped: 0,
                    partial: 0,
                    expected_failures: 0,
                };
                for r in results.iter().filter(|r| r.group == row.id()) {
                    match r.verdict {
                        Verdict::Pass | Verdict::Warn => c.passed += 1,
                        Verdict::Fail | Verdict::Error | Verdict::Stale => c.failed += 1,
                        Verdict::Skip => c.skipped += 1,
                        Verdict::Partial => c.partial += 1,
                        Verdict::ExpectedFailure => c.expected_failures += 1,
                    }
                }
                c
            })
            .collect()
    }
}

impl Summary {
    /// Counts the verdicts.
    pub fn of(results: &[CaseResult]) -> Summary {
        let mut s = Summary::default();
        for r in results {
            match r.verdict {
                Verdict::Pass => s.passed += 1,
                Verdict::Warn => {
                    s.passed += 1;
                    s.warnings += 1;
                }
                Verdict::Fail | Verdict::Stale => s.failed += 1,
                Verdict::Error => {
                    s.failed += 1;
                    s.errors += 1;
                }
                Verdict::Skip => s.skipped += 1,
                Verdict::ExpectedFailure => s.expected_failures += 1,
                Verdict::Partial => s.partial += 1,
            }
        }
        s
    }

    /// `N passed, N failed, N skipped, N warnings` (and expected failures
    /// when there are any).
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} passed, {} failed, {} skipped, {} warnings",
            self.passed, self.failed, self.skipped, self.warnings
        );
        if self.expected_failures > 0 {
            line.push_str(&format!(", {} expected failures", self.expected_failures));
        }
        if self.partial > 0 {
            line.push_str(&format!(", {} partial", self.partial));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(tier: Tier, outcome: Outcome) -> Check {
        Check {
            step: 1,
            tier,
            what: "x".into(),
            expected: String::new(),
            observed: String::new(),
            outcome,
            weight: Weight::Pass,
        }
    }

    fn verdict(case_tier: Tier, checks: Vec<Check>, enforcement: Enforcement) -> Verdict {
        let mut r = CaseResult::new(crate::cases::CATALOGUE.first().unwrap());
        r.tier = case_tier;
        r.checks = checks;
        judge(&mut r, enforcement);
        r.verdict
    }

    const EXTERNAL: Enforcement = Enforcement {
        strict: false,
        reference: false,
    };
    const EMBEDDED: Enforcement = Enforcement {
        strict: false,
        reference: true,
    };
    const STRICT: Enforcement = Enforcement {
        strict: true,
        reference: false,
    };

    #[test]
    fn tiers_weigh_by_enforcement() {
        let seed_fail = || vec![check(Tier::Seed, Outcome::Fail)];
        let rfc_fail = || vec![check(Tier::Rfc, Outcome::Fail)];
        let ref_fail = || vec![check(Tier::Reference, Outcome::Fail)];
        assert_eq!(verdict(Tier::Seed, seed_fail(), EXTERNAL), Verdict::Fail);
        assert_eq!(verdict(Tier::Seed, rfc_fail(), EXTERNAL), Verdict::Warn);
        assert_eq!(verdict(Tier::Seed, rfc_fail(), STRICT), Verdict::Fail);
        assert_eq!(verdict(Tier::Seed, ref_fail(), EXTERNAL), Verdict::Pass);
        assert_eq!(verdict(Tier::Seed, ref_fail(), EMBEDDED), Verdict::Fail);
        assert_eq!(verdict(Tier::Seed, ref_fail(), STRICT), Verdict::Fail);
    }

    #[test]
    fn a_case_caps_its_checks() {
        // A seed-level check inside a reference case weighs as reference.
        let seed_fail = || vec![check(Tier::Seed, Outcome::Fail)];
        assert_eq!(
            verdict(Tier::Reference, seed_fail(), EXTERNAL),
            Verdict::Pass
        );
        assert_eq!(verdict(Tier::Rfc, seed_fail(), EXTERNAL), Verdict::Warn);
        assert_eq!(
            verdict(Tier::Reference, seed_fail(), EMBEDDED),
            Verdict::Fail
        );
    }

    #[test]
    fn notes_never_fail() {
        let notes = vec![check(Tier::Seed, Outcome::Note)];
        assert_eq!(verdict(Tier::Seed, notes, STRICT), Verdict::Pass);
    }

    #[test]
    fn row_coverage_counts_by_group_and_flags_uncovered_rows() {
        let case = |id: &str, verdict: Verdict| {
            let mut r = CaseResult::new(crate::cases::find(id).unwrap());
            r.verdict = verdict;
            r
        };
        let results = vec![
            case("user.frozen", Verdict::Pass),
            case("precedence.status-before-old-password", Verdict::Fail),
            case("user.frozen-and-locked", Verdict::Skip),
            case("user.locked", Verdict::Skip),
            case("password.change", Verdict::Partial),
        ];
        let coverage = RowCoverage::of(&results);
        assert_eq!(coverage.len(), 11);
        let s7 = coverage.iter().find(|c| c.row == "S7").unwrap();
        assert_eq!((s7.passed, s7.failed, s7.skipped), (1, 0, 1));
        assert_eq!(s7.line(), "S7 user frozen: 1 passed, 0 failed, 1 skipped");
        let s8 = coverage.iter().find(|c| c.row == "S8").unwrap();
        assert_eq!(s8.executed(), 0);
        assert!(s8.line().ends_with("(NOT COVERED)"));
        let s1 = coverage.iter().find(|c| c.row == "S1").unwrap();
        assert_eq!((s1.partial, s1.executed()), (1, 1));
        assert!(!Verdict::Partial.fails_run());
    }

    #[test]
    fn summary_line() {
        let mut s = Summary {
            passed: 3,
            failed: 1,
            skipped: 2,
            warnings: 1,
            ..Summary::default()
        };
        assert_eq!(s.line(), "3 passed, 1 failed, 2 skipped, 1 warnings");
        s.expected_failures = 2;
        assert_eq!(
            s.line(),
            "3 passed, 1 failed, 2 skipped, 1 warnings, 2 expected failures"
        );
    }
}
