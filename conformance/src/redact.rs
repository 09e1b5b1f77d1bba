//! Secrets (passwords and tokens) and their redaction: every string that
//! leaves the harness (reports, curl commands, snapshots, errors) goes
//! through a [`Redactor`] unless `--show-secrets` is given.

/// Secrets shorter than this are not redacted (they would blank out
/// ordinary text); the harness never generates real secrets this short.
const MIN_SECRET_LEN: usize = 4;

/// Replaces known secret values with labels like `<password:new-1>`.
#[derive(Debug, Clone)]
pub struct Redactor {
    show: bool,
    /// (value as it may appear, replacement), longest value first.
    entries: Vec<(String, String)>,
}

impl Redactor {
    /// A redactor; with `show_secrets` it leaves text untouched.
    pub fn new(show_secrets: bool) -> Redactor {
        Redactor {
            show: show_secrets,
            entries: Vec::new(),
        }
    }

    /// Whether secrets are shown.
    pub fn shows_secrets(&self) -> bool {
        self.show
    }

    /// Registers a secret under `label` (like `password:new-1`). Also
    /// registers its JSON-escaped forms ([`json_escaped_forms`]), as they
    /// appear in request bodies and in what a target echoes.
    /// The first label given to a value wins.
    pub fn add(&mut self, value: &str, label: &str) {
        if value.chars().count() < MIN_SECRET_LEN {
            return;
        }
        let replacement = format!("<{label}>");
        let mut forms = vec![value.to_string()];
        forms.extend(json_escaped_forms(value));
        for form in forms {
            if !self.entries.iter().any(|(v, _)| *v == form) {
                self.entries.push((form, replacement.clone()));
            }
        }
        self.entries
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    }

    /// The label of a registered value, if any.
    pub fn label_of(&self, value: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(v, _)| v == value)
            .map(|(_, l)| l.as_str())
    }

    /// `text` with every registered secret replaced by its label.
    pub fn apply(&self, text: &str) -> String {
        if self.show {
            return text.to_string();
        }
        let mut out = text.to_string();
        for (value, label) in &self.entries {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), label);
            }
        }
        out
    }

    /// Redacts every string inside a JSON value.
    pub fn apply_json(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.apply(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.apply_json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.apply(k), self.apply_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// The forms in which a program may print `secret` besides verbatim (a
/// token command's stderr): JSON-escaped ([`json_escaped_forms`]),
/// percent-encoded (upper- and lower-case hex, `+` or `%20` for a space,
/// and JavaScript's `encodeURIComponent`), and base64 (standard and
/// URL-safe) of any text that contains it, at each of the three byte
/// alignments, as the characters that only the secret's bytes decide
/// (an HTTP Basic header of `subject:secret` included). Longest first;
/// forms under 8 characters are left out (too likely to occur by chance).
pub fn encoded_forms(secret: &str) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut forms = Vec::new();
    forms.extend(json_escaped_forms(secret));
    for upper in [true, false] {
        for plus in [true, false] {
            forms.push(percent_encoded(secret, upper, plus, false));
        }
    }
    // JavaScript's encodeURIComponent: upper-case hex, `!'()*` left as is.
    forms.push(percent_encoded(secret, true, false, true));
    let bytes = secret.as_bytes();
    for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
        for k in 0..3usize {
            let mut shifted = vec![0u8; k];
            shifted.extend_from_slice(bytes);
            let encoded = engine.encode(&shifted);
            // Whole groups of three bytes only; the first group is mixed
            // with what precedes the secret unless it starts it.
            let start = if k == 0 { 0 } else { 4 };
            let end = 4 * (shifted.len() / 3);
            if end > start {
                forms.push(encoded[start..end].to_string());
            }
        }
    }
    forms.retain(|f| f.len() >= 8 && f != secret);
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    forms
}

/// The JSON string escapes of `secret` (without the quotes) that differ
/// from it, as common encoders write them: serde_json's (control
/// characters, `"` and `\` only); the ASCII-only one of Python's
/// `json.dumps` and most encoders' "ensure ASCII" options (every non-ASCII
/// character as `\uXXXX`, surrogate pairs beyond the BMP, lower- and
/// upper-case hex); Go's `encoding/json` (`<`, `>`, `&`, U+2028 and U+2029
/// escaped); Gson's (`<`, `>`, `&`, `=`, `'`); and each of those with `/`
/// escaped as `\/` (PHP's `json_encode`, some Java encoders).
pub fn json_escaped_forms(secret: &str) -> Vec<String> {
    const GO: &[char] = &['<', '>', '&', '\u{2028}', '\u{2029}'];
    const GSON: &[char] = &['<', '>', '&', '=', '\''];
    let mut forms = vec![
        json_escaped(secret, false, false, &[]),
        json_escaped(secret, false, true, &[]),
        json_escaped(secret, true, true, &[]),
        json_escaped(secret, false, false, GO),
        json_escaped(secret, false, false, GSON),
    ];
    let slashed: Vec<String> = forms.iter().map(|f| f.replace('/', "\\/")).collect();
    forms.extend(slashed);
    forms.retain(|f| f != secret);
    forms.sort();
    forms.dedup();
    forms
}

