//! A socket wrapper that bounds how long a response may take to be written.
//!
//! hyper writes a response into its own buffer (at most `max_buf_size`
//! bytes) and hands that buffer to the socket; it flushes the socket only
//! once its buffer is empty. The deadline starts at the first write after the
//! last completed flush and ends at the next completed flush. A client that
//! does not read, or reads too slowly for everything pending to leave within
//! the limit, gets a `TimedOut` error on the next write, which makes hyper
//! drop the connection and frees its slot. Reads pass through untouched
//! (hyper's header read timeout and the body read timeout bound them).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// `S` with a write deadline.
#[derive(Debug)]
pub struct WriteDeadline<S> {
    inner: S,
    limit: Duration,
    timer: Pin<Box<Sleep>>,
    /// Whether bytes were written since the last completed flush.
    writing: bool,
}

impl<S> WriteDeadline<S> {
    /// Wraps `inner`: pending output must be written within `limit`.
    pub fn new(inner: S, limit: Duration) -> WriteDeadline<S> {
        WriteDeadline {
            inner,
            limit,
            timer: Box::pin(tokio::time::sleep(limit)),
            writing: false,
        }
    }

    /// Starts the deadline if no write is under way, fails if it has passed.
    /// On `Ok` the timer is registered with `cx` when it has not fired.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if !self.writing {
            self.writing = true;
            self.timer.as_mut().reset(Instant::now() + self.limit);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "response not written within limits.write_timeout_ms",
            )),
            Poll::Pending => Ok(()),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = Pin::new(&mut this.inner).poll_flush(cx);
        if let Poll::Ready(Ok(())) = flushed {
            this.writing = false;
        }
        flushed
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Writing 1 KiB fails with `TimedOut` after the 500 ms limit (and
    /// well before 2 s).
    async fn assert_times_out(mut w: WriteDeadline<tokio::io::DuplexStream>) {
        let started = Instant::now();
        let bounded = tokio::time::timeout(Duration::from_secs(2), w.write_all(&[0u8; 1024]));
        let err = bounded
            .await
            .expect("the deadline did not end the stalled write")
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(500) && took < Duration::from_secs(2),
            "{took:?}"
        );
    }

    /// A peer that never reads: writes stall once the pipe is full, and the
    /// deadline turns the stall into `TimedOut`.
    #[tokio::test]
    async fn a_stalled_write_times_out_after_the_limit() {
        let (near, _far) = tokio::io::duplex(64);
        assert_times_out(WriteDeadline::new(near, Duration::from_millis(500))).await;
    }

    /// Slow progress does not reset the deadline: it runs until a flush completes.
    #[tokio::test]
    async fn slow_progress_does_not_extend_the_deadline() {
        let (near, mut far) = tokio::io::duplex(16);
        tokio::spawn(async move {
            let mut b = [0u8; 8];
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if far.read(&mut b).await.unwrap_or(0) == 0 {
                    break;
                }
            }
        });
        assert_times_out(WriteDeadline::new(near, Duration::from_millis(500))).await;
    }

    /// Each completed flush ends a response: the next one gets a fresh limit.
    #[tokio::test]
    async fn a_flush_restarts_the_clock() {
        let (near, mut far) = tokio::io::duplex(1024);
        let mut w = WriteDeadline::new(near, Duration::from_millis(300));
        for _ in 0..4 {
            w.write_all(b"answer").await.unwrap();
            w.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut b = [0u8; 6];
            far.read_exact(&mut b).await.unwrap();
        }
    }

    /// A writer that takes one slice at a time (`is_write_vectored` false).
    struct OneSlice;

    impl AsyncWrite for OneSlice {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            b: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(b.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// The wrapper is transparent otherwise: it reports the inner stream's
    /// vectored-write support (so hyper keeps writing head and body in one
    /// call where the stream can), and a shutdown reaches the peer as end of
    /// stream while the wrapper is still alive.
    #[tokio::test]
    async fn vectored_support_and_shutdown_pass_through() {
        let limit = Duration::from_secs(5);
        assert!(!WriteDeadline::new(OneSlice, limit).is_write_vectored());
        let (near, mut far) = tokio::io::duplex(64);
        let vectored = near.is_write_vectored();
        let mut w = WriteDeadline::new(near, limit);
        assert_eq!(w.is_write_vectored(), vectored);
        assert!(vectored, "tokio's duplex pipe takes several slices");
        w.write_all(b"bye").await.unwrap();
        w.shutdown().await.unwrap();
        let mut got = Vec::new();
        let eof = tokio::time::timeout(limit, far.read_to_end(&mut got)).await;
        assert!(eof.is_ok(), "no end of stream after the shutdown");
        assert_eq!(got, b"bye");
        drop(w);
    }
}
