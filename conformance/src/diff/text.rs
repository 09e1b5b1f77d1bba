//! The diff as text: differences grouped by tier (seed rows, RFC, open
//! points), each with what differs, both exchanges side by side and a curl
//! for each target.

use std::fmt::Write as _;

use crate::exchange::{BodyRecord, ExchangeRecord};
use crate::vocabulary::Tier;

use super::report::{DiffReport, Difference};

/// The text report: differences grouped by tier, each with both exchanges
/// side by side and a curl for each.
pub fn render_text(report: &DiffReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "differential run");
    let _ = writeln!(out, "A: {}", report.a);
    let _ = writeln!(out, "B: {}", report.b);
    for tier in [Tier::Seed, Tier::Rfc, Tier::Reference] {
        let list: Vec<&Difference> = report
            .differences
            .iter()
            .filter(|d| d.tier == tier)
            .collect();
        if list.is_empty() {
            continue;
        }
        let heading = match tier {
            Tier::Seed => "seed rows",
            Tier::Rfc => "RFC expectations",
            Tier::Reference => "open points",
        };
        let _ = writeln!(out, "\n== {heading} ({} differences)", list.len());
        for d in list {
            let _ = writeln!(
                out,
                "\n{} [{}] {}: {}",
                d.case,
                d.group,
                d.place(),
                d.purpose
            );
            for aspect in &d.aspects {
                let _ = writeln!(out, "  {}: A {} | B {}", aspect.what, aspect.a, aspect.b);
            }
            if d.a.is_some() || d.b.is_some() {
                side_by_side(&mut out, d.a.as_ref(), d.b.as_ref());
            }
            for (side, x) in [("A", &d.a), ("B", &d.b)] {
                if let Some(x) = x {
                    let _ = writeln!(out, "  reproduce on {side}: {}", x.curl);
                }
            }
        }
    }
    for e in &report.errors {
        let _ = writeln!(out, "error: {e}");
    }
    let _ = writeln!(out, "\n{}", report.summary_line());
    out
}

fn exchange_lines(x: Option<&ExchangeRecord>) -> Vec<String> {
    let Some(x) = x else {
        return vec!["(no such step)".into()];
    };
    let mut lines = vec![format!("{} {}", x.request.method, x.request.path)];
    for (n, v) in &x.request.headers {
        lines.push(format!("{n}: {v}"));
    }
    lines.push(body_line(&x.request.body));
    lines.push("--".into());
    match (&x.response, &x.error) {
        (Some(r), _) => {
            lines.push(r.status.to_string());
            for (n, v) in &r.headers {
                lines.push(format!("{n}: {v}"));
            }
            lines.push(body_line(&r.body));
        }
        (None, e) => lines.push(format!("no response {}", e.as_deref().unwrap_or(""))),
    }
    lines
}

fn body_line(body: &BodyRecord) -> String {
    match body {
        BodyRecord::Empty => "(no body)".into(),
        BodyRecord::Json(v) => v.to_string(),
        BodyRecord::Text(t) => t.clone(),
    }
}

fn side_by_side(out: &mut String, a: Option<&ExchangeRecord>, b: Option<&ExchangeRecord>) {
    const WIDTH: usize = 60;
    let la = exchange_lines(a);
    let lb = exchange_lines(b);
    let _ = writeln!(out, "  {:<WIDTH$} | B", "A");
    for i in 0..la.len().max(lb.len()) {
        let left = la.get(i).map_or("", String::as_str);
        let right = lb.get(i).map_or("", String::as_str);
        let left: String = if left.chars().count() > WIDTH {
            left.chars().take(WIDTH - 1).chain(['…']).collect()
        } else {
            left.to_string()
        };
        let _ = writeln!(out, "  {left:<WIDTH$} | {right}");
    }
}
