//! Body members other than `old_password` and `new_password` that name
//! another account (`user_id`, `sub`, `username`, `uid`, `email`): the
//! endpoint "changes the password of the logged-in user" (S1), so such a
//! member must neither redirect the change nor touch the other account.
//!
//! Each case sends a valid change of the active account (its token, its
//! right old password) with one such member holding the other account's
//! subject. A 200 is the logged-in user's change; a refusal of the member
//! is open point 6 (its shape is checked at reference tier); but
//! `wrong_old_password` to the logged-in user's right password means the
//! target checked it against another account's: a seed-tier failure.
//! Then, when the profile gives `[accounts.lockable]` a password, a change
//! of that account's password to itself (its token) must still be
//! `duplicate_password`: its password did not change. On a conformant
//! target the cases send no wrong old password. The change's new password
//! is recorded as a candidate of the named account before it is sent (a
//! target that obeys the member may give it that password), and the
//! confirmation, a wrong old password should that account's password have
//! changed, is sent within its lockout count and counted.

use serde_json::Value;

use crate::checks::{self, Check, Outcome, Weight};
use crate::exchange::Response;
use crate::profile::Account;
use crate::session::{CaseContext, Effect, Stop, change, is_error, object};
use crate::vocabulary::{Case, Expect, Row, Spec, Tier};

use Plan as P;
use Spec::Row as R;

pub use crate::vocabulary::plans::members::Plan;

/// The `body.other-account.*` cases.
pub fn cases() -> Vec<Case> {
    vec![
        case!(
            "body.other-account.user-id",
            Seed,
            R(Row::S1),
            "a `user_id` member naming another account neither redirects the change nor \
             touches that account",
            P::OtherAccount("user_id")
        ),
        case!(
            "body.other-account.sub",
            Seed,
            R(Row::S1),
            "a `sub` member naming another account neither redirects the change nor touches \
             that account",
            P::OtherAccount("sub")
        ),
        case!(
            "body.other-account.username",
            Seed,
            R(Row::S1),
            "a `username` member naming another account neither redirects the change nor \
             touches that account",
            P::OtherAccount("username")
        ),
        case!(
            "body.other-account.uid",
            Seed,
            R(Row::S1),
            "a `uid` member naming another account neither redirects the change nor touches \
             that account",
            P::OtherAccount("uid")
        ),
        case!(
            "body.other-account.email",
            Seed,
            R(Row::S1),
            "an `email` member naming another account neither redirects the change nor touches \
             that account",
            P::OtherAccount("email")
        ),
    ]
}

/// Carries out a members plan.
pub(crate) async fn run(ctx: &mut CaseContext<'_>, plan: Plan) -> Result<(), Stop> {
    let Plan::OtherAccount(member) = plan;
    let a = &ctx.runner.profile.accounts;
    let other = a
        .others()
        .find(|o| o.subject != a.active().subject)
        .cloned()
        .ok_or_else(|| Stop::Skip("the profile names no account besides the active one".into()))?;
    let confirm = a
        .lockable
        .as_ref()
        .filter(|l| l.subject == other.subject && l.password.is_some())
        .cloned();
    let token = ctx.active_token().await?;
    let current = ctx.current();
    let new = ctx.fresh();
    let mut request = change(Some(&token), &current, &new, None);
    request.body = object(&[
        (member, Value::String(other.subject.clone())),
        ("old_password", Value::String(current.clone())),
        ("new_password", Value::String(new.clone())),
    ]);
    let purpose = format!(
        "a valid change of the active account with `{member}` naming {}",
        other.subject
    );
    // A target that obeys the member changes the other account: `new` is
    // recorded as its candidate before the request is sent (the restore
    // tries it should that account's password be found changed).
    if let Some(effect) = other_candidate(ctx, &other, &new)
        && !ctx.record_before_send(&purpose, &effect)
    {
        return Ok(());
    }
    let tracked = ctx.sends_tracked(&Effect::Change {
        old: current.clone(),
        new: new.clone(),
    });
    let r = ctx
        .send_step(&purpose, request, Effect::Change { old: current, new })
        .await?;
    judge(ctx, member, &other.subject, &r);
    if tracked && is_error(&r, "wrong_old_password") {
        back_to_work(ctx, member).await?;
    } else {
        ctx.after_answer(tracked, &r).await;
    }
    let Some(lockable) = confirm else {
        ctx.result.notes.push(format!(
            "{}'s password was not confirmed: [accounts.lockable] with a password would allow it",
            other.subject
        ));
        return Ok(());
    };
    let Some(password) = ctx.password_of(&lockable) else {
        return Ok(());
    };
    confirm_other(ctx, &lockable, &password).await
}

/// The candidate effect of a change of the active account that names
/// `other` in a member: `None` for the missing account (nothing to change).
fn other_candidate(ctx: &mut CaseContext<'_>, other: &Account, new: &str) -> Option<Effect> {
    let missing = ctx.runner.profile.accounts.missing.as_ref();
    if missing.is_some_and(|m| m.subject == other.subject) {
        return None;
    }
    Some(match &other.password {
        Some(original) => Effect::Candidate {
            subject: other.subject.clone(),
            original: original.clone(),
            known: ctx.password_of(other).unwrap_or_else(|| original.clone()),
            new: new.to_string(),
        },
        None => Effect::WithoutPassword {
            subject: other.subject.clone(),
            new: new.to_string(),
        },
    })
}

