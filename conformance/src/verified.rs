//! Which seed rows a run verified, and for each row it did not, why and
//! what in the profile would verify it.
//!
//! A row is *verified* when at least one of its seed-tier cases passed
//! (with or without RFC warnings) with a passing seed-tier check of the
//! row's own status (a 200-only case under a refusal row does not
//! count). A case cut short (partial), skipped, not determined, failed
//! or expected to fail by the baseline never verifies its row. A row none of
//! whose seed-tier cases ran (`--case` selected none) is *out of scope*:
//! neither verified nor unverified.
//!
//! The cases already say why they did not run to a pass (their skip and
//! cut-short reasons); [`remedy`] is the one place that turns such a
//! reason into a short "why" and the profile key (or account) that would
//! verify the row.

use serde::Serialize;

use crate::checks::Outcome;
use crate::verdict::{CaseResult, Verdict};
use crate::vocabulary::{Row, Tier};

/// A seed row whose selected seed-tier cases verified nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unverified {
    /// `S1` … `S11`.
    pub row: &'static str,
    /// The row's condition (`user frozen`).
    pub title: &'static str,
    /// Why, in short (`no account for it`; several joined by `; `).
    pub why: String,
    /// The profile keys or accounts that would verify it (each would let
    /// one of its cases run), in case order; empty when none is known.
    pub verify_with: Vec<String>,
    /// Each of its seed-tier cases and what became of it
    /// (`user.frozen: skipped: no [accounts.frozen] in the profile`).
    pub cases: Vec<String>,
    /// Accepted by `--allow-unverified`: reported, but no exit 3.
    pub accepted: bool,
}

impl Unverified {
    /// `S7 user frozen: no account for it; verify with [accounts.frozen]`.
    pub fn line(&self) -> String {
        let mut line = format!("{} {}: {}", self.row, self.title, self.why);
        if !self.verify_with.is_empty() {
            line.push_str(&format!("; verify with {}", self.verify_with.join(" or ")));
        }
        if self.accepted {
            line.push_str(" (accepted: --allow-unverified)");
        }
        line
    }
}

/// Whether `result` verifies its row: a passing seed-tier check of the
/// row's own answer, its status ([`row_status`]), is required, so a case
/// that only checks a 200 (an acceptance case filed under a refusal row)
/// never verifies that row.
pub fn verifies(result: &CaseResult) -> bool {
    let own = row_status(&result.group);
    result.tier == Tier::Seed
        && matches!(result.verdict, Verdict::Pass | Verdict::Warn)
        && result.checks.iter().any(|c| {
            c.tier == Tier::Seed
                && c.outcome == Outcome::Pass
                && c.what == "status"
                && Some(c.expected.as_str()) == own
        })
}

/// The status of row `group`'s answer in the document's table (S1 200,
/// S10 401, S11 403, the others 400); `None` for a group that is no row.
fn row_status(group: &str) -> Option<&'static str> {
    let row = Row::ALL.iter().find(|r| r.id() == group)?;
    Some(match row {
        Row::S1 => "200",
        Row::S10 => "401",
        Row::S11 => "403",
        _ => "400",
    })
}

/// The rows of `results` that are in scope and not verified, in document
/// order; those in `accepted` are marked so.
pub fn unverified(results: &[CaseResult], accepted: &[Row]) -> Vec<Unverified> {
    Row::ALL
        .iter()
        .filter_map(|row| {
            let seed: Vec<&CaseResult> = results
                .iter()
                .filter(|r| r.group == row.id() && r.tier == Tier::Seed)
                .collect();
            if seed.is_empty() || seed.iter().any(|r| verifies(r)) {
                return None;
            }
            let mut whys: Vec<String> = Vec::new();
            let mut keys: Vec<String> = Vec::new();
            let mut cases = Vec::new();
            for r in seed {
                let (what, why, key) = of_case(r);
                cases.push(format!("{}: {what}", r.id));
                if !whys.contains(&why) {
                    whys.push(why);
                }
                if let Some(key) = key
                    && !keys.contains(&key)
                {
                    keys.push(key);
                }
            }
            // `cut short: X` says nothing more than `X` beside it.
            let plain = whys.clone();
            whys.retain(|w| {
                w.strip_prefix("cut short: ")
                    .is_none_or(|x| !plain.iter().any(|p| p == x))
            });
            Some(Unverified {
                row: row.id(),
                title: row.title(),
                why: whys.join("; "),
                verify_with: keys,
                cases,
                accepted: accepted.contains(row),
            })
        })
        .collect()
}

