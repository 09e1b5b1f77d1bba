//! The report of a run and its renderings: a tree for people, JSON for
//! tools, JUnit XML for CI dashboards, and a self-contained HTML page to
//! open and share.

pub mod html;
pub mod json;
pub mod junit;
pub mod tree;

use serde::Serialize;

use crate::cases;
use crate::runner::RunOutcome;
use crate::session::Housekeeping;
use crate::verdict::{CaseResult, Enforcement, RowCoverage, Summary};
use crate::verified::{self, Unverified};
use crate::vocabulary::Group;
use crate::vocabulary::Row;

/// Everything a run produced, redacted.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// `{base_url}/change_user_password`.
    pub endpoint: String,
    /// What the target is (the embedded reference server or a profile).
    pub target: String,
    /// Which tiers failed the run.
    pub enforcement: Enforcement,
    /// Whether passwords and tokens are shown.
    pub secrets_shown: bool,
    /// Where the active account's state was kept.
    pub state_file: String,
    /// Resolving an interrupted run, if there was one.
    pub resumed: Option<Housekeeping>,
    /// One result per case run.
    pub cases: Vec<CaseResult>,
    /// Batched confirmations that refused requests left the password as
    /// it was.
    pub effects: Vec<Housekeeping>,
    /// Restoring the active account's original password.
    pub restore: Housekeeping,
    /// The counts.
    pub summary: Summary,
    /// What ran for each seed row (S1–S11).
    pub coverage: Vec<RowCoverage>,
    /// Rows `--require-rows` asked for that no case verified (see
    /// [`crate::verified`]): they fail the run.
    pub rows_missing: Vec<&'static str>,
    /// Seed rows whose selected seed-tier cases verified nothing, each
    /// with why and what would verify it; those `--allow-unverified`
    /// named are marked `accepted`. Any other makes the exit code 3.
    pub unverified: Vec<Unverified>,
    /// The rows `--require-rows` named.
    #[serde(skip)]
    pub required: Vec<Row>,
    /// The rows `--allow-unverified` named.
    #[serde(skip)]
    pub accepted: Vec<Row>,
    /// Set when a signal stopped the run: its exit code and name.
    #[serde(skip)]
    pub interrupted: Option<(u8, &'static str)>,
    /// Why a static token stopped serving the run (exit 2, see
    /// [`RunOutcome::token_refused`]).
    #[serde(skip)]
    pub token_refused: Option<String>,
    /// Wall time of the run.
    pub elapsed_ms: u64,
}

/// Exit code: every required case passed.
pub const EXIT_PASS: u8 = 0;
/// Exit code: a case failed (or a stale baseline entry, or no restore).
pub const EXIT_FAIL: u8 = 1;
/// Exit code: configuration or connection error.
pub const EXIT_ERROR: u8 = 2;
/// Exit code: no case failed, but a seed row was not verified (and
/// `--allow-unverified` did not accept it).
pub const EXIT_UNVERIFIED: u8 = 3;

/// The exit code of a run and why it is that one (every reason that
/// applies, the one that decides the code first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exit {
    /// The process exit code.
    pub code: u8,
    /// Why: `2 failed`, `seed rows not verified: S7, S8 (…)`.
    pub why: String,
}

impl Exit {
    /// The closing line: `exit 3: seed rows not verified: S7, S8 (…)`.
    pub fn line(&self) -> String {
        format!("exit {}: {}", self.code, self.why)
    }
}

impl RunReport {
    /// Assembles the report of a run.
    pub fn new(
        endpoint: String,
        target: String,
        enforcement: Enforcement,
        secrets_shown: bool,
        state_file: String,
        outcome: RunOutcome,
        elapsed_ms: u64,
    ) -> RunReport {
        RunReport {
            endpoint,
            target,
            enforcement,
            secrets_shown,
            state_file,
            resumed: outcome.resumed,
            summary: Summary::of(&outcome.cases),
            coverage: RowCoverage::of(&outcome.cases),
            rows_missing: Vec::new(),
            unverified: verified::unverified(&outcome.cases, &[]),
            required: Vec::new(),
            accepted: Vec::new(),
            interrupted: None,
            token_refused: outcome.token_refused,
            cases: outcome.cases,
            effects: outcome.effects,
            restore: outcome.restore,
            elapsed_ms,
        }
    }

    /// Recounts after the verdicts changed (baseline), and weighs the
    /// rows again.
    pub fn recount(&mut self) {
        self.summary = Summary::of(&self.cases);
        self.coverage = RowCoverage::of(&self.cases);
        self.unverified = verified::unverified(&self.cases, &self.accepted);
        self.rows_missing = self
            .coverage
            .iter()
            .filter(|c| self.required.iter().any(|r| r.id() == c.row))
            .filter(|c| {
                !self
                    .cases
                    .iter()
                    .any(|r| r.group == c.row && verified::verifies(r))
            })
            .map(|c| c.row)
            .collect();
    }

