//! The HTTP client of a run, one per target: kept-alive connections (a
//! pool per endpoint) for the requests that cannot change a password, and
//! a connection of its own for every other request and for those that ask
//! for one ([`may_resend`]), `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY` (absolute-form requests
//! to an `http` proxy, a `CONNECT` tunnel for `https` targets), TLS with
//! an optional client certificate, fixed headers, pacing and waiting out
//! 429/503 answers. Redirects are never followed (hyper follows nothing).
//!
//! Built on hyper-util's legacy client (the pool), its proxy `Matcher` and
//! `Tunnel`, and tokio-rustls; [`crate::exchange`] is the face the runner
//! uses.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use http::{HeaderName, HeaderValue, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tower_service::Service;

use crate::pacing::{DEFAULT_REMOTE_RATE, Pacer};
use crate::preconnect::Preconnect;
use crate::retry::{self, Retry, RetryPolicy};
use crate::wire::{Request, Response, TransportError};

/// The largest response body the harness reads.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Idle kept-alive connections are closed after this long.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// Connection setup (TCP, proxy tunnel, TLS) at most, by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Environment variable naming extra trusted CA certificates (PEM).
pub const CA_FILE_ENV: &str = "CONFORMANCE_CA_FILE";

/// Where proxy rules come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Proxies {
    /// `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY` (and lower-case
    /// forms) of the process, read when the client is built.
    #[default]
    Env,
    /// Given values, the way the environment variables would give them
    /// (empty: none).
    Explicit {
        /// Proxy of `http` targets.
        http: String,
        /// Proxy of `https` targets.
        https: String,
        /// Hosts reached directly (comma-separated, like `NO_PROXY`).
        no: String,
    },
}

impl Proxies {
    fn matcher(&self) -> Matcher {
        match self {
            Proxies::Env => Matcher::from_env(),
            Proxies::Explicit { http, https, no } => Matcher::builder()
                .http(http.clone())
                .https(https.clone())
                .no(no.clone())
                .build(),
        }
    }
}

/// A client certificate and its key (PEM files) for mutual TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// How the client talks to a target.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Requests per second at most; `None`: [`DEFAULT_REMOTE_RATE`] for a
    /// target off the loopback interface, unpaced on it; `Some(0.0)`:
    /// unpaced.
    pub rate: Option<f64>,
    /// Connection setup at most (TCP, proxy tunnel, TLS).
    pub connect_timeout: Duration,
    /// The bound on waiting out 429/503 answers.
    pub retry: RetryPolicy,
    /// Headers sent with every request, before the request's own.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// A client certificate for mutual TLS.
    pub identity: Option<ClientIdentity>,
    /// Extra trusted CA certificates (PEM) for `https` targets.
    pub extra_ca: Option<PathBuf>,
    /// Proxy rules.
    pub proxies: Proxies,
    /// Open the connection of the next change ahead for a target off the
    /// loopback interface ([`crate::preconnect`]).
    pub preconnect: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            rate: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry: RetryPolicy::default(),
            headers: Vec::new(),
            identity: None,
            extra_ca: std::env::var_os(CA_FILE_ENV).map(PathBuf::from),
            proxies: Proxies::Env,
            preconnect: true,
        }
    }
}

/// Whether `host` (as in a URL) is on the loopback interface.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One target's client; cheap to share behind an `Arc`.
pub struct Client {
    pooled: legacy::Client<Connector, Full<Bytes>>,
    fresh: legacy::Client<Preconnect<Connector>, Full<Bytes>>,
    proxies: Arc<Matcher>,
    pacer: Option<Pacer>,
    retry: RetryPolicy,
    headers: Vec<(HeaderName, HeaderValue)>,
    identity: Option<ClientIdentity>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("proxies", &self.proxies)
            .field("pacer", &self.pacer)
            .field("retry", &self.retry)
            .field("headers", &self.headers.len())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for a target at `host` (as in its URL); `https` builds the
    /// TLS configuration (errors name the file and the setting).
    pub fn new(host: &str, https: bool, options: &HttpOptions) -> Result<Client, String> {
        let tls = if https {
            Some(client_config(
                options.extra_ca.as_deref(),
                options.identity.as_ref(),
            )?)
        } else {
            None
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(options.connect_timeout));
        let proxies = Arc::new(options.proxies.matcher());
        let connector = Connector {
            http,
            tls,
            proxies: proxies.clone(),
            connect_timeout: options.connect_timeout,
        };
        let builder = |max_idle: usize| {
            let mut b = legacy::Client::builder(TokioExecutor::new());
            b.pool_timer(TokioTimer::new())
                .pool_idle_timeout(POOL_IDLE)
                .pool_max_idle_per_host(max_idle);
            b
        };
        let rate = options.rate.unwrap_or(if is_loopback(host) {
            0.0
        } else {
            DEFAULT_REMOTE_RATE
        });
        Ok(Client {
            pooled: builder(usize::MAX).build(connector.clone()),
            fresh: builder(0).build(Preconnect::new(
                connector,
                options.preconnect && !is_loopback(host) && crate::preconnect::worth_it(rate),
            )),
            proxies,
            pacer: Pacer::per_second(rate),
            retry: options.retry,
            headers: options.headers.clone(),
            identity: options.identity.clone(),
        })
    }

