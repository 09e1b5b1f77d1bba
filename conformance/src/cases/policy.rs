//! The declared policy (S5, open point 5): new passwords that break one
//! rule are refused and change nothing; passwords on its edges are
//! accepted.

use crate::password;
use crate::session::{CaseContext, Stop};
use crate::vocabulary::{Case, Expect, PolicyBreak, PolicyEdge, Row, Spec};

use Plan as P;
use Spec::Row as R;

pub use crate::vocabulary::plans::policy::Plan;

/// The `policy.*` cases.
pub fn cases() -> Vec<Case> {
    vec![
        // --- S5: the policy -----------------------------------------------------------
        case!(
            "policy.too-short",
            Seed,
            R(Row::S5),
            "one code point under min_length",
            P::Break(PolicyBreak::TooShort)
        ),
        case!(
            "policy.too-long",
            Seed,
            R(Row::S5),
            "one code point over max_length",
            P::Break(PolicyBreak::TooLong)
        ),
        case!(
            "policy.far-too-long",
            Seed,
            R(Row::S5),
            "a new password hundreds of code points over max_length (the body within the limit)",
            P::FarTooLong
        ),
        case!(
            "policy.no-lowercase",
            Seed,
            R(Row::S5),
            "no lower-case letter",
            P::Break(PolicyBreak::NoLowercase)
        ),
        case!(
            "policy.no-uppercase",
            Seed,
            R(Row::S5),
            "no upper-case letter",
            P::Break(PolicyBreak::NoUppercase)
        ),
        case!(
            "policy.no-digit",
            Seed,
            R(Row::S5),
            "no digit",
            P::Break(PolicyBreak::NoDigit)
        ),
        case!(
            "policy.no-symbol",
            Seed,
            R(Row::S5),
            "no symbol",
            P::Break(PolicyBreak::NoSymbol)
        ),
        case!(
            "policy.control-character",
            Reference,
            R(Row::S5),
            "a control character inside the new password",
            P::Break(PolicyBreak::ControlCharacter),
            Policy: "control characters are refused"
        ),
        case!(
            "policy.short-after-normalization",
            Reference,
            R(Row::S5),
            "long enough as sent (decomposed), one under min_length after NFC",
            P::Break(PolicyBreak::ShortAfterNormalization),
            Policy: "passwords are NFC-normalised before lengths are counted"
        ),
        case!(
            "policy.min-length-accepted",
            Seed,
            R(Row::S5),
            "exactly min_length code points is accepted",
            P::Edge(PolicyEdge::MinLength)
        ),
        case!(
            "policy.max-length-accepted",
            Seed,
            R(Row::S5),
            "exactly max_length code points is accepted",
            P::Edge(PolicyEdge::MaxLength)
        ),
        case!(
            "policy.max-length-code-points",
            Reference,
            R(Row::S5),
            "max_length code points of two UTF-8 bytes each is accepted",
            P::Edge(PolicyEdge::MaxLengthCodePoints),
            Policy: "lengths count Unicode code points, not bytes"
        ),
    ]
}

/// Carries out a policy plan.
pub(crate) async fn run(ctx: &mut CaseContext<'_>, plan: Plan) -> Result<(), Stop> {
    match plan {
        Plan::Break(kind) => {
            let p = password::breaking(&ctx.runner.profile.policy, kind).map_err(Stop::Skip)?;
            ctx.redactor
                .add(&p, &format!("password:{}", break_label(kind)));
            let current = ctx.current();
            ctx.change_step(
                &format!(
                    "a change to a password that breaks the policy ({})",
                    break_label(kind)
                ),
                &current,
                &p,
                Expect::INVALID_NEW,
            )
            .await?;
            ctx.unchanged(Some(p)).await
        }
        Plan::FarTooLong => far_too_long(ctx).await,
        Plan::Edge(kind) => {
            let p = password::edge(&ctx.runner.profile.policy, kind).map_err(Stop::Skip)?;
            ctx.redactor.add(&p, "password:edge");
            let current = ctx.current();
            ctx.change_step(
                "a change to a password on the edge of the policy",
                &current,
                &p,
                Expect::Success,
            )
            .await?;
            Ok(())
        }
    }
}

fn break_label(kind: PolicyBreak) -> &'static str {
    match kind {
        PolicyBreak::TooShort => "too-short",
        PolicyBreak::TooLong => "too-long",
        PolicyBreak::NoLowercase => "no-lowercase",
        PolicyBreak::NoUppercase => "no-uppercase",
        PolicyBreak::NoDigit => "no-digit",
        PolicyBreak::NoSymbol => "no-symbol",
        PolicyBreak::ControlCharacter => "control-character",
        PolicyBreak::ShortAfterNormalization => "short-after-nfc",
    }
}

/// The body limit assumed when the profile declares none.
const ASSUMED_BODY_LIMIT: usize = 1024;

async fn far_too_long(ctx: &mut CaseContext<'_>) -> Result<(), Stop> {
    let policy = ctx.runner.profile.policy.clone();
    let Some(max) = policy.max_length else {
        return Err(Stop::Skip("policy.max_length is not declared".into()));
    };
    let (limit, declared) = match ctx.runner.profile.limits.max_body_bytes {
        Some(l) => (l, true),
        None => (ASSUMED_BODY_LIMIT, false),
    };
    let current = ctx.current();
    // The JSON around the two passwords, with room for escapes of the
    // current one (at most 6 bytes per character).
    let room = limit.saturating_sub(64 + 6 * current.chars().count());
    let len = (max + 500).min(room);
    if len < max + 100 {
        return Err(Stop::Skip(format!(
            "the body limit ({limit} bytes{}) leaves no room for a password 100 code points \
             over max_length = {max}",
            if declared {
                ""
            } else {
                ", assumed: limits.max_body_bytes is not declared"
            }
        )));
    }
    let p = password::over_length(&policy, len);
    ctx.redactor.add(&p, "password:far-too-long");
    ctx.result.notes.push(format!(
        "the new password has {len} code points, max_length is {max}, the body limit {limit}{}",
        if declared { "" } else { " (assumed)" }
    ));
    ctx.change_step(
        "a change to a password far over max_length",
        &current,
        &p,
        Expect::INVALID_NEW,
    )
    .await?;
    ctx.unchanged(Some(p)).await
}
