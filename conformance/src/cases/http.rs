//! Hand-made requests (open point 6): other methods and paths, media
//! types, oversized and malformed bodies. The plan builds the request from
//! parts and follows its effect on the active account.

use http::Method;
use serde_json::{Value, json};

use crate::exchange::{ENDPOINT_PATH, Request};
use crate::session::{CaseContext, Effect, Stop, header, object};
use crate::vocabulary::{Case, Expect, OpenPoint, Spec};

use super::user::Role;
use Plan as P;

pub use crate::vocabulary::plans::http::{Body, Member, Plan, Raw, RawAuth};

pub(crate) const fn post_endpoint(
    content_type: Option<&'static str>,
    body: Body,
    auth: RawAuth,
) -> Raw {
    Raw {
        method: "POST",
        path: None,
        content_type,
        body,
        auth,
    }
}

pub(crate) const JSON: Option<&str> = Some("application/json");

/// The `http.*` and `body.*` cases.
pub fn cases() -> Vec<Case> {
    [http_requests(), body_shapes(), body_escapes()].concat()
}

/// Requests the document does not describe: other methods, paths and media types, oversized bodies.
fn http_requests() -> Vec<Case> {
    vec![
        // --- Requests the document does not describe ----------------------------------
        case!(
            "http.method-not-allowed",
            Reference,
            Spec::Open(OpenPoint::Malformed),
            "GET is answered 405 with `Allow: POST`",
            P::Raw(
                Raw {
                    method: "GET",
                    path: None,
                    content_type: None,
                    body: Body::Empty,
                    auth: RawAuth::Active
                },
                Expect::MethodNotAllowed
            ),
            Malformed: "other methods: 405 with `Allow: POST`"
        ),
        case!(
            "http.unknown-path",
            Reference,
            Spec::Open(OpenPoint::Malformed),
            "a path next to the endpoint is 404",
            P::Raw(
                Raw {
                    method: "POST",
                    path: Some("/change_user_passwords"),
                    content_type: JSON,
                    body: Body::Members(Member::Current, Member::Fresh),
                    auth: RawAuth::Active
                },
                Expect::Status(404)
            ),
            Malformed: "unknown paths: 404"
        ),
        case!(
            "http.unsupported-media-type",
            Reference,
            Spec::Open(OpenPoint::Malformed),
            "a valid change sent as text/plain is 415",
            P::Raw(
                post_endpoint(
                    Some("text/plain"),
                    Body::Members(Member::Current, Member::Fresh),
                    RawAuth::Active
                ),
                Expect::Status(415)
            ),
            Malformed: "a Content-Type other than JSON: 415"
        ),
        case!(
            "http.body-too-large",
            Reference,
            Spec::Open(OpenPoint::Malformed),
            "a body over the declared limit is 413",
            P::Raw(
                post_endpoint(JSON, Body::Oversized, RawAuth::Active),
                Expect::Status(413)
            ),
            Malformed: "bodies over the limit (4096 bytes by default): 413"
        ),
    ]
}

