//! Comparing two runs of the same catalogue, case by case and step by
//! step: status, `error`, `error_description`, challenges (parsed,
//! parameters in any order), the [`ALLOWLISTED_HEADERS`], whether the
//! exchange completed, the step's purpose, a case run on one side and
//! skipped on the other, and the runner's effect confirmations.

use crate::checks;
use crate::exchange::{BodyRecord, ExchangeRecord};
use crate::report::RunReport;
use crate::verdict::{CaseResult, Verdict};
use crate::vocabulary::{self, Tier};

use super::report::{ALLOWLISTED_HEADERS, Aspect, DiffReport, Difference};

/// Compares two runs of the same catalogue.
pub fn compare(a: &RunReport, b: &RunReport) -> DiffReport {
    let mut differences = Vec::new();
    let mut errors = Vec::new();
    for (side, report) in [("A", a), ("B", b)] {
        // The account must be back where it was: a failed restore is not a
        // difference of behaviour but leaves a target to be repaired.
        if !report.restore.ok {
            errors.push(format!("{side}: restore: {}", report.restore.outcome));
        }
        for case in &report.cases {
            if case.verdict == Verdict::Error {
                errors.push(format!(
                    "{side}: {}: {}",
                    case.id,
                    case.reason
                        .as_deref()
                        .unwrap_or("an exchange did not complete")
                ));
            }
        }
    }
    let mut compared = 0;
    for ca in &a.cases {
        // The generated properties are compared as sequences.
        if vocabulary::PROPERTIES.iter().any(|p| p.id == ca.id) {
            continue;
        }
        let Some(cb) = b.cases.iter().find(|c| c.id == ca.id) else {
            continue;
        };
        compared += 1;
        compare_case(ca, cb, &mut differences);
    }
    // Batched confirmations: the tracked password still works.
    for (i, (ea, eb)) in a.effects.iter().zip(&b.effects).enumerate() {
        if ea.ok != eb.ok {
            differences.push(Difference {
                case: "effects",
                tier: Tier::Seed,
                group: "effects".into(),
                sequence: None,
                step: i + 1,
                purpose: "batched confirmation that the tracked password still works".into(),
                aspects: vec![Aspect {
                    what: "effect".into(),
                    a: ea.outcome.clone(),
                    b: eb.outcome.clone(),
                }],
                a: ea.exchanges.last().cloned(),
                b: eb.exchanges.last().cloned(),
            });
        }
    }
    let mut report = DiffReport {
        a: a.target.clone(),
        b: b.target.clone(),
        cases: compared,
        sequences: 0,
        seed: None,
        differences,
        errors,
        elapsed_ms: 0,
        secrets_shown: false,
    };
    report.sort();
    report
}

fn compare_case(a: &CaseResult, b: &CaseResult, out: &mut Vec<Difference>) {
    let diff = |step: usize, purpose: String, aspects: Vec<Aspect>, xa, xb| Difference {
        case: a.id,
        tier: a.tier,
        group: a.group.clone(),
        sequence: None,
        step,
        purpose,
        aspects,
        a: xa,
        b: xb,
    };
    let ran = |c: &CaseResult| c.verdict != Verdict::Skip;
    if ran(a) != ran(b) {
        let state = |c: &CaseResult| match c.verdict {
            Verdict::Skip => format!("skipped: {}", c.reason.as_deref().unwrap_or("")),
            v => format!("ran ({})", v.label()),
        };
        out.push(diff(
            0,
            "the case as a whole".into(),
            vec![Aspect {
                what: "ran".into(),
                a: state(a),
                b: state(b),
            }],
            None,
            None,
        ));
        return;
    }
    let steps = a.exchanges.len().max(b.exchanges.len());
    for i in 0..steps {
        let xa = a.exchanges.get(i);
        let xb = b.exchanges.get(i);
        let aspects = match (xa, xb) {
            (Some(xa), Some(xb)) => compare_exchange(xa, xb),
            (xa, xb) => vec![Aspect {
                what: "steps".into(),
                a: xa.map_or("no such step".into(), |x| format!("step: {}", x.purpose)),
                b: xb.map_or("no such step".into(), |x| format!("step: {}", x.purpose)),
            }],
        };
        if !aspects.is_empty() {
            let purpose = xa.or(xb).map(|x| x.purpose.clone()).unwrap_or_default();
            let mut d = diff(i + 1, purpose, aspects, xa.cloned(), xb.cloned());
            if both_200(xa, xb) && d.tier != Tier::Reference {
                // Two 200s that differ only in headers or body: the
                // document leaves those open (open point 7); the effect is
                // compared on its own below.
                d.tier = Tier::Reference;
                d.group = "open-7".into();
            }
            out.push(d);
        }
    }
    // Effects the runner confirmed after the case (the tracked password).
    let unchanged = |c: &CaseResult| {
        c.checks
            .iter()
            .find(|k| k.what == checks::PASSWORD_UNCHANGED)
            .map(|k| k.observed.clone())
    };
    if unchanged(a) != unchanged(b) {
        let show = |o: Option<String>| o.unwrap_or_else(|| "the tracked password works".into());
        out.push(diff(
            0,
            "which password works afterwards".into(),
            vec![Aspect {
                what: "effect".into(),
                a: show(unchanged(a)),
                b: show(unchanged(b)),
            }],
            None,
            None,
        ));
    }
}

