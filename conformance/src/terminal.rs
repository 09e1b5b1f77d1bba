//! What a target sends, made safe to show. Control characters (C0, DEL,
//! C1) and the Unicode bidirectional controls are written as escapes
//! (`\u{1b}`, `\n`) instead of reaching a terminal or a log, where they
//! could move the cursor, clear the screen, retitle the window or reorder
//! the text shown. Everything the suite prints or writes for a person passes
//! through here: [`line`] for one value inside a line, [`text`] for a whole
//! rendered text (its own line breaks kept), [`json`] for JSON output (kept
//! valid JSON), [`toml_string`] for a value in a TOML file. Text without
//! such characters comes back unchanged.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` is shown as an escape: a control character (Unicode `Cc`)
/// or a bidirectional control (ALM, LRM, RLM, the embeddings, overrides
/// and isolates).
fn escaped(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every character `escape` picks written by `write`; borrowed
/// when there is none.
fn replace<'a>(
    s: &'a str,
    escape: impl Fn(char) -> bool,
    write: impl Fn(&mut String, char),
) -> Cow<'a, str> {
    if !s.chars().any(&escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if escape(c) {
            write(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Rust's escape for a character: `\n`, `\r`, `\t`, else `\u{…}`.
fn rust_escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// One value a target sent, for a single line: every control character
/// escaped, line breaks and tabs included.
pub fn line(s: &str) -> Cow<'_, str> {
    replace(s, escaped, rust_escape)
}

/// A whole text for a terminal, a log or a text file: like [`line`], but
/// its line breaks and tabs are kept (the text's own layout).
pub fn text(s: &str) -> Cow<'_, str> {
    replace(s, |c| escaped(c) && c != '\n' && c != '\t', rust_escape)
}

/// Serialised JSON for a terminal or a file: what `serde_json` leaves raw
/// (DEL, C1, the bidirectional controls; they can only stand inside
/// strings) written as `\uXXXX`, so the document means the same. Line
/// breaks, tabs and carriage returns are JSON's whitespace there: inside
/// strings `serde_json` has escaped them already.
pub fn json(s: &str) -> Cow<'_, str> {
    let whitespace = |c: char| matches!(c, '\n' | '\t' | '\r');
    replace(
        s,
        |c| escaped(c) && !whitespace(c),
        |out, c| {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        },
    )
}

/// A TOML basic string of `s` for a file a person reads: `"` and `\`
/// escaped, every character [`line`] escapes written as `\uXXXX` (TOML
/// reads it back as the same string).
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if escaped(c) => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "a\u{1b}]0;title\u{7}\u{1b}[2J\u{9b}1m\u{202e}z\r\n\tb";

    fn no_raw_control(s: &str) -> bool {
        !s.chars().any(escaped)
    }

    #[test]
    fn line_escapes_every_control_and_bidi_character() {
        let shown = line(HOSTILE);
        assert!(no_raw_control(&shown), "{shown:?}");
        assert_eq!(
            shown,
            "a\\u{1b}]0;title\\u{7}\\u{1b}[2J\\u{9b}1m\\u{202e}z\\r\\n\\tb"
        );
    }

    #[test]
    fn text_keeps_line_breaks_and_tabs_only() {
        let shown = text(HOSTILE);
        assert_eq!(
            shown,
            "a\\u{1b}]0;title\\u{7}\\u{1b}[2J\\u{9b}1m\\u{202e}z\\r\n\tb"
        );
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let plain = "expected 400, observed 401 in Bearer error=\"x\"\n  é ünïcode \\ ok\t";
        assert!(matches!(text(plain), Cow::Borrowed(s) if s == plain));
        assert!(matches!(json(plain), Cow::Borrowed(s) if s == plain));
    }

    #[test]
    fn toml_strings_read_back_as_the_same_value() {
        for value in [HOSTILE, "https://issuer.example/", "quote \" and \\ back"] {
            let doc = format!("v = {}", toml_string(value));
            assert!(no_raw_control(&doc), "{doc:?}");
            let back: toml::Table = toml::from_str(&doc).unwrap();
            assert_eq!(back["v"].as_str(), Some(value));
        }
        assert_eq!(toml_string("https://a/"), "\"https://a/\"");
    }

    #[test]
    fn json_stays_json_with_the_same_meaning() {
        let value = serde_json::json!({ "body": HOSTILE });
        let raw = serde_json::to_string_pretty(&value).unwrap();
        assert!(!no_raw_control(&raw), "serde_json leaves C1 and bidi raw");
        let shown = json(&raw);
        // Nothing left but the document's own line breaks.
        assert!(matches!(text(&shown), Cow::Borrowed(_)), "{shown}");
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, value);
    }
}