    /// The headers sent with every request.
    pub fn fixed_headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// The client certificate, if any.
    pub fn identity(&self) -> Option<&ClientIdentity> {
        self.identity.as_ref()
    }

    /// Requests per second, if paced.
    pub fn rate(&self) -> Option<f64> {
        self.pacer
            .as_ref()
            .map(|p| 1.0 / p.interval().as_secs_f64())
    }

    /// `host:port` of the first hop to `uri`: the proxy, or the target.
    pub fn first_hop(&self, uri: &Uri, target: &str) -> String {
        match self.proxies.intercept(uri) {
            Some(p) => {
                let port = p.uri().port_u16().unwrap_or(80);
                format!("{}:{port}", p.uri().host().unwrap_or_default())
            }
            None => target.to_string(),
        }
    }

    /// Sends `request` to `uri` (absolute), paced, waiting out 429/503
    /// answers within the retry bound. `timeout` bounds each attempt.
    pub async fn send(
        &self,
        uri: &Uri,
        host: &str,
        request: &Request,
        timeout: Duration,
        fresh_connection: bool,
    ) -> Result<Response, TransportError> {
        let mut request = std::borrow::Cow::Borrowed(request);
        self.send_hooked(uri, host, &mut request, timeout, fresh_connection, None)
            .await
    }

    /// [`Client::send`] with `before` called after every wait (the pacing
    /// slot, a `Retry-After`) and just before each attempt goes out: it may
    /// edit the request (a token taken again); `request` is then what the
    /// last attempt sent.
    pub async fn send_hooked(
        &self,
        uri: &Uri,
        host: &str,
        request: &mut std::borrow::Cow<'_, Request>,
        timeout: Duration,
        fresh_connection: bool,
        mut before: Option<&mut (dyn BeforeAttempt + '_)>,
    ) -> Result<Response, TransportError> {
        let mut retries: Vec<Retry> = Vec::new();
        let mut waited = Duration::ZERO;
        loop {
            if let Some(pacer) = &self.pacer {
                pacer.wait().await;
            }
            if let Some(hook) = before.as_deref_mut() {
                hook.before_attempt(request.to_mut()).await;
            }
            let attempt = self.attempt(uri, host, request, fresh_connection);
            let mut response = match tokio::time::timeout(timeout, attempt).await {
                Ok(r) => r?,
                Err(_) => return Err(TransportError::Timeout(timeout)),
            };
            let retry_after = response.header("retry-after");
            let Some(wait) = retry::wait_before_retry(
                response.status,
                retry_after.as_deref(),
                SystemTime::now(),
            ) else {
                response.retries = retries;
                return Ok(response);
            };
            if retries.len() as u64 >= u64::from(self.retry.max_retries)
                || waited.saturating_add(wait) > self.retry.max_wait
            {
                response.retries = retries;
                response.retry_budget_exhausted = true;
                return Ok(response);
            }
            retries.push(Retry {
                status: response.status,
                retry_after,
                waited_ms: wait.as_millis() as u64,
            });
            tokio::time::sleep(wait).await;
            waited += wait;
        }
    }

    async fn attempt(
        &self,
        uri: &Uri,
        host: &str,
        request: &Request,
        fresh_connection: bool,
    ) -> Result<Response, TransportError> {
        let pooled = !fresh_connection && may_resend(&request.method);
        let outcome = if pooled {
            self.pooled
                .request(self.http_request(uri, host, request)?)
                .await
        } else {
            self.fresh
                .request(self.http_request(uri, host, request)?)
                .await
        };
        let response = match outcome {
            // A kept-alive connection the target closed as the request
            // went out: the request cannot have changed anything, so it
            // goes again, once, on a connection of its own.
            Err(e) if pooled && !e.is_connect() => {
                self.fresh
                    .request(self.http_request(uri, host, request)?)
                    .await
            }
            outcome => outcome,
        }
        .map_err(|e| {
            if e.is_connect() {
                TransportError::Connect(e.source().map_or_else(|| e.to_string(), chain))
            } else {
                TransportError::Http(chain(&e))
            }
        })?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| TransportError::Http(format!("reading the body: {e}")))?
            .to_bytes();
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: body.to_vec(),
            retries: Vec::new(),
            retry_budget_exhausted: false,
        })
    }

    /// `request` to `uri` as hyper sends it: `Host`, proxy credentials for
    /// an `http` proxy, the fixed headers, then the request's own.
    fn http_request(
        &self,
        uri: &Uri,
        host: &str,
        request: &Request,
    ) -> Result<http::Request<Full<Bytes>>, TransportError> {
        let mut builder = http::Request::builder()
            .method(request.method.clone())
            .uri(uri.clone())
            .header(http::header::HOST, host);
        if uri.scheme_str() == Some("http")
            && let Some(auth) = self
                .proxies
                .intercept(uri)
                .and_then(|p| p.basic_auth().cloned())
        {
            builder = builder.header(http::header::PROXY_AUTHORIZATION, auth);
        }
        for (name, value) in self.headers.iter().chain(&request.headers) {
            builder = builder.header(name, value);
        }
        builder
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|e| TransportError::Http(e.to_string()))
    }
}

