//! The lockout budget: the wrong old passwords a run has sent to the
//! active account, spent against the profile's lockout rule
//! ([`LockoutRule`]) with one spare. One object per account for the whole
//! run, held by the account ledger (`session::ledger`), which the
//! catalogue and the properties share: they spend from the same count.

use std::time::{Duration, Instant};

use crate::profile::{Counting, LockoutRule};

/// The most wrong attempts a budget keeps from a state file: far above
/// any lockout threshold a target declares, small enough to hold.
pub const MAX_KEPT: u32 = 100_000;

/// Whether `rule` makes the run's wrong old passwords a fixed number:
/// counted failures never expire and a success does not reset them (the
/// strictest reading, or a window without `window_secs`).
pub fn is_fixed(rule: &LockoutRule) -> bool {
    rule.max_failures.is_some() && rule.counting == Counting::Window && rule.window.is_none()
}

/// Wrong old passwords counted against the lockout rule.
#[derive(Debug, Clone)]
pub struct Budget {
    rule: LockoutRule,
    /// When each counted wrong attempt was sent (window counting expires
    /// them); attempts recorded by an earlier run count from its resume.
    times: Vec<Instant>,
}

/// What to do before one more wrong old password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextWrongAttempt {
    /// Send it.
    Now,
    /// A successful change first (the target counts in a row).
    AfterSuccess,
    /// Wait this long (the oldest counted attempt leaves the window).
    After(Duration),
    /// Never in this run (the rule leaves no room, or failures never
    /// expire and are spent).
    Never,
}

impl Budget {
    /// An empty budget under `rule`.
    pub fn new(rule: LockoutRule) -> Budget {
        Budget {
            rule,
            times: Vec::new(),
        }
    }

    /// The rule.
    pub fn rule(&self) -> LockoutRule {
        self.rule
    }

    /// The counted attempts that have not left the window, oldest first.
    fn live(&self) -> impl Iterator<Item = &Instant> {
        let window = match self.rule.counting {
            Counting::Window => self.rule.window,
            Counting::Consecutive => None,
        };
        self.times
            .iter()
            .filter(move |t| window.is_none_or(|w| t.elapsed() < w))
    }

    /// Counted wrong attempts now (expired ones forgotten).
    pub fn count(&self) -> u32 {
        self.live().count() as u32
    }

    /// One more wrong old password was sent.
    pub fn note_failure(&mut self) {
        let live: Vec<Instant> = self.live().copied().collect();
        self.times = live;
        self.times.push(Instant::now());
    }

    /// A successful change: resets the count if the target counts in a
    /// row, and only then.
    pub fn note_success(&mut self) {
        if self.success_resets() {
            self.times.clear();
        }
    }

    /// Whether a successful change resets the target's count.
    pub fn success_resets(&self) -> bool {
        self.rule.counting == Counting::Consecutive
    }

    /// Counts `n` wrong attempts as sent now (from a state file, whose
    /// times are not known), at most [`MAX_KEPT`]: a corrupted count must
    /// not allocate per failure.
    pub fn set(&mut self, n: u32) {
        self.times = vec![Instant::now(); n.min(MAX_KEPT) as usize];
    }

    /// Wrong attempts that may still be sent now (`None`: no lockout).
    pub fn left(&self) -> Option<u32> {
        let allowance = self.rule.allowance()?;
        Some(allowance.saturating_sub(self.count()))
    }

    /// How long until at most `n` counted attempts are left (zero: now),
    /// the oldest leaving the window first; `None`: never in this run
    /// (they do not expire: a count in a row, or a window without
    /// `window_secs`). For another account, whose count no success of the
    /// run resets.
    pub fn wait_until_at_most(&self, n: u32) -> Option<Duration> {
        let live: Vec<Instant> = self.live().copied().collect();
        let over = live.len().saturating_sub(n as usize);
        if over == 0 {
            return Some(Duration::ZERO);
        }
        let window = match (self.rule.counting, self.rule.window) {
            (Counting::Window, Some(w)) => w,
            _ => return None,
        };
        let leaves = live[over - 1] + window;
        Some(leaves.saturating_duration_since(Instant::now()) + Duration::from_millis(100))
    }

    /// What it takes to send one more wrong old password.
    pub fn next_wrong_attempt(&self) -> NextWrongAttempt {
        let Some(allowance) = self.rule.allowance() else {
            return NextWrongAttempt::Now;
        };
        if allowance == 0 {
            return NextWrongAttempt::Never;
        }
        if self.count() < allowance {
            return NextWrongAttempt::Now;
        }
        match (self.rule.counting, self.rule.window) {
            (Counting::Consecutive, _) => NextWrongAttempt::AfterSuccess,
            (Counting::Window, Some(window)) => {
                let oldest = self.live().next().copied().unwrap_or_else(Instant::now);
                NextWrongAttempt::After(
                    (oldest + window).saturating_duration_since(Instant::now())
                        + Duration::from_millis(100),
                )
            }
            (Counting::Window, None) => NextWrongAttempt::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state file's count is kept up to a bound: a corrupted huge
    /// `failures` neither allocates per failure nor leaves room (the
    /// restore review's finding).
    #[test]
    fn a_huge_recorded_count_is_bounded_and_leaves_no_room() {
        let mut b = Budget::new(LockoutRule {
            max_failures: Some(5),
            counting: Counting::Consecutive,
            window: None,
            declared: true,
        });
        b.set(1_000_000);
        assert_eq!(b.count(), MAX_KEPT);
        assert_eq!(b.left(), Some(0));
    }

    fn rule(counting: Counting, window: Option<u64>) -> LockoutRule {
        LockoutRule {
            max_failures: Some(5),
            counting,
            window: window.map(Duration::from_secs),
            declared: true,
        }
    }

    #[test]
    fn room_follows_the_rule() {
        let mut b = Budget::new(rule(Counting::Consecutive, None));
        for _ in 0..3 {
            assert_eq!(b.next_wrong_attempt(), NextWrongAttempt::Now);
            b.note_failure();
        }
        assert_eq!(b.left(), Some(0));
        assert_eq!(b.next_wrong_attempt(), NextWrongAttempt::AfterSuccess);
        b.note_success();
        assert_eq!(b.next_wrong_attempt(), NextWrongAttempt::Now);

        let mut b = Budget::new(rule(Counting::Window, Some(60)));
        b.set(3);
        b.note_success();
        assert!(
            matches!(b.next_wrong_attempt(), NextWrongAttempt::After(d) if d > Duration::from_secs(59))
        );

        let mut b = Budget::new(rule(Counting::Window, None));
        b.set(3);
        b.note_success();
        assert_eq!(b.next_wrong_attempt(), NextWrongAttempt::Never);
    }

    #[test]
    fn a_count_falls_as_the_window_moves_on() {
        let mut b = Budget::new(rule(Counting::Window, Some(60)));
        b.set(5);
        assert_eq!(b.wait_until_at_most(5), Some(Duration::ZERO));
        let wait = b.wait_until_at_most(2).unwrap();
        assert!(wait > Duration::from_secs(59) && wait <= Duration::from_secs(61));
        // Never: failures that do not expire.
        let mut b = Budget::new(rule(Counting::Consecutive, None));
        b.set(5);
        assert_eq!(b.wait_until_at_most(2), None);
        assert_eq!(b.wait_until_at_most(5), Some(Duration::ZERO));
    }
}
