//! The HTML report: one self-contained file to open and share.
//!
//! Built from the same [`RunReport`] as the JSON report. Styles and script
//! are inlined (`html/report.css`, `html/report.js`) and a
//! Content-Security-Policy forbids any other resource, so the page makes no
//! network access when opened. It shows the summary counts, the exit code
//! and why, the per-row coverage of S1–S11, the seed rows left unverified,
//! and the case tree grouped like the text tree, with
//! filters (all, failed, warnings, skipped, partial: see [`filter_of`]), a search box, and each case
//! expandable to its requirement (quoted), its checks (expected against
//! observed), its exchanges (redacted unless `--show-secrets`) and the curl
//! command of each step with a copy button. maud escapes every value, so
//! whatever a target sends cannot add markup to the page.
//!
//! Elements the browser test reads are marked with `data-testid` /
//! `data-count`; the filters rely on `data-filter` and `data-search`.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::checks::Weight;
use crate::exchange::{BodyRecord, ExchangeRecord};
use crate::verdict::{CaseResult, Verdict};
use crate::vocabulary::Row;

use super::RunReport;

/// The report's styles (the diff page shares them).
pub(crate) const CSS: &str = include_str!("html/report.css");
/// Its script: filters, search, copy buttons, print (shared by the diff page).
pub(crate) const JS: &str = include_str!("html/report.js");

/// Nothing but the inline style and script: no network access, no frames.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
                   img-src data:; base-uri 'none'; form-action 'none'";

/// The filter a verdict belongs to: `failed` (fail, error, stale),
/// `warnings`, `skipped`, `partial`, or `other` for passes and expected
/// failures, shown under "all" only.
///
/// A partial case (cut short: what ran passed, but it is not complete) is
/// neither a pass nor a failure, so it has a filter of its own rather than
/// hiding under "failed" (it does not fail the run) or under "all" only
/// (it needs a look). Each filter shows exactly the cases its summary
/// count counts: failed = `summary.failed`, warnings = `summary.warnings`,
/// skipped = `summary.skipped`, partial = `summary.partial`.
fn filter_of(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Fail | Verdict::Error | Verdict::Stale => "failed",
        Verdict::Warn => "warnings",
        Verdict::Skip => "skipped",
        Verdict::Partial => "partial",
        Verdict::Pass | Verdict::ExpectedFailure => "other",
    }
}

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "pass",
        Verdict::Warn => "warn",
        Verdict::Fail => "fail",
        Verdict::Skip => "skip",
        Verdict::Error => "error",
        Verdict::ExpectedFailure => "expected-failure",
        Verdict::Stale => "stale",
        Verdict::Partial => "partial",
    }
}