/// Whether a request with `method` may go on a kept-alive connection (and
/// be sent again on a new one when that connection turns out closed).
///
/// A target may close an idle kept-alive connection at the moment a
/// request goes out on it (Node's 5 s keep-alive timeout, a load
/// balancer's, a server that closes after 50 ms): the request is lost
/// without a byte of an answer, and nothing tells whether the target read
/// and applied it. Sending it again is safe only for a request that cannot
/// change a password: the safe methods (RFC 9110 §9.2.1), which the run
/// uses for the target's keys and discovery document. Every other request
/// (a change, even one meant to be refused, or any other method a
/// defective target might act on) goes on a connection of its own, opened
/// for it and closed after its answer, so that it is never lost that way
/// and never resent blindly. That costs one connection setup per change:
/// negligible on loopback; on a link where a setup costs round trips, the
/// next change's connection is opened while the previous request is in
/// flight ([`crate::preconnect`]); resolving a lost change instead would
/// cost a wrong old password from the lockout budget.
pub fn may_resend(method: &http::Method) -> bool {
    matches!(
        *method,
        http::Method::GET | http::Method::HEAD | http::Method::OPTIONS
    )
}

/// What runs after every wait of [`Client::send_hooked`] and just before
/// each attempt goes out: the session takes the request's token again
/// there, so that no wait spends it (the `renewal` module, above this one).
pub trait BeforeAttempt: Send {
    /// Edits `request` before it is sent.
    fn before_attempt<'a>(
        &'a mut self,
        request: &'a mut Request,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// An error and its sources, joined with `: `.
fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

/// A TLS client configuration: Mozilla's roots plus the certificates of
/// `extra_ca`, and the client certificate if any.
fn client_config(
    extra_ca: Option<&std::path::Path>,
    identity: Option<&ClientIdentity>,
) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(file) = extra_ca {
        let certs =
            read_certs(file).map_err(|e| format!("{CA_FILE_ENV}={}: {e}", file.display()))?;
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("{CA_FILE_ENV}={}: {e}", file.display()))?;
        }
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some(id) => {
            let certs = read_certs(&id.cert)
                .map_err(|e| format!("http.client_cert ({}): {e}", id.cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(&id.key)
                .map_err(|e| format!("http.client_key ({}): {e}", id.key.display()))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("http.client_cert / http.client_key: {e}"))?
        }
    };
    Ok(Arc::new(config))
}

fn read_certs(file: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(file)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no certificate".to_string());
    }
    Ok(certs)
}

type BoxError = Box<dyn StdError + Send + Sync>;

/// Opens connections: directly, through an `http` proxy, or through a
/// `CONNECT` tunnel; TLS on top for `https` targets.
#[derive(Clone)]
struct Connector {
    http: HttpConnector,
    tls: Option<Arc<ClientConfig>>,
    proxies: Arc<Matcher>,
    connect_timeout: Duration,
}

impl Service<Uri> for Connector {
    type Response = Conn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let authority = authority_of(&dst);
            let limit = this.connect_timeout;
            match tokio::time::timeout(limit, this.connect(dst)).await {
                Ok(r) => r,
                Err(_) => Err(format!(
                    "{authority}: no connection within {} s",
                    limit.as_secs_f64()
                )
                .into()),
            }
        })
    }
}

fn authority_of(uri: &Uri) -> String {
    let default = if uri.scheme_str() == Some("https") {
        443
    } else {
        80
    };
    format!(
        "{}:{}",
        uri.host().unwrap_or_default(),
        uri.port_u16().unwrap_or(default)
    )
}

