//! A request and a response as the transport carries them, the endpoint's
//! path, and why an exchange did not complete: the data both the client
//! and the exchange speak.

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::retry::Retry;

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
    /// 429/503 answers waited out before this one (never the answer).
    pub retries: Vec<Retry>,
    /// This is a 429 or 503 that the retry bound did not let the client
    /// wait out: the exchange determined nothing about the endpoint.
    pub retry_budget_exhausted: bool,
}

impl Response {
    /// A response built by hand (unit tests of the checks).
    #[cfg(test)]
    pub(crate) fn for_tests(status: u16, headers: &[(&'static str, &str)], body: &str) -> Response {
        let mut map = HeaderMap::new();
        for (n, v) in headers {
            map.append(*n, HeaderValue::from_str(v).expect("valid header value"));
        }
        Response {
            status,
            headers: map,
            body: body.as_bytes().to_vec(),
            retries: Vec::new(),
            retry_budget_exhausted: false,
        }
    }

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
