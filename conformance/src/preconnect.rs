//! Connections opened ahead (up to [`SPARES`]) for the next requests that
//! go on a connection of their own (every change,
//! [`crate::client::may_resend`]), so that on a link where a connection
//! costs round trips (TCP, then TLS) the handshakes overlap the
//! requests before them instead of delaying the next one.
//!
//! A spare connection has never carried a request, so using it does not
//! weaken the rule that a change never goes on a reused connection; it is
//! used only for the `scheme://host:port` it was opened to, at most
//! [`MAX_AGE`] after it was ready, and closed unused after that; one the
//! target closed while it waited is seen before use ([`Spare::closed`])
//! and replaced by a new connection, so a target that closes idle new
//! connections quickly costs a connection, never a lost change. Spares are
//! opened for targets off the loopback interface only, at a pace that uses
//! them before they expire ([`worth_it`]; the client decides, as it
//! decides pacing): on loopback a connection costs nothing and the run
//! opens no connection it does not use.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use tokio::sync::oneshot;
use tower_service::Service;

/// A spare is used at most this long after its setup ended, and closed
/// unused after it.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// Spares kept under way: a TLS connection costs two round trips (three
/// with TLS 1.2) and a change one, so a single spare would still be in its
/// handshake when the next change is ready (measured: `suite_speed`, see
/// BENCHMARKS.md).
pub const SPARES: usize = 3;

/// A connection a spare may hold: it can tell, without waiting, whether
/// the peer has closed it (or sent anything) before its first request.
pub trait Spare {
    /// Whether it is no longer a clean new connection: closed by the peer,
    /// broken, or holding bytes nobody asked for. Never waits.
    fn closed(&mut self) -> bool;
}

