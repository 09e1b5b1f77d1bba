//! One HTTP exchange over a real socket: a fresh TCP connection and an
//! HTTP/1.1 handshake per request (hyper's client connection), so every
//! step stands alone. Also the redacted record of an exchange, and the curl
//! command that reproduces it.

use std::fmt;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;

use crate::redact::Redactor;

/// The largest response body the harness reads.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Where the target listens: `http://host:port/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port` to connect to.
    pub authority: String,
    /// The `Host` header value.
    pub host: String,
    /// Path prefix without a trailing slash (often empty).
    pub prefix: String,
}

impl Endpoint {
    /// Parses a base URL; only `http` is supported.
    pub fn parse(base_url: &str) -> Result<Endpoint, String> {
        let uri: http::Uri = base_url
            .parse()
            .map_err(|e| format!("{base_url:?} is not a URL: {e}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "{base_url}: https is not supported yet; put a TLS-terminating proxy on \
                     127.0.0.1 in front of the target and give its http URL"
                ));
            }
            _ => return Err(format!("{base_url:?} must start with http://")),
        }
        let auth = uri
            .authority()
            .ok_or_else(|| format!("{base_url:?} has no host"))?;
        let port = auth.port_u16().unwrap_or(80);
        let host = auth.host().to_string();
        if uri.query().is_some() {
            return Err(format!("{base_url:?} must not have a query"));
        }
        Ok(Endpoint {
            authority: format!("{host}:{port}"),
            host: auth.as_str().to_string(),
            prefix: uri.path().trim_end_matches('/').to_string(),
        })
    }

    /// The full URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}{}", self.host, self.prefix, path)
    }

    /// `{base_url}/change_user_password`.
    pub fn endpoint_url(&self) -> String {
        self.url(ENDPOINT_PATH)
    }
}

/// The endpoint's path.
pub const ENDPOINT_PATH: &str = "/change_user_password";

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// Path below the base URL, starting with `/`.
    pub path: String,
    /// Headers in order (several of one name allowed); `Host` is added.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// A response as received.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// Every value of a header, as text (lossy).
    pub fn header_values(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }

    /// The only (or first) value of a header.
    pub fn header(&self, name: &str) -> Option<String> {
        self.header_values(name).into_iter().next()
    }
}

/// Why an exchange did not complete.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TransportError {
    /// The TCP connection failed.
    Connect(String),
    /// The HTTP exchange failed.
    Http(String),
    /// No answer within the timeout.
    Timeout(Duration),
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Connect(e) => write!(f, "cannot connect: {e}"),
            TransportError::Http(e) => write!(f, "HTTP exchange failed: {e}"),
            TransportError::Timeout(d) => write!(f, "no response within {} s", d.as_secs_f64()),
        }
    }
}

impl std::error::Error for TransportError {}

/// Checks that the target accepts TCP connections.
pub async fn probe(endpoint: &Endpoint, timeout: Duration) -> Result<(), TransportError> {
    match tokio::time::timeout(timeout, TcpStream::connect(&endpoint.authority)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(TransportError::Connect(format!(
            "{}: {e}",
            endpoint.authority
        ))),
        Err(_) => Err(TransportError::Timeout(timeout)),
    }
}

/// Sends one request on a new connection and reads the whole response.
pub async fn send(
    endpoint: &Endpoint,
    request: &Request,
    timeout: Duration,
) -> Result<Response, TransportError> {
    match tokio::time::timeout(timeout, send_inner(endpoint, request)).await {
        Ok(r) => r,
        Err(_) => Err(TransportError::Timeout(timeout)),
    }
}

async fn send_inner(endpoint: &Endpoint, request: &Request) -> Result<Response, TransportError> {
    let stream = TcpStream::connect(&endpoint.authority)
        .await
        .map_err(|e| TransportError::Connect(format!("{}: {e}", endpoint.authority)))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| TransportError::Http(e.to_string()))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = format!("{}{}", endpoint.prefix, request.path);
    let mut builder = http::Request::builder()
        .method(request.method.clone())
        .uri(path)
        .header(http::header::HOST, endpoint.host.as_str());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let http_request = builder
        .body(Full::new(Bytes::from(request.body.clone())))
        .map_err(|e| TransportError::Http(e.to_string()))?;
    let response = sender
        .send_request(http_request)
        .await
        .map_err(|e| TransportError::Http(e.to_string()))?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| TransportError::Http(format!("reading the body: {e}")))?
        .to_bytes();
    drop(sender);
    driver.abort();
    Ok(Response {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.to_vec(),
    })
}

/// A body as reports show it: nothing, parsed JSON, or text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BodyRecord {
    /// No bytes.
    Empty,
    /// Parsed JSON (redacted).
    Json(serde_json::Value),
    /// Anything else, as lossy text (redacted).
    Text(String),
}

impl BodyRecord {
    fn of(bytes: &[u8], redactor: &Redactor) -> BodyRecord {
        if bytes.is_empty() {
            return BodyRecord::Empty;
        }
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(v) => BodyRecord::Json(redactor.apply_json(&v)),
            Err(_) => BodyRecord::Text(redactor.apply(&String::from_utf8_lossy(bytes))),
        }
    }
}

