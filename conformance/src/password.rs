//! Passwords the harness makes: fresh ones that satisfy the declared policy
//! (random, never reused), ones that break it in exactly one way, ones on
//! its edges, and the long ones of the exactness cases.
//!
//! Fresh passwords use the whole declared alphabet: upper- and lower-case
//! letters and digits always; the declared `symbols`; spaces inside and at
//! both ends where `allow_spaces` is set; and non-ASCII letters (é, ü, Ø…,
//! stable under NFC and NFKC) where the profile declares the target's
//! `normalization`. An implementation that trims, folds case or drops
//! characters before hashing is then caught by the cases that use them.

use crate::profile::{Normalization, Policy};
use crate::vocabulary::{PolicyBreak, PolicyEdge};

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGIT: &[u8] = b"23456789";
const SYMBOL: char = '-';
/// Non-ASCII letters, NFC and NFKC stable, whose case maps one to one.
const UPPER_NON_ASCII: &[char] = &['\u{c4}', '\u{c9}', '\u{d8}', '\u{dc}'];
const LOWER_NON_ASCII: &[char] = &['\u{e4}', '\u{e9}', '\u{f8}', '\u{fc}'];
/// Length of fresh passwords when the policy allows it.
const PREFERRED_LENGTH: usize = 16;

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
    len.max(p.required_classes())
}

/// Whether the profile declares how the target treats Unicode (so
/// non-ASCII letters may be sent).
pub fn unicode_declared(p: &Policy) -> bool {
    p.normalization.is_some()
}

/// A new random password that satisfies the declared policy, drawn from
/// the whole declared alphabet (see the module doc).
pub fn fresh(p: &Policy) -> String {
    let len = fresh_length(p, 0);
    let symbols: Vec<char> = match &p.symbols {
        Some(s) if !s.is_empty() => s.chars().filter(|c| !c.is_control()).collect(),
        _ if p.require_symbol => vec![SYMBOL],
        _ => Vec::new(),
    };
    let unicode = unicode_declared(p);
    let spaces = p.allow_spaces;
    // The extras each take a slot: a symbol, an upper and a lower
    // non-ASCII letter, three spaces (start, inside, end).
    let extras =
        usize::from(!symbols.is_empty()) + if unicode { 2 } else { 0 } + if spaces { 3 } else { 0 };
    let base = Classes {
        symbol: false,
        ..Classes::for_policy(p)
    };
    if len < extras + 3 {
        return make(Classes::for_policy(p), len);
    }
    let random = random_bytes(4);
    let mut chars: Vec<char> = make(base, len - extras).chars().collect();
    let insert = |c: char, at: usize, chars: &mut Vec<char>| {
        let at = at % (chars.len() + 1);
        chars.insert(at, c);
    };
    if let Some(s) = symbols.get(random[0] as usize % symbols.len().max(1)) {
        insert(*s, 3, &mut chars);
    }
    if unicode {
        let i = random[1] as usize;
        insert(UPPER_NON_ASCII[i % UPPER_NON_ASCII.len()], 4, &mut chars);
        insert(
            LOWER_NON_ASCII[(i / 4) % LOWER_NON_ASCII.len()],
            6,
            &mut chars,
        );
    }
    if spaces {
        let middle = chars.len() / 2;
        chars.insert(middle, ' ');
        chars.insert(0, ' ');
        chars.push(' ');
    }
    chars.into_iter().collect()
}

