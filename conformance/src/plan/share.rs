//! S1's check "the old password is refused after a change" is itself a
//! wrong old password refused, which is S2's check: under a lockout
//! budget that cannot grow back, the plan ([`crate::plan`]) may give the
//! two rows one request. `password.change` then runs before every other
//! case ([`order`]), `password.wrong-old` is not sent, and the same
//! request verifies S2 ([`share_with_wrong_old`]): its answer is checked
//! against S2's row and the step after it (the tracked password still
//! works) confirms that it changed nothing. Reports keep the order the
//! cases were given in ([`given_order`]).

use crate::checks::{Outcome, Weight};
use crate::profile::LockoutRule;
use crate::verdict::{CaseResult, Verdict};
use crate::vocabulary::{Case, Tier};

/// S1's case: its step [`OLD_REFUSED`] is the shared request.
pub const S1_CASE: &str = "password.change";
/// S2's case.
pub const S2_CASE: &str = "password.wrong-old";
/// The purpose of `password.change`'s step that sends the old password
/// after the change.
pub const OLD_REFUSED: &str = "effect: the old password is refused";
/// The purpose of the step after it (the tracked password works).
pub const NEW_WORKS: &str = "effect: the new password works";

/// The start of the reason of a case the plan gives another case's
/// request: `password.wrong-old`'s, followed by the case it shares.
pub const SHARED: &str = "one request with";

