//! Hostile but harmless requests: generated `Authorization` values, bodies
//! (arbitrary bytes, arbitrary JSON, deep nesting, huge strings, invalid
//! UTF-8, the JSON grammar's corners: `\u0000`, lone and reversed
//! surrogate escapes, a BOM, duplicate members, numbers where strings
//! belong) and `Content-Type`s, and how their answers are judged.
//!
//! None of them carries the current password, so no target that checks
//! the old password can change the password, however leniently it decodes
//! (open point 6: a target may accept any `Content-Type` and decode
//! invalid UTF-8 with replacement characters). Bodies that carry some
//! other old password may count toward the lockout; the property keeps
//! that count below the threshold ([`carries_old_password`]).
//!
//! At seed tier an answer must be a 4xx (or 503), never 200, never another
//! 5xx; a bearer challenge must be the document's for its status; the
//! active account is never `user_not_found`. The shape of a 4xx to a
//! malformed request (the reference's 400 `invalid_request`, 413, 415, …)
//! is open point 6: a different shape is a reference-tier finding
//! ([`judge`]).

use http::{HeaderName, HeaderValue, Method};
use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::checks::{self, Outcome};
use crate::exchange::{ENDPOINT_PATH, Request, Response};
use crate::redact::Redactor;
use crate::vocabulary::{Challenge, Description, Expect, Tier};

use super::answers::Deviation;
use super::driver::{Driver, StepToken, is_error};

/// The `Authorization` header(s).
#[derive(Debug, Clone)]
pub enum AuthGen {
    /// None.
    None,
    /// `Bearer <valid token of the active account>`.
    Active,
    /// `bearer <valid token>` (the scheme is case-insensitive).
    ActiveLower,
    /// Two valid `Authorization` headers.
    Twice,
    /// `Bearer <valid token of [accounts.missing]>`.
    Missing,
    /// `Bearer ` and printable junk.
    BearerJunk(String),
    /// Any printable ASCII.
    Junk(String),
    /// Bytes with obs-text (0x80–0xFF).
    ObsText(Vec<u8>),
}

/// The `Content-Type` header.
#[derive(Debug, Clone)]
pub enum TypeGen {
    /// None.
    None,
    /// `application/json`.
    Json,
    /// `application/json; charset=utf-8`.
    JsonCharset,
    /// Printable junk.
    Junk(String),
}

/// The body.
#[derive(Debug, Clone)]
pub enum BodyGen {
    /// Arbitrary bytes.
    Bytes(Vec<u8>),
    /// Arbitrary JSON (never both members strings).
    Json(Value),
    /// `[[[…]]]` or `{"a":{"a":…}}` this deep.
    Deep {
        /// Objects instead of arrays.
        objects: bool,
        /// Nesting depth.
        depth: usize,
    },
    /// `{"old_password": <len × "x">, "new_password": 1}`.
    Huge(usize),
    /// A wrong old password, these invalid UTF-8 bytes in the new
    /// password's string contents (a lenient decoder sees a valid change
    /// with a wrong old password).
    InvalidUtf8(Vec<u8>),
    /// A corner of the JSON grammar, around a wrong old password.
    Corner(Corner),
}

/// A corner of the JSON grammar (RFC 8259). Every body built from one
/// carries a wrong old password (never the current one), so however a
/// target reads it, it cannot change the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corner {
    /// `\u0000` inside both password strings: well-formed JSON.
    NulEscape,
    /// A lone high surrogate escape (`\ud800`) in the old or new password.
    LoneHigh {
        /// In `old_password` (else `new_password`).
        old: bool,
    },
    /// A lone low surrogate escape (`\udc00`) in the old or new password.
    LoneLow {
        /// In `old_password` (else `new_password`).
        old: bool,
    },
    /// A low surrogate escape before a high one (`\udc00\ud800`).
    ReversedPair,
    /// Invalid UTF-8 bytes in the old password's string.
    InvalidUtf8Old,
    /// A UTF-8 byte order mark before the object (RFC 8259 §8.1: MUST NOT
    /// be added; a parser MAY ignore it).
    Bom,
    /// Each member twice (RFC 8259 §4: names SHOULD be unique).
    DuplicateMembers,
    /// A number where the old password's string belongs.
    NumberOld,
    /// A number where the new password's string belongs.
    NumberNew,
    /// A new password of 600 `\u00e9` escapes (3,600 bytes, within the
    /// reference's body limit; 603 code points, far over any length limit).
    LongEscapes,
}

