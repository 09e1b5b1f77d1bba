//! Fair judging of generated answers: the *set* of answers the vendor
//! document allows for a request, the one the reference server gives, and
//! how a response is weighed against both.
//!
//! When several errors apply (open point 1: the document does not order
//! user, status, old password, duplicate, policy, history), any of them is
//! a correct answer. A property fails (seed tier) only when the response
//! meets none of the allowed answers at seed tier; a response that meets
//! an allowed answer other than the reference's choice, or meets its seed
//! checks but not its RFC or reference checks, is recorded as a
//! [`Deviation`] of that tier: a finding, never a seed failure. The
//! findings are reported as checks of their own tier ([`Deviations::checks`]),
//! so they weigh as `--strict` and the embedded target say.

use std::cell::RefCell;

use crate::checks::{self, Check, Outcome, Weight};
use crate::exchange::Response;
use crate::redact::Redactor;
use crate::vocabulary::{Challenge, Expect, Tier};

/// The answer the oracle predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prediction {
    /// S1: 200, the password changes.
    Success,
    /// S2 `wrong_old_password`.
    WrongOld,
    /// S3 `duplicate_password`.
    Duplicate,
    /// S4 `recurrent_password`.
    Recurrent,
    /// S5 `invalid_new_password`.
    Invalid,
    /// S8 `abnormal_user_status` / `User is locked.`
    Locked,
    /// S10: the token is expired.
    InvalidToken,
    /// S11: the token has no `openid` scope.
    InsufficientScope,
}

impl Prediction {
    /// The catalogue's expectation for this answer.
    pub fn expect(self) -> Expect {
        match self {
            Prediction::Success => Expect::Success,
            Prediction::WrongOld => Expect::WRONG_OLD,
            Prediction::Duplicate => Expect::DUPLICATE,
            Prediction::Recurrent => Expect::RECURRENT,
            Prediction::Invalid => Expect::INVALID_NEW,
            Prediction::Locked => Expect::LOCKED,
            Prediction::InvalidToken => Expect::Challenge(Challenge::InvalidToken),
            Prediction::InsufficientScope => Expect::Challenge(Challenge::InsufficientScope),
        }
    }

    /// How failure reports name it.
    pub fn label(self) -> &'static str {
        match self {
            Prediction::Success => "200 (S1)",
            Prediction::WrongOld => "400 wrong_old_password (S2)",
            Prediction::Duplicate => "400 duplicate_password (S3)",
            Prediction::Recurrent => "400 recurrent_password (S4)",
            Prediction::Invalid => "400 invalid_new_password (S5)",
            Prediction::Locked => "400 abnormal_user_status \"User is locked.\" (S8)",
            Prediction::InvalidToken => "401 invalid_token (S10)",
            Prediction::InsufficientScope => "403 insufficient_scope (S11)",
        }
    }
}

/// What the document allows for one request, and the reference's choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// Every answer the document allows (never empty).
    pub allowed: Vec<Prediction>,
    /// The reference server's choice (one of `allowed`).
    pub reference: Prediction,
}

impl Answers {
    /// Exactly one answer.
    pub fn one(p: Prediction) -> Answers {
        Answers {
            allowed: vec![p],
            reference: p,
        }
    }

    /// The errors that apply, in the reference's precedence (the first is
    /// its choice); a success when none does.
    pub fn of_errors(applicable: Vec<Prediction>) -> Answers {
        match applicable.first() {
            None => Answers::one(Prediction::Success),
            Some(first) => Answers {
                reference: *first,
                allowed: applicable,
            },
        }
    }

    /// How failure reports name it: `200 (S1)` or `one of A, B (open
    /// point 1)`.
    pub fn label(&self) -> String {
        if self.allowed.len() == 1 {
            return self.reference.label().to_string();
        }
        let all: Vec<&str> = self.allowed.iter().map(|p| p.label()).collect();
        format!("one of {} (open point 1)", all.join(", "))
    }