/// What became of a seed-tier case that did not verify its row: the
/// verdict with its reason, a short why, and the key that would help.
fn of_case(r: &CaseResult) -> (String, String, Option<String>) {
    let reason = r.reason.clone().unwrap_or_default();
    let what = if reason.is_empty() {
        r.verdict.label().to_lowercase()
    } else {
        format!("{}: {reason}", r.verdict.label().to_lowercase())
    };
    match r.verdict {
        Verdict::Fail | Verdict::Error | Verdict::Stale => (what, "a case failed".into(), None),
        Verdict::ExpectedFailure => (what, "a known failure (baseline)".into(), None),
        Verdict::Pass | Verdict::Warn => (what, "no seed-tier check passed".into(), None),
        Verdict::Skip | Verdict::Partial => {
            let (why, key) = remedy(&reason);
            let why = match (r.verdict, why) {
                (Verdict::Partial, why) => format!("cut short: {why}"),
                (_, why) if reason.starts_with("not determined") => {
                    format!("not determined: {why}")
                }
                (_, why) => why,
            };
            (what, why, key)
        }
    }
}

/// Reasons that name no key (or whose key needs saying otherwise), in
/// the order they are tried: a piece of the reason, the why, the key.
const KNOWN: &[(&str, &str, Option<&str>)] = &[
    (
        "the lockout budget has no room for it",
        "the lockout budget has no room for it",
        Some(
            "[lockout] counting and window_secs (a declared rule allows more wrong old passwords)",
        ),
    ),
    (
        "the lockout budget is spent",
        "the lockout budget was spent",
        Some(
            "[lockout] counting and window_secs (a declared rule allows more wrong old passwords)",
        ),
    ),
    (
        "leaves no room for wrong passwords",
        "the lockout rule leaves no room for wrong old passwords",
        Some("lockout.max_failures"),
    ),
    (
        "no room in the lockout window",
        "the lockout window had no room",
        Some("lockout.window_secs"),
    ),
    (
        "needs minting",
        "tokens cannot be minted",
        Some("tokens.private_key"),
    ),
    (
        "token is not a JWT",
        "the account's token cannot be altered",
        Some("tokens.private_key"),
    ),
    (
        "token is not a signed JWT",
        "the account's token cannot be altered",
        Some("tokens.private_key"),
    ),
    (
        "names no account besides the active one",
        "no account besides the active one",
        Some("another account ([accounts.lockable], [accounts.frozen], …)"),
    ),
    (
        "a static token cannot be taken again",
        "the target refused a static token after the run's change (open point 10)",
        Some("tokens.private_key or tokens.token_command"),
    ),
    ("interrupted by", "the run was interrupted", None),
    (
        "the active account is not usable",
        "the active account became unusable",
        None,
    ),
    (
        "earlier change of",
        "an earlier change of the account got no usable answer",
        None,
    ),
];

/// Profile tables whose keys reasons name as `table.key`.
const TABLES: &[&str] = &["policy", "lockout", "limits", "tokens", "http"];

/// The one mapping from a case's skip or cut-short reason to a short why
/// and the profile key (or account) that would let it run: the known
/// reasons first, then an account table the reason names (`no
/// [accounts.frozen] in the profile`; `set [accounts.locked] password`),
/// then a `table.key` it names (`policy.history is not declared`: the
/// reason is its own why). Anything else is its own why, with no key.
pub fn remedy(reason: &str) -> (String, Option<String>) {
    let reason = reason
        .strip_prefix("not determined: ")
        .or_else(|| reason.strip_prefix("cut short: "))
        .unwrap_or(reason);
    if let Some((_, why, key)) = KNOWN.iter().find(|(piece, _, _)| reason.contains(piece)) {
        return (why.to_string(), key.map(str::to_string));
    }
    if let Some(table) = account_table(reason) {
        return if reason.contains(&format!("no {table}")) {
            ("no account for it".into(), Some(table))
        } else if reason.contains(&format!("{table} password")) {
            (
                "the account's password is not in the profile".into(),
                Some(format!("{table} password")),
            )
        } else {
            (reason.to_string(), Some(table))
        };
    }
    if let Some(key) = profile_key(reason) {
        return (reason.to_string(), Some(key));
    }
    (reason.to_string(), None)
}

/// The first `[accounts.NAME]` in `reason`.
fn account_table(reason: &str) -> Option<String> {
    let start = reason.find("[accounts.")?;
    let end = reason[start..].find(']')? + start;
    Some(reason[start..=end].to_string())
}

