//! Values from the environment: a profile value may hold `${NAME}`, which
//! is replaced by the environment variable `NAME` when the profile loads
//! (for passwords, static tokens and `[http] headers`, so secrets need not
//! sit in the file). `$${` writes a literal `${`. An unset variable is an
//! error naming the profile key and the variable.

use std::fmt;

/// Why a value could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvRefError {
    /// `${NAME}` names a variable that is not set (or not UTF-8).
    Unset {
        /// The profile key.
        key: String,
        /// The variable.
        name: String,
    },
    /// `${` without a closing `}` or with a name that is not
    /// `[A-Za-z_][A-Za-z0-9_]*`.
    Malformed {
        /// The profile key.
        key: String,
    },
}

impl fmt::Display for EnvRefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvRefError::Unset { key, name } => write!(
                f,
                "{key}: environment variable {name} is not set (the value is \"${{{name}}}\")"
            ),
            EnvRefError::Malformed { key } => write!(
                f,
                "{key}: \"${{\" must be followed by a variable name and \"}}\" \
                 (write \"$${{\" for a literal \"${{\")"
            ),
        }
    }
}

impl std::error::Error for EnvRefError {}

/// `value` with every `${NAME}` replaced by `lookup(NAME)`; `key` names the
/// profile key in errors.
pub fn resolve(
    key: &str,
    value: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, EnvRefError> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = after.find('}').ok_or_else(|| EnvRefError::Malformed {
                key: key.to_string(),
            })?;
            let name = &after[..end];
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(EnvRefError::Malformed {
                    key: key.to_string(),
                });
            }
            let found = lookup(name).ok_or_else(|| EnvRefError::Unset {
                key: key.to_string(),
                name: name.to_string(),
            })?;
            out.push_str(&found);
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Looks a variable up in the process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "GATEWAY_KEY").then(|| "k-123".to_string())
    }

    #[test]
    fn replaces_escapes_and_names_the_key() {
        assert_eq!(resolve("k", "${GATEWAY_KEY}", &env).unwrap(), "k-123");
        assert_eq!(
            resolve("k", "Bearer ${GATEWAY_KEY}!", &env).unwrap(),
            "Bearer k-123!"
        );
        assert_eq!(resolve("k", "a$b$${X}", &env).unwrap(), "a$b${X}");
        assert_eq!(resolve("k", "plain", &env).unwrap(), "plain");
        let e = resolve("http.headers.X-Key", "${NOPE}", &env).unwrap_err();
        assert_eq!(
            e,
            EnvRefError::Unset {
                key: "http.headers.X-Key".into(),
                name: "NOPE".into()
            }
        );
        assert!(
            e.to_string()
                .starts_with("http.headers.X-Key: environment variable NOPE")
        );
        assert!(matches!(
            resolve("k", "${BAD NAME}", &env),
            Err(EnvRefError::Malformed { .. })
        ));
        assert!(matches!(
            resolve("k", "${OPEN", &env),
            Err(EnvRefError::Malformed { .. })
        ));
    }
}