impl Corner {
    const ALL: [Corner; 12] = [
        Corner::NulEscape,
        Corner::LoneHigh { old: true },
        Corner::LoneHigh { old: false },
        Corner::LoneLow { old: true },
        Corner::LoneLow { old: false },
        Corner::ReversedPair,
        Corner::InvalidUtf8Old,
        Corner::Bom,
        Corner::DuplicateMembers,
        Corner::NumberOld,
        Corner::NumberNew,
        Corner::LongEscapes,
    ];

    /// Whether the body is a well-formed change (valid JSON, both members
    /// strings): `wrong_old_password` is then the expected answer.
    pub fn well_formed(self) -> bool {
        matches!(self, Corner::NulEscape | Corner::LongEscapes)
    }

    /// Every string new password a lenient decoder reads from
    /// [`Corner::body`] (U+FFFD for a lone surrogate, the BOM skipped,
    /// invalid UTF-8 replaced, each of duplicate members): a target that
    /// stores refused changes may give the account any of them, so all
    /// are recorded before the request is sent (strict JSON reads none of
    /// several of these bodies; a number read as its digits counts).
    pub fn new_passwords(self) -> Vec<String> {
        let fresh = "Fresh-Passw0rd-9x";
        let one = |p: &str| vec![p.to_string()];
        match self {
            Corner::NulEscape => one("Fresh-\u{0}-Passw0rd9"),
            Corner::LoneHigh { old: true }
            | Corner::LoneLow { old: true }
            | Corner::InvalidUtf8Old
            | Corner::Bom
            | Corner::NumberOld => one(fresh),
            Corner::LoneHigh { old: false } | Corner::LoneLow { old: false } => {
                one("Fresh-\u{FFFD}-Passw0rd9")
            }
            Corner::ReversedPair => one("Fresh-\u{FFFD}\u{FFFD}-Passw0rd9"),
            Corner::DuplicateMembers => vec![fresh.to_string(), "Fresh-Passw0rd-8y".to_string()],
            // A decoder that coerces a number to a string (JavaScript's
            // `String(x)`, pydantic's lax mode) reads "12345678".
            Corner::NumberNew => one("12345678"),
            Corner::LongEscapes => one(&format!("Aa1{}", "\u{e9}".repeat(600))),
        }
    }

