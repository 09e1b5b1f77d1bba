//! The plan of a run, made before its first request from the profile and
//! the selected cases alone (nothing is contacted): which cases run, which
//! are skipped and why ([`preconditions`], the lockout budget), the wrong
//! old passwords each account receives, the seed rows that would stay
//! unverified, and how long the run would take ([`estimate`]). The runner
//! carries it out (a [`Decision`] per case); `conformance plan` prints it
//! ([`command`]).
//!
//! The lockout budget goes first to verifying each seed row once. Under a
//! budget that cannot grow back ([`budget_is_fixed`]: failures never
//! expire and a success does not reset them, the strictest rule the run
//! assumes without a declared `[lockout] counting`), the wrong old
//! passwords the rule allows are given out before the run starts, in this
//! order: one check per seed row (S2's check is the request of S1's that
//! sends the old password after a change, [`share`]), the seed-tier
//! variants (`password.exact.*`), the other tiers' cases, then the effect
//! checks that try a refused new password as old password (the tracked
//! password stands in for them otherwise); the generated properties get
//! what is left. A case the budget cannot hold is skipped up front with a
//! reason naming the profile keys that would allow more. Under a budget
//! that grows back (a window with `window_secs`, or counted in a row)
//! nothing is skipped for it: the estimate gives the waits.
//!
//! The budget is per active account of the pool (`[[accounts.active]]`,
//! [`RunPlan::accounts`], each with what was counted on it before the
//! run). Each case that sends wrong old passwords, its own and its effect
//! checks' together (so they land on one account), is allotted to the
//! account with the most room, ties to the earlier one, as
//! `Ledger::choose` picks it during the run ([`allot`]); a case is skipped
//! up front only when no account of the pool can hold it. Under a budget
//! that cannot grow back the allotment is binding: the run runs the case
//! on that account ([`PlannedCase::bound_to`]), so the plan's promise
//! holds; under one that grows back the run picks the account when the
//! case comes (by wait) and the allotment only feeds the estimate. A case
//! that sends the first account's static token
//! ([`sends_first_accounts_token`]) is bound to the first account whatever
//! the budget: a lax target that accepts that token changes that
//! account's password, which the run must have recorded there.

mod allot;
pub mod command;
pub mod estimate;
pub mod preconditions;
pub mod share;

use serde::Serialize;

use crate::profile::{LockoutRule, Profile};
use crate::verified::{self, Unverified};
use crate::vocabulary::{Case, Plan, Row, Spec, Tier};

use allot::Allot;

pub use share::{S1_CASE, S2_CASE};

pub use crate::budget::is_fixed as budget_is_fixed;

/// What the run does with one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "will", rename_all = "lowercase")]
pub enum Decision {
    /// It runs.
    Run,
    /// Not sent: another case's request checks it ([`share`]); skipped
    /// with `reason` if that request does not pass.
    Shared {
        /// The case whose request it takes.
        with: &'static str,
        /// Why it is not sent itself.
        reason: String,
    },
    /// Skipped up front.
    Skip {
        /// Why, in the case's own words.
        reason: String,
        /// The profile key or account that would let it run.
        enable_with: Option<String>,
    },
}

/// One selected case in the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedCase {
    /// Its ID.
    pub id: &'static str,
    /// Its tier.
    pub tier: &'static str,
    /// The seed row it verifies (seed-tier cases of a row).
    pub row: Option<&'static str>,
    /// Run, shared or skipped.
    #[serde(flatten)]
    pub decision: Decision,
    /// Wrong old passwords its own checks send the active account.
    pub wrong_olds: u32,
    /// Wrong old passwords its effect checks send (a refused new password
    /// tried as old); 0 when the plan leaves them to the tracked password.
    pub effect_wrong_olds: u32,
    /// The pool's account (its place in `[[accounts.active]]`, 0 the
    /// first; [`RunPlan::accounts`]) its wrong old passwords go to, or the
    /// first account for a case that sends its static token
    /// ([`sends_first_accounts_token`]); `None`: it sends none, any
    /// account will do.
    pub account: Option<usize>,
    /// Whether the run must run it on `account` ([`PlannedCase::bound_to`]).
    pub bound: bool,
}