/// Bodies that are not the documented object of two strings: malformed JSON, missing, null or non-string members.
fn body_shapes() -> Vec<Case> {
    vec![
        case!(
            "body.malformed-json",
            Reference,
            Spec::Open(OpenPoint::Malformed),
            "a body that is not JSON",
            P::Raw(
                post_endpoint(
                    JSON,
                    Body::Text("{\"old_password\": \"x\", \"new_password\": "),
                    RawAuth::Active
                ),
                Expect::INVALID_REQUEST
            ),
            Malformed: "malformed JSON: 400 invalid_request with an error_description"
        ),
        case!(
            "body.not-an-object",
            Reference,
            Spec::Open(OpenPoint::Malformed),
            "a JSON body that is not an object",
            P::Raw(
                post_endpoint(
                    JSON,
                    Body::Text("[\"old_password\", \"new_password\"]"),
                    RawAuth::Active
                ),
                Expect::INVALID_REQUEST
            ),
            Malformed: "a body that is not an object: 400 invalid_request"
        ),
        case!(
            "body.missing-old-password",
            Reference,
            Spec::Open(OpenPoint::Malformed),
            "no old_password member",
            P::Raw(
                post_endpoint(
                    JSON,
                    Body::Members(Member::Absent, Member::Fresh),
                    RawAuth::Active
                ),
                Expect::INVALID_REQUEST
            ),
            Malformed: "a missing member: 400 invalid_request"
        ),
        case!(
            "body.missing-new-password",
            Reference,
            Spec::Open(OpenPoint::Malformed),
            "no new_password member",
            P::Raw(
                post_endpoint(
                    JSON,
                    Body::Members(Member::Current, Member::Absent),
                    RawAuth::Active
                ),
                Expect::INVALID_REQUEST
            ),
            Malformed: "a missing member: 400 invalid_request"
        ),
        case!(
            "body.null-member",
            Reference,
            Spec::Open(OpenPoint::Malformed),
            "new_password is null",
            P::Raw(
                post_endpoint(
                    JSON,
                    Body::Members(Member::Current, Member::Null),
                    RawAuth::Active
                ),
                Expect::INVALID_REQUEST
            ),
            Malformed: "a null member: 400 invalid_request"
        ),
        case!(
            "body.non-string-member",
            Reference,
            Spec::Open(OpenPoint::Malformed),
            "new_password is a number",
            P::Raw(
                post_endpoint(
                    JSON,
                    Body::Members(Member::Current, Member::Number),
                    RawAuth::Active
                ),
                Expect::INVALID_REQUEST
            ),
            Malformed: "a non-string member: 400 invalid_request"
        ),
    ]
}

/// JSON strings a decoder may choke on: lone surrogate escapes in either member.
fn body_escapes() -> Vec<Case> {
    vec![
        case!(
            "body.lone-surrogate.old-password",
            Reference,
            Spec::Open(OpenPoint::Malformed),
            "a lone surrogate escape (`\\ud800`) in old_password is a 4xx, never a 5xx",
            P::Raw(
                post_endpoint(
                    JSON,
                    LONE_SURROGATE_OLD,
                    RawAuth::Active
                ),
                Expect::INVALID_REQUEST
            ),
            Malformed: "a string that is no Unicode text (a lone surrogate): 400 invalid_request"
        ),
        case!(
            "body.lone-surrogate.new-password",
            Reference,
            Spec::Open(OpenPoint::Malformed),
            "a lone surrogate escape (`\\udc00`) in new_password is a 4xx, never a 5xx",
            P::Raw(
                post_endpoint(
                    JSON,
                    LONE_SURROGATE_NEW,
                    RawAuth::Active
                ),
                Expect::INVALID_REQUEST
            ),
            Malformed: "a string that is no Unicode text (a lone surrogate): 400 invalid_request"
        ),
    ]
}

/// A change whose old password holds a lone high surrogate: whatever a
/// target makes of it, it is not the active account's password. Its new
/// password is a valid string: a lenient target that stores refused
/// changes gives the account it, so it is a guarded, recorded change.
const LONE_SURROGATE_OLD: Body = Body::Escaped {
    text: r#"{"old_password":"Wr0ng-\ud800-Passw0rd","new_password":"Fresh-Passw0rd-9x"}"#,
    old: "Wr0ng-\u{FFFD}-Passw0rd",
    new: "Fresh-Passw0rd-9x",
};

/// A change with a wrong old password whose new password holds a lone low
/// surrogate (a target that checks the policy first reads it); a lenient
/// decoder reads U+FFFD for it.
const LONE_SURROGATE_NEW: Body = Body::Escaped {
    text: r#"{"old_password":"Wr0ng-Passw0rd-x9","new_password":"Fresh-\udc00-Passw0rd"}"#,
    old: "Wr0ng-Passw0rd-x9",
    new: "Fresh-\u{FFFD}-Passw0rd",
};