/// Whether spares are worth opening at `rate` requests per second (0:
/// unpaced): only when [`SPARES`] requests fit in [`MAX_AGE`], so that a
/// spare is used before it expires. A slower pace would open spares that
/// close unused (connections a tenant may count against a limit) and
/// leaves a handshake's round trips small beside the pacing interval.
pub fn worth_it(rate: f64) -> bool {
    rate <= 0.0 || rate * MAX_AGE.as_secs_f64() >= SPARES as f64
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What asks the spare's task for its connection: a channel for the answer.
type Ask<R> = oneshot::Sender<oneshot::Sender<R>>;

/// The spares under way, oldest first, each with the target it is for.
type Spares<R> = Arc<Mutex<VecDeque<(String, Ask<R>)>>>;

/// A connector that hands out the spare it opened for the same target (or
/// opens a connection now), then opens the next spare.
pub struct Preconnect<C: Service<Uri>> {
    inner: C,
    spares: Spares<C::Response>,
    enabled: bool,
}

impl<C: Service<Uri> + Clone> Clone for Preconnect<C> {
    fn clone(&self) -> Self {
        Preconnect {
            inner: self.inner.clone(),
            spares: self.spares.clone(),
            enabled: self.enabled,
        }
    }
}

impl<C: Service<Uri>> Preconnect<C> {
    /// Wraps `inner`; with `enabled` false it only passes calls through.
    pub fn new(inner: C, enabled: bool) -> Self {
        Preconnect {
            inner,
            spares: Arc::new(Mutex::new(VecDeque::new())),
            enabled,
        }
    }
}

/// `scheme://host:port`: what a spare may be used for.
fn key(uri: &Uri) -> String {
    format!(
        "{}://{}:{}",
        uri.scheme_str().unwrap_or_default(),
        uri.host().unwrap_or_default(),
        uri.port_u16().unwrap_or_default()
    )
}

/// The spare's connection, if it was opened for `key`, its setup
/// succeeded (it is awaited if still under way) and it is still young
/// (the caller checks it is still open: [`Spare::closed`]).
async fn ask<R>(spare: Option<(String, Ask<R>)>, key: &str) -> Option<R> {
    let (spare_key, ask) = spare?;
    if spare_key != key {
        return None;
    }
    let (reply, answer) = oneshot::channel();
    ask.send(reply).ok()?;
    answer.await.ok()
}

impl<C, R, F> Preconnect<C>
where
    C: Service<Uri, Response = R, Error = BoxError, Future = F> + Clone + Send + 'static,
    F: Future<Output = Result<R, BoxError>> + Send + 'static,
    R: Send + 'static,
{
    /// Opens spares to `dst` in the background until [`SPARES`] are under
    /// way (those for another target are dropped).
    fn open_spares(&mut self, dst: &Uri) {
        let Ok(mut spares) = self.spares.lock() else {
            return;
        };
        let key = key(dst);
        spares.retain(|(k, ask)| *k == key && !ask.is_closed());
        while spares.len() < SPARES {
            let (ask, asked) = oneshot::channel::<oneshot::Sender<R>>();
            spares.push_back((key.clone(), ask));
            self.spawn_spare(dst.clone(), asked);
        }
    }

    /// Opens one spare to `dst`; it answers `asked` or closes after
    /// [`MAX_AGE`].
    fn spawn_spare(&self, dst: Uri, asked: oneshot::Receiver<oneshot::Sender<R>>) {
        let mut inner = self.inner.clone();
        tokio::spawn(async move {
            let Ok(conn) = inner.call(dst).await else {
                return;
            };
            tokio::select! {
                biased;
                reply = asked => {
                    if let Ok(reply) = reply {
                        let _ = reply.send(conn);
                    }
                }
                // Unused for too long: closed.
                () = tokio::time::sleep(MAX_AGE) => {}
            }
        });
    }
}

impl<C, R, F> Service<Uri> for Preconnect<C>
where
    C: Service<Uri, Response = R, Error = BoxError, Future = F> + Clone + Send + 'static,
    F: Future<Output = Result<R, BoxError>> + Send + 'static,
    R: Spare + Send + 'static,
{
    type Response = R;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<R, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut this = self.clone();
        let spare = match self.enabled {
            true => self.spares.lock().ok().and_then(|mut s| s.pop_front()),
            false => None,
        };
        Box::pin(async move {
            if !this.enabled {
                return this.inner.call(dst).await;
            }
            // A spare the peer closed while it waited (a load balancer's
            // idle timeout) would lose the change unsent but unexplained:
            // dropped, and a connection opened now instead.
            let conn = match ask(spare, &key(&dst)).await {
                Some(mut conn) => match conn.closed() {
                    false => conn,
                    true => this.inner.call(dst.clone()).await?,
                },
                None => this.inner.call(dst.clone()).await?,
            };
            this.open_spares(&dst);
            Ok(conn)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A connector whose connections are numbers (1, 2, …) and take 10 ms.
    #[derive(Clone, Default)]
    struct Numbered(Arc<AtomicU64>);

    impl Service<Uri> for Numbered {
        type Response = u64;
        type Error = BoxError;
        type Future = Pin<Box<dyn Future<Output = Result<u64, BoxError>> + Send>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _dst: Uri) -> Self::Future {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok(n)
            })
        }
    }

    thread_local! {
        /// The test connections their peer has closed.
        static CLOSED: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    impl Spare for u64 {
        fn closed(&mut self) -> bool {
            CLOSED.with(|c| c.borrow().contains(self))
        }
    }

    fn target() -> Uri {
        Uri::from_static("https://ciam.example:443/change_user_password")
    }

    #[tokio::test(start_paused = true)]
    async fn a_spare_its_peer_closed_is_not_handed_out() {
        let inner = Numbered::default();
        let mut c = Preconnect::new(inner.clone(), true);
        assert_eq!(c.call(target()).await.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Spares 2, 3 and 4 are ready; the peer closed 2.
        CLOSED.with(|c| c.borrow_mut().push(2));
        let next = c.call(target()).await.unwrap();
        assert_ne!(next, 2, "a closed spare was handed out");
        // Opened anew instead (after 1 and the three spares).
        assert_eq!(next, 2 + SPARES as u64);
        // The next spare in line is used as usual.
        assert_eq!(c.call(target()).await.unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn disabled_opens_one_connection_per_request_and_nothing_ahead() {
        let inner = Numbered::default();
        let mut c = Preconnect::new(inner.clone(), false);
        assert_eq!(c.call(target()).await.unwrap(), 1);
        assert_eq!(c.call(target()).await.unwrap(), 2);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(inner.0.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn spares_are_handed_out_once_each_and_opened_ahead() {
        let inner = Numbered::default();
        let mut c = Preconnect::new(inner.clone(), true);
        let mut seen = Vec::new();
        for _ in 0..5 {
            let started = tokio::time::Instant::now();
            seen.push(c.call(target()).await.unwrap());
            if seen.len() > 1 {
                // A spare ready since the last call: no setup to wait for.
                assert_eq!(started.elapsed(), Duration::ZERO, "{seen:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut unique = seen.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            unique.len(),
            seen.len(),
            "a connection handed out twice: {seen:?}"
        );
        // The five used, and SPARES under way for the next call.
        assert_eq!(inner.0.load(Ordering::SeqCst), 5 + SPARES as u64);
    }

    #[tokio::test(start_paused = true)]
    async fn an_old_spare_or_one_for_another_target_is_not_used() {
        let inner = Numbered::default();
        let mut c = Preconnect::new(inner.clone(), true);
        assert_eq!(c.call(target()).await.unwrap(), 1);
        // Spares 2 ..= 1 + SPARES are ready, then too old: a new connection.
        tokio::time::sleep(MAX_AGE + Duration::from_millis(20)).await;
        let spares = SPARES as u64;
        assert_eq!(c.call(target()).await.unwrap(), 2 + spares);
        // Ready spares for ciam.example, not for another host.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let other = Uri::from_static("https://other.example:443/change_user_password");
        assert_eq!(c.call(other).await.unwrap(), 3 + 2 * spares);
    }

    #[test]
    fn spares_only_at_a_pace_that_uses_them_before_they_expire() {
        assert!(worth_it(0.0), "unpaced");
        assert!(
            worth_it(10.0),
            "the default pace off the loopback interface"
        );
        assert!(worth_it(3.0));
        assert!(!worth_it(2.9));
        assert!(!worth_it(0.5));
    }
}
