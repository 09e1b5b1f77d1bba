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
    /// Rows `--require-rows` asked for that have no executed case.
    pub rows_missing: Vec<&'static str>,
    /// Wall time of the run.
    pub elapsed_ms: u64,
}

/// Exit code: every required case passed.
pub const EXIT_PASS: u8 = 0;
/// Exit code: a case failed (or a stale baseline entry, or no restore).
pub const EXIT_FAIL: u8 = 1;
/// Exit code: configuration or connection error.
pub const EXIT_ERROR: u8 = 2;

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
            cases: outcome.cases,
            effects: outcome.effects,
            restore: outcome.restore,
            elapsed_ms,
        }
    }

    /// Recounts after the verdicts changed (baseline).
    pub fn recount(&mut self) {
        self.summary = Summary::of(&self.cases);
        self.coverage = RowCoverage::of(&self.cases);
    }

    /// Notes which of `rows` have no executed case (they fail the run).
    pub fn require_rows(&mut self, rows: &[Row]) {
        self.rows_missing = self
            .coverage
            .iter()
            .filter(|c| c.executed() == 0 && rows.iter().any(|r| r.id() == c.row))
            .map(|c| c.row)
            .collect();
    }

    /// 0 when every required case passed, 1 when one failed (or the
    /// password could not be restored), 2 when an exchange did not complete.
    pub fn exit_code(&self) -> u8 {
        if self.summary.errors > 0 || self.resumed.as_ref().is_some_and(|r| !r.ok) {
            EXIT_ERROR
        } else if self.summary.failed > 0 || !self.restore.ok || !self.rows_missing.is_empty() {
            EXIT_FAIL
        } else {
            EXIT_PASS
        }
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
        let cases = vec![
            result("password.change", Verdict::Pass),
            fail,
            warn,
            skip,
            xfail,
        ];
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
            },
            5,
        )
    }
}