impl Connector {
    async fn connect(self, dst: Uri) -> Result<Conn, BoxError> {
        let authority = authority_of(&dst);
        let https = dst.scheme_str() == Some("https");
        let route = self.proxies.intercept(&dst);
        let mut http = self.http.clone();
        let tcp: TcpStream = match &route {
            None => http
                .call(dst.clone())
                .await
                .map_err(|e| format!("{authority}: {}", chain(&e)))?
                .into_inner(),
            Some(proxy) if !https => {
                let tcp = http
                    .call(proxy.uri().clone())
                    .await
                    .map_err(|e| format!("proxy {}: {}", proxy.uri(), chain(&e)))?;
                // Absolute-form requests to the proxy.
                return Ok(Conn::new(tcp.into_inner(), true));
            }
            Some(proxy) => {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), http);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                tunnel
                    .call(dst.clone())
                    .await
                    .map_err(|e| {
                        format!("proxy {} CONNECT {authority}: {}", proxy.uri(), chain(&e))
                    })?
                    .into_inner()
            }
        };
        if !https {
            return Ok(Conn::new(tcp, false));
        }
        let config = self
            .tls
            .clone()
            .ok_or_else(|| format!("{authority}: https without a TLS configuration"))?;
        let host = dst.host().unwrap_or_default();
        let name = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let name = ServerName::try_from(name)
            .map_err(|e| format!("{authority}: not a TLS server name: {e}"))?;
        let tls = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("{authority}: TLS: {e}"))?;
        Ok(Conn::new(tls, false))
    }
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A connection: plain or TLS, direct or to a proxy.
struct Conn {
    io: TokioIo<Box<dyn Io>>,
    proxied: bool,
}

impl Conn {
    fn new(io: impl Io + 'static, proxied: bool) -> Conn {
        Conn {
            io: TokioIo::new(Box::new(io)),
            proxied,
        }
    }
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        Connected::new().proxy(self.proxied)
    }
}

impl crate::preconnect::Spare for Conn {
    /// One read polled without waiting: `Pending` is a connection still
    /// open with nothing to read (a TLS stream handles the server's
    /// post-handshake messages, such as session tickets, inside it); an
    /// end of stream, an error or unasked-for bytes mean it is not a clean
    /// new connection any more.
    fn closed(&mut self) -> bool {
        use tokio::io::AsyncRead as _;
        let mut byte = [0u8; 1];
        let mut buf = tokio::io::ReadBuf::new(&mut byte);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        Pin::new(self.io.inner_mut())
            .poll_read(&mut cx, &mut buf)
            .is_ready()
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection's peer closing it is seen at once, without waiting;
    /// an open one with nothing to read is not closed.
    #[tokio::test]
    async fn a_spare_sees_its_peer_close_it() {
        use crate::preconnect::Spare;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (peer, _) = listener.accept().await.unwrap();
        let mut conn = Conn::new(stream, false);
        assert!(!conn.closed(), "open, nothing sent");
        drop(peer);
        let mut seen = false;
        for _ in 0..100 {
            if conn.closed() {
                seen = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(seen, "the peer's close was not seen");
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("[::1]"));
        assert!(is_loopback("LocalHost"));
        assert!(!is_loopback("ciam.example"));
        assert!(!is_loopback("10.0.0.1"));
    }

    #[test]
    fn remote_targets_are_paced_by_default_and_loopback_is_not() {
        let options = HttpOptions::default();
        let remote = Client::new("ciam.example", false, &options).unwrap();
        assert_eq!(remote.rate(), Some(DEFAULT_REMOTE_RATE));
        let local = Client::new("127.0.0.1", false, &options).unwrap();
        assert_eq!(local.rate(), None);
        let options = HttpOptions {
            rate: Some(2.0),
            ..HttpOptions::default()
        };
        let local = Client::new("127.0.0.1", false, &options).unwrap();
        assert_eq!(local.rate(), Some(2.0));
    }

    #[test]
    fn explicit_proxies_route_the_first_hop() {
        let options = HttpOptions {
            proxies: Proxies::Explicit {
                http: "http://127.0.0.1:3128".into(),
                https: String::new(),
                no: "direct.example".into(),
            },
            ..HttpOptions::default()
        };
        let c = Client::new("x", false, &options).unwrap();
        let via = Uri::from_static("http://ciam.example/change_user_password");
        assert_eq!(c.first_hop(&via, "ciam.example:80"), "127.0.0.1:3128");
        let direct = Uri::from_static("http://direct.example/change_user_password");
        assert_eq!(
            c.first_hop(&direct, "direct.example:80"),
            "direct.example:80"
        );
        let https = Uri::from_static("https://ciam.example/change_user_password");
        assert_eq!(c.first_hop(&https, "ciam.example:443"), "ciam.example:443");
    }
}