    /// The body around `wrong` (a JSON string literal of a wrong old
    /// password, quotes included).
    fn body(self, wrong: &str) -> Vec<u8> {
        let inner = &wrong[1..wrong.len() - 1];
        let change = |old: &str, new: &str| {
            format!("{{\"old_password\":{old},\"new_password\":{new}}}").into_bytes()
        };
        let fresh = "\"Fresh-Passw0rd-9x\"";
        match self {
            Corner::NulEscape => change(
                &format!("\"{inner}\\u0000\""),
                "\"Fresh-\\u0000-Passw0rd9\"",
            ),
            Corner::LoneHigh { old: true } => change(&format!("\"{inner}\\ud800\""), fresh),
            Corner::LoneHigh { old: false } => change(wrong, "\"Fresh-\\ud800-Passw0rd9\""),
            Corner::LoneLow { old: true } => change(&format!("\"{inner}\\udc00\""), fresh),
            Corner::LoneLow { old: false } => change(wrong, "\"Fresh-\\udc00-Passw0rd9\""),
            Corner::ReversedPair => change(wrong, "\"Fresh-\\udc00\\ud800-Passw0rd9\""),
            Corner::InvalidUtf8Old => {
                let mut b = b"{\"old_password\":\"".to_vec();
                b.extend_from_slice(inner.as_bytes());
                b.extend_from_slice(b"\xc3\x28\xff\",\"new_password\":\"Fresh-Passw0rd-9x\"}");
                b
            }
            Corner::Bom => {
                let mut b = b"\xef\xbb\xbf".to_vec();
                b.extend(change(wrong, fresh));
                b
            }
            Corner::DuplicateMembers => format!(
                "{{\"old_password\":{wrong},\"old_password\":\"{inner}-2\",\
                 \"new_password\":{fresh},\"new_password\":\"Fresh-Passw0rd-8y\"}}"
            )
            .into_bytes(),
            Corner::NumberOld => change("12345678", fresh),
            Corner::NumberNew => change(wrong, "12345678"),
            Corner::LongEscapes => change(wrong, &format!("\"Aa1{}\"", "\\u00e9".repeat(600))),
        }
    }
}

/// One hostile request.
#[derive(Debug, Clone)]
pub struct Hostile {
    /// `Authorization`.
    pub auth: AuthGen,
    /// `Content-Type`.
    pub content_type: TypeGen,
    /// Body.
    pub body: BodyGen,
}

fn text(max: usize) -> BoxedStrategy<String> {
    proptest::collection::vec(0x20u8..0x7f, 0..max)
        .prop_map(|b| String::from_utf8(b).unwrap_or_default())
        .boxed()
}

fn json() -> BoxedStrategy<Value> {
    let string = proptest::collection::vec(any::<char>(), 0..16)
        .prop_map(|c| Value::String(c.into_iter().collect()));
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        string,
    ];
    let key = prop_oneof![
        Just("old_password".to_string()),
        Just("new_password".to_string()),
        "[a-z_]{0,12}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .prop_map(defang)
    .boxed()
}

/// An object whose two members are both strings is a well-formed change:
/// its `new_password` becomes `null`.
fn defang(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v
        && m.get("old_password").is_some_and(Value::is_string)
        && m.get("new_password").is_some_and(Value::is_string)
    {
        m.insert("new_password".into(), Value::Null);
    }
    v
}

/// The generated requests.
pub fn requests() -> BoxedStrategy<Hostile> {
    let auth = prop_oneof![
        1 => Just(AuthGen::None),
        4 => Just(AuthGen::Active),
        1 => Just(AuthGen::ActiveLower),
        1 => Just(AuthGen::Twice),
        1 => Just(AuthGen::Missing),
        2 => text(80).prop_map(AuthGen::BearerJunk),
        1 => text(80).prop_map(AuthGen::Junk),
        1 => proptest::collection::vec(0x80u8..=0xff, 1..16).prop_map(AuthGen::ObsText),
    ];
    let content_type = prop_oneof![
        1 => Just(TypeGen::None),
        4 => Just(TypeGen::Json),
        1 => Just(TypeGen::JsonCharset),
        1 => text(40).prop_map(TypeGen::Junk),
    ];
    let body = prop_oneof![
        2 => proptest::collection::vec(any::<u8>(), 0..512).prop_map(BodyGen::Bytes),
        4 => json().prop_map(BodyGen::Json),
        1 => (any::<bool>(), prop_oneof![1usize..200, 200usize..2000])
            .prop_map(|(objects, depth)| BodyGen::Deep { objects, depth }),
        1 => prop_oneof![3000usize..4200, 4200usize..65_536].prop_map(BodyGen::Huge),
        1 => proptest::collection::vec(0x80u8..=0xff, 1..8)
            .prop_filter("invalid UTF-8", |b| std::str::from_utf8(b).is_err())
            .prop_map(BodyGen::InvalidUtf8),
        2 => proptest::sample::select(&Corner::ALL[..]).prop_map(BodyGen::Corner),
    ];
    (auth, content_type, body)
        .prop_map(|(auth, content_type, body)| Hostile {
            auth,
            content_type,
            body,
        })
        .boxed()
}