/// A password over 72 bytes in UTF-8 that satisfies the declared policy
/// (the exactness case for implementations that hash only a prefix, as
/// bcrypt does), or why the policy leaves no room for one.
pub fn long(p: &Policy) -> Result<String, String> {
    let Some(max) = p.max_length else {
        return Err("policy.max_length is not declared".into());
    };
    let mut classes = Classes::for_policy(p);
    if max > 72 {
        let len = 80.min(max).max(p.min_length.unwrap_or(0));
        classes.symbol = p.require_symbol;
        return Ok(make(classes, len));
    }
    if !unicode_declared(p) {
        return Err(format!(
            "policy.max_length = {max} leaves no room for a password over 72 bytes, and \
             policy.normalization is not declared (no two-byte letters)"
        ));
    }
    // Two-byte letters: max code points, over 72 bytes when max > 36 + 4.
    let head = make(classes, 4);
    let fill = max.saturating_sub(4);
    let s = format!("{head}{}", "\u{e9}".repeat(fill));
    if s.len() <= 72 || p.min_length.is_some_and(|m| s.chars().count() < m) {
        return Err(format!(
            "policy.max_length = {max} leaves no room for a password over 72 bytes"
        ));
    }
    Ok(s)
}

/// An ASCII password of `len` code points with every class the policy
/// could ask for (only its length breaks the policy).
pub fn over_length(p: &Policy, len: usize) -> String {
    let mut classes = Classes::for_policy(p);
    classes.symbol = p.require_symbol;
    make(classes, len)
}

/// The first 72 bytes of `s` (cut back to a character boundary).
pub fn first_72_bytes(s: &str) -> &str {
    let mut end = s.len().min(72);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `s` with the case of every letter changed where the change is one
/// character for one (so the length stays).
pub fn swap_case(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            let mut low = c.to_lowercase();
            match (c.is_lowercase(), c.is_uppercase()) {
                (true, _) if up.len() == 1 => up.next().unwrap_or(c),
                (_, true) if low.len() == 1 => low.next().unwrap_or(c),
                _ => c,
            }
        })
        .collect()
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
                p.required_classes().max(3),
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
    fn fresh_passwords_use_the_whole_declared_alphabet() {
        let p = reference_policy();
        for _ in 0..50 {
            let s = fresh(&p);
            assert!(s.starts_with(' ') && s.ends_with(' '), "{s:?}");
            assert!(s.trim().contains(' '), "no inner space in {s:?}");
            assert!(has(&s, |c: &char| "-_.!#%+".contains(*c)), "{s:?}");
            assert!(
                has(&s, |c: &char| !c.is_ascii() && c.is_uppercase()),
                "{s:?}"
            );
            assert!(
                has(&s, |c: &char| !c.is_ascii() && c.is_lowercase()),
                "{s:?}"
            );
            assert!(!has(&s, |c: &char| c.is_control()));
            assert_eq!(s.chars().count(), 16);
        }
        // Nothing declared: ASCII letters and digits only.
        let plain = Policy {
            allow_spaces: false,
            symbols: None,
            normalization: None,
            ..reference_policy()
        };
        let s = fresh(&plain);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()), "{s:?}");
    }

    #[test]
    fn exactness_variants() {
        assert_eq!(swap_case(" Ab1 é\u{d8}x "), " aB1 \u{c9}\u{f8}X ");
        let p = reference_policy();
        let long = long(&p).unwrap();
        assert!(long.len() > 72 && long.chars().count() <= 64);
        let prefix = first_72_bytes(&long);
        assert!(prefix.len() <= 72 && prefix.len() >= 71 && long.starts_with(prefix));
        let ascii = Policy {
            max_length: Some(128),
            ..reference_policy()
        };
        assert_eq!(first_72_bytes(&super::long(&ascii).unwrap()).len(), 72);
        let narrow = Policy {
            normalization: None,
            ..reference_policy()
        };
        assert!(super::long(&narrow).is_err());
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
            symbols: None,
            ..reference_policy()
        };
        assert!(fresh(&p).contains(SYMBOL));
        let declared = Policy {
            require_symbol: true,
            ..reference_policy()
        };
        assert!(has(&fresh(&declared), |c: &char| "-_.!#%+".contains(*c)));
        assert!(
            !breaking(&p, PolicyBreak::NoSymbol)
                .unwrap()
                .contains(SYMBOL)
        );
    }
}