/// Renders the report as one HTML page.
pub fn render(report: &RunReport) -> String {
    let s = report.summary;
    let e = report.enforcement;
    let (rfc, reference) = super::tier_weights(e);
    let exit = report.exit();
    let code = exit.code;
    let content = html! {
    header {
        h1 { "Conformance of " code { "POST " (report.endpoint) } }
        p.meta { "Target: " (report.target) }
        p.meta {
            "Tiers: seed fail; rfc " (rfc) "; reference " (reference)
            @if e.strict { " (--strict)" }
            " · " (report.summary.line())
            " · " (report.elapsed_ms) " ms"
        }
        p.meta {
            "Run verdict: "
            @if code == super::EXIT_PASS {
                span.run-verdict.ok data-testid="exit-code" data-count=(code) { "passed (exit 0)" }
            } @else if code == super::EXIT_UNVERIFIED {
                span.run-verdict.bad data-testid="exit-code" data-count=(code) {
                    "not verified (exit " (code) ")"
                }
            } @else {
                span.run-verdict.bad data-testid="exit-code" data-count=(code) {
                    "failed (exit " (code) ")"
                }
            }
            " · " span data-testid="exit-why" { (exit.why) }
        }
        @if report.secrets_shown {
            p.notice.secrets { "This report shows passwords and tokens (--show-secrets). Do not share it." }
        } @else {
            p.notice {
                "Passwords and tokens are redacted (" code { "<password:…>" } ", "
                code { "<token:…>" } "); " code { "--show-secrets" } " shows them."
            }
        }
        @if let Some(resumed) = &report.resumed {
            p.meta { "Resumed an interrupted run: " (resumed.outcome) }
        }
    }
    section aria-label="Summary" {
        div.tiles {
            (tile("passed", "passed", s.passed))
            (tile("failed", "failed", s.failed))
            (tile("skipped", "skipped", s.skipped))
            (tile("warnings", "warnings", s.warnings))
            (tile("expected-failures", "expected failures", s.expected_failures))
            (tile("partial", "partial (cut short)", s.partial))
            (tile("errors", "errors (of the failed)", s.errors))
            (tile("total", "cases", report.cases.len()))
        }
    }
    (coverage(report))
    (unverified(report))
    div.toolbar role="toolbar" aria-label="Filter cases" {
        button type="button" data-set-filter="all" aria-pressed="true" { "All" }
        button type="button" data-set-filter="failed" aria-pressed="false" { "Failed (" (s.failed) ")" }
        button type="button" data-set-filter="warnings" aria-pressed="false" { "Warnings (" (s.warnings) ")" }
        button type="button" data-set-filter="skipped" aria-pressed="false" { "Skipped (" (s.skipped) ")" }
        button type="button" data-set-filter="partial" aria-pressed="false" { "Partial (" (s.partial) ")" }
        input #search type="search" placeholder="Search ID, title, spec, reason…" aria-label="Search cases";
        span.shown { span #shown data-testid="shown" { (report.cases.len()) } " shown" }
    }
    p #empty hidden { "No case matches." }
    @for (group, cases) in report.groups() {
        section.group {
            h2 { (group.heading()) }
            @for case in cases { (case_block(case)) }
        }
    }
    footer {
        p { "Restore: " @if !report.restore.ok { strong { "FAILED: " } } (report.restore.outcome) }
        p { "State file: " code { (report.state_file) } }
    }
    };
    page(&format!("Conformance: {}", report.endpoint), "", content)
}

/// The page layout the run and diff reports share: the head (charset, the
/// CSP, viewport, `title`, the styles plus `extra_css`), `content` in
/// `main`, and the script.
pub(crate) fn page(title: &str, extra_css: &str, content: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(CSP);
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) (PreEscaped(extra_css)) }
            }
            body {
                main { (content) }
                script { (PreEscaped(JS)) }
            }
        }
    }
    .into_string()
}

/// A count tile (`data-testid="count-KEY"`, the count also in
/// `data-count`).
pub(crate) fn tile(key: &str, label: &str, count: usize) -> Markup {
    html! {
        div class={ "tile " (key) } {
            span.count data-testid={ "count-" (key) } data-count=(count) { (count) }
            span.label { (label) }
        }
    }
}

/// The model's per-row coverage (`report.coverage`, the JSON report's
/// `coverage` field), one table row per seed row, every column it has.
fn coverage(report: &RunReport) -> Markup {
    html! {
        section aria-label="Coverage of the vendor document's rows" {
            h2 { "Coverage of rows S1–S11" }
            table.coverage data-testid="coverage" {
                thead { tr {
                    th { "row" } th { "condition" }
                    th.num { "passed" } th.num { "failed" } th.num { "skipped" }
                    th.num { "partial" } th.num { "xfail" }
                    th { "" }
                } }
                tbody {
                    @for c in &report.coverage {
                        @let title = Row::ALL.iter().find(|r| r.id() == c.row).map_or("", |r| r.title());
                        @let all = c.executed() + c.skipped;
                        @let total = all.max(1);
                        @let missing = report.rows_missing.contains(&c.row);
                        @let unverified = report.unverified.iter().any(|u| u.row == c.row);
                        tr data-row=(c.row)
                            class=[(c.executed() == 0).then_some("uncovered")]
                            data-required-missing=[missing.then_some("true")]
                            data-unverified=[unverified.then_some("true")] {
                            td { strong { (c.row) } }
                            td {
                                (title)
                                @if missing { strong.missing { " required by --require-rows" } }
                            }
                            (num("passed", c.passed))
                            (num("failed", c.failed))
                            (num("skipped", c.skipped))
                            (num("partial", c.partial))
                            (num("expected_failures", c.expected_failures))
                            td { div.bar aria-hidden="true" {
                                span.p style={ "width:" (pct(c.passed, total)) "%" } {}
                                span.f style={ "width:" (pct(c.failed + c.expected_failures, total)) "%" } {}
                                span.h style={ "width:" (pct(c.partial, total)) "%" } {}
                                span.s style={ "width:" (pct(c.skipped, total)) "%" } {}
                            } }
                        }
                    }
                }
            }
        }
    }
}