    /// `--require-rows`: notes which of `rows` no case verified (they fail
    /// the run, whether their cases were selected or not).
    pub fn require_rows(&mut self, rows: &[Row]) {
        self.required = rows.to_vec();
        self.recount();
    }

    /// `--allow-unverified`: `rows` left unverified do not make the exit
    /// code 3 (they are still reported, marked accepted).
    pub fn allow_unverified(&mut self, rows: &[Row]) {
        self.accepted = rows.to_vec();
        self.recount();
    }

    /// The exit code and why: 2 when an exchange did not complete or an
    /// interrupted run's change could not be resolved; 1 when a case
    /// failed, the password was not restored, or a `--require-rows` row
    /// was not verified; 3 when a seed row in the selection was not
    /// verified and `--allow-unverified` did not accept it; 0 otherwise.
    /// A signal's code (130/143) comes before all of them.
    pub fn exit(&self) -> Exit {
        let mut reasons: Vec<(u8, String)> = Vec::new();
        if let Some((code, signal)) = self.interrupted {
            reasons.push((
                code,
                format!("interrupted by {signal}: the run stopped early"),
            ));
        }
        if self.summary.errors > 0 {
            reasons.push((
                EXIT_ERROR,
                format!("{} exchanges did not complete", self.summary.errors),
            ));
        }
        if let Some(why) = &self.token_refused {
            reasons.push((EXIT_ERROR, why.clone()));
        }
        if self.resumed.as_ref().is_some_and(|r| !r.ok) {
            reasons.push((
                EXIT_ERROR,
                "the interrupted run's change could not be resolved".into(),
            ));
        }
        let failed = self.summary.failed - self.summary.errors;
        if failed > 0 {
            reasons.push((EXIT_FAIL, format!("{failed} failed")));
        }
        if !self.restore.ok {
            reasons.push((
                EXIT_FAIL,
                "the original password was not restored (see restore)".into(),
            ));
        }
        if !self.rows_missing.is_empty() {
            reasons.push((
                EXIT_FAIL,
                format!(
                    "--require-rows: not verified: {}",
                    self.rows_missing.join(", ")
                ),
            ));
        }
        let open: Vec<&str> = self
            .unverified
            .iter()
            .filter(|u| !u.accepted && !self.rows_missing.contains(&u.row))
            .map(|u| u.row)
            .collect();
        if !open.is_empty() {
            reasons.push((
                EXIT_UNVERIFIED,
                format!(
                    "seed rows not verified: {} (see above; --allow-unverified {} accepts them)",
                    open.join(", "),
                    open.join(",")
                ),
            ));
        }
        let code = reasons.first().map_or(EXIT_PASS, |(c, _)| *c);
        let mut why: Vec<String> = reasons.into_iter().map(|(_, w)| w).collect();
        if code == EXIT_PASS {
            why.push("no case failed and every seed row that ran was verified".into());
        }
        let accepted: Vec<&str> = self
            .unverified
            .iter()
            .filter(|u| u.accepted)
            .map(|u| u.row)
            .collect();
        if !accepted.is_empty() {
            why.push(format!(
                "accepted unverified (--allow-unverified): {}",
                accepted.join(", ")
            ));
        }
        Exit {
            code,
            why: why.join("; "),
        }
    }

    /// The exit code of [`RunReport::exit`].
    pub fn exit_code(&self) -> u8 {
        self.exit().code
    }

    /// Cases grouped by seed row / RFC section / open point, in that order.
    pub fn groups(&self) -> Vec<(Group, Vec<&CaseResult>)> {
        let mut groups: Vec<(Group, Vec<&CaseResult>)> = Vec::new();
        for result in &self.cases {
            let Some(case) = cases::find(result.id) else {
                continue;
            };
            let group = case.group();
            match groups.iter_mut().find(|(g, _)| *g == group) {
                Some((_, list)) => list.push(result),
                None => groups.push((group, vec![result])),
            }
        }
        groups.sort_by_key(|(g, _)| *g);
        groups
    }
}

/// What an `rfc` and a `reference` failure weigh under `e`, as the reports
/// print it: `fail`, `warn` or `information only`.
pub(crate) fn tier_weights(e: Enforcement) -> (&'static str, &'static str) {
    let rfc = if e.strict { "fail" } else { "warn" };
    let reference = if e.strict || e.reference {
        "fail"
    } else {
        "information only"
    };
    (rfc, reference)
}

#[cfg(test)]
pub(crate) mod fixture {
    //! A small report with every verdict, for the reporters' tests.

    use super::*;
    use crate::checks::{Check, Outcome, Weight};
    use crate::exchange::{BodyRecord, ExchangeRecord, RequestRecord, ResponseRecord};
    use crate::verdict::Verdict;
    use crate::vocabulary;

