//! One HTTP exchange as the runner sees it: the target's [`Endpoint`]
//! (which owns the run's [`Client`]: kept-alive connections, proxies, TLS,
//! fixed headers, pacing, waiting out 429/503), the request, the response
//! with the retries it took, the redacted record of an exchange, and the
//! curl command that reproduces it.
//!
//! `https` targets are verified against Mozilla's root certificates (bundled)
//! plus, for private CAs, the PEM certificates in the file named by the
//! `CONFORMANCE_CA_FILE` environment variable.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderValue, Method};
use serde::Serialize;
use tokio::net::TcpStream;

pub use crate::client::CA_FILE_ENV;
use crate::client::{Client, HttpOptions};
use crate::redact::Redactor;
pub use crate::wire::{ENDPOINT_PATH, Request, Response, TransportError};

/// Where the target listens: `http(s)://host:port/prefix`, and the client
/// that talks to it (clones share its connections and its pacing).
#[derive(Clone)]
pub struct Endpoint {
    /// `host:port` to connect to.
    pub authority: String,
    /// The `Host` header value.
    pub host: String,
    /// Path prefix without a trailing slash (often empty).
    pub prefix: String,
    /// Whether the target is `https`.
    https: bool,
    /// The client of the run.
    client: Arc<Client>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url(""))
            .field("authority", &self.authority)
            .finish()
    }
}

impl PartialEq for Endpoint {
    fn eq(&self, other: &Self) -> bool {
        self.url("") == other.url("") && self.authority == other.authority
    }
}

impl Eq for Endpoint {}

impl Endpoint {
    /// Parses an `http` or `https` base URL; the client has the defaults
    /// (proxies from the environment, `CONFORMANCE_CA_FILE`, default pacing
    /// and retries, no fixed headers).
    pub fn parse(base_url: &str) -> Result<Endpoint, String> {
        Endpoint::with_options(base_url, &HttpOptions::default())
    }

    /// Refuses clear-text `http` to a host off the loopback interface
    /// (`127.0.0.0/8`, `::1`, `localhost`) unless `allowed`: the tenant's
    /// passwords and tokens would cross the network unencrypted.
    pub fn refuse_clear_text(&self, allowed: bool) -> Result<(), String> {
        if self.https || allowed || self.is_loopback() {
            return Ok(());
        }
        Err(format!(
            "{}: clear-text http to a host off the loopback interface would send passwords \
             and tokens unencrypted; use https, or opt in with --allow-insecure-http \
             ([http] allow_insecure_http = true in the profile)",
            self.url("")
        ))
    }

    /// Parses a base URL; `https` trusts Mozilla's roots plus `extra_ca` (PEM).
    pub fn parse_trusting(
        base_url: &str,
        extra_ca: Option<&std::path::Path>,
    ) -> Result<Endpoint, String> {
        let options = HttpOptions {
            extra_ca: extra_ca.map(std::path::Path::to_path_buf),
            ..HttpOptions::default()
        };
        Endpoint::with_options(base_url, &options)
    }

    /// Parses a base URL and builds its client from `options`.
    pub fn with_options(base_url: &str, options: &HttpOptions) -> Result<Endpoint, String> {
        let uri: http::Uri = base_url
            .parse()
            .map_err(|e| format!("{base_url:?} is not a URL: {e}"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(format!("{base_url:?} must start with http:// or https://")),
        };
        let auth = uri
            .authority()
            .ok_or_else(|| format!("{base_url:?} has no host"))?;
        let port = auth.port_u16().unwrap_or(if https { 443 } else { 80 });
        let host = auth.host().to_string();
        if uri.query().is_some() {
            return Err(format!("{base_url:?} must not have a query"));
        }
        if https {
            let name = host.trim_start_matches('[').trim_end_matches(']');
            rustls_pki_types::ServerName::try_from(name)
                .map_err(|e| format!("{base_url:?}: not a TLS server name: {e}"))?;
        }
        let client = Client::new(&host, https, options)?;
        Ok(Endpoint {
            authority: format!("{host}:{port}"),
            host: auth.as_str().to_string(),
            prefix: uri.path().trim_end_matches('/').to_string(),
            https,
            client: Arc::new(client),
        })
    }

    /// The full URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{}{}", self.host, self.prefix, path)
    }

    /// `{base_url}/change_user_password`.
    pub fn endpoint_url(&self) -> String {
        self.url(ENDPOINT_PATH)
    }

    /// Whether the target's address is on the loopback interface.
    pub fn is_loopback(&self) -> bool {
        let host = match self.authority.rsplit_once(':') {
            Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => self.authority.as_str(),
        };
        crate::client::is_loopback(host)
    }

