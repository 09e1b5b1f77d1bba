//! The generated account-model sequences of a diff: the same abstract
//! sequences ([`crate::properties::replay::generate`], once, from the seed and A's profile)
//! played against both targets ([`crate::properties::replay::play`]), compared sequence by
//! sequence and step by step.
//!
//! Per step: what `compare_exchange` compares for a catalogue step
//! (status, `error`, `error_description`, challenges, allowlisted headers)
//! and the effect (which password works afterwards). A sequence that
//! stopped on one target before the other (its answer left the account
//! where A's model does not) differs at the first step sent on one side
//! only, and the comparison of that sequence ends there. A difference
//! where A's model allows several answers and both targets give one of
//! them, leaving the same password working, is an open-point difference
//! (open point 1), and so is one in the headers or body of a 200 both
//! targets gave, the same password working afterwards (open point 7); any
//! other is at seed tier, grouped by the seed row of the model's answer.

use crate::cases;
use crate::properties::replay::{Played, PlayedSequence, PlayedStep};
use crate::vocabulary::{Property, Tier};

use super::compare::compare_exchange;
use super::report::{Aspect, DiffReport, Difference};

/// The ID differences of sequences carry.
pub fn case_id() -> &'static str {
    crate::properties::case(Property::AccountModel).id
}

/// Adds the differences and errors of two played runs to `report`.
pub fn compare(a: &Played, b: &Played, report: &mut DiffReport) {
    for (side, p) in [("A", a), ("B", b)] {
        if p.transport
            && let Some(e) = &p.error
        {
            report.errors.push(format!("{side}: {}: {e}", case_id()));
        }
        for s in p.sequences.iter().filter(|s| s.transport) {
            report.errors.push(format!(
                "{side}: {} sequence {}: {}",
                case_id(),
                s.number,
                s.stopped.as_deref().unwrap_or("no answer")
            ));
        }
    }
    // Neither side played (the same reason on both, not a connection
    // error, which is listed above): nothing was compared, so the targets
    // cannot be called alike.
    if !a.transport
        && let Some(e) = &a.error
        && a.error == b.error
    {
        report
            .errors
            .push(format!("A and B: {}: no sequence played: {e}", case_id()));
    }
    if a.error != b.error {
        report.differences.push(whole(
            "played",
            a.error.clone().unwrap_or_else(|| "played".into()),
            b.error.clone().unwrap_or_else(|| "played".into()),
        ));
    }
    let n = a.sequences.len().max(b.sequences.len());
    let mut compared = 0;
    for i in 0..n {
        match (a.sequences.get(i), b.sequences.get(i)) {
            (Some(sa), Some(sb)) => {
                compared += 1;
                compare_sequence(sa, sb, &mut report.differences);
            }
            (sa, sb) => {
                let state = |s: Option<&PlayedSequence>| {
                    s.map_or(
                        "not played (the account was no longer usable)".into(),
                        |s| format!("played ({} steps)", s.steps.len()),
                    )
                };
                let mut d = whole("sequence", state(sa), state(sb));
                d.sequence = Some(i + 1);
                report.differences.push(d);
            }
        }
    }
    report.sequences = compared;
}

fn whole(what: &str, a: String, b: String) -> Difference {
    let case = case_id();
    Difference {
        case,
        tier: Tier::Seed,
        group: cases::find(case).map_or_else(String::new, |c| c.group().key()),
        sequence: None,
        step: 0,
        purpose: "the generated sequences as a whole".into(),
        aspects: vec![Aspect {
            what: what.into(),
            a,
            b,
        }],
        a: None,
        b: None,
    }
}

fn not_sent(s: &PlayedSequence) -> String {
    format!(
        "not sent: {}",
        s.stopped.as_deref().unwrap_or("the sequence ended")
    )
}

