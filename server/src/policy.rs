//! The password policy: Unicode normalisation and the strength rules. Pure
//! functions of the configuration and the password; no I/O, no hashing.
//!
//! Lengths count Unicode code points after normalisation. Character classes:
//! lowercase and uppercase use Unicode's `Lowercase`/`Uppercase` properties
//! (so `é` and `Ж` count), digits are ASCII `0`–`9`, a symbol is any code point
//! that is neither alphabetic nor numeric. Control characters (`Cc`) are never
//! allowed: they cannot be typed reliably and break logs and terminals.

use unicode_normalization::UnicodeNormalization;

use crate::config::{Normalization, PolicyConfig};
use crate::secret::Password;

/// Why a new password breaks the policy (logged by kind, never with the password).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// Fewer code points than `min_length`.
    TooShort,
    /// More code points than `max_length`.
    TooLong,
    /// No lowercase letter though one is required.
    MissingLowercase,
    /// No uppercase letter though one is required.
    MissingUppercase,
    /// No ASCII digit though one is required.
    MissingDigit,
    /// No symbol though one is required.
    MissingSymbol,
    /// A control character.
    ControlCharacter,
}

impl Violation {
    /// The rule's name, for the log.
    pub fn name(self) -> &'static str {
        match self {
            Violation::TooShort => "too_short",
            Violation::TooLong => "too_long",
            Violation::MissingLowercase => "missing_lowercase",
            Violation::MissingUppercase => "missing_uppercase",
            Violation::MissingDigit => "missing_digit",
            Violation::MissingSymbol => "missing_symbol",
            Violation::ControlCharacter => "control_character",
        }
    }
}

/// The configured policy.
#[derive(Debug, Clone)]
pub struct Policy {
    config: PolicyConfig,
}

impl Policy {
    /// A policy from its (validated) configuration.
    pub fn new(config: PolicyConfig) -> Policy {
        Policy { config }
    }

    /// History depth N: previous passwords that may not be reused.
    pub fn history(&self) -> usize {
        self.config.history
    }

    /// The configured normalisation form (the form of new credentials).
    pub fn normalization(&self) -> Normalization {
        self.config.normalization
    }

    /// Applies the configured normalisation form.
    pub fn normalize(&self, password: &Password) -> Password {
        normalize_as(self.config.normalization, password)
    }

    /// Checks an already normalised password; the first rule broken is returned.
    pub fn check(&self, password: &Password) -> Result<(), Violation> {
        let c = &self.config;
        let s = password.expose();
        let (mut len, mut lower, mut upper, mut digit, mut symbol) =
            (0, false, false, false, false);
        for ch in s.chars() {
            if ch.is_control() {
                return Err(Violation::ControlCharacter);
            }
            len += 1;
            lower |= ch.is_lowercase();
            upper |= ch.is_uppercase();
            digit |= ch.is_ascii_digit();
            symbol |= !ch.is_alphanumeric();
        }
        if len < c.min_length {
            return Err(Violation::TooShort);
        }
        if len > c.max_length {
            return Err(Violation::TooLong);
        }
        if c.require_lowercase && !lower {
            return Err(Violation::MissingLowercase);
        }
        if c.require_uppercase && !upper {
            return Err(Violation::MissingUppercase);
        }
        if c.require_digit && !digit {
            return Err(Violation::MissingDigit);
        }
        if c.require_symbol && !symbol {
            return Err(Violation::MissingSymbol);
        }
        Ok(())
    }
}

/// Applies `form`: the configured one for new passwords, the recorded one of
/// a stored credential to verify against it.
pub fn normalize_as(form: Normalization, password: &Password) -> Password {
    let s = password.expose();
    match form {
        Normalization::Nfc => Password::new(s.nfc().collect::<String>()),
        Normalization::Nfkc => Password::new(s.nfkc().collect::<String>()),
        Normalization::None => password.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::new(PolicyConfig::default())
    }

    fn check(p: &Policy, s: &str) -> Result<(), Violation> {
        p.check(&p.normalize(&Password::new(s)))
    }

    #[test]
    fn default_policy_accepts_and_rejects() {
        let p = policy();
        assert_eq!(check(&p, "Abcdefg1"), Ok(()));
        assert_eq!(check(&p, "Abcdef1"), Err(Violation::TooShort));
        assert_eq!(check(&p, &format!("A1{}", "b".repeat(62))), Ok(()));
        assert_eq!(
            check(&p, &format!("A1{}", "b".repeat(63))),
            Err(Violation::TooLong)
        );
        assert_eq!(check(&p, "ABCDEFG1"), Err(Violation::MissingLowercase));
        assert_eq!(check(&p, "abcdefg1"), Err(Violation::MissingUppercase));
        assert_eq!(check(&p, "Abcdefgh"), Err(Violation::MissingDigit));
        assert_eq!(check(&p, "Abcd\u{7}fg1"), Err(Violation::ControlCharacter));
    }

    #[test]
    fn symbol_rule() {
        let p = Policy::new(PolicyConfig {
            require_symbol: true,
            ..PolicyConfig::default()
        });
        assert_eq!(check(&p, "Abcdefg1"), Err(Violation::MissingSymbol));
        assert_eq!(check(&p, "Abcdef-1"), Ok(()));
        assert_eq!(check(&p, "Abcdef 1"), Ok(()));
    }

    #[test]
    fn length_counts_code_points_not_bytes() {
        let p = policy();
        // 8 code points, 15 bytes.
        assert_eq!(check(&p, "Ééééééé1"), Ok(()));
        // 64 code points of 4-byte emoji plus classes: too long at 65.
        let long = format!("Aa1{}", "😀".repeat(62));
        assert_eq!(check(&p, &long), Err(Violation::TooLong));
    }

    #[test]
    fn unicode_letters_count_for_classes() {
        let p = policy();
        assert_eq!(check(&p, "Жжжжжжж1"), Ok(()));
        assert_eq!(
            check(&p, "日本語日本語語1"),
            Err(Violation::MissingLowercase)
        );
    }

    #[test]
    fn nfc_makes_composed_and_decomposed_equal() {
        let p = policy();
        let composed = p.normalize(&Password::new("Caf\u{e9}-Pass1"));
        let decomposed = p.normalize(&Password::new("Cafe\u{301}-Pass1"));
        assert!(composed.ct_eq(&decomposed));
        // Decomposed form is 11 code points, composed 10: the length is counted after NFC.
        assert_eq!(composed.expose().chars().count(), 10);
    }

    #[test]
    fn nfkc_folds_full_width_but_nfc_does_not() {
        let full_width = Password::new("Ａbcdefg1");
        let nfc = policy().normalize(&full_width);
        assert_eq!(nfc.expose(), "Ａbcdefg1");
        let nfkc = Policy::new(PolicyConfig {
            normalization: Normalization::Nfkc,
            ..PolicyConfig::default()
        })
        .normalize(&full_width);
        assert_eq!(nfkc.expose(), "Abcdefg1");
        let none = Policy::new(PolicyConfig {
            normalization: Normalization::None,
            ..PolicyConfig::default()
        })
        .normalize(&Password::new("Cafe\u{301}"));
        assert_eq!(none.expose(), "Cafe\u{301}");
    }
}
