use super::*;
use crate::profile::Counting;

fn reference() -> Profile {
    Profile::load(std::path::Path::new(crate::embedded::REFERENCE_PROFILE)).unwrap()
}

fn catalogue() -> Vec<&'static Case> {
    crate::cases::CATALOGUE.iter().collect()
}

fn decision<'p>(plan: &'p RunPlan, id: &str) -> &'p PlannedCase {
    plan.cases.iter().find(|c| c.id == id).unwrap()
}

fn is_budget_skip(p: &PlannedCase) -> bool {
    matches!(&p.decision, Decision::Skip { reason, .. } if reason.contains("lockout budget has no room"))
}

/// The strictest assumed rule (3, never expiring): one wrong old password
/// in the run, and it goes to S1's check, which S2 shares; the variants
/// are skipped up front naming the key; effect checks are left to the
/// tracked password; every seed row is still verified.
#[test]
fn the_one_assumed_wrong_old_password_goes_to_s1_and_s2() {
    let mut profile = reference();
    profile.lockout.max_failures = None;
    profile.lockout.counting = None;
    let cases = catalogue();
    let plan = make(&profile, &cases, &[0]);
    let a = &plan.accounts[0];
    assert_eq!((a.seed_rows, a.variants, a.effects), (1, 0, 0));
    assert_eq!(a.left_for_properties, Some(0));
    assert!(!a.regrows);
    let change = decision(&plan, S1_CASE);
    assert!(change.runs());
    assert_eq!(change.wrong_olds, 1);
    assert!(matches!(
        &decision(&plan, S2_CASE).decision,
        Decision::Shared { with, reason } if *with == S1_CASE && reason.starts_with(share::SHARED)
    ));
    for p in plan
        .cases
        .iter()
        .filter(|p| p.id.starts_with("password.exact."))
    {
        assert!(is_budget_skip(p), "{p:?}");
        let Decision::Skip { enable_with, .. } = &p.decision else {
            unreachable!()
        };
        assert!(enable_with.as_deref().unwrap().contains("[lockout]"));
    }
    // Effect checks only with the tracked password: the policy and history
    // cases run.
    for p in plan
        .cases
        .iter()
        .filter(|p| p.id.starts_with("policy.") || p.id.starts_with("history."))
        .filter(|p| p.id != "policy.no-symbol")
    {
        assert!(p.runs() && !p.refused_as_old(), "{p:?}");
    }
    assert!(plan.unverified.is_empty(), "{:#?}", plan.unverified);
    // Planned wrong old passwords never exceed the allowance.
    let spent: u32 = plan
        .cases
        .iter()
        .map(|p| p.wrong_olds + p.effect_wrong_olds)
        .sum();
    assert_eq!(spent, 1);
}

/// A larger fixed budget: the seed rows, then the seed-tier variants in
/// order (S2's own case first), then nothing more.
#[test]
fn a_fixed_budget_goes_to_seed_rows_then_seed_variants() {
    let mut profile = reference();
    profile.lockout.max_failures = Some(6);
    profile.lockout.counting = None;
    let cases = catalogue();
    let plan = make(&profile, &cases, &[0]);
    let a = &plan.accounts[0];
    assert_eq!((a.seed_rows, a.variants, a.effects), (1, 3, 0));
    assert!(decision(&plan, S2_CASE).runs());
    let exact: Vec<bool> = plan
        .cases
        .iter()
        .filter(|p| p.id.starts_with("password.exact."))
        .map(|p| p.runs())
        .collect();
    assert_eq!(&exact[..3], [true, true, false]);
    // No room is left for the other tiers' wrong old passwords.
    for (case, p) in cases.iter().zip(&plan.cases) {
        if case.tier != Tier::Seed && case.plan.wrong_olds().own > 0 {
            assert!(is_budget_skip(p), "{p:?}");
        }
    }
    // Counted before the run (a resumed one): less room.
    let plan = make(&profile, &cases, &[3]);
    assert_eq!(plan.accounts[0].planned(), 1);
    let plan = make(&profile, &cases, &[4]);
    assert_eq!(plan.accounts[0].planned(), 0);
    assert!(is_budget_skip(decision(&plan, S1_CASE)));
    // S1 is still verified by the cases that send no wrong old password
    // (body members naming another account: valid changes).
    let rows: Vec<_> = plan.unverified.iter().map(|u| u.row).collect();
    assert_eq!(rows, ["S2"]);
    assert!(plan.unverified[0].verify_with[0].contains("[lockout]"));
}

/// A budget that grows back skips nothing for it.
#[test]
fn a_budget_that_regrows_skips_nothing() {
    let mut profile = reference();
    for (counting, window) in [(Counting::Consecutive, None), (Counting::Window, Some(60))] {
        profile.lockout.counting = Some(counting);
        profile.lockout.window_secs = window;
        let plan = make(&profile, &catalogue(), &[0]);
        for p in &plan.cases {
            let stopped =
                matches!(&p.decision, Decision::Skip { reason, .. } if !reason.contains("lockout"));
            assert!(p.runs() || stopped, "{counting:?} {p:?}");
        }
        assert!(plan.accounts[0].regrows);
        assert!(decision(&plan, "policy.too-short").refused_as_old());
        assert_eq!(plan.accounts[0].left_for_properties, None);
    }
}

/// Repeats are planned one by one; a rule that leaves no room skips every
/// case that sends wrong old passwords, with the key.
#[test]
fn repeats_and_a_rule_without_room() {
    let mut profile = reference();
    profile.lockout.counting = None;
    let case = crate::cases::find("precedence.old-password-before-duplicate").unwrap();
    let plan = make(&profile, &[case; 5], &[0]);
    let runs: Vec<bool> = plan.cases.iter().map(|p| p.runs()).collect();
    assert_eq!(runs, [true, true, true, false, false]);
    profile.lockout.max_failures = Some(2);
    let plan = make(&profile, &catalogue(), &[0]);
    let p = decision(&plan, "policy.too-short");
    assert!(
        matches!(&p.decision, Decision::Skip { enable_with: Some(k), .. } if k == "lockout.max_failures"),
        "{p:?}"
    );
}

/// The other accounts' wrong old passwords: the lockable account's
/// threshold.
#[test]
fn other_accounts_receive_what_their_cases_send() {
    let plan = make(&reference(), &catalogue(), &[0]);
    let bob = plan
        .others
        .iter()
        .find(|o| o.account == "[accounts.lockable]")
        .unwrap();
    assert_eq!(bob.wrong_olds, 5);
    assert_eq!(bob.cases, ["user.lockout-after-failures"]);
}
