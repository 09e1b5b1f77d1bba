//! Passwords the harness makes: fresh ones that satisfy the declared policy
//! (random, never reused), ones that break it in exactly one way, and ones
//! on its edges.

use crate::catalogue::{PolicyBreak, PolicyEdge};
use crate::profile::{Normalization, Policy};

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGIT: &[u8] = b"23456789";
const SYMBOL: char = '-';
/// Length of fresh passwords when the policy allows it.
const PREFERRED_LENGTH: usize = 16;

/// How many character classes the policy requires.
pub fn required_classes(p: &Policy) -> usize {
    [
        p.require_lowercase,
        p.require_uppercase,
        p.require_digit,
        p.require_symbol,
    ]
    .iter()
    .filter(|r| **r)
    .count()
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    // The OS generator does not fail on supported platforms; fall back to
    // a time-seeded sequence rather than panic.
    if getrandom::fill(&mut bytes).is_err() {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(31);
        }
    }
    bytes
}

fn pick(alphabet: &[u8], random: u8) -> char {
    alphabet[random as usize % alphabet.len()] as char
}

/// Which classes a made password must contain.
#[derive(Debug, Clone, Copy)]
struct Classes {
    lower: bool,
    upper: bool,
    digit: bool,
    symbol: bool,
}

impl Classes {
    /// Everything the policy requires, plus lower, upper and digit (which
    /// every policy we know accepts) so a fresh password passes any of them.
    fn for_policy(p: &Policy) -> Classes {
        Classes {
            lower: true,
            upper: true,
            digit: true,
            symbol: p.require_symbol,
        }
    }
}

/// `len` code points: one of each class in `classes`, then random filler
/// drawn from the allowed classes.
fn make(classes: Classes, len: usize) -> String {
    let random = random_bytes(len + 4);
    let mut out = String::new();
    let mut filler: Vec<u8> = Vec::new();
    if classes.upper {
        out.push(pick(UPPER, random[0]));
        filler.extend_from_slice(UPPER);
    }
    if classes.lower {
        out.push(pick(LOWER, random[1]));
        filler.extend_from_slice(LOWER);
    }
    if classes.digit {
        out.push(pick(DIGIT, random[2]));
        filler.extend_from_slice(DIGIT);
    }
    if classes.symbol {
        out.push(SYMBOL);
    }
    if filler.is_empty() {
        filler.push(b'-');
    }
    let mut i = 4;
    while out.chars().count() < len {
        out.push(pick(&filler, random[i % random.len()]));
        i += 1;
    }
    out.chars().take(len).collect()
}

fn fresh_length(p: &Policy, spare: usize) -> usize {
    let mut len = PREFERRED_LENGTH.max(p.min_length.unwrap_or(0));
    if let Some(max) = p.max_length {
        len = len.min(max.saturating_sub(spare));
    }
    len.max(required_classes(p))
}

/// A new random password that satisfies the declared policy.
pub fn fresh(p: &Policy) -> String {
    make(Classes::for_policy(p), fresh_length(p, 0))
}

/// A password wrong for any account (it satisfies the policy, so only the
/// old-password check can refuse it).
pub fn wrong(p: &Policy) -> String {
    fresh(p)
}

/// A password that breaks the declared policy in the way named, or why
/// the profile does not allow making one.
pub fn breaking(p: &Policy, kind: PolicyBreak) -> Result<String, String> {
    let all = Classes::for_policy(p);
    let len = fresh_length(p, 0);
    match kind {
        PolicyBreak::TooShort => match p.min_length {
            Some(min) if min >= 2 => Ok(make(all, min - 1)),
            _ => Err("policy.min_length is not declared (or below 2)".into()),
        },
        PolicyBreak::TooLong => match p.max_length {
            Some(max) => Ok(make(all, max + 1)),
            None => Err("policy.max_length is not declared".into()),
        },
        PolicyBreak::NoLowercase if p.require_lowercase => Ok(make(
            Classes {
                lower: false,
                ..all
            },
            len,
        )),
        PolicyBreak::NoUppercase if p.require_uppercase => Ok(make(
            Classes {
                upper: false,
                ..all
            },
            len,
        )),
        PolicyBreak::NoDigit if p.require_digit => Ok(make(
            Classes {
                digit: false,
                ..all
            },
            len,
        )),
        PolicyBreak::NoSymbol if p.require_symbol => Ok(make(
            Classes {
                symbol: false,
                ..all
            },
            len,
        )),
        PolicyBreak::NoLowercase => Err("policy.require_lowercase is not set".into()),
        PolicyBreak::NoUppercase => Err("policy.require_uppercase is not set".into()),
        PolicyBreak::NoDigit => Err("policy.require_digit is not set".into()),
        PolicyBreak::NoSymbol => Err("policy.require_symbol is not set".into()),
        PolicyBreak::ControlCharacter => {
            if !p.reject_control_characters {
                return Err("policy.reject_control_characters is not set".into());
            }
            let len = fresh_length(p, 1);
            if p.min_length.is_some_and(|min| len + 1 < min) {
                return Err("policy.max_length leaves no room for a control character".into());
            }
            let mut chars: Vec<char> = make(all, len).chars().collect();
            chars.insert(chars.len().min(3), '\u{7}');
            Ok(chars.into_iter().collect())
        }
        PolicyBreak::ShortAfterNormalization => {
            if !matches!(
                p.normalization,
                Some(Normalization::Nfc | Normalization::Nfkc)
            ) {
                return Err("policy.normalization is not nfc or nfkc".into());
            }
            let Some(min) = p.min_length else {
                return Err("policy.min_length is not declared".into());
            };
            // One under the minimum once composed: a prefix of the required
            // classes, then "é" written decomposed (e + U+0301), which NFC
            // turns into one code point.
            let prefix = make(
                Classes {
                    lower: true,
                    upper: true,
                    digit: true,
                    symbol: p.require_symbol,
                },
                required_classes(p).max(3),
            );
            let composed_len = min - 1;
            let accents = composed_len.saturating_sub(prefix.chars().count());
            if accents == 0 {
                return Err(
                    "policy.min_length is too small for this case (needs 5 or more)".into(),
                );
            }
            Ok(format!("{prefix}{}", "e\u{301}".repeat(accents)))
        }
    }
}