/// Whether both targets answered this step with 200.
fn both_200(a: Option<&ExchangeRecord>, b: Option<&ExchangeRecord>) -> bool {
    let ok = |x: Option<&ExchangeRecord>| {
        x.and_then(|x| x.response.as_ref())
            .is_some_and(|r| r.status == 200)
    };
    ok(a) && ok(b)
}

fn member(x: &ExchangeRecord, name: &str) -> String {
    match x.response.as_ref().map(|r| &r.body) {
        Some(BodyRecord::Json(v)) => match v.get(name) {
            Some(serde_json::Value::String(s)) => format!("{s:?}"),
            Some(other) => other.to_string(),
            None => "(absent)".into(),
        },
        Some(BodyRecord::Empty) => "(no body)".into(),
        Some(BodyRecord::Text(_)) => "(not JSON)".into(),
        None => "(no response)".into(),
    }
}

fn header(x: &ExchangeRecord, name: &str) -> String {
    let Some(r) = &x.response else {
        return "(no response)".into();
    };
    let values: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect();
    if values.is_empty() {
        "(absent)".into()
    } else {
        values.join(", ")
    }
}

/// Challenges as `Scheme k=v, k=v; …`, parameters sorted (order is not
/// behaviour).
fn challenges(x: &ExchangeRecord) -> String {
    let Some(r) = &x.response else {
        return "(no response)".into();
    };
    let values: Vec<String> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.clone())
        .collect();
    if values.is_empty() {
        return "(absent)".into();
    }
    match crate::challenge::parse(&values) {
        Ok(list) => list
            .iter()
            .map(|c| {
                let mut params = c.params.clone();
                params.sort();
                let params: Vec<String> =
                    params.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                format!("{} {}", c.scheme.to_ascii_lowercase(), params.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; "),
        Err(_) => format!("(unparsable) {}", values.join(", ")),
    }
}

pub(crate) fn compare_exchange(a: &ExchangeRecord, b: &ExchangeRecord) -> Vec<Aspect> {
    let mut aspects = Vec::new();
    let mut push = |what: &str, va: String, vb: String| {
        if va != vb {
            aspects.push(Aspect {
                what: what.to_string(),
                a: va,
                b: vb,
            });
        }
    };
    push("purpose", a.purpose.clone(), b.purpose.clone());
    let status = |x: &ExchangeRecord| match (&x.response, &x.error) {
        (Some(r), _) => r.status.to_string(),
        (None, Some(e)) => format!("no response: {e}"),
        (None, None) => "no response".into(),
    };
    push("status", status(a), status(b));
    push("error", member(a, "error"), member(b, "error"));
    push(
        "error_description",
        member(a, "error_description"),
        member(b, "error_description"),
    );
    push("challenge", challenges(a), challenges(b));
    for name in ALLOWLISTED_HEADERS {
        push(&format!("header {name}"), header(a, name), header(b, name));
    }
    aspects
}
