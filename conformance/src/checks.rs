//! Checks: one response against one expectation, compared by meaning. Each
//! check carries the tier of the requirement it enforces; the verdict
//! module weighs them.

use serde::Serialize;

use crate::challenge;
use crate::exchange::Response;
use crate::media_type;
use crate::redact::Redactor;
use crate::vocabulary::{Challenge, Description, ERROR_URI, Expect, Tier};

/// The exact `Content-Type` of the document's JSON errors.
pub const VENDOR_JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// How a check came out before weighing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// As expected.
    Pass,
    /// Not as expected.
    Fail,
    /// An observation that never fails (like extra JSON members).
    Note,
}

/// How a check weighs in the verdict, given the tier and the enforcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Weight {
    /// Passed.
    Pass,
    /// Failed a required expectation.
    Fail,
    /// Failed an RFC expectation (not strict).
    Warn,
    /// Failed a reference expectation on an external target.
    Info,
    /// An observation.
    Note,
}

/// The `what` of the check every response gets: no 5xx. It is the one
/// check that keeps seed weight in a case of a weaker tier (the document's
/// error table leaves no room for a server error, whatever the request).
pub const NO_SERVER_ERROR: &str = "no server error (5xx)";

/// The `what` of the check that a case's refused requests left the
/// tracked password unchanged (found by the runner's batched
/// confirmation); like [`NO_SERVER_ERROR`] it keeps seed weight.
pub const PASSWORD_UNCHANGED: &str = "effect: the tracked password is unchanged";

/// The `what` of the check that a 200 to a change took effect (S1: the
/// password was changed, whatever the case's tier); it keeps seed weight.
pub const SUCCESS_TOOK_EFFECT: &str = "effect: after a 200 the new password works";

/// Whether a check keeps its own tier in a case of a weaker tier.
pub fn keeps_its_tier(what: &str) -> bool {
    what == NO_SERVER_ERROR || what == PASSWORD_UNCHANGED || what == SUCCESS_TOOK_EFFECT
}

/// One compared expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Step (1-based) of the case whose response was checked.
    pub step: usize,
    /// Tier of the requirement, capped by the case's tier.
    pub tier: Tier,
    /// What was compared.
    pub what: String,
    /// The expectation.
    pub expected: String,
    /// What the target did.
    pub observed: String,
    /// Raw outcome.
    pub outcome: Outcome,
    /// Weight in the verdict (set by [`crate::verdict`]).
    pub weight: Weight,
}

struct Sink<'a> {
    checks: Vec<Check>,
    redactor: &'a Redactor,
}

impl Sink<'_> {
    fn push(&mut self, tier: Tier, what: &str, expected: String, observed: String, ok: bool) {
        self.checks.push(Check {
            step: 0,
            tier,
            what: what.to_string(),
            expected: self.redactor.apply(&expected),
            observed: self.redactor.apply(&observed),
            outcome: if ok { Outcome::Pass } else { Outcome::Fail },
            weight: Weight::Pass,
        });
    }

    fn note(&mut self, what: &str, observed: String) {
        self.checks.push(Check {
            step: 0,
            tier: Tier::Reference,
            what: what.to_string(),
            expected: String::new(),
            observed: self.redactor.apply(&observed),
            outcome: Outcome::Note,
            weight: Weight::Note,
        });
    }

    fn status(&mut self, tier: Tier, expected: u16, r: &Response) {
        self.push(
            tier,
            "status",
            expected.to_string(),
            r.status.to_string(),
            r.status == expected,
        );
    }

    fn empty_body(&mut self, tier: Tier, r: &Response) {
        let observed = if r.body.is_empty() {
            "empty".to_string()
        } else {
            format!(
                "{} bytes: {}",
                r.body.len(),
                crate::terminal::line(&String::from_utf8_lossy(&r.body[..r.body.len().min(200)]))
            )
        };
        self.push(
            tier,
            "body",
            "empty".to_string(),
            observed,
            r.body.is_empty(),
        );
    }
}

