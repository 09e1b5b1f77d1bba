//! The active account's password (S1, S2, S3) and the precedence of a
//! wrong old password over the new password's own problems: changes with
//! the right, a wrong or the same password, and their effects.

use crate::catalogue::{Case, Expect, PolicyBreak, Row, Spec};
use crate::password;
use crate::runner::{Ctx, Stop};

use Plan as P;
use Spec::Row as R;

/// What the new password is when the old one is wrong (precedence cases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongOldNew {
    /// The same wrong password (a duplicate, were the old one right).
    Same,
    /// Too short for the policy.
    TooShort,
}

/// The password family's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// S1 and its effects.
    Success,
    /// S2 and its effects.
    WrongOld,
    /// S3 and its effects.
    Duplicate,
    /// A wrong old password with a new one that has its own problem.
    WrongOldFirst(WrongOldNew),
}

impl Plan {
    /// Whether the plan sends old passwords known to be wrong.
    pub fn sends_wrong_passwords(self) -> bool {
        matches!(
            self,
            Plan::Success | Plan::WrongOld | Plan::WrongOldFirst(_)
        )
    }
}

/// The `password.*` cases.
pub fn cases() -> Vec<Case> {
    vec![
        // --- S2, S3, S1: the password -------------------------------------------------
        case!(
            "password.wrong-old",
            Seed,
            R(Row::S2),
            "a wrong old password is refused and changes nothing",
            P::WrongOld
        ),
        case!(
            "password.duplicate",
            Seed,
            R(Row::S3),
            "the current password as the new one is refused and changes nothing",
            P::Duplicate
        ),
        case!(
            "password.change",
            Seed,
            R(Row::S1),
            "a valid change succeeds; the new password works, the old one is refused",
            P::Success
        ),
    ]
}

/// Carries out a password plan.
pub(crate) async fn run(ctx: &mut Ctx<'_>, plan: Plan) -> Result<(), Stop> {
    match plan {
        Plan::Success => success(ctx).await,
        Plan::WrongOld => {
            let wrong = ctx.wrong();
            let new = ctx.fresh();
            ctx.change_step(
                "a change with a wrong old password",
                &wrong,
                &new,
                Expect::WRONG_OLD,
            )
            .await?;
            ctx.unchanged(Some(new)).await
        }
        Plan::Duplicate => {
            let current = ctx.current();
            ctx.change_step(
                "a change to the current password",
                &current,
                &current,
                Expect::DUPLICATE,
            )
            .await?;
            ctx.unchanged(None).await
        }
        Plan::WrongOldFirst(kind) => {
            let wrong = ctx.wrong();
            let new = match kind {
                WrongOldNew::Same => wrong.clone(),
                WrongOldNew::TooShort => {
                    let p = password::breaking(&ctx.runner.profile.policy, PolicyBreak::TooShort)
                        .map_err(Stop::Skip)?;
                    ctx.redactor.add(&p, "password:too-short");
                    p
                }
            };
            ctx.change_step(
                "a wrong old password with a new one that is also refusable",
                &wrong,
                &new,
                Expect::WRONG_OLD,
            )
            .await?;
            Ok(())
        }
    }
}

async fn success(ctx: &mut Ctx<'_>) -> Result<(), Stop> {
    let old = ctx.current();
    let new = ctx.fresh();
    let r = ctx
        .change_step("a valid change", &old, &new, Expect::Success)
        .await?;
    if r.status != 200 {
        ctx.result
            .notes
            .push("effects not checked: the change was refused".to_string());
        return Ok(());
    }
    let other = ctx.fresh();
    ctx.change_step(
        "effect: the old password is refused",
        &old,
        &other,
        Expect::WRONG_OLD,
    )
    .await?;
    let current = ctx.current();
    let next = ctx.fresh();
    ctx.change_step(
        "effect: the new password works",
        &current,
        &next,
        Expect::Success,
    )
    .await?;
    Ok(())
}
