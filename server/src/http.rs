//! HTTP: routing, input limits, CORS, and rendering every [`Rejection`] as
//! the bytes the vendor document gives (or the project decided).
//!
//! Routes: `POST /change_user_password` (and its CORS preflight),
//! `GET /oauth2/jwks`, `GET /.well-known/openid-configuration`. Unknown paths
//! get 404, other methods 405 with `Allow` (`POST, OPTIONS` on the endpoint
//! when CORS origins are configured, since it then serves preflights).
//!
//! Every response built here carries `Cache-Control: no-store`. hyper
//! answers some malformed requests itself, before any handler runs, and
//! offers no hook to add headers to those: 400 (unparsable request line or
//! header), 414 (URI too long) and 431 (head over 16 KiB).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};

use crate::access_log::{self, Note};
use crate::app::App;
use crate::bearer::{self, BearerError};
pub use crate::body::parse_body;
use crate::rejection::Rejection;
use crate::token::TokenError;

/// The endpoint's path.
pub const CHANGE_PASSWORD_PATH: &str = "/change_user_password";
/// The JWKS path.
pub const JWKS_PATH: &str = "/oauth2/jwks";
/// The discovery path.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// The vendor's media type for JSON errors, byte for byte.
const JSON_UTF8: &str = "application/json;charset=UTF-8";

/// A bearer challenge (`WWW-Authenticate`) as the vendor sends it: built
/// at compile time, so answering S9/S10/S11 formats nothing.
macro_rules! bearer_challenge {
    ($code:literal, $description:literal) => {
        concat!(
            "Bearer error=\"",
            $code,
            "\", error_description=\"",
            $description,
            "\", error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\""
        )
    };
}

type Body = Full<Bytes>;

/// Serves one request; never fails (errors are responses).
pub async fn handle<B>(app: Arc<App>, req: Request<B>) -> Result<Response<Body>, Infallible>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let started = Instant::now();
    let method = req.method().clone();
    // A clone of the parsed URI shares its bytes: no copy of the path.
    let uri = req.uri().clone();
    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut note = Note::default();
    let (mut response, outcome) = route(&app, req, &mut note).await;
    if let Some(origin) = origin.filter(|o| app.cors_allows(o)) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("WWW-Authenticate, Retry-After"),
        );
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    access_log::request(
        &method,
        truncate(uri.path(), 128),
        response.status().as_u16(),
        outcome,
        &note,
        started.elapsed(),
    );
    Ok(response)
}

/// The response and its outcome code for the log.
async fn route<B>(
    app: &Arc<App>,
    req: Request<B>,
    note: &mut Note,
) -> (Response<Body>, &'static str)
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let method = req.method();
    match req.uri().path() {
        CHANGE_PASSWORD_PATH => match *method {
            Method::POST => {
                let result = change_password(app, req, note).await;
                let outcome = access_log::outcome(&result, "changed");
                match result {
                    Ok(()) => (empty(StatusCode::OK), outcome),
                    Err(rejection) => (render(&rejection), outcome),
                }
            }
            Method::OPTIONS if is_allowed_preflight(app, req.headers()) => {
                (preflight(), "preflight")
            }
            _ if app.serves_preflight() => answer(Rejection::MethodNotAllowed("POST, OPTIONS")),
            _ => answer(Rejection::MethodNotAllowed("POST")),
        },
        JWKS_PATH | DISCOVERY_PATH => match *method {
            Method::GET | Method::HEAD => {
                let body = if req.uri().path() == JWKS_PATH {
                    app.jwks_document()
                } else {
                    app.discovery_document()
                };
                (json(StatusCode::OK, "application/json", body), "ok")
            }
            _ => answer(Rejection::MethodNotAllowed("GET, HEAD")),
        },
        _ => answer(Rejection::NotFound),
    }
}

fn answer(rejection: Rejection) -> (Response<Body>, &'static str) {
    (render(&rejection), rejection.code())
}

/// Token → body → use case. The token is checked before the body is read.
async fn change_password<B>(
    app: &Arc<App>,
    req: Request<B>,
    note: &mut Note,
) -> Result<(), Rejection>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let token = bearer::extract(req.headers()).map_err(|e| match e {
        BearerError::Missing => Rejection::MissingToken,
        BearerError::Malformed => {
            note.reason = Some("not b64token syntax");
            Rejection::InvalidToken
        }
    })?;
    let principal = app.verifier().verify(token).map_err(|e| match e {
        TokenError::Invalid(reason) => {
            note.reason = Some(reason);
            Rejection::InvalidToken
        }
        _ => Rejection::InsufficientScope,
    })?;
    note.subject = Some(principal.subject.clone());
    if !is_json(req.headers()) {
        return Err(Rejection::UnsupportedMediaType);
    }
    let limits = app.limits();
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
        return Err(Rejection::PayloadTooLarge);
    }
    let body = Limited::new(req.into_body(), limits.max_body_bytes);
    let read = tokio::time::timeout(
        Duration::from_millis(limits.body_read_timeout_ms),
        body.collect(),
    );
    let bytes = match read.await {
        Err(_) => return Err(Rejection::BodyTimeout),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(Rejection::PayloadTooLarge);
        }
        Ok(Err(_)) => return Err(Rejection::InvalidBody("request body could not be read")),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let request = parse_body(&bytes)?;
    // The change runs in its own task: a client that hangs up mid-request
    // cannot cancel it between the hashing and the commit. If this handler
    // is gone when the change ends, the task writes the request's line.
    let use_case = app.use_case().clone();
    let subject = principal.subject;
    let mut task_note = std::mem::take(note);
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let result = use_case.execute(&subject, request, &mut task_note).await;
        if let Err((result, task_note)) = tx.send((result, task_note)) {
            access_log::abandoned(&result, &task_note);
        }
    });
    match rx.await {
        Ok((result, task_note)) => {
            *note = task_note;
            result
        }
        // The task panicked.
        Err(_) => Err(Rejection::Internal),
    }
}