impl Hostile {
    /// The string new passwords of a grammar corner's body as a lenient
    /// decoder reads them ([`Corner::new_passwords`]); none for the other
    /// bodies (their strict JSON is read when they are recorded).
    pub fn new_passwords(&self) -> Vec<String> {
        match self.body {
            BodyGen::Corner(c) => c.new_passwords(),
            _ => Vec::new(),
        }
    }

    /// Whether the request carries a valid token of the active account.
    pub fn active_token(&self) -> bool {
        matches!(
            self.auth,
            AuthGen::Active | AuthGen::ActiveLower | AuthGen::Twice
        )
    }

    /// The request, with tokens and the current password filled in.
    pub fn request(&self, driver: &mut Driver) -> Result<Request, String> {
        let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
        let auth = http::header::AUTHORIZATION;
        let mut bearer = |scheme: &str, tok: StepToken| -> Result<HeaderValue, String> {
            let t = driver.token(tok).map_err(|e| e.to_string())?;
            HeaderValue::from_str(&format!("{scheme} {t}")).map_err(|e| e.to_string())
        };
        match &self.auth {
            AuthGen::None => {}
            AuthGen::Active => headers.push((auth, bearer("Bearer", StepToken::Standard)?)),
            AuthGen::ActiveLower => headers.push((auth, bearer("bearer", StepToken::Standard)?)),
            AuthGen::Twice => {
                let v = bearer("Bearer", StepToken::Standard)?;
                headers.push((auth.clone(), v.clone()));
                headers.push((auth, v));
            }
            AuthGen::Missing => headers.push((auth, bearer("Bearer", StepToken::Missing)?)),
            AuthGen::BearerJunk(s) => {
                if let Ok(v) = HeaderValue::from_str(&format!("Bearer {s}")) {
                    headers.push((auth, v));
                }
            }
            AuthGen::Junk(s) => {
                if let Ok(v) = HeaderValue::from_str(s) {
                    headers.push((auth, v));
                }
            }
            AuthGen::ObsText(b) => {
                let mut v = b"Bearer ".to_vec();
                v.extend_from_slice(b);
                if let Ok(v) = HeaderValue::from_bytes(&v) {
                    headers.push((auth, v));
                }
            }
        }
        let ct = match &self.content_type {
            TypeGen::None => None,
            TypeGen::Json => Some("application/json".to_string()),
            TypeGen::JsonCharset => Some("application/json; charset=utf-8".to_string()),
            TypeGen::Junk(s) => Some(s.clone()),
        };
        if let Some(v) = ct.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.push((http::header::CONTENT_TYPE, v));
        }
        let body = match &self.body {
            BodyGen::Bytes(b) => b.clone(),
            BodyGen::Json(v) => serde_json::to_vec(v).unwrap_or_default(),
            BodyGen::Deep { objects, depth } => {
                if *objects {
                    format!("{}1{}", "{\"a\":".repeat(*depth), "}".repeat(*depth)).into_bytes()
                } else {
                    format!("{}{}", "[".repeat(*depth), "]".repeat(*depth)).into_bytes()
                }
            }
            BodyGen::Huge(len) => format!(
                "{{\"old_password\":\"{}\",\"new_password\":1}}",
                "x".repeat(*len)
            )
            .into_bytes(),
            BodyGen::InvalidUtf8(bytes) => {
                let mut wrong = crate::password::wrong(&driver.profile.policy);
                while wrong == driver.ledger.active.current {
                    wrong = crate::password::wrong(&driver.profile.policy);
                }
                let mut b = format!(
                    "{{\"old_password\":{},\"new_password\":\"Aa1",
                    Value::String(wrong)
                )
                .into_bytes();
                b.extend_from_slice(bytes);
                b.extend_from_slice(b"zzzzzz\"}");
                b
            }
            BodyGen::Corner(corner) => {
                let mut wrong = crate::password::wrong(&driver.profile.policy);
                while wrong == driver.ledger.active.current {
                    wrong = crate::password::wrong(&driver.profile.policy);
                }
                corner.body(&Value::String(wrong).to_string())
            }
        };
        Ok(Request {
            method: Method::POST,
            path: ENDPOINT_PATH.to_string(),
            headers,
            body,
        })
    }

    /// A description without secrets, for failure reports.
    pub fn describe(&self, sent: &Request) -> String {
        let body = match &self.body {
            BodyGen::InvalidUtf8(b) => format!(
                "{{\"old_password\":<a wrong password>,\"new_password\":\"Aa1{}zzzzzz\"}}",
                b.iter().map(|x| format!("\\x{x:02x}")).collect::<String>()
            ),
            BodyGen::Huge(n) => format!("{{\"old_password\":<{n} × x>,\"new_password\":1}}"),
            BodyGen::Corner(c) => format!("{c:?} around a wrong old password"),
            BodyGen::Deep { objects, depth } => {
                format!(
                    "{} nested {depth} deep",
                    if *objects { "objects" } else { "arrays" }
                )
            }
            _ => {
                let shown = &sent.body[..sent.body.len().min(300)];
                format!("{:?}", String::from_utf8_lossy(shown))
            }
        };
        let auth = match &self.auth {
            AuthGen::None => "no Authorization".to_string(),
            AuthGen::Active => "Bearer <valid token>".to_string(),
            AuthGen::ActiveLower => "bearer <valid token>".to_string(),
            AuthGen::Twice => "two Authorization headers with valid tokens".to_string(),
            AuthGen::Missing => "Bearer <valid token of the missing user>".to_string(),
            AuthGen::BearerJunk(s) => format!("Authorization: Bearer {s:?}"),
            AuthGen::Junk(s) => format!("Authorization: {s:?}"),
            AuthGen::ObsText(b) => format!("Authorization: Bearer + {} obs-text bytes", b.len()),
        };
        format!(
            "POST {ENDPOINT_PATH} with {auth}, Content-Type {:?}, body ({} bytes) {body}",
            self.content_type,
            sent.body.len()
        )
    }
}

