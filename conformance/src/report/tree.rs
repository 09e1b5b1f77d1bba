//! The tree: cases grouped by seed row / RFC section / open point, one line
//! each, with expected against observed and a curl command under every
//! failure, then the seed rows left unverified (why, and what would
//! verify each), `N passed, N failed, N skipped, N warnings`, and a closing
//! line saying why the exit code is what it is.

use std::fmt::Write;

use crate::checks::Weight;
use crate::verdict::{CaseResult, Verdict};

use super::RunReport;

/// Renders the report as a tree.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    let e = report.enforcement;
    let (rfc, reference) = super::tier_weights(e);
    let _ = writeln!(out, "conformance of POST {}", report.endpoint);
    let _ = writeln!(out, "target: {}", report.target);
    let _ = writeln!(
        out,
        "tiers: seed fail; rfc {rfc}; reference {reference}{}",
        if e.strict { " (--strict)" } else { "" }
    );
    if !report.secrets_shown {
        let _ = writeln!(
            out,
            "passwords and tokens are redacted (<password:…>, <token:…>); --show-secrets prints them"
        );
    }
    if let Some(resumed) = &report.resumed {
        let _ = writeln!(out, "resume: {}", resumed.outcome);
    }
    for (group, cases) in report.groups() {
        let _ = writeln!(out, "\n{}", group.heading());
        for case in cases {
            case_lines(&mut out, case);
        }
    }
    if !report.effects.is_empty() {
        let unchanged = report.effects.iter().filter(|e| e.ok).count();
        let _ = writeln!(
            out,
            "\neffects: the tracked password was confirmed unchanged {unchanged} of {} times \
             (batched after refused requests)",
            report.effects.len()
        );
        for e in report.effects.iter().filter(|e| !e.ok) {
            let _ = writeln!(out, "  FAILED: {}", e.outcome);
        }
    }
    let _ = writeln!(
        out,
        "\nrestore: {}{}",
        if report.restore.ok { "" } else { "FAILED: " },
        report.restore.outcome
    );
    let _ = writeln!(out, "\ncoverage of the seed rows:");
    for c in &report.coverage {
        let _ = writeln!(out, "  {}", c.line());
    }
    if !report.rows_missing.is_empty() {
        let _ = writeln!(
            out,
            "FAILED: --require-rows: not verified: {}",
            report.rows_missing.join(", ")
        );
    }
    if !report.unverified.is_empty() {
        let _ = writeln!(
            out,
            "\nseed rows not verified (no passing seed-tier case; a skipped, partial or \
             failed case verifies nothing):"
        );
        for u in &report.unverified {
            let _ = writeln!(out, "  {}", u.line());
        }
    }
    let _ = writeln!(out, "{}", report.summary.line());
    let _ = writeln!(out, "{}", report.exit().line());
    out
}

fn case_lines(out: &mut String, case: &CaseResult) {
    let _ = writeln!(
        out,
        "  {:<5}  {:<46} [{}] {}",
        case.verdict.label(),
        case.id,
        case.tier.as_str(),
        case.title
    );
    let pad = "         ";
    if let Some(reason) = &case.reason {
        let what = match case.verdict {
            Verdict::Skip => "skipped",
            Verdict::ExpectedFailure => "expected by the baseline",
            Verdict::Error => "error",
            _ => "reason",
        };
        let _ = writeln!(out, "{pad}{what}: {reason}");
    }
    let failing = matches!(
        case.verdict,
        Verdict::Fail | Verdict::Error | Verdict::Stale
    );
    if failing {
        let _ = writeln!(
            out,
            "{pad}requirement ({}): {}",
            case.spec, case.requirement
        );
        if let Some(d) = &case.decision {
            let _ = writeln!(out, "{pad}decision: {d}");
        }
    }
    let mut steps_with_findings = Vec::new();
    for check in case.findings() {
        let tag = match check.weight {
            Weight::Fail => "fail",
            Weight::Warn => "warn",
            Weight::Info => "info",
            Weight::Note => "note",
            Weight::Pass => continue,
        };
        if check.weight == Weight::Note {
            let _ = writeln!(
                out,
                "{pad}note: step {}: {}: {}",
                check.step, check.what, check.observed
            );
            continue;
        }
        let purpose = case
            .exchanges
            .get(check.step.wrapping_sub(1))
            .map_or("", |x| x.purpose.as_str());
        let _ = writeln!(
            out,
            "{pad}{tag} [{}] step {} ({purpose}): {}: expected {}, observed {}",
            check.tier.as_str(),
            check.step,
            check.what,
            check.expected,
            check.observed
        );
        if matches!(check.weight, Weight::Fail | Weight::Warn)
            && !steps_with_findings.contains(&check.step)
        {
            steps_with_findings.push(check.step);
        }
    }
    if case.verdict == Verdict::Error
        && let Some(last) = case.exchanges.last()
        && !steps_with_findings.contains(&last.step)
    {
        steps_with_findings.push(last.step);
    }
    for step in steps_with_findings {
        if let Some(x) = case.exchanges.get(step.wrapping_sub(1)) {
            let _ = writeln!(out, "{pad}reproduce step {step}: {}", x.curl);
        }
    }
    for note in &case.notes {
        if failing || case.verdict == Verdict::Skip {
            let _ = writeln!(out, "{pad}note: {note}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn tree_groups_marks_and_ends_with_the_counts() {
        let text = render(&fixture::report());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[lines.len() - 2],
            "2 passed, 1 failed, 1 skipped, 1 warnings, 1 expected failures"
        );
        // The closing line says why the exit code is 1, and that rows
        // stayed unverified as well (S5 skipped, S7 failed, S8 is a known
        // failure; S1 passed; the other rows did not run).
        assert_eq!(
            *lines.last().unwrap(),
            "exit 1: 1 failed; seed rows not verified: S5, S7, S8 (see above; \
             --allow-unverified S5,S7,S8 accepts them)"
        );
        assert!(
            text.contains("\n  S7 user frozen: a case failed\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "\n  S5 new password breaks the policy: policy.require_symbol is not set; \
                 verify with policy.require_symbol\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\n  S8 user locked: a known failure (baseline)\n"),
            "{text}"
        );
        // Groups in document order: S1 before S5 before S7, RFC after rows.
        let pos = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle} in\n{text}"))
        };
        assert!(pos("\nS1 success") < pos("\nS5 ") && pos("\nS5 ") < pos("\nS7 "));
        assert!(pos("\nS8 ") < pos("\nRFC 7235 §2.1"));
        assert!(text.contains("  pass   password.change"));
        assert!(text.contains("  FAIL   user.frozen"));
        assert!(text.contains("  warn   auth.scheme.lower-case"));
        assert!(text.contains("  skip   policy.no-symbol"));
        assert!(text.contains("skipped: policy.require_symbol is not set"));
        assert!(text.contains(
            "fail [seed] step 1 (a change for frank): error member: expected \"abnormal_user_status\", observed \"wrong_old_password\""
        ));
        assert!(text.contains("reproduce step 1: curl -i -X POST"));
    }
}