/// `application/json`, any case, optional parameters; a charset, if given, must be UTF-8.
pub fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|param| match param.split_once('=') {
        Some((name, v)) if name.trim().eq_ignore_ascii_case("charset") => {
            v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    })
}

fn is_allowed_preflight(app: &App, headers: &HeaderMap) -> bool {
    headers
        .get(header::ORIGIN)
        .is_some_and(|o| app.cors_allows(o))
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn preflight() -> Response<Body> {
    let mut r = empty(StatusCode::NO_CONTENT);
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    r
}

/// The response for a rejection.
pub fn render(rejection: &Rejection) -> Response<Body> {
    use Rejection::*;
    let bad = StatusCode::BAD_REQUEST;
    match rejection {
        WrongOldPassword => error(bad, "wrong_old_password", None),
        DuplicatePassword => error(bad, "duplicate_password", None),
        RecurrentPassword => error(bad, "recurrent_password", None),
        InvalidNewPassword => error(bad, "invalid_new_password", None),
        UserNotFound => error(bad, "user_not_found", None),
        UserFrozen => error(bad, "abnormal_user_status", Some("User is frozen.")),
        UserLocked => error(bad, "abnormal_user_status", Some("User is locked.")),
        MissingToken => challenge(
            bad,
            const {
                HeaderValue::from_static(bearer_challenge!(
                    "invalid_request",
                    "Bearer token not found in the request"
                ))
            },
        ),
        InvalidToken => challenge(
            StatusCode::UNAUTHORIZED,
            const { HeaderValue::from_static(bearer_challenge!("invalid_token", "Error decoding JWT")) },
        ),
        InsufficientScope => challenge(
            StatusCode::FORBIDDEN,
            const {
                HeaderValue::from_static(bearer_challenge!(
                    "insufficient_scope",
                    "The request requires higher privileges than provided by the access token."
                ))
            },
        ),
        InvalidBody(why) => error(bad, "invalid_request", Some(why)),
        UnsupportedMediaType => error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            Some("Content-Type must be application/json"),
        ),
        PayloadTooLarge => error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            Some("request body is too large"),
        ),
        BodyTimeout => error(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request",
            Some("request body was not received in time"),
        ),
        NotFound => error(StatusCode::NOT_FOUND, "not_found", None),
        MethodNotAllowed(allow) => {
            let mut r = error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None);
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            r
        }
        Overloaded => {
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                Some("the server is busy; retry later"),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        Internal => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", None),
    }
}

fn error(status: StatusCode, code: &str, description: Option<&str>) -> Response<Body> {
    let mut body = serde_json::Map::new();
    body.insert("error".into(), code.into());
    if let Some(d) = description {
        body.insert("error_description".into(), d.into());
    }
    let bytes = serde_json::to_vec(&body).expect("a string map serialises");
    json(status, JSON_UTF8, bytes.into())
}

/// A challenge answer. `value` is a `HeaderValue` built at compile time
/// (`from_static` in a const: its bytes are checked once, not on every
/// refused request).
fn challenge(status: StatusCode, value: HeaderValue) -> Response<Body> {
    let mut r = empty(status);
    r.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    r
}

fn json(status: StatusCode, media_type: &'static str, body: Bytes) -> Response<Body> {
    let mut r = response(status, body);
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    r
}

fn empty(status: StatusCode) -> Response<Body> {
    response(status, Bytes::new())
}

fn response(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn json_media_types() {
        assert!(is_json(&ct("application/json")));
        assert!(is_json(&ct("application/json;charset=UTF-8")));
        assert!(is_json(&ct("Application/JSON; charset=\"utf-8\"")));
        assert!(!is_json(&ct("application/json; charset=latin1")));
        assert!(!is_json(&ct("text/plain")));
        assert!(!is_json(&ct("application/jsonx")));
        assert!(!is_json(&ct("application/x-www-form-urlencoded")));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn challenges_are_the_vendor_bytes() {
        let r = render(&Rejection::MissingToken);
        assert_eq!(r.status(), 400);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_request\", error_description=\"Bearer token not found in the request\", error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\""
        );
        assert!(r.headers().get(header::CONTENT_TYPE).is_none());
        let r = render(&Rejection::InvalidToken);
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\", error_description=\"Error decoding JWT\", error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\""
        );
        let r = render(&Rejection::InsufficientScope);
        assert_eq!(r.status(), 403);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"insufficient_scope\", error_description=\"The request requires higher privileges than provided by the access token.\", error_uri=\"https://tools.ietf.org/html/rfc6750#section-3.1\""
        );
    }
}