    /// The client of the run.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// Checks that the target (or, behind a proxy, the proxy) accepts TCP
/// connections.
pub async fn probe(endpoint: &Endpoint, timeout: Duration) -> Result<(), TransportError> {
    let uri = endpoint
        .url(ENDPOINT_PATH)
        .parse::<http::Uri>()
        .map_err(|e| TransportError::Connect(e.to_string()))?;
    let hop = endpoint.client.first_hop(&uri, &endpoint.authority);
    match tokio::time::timeout(timeout, TcpStream::connect(&hop)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(TransportError::Connect(format!("{hop}: {e}"))),
        Err(_) => Err(TransportError::Timeout(timeout)),
    }
}

/// Per-request options of [`send_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOptions {
    /// Bounds each attempt (connection, request, whole response).
    pub timeout: Duration,
    /// Open a new connection for this request and close it after, instead
    /// of a kept-alive one.
    pub fresh_connection: bool,
}

/// Sends one request (on a kept-alive connection when it cannot change a
/// password, [`crate::client::may_resend`]) and reads the whole response; 429/503 answers are waited out (see [`Response::retries`]).
pub async fn send(
    endpoint: &Endpoint,
    request: &Request,
    timeout: Duration,
) -> Result<Response, TransportError> {
    let options = SendOptions {
        timeout,
        fresh_connection: false,
    };
    send_with(endpoint, request, options).await
}

/// [`send`] with per-request options.
pub async fn send_with(
    endpoint: &Endpoint,
    request: &Request,
    options: SendOptions,
) -> Result<Response, TransportError> {
    let uri: http::Uri = endpoint
        .url(&request.path)
        .parse()
        .map_err(|e| TransportError::Http(format!("{:?}: {e}", request.path)))?;
    endpoint
        .client
        .send(
            &uri,
            &endpoint.host,
            request,
            options.timeout,
            options.fresh_connection,
        )
        .await
}

