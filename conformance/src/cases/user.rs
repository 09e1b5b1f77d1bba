//! The user (S6, S7, S8, open points 2 and 4): other accounts of the
//! profile (missing, frozen, locked, both), and locking an account with
//! wrong old passwords.

use crate::profile::Account;
use crate::session::{CaseContext, Effect, Stop, change, is_error};
use crate::vocabulary::{Case, Expect, Row, Spec};

use Plan as P;
use Spec::Row as R;

pub use crate::vocabulary::plans::user::{Plan, Role};

/// The `user.*` cases.
pub fn cases() -> Vec<Case> {
    vec![
        // --- S6, S7, S8: the user ------------------------------------------------------
        case!(
            "user.not-found",
            Seed,
            R(Row::S6),
            "a valid token for a subject that does not exist",
            P::Account {
                role: Role::Missing,
                wrong_old: false,
                expect: Expect::USER_NOT_FOUND
            }
        ),
        case!(
            "user.frozen",
            Seed,
            R(Row::S7),
            "the frozen account, with its own password",
            P::Account {
                role: Role::Frozen,
                wrong_old: false,
                expect: Expect::FROZEN
            }
        ),
        case!(
            "user.frozen-and-locked",
            Reference,
            R(Row::S7),
            "an account both frozen and locked reads as frozen",
            P::Account {
                role: Role::FrozenAndLocked,
                wrong_old: false,
                expect: Expect::FROZEN
            },
            FrozenAndLocked: "frozen wins over locked: \"User is frozen.\""
        ),
        case!(
            "user.locked",
            Seed,
            R(Row::S8),
            "the locked account, with its own password",
            P::Account {
                role: Role::Locked,
                wrong_old: false,
                expect: Expect::LOCKED
            }
        ),
        case!(
            "user.lockout-after-failures",
            Reference,
            R(Row::S8),
            "`max_failures` wrong old passwords lock the account",
            P::Lockout,
            Lockout: "consecutive wrong old passwords lock the account (5 by default, for 15 minutes)"
        ),
    ]
}

/// Carries out a user plan.
pub(crate) async fn run(ctx: &mut CaseContext<'_>, plan: Plan) -> Result<(), Stop> {
    match plan {
        Plan::Account {
            role,
            wrong_old,
            expect,
        } => other_account(ctx, role, wrong_old, expect).await,
        Plan::Lockout => lockout(ctx).await,
    }
}

/// A subject no tenant has: the missing account when the profile names
/// none but the run mints its tokens.
pub(crate) const MADE_UP_SUBJECT: &str = "conformance-no-such-user-7f3c9a";

/// The profile's account for `role`, or a skip naming the missing table.
/// Without `[accounts.missing]`, a run that mints its tokens
/// (`tokens.private_key`) uses a made-up subject for it.
pub(crate) fn account(ctx: &CaseContext<'_>, role: Role) -> Result<Account, Stop> {
    let profile = &ctx.runner.profile;
    let a = &profile.accounts;
    let account = match role {
        Role::Frozen => &a.frozen,
        Role::Locked => &a.locked,
        Role::FrozenAndLocked => &a.frozen_and_locked,
        Role::Missing => &a.missing,
    };
    if account.is_none() && role == Role::Missing && profile.tokens.private_key.is_some() {
        return Ok(Account {
            subject: MADE_UP_SUBJECT.to_string(),
            password: None,
            token: None,
        });
    }
    account
        .clone()
        .ok_or_else(|| Stop::Skip(format!("no [{}] in the profile", role.table())))
}