fn show(v: Option<String>) -> String {
    v.map_or_else(|| "absent".to_string(), |v| format!("{v:?}"))
}

/// Compares `response` with `expect`; steps are filled in by the caller.
pub fn evaluate(expect: &Expect, response: &Response, redactor: &Redactor) -> Vec<Check> {
    let mut s = Sink {
        checks: Vec::new(),
        redactor,
    };
    match *expect {
        Expect::Success => {
            s.status(Tier::Seed, 200, response);
            s.empty_body(Tier::Reference, response);
        }
        Expect::JsonError { error, description } => {
            json_error(&mut s, response, error, description);
        }
        Expect::Challenge(c) => bearer_challenge(&mut s, response, c),
        Expect::Status(code) => s.status(Tier::Seed, code, response),
        Expect::MethodNotAllowed => {
            s.status(Tier::Seed, 405, response);
            if response.status == 405 {
                let allow = response.header_values("allow");
                s.push(
                    Tier::Rfc,
                    "Allow header (RFC 9110 §15.5.6: a 405 MUST carry Allow)",
                    "present".to_string(),
                    if allow.is_empty() {
                        "absent".to_string()
                    } else {
                        allow.join(", ")
                    },
                    !allow.is_empty(),
                );
                let lists_post = allow
                    .iter()
                    .flat_map(|v| v.split(','))
                    .any(|m| m.trim() == "POST");
                s.push(
                    Tier::Reference,
                    "Allow lists POST",
                    "POST".to_string(),
                    allow.join(", "),
                    lists_post,
                );
            }
        }
    }
    s.checks
}

fn json_error(s: &mut Sink<'_>, r: &Response, error: &str, description: Description) {
    s.status(Tier::Seed, 400, r);
    let content_type = r.header("content-type");
    match &content_type {
        None => s.push(
            Tier::Seed,
            "Content-Type",
            "application/json (charset UTF-8 if given)".to_string(),
            "absent".to_string(),
            false,
        ),
        Some(ct) => {
            let verdict = media_type::is_json_utf8(ct);
            s.push(
                Tier::Seed,
                "Content-Type",
                "application/json (charset UTF-8 if given)".to_string(),
                match &verdict {
                    Ok(()) => ct.clone(),
                    Err(why) => format!("{ct} ({why})"),
                },
                verdict.is_ok(),
            );
        }
    }
    s.push(
        Tier::Reference,
        "Content-Type bytes",
        VENDOR_JSON_CONTENT_TYPE.to_string(),
        show(content_type.clone()),
        content_type.as_deref() == Some(VENDOR_JSON_CONTENT_TYPE),
    );
    let body: Result<serde_json::Map<String, serde_json::Value>, String> =
        match serde_json::from_slice::<serde_json::Value>(&r.body) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            Ok(other) => Err(format!("JSON but not an object: {other}")),
            Err(e) => Err(format!(
                "not JSON ({e}): {:?}",
                String::from_utf8_lossy(&r.body[..r.body.len().min(200)])
            )),
        };
    let map = match body {
        Ok(map) => {
            s.push(
                Tier::Seed,
                "body",
                "a JSON object".to_string(),
                "a JSON object".to_string(),
                true,
            );
            map
        }
        Err(why) => {
            s.push(Tier::Seed, "body", "a JSON object".to_string(), why, false);
            return;
        }
    };
    let observed_error = map.get("error").map(|v| v.to_string());
    s.push(
        Tier::Seed,
        "error member",
        format!("{error:?}"),
        observed_error
            .clone()
            .unwrap_or_else(|| "absent".to_string()),
        map.get("error").and_then(|v| v.as_str()) == Some(error),
    );
    let observed_description = map.get("error_description");
    match description {
        Description::Unspecified => {}
        Description::Exact(text) => s.push(
            Tier::Seed,
            "error_description member",
            format!("{text:?}"),
            observed_description.map_or_else(|| "absent".to_string(), |v| v.to_string()),
            observed_description.and_then(|v| v.as_str()) == Some(text),
        ),
        Description::AnyString => s.push(
            Tier::Reference,
            "error_description member",
            "a string".to_string(),
            observed_description.map_or_else(|| "absent".to_string(), |v| v.to_string()),
            observed_description.is_some_and(|v| v.is_string()),
        ),
    }
    if let Some(text) = observed_description.and_then(|v| v.as_str()) {
        s.push(
            Tier::Rfc,
            "error_description characters (RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E)",
            "printable ASCII without \" and \\".to_string(),
            format!("{text:?}"),
            challenge::is_error_text(text),
        );
    }
    let extra: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !matches!(*k, "error" | "error_description"))
        .collect();
    if !extra.is_empty() {
        s.note("extra members", extra.join(", "));
    }
}