    /// Weighs `r`: `Err(why)` when it meets no allowed answer at seed
    /// tier; otherwise the answer it meets and what differs from the
    /// reference (RFC and reference tier only).
    pub fn judge(&self, r: &Response) -> Result<(Prediction, Vec<Deviation>), String> {
        let redactor = Redactor::new(false);
        let failures = |p: Prediction, tiers: &[Tier]| -> Vec<Check> {
            checks::evaluate(&p.expect(), r, &redactor)
                .into_iter()
                .filter(|c| c.outcome == Outcome::Fail && tiers.contains(&c.tier))
                .collect()
        };
        // The reference's choice first, so that its seed failures are the
        // ones reported when nothing matches.
        let mut order = vec![self.reference];
        order.extend(self.allowed.iter().filter(|p| **p != self.reference));
        let Some(chosen) = order
            .iter()
            .copied()
            .find(|p| failures(*p, &[Tier::Seed]).is_empty())
        else {
            let why: Vec<String> = failures(self.reference, &[Tier::Seed])
                .iter()
                .map(|c| {
                    format!(
                        "{}: expected {}, observed {}",
                        c.what, c.expected, c.observed
                    )
                })
                .collect();
            return Err(why.join("; "));
        };
        let mut deviations = Vec::new();
        if chosen != self.reference {
            deviations.push(Deviation {
                tier: Tier::Reference,
                what: "precedence (open point 1)".into(),
                detail: format!(
                    "the reference answers {}, the target {} (both allowed)",
                    self.reference.label(),
                    chosen.label()
                ),
            });
        }
        for c in failures(chosen, &[Tier::Rfc, Tier::Reference]) {
            deviations.push(Deviation {
                tier: c.tier,
                what: c.what.clone(),
                detail: format!("expected {}, observed {}", c.expected, c.observed),
            });
        }
        Ok((chosen, deviations))
    }
}

/// A difference weaker than the seed: what the reference decides and the
/// target does otherwise, or an RFC expectation not met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deviation {
    /// `rfc` or `reference`.
    pub tier: Tier,
    /// What differs.
    pub what: String,
    /// Expected against observed.
    pub detail: String,
}

/// The deviations of a property run: per tier and kind, how often, and the
/// first request that showed it.
#[derive(Debug, Default)]
pub struct Deviations {
    seen: RefCell<Vec<(Deviation, String, u32)>>,
}

impl Deviations {
    /// Records the deviations of the request described by `request`.
    pub fn record(&self, request: &str, found: Vec<Deviation>) {
        let mut seen = self.seen.borrow_mut();
        for d in found {
            match seen
                .iter_mut()
                .find(|(s, _, _)| s.tier == d.tier && s.what == d.what)
            {
                Some((_, _, n)) => *n += 1,
                None => seen.push((d, request.to_string(), 1)),
            }
        }
    }

    /// One failed check per kind of deviation, of its tier (a check that
    /// weighs as the enforcement says: information for external targets).
    pub fn checks(&self) -> Vec<Check> {
        self.seen
            .borrow()
            .iter()
            .map(|(d, request, n)| Check {
                step: 0,
                tier: d.tier,
                what: format!("as the reference decides: {}", d.what),
                expected: "the reference's answer".into(),
                observed: format!(
                    "{n} generated request(s) differ; the first: {request}: {}",
                    d.detail
                ),
                outcome: Outcome::Fail,
                weight: Weight::Pass,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(status: u16, body: &str) -> Response {
        Response::for_tests(
            status,
            &[("content-type", "application/json;charset=UTF-8")],
            body,
        )
    }

    #[test]
    fn any_allowed_answer_passes_and_a_different_choice_is_a_reference_finding() {
        let a = Answers::of_errors(vec![Prediction::WrongOld, Prediction::Invalid]);
        assert_eq!(a.reference, Prediction::WrongOld);
        let (p, d) = a
            .judge(&json(400, r#"{"error":"wrong_old_password"}"#))
            .unwrap();
        assert_eq!((p, d.len()), (Prediction::WrongOld, 0));
        let (p, d) = a
            .judge(&json(400, r#"{"error":"invalid_new_password"}"#))
            .unwrap();
        assert_eq!(p, Prediction::Invalid);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].tier, Tier::Reference);
        assert!(
            a.judge(&json(400, r#"{"error":"duplicate_password"}"#))
                .is_err()
        );
        assert!(a.judge(&json(200, "")).is_err());
    }

    #[test]
    fn no_error_means_success_only() {
        let a = Answers::of_errors(vec![]);
        assert_eq!(a, Answers::one(Prediction::Success));
        assert!(a.judge(&Response::for_tests(200, &[], "")).is_ok());
        assert!(
            a.judge(&json(400, r#"{"error":"invalid_new_password"}"#))
                .is_err()
        );
    }

    #[test]
    fn weaker_differences_are_findings_not_failures() {
        // A charset spelled otherwise meets the seed; the vendor's bytes are
        // a reference check.
        let a = Answers::one(Prediction::Duplicate);
        let r = Response::for_tests(
            400,
            &[("content-type", "application/json; charset=utf-8")],
            r#"{"error":"duplicate_password","hint":"x"}"#,
        );
        let (_, d) = a.judge(&r).unwrap();
        assert!(d.iter().all(|d| d.tier != Tier::Seed));
        assert!(d.iter().any(|d| d.tier == Tier::Reference));
        let found = Deviations::default();
        found.record("request 1", d.clone());
        found.record("request 2", d);
        let checks = found.checks();
        assert!(checks.iter().all(|c| c.observed.starts_with("2 generated")));
    }
}