/// A change of `lockable`'s password to itself: `duplicate_password` (or
/// `recurrent_password`) says it did not change. Should it have changed,
/// that is a wrong old password sent to it: sent only while its lockout
/// count has room, and counted (with a lost answer, as an upper bound);
/// the target then applied a change it had to refuse, so the restore
/// tries the recorded candidate.
async fn confirm_other(
    ctx: &mut CaseContext<'_>,
    lockable: &Account,
    password: &str,
) -> Result<(), Stop> {
    let subject = &lockable.subject;
    if ctx.runner.ledger.other_locked(subject) {
        ctx.result.notes.push(format!(
            "{subject}'s password was not confirmed: the target answered that it is locked"
        ));
        return Ok(());
    }
    if !ctx.runner.ledger.other_has_room(subject) {
        ctx.result.notes.push(format!(
            "{subject}'s password was not confirmed: its lockout count has no room for a \
             possibly wrong old password"
        ));
        return Ok(());
    }
    let label = format!("token:{subject}");
    let other_token = ctx.token_for(lockable, &label).await?;
    let answer = ctx
        .send_step(
            &format!(
                "effect: {subject}'s password still works (a change of it to itself is \
                 duplicate_password)"
            ),
            change(Some(&other_token), password, password, None),
            // A change of its password to itself: applied or not, its
            // password stays what the run knows; nothing to record.
            Effect::None,
        )
        .await;
    if let Ok(r) = &answer
        && is_error(r, "abnormal_user_status")
    {
        // Locked (by this run's lockout case, or by an earlier run's: the
        // lock lasts the target's lock time): the status is answered
        // before the passwords (S8), so whether its password changed
        // cannot be told, and nothing more is sent to it.
        ctx.runner.ledger.note_locked(subject);
        ctx.result.notes.push(format!(
            "{subject}'s password was not confirmed: it answered abnormal_user_status (locked: \
             [accounts.lockable] is locked on purpose by user.lockout-after-failures, perhaps \
             by an earlier run, until the target's lock time passes)"
        ));
        return Ok(());
    }
    if let Ok(r) = &answer {
        ctx.judge_one_of(&[Expect::DUPLICATE, Expect::RECURRENT], false, r)
            .await;
    }
    let wrong = match &answer {
        Ok(r) => is_error(r, "wrong_old_password"),
        Err(Stop::Abort) => true,
        Err(_) => false,
    };
    if wrong {
        ctx.runner.ledger.note_other_failure(subject);
    }
    if answer
        .as_ref()
        .is_ok_and(|r| is_error(r, "wrong_old_password"))
    {
        ctx.runner.ledger.stores_refused = true;
        ctx.runner.ledger.save();
    }
    answer.map(|_| ())
}

/// The tracked password was refused because the member redirected the
/// change (already failed at seed tier): the account is usable again if
/// the same change without the member, sent at once (one more wrong old
/// password if the lockout budget has room for it), succeeds.
async fn back_to_work(ctx: &mut CaseContext<'_>, member: &str) -> Result<(), Stop> {
    if ctx.runner.ledger.active.budget.left() == Some(0) {
        // No room to try: the account stays untouched for the rest of the
        // run (the session's rule after a refused tracked password).
        return Ok(());
    }
    let why = ctx.runner.ledger.active.poisoned.take();
    let current = ctx.current();
    let next = ctx.fresh();
    let r = ctx
        .change_step(
            &format!("effect: without `{member}`, the active account's password still works"),
            &current,
            &next,
            Expect::Success,
        )
        .await?;
    if r.status != 200 && ctx.runner.ledger.active.poisoned.is_none() {
        ctx.runner.ledger.active.poisoned = why;
    }
    Ok(())
}

/// The answer to the change with the extra member: a 200 is checked as
/// any 200 (seed); `wrong_old_password` fails at seed tier (the right old
/// password of the logged-in user was compared with another account's);
/// any other refusal is open point 6: its shape is a reference check.
fn judge(ctx: &mut CaseContext<'_>, member: &str, other: &str, r: &Response) {
    let step = ctx.result.exchanges.len();
    if r.status == 200 {
        ctx.check(&Expect::Success, r);
        return;
    }
    if is_error(r, "wrong_old_password") {
        ctx.result.checks.push(Check {
            step,
            tier: Tier::Seed,
            what: "the change is the logged-in user's (S1)".to_string(),
            expected: format!(
                "200, or a refusal of the `{member}` member; never wrong_old_password to the \
                 logged-in user's right old password"
            ),
            observed: format!(
                "wrong_old_password: the old password was checked against another account's \
                 (`{member}` named {other})"
            ),
            outcome: Outcome::Fail,
            weight: Weight::Pass,
        });
        return;
    }
    if r.status >= 500 {
        return;
    }
    for mut c in checks::evaluate(&Expect::INVALID_REQUEST, r, &ctx.redactor) {
        c.step = step;
        c.tier = Tier::Reference;
        ctx.result.checks.push(c);
    }
    ctx.result.notes.push(format!(
        "step {step}: the change with `{member}` was refused: allowed (open point 6); its shape \
         is checked against the reference's invalid_request at reference tier"
    ));
}
