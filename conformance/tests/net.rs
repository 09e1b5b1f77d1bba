//! The transport on real networks, against loopback fakes: 429/503 waited
//! out within a bound, kept-alive connections, an HTTP proxy and a CONNECT
//! tunnel (a tiny proxy of our own), mutual TLS, redirects not followed,
//! fixed headers from the environment, the token command's cache,
//! password and refusals, and the state file's lock and old format.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use conformance::client::{ClientIdentity, HttpOptions, Proxies};
use conformance::exchange::{
    self, ENDPOINT_PATH, Endpoint, ExchangeRecord, Request, Response, SendOptions,
};
use conformance::profile::{Account, Profile};
use conformance::redact::Redactor;
use conformance::retry::{Retry, RetryPolicy};
use conformance::state::{State, StateFile, StateLock};
use conformance::tokens::{TokenError, TokenFactory};
use http::{HeaderMap, HeaderValue, Method};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;

const TIMEOUT: Duration = Duration::from_secs(10);

/// What a fake saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    uri: String,
    headers: HeaderMap,
}

/// An answer: status, headers, body.
type Answer = (u16, Vec<(&'static str, String)>, String);

/// A loopback HTTP/1.1 server (keep-alive on) that answers request `n`
/// (1-based) with `answer(n)` and counts connections and requests.
struct Fake {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    async fn start(answer: impl Fn(usize) -> Answer + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(answer);
        let (c, s) = (connections.clone(), seen.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let (s, answer) = (s.clone(), answer.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: http::Request<_>| {
                        let n = {
                            let mut seen = s.lock().unwrap();
                            seen.push(Seen {
                                uri: req.uri().to_string(),
                                headers: req.headers().clone(),
                            });
                            seen.len()
                        };
                        let (status, headers, body) = answer(n);
                        let mut r = http::Response::new(Full::new(Bytes::from(body)));
                        *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
                        for (name, value) in headers {
                            r.headers_mut()
                                .append(name, HeaderValue::from_str(&value).unwrap());
                        }
                        async move { Ok::<_, std::convert::Infallible>(r) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Fake {
            addr,
            connections,
            seen,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn last(&self) -> Seen {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
}

fn wrong_old_password() -> Answer {
    (
        400,
        vec![("content-type", "application/json;charset=UTF-8".into())],
        r#"{"error":"wrong_old_password"}"#.into(),
    )
}

fn change() -> Request {
    Request {
        method: Method::POST,
        path: ENDPOINT_PATH.to_string(),
        headers: vec![(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body: br#"{"old_password":"a","new_password":"b"}"#.to_vec(),
    }
}

fn direct() -> HttpOptions {
    HttpOptions {
        proxies: Proxies::Explicit {
            http: String::new(),
            https: String::new(),
            no: String::new(),
        },
        extra_ca: None,
        ..HttpOptions::default()
    }
}

fn record(
    endpoint: &Endpoint,
    outcome: &Result<Response, exchange::TransportError>,
) -> ExchangeRecord {
    ExchangeRecord::new(
        1,
        "a change",
        endpoint,
        &change(),
        outcome,
        Instant::now(),
        &Redactor::new(false),
    )
}

#[tokio::test]
async fn rate_limits_are_waited_out_and_the_final_answer_is_the_real_one() {
    // Every other request is rate limited.
    let fake = Fake::start(|n| {
        if n % 2 == 1 {
            (429, vec![("retry-after", "1".into())], String::new())
        } else {
            wrong_old_password()
        }
    })
    .await;
    let endpoint = Endpoint::with_options(&fake.url(), &direct()).unwrap();
    for _ in 0..2 {
        let outcome = exchange::send(&endpoint, &change(), TIMEOUT).await;
        let r = outcome.as_ref().unwrap();
        assert_eq!(r.status, 400);
        assert_eq!(r.body, br#"{"error":"wrong_old_password"}"#);
        assert_eq!(
            r.retries,
            vec![Retry {
                status: 429,
                retry_after: Some("1".into()),
                waited_ms: 1000
            }]
        );
        assert!(!r.retry_budget_exhausted);
        let rec = record(&endpoint, &outcome);
        assert_eq!(
            rec.purpose,
            "a change [waited out 1 answer: 429 (Retry-After: 1); 1.0 s]"
        );
        assert_eq!(rec.response.unwrap().status, 400);
    }
    assert_eq!(fake.requests(), 4);
}

#[tokio::test]
async fn a_retry_budget_that_runs_out_is_flagged_not_judged() {
    let fake = Fake::start(|_| (503, vec![("retry-after", "1".into())], String::new())).await;
    let options = HttpOptions {
        retry: RetryPolicy {
            max_retries: 2,
            max_wait: Duration::from_secs(30),
        },
        ..direct()
    };
    let endpoint = Endpoint::with_options(&fake.url(), &options).unwrap();
    let outcome = exchange::send(&endpoint, &change(), TIMEOUT).await;
    let r = outcome.as_ref().unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(r.retries.len(), 2);
    assert!(r.retry_budget_exhausted);
    assert_eq!(fake.requests(), 3);
    assert!(
        record(&endpoint, &outcome)
            .purpose
            .ends_with("[retry budget exhausted: this answer determines nothing]")
    );

    // A Retry-After beyond the total wait is not waited at all.
    let fake = Fake::start(|_| (429, vec![("retry-after", "3600".into())], String::new())).await;
    let endpoint = Endpoint::with_options(&fake.url(), &options).unwrap();
    let r = exchange::send(&endpoint, &change(), TIMEOUT).await.unwrap();
    assert_eq!(
        (r.status, r.retries.len(), r.retry_budget_exhausted),
        (429, 0, true)
    );
    assert_eq!(fake.requests(), 1);

    // A 503 without Retry-After is the target's answer.
    let fake = Fake::start(|_| (503, vec![], String::new())).await;
    let endpoint = Endpoint::with_options(&fake.url(), &options).unwrap();
    let r = exchange::send(&endpoint, &change(), TIMEOUT).await.unwrap();
    assert_eq!(
        (r.status, r.retries.len(), r.retry_budget_exhausted),
        (503, 0, false)
    );
}

fn keys_request() -> Request {
    Request {
        method: Method::GET,
        path: "/oauth2/jwks".to_string(),
        headers: Vec::new(),
        body: Vec::new(),
    }
}

#[tokio::test]
async fn connections_are_kept_alive_only_for_requests_that_cannot_change_a_password() {
    let fake = Fake::start(|_| wrong_old_password()).await;
    let endpoint = Endpoint::with_options(&fake.url(), &direct()).unwrap();
    for _ in 0..5 {
        let r = exchange::send(&endpoint, &keys_request(), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(r.status, 400);
    }
    assert_eq!((fake.requests(), fake.connections()), (5, 1));
    // A change goes on a connection of its own, asked for or not.
    for _ in 0..3 {
        let r = exchange::send(&endpoint, &change(), TIMEOUT).await.unwrap();
        assert_eq!(r.status, 400);
    }
    assert_eq!((fake.requests(), fake.connections()), (8, 4));
    let fresh = SendOptions {
        timeout: TIMEOUT,
        fresh_connection: true,
    };
    exchange::send_with(&endpoint, &keys_request(), fresh)
        .await
        .unwrap();
    assert_eq!((fake.requests(), fake.connections()), (9, 5));
    // The kept-alive connection is still there for the next request.
    exchange::send(&endpoint.clone(), &keys_request(), TIMEOUT)
        .await
        .unwrap();
    assert_eq!((fake.requests(), fake.connections()), (10, 5));
}

/// A server that answers the first request of each connection (keep-alive)
/// and closes the connection on reading the second, without a byte of an
/// answer: a target closing an idle kept-alive connection as a request
/// goes out on it. Counts the requests read and the connections.
async fn closes_on_second_request() -> (SocketAddr, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (requests, connections) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (r, c) = (requests.clone(), connections.clone());
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            let r = r.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut answered = 0;
                loop {
                    let mut chunk = [0u8; 4096];
                    let Ok(n) = tcp.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    // Requests without a body (GET) or with a small one
                    // that arrives with its head: one per blank line.
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() < end + 4 + length {
                        continue;
                    }
                    buf.drain(..end + 4 + length);
                    r.fetch_add(1, Ordering::SeqCst);
                    if answered == 1 {
                        return;
                    }
                    answered += 1;
                    let _ = tcp
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                        .await;
                }
            });
        }
    });
    (addr, requests, connections)
}

#[tokio::test]
async fn a_request_lost_on_a_closed_kept_alive_connection_is_resent_only_when_harmless() {
    let (addr, requests, connections) = closes_on_second_request().await;
    let endpoint = Endpoint::with_options(&format!("http://{addr}"), &direct()).unwrap();
    // The keys: the second request goes on the kept-alive connection, is
    // lost there, and goes again on a new one.
    for _ in 0..2 {
        let r = exchange::send(&endpoint, &keys_request(), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(r.status, 200);
    }
    assert_eq!(
        (
            requests.load(Ordering::SeqCst),
            connections.load(Ordering::SeqCst)
        ),
        (3, 2)
    );
    // Changes never meet a kept-alive connection: each is answered on its
    // own, and none is sent twice.
    for _ in 0..3 {
        let r = exchange::send(&endpoint, &change(), TIMEOUT).await.unwrap();
        assert_eq!(r.status, 200);
    }
    assert_eq!(
        (
            requests.load(Ordering::SeqCst),
            connections.load(Ordering::SeqCst)
        ),
        (6, 5)
    );
}

#[tokio::test]
async fn redirects_are_reported_with_their_location_not_followed() {
    let fake = Fake::start(|_| (302, vec![("location", "/elsewhere".into())], String::new())).await;
    let endpoint = Endpoint::with_options(&fake.url(), &direct()).unwrap();
    let outcome = exchange::send(&endpoint, &change(), TIMEOUT).await;
    let r = outcome.as_ref().unwrap();
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location").as_deref(), Some("/elsewhere"));
    assert_eq!(fake.requests(), 1);
    let rec = record(&endpoint, &outcome);
    let response = rec.response.unwrap();
    assert_eq!(response.status, 302);
    assert!(
        response
            .headers
            .contains(&("location".to_string(), "/elsewhere".to_string()))
    );
    // curl reproduces it without following (-L) either.
    assert!(!rec.curl.contains(" -L"), "{}", rec.curl);
}

/// A tiny forward proxy on loopback: `CONNECT host:port` is tunnelled;
/// anything else (absolute-form) is passed to the host it names. Records
/// the first request line of each connection.
async fn proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let line = text.lines().next().unwrap_or_default().to_string();
                seen.lock().unwrap().push(line.clone());
                let mut words = line.split(' ');
                let (method, target) = (words.next().unwrap(), words.next().unwrap());
                let authority = if method == "CONNECT" {
                    target.to_string()
                } else {
                    let uri: http::Uri = target.parse().unwrap();
                    uri.authority().unwrap().to_string()
                };
                let Ok(mut upstream) = TcpStream::connect(&authority).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                if method == "CONNECT" {
                    let _ = client
                        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                        .await;
                } else {
                    let _ = upstream.write_all(&head).await;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (url, lines)
}

#[tokio::test]
async fn http_proxy_gets_absolute_form_and_no_proxy_bypasses_it() {
    let fake = Fake::start(|_| wrong_old_password()).await;
    let (proxy_url, lines) = proxy().await;
    let via_proxy = HttpOptions {
        proxies: Proxies::Explicit {
            http: proxy_url.clone(),
            https: String::new(),
            no: String::new(),
        },
        ..direct()
    };
    let endpoint = Endpoint::with_options(&fake.url(), &via_proxy).unwrap();
    let r = exchange::send(&endpoint, &change(), TIMEOUT).await.unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(
        lines.lock().unwrap().clone(),
        vec![format!(
            "POST http://{}/change_user_password HTTP/1.1",
            fake.addr
        )]
    );
    assert_eq!(fake.requests(), 1);
    // The probe checks the first hop: the proxy.
    exchange::probe(&endpoint, TIMEOUT).await.unwrap();

    let bypass = HttpOptions {
        proxies: Proxies::Explicit {
            http: proxy_url,
            https: String::new(),
            no: "127.0.0.1".into(),
        },
        ..direct()
    };
    let endpoint = Endpoint::with_options(&fake.url(), &bypass).unwrap();
    exchange::send(&endpoint, &change(), TIMEOUT).await.unwrap();
    assert_eq!(
        lines.lock().unwrap().len(),
        1,
        "NO_PROXY went through the proxy"
    );
    assert_eq!(fake.requests(), 2);
    assert_eq!(fake.last().uri, "/change_user_password");
}

/// Certificates for the TLS tests: a CA, a server certificate for
/// `localhost` and a client certificate, all signed by the CA.
struct Pki {
    ca_pem: String,
    server: (
        Vec<rustls_pki_types::CertificateDer<'static>>,
        rustls_pki_types::PrivateKeyDer<'static>,
    ),
    client_cert_pem: String,
    client_key_pem: String,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client_cert = CertificateParams::new(vec!["conformance-client".to_string()])
        .unwrap()
        .signed_by(&client_key, &issuer)
        .unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        server: (
            vec![server_cert.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        ),
        client_cert_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
    }
}

/// A TLS server for `localhost` that answers S2's body; with
/// `require_client_cert`, only to clients with a certificate from the CA.
async fn tls_server(pki: &Pki, require_client_cert: bool) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        let ca = rustls_pki_types::CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap();
        roots.add(ca).unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(pki.server.0.clone(), pki.server.1.clone_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(|_req| async {
                    let (status, _, body) = wrong_old_password();
                    let mut r = http::Response::new(Full::new(Bytes::from(body)));
                    *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
                    Ok::<_, std::convert::Infallible>(r)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    port
}

use rustls_pki_types::pem::PemObject;

#[tokio::test]
async fn https_goes_through_a_connect_tunnel() {
    let pki = pki();
    let port = tls_server(&pki, false).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let (proxy_url, lines) = proxy().await;
    let options = HttpOptions {
        proxies: Proxies::Explicit {
            http: String::new(),
            https: proxy_url,
            no: String::new(),
        },
        extra_ca: Some(ca),
        ..direct()
    };
    let endpoint = Endpoint::with_options(&format!("https://localhost:{port}"), &options).unwrap();
    let r = exchange::send(&endpoint, &change(), TIMEOUT).await.unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(
        lines.lock().unwrap().clone(),
        vec![format!("CONNECT localhost:{port} HTTP/1.1")]
    );
}

#[tokio::test]
async fn mutual_tls_presents_the_client_certificate() {
    let pki = pki();
    let port = tls_server(&pki, true).await;
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = (
        dir.path().join("ca.pem"),
        dir.path().join("client.pem"),
        dir.path().join("client.key"),
    );
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    std::fs::write(&cert, &pki.client_cert_pem).unwrap();
    std::fs::write(&key, &pki.client_key_pem).unwrap();
    let url = format!("https://localhost:{port}");
    let with_cert = HttpOptions {
        identity: Some(ClientIdentity {
            cert: cert.clone(),
            key: key.clone(),
        }),
        extra_ca: Some(ca.clone()),
        ..direct()
    };
    let endpoint = Endpoint::with_options(&url, &with_cert).unwrap();
    let outcome = exchange::send(&endpoint, &change(), TIMEOUT).await;
    assert_eq!(outcome.as_ref().unwrap().status, 400);
    let curl = record(&endpoint, &outcome).curl;
    assert!(
        curl.contains(&format!(
            "--cert {} --key {}",
            cert.display(),
            key.display()
        )),
        "{curl}"
    );
    // Without it the server refuses the handshake.
    let without = HttpOptions {
        extra_ca: Some(ca),
        ..direct()
    };
    let endpoint = Endpoint::with_options(&url, &without).unwrap();
    let outcome = exchange::send(&endpoint, &change(), TIMEOUT).await;
    assert!(outcome.is_err(), "{outcome:?}");

    // A profile naming a key that is not there: the error names the key.
    let text = format!(
        "base_url = \"{url}\"\n[http]\nclient_cert = \"client.pem\"\nclient_key = \"nope.key\"\n\
         [accounts.active]\nsubject = \"alice\"\npassword = \"Alice-Passw0rd\"\ntoken = \"t\"\n"
    );
    let e = Profile::parse(&text, dir.path()).unwrap_err();
    assert!(e.starts_with("http.client_key"), "{e}");
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[tokio::test]
async fn fixed_headers_come_from_the_environment_and_are_redacted() {
    // The fake echoes the key in its body: the record hides it there too.
    let fake = Fake::start(|_| (400, vec![], "bad key gw-secret-123".into())).await;
    let text = format!(
        "base_url = \"{}\"\n[http]\nheaders = {{ X-Gateway-Key = \"${{GATEWAY_KEY}}\", X-Tenant = \"staging\" }}\n\
         [accounts.active]\nsubject = \"alice\"\npassword = \"${{ALICE_PASSWORD}}\"\ntoken = \"${{ALICE_TOKEN}}\"\n",
        fake.url()
    );
    let env = env_of(&[
        ("GATEWAY_KEY", "gw-secret-123"),
        ("ALICE_PASSWORD", "Alice-Passw0rd"),
        ("ALICE_TOKEN", "static.token.value"),
    ]);
    let profile = Profile::parse_with_env(&text, Path::new("."), &env).unwrap();
    assert_eq!(
        profile.accounts.active().password.as_deref(),
        Some("Alice-Passw0rd")
    );
    assert_eq!(
        profile.accounts.active().token.as_deref(),
        Some("static.token.value")
    );
    let endpoint = profile.endpoint().unwrap();
    let outcome = exchange::send(&endpoint, &change(), TIMEOUT).await;
    assert_eq!(outcome.as_ref().unwrap().status, 400);
    let seen = fake.last();
    assert_eq!(seen.headers["x-gateway-key"], "gw-secret-123");
    assert_eq!(seen.headers["x-tenant"], "staging");
    let rec = record(&endpoint, &outcome);
    assert_eq!(
        rec.request.headers[..2],
        [
            (
                "x-gateway-key".to_string(),
                "<header:x-gateway-key>".to_string()
            ),
            ("x-tenant".to_string(), "<header:x-tenant>".to_string()),
        ]
    );
    assert!(
        rec.curl
            .contains("-H 'x-gateway-key: <header:x-gateway-key>'"),
        "{}",
        rec.curl
    );
    assert!(!rec.curl.contains("gw-secret-123"), "{}", rec.curl);
    assert_eq!(
        rec.response.as_ref().unwrap().body,
        exchange::BodyRecord::Text("bad key <header:x-gateway-key>".into())
    );
    // --show-secrets shows them.
    let shown = ExchangeRecord::new(
        1,
        "a change",
        &endpoint,
        &change(),
        &outcome,
        Instant::now(),
        &Redactor::new(true),
    );
    assert!(
        shown.curl.contains("-H 'x-gateway-key: gw-secret-123'"),
        "{}",
        shown.curl
    );

    // An unset variable names the key and the variable.
    let e = Profile::parse_with_env(&text, Path::new("."), &env_of(&[])).unwrap_err();
    assert!(
        e.starts_with("http.headers.X-Gateway-Key: environment variable GATEWAY_KEY is not set"),
        "{e}"
    );
    let e = Profile::parse_with_env(&text, Path::new("."), &env_of(&[("GATEWAY_KEY", "k")]))
        .unwrap_err();
    assert!(
        e.starts_with("accounts.active.password: environment variable ALICE_PASSWORD"),
        "{e}"
    );
    // Headers the harness or the cases own are refused.
    let text = text.replace("X-Tenant", "Authorization");
    let e = Profile::parse_with_env(&text, Path::new("."), &env).unwrap_err();
    assert!(e.contains("http.headers: Authorization"), "{e}");
}

/// A JWT-shaped token whose payload has `exp` `secs` from now (unsigned:
/// the factory reads `exp` without verifying).
fn token_expiring_in(secs: i64) -> String {
    use base64::Engine;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.c2ln",
        b64(r#"{"alg":"RS256"}"#.into()),
        b64(format!(r#"{{"sub":"x","exp":{}}}"#, now + secs))
    )
}

fn command_profile(dir: &Path, command: &str) -> Profile {
    let text = format!(
        "base_url = \"http://127.0.0.1:1\"\n[tokens]\ntoken_command = '{command}'\n\
         [accounts.active]\nsubject = \"alice\"\npassword = \"Orig-Passw0rd\"\n"
    );
    Profile::parse(&text, dir).unwrap()
}

fn account(subject: &str) -> Account {
    Account {
        subject: subject.into(),
        password: Some("Orig-Passw0rd".into()),
        token: None,
    }
}

fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn command_tokens_are_cached_per_subject_and_scope_until_shortly_before_exp() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), token_expiring_in(3600)).unwrap();
    let profile = command_profile(
        dir.path(),
        "echo {subject} {scope} >> calls.txt; cat token.txt",
    );
    let mut tokens = TokenFactory::new(&profile).unwrap();
    let calls = dir.path().join("calls.txt");
    let alice = account("alice");
    let first = tokens.standard(&alice).await.unwrap();
    assert_eq!(tokens.standard(&alice).await.unwrap(), first);
    assert_eq!(lines(&calls), ["alice openid"]);
    // Another scope is another token.
    let kind = conformance::vocabulary::TokenKind::Scope(
        &["profile"],
        conformance::vocabulary::ScopeForm::Array,
    );
    tokens.variant(&alice, kind).await.unwrap();
    tokens.variant(&alice, kind).await.unwrap();
    assert_eq!(lines(&calls), ["alice openid", "alice profile"]);
    // A token that expires within the margin is not kept.
    std::fs::write(dir.path().join("token.txt"), token_expiring_in(10)).unwrap();
    let bob = account("bob");
    tokens.standard(&bob).await.unwrap();
    tokens.standard(&bob).await.unwrap();
    assert_eq!(
        lines(&calls),
        ["alice openid", "alice profile", "bob openid", "bob openid"]
    );
    // A token without exp is kept for the short default.
    std::fs::write(dir.path().join("token.txt"), "opaque-token-value").unwrap();
    let carol = account("carol");
    tokens.standard(&carol).await.unwrap();
    tokens.standard(&carol).await.unwrap();
    assert_eq!(lines(&calls).len(), 5);
}

#[tokio::test]
async fn the_command_gets_the_tracked_password() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), token_expiring_in(10)).unwrap();
    let profile = command_profile(
        dir.path(),
        "echo {password} \"$CONFORMANCE_PASSWORD\" >> pw.txt; cat token.txt",
    );
    let mut tokens = TokenFactory::new(&profile).unwrap();
    let alice = account("alice");
    tokens.standard(&alice).await.unwrap();
    tokens.set_password("alice", "New Passw0rd'2");
    tokens.standard(&alice).await.unwrap();
    tokens
        .standard_with_password(&alice, Some("Explicit-Pw3"))
        .await
        .unwrap();
    assert_eq!(
        lines(&dir.path().join("pw.txt")),
        [
            "Orig-Passw0rd Orig-Passw0rd",
            "New Passw0rd'2 New Passw0rd'2",
            "Explicit-Pw3 Explicit-Pw3"
        ]
    );
}

#[tokio::test]
async fn a_refusing_command_skips_with_its_stderr_and_never_shows_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let profile = command_profile(
        dir.path(),
        "echo \"scope $CONFORMANCE_SCOPE refused for {subject} (password {password})\" >&2; exit 3",
    );
    let mut tokens = TokenFactory::new(&profile).unwrap();
    match tokens.standard(&account("alice")).await {
        Err(TokenError::Unavailable(why)) => {
            assert_eq!(
                why,
                "tokens.token_command refused subject alice, scope \"openid\" (exit status: 3): \
                 scope openid refused for alice (password <password>)"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_second_lock_on_the_state_file_fails_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("conformance.state.json");
    let lock = StateLock::acquire(&state).unwrap();
    assert_eq!(lock.path(), dir.path().join("conformance.state.json.lock"));
    let e = StateLock::acquire(&state).unwrap_err();
    assert!(
        e.message.starts_with(&format!(
            "in use by another run (pid {}",
            std::process::id()
        )),
        "{e}"
    );
    drop(lock);
    let again = StateLock::acquire(&state).unwrap();
    drop(again);
}

#[test]
fn a_state_file_of_format_1_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    std::fs::write(
        &file,
        r#"{
  "endpoint": "http://127.0.0.1:8080/change_user_password",
  "subject": "alice",
  "original": "Alice-Passw0rd",
  "current": "Generated-1",
  "pending": null,
  "previous": ["Alice-Passw0rd"],
  "failures": 1
}"#,
    )
    .unwrap();
    let state = State::load(&file).unwrap().unwrap();
    assert_eq!(
        state,
        State {
            endpoint: "http://127.0.0.1:8080/change_user_password".into(),
            subject: "alice".into(),
            original: "Alice-Passw0rd".into(),
            current: "Generated-1".into(),
            pending: None,
            previous: vec!["Alice-Passw0rd".into()],
            failures: 1,
        }
    );
    let all = StateFile::load(&file).unwrap().unwrap();
    assert_eq!(all.accounts.len(), 1);
    assert_eq!(all.account("alice").unwrap().current, "Generated-1");
    // Saved again, it is format 2 and reads back the same.
    state.save(&file).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(v["version"], 2);
    assert_eq!(State::load(&file).unwrap().unwrap(), state);
}

#[test]
fn rate_and_timeout_flags_parse() {
    use clap::Parser;
    let cli = conformance::cli::Cli::try_parse_from(["conformance", "--rate", "2.5"]).unwrap();
    assert_eq!((cli.run.rate, cli.run.timeout), (Some(2.5), None));
}

#[test]
fn a_second_run_on_a_locked_state_file_stops_at_once_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("conformance.state.json");
    let _held = StateLock::acquire(&state).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(["--case", "auth.missing-token.no-header", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "in use by another run (pid {}",
            std::process::id()
        )),
        "{stderr}"
    );
    // Nothing was run: no state file was written.
    assert!(!state.exists());
}
