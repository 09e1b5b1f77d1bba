//! One connection opened ahead for the next request that goes on a
//! connection of its own (every change, [`crate::client::may_resend`]), so
//! that on a link where a connection costs round trips (TCP, TLS) the
//! handshake overlaps the request before it instead of delaying the next
//! one.
//!
//! A spare connection has never carried a request, so using it does not
//! weaken the rule that a change never goes on a reused connection; it is
//! used only for the `scheme://host:port` it was opened to, at most
//! [`MAX_AGE`] after it was ready (a target closing connections that wait
//! for their first request closes them after seconds, not before), and
//! closed unused after that. Spares are opened for targets off the
//! loopback interface only (the client decides, as it decides pacing): on
//! loopback a connection costs nothing and the run opens no connection it
//! does not use.

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

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What asks the spare's task for its connection: a channel for the answer.
type Ask<R> = oneshot::Sender<oneshot::Sender<R>>;

/// A connector that hands out the spare it opened for the same target (or
/// opens a connection now), then opens the next spare.
pub struct Preconnect<C: Service<Uri>> {
    inner: C,
    spare: Arc<Mutex<Option<(String, Ask<C::Response>)>>>,
    enabled: bool,
}

impl<C: Service<Uri> + Clone> Clone for Preconnect<C> {
    fn clone(&self) -> Self {
        Preconnect {
            inner: self.inner.clone(),
            spare: self.spare.clone(),
            enabled: self.enabled,
        }
    }
}

impl<C: Service<Uri>> Preconnect<C> {
    /// Wraps `inner`; with `enabled` false it only passes calls through.
    pub fn new(inner: C, enabled: bool) -> Self {
        Preconnect {
            inner,
            spare: Arc::new(Mutex::new(None)),
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
/// succeeded (it is awaited if still under way) and it is still young.
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
    /// Opens a spare to `dst` in the background, in place of any other.
    fn open_spare(&mut self, dst: Uri) {
        let (ask, asked) = oneshot::channel::<oneshot::Sender<R>>();
        if let Ok(mut slot) = self.spare.lock() {
            *slot = Some((key(&dst), ask));
        }
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
    R: Send + 'static,
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
            true => self.spare.lock().ok().and_then(|mut slot| slot.take()),
            false => None,
        };
        Box::pin(async move {
            if !this.enabled {
                return this.inner.call(dst).await;
            }
            let conn = match ask(spare, &key(&dst)).await {
                Some(conn) => conn,
                None => this.inner.call(dst.clone()).await?,
            };
            this.open_spare(dst);
            Ok(conn)
        })
    }
}