/// Whether the body carries an `old_password` member a lenient target
/// could compare (any JSON object with one, whatever its type, and the
/// huge and invalid-UTF-8 bodies): such a request may count toward the
/// lockout.
pub fn carries_old_password(h: &Hostile, body: &[u8]) -> bool {
    match &h.body {
        BodyGen::Huge(_) | BodyGen::InvalidUtf8(_) => true,
        BodyGen::Corner(_) => true,
        BodyGen::Deep { .. } => false,
        BodyGen::Json(_) | BodyGen::Bytes(_) => serde_json::from_slice::<Value>(body)
            .ok()
            .is_some_and(|v| v.get("old_password").is_some_and(|o| !o.is_null())),
    }
}

/// The documented answers a hostile request may get.
const SEED_ERRORS: &[&str] = &[
    "wrong_old_password",
    "duplicate_password",
    "recurrent_password",
    "invalid_new_password",
    "user_not_found",
];

/// Judges the answer to `h`: `Err(why)` for a seed-tier failure, otherwise
/// the deviations from the reference's shapes (reference tier, RFC tier for
/// a bearer challenge's RFC checks).
pub fn judge(h: &Hostile, r: &Response) -> Result<Vec<Deviation>, String> {
    let redactor = Redactor::new(false);
    match r.status {
        200 => return Err("200: a request that is not a valid change was accepted".into()),
        503 => return Ok(Vec::new()),
        s if s >= 500 => return Err(format!("{s}: a server error")),
        s if !(400..500).contains(&s) => return Err(format!("{s}: not a refusal")),
        _ => {}
    }
    if h.active_token() && is_error(r, "user_not_found") {
        return Err("user_not_found for the active account, which exists".into());
    }
    if is_error(r, "abnormal_user_status") {
        return Err(
            "abnormal_user_status: the active account is not normal (the property never sends \
             enough wrong old passwords to lock it)"
                .into(),
        );
    }
    let mut found = Vec::new();
    let challenge = matches!(r.status, 400 | 401 | 403) && r.header("www-authenticate").is_some();
    if challenge {
        // A bearer challenge is one of the document's (S9–S11).
        let (_, expect) = shape(r)?;
        let expect = expect.expect("a challenge has an expectation");
        for c in checks::evaluate(&expect, r, &redactor) {
            if c.outcome != Outcome::Fail {
                continue;
            }
            if c.tier == Tier::Seed {
                return Err(format!(
                    "{}: expected {}, observed {}",
                    c.what, c.expected, c.observed
                ));
            }
            found.push(Deviation {
                tier: c.tier,
                what: c.what.clone(),
                detail: format!("expected {}, observed {}", c.expected, c.observed),
            });
        }
        return Ok(found);
    }
    // Any other 4xx is allowed by the document (open point 6); its shape is
    // the reference's decision.
    let why = |detail: String| Deviation {
        tier: Tier::Reference,
        what: "the shape of a 4xx to a malformed request (open point 6)".into(),
        detail,
    };
    if h.active_token() && is_error(r, "wrong_old_password") {
        if matches!(h.body, BodyGen::Corner(c) if c.well_formed()) {
            // A well-formed change with a wrong old password.
            return Ok(found);
        }
        found.push(why(
            "wrong_old_password to a request that is not a well-formed change (the reference \
             refuses the body before it compares passwords)"
                .into(),
        ));
        return Ok(found);
    }
    match shape(r) {
        Err(e) => found.push(why(e)),
        Ok((_, Some(expect))) => {
            for c in checks::evaluate(&expect, r, &redactor) {
                if c.outcome == Outcome::Fail {
                    found.push(why(format!(
                        "{}: expected {}, observed {}",
                        c.what, c.expected, c.observed
                    )));
                }
            }
        }
        Ok((_, None)) => {}
    }
    Ok(found)
}

