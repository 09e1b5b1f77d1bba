//! proptest strategies for new passwords, built from a profile's
//! `[policy]`: valid ones (ASCII and non-ASCII, lengths on and between the
//! edges), each distinct way to be invalid (one code point too short or too
//! long, each required class missing, a control character), and reuse of
//! the current or a previous password. The generator only aims; the oracle
//! computes the truth from the string it produced. Non-ASCII characters
//! are generated only when the profile declares the target's Unicode
//! normalisation ([`unicode_allowed`]), symbols only from those it declares
//! (`policy.symbols`, `-` when one is required).

use proptest::prelude::*;
use proptest::sample::select;

use crate::profile::{Normalization, Policy};

use super::oracle::is_symbol;

/// Filler units. Each is one code point after NFC/NFKC, and every one is
/// NFC and NFKC stable except the decomposed `e` + U+0301 (two code points
/// as sent, one after composition).
const UNITS: &[&str] = &[
    "a", "k", "z", "B", "Q", "Z", "3", "7", "0", "-", "_", "!", "#", "é", "ß", "ü", "ж", "Ä", "Ω",
    "中", "😀", "e\u{301}",
];
/// Control characters inserted by the control-character variant: C0,
/// DEL and C1 (all `char::is_control`).
const CONTROLS: &[char] = &[
    '\u{0}', '\u{7}', '\u{1b}', '\u{7f}', '\n', '\t', '\u{80}', '\u{85}', '\u{9f}',
];

/// The control characters to insert: C1 ones (non-ASCII) only where
/// Unicode passwords may be generated.
fn controls(policy: &Policy) -> Vec<char> {
    CONTROLS
        .iter()
        .copied()
        .filter(|c| unicode_allowed(policy) || c.is_ascii())
        .collect()
}

/// Which class a variant leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Lower-case letters.
    Lower,
    /// Upper-case letters.
    Upper,
    /// Digits.
    Digit,
    /// Symbols.
    Symbol,
}

impl Class {
    fn has(self, c: char) -> bool {
        match self {
            Class::Lower => c.is_lowercase(),
            Class::Upper => c.is_uppercase(),
            Class::Digit => c.is_numeric(),
            Class::Symbol => is_symbol(c),
        }
    }

    fn ascii(self) -> char {
        match self {
            Class::Lower => 'm',
            Class::Upper => 'R',
            Class::Digit => '5',
            Class::Symbol => '-',
        }
    }
}

/// A new password to try.
#[derive(Debug, Clone)]
pub enum Candidate {
    /// A generated string, with what the generator aimed at.
    Generated {
        /// What the generator aimed at (`valid`, `too-short`, …).
        aim: &'static str,
        /// The password.
        password: String,
    },
    /// The current password.
    Current,
    /// The k-th most recent previous password (1-based; clamped to what
    /// is known, the current one when none is).
    Previous(usize),
}

/// Whether non-ASCII passwords may be generated: only when the profile
/// declares the target's normalisation (`nfc`, `nfkc` or `none`). Without
/// it, how the target counts and compares non-ASCII text is unknown (open
/// point 5), and any answer would prove nothing.
pub fn unicode_allowed(policy: &Policy) -> bool {
    policy.normalization.is_some()
}

/// Whether every symbol of `unit` is one the profile says the target
/// accepts (`policy.symbols`; `-` when a symbol is required): a symbol it
/// does not accept would make a "valid" password the target may refuse.
fn symbols_allowed(policy: &Policy, unit: &str) -> bool {
    let unit = super::oracle::normalize(policy, unit);
    unit.chars().filter(|c| is_symbol(*c)).all(|c| {
        policy.symbols.as_deref().is_some_and(|s| s.contains(c))
            || (c == '-' && policy.require_symbol)
    })
}

fn code_points(policy: &Policy, s: &str) -> usize {
    super::oracle::normalize(policy, s).chars().count()
}