/// Carries out a hand-made request.
pub(crate) async fn run(ctx: &mut CaseContext<'_>, plan: Plan) -> Result<(), Stop> {
    let Plan::Raw(raw, expect) = plan;
    let mut headers = Vec::new();
    let token = match raw.auth {
        RawAuth::None => None,
        RawAuth::Active => Some(ctx.active_token().await?),
        RawAuth::Missing => {
            let account = super::user::account(ctx, Role::Missing)?;
            let label = format!("token:{}", account.subject);
            Some(ctx.token_for(&account, &label).await?)
        }
    };
    if let Some(t) = &token {
        headers.extend(header(http::header::AUTHORIZATION, &format!("Bearer {t}")));
    }
    if let Some(ct) = raw.content_type {
        headers.extend(header(http::header::CONTENT_TYPE, ct));
    }
    let mut change_of: Option<(String, String)> = None;
    let body = match raw.body {
        Body::Empty => Vec::new(),
        Body::Text(t) => t.as_bytes().to_vec(),
        Body::Escaped { text, old, new } => {
            // A wrong old password carrying a string new one: guarded and
            // recorded like any wrong-old change.
            change_of = Some((old.to_string(), new.to_string()));
            text.as_bytes().to_vec()
        }
        Body::Members(old, new) => {
            let mut map: Vec<(&str, Value)> = Vec::new();
            let mut strings = (None, None);
            for (name, member, slot) in [
                ("old_password", old, &mut strings.0),
                ("new_password", new, &mut strings.1),
            ] {
                let value = match member {
                    Member::Absent => continue,
                    Member::Null => Value::Null,
                    Member::Number => {
                        // A lax decoder (JavaScript's `String(x)`, pydantic's
                        // lax mode) reads the digits: recorded like a string.
                        *slot = Some("12345678".to_string());
                        ctx.redactor.add("12345678", "password:new-number");
                        json!(12_345_678)
                    }
                    Member::Current => {
                        let c = ctx.current();
                        *slot = Some(c.clone());
                        Value::String(c)
                    }
                    Member::Fresh => {
                        let f = ctx.fresh();
                        *slot = Some(f.clone());
                        Value::String(f)
                    }
                };
                map.push((name, value));
            }
            // A string new_password could be set, even without a valid
            // old one: follow it if the target says 200.
            if let (o, Some(n)) = strings {
                change_of = Some((o.unwrap_or_default(), n));
            }
            object(&map)
        }
        Body::Oversized => {
            let Some(limit) = ctx.runner.profile.limits.max_body_bytes else {
                return Err(Stop::Skip("limits.max_body_bytes is not declared".into()));
            };
            let current = ctx.current();
            let new = ctx.fresh();
            let body = object(&[
                ("old_password", Value::String(current.clone())),
                ("new_password", Value::String(new.clone())),
                ("padding", Value::String("x".repeat(limit + 1))),
            ]);
            // The body's length depends on the generated passwords
            // (escapes, non-ASCII); the padding alone is over the limit.
            ctx.result.notes.push(format!(
                "the body holds {} bytes of padding, the declared limit is {limit}",
                limit + 1
            ));
            change_of = Some((current, new));
            body
        }
    };
    let effect = match (raw.auth, change_of) {
        (RawAuth::Active, Some((old, new))) => Effect::Change { old, new },
        (RawAuth::Active, None) => Effect::Harmless,
        _ => Effect::None,
    };
    let path = raw.path.unwrap_or(ENDPOINT_PATH).to_string();
    let request = Request {
        method: Method::from_bytes(raw.method.as_bytes()).unwrap_or(Method::POST),
        path,
        headers,
        body,
    };
    ctx.step("a hand-made request", request, effect, expect)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The passwords an escaped body is recorded and guarded with are the
    /// ones a lenient decoder (U+FFFD for a lone surrogate) reads from it.
    #[test]
    fn escaped_bodies_name_what_a_lenient_decoder_reads() {
        for body in [LONE_SURROGATE_OLD, LONE_SURROGATE_NEW] {
            let Body::Escaped { text, old, new } = body else {
                panic!("not an escaped body: {body:?}");
            };
            let lenient = text
                .replace("\\ud800", "\\ufffd")
                .replace("\\udc00", "\\ufffd");
            assert_ne!(lenient, text, "no lone surrogate in {text}");
            let v: Value = serde_json::from_str(&lenient).unwrap();
            assert_eq!(v["old_password"], old);
            assert_eq!(v["new_password"], new);
        }
    }
}
