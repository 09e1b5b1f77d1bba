//! The load generator: request templates (one of them forging a fresh
//! signature for every request), keep-alive connections driving a server
//! for a while, and what they measured.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use crate::Res;

/// One request, replayed by every connection; with a [`Forger`], each
/// request carries its token with a signature never sent before.
#[derive(Clone)]
pub struct Template {
    headers: Vec<(String, String)>,
    body: Bytes,
    forger: Option<Arc<Forger>>,
}

impl Template {
    pub fn change(token: Option<&str>, old: &str, new: &str) -> Template {
        let mut headers = vec![("content-type".into(), "application/json".into())];
        if let Some(t) = token {
            headers.push(("authorization".into(), format!("Bearer {t}")));
        }
        let body = serde_json::json!({"old_password": old, "new_password": new}).to_string();
        Template {
            headers,
            body: Bytes::from(body),
            forger: None,
        }
    }

    /// The change request, each time with `forger`'s next forged token.
    pub fn forged(forger: Forger, old: &str, new: &str) -> Template {
        Template {
            forger: Some(Arc::new(forger)),
            ..Template::change(None, old, new)
        }
    }

    /// The request as HTTP/1.1 bytes, as hyper's client would send it
    /// (same headers, `content-length` body), for the pipelined driver.
    pub fn raw(&self, addr: SocketAddr) -> Vec<u8> {
        let mut head = format!("POST /change_user_password HTTP/1.1\r\nhost: {addr}\r\n");
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(forger) = &self.forger {
            head.push_str(&format!("authorization: Bearer {}\r\n", forger.next()));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", self.body.len()));
        let mut raw = head.into_bytes();
        raw.extend_from_slice(&self.body);
        raw
    }

    fn request(&self, addr: SocketAddr) -> Request<Full<Bytes>> {
        let mut r = Request::post("/change_user_password").header("host", addr.to_string());
        for (k, v) in &self.headers {
            r = r.header(k, v);
        }
        if let Some(forger) = &self.forger {
            r = r.header("authorization", format!("Bearer {}", forger.next()));
        }
        r.body(Full::new(self.body.clone())).expect("valid request")
    }
}

/// Forged tokens: a token's header and claims with a signature that is
/// well-formed (full length, below the modulus) but altered anew for every
/// token, so that each one costs the server a full verification and no
/// cache could ever answer it.
pub struct Forger {
    signed: String,
    signature: Vec<u8>,
    count: AtomicU64,
}

impl Forger {
    /// Forges from `token`'s header and claims and `signature_of`'s
    /// signature (a signature of another message under the same key).
    pub fn new(token: &str, signature_of: &str) -> Forger {
        let (signed, _) = token.rsplit_once('.').expect("a JWT");
        let (_, signature) = signature_of.rsplit_once('.').expect("a JWT");
        Forger {
            signed: signed.into(),
            signature: URL_SAFE_NO_PAD.decode(signature).expect("base64url"),
            count: AtomicU64::new(0),
        }
    }

    /// The next forged token: the signature's last 8 bytes (the least
    /// significant, so it stays below the modulus) XORed with a counter
    /// that never repeats and is never 0.
    pub fn next(&self) -> String {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let mut signature = self.signature.clone();
        let at = signature.len() - 8;
        for (byte, x) in signature[at..].iter_mut().zip(n.to_be_bytes()) {
            *byte ^= x;
        }
        format!("{}.{}", self.signed, URL_SAFE_NO_PAD.encode(signature))
    }
}

/// What a load phase measured.
pub struct Load {
    pub count: u64,
    pub elapsed: Duration,
    /// CPU time the server under test used in the phase (when measured).
    pub server_cpu: Duration,
    pub latency_us: Histogram<u64>,
    pub statuses: BTreeMap<u16, u64>,
    /// Connections the pipelined driver dropped on an error (unframed
    /// answer, closed mid-batch); 0 for the one-at-a-time driver.
    pub connection_errors: u64,
}

impl Load {
    pub fn rps(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }
    pub fn p(&self, q: f64) -> f64 {
        self.latency_us.value_at_quantile(q) as f64 / 1000.0
    }
    /// Server CPU time per request, µs.
    pub fn cpu_us(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.count.max(1) as f64
    }
}

/// `conns` keep-alive connections, each sending `template` back to back until `duration` is over.
pub async fn drive(
    addr: SocketAddr,
    template: &Template,
    conns: usize,
    duration: Duration,
) -> Load {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let template = template.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new(3).expect("histogram");
            let mut statuses = BTreeMap::new();
            'connect: while Instant::now() < deadline {
                let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let Ok((mut sender, conn)) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
                else {
                    continue;
                };
                tokio::spawn(conn);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let Ok(res) = sender.send_request(template.request(addr)).await else {
                        continue 'connect;
                    };
                    let status = res.status().as_u16();
                    if res.into_body().collect().await.is_err() {
                        continue 'connect;
                    }
                    let _ = hist.record(t.elapsed().as_micros() as u64);
                    *statuses.entry(status).or_insert(0u64) += 1;
                    if sender.ready().await.is_err() {
                        continue 'connect;
                    }
                }
            }
            (hist, statuses)
        }));
    }
    let mut latency_us = Histogram::<u64>::new(3).expect("histogram");
    let mut statuses = BTreeMap::new();
    for t in tasks {
        let (h, s) = t.await.expect("load task");
        latency_us.add(h).expect("same bounds");
        for (k, v) in s {
            *statuses.entry(k).or_insert(0) += v;
        }
    }
    let count = latency_us.len();
    Load {
        count,
        elapsed: started.elapsed(),
        server_cpu: Duration::ZERO,
        latency_us,
        statuses,
        connection_errors: 0,
    }
}

impl Load {
    pub fn empty() -> Load {
        Load {
            count: 0,
            elapsed: Duration::ZERO,
            server_cpu: Duration::ZERO,
            latency_us: Histogram::new(3).expect("histogram"),
            statuses: BTreeMap::new(),
            connection_errors: 0,
        }
    }

    pub fn merge(&mut self, other: Load) {
        self.count += other.count;
        self.elapsed += other.elapsed;
        self.server_cpu += other.server_cpu;
        self.connection_errors += other.connection_errors;
        self.latency_us.add(other.latency_us).expect("same bounds");
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_insert(0) += v;
        }
    }
}

/// One request on a fresh connection; returns the status and the latency.
pub async fn once(addr: SocketAddr, template: &Template) -> Res<(u16, Duration)> {
    let t = Instant::now();
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let res = sender.send_request(template.request(addr)).await?;
    let status = res.status().as_u16();
    res.into_body().collect().await?;
    Ok((status, t.elapsed()))
}
