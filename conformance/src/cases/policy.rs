//! The declared policy (S5, open point 5): new passwords that break one
//! rule are refused and change nothing; passwords on its edges are
//! accepted.

use crate::catalogue::{Case, Expect, PolicyBreak, PolicyEdge, Row, Spec};
use crate::password;
use crate::runner::{Ctx, Stop};

use Plan as P;
use Spec::Row as R;

/// The policy family's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// S5: a new password that breaks the policy this way.
    Break(PolicyBreak),
    /// A password on the edge of the policy is accepted.
    Edge(PolicyEdge),
}

impl Plan {
    /// Whether the plan sends old passwords known to be wrong.
    pub fn sends_wrong_passwords(self) -> bool {
        matches!(self, Plan::Break(_))
    }
}

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
pub(crate) async fn run(ctx: &mut Ctx<'_>, plan: Plan) -> Result<(), Stop> {
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