/// Builds a password of `target` code points (after normalisation): one
/// ASCII character of each class in `required`, then filler units chosen
/// by `picks`, never with a character of `without`.
fn build(
    policy: &Policy,
    target: usize,
    required: &[Class],
    without: Option<Class>,
    picks: &[usize],
) -> String {
    let pool: Vec<&str> = UNITS
        .iter()
        .copied()
        .filter(|u| unicode_allowed(policy) || u.is_ascii())
        .filter(|u| symbols_allowed(policy, u))
        .filter(|u| without.is_none_or(|w| !u.chars().any(|c| w.has(c))))
        .collect();
    let mut out: String = required.iter().map(|c| c.ascii()).collect();
    let mut i = 0usize;
    let mut guard = 0usize;
    while code_points(policy, &out) < target && guard < target * 4 + 8 {
        guard += 1;
        let pick = picks.get(i % picks.len().max(1)).copied().unwrap_or(0) + i / 7;
        i += 1;
        let unit = pool[pick % pool.len()];
        let candidate = format!("{out}{unit}");
        if code_points(policy, &candidate) <= target {
            out = candidate;
        } else {
            out.push(if without == Some(Class::Lower) {
                '5'
            } else {
                'm'
            });
        }
    }
    out
}

fn required(policy: &Policy) -> Vec<Class> {
    let mut r = Vec::new();
    if policy.require_lowercase {
        r.push(Class::Lower);
    }
    if policy.require_uppercase {
        r.push(Class::Upper);
    }
    if policy.require_digit {
        r.push(Class::Digit);
    }
    if policy.require_symbol {
        r.push(Class::Symbol);
    }
    r
}

/// Lengths of valid passwords: the edges and everything between.
fn valid_length(policy: &Policy) -> BoxedStrategy<usize> {
    let lo = policy
        .min_length
        .unwrap_or(1)
        .max(required(policy).len())
        .max(1);
    let hi = policy.max_length.unwrap_or(lo.max(16) + 16).max(lo);
    prop_oneof![Just(lo), Just(hi), lo..=hi].boxed()
}