/// `secret` as the inside of a JSON string: `"` and `\` escaped, control
/// characters as `\b \f \n \r \t` or `\u00XX`, the `extra` characters and,
/// with `non_ascii`, every non-ASCII character as `\uXXXX` (UTF-16 units),
/// in upper- or lower-case hex.
fn json_escaped(secret: &str, upper: bool, non_ascii: bool, extra: &[char]) -> String {
    let mut out = String::new();
    let unit = |out: &mut String, u: u16| {
        if upper {
            out.push_str(&format!("\\u{u:04X}"));
        } else {
            out.push_str(&format!("\\u{u:04x}"));
        }
    };
    for c in secret.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' || extra.contains(&c) || (non_ascii && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    unit(&mut out, *u);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `secret` percent-encoded: every byte but the unreserved ones (RFC
/// 3986), with upper- or lower-case hex, a space as `+` or `%20`; with
/// `js_marks`, `!'()*` are also left as they are (`encodeURIComponent`).
fn percent_encoded(secret: &str, upper: bool, plus: bool, js_marks: bool) -> String {
    let mut out = String::new();
    for b in secret.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b'!' | b'\'' | b'(' | b')' | b'*' if js_marks => out.push(b as char),
            b' ' if plus => out.push('+'),
            _ if upper => out.push_str(&format!("%{b:02X}")),
            _ => out.push_str(&format!("%{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_longest_first_and_json_escapes() {
        let mut r = Redactor::new(false);
        r.add("Alice-Passw0rd", "password:current");
        r.add("Alice-Passw0rd-2", "password:new-1");
        r.add("Ab1\u{7}cdefgh", "password:control");
        let text = r#"{"old_password":"Alice-Passw0rd","new_password":"Alice-Passw0rd-2","x":"Ab1\u0007cdefgh"}"#;
        assert_eq!(
            r.apply(text),
            r#"{"old_password":"<password:current>","new_password":"<password:new-1>","x":"<password:control>"}"#
        );
    }

    #[test]
    fn show_secrets_leaves_text_alone() {
        let mut r = Redactor::new(true);
        r.add("secret-value", "password:current");
        assert_eq!(r.apply("secret-value"), "secret-value");
    }

    #[test]
    fn first_label_wins() {
        let mut r = Redactor::new(false);
        r.add("secret-value", "password:current");
        r.add("secret-value", "password:other");
        assert_eq!(r.apply("secret-value"), "<password:current>");
    }

    #[test]
    fn ascii_escaped_and_slash_escaped_json_forms_are_redacted() {
        let mut r = Redactor::new(false);
        r.add("Pässwörd/𝄞-1", "password:new-1");
        // Python's json.dumps (ensure_ascii) and PHP's json_encode.
        for echoed in [
            r#"{"p":"P\u00e4ssw\u00f6rd/\ud834\udd1e-1"}"#,
            r#"{"p":"P\u00E4ssw\u00F6rd\/\uD834\uDD1E-1"}"#,
            r#"{"p":"Pässwörd\/𝄞-1"}"#,
        ] {
            assert_eq!(r.apply(echoed), r#"{"p":"<password:new-1>"}"#, "{echoed}");
        }
    }

    #[test]
    fn encoded_forms_cover_encode_uri_component_and_ascii_json() {
        let forms = encoded_forms("it's (a) secret!*ü");
        // encodeURIComponent("it's (a) secret!*ü")
        assert!(forms.contains(&"it's%20(a)%20secret!*%C3%BC".to_string()));
        assert!(forms.contains(&"it's (a) secret!*\\u00fc".to_string()));
        // The old forms stay.
        assert!(forms.contains(&"it%27s%20%28a%29%20secret%21%2A%C3%BC".to_string()));
    }

    /// serde_json's escaping is the first form: what the suite's own
    /// request bodies hold.
    #[test]
    fn the_first_form_is_serde_jsons() {
        for secret in ["Ab1\u{7}cd\"e\\f\n\u{8}\u{c}\r\t", "Pässwörd/𝄞<>&='-1"] {
            let json = serde_json::Value::String(secret.to_string()).to_string();
            assert_eq!(
                json_escaped(secret, false, false, &[]),
                json[1..json.len() - 1]
            );
        }
    }

    /// Go's `encoding/json` and Gson escape HTML-significant characters.
    #[test]
    fn html_safe_forms_of_go_and_gson_are_redacted() {
        let mut r = Redactor::new(false);
        r.add("it's<a>&b=1", "password:new-1");
        for echoed in [
            r#"{"p":"it's\u003ca\u003e\u0026b=1"}"#,
            r#"{"p":"it\u0027s\u003ca\u003e\u0026b\u003d1"}"#,
        ] {
            assert_eq!(r.apply(echoed), r#"{"p":"<password:new-1>"}"#, "{echoed}");
        }
    }
}