/// A password exactly on an edge of the declared policy, or why not.
pub fn edge(p: &Policy, kind: PolicyEdge) -> Result<String, String> {
    let all = Classes::for_policy(p);
    let classes = if p.require_symbol { 4 } else { 3 };
    match kind {
        PolicyEdge::MinLength => match p.min_length {
            Some(min) if min >= classes => Ok(make(all, min)),
            Some(_) => Err("policy.min_length is below the number of required classes".into()),
            None => Err("policy.min_length is not declared".into()),
        },
        PolicyEdge::MaxLength => match p.max_length {
            Some(max) => Ok(make(all, max)),
            None => Err("policy.max_length is not declared".into()),
        },
        PolicyEdge::MaxLengthCodePoints => {
            let Some(max) = p.max_length else {
                return Err("policy.max_length is not declared".into());
            };
            if !matches!(
                p.normalization,
                Some(Normalization::Nfc | Normalization::Nfkc)
            ) {
                return Err(
                    "policy.normalization is not nfc or nfkc (the target does not declare \
                     Unicode handling)"
                        .into(),
                );
            }
            let prefix = make(all, classes);
            let fill = max.saturating_sub(classes);
            // U+00E9 is NFC and NFKC stable and two bytes in UTF-8.
            Ok(format!("{prefix}{}", "\u{e9}".repeat(fill)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_policy() -> Policy {
        Policy::reference_for_tests()
    }

    fn has(s: &str, f: impl Fn(&char) -> bool) -> bool {
        s.chars().any(|c| f(&c))
    }

    #[test]
    fn fresh_passwords_satisfy_the_policy_and_differ() {
        let p = reference_policy();
        let a = fresh(&p);
        let b = fresh(&p);
        assert_ne!(a, b);
        assert_eq!(a.chars().count(), 16);
        assert!(has(&a, char::is_ascii_lowercase));
        assert!(has(&a, char::is_ascii_uppercase));
        assert!(has(&a, char::is_ascii_digit));
    }

    #[test]
    fn breaking_passwords_break_exactly_one_rule() {
        let p = reference_policy();
        assert_eq!(
            breaking(&p, PolicyBreak::TooShort).unwrap().chars().count(),
            7
        );
        assert_eq!(
            breaking(&p, PolicyBreak::TooLong).unwrap().chars().count(),
            65
        );
        let s = breaking(&p, PolicyBreak::NoLowercase).unwrap();
        assert!(!has(&s, |c: &char| c.is_lowercase()) && has(&s, char::is_ascii_uppercase));
        let s = breaking(&p, PolicyBreak::NoUppercase).unwrap();
        assert!(!has(&s, |c: &char| c.is_uppercase()) && has(&s, char::is_ascii_digit));
        let s = breaking(&p, PolicyBreak::NoDigit).unwrap();
        assert!(!has(&s, |c: &char| c.is_numeric()) && s.chars().count() == 16);
        assert!(breaking(&p, PolicyBreak::NoSymbol).is_err());
        let s = breaking(&p, PolicyBreak::ControlCharacter).unwrap();
        assert!(has(&s, |c: &char| c.is_control()));
        let s = breaking(&p, PolicyBreak::ShortAfterNormalization).unwrap();
        // 3 + 4 accents composed = 7; decomposed = 11.
        assert_eq!(s.chars().count(), 11);
        assert_eq!(s.replace("e\u{301}", "\u{e9}").chars().count(), 7);
    }

    #[test]
    fn edges_are_exact() {
        let p = reference_policy();
        assert_eq!(edge(&p, PolicyEdge::MinLength).unwrap().chars().count(), 8);
        assert_eq!(edge(&p, PolicyEdge::MaxLength).unwrap().chars().count(), 64);
        let s = edge(&p, PolicyEdge::MaxLengthCodePoints).unwrap();
        assert_eq!(s.chars().count(), 64);
        assert!(s.len() > 64);
    }

    #[test]
    fn symbol_policies_get_symbols() {
        let p = Policy {
            require_symbol: true,
            ..reference_policy()
        };
        assert!(fresh(&p).contains(SYMBOL));
        assert!(
            !breaking(&p, PolicyBreak::NoSymbol)
                .unwrap()
                .contains(SYMBOL)
        );
    }
}
