//! Request builders every family uses (a change request, a header, a JSON
//! object with ordered members) and the test of an error answer.

use http::{HeaderName, HeaderValue, Method};
use serde_json::Value;

use crate::exchange::{ENDPOINT_PATH, Request, Response};

/// Whether `r` is a 400 JSON error with this `error` member.
pub(crate) fn is_error(r: &Response, error: &str) -> bool {
    r.status == 400
        && serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(|e| e == error))
            .unwrap_or(false)
}

pub(crate) fn header(name: HeaderName, value: &str) -> Option<(HeaderName, HeaderValue)> {
    HeaderValue::from_str(value).ok().map(|v| (name, v))
}

/// A POST of `{"old_password": old, "new_password": new}` with `Bearer token`.
pub(crate) fn change(
    token: Option<&str>,
    old: &str,
    new: &str,
    authorization: Option<Vec<(HeaderName, HeaderValue)>>,
) -> Request {
    let mut headers = authorization.unwrap_or_else(|| {
        token
            .and_then(|t| header(http::header::AUTHORIZATION, &format!("Bearer {t}")))
            .into_iter()
            .collect()
    });
    headers.extend(header(http::header::CONTENT_TYPE, "application/json"));
    Request {
        method: Method::POST,
        path: ENDPOINT_PATH.to_string(),
        headers,
        body: object(&[
            ("old_password", Value::String(old.to_string())),
            ("new_password", Value::String(new.to_string())),
        ]),
    }
}

/// A JSON object with members in the given order (as the document writes
/// them: old_password first).
pub(crate) fn object(members: &[(&str, Value)]) -> Vec<u8> {
    let inner: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::String(k.to_string())))
        .collect();
    format!("{{{}}}", inner.join(",")).into_bytes()
}
