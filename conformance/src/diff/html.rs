//! The diff as one self-contained HTML page (`diff --format html --output
//! FILE`), in the run report's style: its CSS, script (filters, search box,
//! copy buttons, printing every shown difference expanded) and
//! Content-Security-Policy ([`crate::report::html`]), so the page makes no
//! network access when opened.
//!
//! Layout: the two targets, the seed and the run's verdict with what each
//! exit code means; tiles with the differences per tier, the cases and
//! sequences compared and the errors; a toolbar (all, seed rows, RFC, open
//! points, a search box); then one section per tier, each difference a
//! collapsible block: its case, place (step, or sequence and step) and
//! purpose in the summary line; inside, a table of what differs (A against
//! B), both exchanges side by side (request and response, redacted unless
//! `--show-secrets`) and a curl for each with a copy button.
//!
//! Elements the browser test reads carry `data-testid` / `data-count`; the
//! filters rely on `data-filter` (`seed`, `rfc`, `open-points`) and
//! `data-search`.

use maud::{Markup, html};

use crate::exchange::ExchangeRecord;
use crate::report::html::{curl_block, page, request_text, response_text, tile};
use crate::report::{EXIT_ERROR, EXIT_FAIL, EXIT_PASS};
use crate::vocabulary::Tier;

use super::report::{DiffReport, Difference};

/// Styles of the diff page on top of the run report's.
const DIFF_CSS: &str = "
.badge.seed { background: var(--fail); } .badge.rfc { background: var(--warn); }
.badge.open-points { background: var(--xfail); }
.tile.seed .count { color: var(--fail); } .tile.rfc .count { color: var(--warn); }
.tile.open-points .count { color: var(--xfail); }
.exits li.current { font-weight: 650; }
table.aspects td:first-child { white-space: nowrap; font-weight: 600; }
table.aspects td code { word-break: break-word; }
.side h3 { font-size: 0.95rem; margin: 8px 0 2px; }
";

/// The filter (and badge) of a tier.
pub fn filter_of(tier: Tier) -> &'static str {
    match tier {
        Tier::Seed => "seed",
        Tier::Rfc => "rfc",
        Tier::Reference => "open-points",
    }
}

fn heading(tier: Tier) -> &'static str {
    match tier {
        Tier::Seed => "Seed rows",
        Tier::Rfc => "RFC expectations",
        Tier::Reference => "Open points",
    }
}

