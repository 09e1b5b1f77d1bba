//! Media types (RFC 9110 §8.3.1) compared by meaning: type and subtype
//! case-insensitively, parameters by case-insensitive name, values token or
//! quoted-string.

/// A parsed `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    /// `type/subtype`, lower-cased.
    pub essence: String,
    /// Parameters: lower-cased name, unquoted value.
    pub params: Vec<(String, String)>,
}

impl MediaType {
    /// The value of a parameter (name compared case-insensitively).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Parses `type "/" subtype *( OWS ";" OWS [ parameter ] )`.
pub fn parse(input: &str) -> Result<MediaType, String> {
    let s = input.trim_matches(is_ows);
    let end = s.find(|c: char| !is_tchar(c)).unwrap_or(s.len());
    let (ty, rest) = s.split_at(end);
    let rest = rest
        .strip_prefix('/')
        .ok_or_else(|| format!("{input:?}: expected type/subtype"))?;
    let end = rest.find(|c: char| !is_tchar(c)).unwrap_or(rest.len());
    let (subtype, mut rest) = rest.split_at(end);
    if ty.is_empty() || subtype.is_empty() {
        return Err(format!("{input:?}: empty type or subtype"));
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches(is_ows);
        if rest.is_empty() {
            break;
        }
        rest = rest
            .strip_prefix(';')
            .ok_or_else(|| format!("{input:?}: expected ';' before {rest:?}"))?
            .trim_start_matches(is_ows);
        if rest.is_empty() || rest.starts_with(';') {
            continue;
        }
        let end = rest.find(|c: char| !is_tchar(c)).unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        let after = after
            .strip_prefix('=')
            .filter(|_| !name.is_empty())
            .ok_or_else(|| format!("{input:?}: expected name=value at {rest:?}"))?;
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut close = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, e)) => value.push(e),
                        None => break,
                    },
                    '"' => {
                        close = Some(i);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let close = close.ok_or_else(|| format!("{input:?}: unterminated quoted-string"))?;
            (value, &quoted[close + 1..])
        } else {
            let end = after.find(|c: char| !is_tchar(c)).unwrap_or(after.len());
            if end == 0 {
                return Err(format!("{input:?}: empty value for {name}"));
            }
            (after[..end].to_string(), &after[end..])
        };
        params.push((name.to_ascii_lowercase(), value));
        rest = after;
    }
    Ok(MediaType {
        essence: format!(
            "{}/{}",
            ty.to_ascii_lowercase(),
            subtype.to_ascii_lowercase()
        ),
        params,
    })
}

/// Whether a `Content-Type` means JSON in UTF-8: `application/json`, with
/// a `charset` (if any) of UTF-8 in any case. Returns why not.
pub fn is_json_utf8(content_type: &str) -> Result<(), String> {
    let mt = parse(content_type)?;
    if mt.essence != "application/json" {
        return Err(format!(
            "media type is {}, not application/json",
            mt.essence
        ));
    }
    match mt.param("charset") {
        None => Ok(()),
        Some(c) if c.eq_ignore_ascii_case("utf-8") => Ok(()),
        Some(c) => Err(format!("charset is {c}, not UTF-8")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_spellings_are_json_utf8() {
        for ct in [
            "application/json;charset=UTF-8",
            "application/json; charset=utf-8",
            "Application/JSON ; Charset=\"UTF-8\"",
            "application/json",
            "application/json;",
        ] {
            assert_eq!(is_json_utf8(ct), Ok(()), "{ct}");
        }
    }

    #[test]
    fn other_types_and_charsets_are_not() {
        assert!(is_json_utf8("text/plain;charset=UTF-8").is_err());
        assert!(is_json_utf8("application/json;charset=ISO-8859-1").is_err());
        assert!(is_json_utf8("application/problem+json").is_err());
        assert!(is_json_utf8("application/json charset=UTF-8").is_err());
        assert!(is_json_utf8("").is_err());
    }

    #[test]
    fn parameters_are_unquoted_and_unescaped() {
        let mt = parse(r#"text/plain; a="x\"y"; B=z"#).unwrap();
        assert_eq!(mt.essence, "text/plain");
        assert_eq!(mt.param("a"), Some("x\"y"));
        assert_eq!(mt.param("b"), Some("z"));
        assert!(parse("text/plain; a=\"open").is_err());
    }
}