/// The seed rows left unverified (`report.unverified`, the JSON report's
/// `unverified` field): why, and what would verify each; nothing when
/// every row that ran was verified.
fn unverified(report: &RunReport) -> Markup {
    html! {
        @if !report.unverified.is_empty() {
            section aria-label="Seed rows not verified" data-testid="unverified" {
                h2 { "Seed rows not verified" }
                p.meta {
                    "No passing seed-tier case: a skipped, partial or failed case verifies nothing. "
                    "Rows left unverified make the exit code 3 unless "
                    code { "--allow-unverified" } " accepts them."
                }
                ul {
                    @for u in &report.unverified {
                        li data-row=(u.row) data-accepted=(u.accepted) {
                            strong { (u.row) } " " (u.title) ": " (u.why)
                            @if !u.verify_with.is_empty() {
                                "; verify with "
                                @for (i, key) in u.verify_with.iter().enumerate() {
                                    @if i > 0 { " or " }
                                    code { (key) }
                                }
                            }
                            @if u.accepted { " (accepted: --allow-unverified)" }
                        }
                    }
                }
            }
        }
    }
}

/// `part` of `total` in percent, one decimal (bar widths).
fn pct(part: usize, total: usize) -> String {
    format!("{:.1}", part as f64 * 100.0 / total as f64)
}

fn num(key: &str, n: usize) -> Markup {
    html! { td class={ "num" @if n == 0 { " zero" } } data-col=(key) data-count=(n) { (n) } }
}

fn case_block(case: &CaseResult) -> Markup {
    let search = format!(
        "{} {} {} {} {} {}",
        case.id,
        case.title,
        case.spec,
        case.group,
        case.verdict.label(),
        case.reason.as_deref().unwrap_or("")
    )
    .to_lowercase();
    let open = case.verdict.fails_run();
    html! {
        details.case #{ "case-" (case.id) } open[open]
            data-verdict=(verdict_class(case.verdict))
            data-filter=(filter_of(case.verdict))
            data-search=(search) {
            summary {
                span class={ "badge " (verdict_class(case.verdict)) } { (case.verdict.label()) }
                span.id { (case.id) }
                span.tier { (case.tier.as_str()) }
                span.title { (case.title) }
            }
            div.body {
                @if let Some(reason) = &case.reason {
                    p { strong { (reason_label(case.verdict)) ": " } (reason) }
                }
                p.label-line { "Requirement (" (case.spec) ")" }
                blockquote { (case.requirement) }
                @if let Some(d) = &case.decision {
                    p { strong { "Decision: " } (d) }
                }
                @if !case.checks.is_empty() {
                    p.label-line { "Checks: expected against observed" }
                    table.checks {
                        thead { tr { th { "step" } th { "check" } th { "tier" } th { "expected" } th { "observed" } th { "outcome" } } }
                        tbody {
                            @for c in &case.checks {
                                tr class={ "w-" (weight_class(c.weight)) } {
                                    td.num { (c.step) }
                                    td { (c.what) }
                                    td { (c.tier.as_str()) }
                                    td { code { (c.expected) } }
                                    td { code { (c.observed) } }
                                    td.outcome { (weight_class(c.weight)) }
                                }
                            }
                        }
                    }
                }
                @for note in &case.notes {
                    p.meta { "Note: " (note) }
                }
                @for x in &case.exchanges {
                    (exchange(case.id, x))
                }
                p.meta { (case.elapsed_ms) " ms" }
            }
        }
    }
}

fn reason_label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Skip => "Skipped",
        Verdict::ExpectedFailure | Verdict::Stale => "Baseline",
        Verdict::Error => "Error",
        _ => "Reason",
    }
}

fn weight_class(weight: Weight) -> &'static str {
    match weight {
        Weight::Pass => "pass",
        Weight::Fail => "fail",
        Weight::Warn => "warn",
        Weight::Info => "info",
        Weight::Note => "note",
    }
}

pub(crate) fn body_text(body: &BodyRecord) -> String {
    match body {
        BodyRecord::Empty => "(no body)".to_string(),
        BodyRecord::Json(v) => serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()),
        BodyRecord::Text(t) => t.clone(),
    }
}

/// The (redacted) request of `x` as text: request line, headers, body.
pub(crate) fn request_text(x: &ExchangeRecord) -> String {
    let mut request = format!("{} {}\n", x.request.method, x.request.path);
    for (n, v) in &x.request.headers {
        request.push_str(&format!("{n}: {v}\n"));
    }
    request.push('\n');
    request.push_str(&body_text(&x.request.body));
    request
}