impl PlannedCase {
    /// Whether the run sends it.
    pub fn runs(&self) -> bool {
        self.decision == Decision::Run
    }

    /// Whether its effect checks may try a refused new password as old.
    pub fn refused_as_old(&self) -> bool {
        self.effect_wrong_olds > 0
    }

    /// The account the run must run it on, if the plan binds it: under a
    /// budget that cannot grow back, the account the plan gave its wrong
    /// old passwords (the plan's promise holds only there); whatever the
    /// budget, the first account for a case that sends the first
    /// account's static token. `None`: the run picks the account when
    /// the case comes (`Ledger::choose`).
    pub fn bound_to(&self) -> Option<usize> {
        self.account.filter(|_| self.bound)
    }
}

/// The lockout budget of one active account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountBudget {
    /// `[accounts.active]`, or `[[accounts.active]] 1` in a pool.
    pub account: String,
    /// Its place in the pool (0: the first).
    pub place: usize,
    /// Its subject.
    pub subject: String,
    /// The rule, as the run states it.
    pub rule: String,
    /// Counted wrong attempts allowed at once (`None`: no lockout).
    pub allowance: Option<u32>,
    /// Whether the count goes down during the run (a window, or a
    /// success in a row).
    pub regrows: bool,
    /// Counted before the run (an interrupted run's state file).
    pub counted_before: u32,
    /// Wrong old passwords planned for one check per seed row.
    pub seed_rows: u32,
    /// For the other cases' own checks.
    pub variants: u32,
    /// For effect checks (a refused new password tried as old).
    pub effects: u32,
    /// What a fixed budget leaves the generated properties.
    pub left_for_properties: Option<u32>,
}

impl AccountBudget {
    /// Every wrong old password planned for the catalogue.
    pub fn planned(&self) -> u32 {
        self.seed_rows + self.variants + self.effects
    }
}

/// Wrong old passwords an account other than the active ones receives.
#[derive(Debug, Clone, Serialize)]
pub struct OtherAccount {
    /// `[accounts.lockable]`.
    pub account: String,
    /// Its subject.
    pub subject: String,
    /// How many.
    pub wrong_olds: u32,
    /// The cases that send them.
    pub cases: Vec<&'static str>,
}

/// What a run would do.
#[derive(Debug, Clone, Serialize)]
pub struct RunPlan {
    /// The pool's budgets, one per active account in the profile's order.
    pub accounts: Vec<AccountBudget>,
    /// The other accounts that receive wrong old passwords.
    pub others: Vec<OtherAccount>,
    /// One per selected case, in the order given.
    pub cases: Vec<PlannedCase>,
    /// Seed rows in scope that no running case can verify.
    pub unverified: Vec<Unverified>,
}

fn skip(reason: String) -> Decision {
    let (_, enable_with) = verified::remedy(&reason);
    Decision::Skip {
        reason,
        enable_with,
    }
}

/// Why a case the budget cannot hold is skipped: the rule, what the plan
/// gave the seed rows and the other cases, the key that allows more.
fn no_room_reason(allot: &Allot, accounts: &[AccountBudget]) -> String {
    let rule = &allot.rule;
    let remedy = if rule.declared {
        "declare lockout.window_secs (a count that expires allows more)"
    } else {
        "declare [lockout] counting (and window_secs) to allow more"
    };
    let seed_rows: u32 = accounts.iter().map(|a| a.seed_rows).sum();
    let variants: u32 = accounts.iter().map(|a| a.variants).sum();
    let pool = match accounts.len() {
        1 => String::new(),
        n => format!(" on each of the pool's {n} accounts"),
    };
    format!(
        "the lockout budget has no room for it: {} wrong old password(s) in the whole run{pool} \
         under the rule ({}), {seed_rows} planned for the seed rows first and {variants} for \
         other cases; {remedy}",
        rule.allowance().unwrap_or_default(),
        rule.describe(),
    )
}

/// The seed row `case` verifies: its row, if it is a seed-tier case of one.
fn row_of(case: &Case) -> Option<Row> {
    match case.spec {
        Spec::Row(row) if case.tier == Tier::Seed => Some(row),
        _ => None,
    }
}

