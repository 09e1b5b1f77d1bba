//! The oracle: what a change request must get, predicted from the target
//! profile alone (`docs/profile.md`), never from the reference server.
//!
//! Semantics, as the profile documents them: the new password is
//! normalised as `policy.normalization` says (NFC, NFKC or not at all);
//! lengths are Unicode code points after that; a class is present when a
//! character of it is (`char::is_lowercase`, `is_uppercase`, `is_numeric`,
//! and "symbol" = neither alphanumeric nor a control character); control
//! characters (`char::is_control`) are refused when declared. The history
//! depth N counts previous passwords, the current one excluded
//! ([`Policy::depth`]). When several errors apply, the oracle gives them
//! all ([`Answers`]): the document leaves their precedence open (open
//! point 1); the first in the reference's order (user → status → old
//! password → duplicate → policy → history) is the reference's choice.

use unicode_normalization::UnicodeNormalization;

use super::answers::{Answers, Prediction};
use crate::profile::{Normalization, Policy};

/// The password as the policy's rules see it.
pub fn normalize(policy: &Policy, s: &str) -> String {
    match policy.normalization {
        Some(Normalization::Nfc) => s.nfc().collect(),
        Some(Normalization::Nfkc) => s.nfkc().collect(),
        _ => s.to_string(),
    }
}

/// Whether `c` is a symbol in the profile's sense: neither a letter nor a
/// digit (nor a control character).
pub fn is_symbol(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_control()
}

/// The declared rules `new` breaks (empty: it satisfies the policy).
pub fn violations(policy: &Policy, new: &str) -> Vec<&'static str> {
    let n = normalize(policy, new);
    let len = n.chars().count();
    let mut out = Vec::new();
    if policy.min_length.is_some_and(|min| len < min) {
        out.push("shorter than min_length");
    }
    if policy.max_length.is_some_and(|max| len > max) {
        out.push("longer than max_length");
    }
    if policy.require_lowercase && !n.chars().any(char::is_lowercase) {
        out.push("no lower-case letter");
    }
    if policy.require_uppercase && !n.chars().any(char::is_uppercase) {
        out.push("no upper-case letter");
    }
    if policy.require_digit && !n.chars().any(char::is_numeric) {
        out.push("no digit");
    }
    if policy.require_symbol && !n.chars().any(is_symbol) {
        out.push("no symbol");
    }
    if policy.reject_control_characters && n.chars().any(char::is_control) {
        out.push("a control character");
    }
    out
}

/// What the account looks like to the oracle.
#[derive(Debug, Clone, Copy)]
pub struct AccountView<'a> {
    /// The current password.
    pub current: &'a str,
    /// Previous passwords, oldest first (those the harness knows).
    pub previous: &'a [String],
    /// Consecutive wrong old passwords since the last success (an upper
    /// bound: the profile does not say whether a refused change with the
    /// right old password resets the count).
    pub failures: u32,
    /// `lockout.max_failures` as the profile declares it.
    pub max_failures: Option<u32>,
}