/// The response of `x` as text (status, headers, body), if it came.
pub(crate) fn response_text(x: &ExchangeRecord) -> Option<String> {
    x.response.as_ref().map(|r| {
        let mut s = format!("{}\n", r.status);
        for (n, v) in &r.headers {
            s.push_str(&format!("{n}: {v}\n"));
        }
        s.push('\n');
        s.push_str(&body_text(&r.body));
        s
    })
}

/// A curl command with its copy button (the button copies the element
/// `curl_id`).
pub(crate) fn curl_block(curl_id: &str, curl: &str) -> Markup {
    html! {
        div.curl {
            pre #(curl_id) { (curl) }
            button.copy type="button" data-target=(curl_id) { "Copy" }
        }
    }
}

fn exchange(case_id: &str, x: &ExchangeRecord) -> Markup {
    let curl_id = format!("curl-{case_id}-{}", x.step);
    let request = request_text(x);
    let response = response_text(x);
    html! {
        div.exchange {
            h3 { "Step " (x.step) ": " (x.purpose) " " span.meta { "(" (x.elapsed_ms) " ms)" } }
            div.halves {
                div { p.label-line { "Request" } pre { (request) } }
                div {
                    p.label-line { "Response" }
                    @match (&response, &x.error) {
                        (Some(r), _) => pre { (r) },
                        (None, Some(e)) => pre { "no response: " (e) },
                        (None, None) => pre { "no response" },
                    }
                }
            }
            p.label-line { "Reproduce" }
            (curl_block(&curl_id, &x.curl))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn counts_rows_filters_and_escaping() {
        let mut report = fixture::report();
        // A case cut short (not in the shared fixture, whose counts the
        // other reporters' tests pin).
        let mut partial = CaseResult::new(crate::cases::find("password.wrong-old").unwrap());
        partial.verdict = Verdict::Partial;
        partial.reason = Some("the account ran out midway".into());
        let partial_row = partial.group.clone();
        report.cases.push(partial);
        report.recount();
        // A hostile body cannot add markup.
        report.cases[1].exchanges[0].response.as_mut().unwrap().body =
            BodyRecord::Text("<script>alert(1)</script>".into());
        let page = render(&report);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(!page.contains("<script>alert(1)"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains(r#"data-testid="count-passed" data-count="2""#));
        assert!(page.contains(r#"data-testid="count-failed" data-count="1""#));
        assert!(page.contains(r#"data-testid="count-skipped" data-count="1""#));
        assert!(page.contains(r#"data-filter="failed""#));
        assert!(page.contains(r#"data-filter="skipped""#));
        assert!(page.contains(r#"data-filter="warnings""#));
        // No resource outside the page.
        for attr in [
            "src=\"http",
            "href=\"http",
            "src=\"//",
            "href=\"//",
            "@import",
        ] {
            assert!(!page.contains(attr), "{attr}");
        }
        assert!(page.contains(r#"data-testid="count-partial" data-count="1""#));
        assert!(page.contains(r#"data-filter="partial""#));
        assert!(page.contains(r#"class="badge partial""#));
        // The coverage table is the model's, column by column.
        for c in &report.coverage {
            let start = page.find(&format!(r#"data-row="{}""#, c.row)).unwrap();
            let row = &page[start..start + page[start..].find("</tr>").unwrap()];
            for (col, n) in [
                ("passed", c.passed),
                ("failed", c.failed),
                ("skipped", c.skipped),
                ("partial", c.partial),
                ("expected_failures", c.expected_failures),
            ] {
                assert!(
                    row.contains(&format!(r#"data-col="{col}" data-count="{n}""#)),
                    "{} {col}: {row}",
                    c.row
                );
            }
        }
        let row = report
            .coverage
            .iter()
            .find(|c| c.row == partial_row)
            .unwrap();
        assert_eq!(row.partial, 1);
        // The rows left unverified: marked in the table, listed with why,
        // and the exit says why it is 1.
        let start = page.find(r#"data-row="S7""#).unwrap();
        let tag = &page[start..start + page[start..].find('>').unwrap()];
        assert!(tag.contains(r#"data-unverified="true""#), "{tag}");
        let list = &page[page.find(r#"data-testid="unverified""#).unwrap()..];
        assert!(
            list.contains(r#"data-row="S5" data-accepted="false""#),
            "{list}"
        );
        assert!(
            list.contains("<code>policy.require_symbol</code>"),
            "{list}"
        );
        assert!(page.contains(r#"data-testid="exit-code" data-count="1""#));
        assert!(page.contains(r#"<span data-testid="exit-why">1 failed; "#));
    }
}
