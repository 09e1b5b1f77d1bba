//! The active account's password (S1, S2, S3) and the precedence of a
//! wrong old password over the new password's own problems: changes with
//! the right, a wrong or the same password, and their effects; and its
//! exactness: after a change to P, near misses of P (case changed,
//! whitespace added or removed, the first 72 bytes, one character more,
//! fewer or changed, empty, a NUL after it) are each a wrong old password,
//! and P itself still works; and the other way round, a new password that
//! only nearly equals the current one is not a duplicate (S3 refuses only
//! an equal one).

use crate::checks::{self, Check, Outcome, Weight};
use crate::exchange::Response;
use crate::password;
use crate::session::{CaseContext, Effect, Stop, change, is_error};
use crate::vocabulary::{Case, Expect, PolicyBreak, Row, Spec, Tier};

use Plan as P;
use Spec::Row as R;

pub use crate::vocabulary::plans::password::{NearMiss, NotEqual, Plan, WrongOldNew};

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
        case!(
            "password.exact.case-changed",
            Seed,
            R(Row::S2),
            "after a change to P, P with every letter's case changed is a wrong old password",
            P::Exact(NearMiss::CaseChanged)
        ),
        case!(
            "password.exact.surrounding-whitespace",
            Seed,
            R(Row::S2),
            "after a change to P, P with whitespace around it is a wrong old password",
            P::Exact(NearMiss::SurroundingWhitespace)
        ),
        case!(
            "password.exact.whitespace-removed",
            Seed,
            R(Row::S2),
            "after a change to P (spaces inside and at the ends), P without them is a wrong old \
             password",
            P::Exact(NearMiss::WhitespaceRemoved)
        ),
        case!(
            "password.exact.first-72-bytes",
            Seed,
            R(Row::S2),
            "after a change to P (over 72 bytes), its first 72 bytes are a wrong old password",
            P::Exact(NearMiss::First72Bytes)
        ),
        case!(
            "password.exact.one-character-more",
            Seed,
            R(Row::S2),
            "after a change to P, P with one more character at its end is a wrong old password",
            P::Exact(NearMiss::OneMore)
        ),
        case!(
            "password.exact.one-character-fewer",
            Seed,
            R(Row::S2),
            "after a change to P, P without its last character is a wrong old password",
            P::Exact(NearMiss::OneFewer)
        ),
        case!(
            "password.exact.last-character-changed",
            Seed,
            R(Row::S2),
            "after a change to P, P with its last character changed is a wrong old password",
            P::Exact(NearMiss::LastChanged)
        ),
        case!(
            "password.exact.first-character-changed",
            Seed,
            R(Row::S2),
            "after a change to P, P with its first character changed is a wrong old password",
            P::Exact(NearMiss::FirstChanged)
        ),
        case!(
            "password.exact.inner-space",
            Seed,
            R(Row::S2),
            "after a change to P, P with a space inserted in its middle is a wrong old password",
            P::Exact(NearMiss::InnerSpace)
        ),
        case!(
            "password.exact.empty",
            Seed,
            R(Row::S2),
            "after a change to P, an empty old password is a wrong old password",
            P::Exact(NearMiss::Empty)
        ),
        case!(
            "password.exact.nul-suffix",
            Seed,
            R(Row::S2),
            "after a change to P, P followed by a NUL character is a wrong old password",
            P::Exact(NearMiss::NulSuffix)
        ),
        case!(
            "password.not-duplicate.case-changed",
            Seed,
            R(Row::S3),
            "the current password with every letter's case changed is not a duplicate: accepted",
            P::NotDuplicate(NotEqual::CaseChanged)
        ),
        case!(
            "password.not-duplicate.one-character-more",
            Seed,
            R(Row::S3),
            "the current password with one more character is not a duplicate: accepted",
            P::NotDuplicate(NotEqual::OneMore)
        ),
    ]
}

/// Carries out a password plan.
pub(crate) async fn run(ctx: &mut CaseContext<'_>, plan: Plan) -> Result<(), Stop> {
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
            if ctx.runner.profile.policy.history_includes_current {
                // The current password is also one of the N history
                // entries (open point 3), and which check comes first is
                // open point 1: S3 and S4 both describe this request.
                let token = ctx.active_token().await?;
                let request = change(Some(&token), &current, &current, None);
                let effect = Effect::Change {
                    old: current.clone(),
                    new: current.clone(),
                };
                ctx.step_one_of(
                    "a change to the current password (history_includes_current)",
                    request,
                    effect,
                    &[Expect::DUPLICATE, Expect::RECURRENT],
                )
                .await?;
            } else {
                ctx.change_step(
                    "a change to the current password",
                    &current,
                    &current,
                    Expect::DUPLICATE,
                )
                .await?;
            }
            ctx.unchanged(None).await
        }
        Plan::Exact(miss) => exact(ctx, miss).await,
        Plan::NotDuplicate(kind) => not_duplicate(ctx, kind).await,
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

