//! `WWW-Authenticate` challenges parsed per RFC 7235 §4.1 with http-auth:
//! scheme and parameter names compared case-insensitively, parameters in any
//! order, values as token or quoted-string (unescaped).

/// One challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme as written.
    pub scheme: String,
    /// Parameters: lower-cased name, unescaped value, in header order.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of a parameter (name compared case-insensitively).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the scheme is `Bearer` in any case.
    pub fn is_bearer(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("bearer")
    }
}

/// Parses every `WWW-Authenticate` field value of a response (several
/// fields are one comma-separated list, RFC 9110 §5.3).
pub fn parse(values: &[String]) -> Result<Vec<Challenge>, String> {
    let joined = values.join(", ");
    let parsed = http_auth::parse_challenges(&joined).map_err(|e| e.to_string())?;
    Ok(parsed
        .into_iter()
        .map(|c| Challenge {
            scheme: c.scheme.to_string(),
            params: c
                .params
                .iter()
                .map(|(name, value)| (name.to_ascii_lowercase(), value.to_unescaped()))
                .collect(),
        })
        .collect())
}

/// Whether a value only uses the characters RFC 6750 §3 (and RFC 6749
/// §5.2) allow in `error`, `error_description`: %x20-21 / %x23-5B / %x5D-7E.
pub fn is_error_text(value: &str) -> bool {
    value
        .bytes()
        .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(header: &str) -> Challenge {
        let mut all = parse(&[header.to_string()]).unwrap();
        assert_eq!(all.len(), 1, "{header}");
        all.remove(0)
    }

    #[test]
    fn vendor_header_parses() {
        let c = one(
            r#"Bearer error="invalid_token", error_description="Error decoding JWT", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1""#,
        );
        assert!(c.is_bearer());
        assert_eq!(c.param("error"), Some("invalid_token"));
        assert_eq!(c.param("error_description"), Some("Error decoding JWT"));
        assert_eq!(
            c.param("error_uri"),
            Some("https://tools.ietf.org/html/rfc6750#section-3.1")
        );
    }

    #[test]
    fn scheme_case_order_token_form_and_escapes_do_not_matter() {
        let c = one(r#"bEaReR ERROR=invalid_token,error_description="Error \"decoding\" JWT""#);
        assert!(c.is_bearer());
        assert_eq!(c.param("error"), Some("invalid_token"));
        assert_eq!(c.param("Error_Description"), Some("Error \"decoding\" JWT"));
    }

    #[test]
    fn several_fields_and_challenges() {
        let all = parse(&[
            "Basic realm=\"x\"".to_string(),
            "Bearer error=\"insufficient_scope\"".to_string(),
        ])
        .unwrap();
        assert_eq!(all.len(), 2);
        assert!(!all[0].is_bearer());
        assert_eq!(all[1].param("error"), Some("insufficient_scope"));
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(parse(&["Bearer error=\"open".to_string()]).is_err());
        assert!(parse(&["Bearer error error".to_string()]).is_err());
    }

    #[test]
    fn error_text_charset() {
        assert!(is_error_text("User is frozen."));
        assert!(!is_error_text("quote \" inside"));
        assert!(!is_error_text("backslash \\"));
        assert!(!is_error_text("non-ascii é"));
    }
}