/// The reference's shapes: `Ok(shape)` when the answer is one of them
/// (with the expectation its details are checked against), `Err(why)`
/// otherwise.
pub fn shape(r: &Response) -> Result<(&'static str, Option<Expect>), String> {
    match r.status {
        200 => Err("200: a request that is not a valid change was accepted".into()),
        503 => Ok(("503 overload", None)),
        s if s >= 500 => Err(format!("{s}: a server error")),
        400 | 401 | 403 if r.header("www-authenticate").is_some() => {
            let c = match r.status {
                400 => Challenge::InvalidRequest,
                401 => Challenge::InvalidToken,
                _ => Challenge::InsufficientScope,
            };
            Ok(("bearer challenge (S9–S11)", Some(Expect::Challenge(c))))
        }
        400 => {
            let v: Value = serde_json::from_slice(&r.body)
                .map_err(|_| "400 without a challenge and without a JSON body".to_string())?;
            let error = v.get("error").and_then(Value::as_str).unwrap_or_default();
            if error == "invalid_request" {
                return Ok((
                    "400 invalid_request (open point 6)",
                    Some(Expect::INVALID_REQUEST),
                ));
            }
            if error == "abnormal_user_status" {
                return Err("abnormal_user_status: the active account is not normal".into());
            }
            match SEED_ERRORS.iter().find(|e| **e == error) {
                Some(e) => Ok((
                    "400 JSON error (S2–S6)",
                    Some(Expect::JsonError {
                        error: e,
                        description: Description::Unspecified,
                    }),
                )),
                None => Err(format!("400 with an undocumented error {error:?}")),
            }
        }
        404 | 405 | 413 | 415 => Ok(("4xx (open point 6)", Some(Expect::Status(r.status)))),
        s => Err(format!("{s}: not a documented answer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&'static str, &str)], body: &str) -> Response {
        Response::for_tests(status, headers, body)
    }

    #[test]
    fn shapes_are_documented_or_refused() {
        assert!(shape(&response(500, &[], "")).is_err());
        assert!(shape(&response(502, &[], "")).is_err());
        assert!(shape(&response(200, &[], "")).is_err());
        assert!(shape(&response(503, &[("retry-after", "1")], "")).is_ok());
        assert!(shape(&response(400, &[], "not json")).is_err());
        assert!(shape(&response(400, &[], r#"{"error":"surprise"}"#)).is_err());
        let (_, e) = shape(&response(400, &[], r#"{"error":"invalid_request"}"#)).unwrap();
        assert_eq!(e, Some(Expect::INVALID_REQUEST));
        let (_, e) = shape(&response(401, &[("www-authenticate", "Bearer x")], "")).unwrap();
        assert_eq!(e, Some(Expect::Challenge(Challenge::InvalidToken)));
        assert!(shape(&response(413, &[], "")).is_ok());
        assert!(shape(&response(302, &[], "")).is_err());
    }

    #[test]
    fn any_4xx_passes_at_seed_tier_and_its_shape_is_a_reference_finding() {
        let h = |auth| Hostile {
            auth,
            content_type: TypeGen::Junk("x".into()),
            body: BodyGen::Bytes(b"{".to_vec()),
        };
        let active = h(AuthGen::Active);
        // The reference's shape: no finding.
        let ok = response(
            400,
            &[("content-type", "application/json;charset=UTF-8")],
            r#"{"error":"invalid_request","error_description":"x"}"#,
        );
        assert_eq!(judge(&active, &ok), Ok(vec![]));
        // Another 4xx shape: allowed, a reference finding.
        for r in [
            response(400, &[("content-type", "text/plain")], "Bad Request"),
            response(422, &[], ""),
            response(
                400,
                &[("content-type", "application/json")],
                r#"{"error":"wrong_old_password"}"#,
            ),
        ] {
            let found = judge(&active, &r).unwrap();
            assert!(
                !found.is_empty() && found.iter().all(|d| d.tier == Tier::Reference),
                "{found:?}"
            );
        }
        // Never 200, never a 5xx but 503, never user_not_found for the
        // active account (the missing user's token may get it).
        assert!(judge(&active, &response(200, &[], "")).is_err());
        assert!(judge(&active, &response(500, &[], "")).is_err());
        assert!(judge(&active, &response(503, &[], "")).is_ok());
        let not_found = response(
            400,
            &[("content-type", "application/json")],
            r#"{"error":"user_not_found"}"#,
        );
        assert!(judge(&active, &not_found).is_err());
        assert!(judge(&h(AuthGen::Missing), &not_found).is_ok());
        // A challenge must be the document's for its status.
        let wrong = response(
            401,
            &[("www-authenticate", "Bearer error=\"invalid_request\"")],
            "",
        );
        assert!(judge(&h(AuthGen::None), &wrong).is_err());
    }

    #[test]
    fn grammar_corners_are_what_they_say_and_never_carry_a_right_password() {
        let wrong = Value::String("Wr0ng-Passw0rd".into()).to_string();
        for c in Corner::ALL {
            let body = c.body(&wrong);
            let parsed = serde_json::from_slice::<Value>(&body);
            // Only the well-formed ones parse as a change of two strings
            // (serde_json, like the reference, refuses lone surrogates, a
            // BOM, invalid UTF-8; it takes the last of duplicate members).
            let change = parsed
                .as_ref()
                .is_ok_and(|v| v["old_password"].is_string() && v["new_password"].is_string());
            assert_eq!(
                change,
                c.well_formed() || c == Corner::DuplicateMembers,
                "{c:?}: {:?}",
                String::from_utf8_lossy(&body)
            );
            let text = String::from_utf8_lossy(&body);
            assert!(
                text.contains("Wr0ng-Passw0rd") || c == Corner::NumberOld,
                "{c:?}"
            );
        }
        assert!(
            String::from_utf8_lossy(&Corner::LoneHigh { old: true }.body(&wrong))
                .contains(r#""Wr0ng-Passw0rd\ud800""#)
        );
        assert!(Corner::Bom.body(&wrong).starts_with(b"\xef\xbb\xbf{"));
    }

    /// Every string `new_password` a lenient decoder reads from `body`:
    /// the BOM skipped, invalid UTF-8 and lone surrogates read as U+FFFD,
    /// each member of a duplicate read.
    fn lenient_new_passwords(body: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(body)
            .trim_start_matches('\u{feff}')
            .replace("\\ud800", "\\ufffd")
            .replace("\\udc00", "\\ufffd");
        let key = "\"new_password\":";
        text.match_indices(key)
            .filter_map(|(i, _)| {
                serde_json::Deserializer::from_str(&text[i + key.len()..])
                    .into_iter::<Value>()
                    .next()
                    .and_then(Result::ok)
                    .and_then(|v| match v {
                        Value::String(s) => Some(s),
                        // A lax decoder coerces a number to its digits.
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
            })
            .collect()
    }

    #[test]
    fn corners_name_every_new_password_a_lenient_decoder_reads() {
        let wrong = Value::String("Wr0ng-Passw0rd".into()).to_string();
        for c in Corner::ALL {
            assert_eq!(
                c.new_passwords(),
                lenient_new_passwords(&c.body(&wrong)),
                "{c:?}"
            );
        }
    }

    /// Review finding 3: the BOM, lone-surrogate, invalid-UTF-8 and
    /// duplicate-member bodies record every new password a lenient target
    /// may store before they are sent (strict JSON read none of them, or
    /// only the last duplicate).
    #[test]
    fn every_corner_new_password_is_recorded_before_sending() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mut p =
            crate::profile::Profile::load(std::path::Path::new(crate::embedded::REFERENCE_PROFILE))
                .unwrap();
        p.base_url = "http://127.0.0.1:9".into();
        let mut ledger = crate::session::ledger::Ledger::new(
            p.endpoint().unwrap().endpoint_url(),
            None,
            p.accounts.active().clone(),
            p.accounts.active().password.clone().unwrap(),
            p.lockout.rule(),
        );
        let bounds = crate::properties::driver::Bounds {
            max_requests: 1,
            timeout: std::time::Duration::from_secs(1),
        };
        let mut d = Driver::new(runtime.handle().clone(), &p, &mut ledger, bounds).unwrap();
        for c in Corner::ALL {
            let h = Hostile {
                auth: AuthGen::Active,
                content_type: TypeGen::Json,
                body: BodyGen::Corner(c),
            };
            let request = h.request(&mut d).unwrap();
            d.record_candidate_of(&request.body, &h.new_passwords());
            for new in lenient_new_passwords(&request.body) {
                assert!(
                    d.ledger.active.candidates.contains(&new),
                    "{c:?}: {new:?} not recorded"
                );
            }
        }
        assert_eq!(d.requests, 0, "nothing is sent");
    }

    #[test]
    fn json_bodies_are_never_well_formed_changes() {
        let v = serde_json::json!({"old_password": "a", "new_password": "b"});
        assert_eq!(defang(v)["new_password"], Value::Null);
        let v = serde_json::json!({"old_password": "a", "new_password": 1});
        assert_eq!(defang(v)["new_password"], 1);
    }
}
