//! What a fake tenant does on a real network, in front of the fake's
//! [`super::handle`]: a rate limiter's 429 with `Retry-After`, answers cut
//! off mid-body, an applied change whose answer is held (a request in
//! flight to interrupt), connections closed after every answer, and what it
//! did, counted for the tests.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response};

use super::{Quirk, Shared, handle};

/// A fake tenant: quirks, and what a real tenant does on a real network.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    /// Changes from the document (each as in [`Fake::start`]).
    pub quirks: Vec<Quirk>,
    /// Wrong old passwords count within this sliding window (successes do
    /// not reset them) instead of in a row.
    pub lockout_window: Option<Duration>,
    /// Wrong old passwords that lock [default: 5].
    pub max_failures: Option<u32>,
    /// An account locked by wrong old passwords is released this long
    /// after its lock (the vendor's configured time) [default: never].
    pub lock_lifts_after: Option<std::time::Duration>,
    /// Every n-th request is answered 429 with `Retry-After: 1` and not
    /// handled: a rate limiter's answer, on a count instead of the clock so
    /// that a test can rely on meeting it.
    pub limit_every: Option<usize>,
    /// Every n-th request to the endpoint (past the rate limit) is handled
    /// (a change is applied) and its answer cut off mid-body.
    pub cut_every: Option<usize>,
    /// Only the n-th request to the endpoint is handled and its answer cut.
    pub cut_only: Option<usize>,
    /// The n-th change the fake applies (a 200) is answered only after
    /// this long: a request in flight to interrupt.
    pub hold_applied: Option<(usize, Duration)>,
    /// A file (a run's state file) whose presence is noted at each request
    /// to the endpoint ([`super::Fake::file_seen`]).
    pub watch_file: Option<std::path::PathBuf>,
    /// Every answer says `Connection: close`, and the connection is closed
    /// after it (a proxy that does not keep connections alive).
    pub close_connections: bool,
    /// Seconds past a token's `exp` it is still accepted [default: 60,
    /// jsonwebtoken's]; 0: a tenant that allows no clock skew.
    pub exp_leeway: Option<u64>,
}

/// What a fake tenant did on the network.
#[derive(Debug, Clone, Copy, Default)]
pub struct Traffic {
    /// Requests answered 429.
    pub rate_limited: usize,
    /// Answers cut off mid-body.
    pub cut: usize,
    /// Requests to the endpoint that were handled.
    pub handled: usize,
    /// Changes applied (answered 200).
    pub applied: usize,
    /// The held answer is being held (see [`Tenant::hold_applied`]).
    pub holding: bool,
    /// Tokens of a trusted key refused for having expired.
    pub expired_refused: usize,
}

/// The network in front of [`handle`]: the rate limit, and answers cut
/// off mid-body.
pub(super) async fn network(
    s: &Shared,
    req: Request<Incoming>,
) -> Response<Either<Full<Bytes>, Cut>> {
    if let Some(every) = s.tenant.limit_every {
        let mut received = s.received.lock().unwrap();
        *received += 1;
        if received.is_multiple_of(every) {
            s.traffic.lock().unwrap().rate_limited += 1;
            return Response::builder()
                .status(429)
                .header("retry-after", "1")
                .body(Either::Left(Full::new(Bytes::new())))
                .unwrap();
        }
    }
    let endpoint = req.uri().path() == "/change_user_password";
    if endpoint && let Some(busy) = super::near_miss::busy(s) {
        return busy.map(Either::Left);
    }
    if endpoint && let Some(file) = &s.tenant.watch_file {
        s.seen.lock().unwrap().push(file.exists());
    }
    let mut answer = handle(s, req).await;
    if s.tenant.close_connections {
        answer.headers_mut().insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
    }
    if endpoint && answer.status() == 200 {
        let hold = {
            let mut t = s.traffic.lock().unwrap();
            t.applied += 1;
            let hold = s.tenant.hold_applied.filter(|(n, _)| *n == t.applied);
            t.holding = hold.is_some();
            hold
        };
        if let Some((_, wait)) = hold {
            tokio::time::sleep(wait).await;
            s.traffic.lock().unwrap().holding = false;
        }
    }
    if endpoint {
        s.answered.lock().unwrap().push(super::Answered {
            at: std::time::Instant::now(),
            status: answer.status().as_u16(),
            wrong_old_of: answer
                .extensions()
                .get::<super::WrongOldOf>()
                .map(|w| w.0.clone()),
        });
    }
    let cut = endpoint && {
        let mut t = s.traffic.lock().unwrap();
        t.handled += 1;
        let cut = s
            .tenant
            .cut_every
            .is_some_and(|n| t.handled.is_multiple_of(n))
            || s.tenant.cut_only == Some(t.handled);
        if cut {
            t.cut += 1;
        }
        cut
    };
    if cut {
        let (parts, _) = answer.into_parts();
        return Response::from_parts(parts, Either::Right(Cut(true)));
    }
    answer.map(Either::Left)
}

/// A body that sends a few bytes and then fails: hyper gives up the
/// connection in the middle of the answer.
pub(super) struct Cut(bool);

impl hyper::body::Body for Cut {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if std::mem::take(&mut self.0) {
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"{\"err")))))
        } else {
            Poll::Ready(Some(Err(std::io::Error::other("cut off mid-answer"))))
        }
    }
}