/// The indices of `cases` in the order they run: under a fixed budget,
/// `password.change` first (its wrong old password is the run's first);
/// otherwise as given.
pub fn order(cases: &[&'static Case], rule: &LockoutRule) -> Vec<usize> {
    let mut ordered: Vec<usize> = (0..cases.len()).collect();
    if crate::budget::is_fixed(rule)
        && let Some(i) = cases.iter().position(|c| c.id == S1_CASE)
    {
        ordered.remove(i);
        ordered.insert(0, i);
    }
    ordered
}

/// Puts `results` (result `k` being that of case `ran[k]`) back in the
/// order the cases were given in.
pub fn given_order(results: Vec<CaseResult>, ran: &[usize]) -> Vec<CaseResult> {
    let mut paired: Vec<(usize, CaseResult)> = ran.iter().copied().zip(results).collect();
    paired.sort_by_key(|(i, _)| *i);
    paired.into_iter().map(|(_, r)| r).collect()
}

/// When `password.wrong-old` was not sent (the plan gave it
/// `password.change`'s request, or the lockout budget was spent) and
/// `password.change` passed its [`OLD_REFUSED`] and [`NEW_WORKS`]
/// steps, those two exchanges and their checks become
/// `password.wrong-old`'s, with a note saying so. Returns whether it did.
pub fn share_with_wrong_old(results: &mut [CaseResult]) -> bool {
    let Some(s1) = results.iter().find(|r| r.id == S1_CASE) else {
        return false;
    };
    if !matches!(s1.verdict, Verdict::Pass | Verdict::Warn) {
        return false;
    }
    let step_of = |purpose: &str| {
        s1.exchanges
            .iter()
            .find(|x| x.purpose == purpose)
            .map(|x| x.step)
    };
    let (Some(refused), Some(works)) = (step_of(OLD_REFUSED), step_of(NEW_WORKS)) else {
        return false;
    };
    let checks: Vec<_> = s1
        .checks
        .iter()
        .filter(|c| c.step == refused || c.step == works)
        .cloned()
        .collect();
    let sound = checks.iter().all(|c| c.weight != Weight::Fail)
        && checks
            .iter()
            .any(|c| c.step == refused && c.tier == Tier::Seed && c.outcome == Outcome::Pass);
    if !sound {
        return false;
    }
    let exchanges: Vec<_> = s1
        .exchanges
        .iter()
        .filter(|x| x.step == refused || x.step == works)
        .cloned()
        .collect();
    let Some(s2) = results.iter_mut().find(|r| {
        r.id == S2_CASE
            && r.verdict == Verdict::Skip
            && r.exchanges.is_empty()
            && r.reason.as_deref().is_some_and(|why| {
                why.starts_with(SHARED) || why.contains("lockout budget is spent")
            })
    }) else {
        return false;
    };
    let renumber = |step: usize| if step == refused { 1 } else { 2 };
    s2.exchanges = exchanges
        .into_iter()
        .map(|mut x| {
            x.step = renumber(x.step);
            x
        })
        .collect();
    s2.checks = checks
        .into_iter()
        .map(|mut c| {
            c.step = renumber(c.step);
            c
        })
        .collect();
    s2.verdict = if s2.checks.iter().any(|c| c.weight == Weight::Warn) {
        Verdict::Warn
    } else {
        Verdict::Pass
    };
    let budget = s2.reason.take().unwrap_or_default();
    let budget = budget
        .split_once(": ")
        .filter(|_| budget.starts_with(SHARED))
        .map_or(budget.as_str(), |(_, why)| why);
    s2.notes.push(format!(
        "one request for S1 and S2: {S1_CASE} step {refused} (the old password after a change \
         is a wrong old password, refused) and step {works} (the tracked password still works: \
         nothing changed), since {budget}"
    ));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::is_fixed as budget_is_fixed;
    use crate::checks::Check;
    use crate::exchange::{BodyRecord, ExchangeRecord, RequestRecord};
    use crate::profile::Counting;

    fn rule(counting: Counting, window: Option<u64>) -> LockoutRule {
        LockoutRule {
            max_failures: Some(3),
            counting,
            window: window.map(std::time::Duration::from_secs),
            declared: false,
        }
    }

    #[test]
    fn password_change_goes_first_only_under_a_fixed_budget() {
        let cases: Vec<&'static Case> = crate::cases::CATALOGUE.iter().collect();
        let fixed = rule(Counting::Window, None);
        assert!(budget_is_fixed(&fixed));
        let ordered = order(&cases, &fixed);
        assert_eq!(cases[ordered[0]].id, S1_CASE);
        assert_eq!(ordered.len(), cases.len());
        for other in [
            rule(Counting::Consecutive, None),
            rule(Counting::Window, Some(60)),
        ] {
            assert!(!budget_is_fixed(&other));
            assert_eq!(order(&cases, &other), (0..cases.len()).collect::<Vec<_>>());
        }
    }

    fn exchange(step: usize, purpose: &str) -> ExchangeRecord {
        ExchangeRecord {
            step,
            purpose: purpose.into(),
            request: RequestRecord {
                method: "POST".into(),
                path: "/change_user_password".into(),
                headers: vec![],
                body: BodyRecord::Empty,
            },
            response: None,
            error: None,
            elapsed_ms: 0,
            curl: String::new(),
        }
    }

    fn check(step: usize, outcome: Outcome, weight: Weight) -> Check {
        Check {
            step,
            tier: Tier::Seed,
            what: "status".into(),
            expected: "400".into(),
            observed: "400".into(),
            outcome,
            weight,
        }
    }

    fn results(s1_step2: Weight) -> Vec<CaseResult> {
        let mut s1 = CaseResult::new(crate::cases::find(S1_CASE).unwrap());
        s1.exchanges = vec![
            exchange(1, "a valid change"),
            exchange(2, OLD_REFUSED),
            exchange(3, NEW_WORKS),
        ];
        let outcome = |w| {
            if w == Weight::Pass {
                Outcome::Pass
            } else {
                Outcome::Fail
            }
        };
        s1.checks = vec![
            check(1, Outcome::Pass, Weight::Pass),
            check(2, outcome(s1_step2), s1_step2),
            check(3, Outcome::Pass, Weight::Pass),
        ];
        s1.verdict = if s1_step2 == Weight::Fail {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        let mut s2 = CaseResult::new(crate::cases::find(S2_CASE).unwrap());
        s2.verdict = Verdict::Skip;
        s2.reason = Some("the lockout budget is spent: 1 wrong old passwords sent".into());
        vec![s2, s1]
    }

    #[test]
    fn s2_takes_the_shared_request_only_when_it_passed() {
        let mut r = results(Weight::Pass);
        assert!(share_with_wrong_old(&mut r));
        let s2 = &r[0];
        assert_eq!(s2.verdict, Verdict::Pass);
        assert_eq!(s2.reason, None);
        let steps: Vec<_> = s2
            .exchanges
            .iter()
            .map(|x| (x.step, x.purpose.as_str()))
            .collect();
        assert_eq!(steps, [(1, OLD_REFUSED), (2, NEW_WORKS)]);
        assert_eq!(s2.checks.iter().map(|c| c.step).collect::<Vec<_>>(), [1, 2]);
        assert!(
            s2.notes[0].contains("password.change step 2"),
            "{}",
            s2.notes[0]
        );
        assert!(crate::verified::verifies(s2));
        // A failed S1 shares nothing: S2 stays skipped.
        let mut r = results(Weight::Fail);
        assert!(!share_with_wrong_old(&mut r));
        assert_eq!(r[0].verdict, Verdict::Skip);
        // Nor does an S2 skipped for another reason.
        let mut r = results(Weight::Pass);
        r[0].reason = Some("interrupted by SIGINT".into());
        assert!(!share_with_wrong_old(&mut r));
    }

    #[test]
    fn results_go_back_to_the_order_given() {
        // Run as [s2, s1], given as [s1, s2].
        let r = results(Weight::Pass);
        let r = given_order(r, &[1, 0]);
        let ids: Vec<_> = r.iter().map(|r| r.id).collect();
        assert_eq!(ids, [S1_CASE, S2_CASE]);
    }

    #[test]
    fn the_plans_shared_reason_is_shared() {
        let mut r = results(Weight::Pass);
        r[0].reason = Some(format!(
            "{SHARED} {S1_CASE}: the lockout budget has no room"
        ));
        assert!(share_with_wrong_old(&mut r));
        assert!(
            r[0].notes[0].ends_with("since the lockout budget has no room"),
            "{}",
            r[0].notes[0]
        );
    }
}