/// The answers the document allows to `{"old_password": old,
/// "new_password": new}` with a valid token of the account: every error
/// that applies (open point 1 leaves their precedence open), the first in
/// the reference's precedence being the reference's choice; a success when
/// none applies.
pub fn predict(policy: &Policy, account: AccountView<'_>, old: &str, new: &str) -> Answers {
    let mut applicable = Vec::new();
    if account.max_failures.is_some_and(|m| account.failures >= m) {
        applicable.push(Prediction::Locked);
    }
    if old != account.current {
        applicable.push(Prediction::WrongOld);
    }
    let normalized = normalize(policy, new);
    let is_current = normalized == normalize(policy, account.current);
    if is_current {
        applicable.push(Prediction::Duplicate);
    }
    if !violations(policy, new).is_empty() {
        applicable.push(Prediction::Invalid);
    }
    if let Some(depth) = policy.depth() {
        let start = account.previous.len().saturating_sub(depth);
        let in_window = account.previous[start..]
            .iter()
            .any(|p| normalize(policy, p) == normalized);
        // A target whose N counts the current password may find it in its
        // history before it compares with the current one.
        if in_window || (is_current && policy.history_includes_current) {
            applicable.push(Prediction::Recurrent);
        }
    }
    Answers::of_errors(applicable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Policy {
        Policy::reference_for_tests()
    }

    fn view<'a>(current: &'a str, previous: &'a [String]) -> AccountView<'a> {
        AccountView {
            current,
            previous,
            failures: 0,
            max_failures: Some(5),
        }
    }

    #[test]
    fn precedence_follows_the_profile() {
        let p = reference();
        let prev: Vec<String> = ["Old1-aaaaaa", "Old2-aaaaaa"].map(String::from).to_vec();
        let v = view("Curr3ntPass", &prev);
        let one = |a: Answers| {
            assert_eq!(a.allowed, vec![a.reference]);
            a.reference
        };
        assert_eq!(
            one(predict(&p, v, "Curr3ntPass", "Curr3ntPass")),
            Prediction::Duplicate
        );
        assert_eq!(
            one(predict(&p, v, "Curr3ntPass", "short")),
            Prediction::Invalid
        );
        assert_eq!(
            one(predict(&p, v, "Curr3ntPass", "Old1-aaaaaa")),
            Prediction::Recurrent
        );
        assert_eq!(
            one(predict(&p, v, "Curr3ntPass", "Fresh9Password")),
            Prediction::Success
        );
        assert_eq!(
            one(predict(&p, v, "nope", "Fresh9Password")),
            Prediction::WrongOld
        );
        // Several errors: all allowed, the reference's first.
        let a = predict(&p, v, "nope", "Curr3ntPass");
        assert_eq!(a.allowed, [Prediction::WrongOld, Prediction::Duplicate]);
        let a = predict(&p, v, "nope", "short");
        assert_eq!(a.allowed, [Prediction::WrongOld, Prediction::Invalid]);
        assert_eq!(a.reference, Prediction::WrongOld);
        let locked = AccountView { failures: 5, ..v };
        let a = predict(&p, locked, "Curr3ntPass", "Fresh9Password");
        assert_eq!(a.allowed, [Prediction::Locked]);
        let a = predict(&p, locked, "nope", "Old2-aaaaaa");
        assert_eq!(
            a.allowed,
            [
                Prediction::Locked,
                Prediction::WrongOld,
                Prediction::Recurrent
            ]
        );
        // A history that counts the current password may answer S4 for it.
        let incl = Policy {
            history_includes_current: true,
            ..reference()
        };
        let a = predict(&incl, v, "Curr3ntPass", "Curr3ntPass");
        assert_eq!(a.allowed, [Prediction::Duplicate, Prediction::Recurrent]);
    }

    #[test]
    fn history_depth_excludes_older_passwords() {
        let p = reference();
        let prev: Vec<String> = (0..6).map(|i| format!("Prev{i}-Password")).collect();
        let v = view("Curr3ntPass", &prev);
        // Six previous, depth five: the oldest is out of the window.
        assert_eq!(
            predict(&p, v, "Curr3ntPass", "Prev0-Password"),
            Answers::one(Prediction::Success)
        );
        assert_eq!(
            predict(&p, v, "Curr3ntPass", "Prev1-Password"),
            Answers::one(Prediction::Recurrent)
        );
    }

    #[test]
    fn lengths_count_code_points_after_normalization() {
        let p = reference();
        // "Ab1" + 4 × e + U+0301: 11 code points sent, 7 after NFC.
        let s = format!("Ab1{}", "e\u{301}".repeat(4));
        assert_eq!(violations(&p, &s), vec!["shorter than min_length"]);
        let none = Policy {
            normalization: None,
            ..reference()
        };
        assert!(violations(&none, &s).is_empty());
        assert_eq!(violations(&p, "Abcdefg1\u{7}"), vec!["a control character"]);
        assert!(violations(&p, "ÄbcdéFg1中😀").is_empty());
        assert_eq!(violations(&p, "ÄBCDÉFG1"), vec!["no lower-case letter"]);
    }
}