fn bearer_challenge(s: &mut Sink<'_>, r: &Response, c: Challenge) {
    s.status(Tier::Seed, c.status(), r);
    let values = r.header_values("www-authenticate");
    if values.is_empty() {
        s.push(
            Tier::Seed,
            "WWW-Authenticate",
            c.header(),
            "absent".to_string(),
            false,
        );
    } else {
        match challenge::parse(&values) {
            Err(e) => s.push(
                Tier::Seed,
                "WWW-Authenticate syntax (RFC 7235 §4.1)",
                "a challenge list".to_string(),
                format!("{} ({e})", values.join(", ")),
                false,
            ),
            Ok(challenges) => {
                let bearers: Vec<_> = challenges.iter().filter(|ch| ch.is_bearer()).collect();
                s.push(
                    Tier::Seed,
                    "Bearer challenges",
                    "1".to_string(),
                    format!("{} in {}", bearers.len(), values.join(", ")),
                    bearers.len() == 1,
                );
                if let Some(b) = bearers.first() {
                    for (name, expected) in [
                        ("error", c.error()),
                        ("error_description", c.description()),
                        ("error_uri", ERROR_URI),
                    ] {
                        let got = b.param(name).map(str::to_string);
                        s.push(
                            Tier::Seed,
                            &format!("challenge {name}"),
                            format!("{expected:?}"),
                            show(got.clone()),
                            got.as_deref() == Some(expected),
                        );
                    }
                    if let Some(text) = b.param("error_description") {
                        s.push(
                            Tier::Rfc,
                            "error_description characters (RFC 6750 §3: %x20-21 / %x23-5B / %x5D-7E)",
                            "printable ASCII without \" and \\".to_string(),
                            format!("{text:?}"),
                            challenge::is_error_text(text),
                        );
                    }
                    let extra: Vec<&str> = b
                        .params
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .filter(|n| !matches!(*n, "error" | "error_description" | "error_uri"))
                        .collect();
                    if !extra.is_empty() {
                        s.note("extra challenge parameters", extra.join(", "));
                    }
                }
            }
        }
        let exact = c.header();
        s.push(
            Tier::Reference,
            "WWW-Authenticate bytes",
            exact.clone(),
            values.join(" | "),
            values.len() == 1 && values[0] == exact,
        );
    }
    s.empty_body(Tier::Seed, r);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&'static str, &str)], body: &str) -> Response {
        Response::for_tests(status, headers, body)
    }

    fn failed(checks: &[Check]) -> Vec<String> {
        checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .map(|c| format!("{}:{}", c.tier.as_str(), c.what))
            .collect()
    }

    #[test]
    fn vendor_bytes_pass_everything() {
        let r = response(
            400,
            &[("content-type", "application/json;charset=UTF-8")],
            r#"{"error":"abnormal_user_status","error_description":"User is frozen."}"#,
        );
        let checks = evaluate(&Expect::FROZEN, &r, &Redactor::new(false));
        assert!(failed(&checks).is_empty(), "{:?}", failed(&checks));
    }

    #[test]
    fn equivalent_content_type_fails_only_the_reference_bytes() {
        let r = response(
            400,
            &[("content-type", "application/json; charset=utf-8")],
            r#"{"error":"wrong_old_password","extra":1}"#,
        );
        let checks = evaluate(&Expect::WRONG_OLD, &r, &Redactor::new(false));
        assert_eq!(failed(&checks), vec!["reference:Content-Type bytes"]);
        assert!(
            checks
                .iter()
                .any(|c| c.outcome == Outcome::Note && c.observed == "extra")
        );
    }

    #[test]
    fn wrong_error_and_description_fail_seed_checks() {
        let r = response(
            400,
            &[("content-type", "application/json;charset=UTF-8")],
            r#"{"error":"abnormal_user_status","error_description":"User is locked."}"#,
        );
        let checks = evaluate(&Expect::FROZEN, &r, &Redactor::new(false));
        assert_eq!(failed(&checks), vec!["seed:error_description member"]);
        let r = response(400, &[("content-type", "text/html")], "<html>");
        let checks = evaluate(&Expect::WRONG_OLD, &r, &Redactor::new(false));
        assert_eq!(
            failed(&checks),
            vec![
                "seed:Content-Type",
                "reference:Content-Type bytes",
                "seed:body"
            ]
        );
    }

    #[test]
    fn challenge_in_another_order_passes_seed_but_not_bytes() {
        let r = response(
            401,
            &[(
                "www-authenticate",
                r#"bearer error_uri="https://tools.ietf.org/html/rfc6750#section-3.1",error=invalid_token, error_description="Error decoding JWT""#,
            )],
            "",
        );
        let checks = evaluate(
            &Expect::Challenge(Challenge::InvalidToken),
            &r,
            &Redactor::new(false),
        );
        assert_eq!(failed(&checks), vec!["reference:WWW-Authenticate bytes"]);
    }

    #[test]
    fn challenge_with_wrong_description_and_a_body_fails() {
        let r = response(
            401,
            &[(
                "www-authenticate",
                r#"Bearer error="invalid_token", error_description="expired", error_uri="https://tools.ietf.org/html/rfc6750#section-3.1""#,
            )],
            "{}",
        );
        let checks = evaluate(
            &Expect::Challenge(Challenge::InvalidToken),
            &r,
            &Redactor::new(false),
        );
        assert_eq!(
            failed(&checks),
            vec![
                "seed:challenge error_description",
                "reference:WWW-Authenticate bytes",
                "seed:body"
            ]
        );
    }

    #[test]
    fn missing_challenge_fails() {
        let r = response(401, &[], "");
        let checks = evaluate(
            &Expect::Challenge(Challenge::InvalidToken),
            &r,
            &Redactor::new(false),
        );
        assert_eq!(failed(&checks), vec!["seed:WWW-Authenticate"]);
    }

    #[test]
    fn method_not_allowed_needs_allow() {
        let r = response(405, &[], "");
        let checks = evaluate(&Expect::MethodNotAllowed, &r, &Redactor::new(false));
        assert_eq!(
            failed(&checks),
            vec![
                "rfc:Allow header (RFC 9110 §15.5.6: a 405 MUST carry Allow)",
                "reference:Allow lists POST"
            ]
        );
        let r = response(405, &[("allow", "OPTIONS, POST")], "");
        assert!(
            failed(&evaluate(
                &Expect::MethodNotAllowed,
                &r,
                &Redactor::new(false)
            ))
            .is_empty()
        );
    }

    #[test]
    fn success_with_a_body_fails_only_the_reference_check() {
        let r = response(200, &[], "{\"ok\":true}");
        let checks = evaluate(&Expect::Success, &r, &Redactor::new(false));
        assert_eq!(failed(&checks), vec!["reference:body"]);
    }
}
