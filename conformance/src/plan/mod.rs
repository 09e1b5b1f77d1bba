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
//! The budget is per active account ([`RunPlan::accounts`], one today).

pub mod command;
pub mod estimate;
pub mod preconditions;
pub mod share;

use serde::Serialize;

use crate::profile::{LockoutRule, Profile};
use crate::verified::{self, Unverified};
use crate::vocabulary::{Case, Row, Spec, Tier};

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
}

/// The lockout budget of one active account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountBudget {
    /// `[accounts.active]`.
    pub account: String,
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
    /// The active accounts' budgets (one today).
    pub accounts: Vec<AccountBudget>,
    /// The other accounts that receive wrong old passwords.
    pub others: Vec<OtherAccount>,
    /// One per selected case, in the order given.
    pub cases: Vec<PlannedCase>,
    /// Seed rows in scope that no running case can verify.
    pub unverified: Vec<Unverified>,
}

/// What the budget says about one case, while it is given out.
struct Allot {
    rule: LockoutRule,
    fixed: bool,
    room: u32,
}

impl Allot {
    fn reason(&self, account: &AccountBudget) -> String {
        let remedy = if self.rule.declared {
            "declare lockout.window_secs (a count that expires allows more)"
        } else {
            "declare [lockout] counting (and window_secs) to allow more"
        };
        format!(
            "the lockout budget has no room for it: {} wrong old password(s) in the whole run \
             under the rule ({}), {} planned for the seed rows first and {} for other cases; \
             {remedy}",
            self.rule.allowance().unwrap_or_default(),
            self.rule.describe(),
            account.seed_rows,
            account.variants
        )
    }

    fn take(&mut self, n: u32) -> bool {
        if !self.fixed {
            return true;
        }
        if n <= self.room {
            self.room -= n;
            true
        } else {
            false
        }
    }
}

fn skip(reason: String) -> Decision {
    let (_, enable_with) = verified::remedy(&reason);
    Decision::Skip {
        reason,
        enable_with,
    }
}

/// The seed row `case` verifies: its row, if it is a seed-tier case of one.
fn row_of(case: &Case) -> Option<Row> {
    match case.spec {
        Spec::Row(row) if case.tier == Tier::Seed => Some(row),
        _ => None,
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

/// Plans a run of `cases` (in the order given, repeats allowed) with
/// `profile`; `counted` holds each active account's wrong attempts
/// counted before the run (an interrupted run's), today one.
pub fn make(profile: &Profile, cases: &[&'static Case], counted: &[u32]) -> RunPlan {
    let rule = profile.lockout.rule();
    let before = counted.first().copied().unwrap_or(0);
    let fixed = budget_is_fixed(&rule);
    let allowance = rule.allowance();
    let mut allot = Allot {
        rule,
        fixed,
        room: allowance.unwrap_or(u32::MAX).saturating_sub(before),
    };
    let mut account = AccountBudget {
        account: "[accounts.active]".into(),
        subject: profile.accounts.active().subject.clone(),
        rule: rule.describe(),
        allowance,
        regrows: allowance.is_some() && !fixed,
        counted_before: before,
        seed_rows: 0,
        variants: 0,
        effects: 0,
        left_for_properties: None,
    };
    let mut planned: Vec<PlannedCase> = cases
        .iter()
        .map(|case| PlannedCase {
            id: case.id,
            tier: case.tier.as_str(),
            row: row_of(case).map(Row::id),
            decision: first_decision(profile, case, &rule),
            wrong_olds: 0,
            effect_wrong_olds: 0,
        })
        .collect();
    let own = |i: usize| cases[i].plan.wrong_olds().own;
    let runnable = |p: &[PlannedCase], i: usize| p[i].decision == Decision::Run;
    // Wrong old passwords are given out in this order; `given[i]`: case
    // i's own were.
    let mut given = vec![false; cases.len()];
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
        && allot.take(own(s1))
    {
        given[s1] = true;
        account.seed_rows += own(s1);
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
        if allot.take(own(cheapest)) {
            given[cheapest] = true;
            account.seed_rows += own(cheapest);
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
            if allot.take(own(i)) {
                given[i] = true;
                account.variants += own(i);
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
    for (i, case) in cases.iter().enumerate() {
        let effect = case.plan.wrong_olds().effect;
        if planned[i].runs() && effect > 0 && allowance != Some(0) && allot.take(effect) {
            planned[i].effect_wrong_olds = effect;
            account.effects += effect;
        }
    }
    if fixed {
        account.left_for_properties = Some(allot.room);
    }
    // The reasons, now that the counts are known.
    let why = allot.reason(&account);
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
        accounts: vec![account],
        others: others(profile, cases, &planned),
        cases: planned,
        unverified,
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
    use crate::vocabulary::Plan;
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
