//! The baseline: a TOML file of cases a target is known to fail, each with
//! a reason. A listed case that fails is an expected failure; one that
//! passes is stale and fails the run, so the file never rots.
//!
//! ```toml
//! [[expected_failure]]
//! id = "auth.invalid-token.wrong-issuer"
//! reason = "issuer not checked yet (TICKET-12)"
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::cases;
use crate::file_error::FileError;
use crate::verdict::{CaseResult, Verdict};

/// A loaded baseline.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// The expected failures.
    #[serde(default)]
    pub expected_failure: Vec<Entry>,
}

/// One expected failure.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The case ID.
    pub id: String,
    /// Why it fails (required: a baseline explains itself).
    pub reason: String,
}

/// Why a baseline cannot be used.
pub type BaselineError = FileError;

impl Baseline {
    /// Reads and validates a baseline: every ID must be in the catalogue,
    /// once, with a non-empty reason.
    pub fn load(file: &Path) -> Result<Baseline, BaselineError> {
        let err = |message: String| BaselineError {
            kind: "baseline",
            file: file.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(file).map_err(|e| err(e.to_string()))?;
        Baseline::parse(&text).map_err(err)
    }

    /// Parses and validates baseline text.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let baseline: Baseline = toml::from_str(text)
            .map_err(|e| e.to_string().lines().collect::<Vec<_>>().join(" "))?;
        let mut seen = std::collections::HashSet::new();
        for entry in &baseline.expected_failure {
            if cases::find(&entry.id).is_none() {
                return Err(format!("unknown case id {:?}", entry.id));
            }
            if !seen.insert(entry.id.as_str()) {
                return Err(format!("case id {:?} is listed twice", entry.id));
            }
            if entry.reason.trim().is_empty() {
                return Err(format!("case id {:?} has no reason", entry.id));
            }
        }
        Ok(baseline)
    }

    /// Turns listed failures into expected failures and listed passes into
    /// stale entries.
    pub fn apply(&self, results: &mut [CaseResult]) {
        for entry in &self.expected_failure {
            let Some(result) = results.iter_mut().find(|r| r.id == entry.id) else {
                continue;
            };
            // A failed check of any tier counts: against an external target
            // a reference failure weighs as information and the verdict
            // stays pass, but the listed failure is still there (xfail).
            let failed_check = result
                .checks
                .iter()
                .any(|c| c.outcome == crate::checks::Outcome::Fail);
            match result.verdict {
                Verdict::Fail => {
                    result.verdict = Verdict::ExpectedFailure;
                    result.reason = Some(entry.reason.clone());
                }
                Verdict::Pass | Verdict::Warn if failed_check => {
                    result.verdict = Verdict::ExpectedFailure;
                    result.reason = Some(entry.reason.clone());
                }
                Verdict::Pass | Verdict::Warn => {
                    result.verdict = Verdict::Stale;
                    result.reason = Some(format!(
                        "listed in the baseline ({}) but passed: remove the entry",
                        entry.reason
                    ));
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::CaseResult;
    use crate::vocabulary;

    #[test]
    fn unknown_and_duplicate_ids_are_errors() {
        let e =
            Baseline::parse("[[expected_failure]]\nid = \"nope\"\nreason = \"r\"\n").unwrap_err();
        assert!(e.contains("unknown case id"), "{e}");
        let twice = "[[expected_failure]]\nid = \"user.frozen\"\nreason = \"r\"\n".repeat(2);
        assert!(Baseline::parse(&twice).unwrap_err().contains("twice"));
    }

    #[test]
    fn a_listed_reference_failure_is_xfail_even_when_it_weighs_as_information() {
        use crate::checks::{Check, Outcome, Weight};
        let b = Baseline::parse(
            "[[expected_failure]]\nid = \"http.unknown-path\"\nreason = \"404 is 400 here\"\n",
        )
        .unwrap();
        let mut r = CaseResult::new(cases::find("http.unknown-path").unwrap());
        r.checks.push(Check {
            step: 1,
            tier: vocabulary::Tier::Reference,
            what: "status".into(),
            expected: "404".into(),
            observed: "400".into(),
            outcome: Outcome::Fail,
            weight: Weight::Info,
        });
        // External target: the failure is information, the verdict pass.
        assert_eq!(r.verdict, Verdict::Pass);
        let mut results = vec![r];
        b.apply(&mut results);
        assert_eq!(results[0].verdict, Verdict::ExpectedFailure);
        // Without the failing check the entry is stale.
        let mut clean = vec![CaseResult::new(cases::find("http.unknown-path").unwrap())];
        b.apply(&mut clean);
        assert_eq!(clean[0].verdict, Verdict::Stale);
    }

    #[test]
    fn fail_becomes_xfail_and_pass_becomes_stale() {
        let b = Baseline::parse(
            "[[expected_failure]]\nid = \"user.frozen\"\nreason = \"r1\"\n\
             [[expected_failure]]\nid = \"user.locked\"\nreason = \"r2\"\n",
        )
        .unwrap();
        let mut frozen = CaseResult::new(cases::find("user.frozen").unwrap());
        frozen.verdict = Verdict::Fail;
        let mut locked = CaseResult::new(cases::find("user.locked").unwrap());
        locked.verdict = Verdict::Pass;
        let mut results = vec![frozen, locked];
        b.apply(&mut results);
        assert_eq!(results[0].verdict, Verdict::ExpectedFailure);
        assert_eq!(results[1].verdict, Verdict::Stale);
        assert!(results[1].verdict.fails_run());
    }
}