/// Renders the diff as one HTML page.
pub fn render(report: &DiffReport) -> String {
    let code = report.exit_code();
    let tiers = report.per_tier();
    let secrets = report.secrets_shown;
    let content = html! {
    header {
        h1 { "Differential run" }
        p.meta { strong { "A: " } (report.a) }
        p.meta { strong { "B: " } (report.b) }
        p.meta {
            (report.summary_line()) " · " (report.elapsed_ms) " ms"
        }
        p.meta {
            "Verdict: "
            @if code == EXIT_PASS {
                span.run-verdict.ok data-testid="exit-code" data-count=(code) { "alike (exit 0)" }
            } @else if code == EXIT_FAIL {
                span.run-verdict.bad data-testid="exit-code" data-count=(code) { "they differ (exit 1)" }
            } @else {
                span.run-verdict.bad data-testid="exit-code" data-count=(code) { "error (exit " (code) ")" }
            }
        }
        ul.exits.meta {
            li class=[(code == EXIT_PASS).then_some("current")] { "exit 0: the targets behave alike" }
            li class=[(code == EXIT_FAIL).then_some("current")] { "exit 1: they differ (every difference below)" }
            li class=[(code == EXIT_ERROR).then_some("current")] { "exit 2: a configuration or connection error (an exchange or a restore did not complete)" }
        }
        @if secrets {
            p.notice.secrets { "This report shows passwords and tokens (--show-secrets). Do not share it." }
        } @else {
            p.notice {
                "Passwords and tokens are redacted (" code { "<password:…>" } ", "
                code { "<token:…>" } "); " code { "--show-secrets" } " shows them. "
                "In generated sequences, " code { "<password:start-i>" } " is the i-th password of the account when the sequence started (0 the current one) and "
                code { "<password:new-n>" } " the n-th fresh one: the same symbol on both targets."
            }
        }
        @for e in &report.errors {
            p.notice.secrets data-testid="error" { "Error: " (e) }
        }
    }
    section aria-label="Summary" {
        div.tiles {
            @for (tier, n) in tiers {
                (tile(filter_of(tier), heading(tier), n))
            }
            (tile("total", "differences", report.differences.len()))
            (tile("cases", "cases differing", report.cases_differing().len()))
            (tile("compared", "cases compared", report.cases))
            (tile("sequences", "sequences compared", report.sequences))
            (tile("errors", "errors", report.errors.len()))
        }
    }
    div.toolbar role="toolbar" aria-label="Filter differences" {
        button type="button" data-set-filter="all" aria-pressed="true" { "All" }
        @for (tier, n) in tiers {
            button type="button" data-set-filter=(filter_of(tier)) aria-pressed="false" { (heading(tier)) " (" (n) ")" }
        }
        input #search type="search" placeholder="Search case, step, what differs…" aria-label="Search differences";
        span.shown { span #shown data-testid="shown" { (report.differences.len()) } " shown" }
    }
    p #empty hidden { "No difference matches." }
    @if report.differences.is_empty() {
        p data-testid="alike" { "No difference: the targets behave alike on every case and step compared." }
    }
    @for (tier, _) in tiers {
        @let list: Vec<(usize, &Difference)> = report.differences.iter().enumerate().filter(|(_, d)| d.tier == tier).collect();
        @if !list.is_empty() {
            section.group {
                h2 { (heading(tier)) }
                @for (i, d) in list { (difference(i, d)) }
            }
        }
    }
    };
    page(
        &format!("Differential run: {} against {}", report.a, report.b),
        DIFF_CSS,
        content,
    )
}

fn difference(i: usize, d: &Difference) -> Markup {
    let mut search = format!("{} {} {} {}", d.case, d.place(), d.purpose, d.group);
    for x in &d.aspects {
        search.push_str(&format!(" {} {} {}", x.what, x.a, x.b));
    }
    let id = format!("diff-{i}");
    html! {
        details.case #(id) data-filter=(filter_of(d.tier)) data-search=(search.to_lowercase())
            data-case=(d.case) data-step=(d.step) data-sequence=[d.sequence] {
            summary {
                span class={ "badge " (filter_of(d.tier)) } { (d.group) }
                span.id { (d.case) }
                span.tier { (d.place()) }
                span.title { (d.purpose) }
            }
            div.body {
                p.label-line { "What differs" }
                table.aspects {
                    thead { tr { th { "" } th { "A" } th { "B" } } }
                    tbody {
                        @for x in &d.aspects {
                            tr { td { (x.what) } td { code { (x.a) } } td { code { (x.b) } } }
                        }
                    }
                }
                @if d.a.is_some() || d.b.is_some() {
                    div.exchange {
                        div.halves {
                            (side(&id, "A", d.a.as_ref()))
                            (side(&id, "B", d.b.as_ref()))
                        }
                    }
                }
            }
        }
    }
}

fn side(id: &str, name: &str, x: Option<&ExchangeRecord>) -> Markup {
    let Some(x) = x else {
        return html! { div.side { h3 { (name) } p.meta { "(no such step on " (name) ")" } } };
    };
    let request = request_text(x);
    let response = match (response_text(x), &x.error) {
        (Some(r), _) => r,
        (None, Some(e)) => format!("no response: {e}"),
        (None, None) => "no response".into(),
    };
    let curl_id = format!("curl-{id}-{name}");
    html! {
        div.side {
            h3 { (name) }
            p.label-line { "Request" }
            pre { (request) }
            p.label-line { "Response" }
            pre { (response) }
            p.label-line { "Reproduce on " (name) }
            (curl_block(&curl_id, &x.curl))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::BodyRecord;
    use crate::report::fixture;

    #[test]
    fn tiers_counts_and_escaping() {
        let a = fixture::report();
        let mut b = fixture::report();
        let response = b.cases[1].exchanges[0].response.as_mut().unwrap();
        response.status = 599;
        response.body = BodyRecord::Text("<script>alert(1)</script>".into());
        let report = crate::diff::compare(&a, &b);
        let page = render(&report);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(!page.contains("<script>alert(1)"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        let n = report.differences.len();
        assert!(n > 0);
        assert!(page.contains(&format!(r#"data-testid="count-total" data-count="{n}""#)));
        assert!(page.contains(r#"data-testid="exit-code" data-count="1""#));
        assert_eq!(page.matches(r#"<details class="case""#).count(), n);
        assert!(page.contains(r#"data-filter="seed""#));
        for attr in ["src=\"http", "href=\"http", "@import"] {
            assert!(!page.contains(attr), "{attr}");
        }
    }
}