/// The first `table.key` in `reason` whose table is one of [`TABLES`].
fn profile_key(reason: &str) -> Option<String> {
    let is_key_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    TABLES
        .iter()
        .filter_map(|table| {
            let needle = format!("{table}.");
            let mut from = 0;
            while let Some(at) = reason[from..].find(&needle).map(|i| i + from) {
                let before = reason[..at].chars().next_back();
                let key: String = reason[at + needle.len()..]
                    .chars()
                    .take_while(|c| is_key_char(*c))
                    .collect();
                if !before.is_some_and(is_key_char) && !key.is_empty() {
                    return Some((at, format!("{table}.{key}")));
                }
                from = at + needle.len();
            }
            None
        })
        .min_by_key(|(at, _)| *at)
        .map(|(_, key)| key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Check, Weight};

    fn result(id: &str, verdict: Verdict, reason: Option<&str>, seed_pass: bool) -> CaseResult {
        let mut r = CaseResult::new(crate::cases::find(id).unwrap());
        r.verdict = verdict;
        r.reason = reason.map(str::to_string);
        if seed_pass {
            let status = row_status(&r.group).unwrap();
            r.checks.push(Check {
                step: 1,
                tier: Tier::Seed,
                what: "status".into(),
                expected: status.into(),
                observed: status.into(),
                outcome: Outcome::Pass,
                weight: Weight::Pass,
            });
        }
        r
    }

    #[test]
    fn skip_reasons_map_to_keys() {
        let cases = [
            (
                "no [accounts.frozen] in the profile",
                "no account for it",
                Some("[accounts.frozen]"),
            ),
            (
                "not determined: the target answered wrong_old_password to a made-up old \
                 password; it may check the old password before the status (open point 1); \
                 set [accounts.locked] password to decide",
                "the account's password is not in the profile",
                Some("[accounts.locked] password"),
            ),
            (
                "the lockout budget is spent: 3 wrong old passwords sent, at most 3 under the \
                 rule (assumed); declare [lockout] counting (and window_secs) to allow more",
                "the lockout budget was spent",
                Some(
                    "[lockout] counting and window_secs (a declared rule allows more wrong old \
                     passwords)",
                ),
            ),
            (
                "policy.history is not declared",
                "policy.history is not declared",
                Some("policy.history"),
            ),
            (
                "policy.min_length is not declared (or below 2)",
                "policy.min_length is not declared (or below 2)",
                Some("policy.min_length"),
            ),
            (
                "needs minting (tokens.private_key in the profile)",
                "tokens cannot be minted",
                Some("tokens.private_key"),
            ),
            ("interrupted by SIGINT", "the run was interrupted", None),
            ("something else", "something else", None),
        ];
        for (reason, why, key) in cases {
            assert_eq!(
                remedy(reason),
                (why.to_string(), key.map(str::to_string)),
                "{reason}"
            );
        }
    }

    #[test]
    fn only_a_passing_seed_case_with_a_passing_seed_check_verifies() {
        let pass = result("user.frozen", Verdict::Pass, None, true);
        assert!(verifies(&pass));
        assert!(verifies(&result("user.frozen", Verdict::Warn, None, true)));
        // Passed without checking anything at seed tier.
        assert!(!verifies(&result(
            "user.frozen",
            Verdict::Pass,
            None,
            false
        )));
        for v in [
            Verdict::Partial,
            Verdict::Skip,
            Verdict::Fail,
            Verdict::Error,
            Verdict::ExpectedFailure,
            Verdict::Stale,
        ] {
            assert!(!verifies(&result("user.frozen", v, None, true)), "{v:?}");
        }
        // A passing seed check of another answer (a 200 under a refusal
        // row: an acceptance case) does not verify the row.
        let mut accepted = result("auth.scope.openid-middle", Verdict::Pass, None, false);
        accepted.checks.push(Check {
            step: 1,
            tier: Tier::Seed,
            what: "status".into(),
            expected: "200".into(),
            observed: "200".into(),
            outcome: Outcome::Pass,
            weight: Weight::Pass,
        });
        assert_eq!(accepted.group, "S11");
        assert!(!verifies(&accepted));
        // A reference case of the row never verifies it.
        assert!(!verifies(&result(
            "user.frozen-and-locked",
            Verdict::Pass,
            None,
            true
        )));
    }

    #[test]
    fn rows_out_of_scope_are_not_unverified_and_accepted_rows_are_marked() {
        let results = vec![
            result("password.change", Verdict::Pass, None, true),
            result(
                "password.wrong-old",
                Verdict::Skip,
                Some("the lockout budget is spent: …"),
                false,
            ),
            result(
                "password.exact.case-changed",
                Verdict::Partial,
                Some("cut short: the lockout budget is spent: …"),
                true,
            ),
            result(
                "user.frozen",
                Verdict::Skip,
                Some("no [accounts.frozen] in the profile"),
                false,
            ),
            // A reference case alone puts S8 in no one's scope.
            result("user.lockout-after-failures", Verdict::Pass, None, true),
        ];
        let rows = unverified(&results, &[Row::S7]);
        let ids: Vec<_> = rows.iter().map(|u| u.row).collect();
        assert_eq!(ids, ["S2", "S7"]);
        let s2 = &rows[0];
        assert_eq!(s2.why, "the lockout budget was spent");
        assert_eq!(s2.verify_with.len(), 1);
        assert!(!s2.accepted);
        assert_eq!(
            s2.cases[0],
            "password.wrong-old: skip: the lockout budget is spent: …"
        );
        assert_eq!(
            rows[1].line(),
            "S7 user frozen: no account for it; verify with [accounts.frozen] \
             (accepted: --allow-unverified)"
        );
    }
}
