//! A profile's TOML error as one line that holds no secret: the line, the
//! column, the key the line assigns (the text before its `=`, never what
//! follows) and toml's message with any value it quotes removed. toml's
//! own rendering shows the whole source line, which for `password = "…"`
//! is the password, on stderr and in CI logs.

/// `line L, column C (key K): message`, from `error` on `text`.
pub fn describe(error: &toml::de::Error, text: &str) -> String {
    let message = without_values(error.message());
    let Some(mut start) = error.span().map(|s| s.start.min(text.len())) else {
        return message;
    };
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let source = text[line_start..].lines().next().unwrap_or("");
    match key_of(source) {
        Some(key) => format!("line {line}, column {column} (key {key}): {message}"),
        None => format!("line {line}, column {column}: {message}"),
    }
}

/// The key a source line assigns, or the table it opens; `None` when the
/// part before `=` does not look like a key (it is then not shown).
fn key_of(source: &str) -> Option<String> {
    let trimmed = source.trim_start();
    if trimmed.starts_with('[') {
        let header = trimmed.split(']').next()?.trim_start_matches('[');
        return is_key(header).then(|| format!("[{}]", header.trim()));
    }
    let (key, _value) = trimmed.split_once('=')?;
    let key = key.trim();
    is_key(key).then(|| format!("`{key}`"))
}

/// Bare keys and dotted keys of them (quoted keys are not shown).
fn is_key(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && s.split('.').all(|part| {
            let part = part.trim();
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

/// toml's message with the values serde quotes in it removed
/// (`invalid type: string "…"`, `integer `…``, …): key names in
/// backquotes (`unknown field `x``) stay.
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        let next = [
            "string \"",
            "integer `",
            "floating point `",
            "boolean `",
            "character `",
        ]
        .iter()
        .filter_map(|p| rest.find(p).map(|i| (i, *p)))
        .min();
        let Some((i, prefix)) = next else {
            out.push_str(rest);
            return out;
        };
        let (kind, quote) = prefix.split_at(prefix.len() - 1);
        out.push_str(&rest[..i]);
        out.push_str(kind.trim_end());
        rest = &rest[i + prefix.len()..];
        // Skip to the closing quote (a string's `\"` and `\\` escaped).
        let mut escaped = false;
        let mut end = rest.len();
        for (j, c) in rest.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' && quote == "\"" {
                escaped = true;
            } else if quote.starts_with(c) {
                end = j + c.len_utf8();
                break;
            }
        }
        rest = &rest[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        let e = toml::from_str::<toml::Table>(text).unwrap_err();
        describe(&e, text)
    }

    #[test]
    fn a_syntax_error_names_line_column_and_key_but_not_the_value() {
        let text = "base_url = \"http://127.0.0.1:9\"\n\n[accounts.active]\nsubject = \"alice\"\npassword = \"Hunter2-Secret\" extra\n";
        let shown = error_of(text);
        assert!(!shown.contains("Hunter2"), "{shown}");
        assert!(shown.starts_with("line 5, column "), "{shown}");
        assert!(shown.contains("(key `password`)"), "{shown}");
    }

    #[test]
    fn values_quoted_in_messages_are_removed_and_key_names_kept() {
        assert_eq!(
            without_values("invalid type: string \"Bearer s3\\\"cret\", expected a map"),
            "invalid type: string, expected a map"
        );
        assert_eq!(
            without_values("invalid type: integer `12345678`, expected a string"),
            "invalid type: integer, expected a string"
        );
        assert_eq!(
            without_values("unknown field `histroy`, expected one of `history`"),
            "unknown field `histroy`, expected one of `history`"
        );
    }

    #[test]
    fn a_line_that_is_no_key_assignment_names_no_key() {
        assert_eq!(key_of("  \"quoted key\" = 1"), None);
        assert_eq!(
            key_of("[accounts.active]"),
            Some("[accounts.active]".into())
        );
        assert_eq!(
            key_of("tokens.ttl_secs = 3"),
            Some("`tokens.ttl_secs`".into())
        );
        assert_eq!(key_of("no assignment here"), None);
    }
}
