//! `Password`: a string that never prints. Every password the server handles
//! is wrapped in it from the moment the body is parsed, so a stray `{:?}` in a
//! log line shows `[redacted]`, never the secret. Equality is constant-time.

use std::fmt;

use subtle::ConstantTimeEq;

/// A password (old or new) as sent by the client, or after normalisation.
#[derive(Clone, Default)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(s: impl Into<String>) -> Password {
        Password(s.into())
    }

    /// The secret text, for hashing and policy checks only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time equality (the length is not hidden).
    pub fn ct_eq(&self, other: &Password) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let p = Password::new("Hunter2-Secret");
        assert_eq!(format!("{p:?}"), "Password([redacted])");
    }

    #[test]
    fn equality() {
        assert!(Password::new("Ab1defgh").ct_eq(&Password::new("Ab1defgh")));
        assert!(!Password::new("Ab1defgh").ct_eq(&Password::new("Ab1defgH")));
        assert!(!Password::new("Ab1defgh").ct_eq(&Password::new("Ab1defgh1")));
    }
}
