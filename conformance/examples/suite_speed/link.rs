//! A link with latency between the suite and the reference server: a TCP
//! proxy (on an address off the loopback interface) that delays every byte by a one-way delay in each
//! direction and holds a new connection for one round trip before its first
//! byte moves (what a TCP handshake costs a client before its request can
//! leave), and optionally TLS behind that delay (a terminator with its own
//! CA, so a TLS handshake pays the delayed round trips too).
//!
//! client ──(delay)── [TLS terminator] ── server
//!
//! Counts the connections it accepted: one per TCP connection the suite
//! opened.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::rustls;

/// A running link: its address, its connection count, and the tasks to
/// stop.
pub struct Link {
    /// Where the suite connects.
    pub addr: SocketAddr,
    connections: Arc<AtomicU64>,
    resumed: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
}

impl Link {
    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// TLS handshakes that resumed an earlier session.
    pub fn resumed(&self) -> u64 {
        self.resumed.load(Ordering::Relaxed)
    }

    /// Stops accepting (connections in flight end with the runtime).
    pub fn stop(self) {
        for t in self.tasks {
            t.abort();
        }
    }
}

/// Starts a link to `upstream` with `one_way` delay per direction, TLS
/// terminated behind the delay when `tls` is given.
pub async fn start(
    ip: std::net::IpAddr,
    upstream: SocketAddr,
    one_way: Duration,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> std::io::Result<Link> {
    let mut tasks = Vec::new();
    let resumed = Arc::new(AtomicU64::new(0));
    let hop = match tls {
        None => upstream,
        Some(acceptor) => {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            tasks.push(tokio::spawn(terminate(
                listener,
                acceptor,
                upstream,
                resumed.clone(),
            )));
            addr
        }
    };
    let listener = TcpListener::bind((ip, 0)).await?;
    let addr = listener.local_addr()?;
    let connections = Arc::new(AtomicU64::new(0));
    let count = connections.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                // The handshake's round trip: nothing moves before it.
                tokio::time::sleep(one_way * 2).await;
                let Ok(server) = TcpStream::connect(hop).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::join!(delayed(cr, sw, one_way), delayed(sr, cw, one_way));
            });
        }
    }));
    Ok(Link {
        addr,
        connections,
        resumed,
        tasks,
    })
}

/// Copies `from` to `to`, each chunk written `delay` after it was read;
/// the end of `from` reaches `to` (as a shutdown) after the same delay.
async fn delayed(
    mut from: impl AsyncRead + Unpin + Send + 'static,
    mut to: impl AsyncWrite + Unpin,
    delay: Duration,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = from.read(&mut buf).await.unwrap_or(0);
            if tx
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
                || n == 0
            {
                return;
            }
        }
    });
    while let Some((due, chunk)) = rx.recv().await {
        tokio::time::sleep_until(due).await;
        if chunk.is_empty() || to.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
    reader.abort();
}

/// Accepts TLS on `listener` and relays the plaintext to `upstream`.
async fn terminate(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    upstream: SocketAddr,
    resumed: Arc<AtomicU64>,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let acceptor = acceptor.clone();
        let resumed = resumed.clone();
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                return;
            };
            if tls.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
                resumed.fetch_add(1, Ordering::Relaxed);
            }
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = server.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
        });
    }
}

/// A throwaway CA (its PEM, for `CONFORMANCE_CA_FILE`) and a TLS acceptor
/// for `ip` with a certificate it signed.
pub fn tls_acceptor(
    ip: std::net::IpAddr,
) -> Result<(String, tokio_rustls::TlsAcceptor), Box<dyn std::error::Error>> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate()?;
    let server_cert =
        CertificateParams::new(vec![ip.to_string()])?.signed_by(&server_key, &issuer)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![server_cert.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
        )?;
    Ok((
        ca_cert.pem(),
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    ))
}