/// Whether `case` sends a static token of the profile that is the first
/// pool account's (as `TokenFactory::variant_untracked` picks them):
/// `tokens.expired_token` when the profile cannot mint, or
/// `tokens.no_openid_token` whenever it is given. A lax target that
/// accepts it acts on that account, whichever account the run is on.
pub fn sends_first_accounts_token(profile: &Profile, case: &Case) -> bool {
    use crate::vocabulary::TokenKind;
    use crate::vocabulary::plans::auth::{Auth, Plan as AuthPlan};
    let t = &profile.tokens;
    match case.plan {
        Plan::Auth(AuthPlan::Auth(Auth::Token(TokenKind::Expired), _)) => {
            t.private_key.is_none() && t.expired_token.is_some()
        }
        Plan::Auth(AuthPlan::Auth(Auth::Token(TokenKind::ProfileNoOpenid), _)) => {
            t.no_openid_token.is_some()
        }
        _ => false,
    }
}

/// What the profile alone decides for `case`: skipped for a missing
/// account or key, or for a lockout rule that leaves no room; else run.
fn first_decision(profile: &Profile, case: &Case, rule: &LockoutRule) -> Decision {
    match preconditions::skip_reason(profile, case) {
        Some(why) => skip(why),
        None if case.plan.sends_wrong_passwords() && rule.allowance() == Some(0) => skip(format!(
            "lockout.max_failures = {} leaves no room for wrong passwords",
            rule.max_failures.unwrap_or_default()
        )),
        None => Decision::Run,
    }
}

/// The budget of the pool's account at `place` before anything is given.
fn budget_of(profile: &Profile, place: usize, counted: &[u32], allot: &Allot) -> AccountBudget {
    let pool = &profile.accounts.active;
    let allowance = allot.rule.allowance();
    AccountBudget {
        account: match pool.len() {
            1 => "[accounts.active]".into(),
            _ => format!("[[accounts.active]] {place}"),
        },
        place,
        subject: pool
            .get(place)
            .map(|a| a.subject.clone())
            .unwrap_or_default(),
        rule: allot.rule.describe(),
        allowance,
        regrows: allowance.is_some() && !allot.fixed,
        counted_before: counted.get(place).copied().unwrap_or(0),
        seed_rows: 0,
        variants: 0,
        effects: 0,
        left_for_properties: None,
    }
}