/// The request half of a record.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    /// The method.
    pub method: String,
    /// The path below the base URL.
    pub path: String,
    /// Headers sent (without `Host`), redacted.
    pub headers: Vec<(String, String)>,
    /// The body, redacted.
    pub body: BodyRecord,
}

/// The response half of a record.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseRecord {
    /// The status code.
    pub status: u16,
    /// Every header received, redacted.
    pub headers: Vec<(String, String)>,
    /// The body, redacted.
    pub body: BodyRecord,
}

/// One exchange as reports show it.
#[derive(Debug, Clone, Serialize)]
pub struct ExchangeRecord {
    /// 1-based step number within the case.
    pub step: usize,
    /// What the step does.
    pub purpose: String,
    /// The request.
    pub request: RequestRecord,
    /// The response, unless the exchange failed.
    pub response: Option<ResponseRecord>,
    /// Why the exchange failed.
    pub error: Option<String>,
    /// Wall time of the exchange.
    pub elapsed_ms: u64,
    /// A curl command that reproduces the request (redacted unless
    /// `--show-secrets`).
    pub curl: String,
}

impl ExchangeRecord {
    /// Builds the redacted record of an exchange.
    pub fn new(
        step: usize,
        purpose: &str,
        endpoint: &Endpoint,
        request: &Request,
        outcome: &Result<Response, TransportError>,
        started: Instant,
        redactor: &Redactor,
    ) -> ExchangeRecord {
        let text = |v: &HeaderValue| redactor.apply(&String::from_utf8_lossy(v.as_bytes()));
        let request_record = RequestRecord {
            method: request.method.to_string(),
            path: request.path.clone(),
            headers: request
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), text(v)))
                .collect(),
            body: BodyRecord::of(&request.body, redactor),
        };
        let (response, error) = match outcome {
            Ok(r) => (
                Some(ResponseRecord {
                    status: r.status,
                    headers: r
                        .headers
                        .iter()
                        .map(|(n, v)| (n.as_str().to_string(), text(v)))
                        .collect(),
                    body: BodyRecord::of(&r.body, redactor),
                }),
                None,
            ),
            Err(e) => (None, Some(redactor.apply(&e.to_string()))),
        };
        ExchangeRecord {
            step,
            purpose: purpose.to_string(),
            request: request_record,
            response,
            error,
            elapsed_ms: started.elapsed().as_millis() as u64,
            curl: curl(endpoint, request, redactor),
        }
    }
}

/// Quotes for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A curl command that sends `request` (secrets redacted unless shown).
pub fn curl(endpoint: &Endpoint, request: &Request, redactor: &Redactor) -> String {
    let mut parts = vec!["curl -i".to_string()];
    if request.method != Method::GET || !request.body.is_empty() {
        parts.push(format!("-X {}", request.method));
    }
    parts.push(shell_quote(&endpoint.url(&request.path)));
    for (name, value) in &request.headers {
        let value = redactor.apply(&String::from_utf8_lossy(value.as_bytes()));
        parts.push(format!("-H {}", shell_quote(&format!("{name}: {value}"))));
    }
    if request
        .headers
        .iter()
        .all(|(n, _)| n != http::header::CONTENT_TYPE)
        && !request.body.is_empty()
    {
        // curl would add its own form Content-Type; say there is none.
        parts.push("-H 'Content-Type:'".to_string());
    }
    if !request.body.is_empty() {
        let body = redactor.apply(&String::from_utf8_lossy(&request.body));
        parts.push(format!("--data-binary {}", shell_quote(&body)));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_keeps_the_prefix_and_port() {
        let e = Endpoint::parse("http://example.test:9000/ciam/").unwrap();
        assert_eq!(e.authority, "example.test:9000");
        assert_eq!(
            e.endpoint_url(),
            "http://example.test:9000/ciam/change_user_password"
        );
        let e = Endpoint::parse("http://127.0.0.1").unwrap();
        assert_eq!(e.authority, "127.0.0.1:80");
    }

    #[test]
    fn curl_redacts_and_quotes() {
        let mut r = Redactor::new(false);
        r.add("tok.en.value", "token:alice");
        r.add("It's-Secret1", "password:current");
        let request = Request {
            method: Method::POST,
            path: ENDPOINT_PATH.to_string(),
            headers: vec![
                (
                    http::header::AUTHORIZATION,
                    HeaderValue::from_static("Bearer tok.en.value"),
                ),
                (
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
            ],
            body: br#"{"old_password":"It's-Secret1"}"#.to_vec(),
        };
        let e = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            curl(&e, &request, &r),
            "curl -i -X POST http://127.0.0.1:8080/change_user_password \
             -H 'authorization: Bearer <token:alice>' -H 'content-type: application/json' \
             --data-binary '{\"old_password\":\"<password:current>\"}'"
        );
    }

    #[test]
    fn shell_quote_escapes_single_quotes() {
        assert_eq!(shell_quote("a'b"), "'a'\\''b'");
        assert_eq!(shell_quote("plain"), "plain");
    }
}