fn compare_sequence(a: &PlayedSequence, b: &PlayedSequence, out: &mut Vec<Difference>) {
    let steps = a.steps.len().max(b.steps.len());
    for i in 0..steps {
        match (a.steps.get(i), b.steps.get(i)) {
            (Some(xa), Some(xb)) => {
                if let Some(d) = compare_step(a.number, xa, xb) {
                    out.push(d);
                }
            }
            (xa, xb) => {
                let shown = |x: Option<&PlayedStep>, s: &PlayedSequence| {
                    x.map_or_else(|| not_sent(s), |x| format!("sent: {}", x.exchange.purpose))
                };
                let first = xa.or(xb).expect("one side has the step");
                out.push(Difference {
                    aspects: vec![Aspect {
                        what: "steps".into(),
                        a: shown(xa, a),
                        b: shown(xb, b),
                    }],
                    a: xa.map(|x| x.exchange.clone()),
                    b: xb.map(|x| x.exchange.clone()),
                    ..difference(a.number, first, Tier::Seed, first.row)
                });
                // The rest of the sequence was sent on one side only.
                return;
            }
        }
    }
}

fn difference(sequence: usize, x: &PlayedStep, tier: Tier, group: &str) -> Difference {
    Difference {
        case: case_id(),
        tier,
        group: group.to_string(),
        sequence: Some(sequence),
        step: x.step,
        purpose: format!("{} (A's model: {})", x.exchange.purpose, x.expected),
        aspects: Vec::new(),
        a: None,
        b: None,
    }
}