/// Plans a run of `cases` (in the order given, repeats allowed) with
/// `profile`; `counted[i]` holds the wrong attempts counted before the
/// run (an interrupted run's) on the pool's account `i`, in the profile's
/// order (missing entries: none).
pub fn make(profile: &Profile, cases: &[&'static Case], counted: &[u32]) -> RunPlan {
    let rule = profile.lockout.rule();
    let fixed = budget_is_fixed(&rule);
    let pool = profile.accounts.active.len().max(1);
    let mut allot = Allot::new(rule, fixed, pool, counted);
    let mut accounts: Vec<AccountBudget> = (0..pool)
        .map(|place| budget_of(profile, place, counted, &allot))
        .collect();
    let mut planned: Vec<PlannedCase> = cases
        .iter()
        .map(|case| PlannedCase {
            id: case.id,
            tier: case.tier.as_str(),
            row: row_of(case).map(Row::id),
            decision: first_decision(profile, case, &rule),
            wrong_olds: 0,
            effect_wrong_olds: 0,
            account: sends_first_accounts_token(profile, case).then_some(0),
            bound: false,
        })
        .collect();
    let own = |i: usize| cases[i].plan.wrong_olds().own;
    let runnable = |p: &[PlannedCase], i: usize| p[i].decision == Decision::Run;
    // Wrong old passwords are given out in this order; `given[i]`: case
    // i's own were, to the account `planned[i].account`.
    let mut given = vec![false; cases.len()];
    let give = |p: &mut [PlannedCase], i: usize, allot: &mut Allot| {
        let first = p[i].account == Some(0);
        let place = allot.take(own(i), first);
        if place.is_some() {
            p[i].account = place;
        }
        place
    };
    // 1. One check per seed row: a row with a case that needs none is
    // free; else its cheapest case. Under a fixed budget S1's case goes
    // first when S2 needs one: its request is S2's check too.
    let find = |p: &[PlannedCase], id: &str| {
        (0..cases.len()).find(|&i| cases[i].id == id && runnable(p, i))
    };
    let s2_free = (0..cases.len())
        .any(|i| row_of(cases[i]) == Some(Row::S2) && runnable(&planned, i) && own(i) == 0);
    if fixed
        && !s2_free
        && let (Some(s1), Some(s2)) = (find(&planned, S1_CASE), find(&planned, S2_CASE))
        && let Some(place) = give(&mut planned, s1, &mut allot)
    {
        given[s1] = true;
        accounts[place].seed_rows += own(s1);
        planned[s2].decision = Decision::Shared {
            with: cases[s1].id,
            reason: String::new(),
        };
    }
    for row in Row::ALL {
        let of_row: Vec<usize> = (0..cases.len())
            .filter(|&i| row_of(cases[i]) == Some(row))
            .collect();
        let verified = |i: &usize| {
            given[*i]
                || matches!(planned[*i].decision, Decision::Shared { .. })
                || (runnable(&planned, *i) && own(*i) == 0)
        };
        if of_row.iter().any(verified) {
            continue;
        }
        let Some(&cheapest) = of_row
            .iter()
            .filter(|&&i| runnable(&planned, i))
            .min_by_key(|&&i| own(i))
        else {
            continue;
        };
        if let Some(place) = give(&mut planned, cheapest, &mut allot) {
            given[cheapest] = true;
            accounts[place].seed_rows += own(cheapest);
        }
    }
    // 2. The other cases' own: seed tier first, then the others.
    let mut no_room = Vec::new();
    for seed in [true, false] {
        for i in 0..cases.len() {
            let shared = matches!(planned[i].decision, Decision::Shared { .. });
            if given[i]
                || own(i) == 0
                || (cases[i].tier == Tier::Seed) != seed
                || !(runnable(&planned, i) || shared)
            {
                continue;
            }
            if let Some(place) = give(&mut planned, i, &mut allot) {
                given[i] = true;
                accounts[place].variants += own(i);
                planned[i].decision = Decision::Run;
            } else if !shared {
                no_room.push(i);
            }
        }
    }
    for i in 0..cases.len() {
        if given[i] {
            planned[i].wrong_olds = own(i);
        }
    }
    // 3. The effect checks of the cases that run.
    give_effects(cases, &mut planned, &given, &mut allot, &mut accounts);
    if fixed {
        for a in &mut accounts {
            a.left_for_properties = Some(allot.left(a.place));
        }
    }
    // Under a budget that cannot grow back the plan's account is binding
    // (its promise holds only there); the first account's static tokens
    // are bound to it whatever the budget.
    for (i, p) in planned.iter_mut().enumerate() {
        if matches!(p.decision, Decision::Skip { .. }) {
            p.account = None;
        }
        p.bound = p.account.is_some() && (fixed || sends_first_accounts_token(profile, cases[i]));
    }
    // The reasons, now that the counts are known.
    let why = no_room_reason(&allot, &accounts);
    for i in no_room {
        planned[i].decision = skip(why.clone());
    }
    for p in &mut planned {
        if let Decision::Shared { with, reason } = &mut p.decision {
            *reason = format!("{} {with}: {why}", share::SHARED);
        }
    }
    let unverified = unverified(&planned);
    RunPlan {
        accounts,
        others: others(profile, cases, &planned),
        cases: planned,
        unverified,
    }
}

/// Gives the effect checks of the cases that run their wrong old
/// passwords (a refused new password tried as old): on the account of the
/// case's own (`given[i]`) or of its static token, if it has room for
/// them, else on the account with the most room; a case whose effect
/// checks get none leaves them to the tracked password.
fn give_effects(
    cases: &[&'static Case],
    planned: &mut [PlannedCase],
    given: &[bool],
    allot: &mut Allot,
    accounts: &mut [AccountBudget],
) {
    for (i, case) in cases.iter().enumerate() {
        let effect = case.plan.wrong_olds().effect;
        if !planned[i].runs() || effect == 0 || allot.rule.allowance() == Some(0) {
            continue;
        }
        let place = match planned[i].account {
            Some(place) if given[i] || place == 0 => allot.take_on(place, effect).then_some(place),
            _ => allot.take(effect, false),
        };
        if let Some(place) = place {
            planned[i].account = Some(place);
            planned[i].effect_wrong_olds = effect;
            accounts[place].effects += effect;
        }
    }
}

impl RunPlan {
    /// The pool's account the generated properties run on (the runner's
    /// `Ledger::choose(true)` after the catalogue): the one with the most
    /// room left for wrong old passwords, ties to the earlier one.
    pub fn properties_account(&self) -> usize {
        let room = |a: &AccountBudget| match a.allowance {
            Some(allowance) => {
                i64::from(allowance) - i64::from(a.counted_before) - i64::from(a.planned())
            }
            None => i64::MAX,
        };
        (0..self.accounts.len())
            .max_by_key(|&i| (room(&self.accounts[i]), std::cmp::Reverse(i)))
            .unwrap_or(0)
    }
}

/// The seed rows in scope none of whose cases runs (or shares a request
/// that runs), with why and what would verify them.
fn unverified(planned: &[PlannedCase]) -> Vec<Unverified> {
    Row::ALL
        .iter()
        .filter_map(|row| {
            let of_row: Vec<&PlannedCase> =
                planned.iter().filter(|p| p.row == Some(row.id())).collect();
            if of_row.is_empty()
                || of_row
                    .iter()
                    .any(|p| !matches!(p.decision, Decision::Skip { .. }))
            {
                return None;
            }
            let mut why: Vec<String> = Vec::new();
            let mut keys: Vec<String> = Vec::new();
            let mut listed = Vec::new();
            for p in of_row {
                let Decision::Skip { reason, .. } = &p.decision else {
                    continue;
                };
                let (w, key) = verified::remedy(reason);
                listed.push(format!("{}: skip: {reason}", p.id));
                if !why.contains(&w) {
                    why.push(w);
                }
                if let Some(key) = key
                    && !keys.contains(&key)
                {
                    keys.push(key);
                }
            }
            Some(Unverified {
                row: row.id(),
                title: row.title(),
                why: why.join("; "),
                verify_with: keys,
                cases: listed,
                accepted: false,
            })
        })
        .collect()
}

/// The accounts other than the active one that the running cases send
/// wrong old passwords (a made-up one, or to lock on purpose).
fn others(
    profile: &Profile,
    cases: &[&'static Case],
    planned: &[PlannedCase],
) -> Vec<OtherAccount> {
    use crate::vocabulary::plans::user;
    let a = &profile.accounts;
    let mut out: Vec<OtherAccount> = Vec::new();
    for (case, p) in cases.iter().zip(planned) {
        if !p.runs() {
            continue;
        }
        let (table, account, n) = match case.plan {
            Plan::User(user::Plan::Lockout) => (
                "accounts.lockable",
                a.lockable.as_ref(),
                profile.lockout.max_failures.unwrap_or(0),
            ),
            Plan::User(user::Plan::Account {
                role, wrong_old, ..
            }) => {
                let account = match role {
                    user::Role::Frozen => a.frozen.as_ref(),
                    user::Role::Locked => a.locked.as_ref(),
                    user::Role::FrozenAndLocked => a.frozen_and_locked.as_ref(),
                    user::Role::Missing => a.missing.as_ref(),
                };
                let made_up = wrong_old || account.is_none_or(|acc| acc.password.is_none());
                (role.table(), account, u32::from(made_up))
            }
            _ => continue,
        };
        let Some(account) = account else {
            continue;
        };
        if n == 0 {
            continue;
        }
        let name = format!("[{table}]");
        match out.iter_mut().find(|o| o.subject == account.subject) {
            Some(o) => {
                o.wrong_olds += n;
                o.cases.push(case.id);
            }
            None => out.push(OtherAccount {
                account: name,
                subject: account.subject.clone(),
                wrong_olds: n,
                cases: vec![case.id],
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests;