async fn success(ctx: &mut CaseContext<'_>) -> Result<(), Stop> {
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

/// Sets P, sends a near miss of P as the old password (S2 expected), and
/// checks that P still works.
async fn exact(ctx: &mut CaseContext<'_>, miss: NearMiss) -> Result<(), Stop> {
    let policy = ctx.runner.profile.policy.clone();
    let p = match miss {
        NearMiss::First72Bytes => password::long(&policy).map_err(Stop::Skip)?,
        NearMiss::WhitespaceRemoved if !policy.allow_spaces => {
            return Err(Stop::Skip(
                "policy.allow_spaces is not set: P cannot hold spaces".into(),
            ));
        }
        _ => ctx.fresh(),
    };
    let near = near_miss(&p, miss);
    if near == p {
        return Err(Stop::Skip("the near miss equals P".into()));
    }
    ctx.redactor.add(&p, "password:P");
    ctx.redactor.add(&near, "password:near-miss-of-P");
    let current = ctx.current();
    let r = ctx
        .change_step("setup: a change to P", &current, &p, Expect::Success)
        .await?;
    if r.status != 200 {
        return Err(Stop::Abort);
    }
    let new = ctx.fresh();
    let purpose = "a change with a near miss of P as the old password";
    if matches!(miss, NearMiss::Empty | NearMiss::NulSuffix) {
        // An empty old password, or one with a control character, may
        // also be refused as a malformed member (open point 6).
        let token = ctx.active_token().await?;
        let request = change(Some(&token), &near, &new, None);
        let effect = Effect::Change {
            old: near.clone(),
            new: new.clone(),
        };
        let r = ctx.send_step(purpose, request, effect).await?;
        judge_malformed_old(ctx, &r);
        ctx.after_answer(false, &r).await;
    } else {
        ctx.change_step(purpose, &near, &new, Expect::WRONG_OLD)
            .await?;
    }
    ctx.unchanged(None).await
}

/// The answer to an empty old password or one ending in a NUL: at seed
/// tier anything but a 200 (the current password is the only right one;
/// the next step checks it still works); `wrong_old_password` (S2) is
/// checked at reference tier, since a refusal of the malformed member
/// (`invalid_request`, say) is open point 6.
fn judge_malformed_old(ctx: &mut CaseContext<'_>, r: &Response) {
    let step = ctx.result.exchanges.len();
    ctx.result.checks.push(Check {
        step,
        tier: Tier::Seed,
        what: "the near miss is refused (S2: only the current password is right)".to_string(),
        expected: "not 200".to_string(),
        observed: r.status.to_string(),
        outcome: if r.status == 200 {
            Outcome::Fail
        } else {
            Outcome::Pass
        },
        weight: Weight::Pass,
    });
    if r.status == 200 || r.status >= 500 {
        return;
    }
    for mut c in checks::evaluate(&Expect::WRONG_OLD, r, &ctx.redactor) {
        c.step = step;
        c.tier = Tier::Reference;
        ctx.result.checks.push(c);
    }
    if !is_error(r, "wrong_old_password") {
        ctx.result.notes.push(format!(
            "step {step}: the old password was refused other than as wrong_old_password: \
             allowed (open point 6: a malformed member); S2's answer is checked at reference \
             tier"
        ));
    }
}

/// The near miss `miss` of `p`.
fn near_miss(p: &str, miss: NearMiss) -> String {
    let chars: Vec<char> = p.chars().collect();
    let n = chars.len();
    let replaced = |i: usize| -> String {
        let mut c = chars.clone();
        if let Some(x) = c.get_mut(i) {
            *x = other_char(*x);
        }
        c.into_iter().collect()
    };
    match miss {
        NearMiss::CaseChanged => password::swap_case(p),
        NearMiss::SurroundingWhitespace => format!(" \t{p} "),
        NearMiss::WhitespaceRemoved => p.chars().filter(|c| !c.is_whitespace()).collect(),
        NearMiss::First72Bytes => password::first_72_bytes(p).to_string(),
        NearMiss::OneMore => format!("{p}{}", other_char(chars.last().copied().unwrap_or('a'))),
        NearMiss::OneFewer => chars[..n.saturating_sub(1)].iter().collect(),
        NearMiss::LastChanged => replaced(n.saturating_sub(1)),
        NearMiss::FirstChanged => replaced(0),
        NearMiss::InnerSpace => {
            let mut c = chars.clone();
            c.insert(n / 2, ' ');
            c.into_iter().collect()
        }
        NearMiss::Empty => String::new(),
        NearMiss::NulSuffix => format!("{p}\0"),
    }
}

/// A character of the same kind as `c` (a digit for a digit, a letter of
/// the same case for a letter, else a letter), never `c`: a password with
/// it in place of `c` keeps the policy's classes.
fn other_char(c: char) -> char {
    if c.is_ascii_digit() {
        if c == '7' { '3' } else { '7' }
    } else if c.is_uppercase() {
        if c == 'Q' { 'R' } else { 'Q' }
    } else if c == 'q' {
        'r'
    } else {
        'q'
    }
}

/// A new password that nearly equals the current one is not a duplicate:
/// S3 refuses only an equal one, so the change is accepted and its
/// effects are those of any 200.
async fn not_duplicate(ctx: &mut CaseContext<'_>, kind: NotEqual) -> Result<(), Stop> {
    let current = ctx.current();
    let max = ctx.runner.profile.policy.max_length;
    let new = match kind {
        NotEqual::CaseChanged => password::swap_case(&current),
        NotEqual::OneMore => format!("{current}q"),
    };
    if new == current {
        return Err(Stop::Skip("the current password has no letters".into()));
    }
    if max.is_some_and(|m| new.chars().count() > m) {
        return Err(Stop::Skip(
            "the current password is at policy.max_length: no room for one more character".into(),
        ));
    }
    ctx.redactor.add(&new, "password:near-current");
    let r = near_equal_step(
        ctx,
        "a change to a password that differs from the current one only a little",
        &new,
        "duplicate_password",
    )
    .await?;
    if r.status != 200 {
        return Ok(());
    }
    let next = ctx.fresh();
    ctx.change_step(
        "effect: the new password works",
        &new,
        &next,
        Expect::Success,
    )
    .await?;
    Ok(())
}

/// A change from the current password to `new`, which only nearly equals
/// a password the target must not take again (`refusal`:
/// `duplicate_password`, S3, or `recurrent_password`, S4). The document
/// refuses only an equal password, so at seed tier only that refusal (or
/// a 5xx) fails; any other refusal (a "too similar" rule,
/// `invalid_new_password`) is the policy's own business (open point 5):
/// the 200 is then checked at reference tier, with a note.
pub(crate) async fn near_equal_step(
    ctx: &mut CaseContext<'_>,
    purpose: &str,
    new: &str,
    refusal: &'static str,
) -> Result<Response, Stop> {
    let current = ctx.current();
    let token = ctx.active_token().await?;
    let request = change(Some(&token), &current, new, None);
    let effect = Effect::Change {
        old: current.clone(),
        new: new.to_string(),
    };
    let r = ctx.send_step(purpose, request, effect).await?;
    let step = ctx.result.exchanges.len();
    let equal = is_error(&r, refusal);
    ctx.result.checks.push(Check {
        step,
        tier: Tier::Seed,
        what: format!("not refused as equal ({refusal}: only an equal password is)"),
        expected: format!("any answer but {refusal}"),
        observed: if equal {
            refusal.to_string()
        } else {
            r.status.to_string()
        },
        outcome: if equal { Outcome::Fail } else { Outcome::Pass },
        weight: Weight::Pass,
    });
    if r.status == 200 {
        ctx.check(&Expect::Success, &r);
    } else if !equal && r.status < 500 {
        for mut c in checks::evaluate(&Expect::Success, &r, &ctx.redactor) {
            c.step = step;
            c.tier = Tier::Reference;
            ctx.result.checks.push(c);
        }
        ctx.result.notes.push(format!(
            "step {step}: refused other than as {refusal}: allowed (open point 5: the policy may \
             refuse a password too similar to an earlier one); the 200 is checked at reference \
             tier"
        ));
    }
    ctx.after_answer(true, &r).await;
    Ok(r)
}
