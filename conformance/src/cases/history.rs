//! The password history (S4, open point 3): the most recent and the N-th
//! previous password are refused, the N+1-th is accepted, and the most
//! recent one with its letter case changed (not equal to it) is accepted.
//! Last in a run: it needs the most changes.

use crate::session::{CaseContext, Stop};
use crate::vocabulary::{Case, Expect, Row, Spec};

use Plan as P;
use Spec::Row as R;

pub use crate::vocabulary::plans::history::{HistoryProbe, Plan};

/// The `history.*` cases.
pub fn cases() -> Vec<Case> {
    vec![
        // --- S4: history (last: it needs the most changes) -----------------------------
        case!(
            "history.most-recent",
            Seed,
            R(Row::S4),
            "the most recent previous password is refused and changes nothing",
            P::History(HistoryProbe::MostRecent)
        ),
        case!(
            "history.nth-previous",
            Seed,
            R(Row::S4),
            "the N-th previous password is refused and changes nothing",
            P::History(HistoryProbe::Nth)
        ),
        case!(
            "history.beyond-depth",
            Seed,
            R(Row::S4),
            "the N+1-th previous password is accepted",
            P::History(HistoryProbe::Beyond),
            HistoryCurrent: "N counts previous passwords; the current one is not among them"
        ),
        case!(
            "history.not-recurrent.case-changed",
            Seed,
            R(Row::S4),
            "the most recent previous password with every letter's case changed is not equal to \
             it: accepted",
            P::History(HistoryProbe::MostRecentCaseChanged)
        ),
    ]
}

/// Carries out a history plan.
pub(crate) async fn run(ctx: &mut CaseContext<'_>, plan: Plan) -> Result<(), Stop> {
    let Plan::History(probe) = plan;
    history(ctx, probe).await
}

async fn history(ctx: &mut CaseContext<'_>, probe: HistoryProbe) -> Result<(), Stop> {
    let policy = &ctx.runner.profile.policy;
    let Some(depth) = policy.depth() else {
        return Err(Stop::Skip("policy.history is not declared".into()));
    };
    if depth == 0 {
        return Err(Stop::Skip(
            "the declared history keeps no previous password".into(),
        ));
    }
    let k = match probe {
        HistoryProbe::MostRecent | HistoryProbe::MostRecentCaseChanged => 1,
        HistoryProbe::Nth => depth,
        HistoryProbe::Beyond => depth + 1,
    };
    ctx.ensure_previous(k).await?;
    let previous = &ctx.runner.ledger.active.previous;
    let mut reused = previous[previous.len() - k].clone();
    if probe == HistoryProbe::MostRecentCaseChanged {
        let swapped = crate::password::swap_case(&reused);
        if swapped == reused {
            return Err(Stop::Skip(
                "the most recent previous password has no letters".into(),
            ));
        }
        ctx.redactor
            .add(&swapped, "password:previous-1-case-changed");
        reused = swapped;
    }
    let current = ctx.current();
    let (purpose, expect) = match probe {
        HistoryProbe::MostRecent => (
            "a change back to the most recent previous password".to_string(),
            Expect::RECURRENT,
        ),
        HistoryProbe::Nth => (
            format!("a change back to the {k}th previous password"),
            Expect::RECURRENT,
        ),
        HistoryProbe::Beyond => (
            format!("a change back to the {k}th previous password (beyond the history)"),
            Expect::Success,
        ),
        HistoryProbe::MostRecentCaseChanged => (
            "a change to the most recent previous password with its letter case changed"
                .to_string(),
            Expect::Success,
        ),
    };
    if probe == HistoryProbe::MostRecentCaseChanged {
        super::password::near_equal_step(ctx, &purpose, &reused, "recurrent_password").await?;
        return Ok(());
    }
    ctx.change_step(&purpose, &current, &reused, expect).await?;
    if matches!(probe, HistoryProbe::MostRecent | HistoryProbe::Nth) {
        ctx.unchanged(Some(reused)).await?;
    }
    Ok(())
}
