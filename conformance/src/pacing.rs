//! Pacing: at most N requests per second to one target, shared by every
//! request of a run (retries included). A next-free-slot scheduler (a token
//! bucket with a burst of one): each request takes the next slot, one
//! interval after the previous one, and sleeps until it comes.
//!
//! Why not governor: a single client pacing its own requests needs no
//! keyed or concurrent limiter; this is twenty lines and no dependency tree.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Requests per second the suite sends to a target that is not on the
/// loopback interface when neither the profile nor `--rate` says otherwise.
pub const DEFAULT_REMOTE_RATE: f64 = 10.0;

/// Spaces requests at least `interval` apart.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer for `rate` requests per second; `None` when `rate` is 0
    /// (unpaced). `rate` must be finite and not negative.
    pub fn per_second(rate: f64) -> Option<Pacer> {
        if rate <= 0.0 || !rate.is_finite() {
            return None;
        }
        Some(Pacer {
            interval: Duration::from_secs_f64(1.0 / rate),
            next: Mutex::new(None),
        })
    }

    /// The spacing between two requests.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits for the next free slot and takes it.
    pub async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = match *next {
                Some(t) if t > now => t,
                _ => now,
            };
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_means_unpaced() {
        assert!(Pacer::per_second(0.0).is_none());
        assert!(Pacer::per_second(f64::NAN).is_none());
        assert_eq!(
            Pacer::per_second(4.0).unwrap().interval(),
            Duration::from_millis(250)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn requests_take_consecutive_slots() {
        let pacer = Pacer::per_second(10.0).unwrap();
        let start = Instant::now();
        for _ in 0..5 {
            pacer.wait().await;
        }
        // Paused clock: the first slot is now, the fifth four intervals on.
        assert_eq!(start.elapsed(), Duration::from_millis(400));
    }
}