async fn other_account(
    ctx: &mut CaseContext<'_>,
    role: Role,
    wrong_old: bool,
    expect: Expect,
) -> Result<(), Stop> {
    let account = account(ctx, role)?;
    let label = format!("token:{}", account.subject);
    let token = ctx.token_for(&account, &label).await?;
    // After a change the target applied, the password the run recorded.
    let known = ctx.password_of(&account);
    let old = match (&known, wrong_old) {
        (Some(p), false) => p.clone(),
        (None, false) => {
            ctx.result.notes.push(format!(
                "[{}] has no password: a made-up old password was sent; a target that checks \
                 the old password before the status answers wrong_old_password",
                role.table()
            ));
            ctx.wrong()
        }
        (_, true) => ctx.wrong(),
    };
    let new = ctx.fresh();
    let request = change(Some(&token), &old, &new, None);
    // With the account's own password the change could be applied (a
    // target that does not enforce the status): recorded, set back.
    // Otherwise a conformant target refuses it; the new password is
    // recorded as a candidate of the account (a target that stores refused
    // changes gives it that password), when the run knows its own.
    let effect = match (&known, &account.password) {
        (Some(p), _) if *p == old => Effect::Other {
            subject: account.subject.clone(),
            old: old.clone(),
            new: new.clone(),
        },
        (Some(p), Some(original)) => Effect::Candidate {
            subject: account.subject.clone(),
            original: original.clone(),
            known: p.clone(),
            new: new.clone(),
        },
        (None, _) if role != Role::Missing => Effect::WithoutPassword {
            subject: account.subject.clone(),
            new: new.clone(),
        },
        _ => Effect::None,
    };
    let response = ctx
        .step(
            &format!("a change for {} ({})", account.subject, role.table()),
            request,
            effect,
            expect,
        )
        .await?;
    // Without the account's password, wrong_old_password proves nothing:
    // the target may check the old password before the status (open
    // point 1). Only the account's own password decides it.
    if account.password.is_none()
        && !wrong_old
        && expect != Expect::USER_NOT_FOUND
        && is_error(&response, "wrong_old_password")
    {
        return Err(Stop::NotDetermined(format!(
            "the target answered wrong_old_password to a made-up old password; it may check \
             the old password before the status (open point 1); set [{}] password to decide",
            role.table()
        )));
    }
    Ok(())
}

async fn lockout(ctx: &mut CaseContext<'_>) -> Result<(), Stop> {
    let account = ctx
        .runner
        .profile
        .accounts
        .lockable
        .clone()
        .ok_or_else(|| Stop::Skip("no [accounts.lockable] in the profile".into()))?;
    let Some(max) = ctx.runner.profile.lockout.max_failures.filter(|m| *m > 0) else {
        return Err(Stop::Skip("lockout.max_failures is not declared".into()));
    };
    let password = ctx.password_of(&account).unwrap_or_default();
    let label = format!("token:{}", account.subject);
    let token = ctx.token_for(&account, &label).await?;
    for i in 1..=max {
        let wrong = ctx.wrong();
        let new = ctx.fresh();
        let request = change(Some(&token), &wrong, &new, None);
        ctx.step(
            &format!("wrong old password {i} of {max} for {}", account.subject),
            request,
            match &account.password {
                Some(original) => Effect::Candidate {
                    subject: account.subject.clone(),
                    original: original.clone(),
                    known: password.clone(),
                    new: new.clone(),
                },
                None => Effect::WithoutPassword {
                    subject: account.subject.clone(),
                    new: new.clone(),
                },
            },
            Expect::WRONG_OLD,
        )
        .await?;
    }
    let new = ctx.fresh();
    let request = change(Some(&token), &password, &new, None);
    let answer = ctx
        .step(
            &format!("the right password for {}, now locked", account.subject),
            request,
            Effect::Other {
                subject: account.subject.clone(),
                old: password.clone(),
                new: new.clone(),
            },
            Expect::LOCKED,
        )
        .await?;
    if is_error(&answer, "abnormal_user_status") {
        // Locked for the target's lock time: no other case touches it.
        ctx.runner.ledger.note_locked(&account.subject);
    }
    ctx.result.notes.push(format!(
        "{} stays locked for the target's lock time",
        account.subject
    ));
    Ok(())
}