/// Every kind of new password the policy allows to make, as one strategy.
pub fn candidates(policy: &Policy) -> BoxedStrategy<Candidate> {
    let p = policy.clone();
    let picks = || proptest::collection::vec(0usize..64, 1..24);
    let req = required(policy);
    let mut arms: Vec<(u32, BoxedStrategy<Candidate>)> = Vec::new();
    {
        let (p, req) = (p.clone(), req.clone());
        arms.push((
            6,
            (valid_length(policy), picks())
                .prop_map(move |(len, picks)| Candidate::Generated {
                    aim: "valid",
                    password: build(&p, len, &req, None, &picks),
                })
                .boxed(),
        ));
    }
    if let Some(min) = policy.min_length.filter(|m| *m >= 1) {
        let (p, req) = (p.clone(), req.clone());
        arms.push((
            2,
            picks()
                .prop_map(move |picks| Candidate::Generated {
                    aim: "too-short",
                    password: build(&p, min - 1, &req, None, &picks),
                })
                .boxed(),
        ));
    }
    if let Some(max) = policy.max_length {
        let (p, req) = (p.clone(), req.clone());
        arms.push((
            2,
            picks()
                .prop_map(move |picks| Candidate::Generated {
                    aim: "too-long",
                    password: build(&p, max + 1, &req, None, &picks),
                })
                .boxed(),
        ));
    }
    for class in req.clone() {
        let (p, req) = (p.clone(), req.clone());
        let others: Vec<Class> = req.iter().copied().filter(|c| *c != class).collect();
        arms.push((
            1,
            (valid_length(policy), picks())
                .prop_map(move |(len, picks)| Candidate::Generated {
                    aim: match class {
                        Class::Lower => "no-lowercase",
                        Class::Upper => "no-uppercase",
                        Class::Digit => "no-digit",
                        Class::Symbol => "no-symbol",
                    },
                    password: build(&p, len, &others, Some(class), &picks),
                })
                .boxed(),
        ));
        let _ = req;
    }
    if policy.reject_control_characters {
        let (p, req) = (p.clone(), req.clone());
        arms.push((
            1,
            (
                valid_length(policy),
                picks(),
                select(controls(policy)),
                0usize..64,
            )
                .prop_map(move |(len, picks, control, at)| {
                    let base = build(&p, len.saturating_sub(1).max(1), &req, None, &picks);
                    let mut chars: Vec<char> = base.chars().collect();
                    let mut at = at % (chars.len() + 1);
                    // Never between a letter and its combining mark.
                    while chars.get(at).is_some_and(|c| *c == '\u{301}') {
                        at += 1;
                    }
                    chars.insert(at, control);
                    Candidate::Generated {
                        aim: "control-character",
                        password: chars.into_iter().collect(),
                    }
                })
                .boxed(),
        ));
    }
    if matches!(
        policy.normalization,
        Some(Normalization::Nfc | Normalization::Nfkc)
    ) && let Some(min) = policy.min_length
    {
        // Long enough as sent, one short after composition.
        let (p, req) = (p.clone(), req.clone());
        arms.push((
            1,
            Just(())
                .prop_map(move |()| {
                    let prefix = build(&p, req.len().max(1), &req, None, &[0]);
                    let accents = (min - 1).saturating_sub(code_points(&p, &prefix));
                    Candidate::Generated {
                        aim: "short-after-normalization",
                        password: format!("{prefix}{}", "e\u{301}".repeat(accents)),
                    }
                })
                .boxed(),
        ));
    }
    arms.push((1, Just(Candidate::Current).boxed()));
    if let Some(depth) = policy.depth() {
        arms.push((2, (1..=depth + 1).prop_map(Candidate::Previous).boxed()));
    }
    proptest::strategy::Union::new_weighted(arms).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::oracle::violations;
    use proptest::test_runner::TestRunner;

    fn reference() -> Policy {
        Policy::reference_for_tests()
    }

    #[test]
    fn aims_mostly_hit() {
        let p = reference();
        let mut runner = TestRunner::deterministic();
        let s = candidates(&p);
        let mut hits = 0;
        let mut total = 0;
        for _ in 0..400 {
            let c = s.new_tree(&mut runner).unwrap().current();
            if let Candidate::Generated { aim, password } = c {
                total += 1;
                let v = violations(&p, &password);
                let hit = match aim {
                    "valid" => v.is_empty(),
                    "too-short" | "short-after-normalization" => v == ["shorter than min_length"],
                    "too-long" => v == ["longer than max_length"],
                    "no-lowercase" => v == ["no lower-case letter"],
                    "no-uppercase" => v == ["no upper-case letter"],
                    "no-digit" => v == ["no digit"],
                    "control-character" => v == ["a control character"],
                    _ => false,
                };
                assert!(hit, "{aim}: {password:?} breaks {v:?}");
                hits += 1;
            }
        }
        assert!(total > 200 && hits == total);
    }

    #[test]
    fn symbols_only_from_the_declared_ones() {
        let p = Policy {
            symbols: None,
            require_symbol: false,
            ..reference()
        };
        let mut runner = TestRunner::deterministic();
        let s = candidates(&p);
        for _ in 0..400 {
            if let Candidate::Generated { aim, password } =
                s.new_tree(&mut runner).unwrap().current()
                && aim != "control-character"
            {
                let seen = crate::properties::oracle::normalize(&p, &password);
                assert!(!seen.chars().any(is_symbol), "{password:?}");
            }
        }
    }

    #[test]
    fn ascii_only_without_a_declared_normalization() {
        let p = Policy {
            normalization: None,
            ..reference()
        };
        let mut runner = TestRunner::deterministic();
        let s = candidates(&p);
        let mut generated = 0;
        for _ in 0..400 {
            if let Candidate::Generated { password, .. } =
                s.new_tree(&mut runner).unwrap().current()
            {
                generated += 1;
                assert!(password.is_ascii(), "{password:?}");
            }
        }
        assert!(generated > 200);
        // Declared: non-ASCII ones appear.
        let mut runner = TestRunner::deterministic();
        let s = candidates(&reference());
        assert!(
            (0..400).any(|_| match s.new_tree(&mut runner).unwrap().current() {
                Candidate::Generated { password, .. } => !password.is_ascii(),
                _ => false,
            })
        );
    }
}
