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

/// The reference profile with a pool of `n` active accounts (`alice`,
/// then made-up subjects).
fn pool_of(n: usize) -> Profile {
    let mut profile = reference();
    let first = profile.accounts.active[0].clone();
    for (i, subject) in ["carol", "dave", "erin"].iter().take(n - 1).enumerate() {
        let mut a = first.clone();
        a.subject = subject.to_string();
        a.password = Some(format!("Pool-Password-{i}"));
        profile.accounts.active.push(a);
    }
    profile
}

/// Each account's planned wrong old passwords, summed from the cases.
fn per_account(plan: &RunPlan) -> Vec<u32> {
    let mut n = vec![0; plan.accounts.len()];
    for p in &plan.cases {
        if let Some(i) = p.account {
            n[i] += p.wrong_olds + p.effect_wrong_olds;
        }
    }
    n
}

/// Under the strictest assumed rule (one wrong old password per account
/// in the whole run) a pool of three runs two cases one account skips,
/// each on an account of its own and bound to it; no account is given
/// more than its one.
#[test]
fn a_pool_of_three_runs_what_one_account_would_skip() {
    let mut one = reference();
    one.lockout.max_failures = None;
    one.lockout.counting = None;
    let mut three = pool_of(3);
    three.lockout = one.lockout.clone();
    let cases = catalogue();
    let alone = make(&one, &cases, &[0]);
    let pooled = make(&three, &cases, &[0, 0, 0]);
    let runs = |plan: &RunPlan| plan.cases.iter().filter(|p| p.runs()).count();
    assert_eq!(runs(&pooled), runs(&alone) + 2);
    let exact: Vec<&PlannedCase> = pooled
        .cases
        .iter()
        .filter(|p| p.id.starts_with("password.exact."))
        .collect();
    assert!(exact.iter().all(|p| is_budget_skip(decision(&alone, p.id))));
    // S1's case on the first account; S2's own case (sharing S1's request
    // on one account) and the first seed-tier variant on the other two;
    // the rest skipped naming the pool.
    assert_eq!(decision(&pooled, S1_CASE).bound_to(), Some(0));
    assert!(matches!(
        decision(&alone, S2_CASE).decision,
        Decision::Shared { .. }
    ));
    assert_eq!(decision(&pooled, S2_CASE).bound_to(), Some(1));
    assert_eq!(exact[0].bound_to(), Some(2), "{:?}", exact[0]);
    for p in &exact[1..] {
        assert!(is_budget_skip(p), "{p:?}");
        let Decision::Skip { reason, .. } = &p.decision else {
            unreachable!()
        };
        assert!(
            reason.contains("on each of the pool's 3 accounts"),
            "{reason}"
        );
        assert_eq!(p.account, None);
    }
    assert_eq!(per_account(&pooled), [1, 1, 1]);
    for (i, a) in pooled.accounts.iter().enumerate() {
        assert_eq!(
            (a.place, a.planned(), a.left_for_properties),
            (i, 1, Some(0))
        );
    }
    assert_eq!(pooled.accounts[2].subject, "dave");
    assert_eq!(pooled.accounts[1].account, "[[accounts.active]] 1");
}

/// Under a budget that grows back, the allotment spreads the catalogue's
/// wrong old passwords evenly over the pool, binding none; without a
/// lockout they all go to the first account (as the run, with no room to
/// compare, puts them).
#[test]
fn the_allotment_spreads_over_the_pool() {
    let mut profile = pool_of(3);
    profile.lockout.max_failures = Some(4);
    profile.lockout.counting = Some(Counting::Window);
    profile.lockout.window_secs = Some(60);
    let plan = make(&profile, &catalogue(), &[]);
    let n = per_account(&plan);
    let planned: Vec<u32> = plan.accounts.iter().map(|a| a.planned()).collect();
    assert_eq!(n, planned);
    let (min, max) = (*n.iter().min().unwrap(), *n.iter().max().unwrap());
    assert!(min > 0 && max - min <= 2, "{n:?}");
    assert!(plan.cases.iter().all(|p| !p.bound), "nothing is bound");
    // The same catalogue on one account: the same total.
    let mut one = reference();
    one.lockout = profile.lockout.clone();
    let alone = make(&one, &catalogue(), &[0]);
    assert_eq!(alone.accounts[0].planned(), n.iter().sum::<u32>());
    profile.lockout.max_failures = Some(0);
    let plan = make(&profile, &catalogue(), &[]);
    assert_eq!(per_account(&plan)[1..], [0, 0]);
}

/// What was counted before the run is per account: a spent account gets
/// nothing, the others within what they have left.
#[test]
fn counted_before_the_run_is_per_account() {
    let mut profile = pool_of(3);
    profile.lockout.max_failures = Some(6);
    profile.lockout.counting = None;
    let plan = make(&profile, &catalogue(), &[4, 0, 3]);
    let n = per_account(&plan);
    assert_eq!(n[0], 0, "{n:?}");
    assert_eq!(n[1], 4, "{n:?}");
    assert_eq!(n[2], 1, "{n:?}");
    let counted: Vec<u32> = plan.accounts.iter().map(|a| a.counted_before).collect();
    assert_eq!(counted, [4, 0, 3]);
    assert!(
        plan.accounts
            .iter()
            .all(|a| a.left_for_properties == Some(0))
    );
    // S1's check went to the account with the most room.
    assert_eq!(decision(&plan, S1_CASE).bound_to(), Some(1));
}

/// The cases that send the first account's static tokens are bound to it
/// whatever the budget; minted ones are not.
#[test]
fn the_first_accounts_static_tokens_stay_on_it() {
    let mut profile = pool_of(3);
    profile.lockout.counting = Some(Counting::Consecutive);
    let expired = "auth.invalid-token.expired";
    let no_openid = "auth.insufficient-scope.profile-token";
    let plan = make(&profile, &catalogue(), &[]);
    for id in [expired, no_openid] {
        assert_eq!(decision(&plan, id).bound_to(), None, "minted: {id}");
    }
    profile.tokens.no_openid_token = Some("static".into());
    profile.tokens.expired_token = Some("static".into());
    let plan = make(&profile, &catalogue(), &[]);
    assert_eq!(decision(&plan, no_openid).bound_to(), Some(0));
    // The profile mints expired tokens for the account in use.
    assert_eq!(decision(&plan, expired).bound_to(), None);
    profile.tokens.private_key = None;
    let plan = make(&profile, &catalogue(), &[]);
    assert_eq!(decision(&plan, expired).bound_to(), Some(0));
    assert_eq!(decision(&plan, no_openid).bound_to(), Some(0));
}
