//! The socket side: the accept loop, per-connection limits and graceful
//! shutdown.
//!
//! Every connection is bounded in time both ways:
//! - reading: hyper's header read timeout runs from the moment a connection
//!   waits for a request head, so it bounds a slow head *and* a keep-alive
//!   connection sitting idle between requests (`header_read_timeout_ms`);
//!   the body has its own timeout in `http`;
//! - writing: [`WriteDeadline`] closes a connection whose response is not
//!   written within `write_timeout_ms`; hyper buffers at most
//!   [`MAX_HEAD_BYTES`] of answers and the kernel [`SOCKET_BUFFER_BYTES`]
//!   each way, so a client that pipelines requests and never reads stalls
//!   the connection instead of queueing answers, and the deadline then frees
//!   its slot;
//! - in all: after `max_connection_age_ms` a connection finishes the request
//!   in flight and closes, so a client that reads just fast enough to beat
//!   the write deadline still gives its slot back.
//!
//! Every connection holds one of `max_connections` slots, and one address
//! at most `max_connections_per_address` of them ([`PerAddress`]): a
//! connection over its address's limit is closed unserved.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinHandle;

use crate::app::App;
use crate::http;
use crate::per_address::PerAddress;
use crate::write_deadline::WriteDeadline;

/// Largest request head (request line + headers) accepted; larger gets 431.
/// Also the most answers hyper buffers for a connection before writing them.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Kernel send and receive buffer of each connection (Linux doubles it).
/// Fixed instead of autotuned (up to 4 MiB of answers and 32 MiB of
/// requests here), so a client that pipelines and does not read parks at
/// most this much per connection in the kernel.
pub const SOCKET_BUFFER_BYTES: usize = 64 * 1024;

fn bound_socket_buffers(stream: &tokio::net::TcpStream) {
    let socket = socket2::SockRef::from(stream);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER_BYTES);
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
}

/// Serves `listener` until `shutdown` completes, then lets in-flight requests
/// finish (at most the configured grace period).
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let limits = app.limits().clone();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = PerAddress::new(limits.max_connections_per_address);
    let write_timeout = Duration::from_millis(limits.write_timeout_ms);
    let max_age = Duration::from_millis(limits.max_connection_age_ms);
    let (stop, stopping) = watch::channel(false);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
        .max_buf_size(MAX_HEAD_BYTES);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("semaphore never closes"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(ticket) = per_address.enter(peer.ip()) else {
            // Closed unserved; its global slot is free again at once.
            tracing::debug!(peer = %peer.ip(), "connection limit of the address reached");
            continue;
        };
        let _ = stream.set_nodelay(true);
        bound_socket_buffers(&stream);
        let stream = WriteDeadline::new(stream, write_timeout);
        let app = app.clone();
        let service = service_fn(move |req| http::handle(app.clone(), req));
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let stopping = stopping.clone();
        tokio::spawn(async move {
            serve_connection(conn, max_age, stopping).await;
            drop(ticket);
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a slot until it ends: all slots back = all closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let grace = Duration::from_millis(limits.shutdown_grace_ms);
    tokio::select! {
        _ = slots.acquire_many(all) => tracing::info!("all connections closed"),
        () = tokio::time::sleep(grace) => tracing::warn!("shutdown grace period over"),
    }
}

/// Drives one connection; after `max_age`, or when the server stops, it is
/// asked to finish the request in flight and close.
async fn serve_connection<C>(conn: C, max_age: Duration, mut stopping: watch::Receiver<bool>)
where
    C: Future + GracefulConnection,
{
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = tokio::time::sleep(max_age) => {}
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// What [`serve_connection`] needs of a hyper connection.
trait GracefulConnection {
    fn graceful_shutdown(self: std::pin::Pin<&mut Self>);
}

impl<I, S, B> GracefulConnection for http1::Connection<I, S>
where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn graceful_shutdown(self: std::pin::Pin<&mut Self>) {
        http1::Connection::graceful_shutdown(self);
    }
}

/// A server running on a background task (tests, the conformance suite's
/// embedded target, benchmarks).
#[derive(Debug)]
pub struct Running {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The application, for checks behind the HTTP surface.
    pub app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    /// Binds `addr` and serves `app` on a spawned task.
    pub async fn start(app: App, addr: SocketAddr) -> std::io::Result<Running> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let app = Arc::new(app);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, app.clone(), async {
            let _ = stopped.await;
        }));
        Ok(Running {
            addr,
            app,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://addr` of the running server.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, waits for in-flight requests, and returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Completes on SIGINT or SIGTERM; the handlers are installed when it is
/// called (inside the runtime), before the future is first polled.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    // Registered now, not at the future's first poll: a signal that comes
    // between "listening" and the accept loop's start is not lost (nor,
    // worse, handled by the default action, which ends the process
    // without the graceful shutdown).
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            async fn one(s: Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            let (term, interrupt) = signals;
            tokio::select! {
                () = one(term) => {},
                () = one(interrupt) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutdown signal received");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's claim: each accepted socket has fixed 64 KiB kernel
    /// buffers each way (Linux reports twice what was set, for its
    /// bookkeeping), not autotuned ones of megabytes.
    #[tokio::test]
    async fn accepted_sockets_get_fixed_64_kib_buffers() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        bound_socket_buffers(&stream);
        let socket = socket2::SockRef::from(&stream);
        for size in [
            socket.send_buffer_size().unwrap(),
            socket.recv_buffer_size().unwrap(),
        ] {
            assert!(
                (64 * 1024..=2 * 64 * 1024).contains(&size),
                "kernel buffer of {size} bytes"
            );
        }
    }
}