/// [`send`] with `before` called after every wait and just before each
/// attempt ([`crate::client::Client::send_hooked`]); `request` is left as
/// the last attempt sent it.
pub async fn send_hooked(
    endpoint: &Endpoint,
    request: &mut Request,
    timeout: Duration,
    before: &mut (dyn crate::client::BeforeAttempt + '_),
) -> Result<Response, TransportError> {
    let options = SendOptions {
        timeout,
        fresh_connection: false,
    };
    send_hooked_with(endpoint, request, options, before).await
}

/// [`send_hooked`] with per-request options.
pub async fn send_hooked_with(
    endpoint: &Endpoint,
    request: &mut Request,
    options: SendOptions,
    before: &mut (dyn crate::client::BeforeAttempt + '_),
) -> Result<Response, TransportError> {
    let uri: http::Uri = endpoint
        .url(&request.path)
        .parse()
        .map_err(|e| TransportError::Http(format!("{:?}: {e}", request.path)))?;
    let mut sent = std::borrow::Cow::Borrowed(&*request);
    let outcome = endpoint
        .client
        .send_hooked(
            &uri,
            &endpoint.host,
            &mut sent,
            options.timeout,
            options.fresh_connection,
            Some(before),
        )
        .await;
    if let std::borrow::Cow::Owned(sent) = sent {
        *request = sent;
    }
    outcome
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
        // The fixed headers' values may be secrets: hidden wherever they
        // show up (an echo in a body, an error).
        let with_headers;
        let redactor = if endpoint.client.fixed_headers().is_empty() || redactor.shows_secrets() {
            redactor
        } else {
            let mut r = redactor.clone();
            for (name, value) in endpoint.client.fixed_headers() {
                r.add(
                    &String::from_utf8_lossy(value.as_bytes()),
                    &format!("header:{name}"),
                );
            }
            with_headers = r;
            &with_headers
        };
        let text = |v: &HeaderValue| redactor.apply(&String::from_utf8_lossy(v.as_bytes()));
        let request_record = RequestRecord {
            method: request.method.to_string(),
            path: request.path.clone(),
            headers: fixed_headers(endpoint, redactor)
                .into_iter()
                .chain(
                    request
                        .headers
                        .iter()
                        .map(|(n, v)| (n.as_str().to_string(), text(v))),
                )
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
        let purpose = match outcome {
            Ok(r) => format!("{purpose}{}", retry_note(r)),
            Err(_) => purpose.to_string(),
        };
        ExchangeRecord {
            step,
            purpose,
            request: request_record,
            response,
            error,
            elapsed_ms: started.elapsed().as_millis() as u64,
            curl: curl(endpoint, request, redactor),
        }
    }
}

/// How the retries of a response read after the step's purpose: empty
/// without retries, else e.g. ` [waited out 2 answers: 429 (Retry-After: 1),
/// 503 (Retry-After: 1); 2.0 s]`, and a note when the budget ran out.
pub fn retry_note(response: &Response) -> String {
    let mut note = String::new();
    if !response.retries.is_empty() {
        let answers: Vec<String> = response
            .retries
            .iter()
            .map(|r| match &r.retry_after {
                Some(v) => format!("{} (Retry-After: {v})", r.status),
                None => r.status.to_string(),
            })
            .collect();
        let waited: u64 = response.retries.iter().map(|r| r.waited_ms).sum();
        note = format!(
            " [waited out {} answer{}: {}; {:.1} s]",
            answers.len(),
            if answers.len() == 1 { "" } else { "s" },
            answers.join(", "),
            waited as f64 / 1000.0
        );
    }
    if response.retry_budget_exhausted {
        note.push_str(" [retry budget exhausted: this answer determines nothing]");
    }
    note
}

/// The client's fixed headers as records show them: values redacted as
/// `<header:NAME>` (they may be secrets) unless secrets are shown.
fn fixed_headers(endpoint: &Endpoint, redactor: &Redactor) -> Vec<(String, String)> {
    endpoint
        .client
        .fixed_headers()
        .iter()
        .map(|(n, v)| {
            let value = if redactor.shows_secrets() {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            } else {
                format!("<header:{n}>")
            };
            (n.as_str().to_string(), value)
        })
        .collect()
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
    if let Some(id) = endpoint.client.identity() {
        parts.push(format!(
            "--cert {} --key {}",
            shell_quote(&id.cert.display().to_string()),
            shell_quote(&id.key.display().to_string())
        ));
    }
    for (name, value) in fixed_headers(endpoint, redactor) {
        parts.push(format!("-H {}", shell_quote(&format!("{name}: {value}"))));
    }
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
    use http_body_util::Full;
    use hyper::body::Bytes;
    use hyper_util::rt::TokioIo;

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

    /// A TLS server for `localhost` with a fresh self-signed certificate that
    /// answers every request with S9's challenge; returns its port and the
    /// certificate as PEM.
    async fn tls_server() -> (u16, String) {
        use tokio_rustls::rustls::ServerConfig;
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let key = rustls_pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(|_req| async {
                        let mut r = http::Response::new(Full::new(Bytes::new()));
                        *r.status_mut() = http::StatusCode::BAD_REQUEST;
                        r.headers_mut().insert(
                            http::header::WWW_AUTHENTICATE,
                            HeaderValue::from_static("Bearer error=\"invalid_request\""),
                        );
                        Ok::<_, std::convert::Infallible>(r)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        (port, cert.pem())
    }

    #[tokio::test]
    async fn https_targets_are_verified_against_the_trusted_roots() {
        let (port, pem) = tls_server().await;
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, pem).unwrap();
        let url = format!("https://localhost:{port}");
        let request = Request {
            method: Method::POST,
            path: ENDPOINT_PATH.to_string(),
            headers: vec![],
            body: vec![],
        };
        let trusted = Endpoint::parse_trusting(&url, Some(&ca)).unwrap();
        assert_eq!(
            trusted.endpoint_url(),
            format!("https://localhost:{port}/change_user_password")
        );
        let r = send(&trusted, &request, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(r.status, 400);
        assert_eq!(
            r.header("www-authenticate").as_deref(),
            Some("Bearer error=\"invalid_request\"")
        );
        // Without the private CA the self-signed certificate is refused.
        let untrusted = Endpoint::parse_trusting(&url, None).unwrap();
        match send(&untrusted, &request, Duration::from_secs(5)).await {
            Err(TransportError::Connect(e)) => assert!(e.contains("TLS"), "{e}"),
            other => panic!("expected a TLS failure, got {other:?}"),
        }
        // A CA file that holds no certificate is a clear error.
        std::fs::write(&ca, "not a certificate").unwrap();
        let e = Endpoint::parse_trusting(&url, Some(&ca)).unwrap_err();
        assert!(e.contains(CA_FILE_ENV), "{e}");
    }

    #[test]
    fn https_defaults_to_port_443_and_other_schemes_are_refused() {
        let e = Endpoint::parse("https://ciam.example/portal").unwrap();
        assert_eq!(e.authority, "ciam.example:443");
        assert_eq!(
            e.endpoint_url(),
            "https://ciam.example/portal/change_user_password"
        );
        assert!(Endpoint::parse("ftp://ciam.example").is_err());
    }

    #[test]
    fn shell_quote_escapes_single_quotes() {
        assert_eq!(shell_quote("a'b"), "'a'\\''b'");
        assert_eq!(shell_quote("plain"), "plain");
    }
}