fn compare_step(sequence: usize, a: &PlayedStep, b: &PlayedStep) -> Option<Difference> {
    let mut aspects = compare_exchange(&a.exchange, &b.exchange);
    let answers_differ = !aspects.is_empty();
    let effect = |x: &PlayedStep| x.effect.clone().unwrap_or_else(|| "(not tried)".into());
    if effect(a) != effect(b) {
        aspects.push(Aspect {
            what: "effect".into(),
            a: effect(a),
            b: effect(b),
        });
    }
    if aspects.is_empty() {
        return None;
    }
    // Both gave an answer the document allows, it allows several, and the
    // account is left alike (open point 1 is about which refusal, never
    // about which password works afterwards).
    let open = a.open_choice
        && a.met.is_some()
        && b.met.is_some()
        && a.met != b.met
        && effect(a) == effect(b);
    // Both took the change and leave the same password working: what
    // differs is the headers or body of the 200 (open point 7).
    let took = |x: &PlayedStep| {
        x.exchange
            .response
            .as_ref()
            .is_some_and(|r| r.status == 200)
    };
    let open_200 = took(a) && took(b) && effect(a) == effect(b);
    let (tier, group) = if open {
        (Tier::Reference, "open-1")
    } else if open_200 {
        (Tier::Reference, "open-7")
    } else {
        (Tier::Seed, a.row)
    };
    let (xa, xb) = if answers_differ {
        (Some(a.exchange.clone()), Some(b.exchange.clone()))
    } else {
        (a.probe.clone(), b.probe.clone())
    };
    Some(Difference {
        aspects,
        a: xa,
        b: xb,
        ..difference(sequence, a, tier, group)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::BodyRecord;
    use crate::report::fixture;

    fn step(n: usize, error: &str, open: bool, effect: &str) -> PlayedStep {
        let mut exchange = fixture::report().cases[1].exchanges[0].clone();
        exchange.step = n;
        let response = exchange.response.as_mut().unwrap();
        response.status = 400;
        response.body = BodyRecord::Json(serde_json::json!({ "error": error }));
        PlayedStep {
            step: n,
            expected: "one of two".into(),
            row: "S2",
            open_choice: open,
            met: Some(error.to_string()),
            exchange,
            effect: Some(effect.into()),
            probe: None,
        }
    }

    fn played(steps: Vec<PlayedStep>, stopped: Option<&str>) -> Played {
        Played {
            error: None,
            transport: false,
            sequences: vec![PlayedSequence {
                number: 1,
                steps,
                stopped: stopped.map(str::to_string),
                transport: false,
            }],
        }
    }

    fn report() -> DiffReport {
        crate::diff::compare(&fixture::report(), &fixture::report())
    }

    #[test]
    fn alike_sequences_do_not_differ_and_open_choices_are_open_points() {
        let a = played(vec![step(1, "wrong_old_password", true, "x works")], None);
        let mut r = report();
        compare(&a, &a.clone(), &mut r);
        assert!(r.differences.is_empty());
        assert_eq!(r.sequences, 1);

        // Both answers allowed (open point 1): an open-point difference.
        let b = played(vec![step(1, "invalid_new_password", true, "x works")], None);
        let mut r = report();
        compare(&a, &b, &mut r);
        assert_eq!(r.sequence_steps(), [(1, 1)]);
        assert_eq!(r.differences[0].tier, Tier::Reference);
        assert_eq!(r.differences[0].group, "open-1");

        // One answer allowed, or the effect differs: seed tier, by row.
        let b = played(vec![step(1, "wrong_old_password", true, "y works")], None);
        let mut r = report();
        compare(&a, &b, &mut r);
        assert_eq!(r.differences[0].tier, Tier::Seed);
        assert_eq!(r.differences[0].group, "S2");
        assert_eq!(r.differences[0].aspects[0].what, "effect");

        // Both answers allowed, but the password that works differs: the
        // open point does not cover that, seed tier.
        let b = played(vec![step(1, "invalid_new_password", true, "y works")], None);
        let mut r = report();
        compare(&a, &b, &mut r);
        assert_eq!(r.differences.len(), 1);
        assert_eq!(r.differences[0].tier, Tier::Seed);
        assert_eq!(r.differences[0].group, "S2");
        assert!(r.differences[0].aspects.iter().any(|x| x.what == "effect"));
    }

    /// A step both targets took (200), `content_type` on A's answer.
    fn took(content_type: &str, effect: &str) -> PlayedStep {
        let mut x = step(1, "", false, effect);
        let response = x.exchange.response.as_mut().unwrap();
        response.status = 200;
        response.body = BodyRecord::Empty;
        response
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
        if !content_type.is_empty() {
            response
                .headers
                .push(("content-type".into(), content_type.into()));
        }
        x.met = Some("200 (S1)".into());
        x.row = "S1";
        x
    }

    #[test]
    fn the_headers_of_a_200_are_open_point_7_unless_the_effect_differs() {
        let a = played(vec![took("application/json", "new-1 works")], None);
        let b = played(vec![took("", "new-1 works")], None);
        let mut r = report();
        compare(&a, &b, &mut r);
        assert_eq!(r.differences.len(), 1);
        assert_eq!(r.differences[0].aspects[0].what, "header content-type");
        assert_eq!(r.differences[0].tier, Tier::Reference);
        assert_eq!(r.differences[0].group, "open-7");

        let b = played(vec![took("", "start-0 works")], None);
        let mut r = report();
        compare(&a, &b, &mut r);
        assert_eq!(r.differences[0].tier, Tier::Seed);
        assert_eq!(r.differences[0].group, "S1");
    }

    #[test]
    fn sequences_played_on_neither_side_are_an_error_not_alike() {
        let none = Played {
            error: Some("before the sequences: a token could not be made".into()),
            transport: false,
            sequences: Vec::new(),
        };
        let mut r = report();
        compare(&none, &none.clone(), &mut r);
        assert!(r.differences.is_empty());
        assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
        assert!(r.errors[0].contains("no sequence played"), "{:?}", r.errors);
        assert_eq!(r.exit_code(), crate::report::EXIT_ERROR);
        // On one side only: a difference (as before), no error.
        let a = played(vec![step(1, "wrong_old_password", false, "x works")], None);
        let mut r = report();
        compare(&a, &none, &mut r);
        assert!(r.errors.is_empty());
        assert_eq!(r.exit_code(), crate::report::EXIT_FAIL);
    }

    #[test]
    fn a_sequence_stopped_on_one_side_differs_once_where_it_stopped() {
        let steps = |n: usize| {
            (1..=n)
                .map(|i| step(i, "wrong_old_password", false, "x works"))
                .collect::<Vec<_>>()
        };
        let a = played(steps(3), None);
        let b = played(steps(1), Some("parted from the model"));
        let mut r = report();
        compare(&a, &b, &mut r);
        assert_eq!(r.sequence_steps(), [(1, 2)]);
        let aspect = &r.differences[0].aspects[0];
        assert_eq!(aspect.what, "steps");
        assert!(aspect.b.contains("parted from the model"), "{}", aspect.b);
        assert!(r.differences[0].b.is_none() && r.differences[0].a.is_some());
    }
}