    fn result(id: &str, verdict: Verdict) -> CaseResult {
        let mut r = CaseResult::new(cases::find(id).unwrap());
        r.verdict = verdict;
        r
    }

    /// Pass, fail (with a failing check and an exchange), warn, skip,
    /// xfail and an <escaped> & "quoted" reason.
    pub fn report() -> RunReport {
        let mut fail = result("user.frozen", Verdict::Fail);
        fail.exchanges.push(ExchangeRecord {
            step: 1,
            purpose: "a change for frank".into(),
            request: RequestRecord {
                method: "POST".into(),
                path: "/change_user_password".into(),
                headers: vec![("authorization".into(), "Bearer <token:frank>".into())],
                body: BodyRecord::Json(serde_json::json!({"old_password": "<password:frozen>"})),
            },
            response: Some(ResponseRecord {
                status: 400,
                headers: vec![],
                body: BodyRecord::Json(serde_json::json!({"error": "wrong_old_password"})),
            }),
            error: None,
            elapsed_ms: 1,
            curl: "curl -i -X POST http://127.0.0.1:1/change_user_password".into(),
        });
        fail.checks.push(Check {
            step: 1,
            tier: vocabulary::Tier::Seed,
            what: "error member".into(),
            expected: "\"abnormal_user_status\"".into(),
            observed: "\"wrong_old_password\"".into(),
            outcome: Outcome::Fail,
            weight: Weight::Fail,
        });
        let mut warn = result("auth.scheme.lower-case", Verdict::Warn);
        warn.checks.push(Check {
            step: 1,
            tier: vocabulary::Tier::Rfc,
            what: "status".into(),
            expected: "200".into(),
            observed: "400".into(),
            outcome: Outcome::Fail,
            weight: Weight::Warn,
        });
        let mut skip = result("policy.no-symbol", Verdict::Skip);
        skip.reason = Some("policy.require_symbol is not set".into());
        let mut xfail = result("user.locked", Verdict::ExpectedFailure);
        xfail.reason = Some("<known> & \"tracked\"".into());
        let mut pass = result("password.change", Verdict::Pass);
        pass.checks.push(Check {
            step: 1,
            tier: vocabulary::Tier::Seed,
            what: "status".into(),
            expected: "200".into(),
            observed: "200".into(),
            outcome: Outcome::Pass,
            weight: Weight::Pass,
        });
        let cases = vec![pass, fail, warn, skip, xfail];
        RunReport::new(
            "http://127.0.0.1:1/change_user_password".into(),
            "profile test.toml".into(),
            Enforcement {
                strict: false,
                reference: false,
            },
            false,
            "state.json".into(),
            RunOutcome {
                resumed: None,
                cases,
                effects: vec![],
                restore: Housekeeping {
                    ok: true,
                    outcome: "alice has its original password".into(),
                    exchanges: vec![],
                },
                token_refused: None,
            },
            5,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Verdict;

    fn only(report: &mut RunReport, ids: &[&str]) {
        report.cases.retain(|c| ids.contains(&c.id));
        report.recount();
    }

    #[test]
    fn the_exit_says_why_for_every_code() {
        let mut r = fixture::report();
        only(&mut r, &["password.change"]);
        assert_eq!(
            r.exit().line(),
            "exit 0: no case failed and every seed row that ran was verified"
        );
        // Nothing failed, yet exit 1: the closing line says why.
        r.restore.ok = false;
        assert_eq!(
            r.exit().line(),
            "exit 1: the original password was not restored (see restore)"
        );
        r.restore.ok = true;
        // A selected row that nothing verified: 3, unless accepted.
        let mut r = fixture::report();
        only(&mut r, &["password.change", "policy.no-symbol"]);
        assert_eq!(r.exit().code, EXIT_UNVERIFIED);
        assert!(r.exit().why.starts_with("seed rows not verified: S5 "));
        r.allow_unverified(&[Row::S5]);
        assert_eq!(
            r.exit().line(),
            "exit 0: no case failed and every seed row that ran was verified; \
             accepted unverified (--allow-unverified): S5"
        );
        // A required row fails the run even when none of its cases ran;
        // it is not reported twice.
        r.require_rows(&[Row::S7]);
        assert_eq!(r.rows_missing, ["S7"]);
        assert_eq!(
            r.exit().line(),
            "exit 1: --require-rows: not verified: S7; accepted unverified (--allow-unverified): S5"
        );
        // A signal's code comes first.
        r.interrupted = Some((130, "SIGINT"));
        assert_eq!(r.exit().code, 130);
        assert!(r.exit().why.starts_with("interrupted by SIGINT"));
    }

    #[test]
    fn a_partial_case_does_not_verify_its_row() {
        let mut r = fixture::report();
        only(&mut r, &["password.change"]);
        r.cases[0].verdict = Verdict::Partial;
        r.recount();
        assert_eq!(r.exit().code, EXIT_UNVERIFIED);
        assert_eq!(r.unverified[0].row, "S1");
    }
}
