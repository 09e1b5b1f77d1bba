//! The pool's lockout budgets while the plan gives out wrong old
//! passwords ([`super::make`]): one room per active account of the pool
//! (`[[accounts.active]]`, in the profile's order), and the one rule that
//! picks the account a case's wrong old passwords go to — the account with
//! the most room, ties to the earlier one, as `Ledger::choose` picks it
//! during the run.
//!
//! The room of an account is what the rule allows at once, less what was
//! counted before the run and what the plan has given it so far. Under a
//! budget that cannot grow back it is a hard limit: a case no account can
//! hold is skipped up front. Under one that grows back it may go below
//! zero (the run waits instead), and still spreads the cases over the pool
//! as the run does. Without a lockout every account has the same endless
//! room, so every case goes to the first account (as the run, with no
//! room to compare, does).

use crate::profile::LockoutRule;

/// The pool's rooms while they are given out.
pub(super) struct Allot {
    /// The rule, as the plan states it in a skip's reason.
    pub(super) rule: LockoutRule,
    /// Whether the budget cannot grow back (a hard limit).
    pub(super) fixed: bool,
    /// Per account of the pool, in the profile's order; `i64::MAX`
    /// without a lockout (never spent).
    room: Vec<i64>,
}

impl Allot {
    /// The pool's rooms under `rule`, `counted[i]` wrong attempts counted
    /// on account `i` before the run (missing entries: none), for `pool`
    /// accounts (at least one).
    pub(super) fn new(rule: LockoutRule, fixed: bool, pool: usize, counted: &[u32]) -> Allot {
        let room = (0..pool.max(1))
            .map(|i| match rule.allowance() {
                Some(a) => i64::from(a) - i64::from(counted.get(i).copied().unwrap_or(0)),
                None => i64::MAX,
            })
            .collect();
        Allot { rule, fixed, room }
    }

    /// The account with the most room now, ties to the earlier one.
    pub(super) fn most_room(&self) -> usize {
        (0..self.room.len())
            .max_by_key(|&i| (self.room[i], std::cmp::Reverse(i)))
            .unwrap_or(0)
    }

    /// What a budget that cannot grow back leaves account `place`.
    pub(super) fn left(&self, place: usize) -> u32 {
        u32::try_from(self.room[place].max(0)).unwrap_or(u32::MAX)
    }

    /// Gives `n` wrong old passwords to account `place`; `false` (nothing
    /// given) when a fixed budget leaves it no room for them.
    pub(super) fn take_on(&mut self, place: usize, n: u32) -> bool {
        let room = &mut self.room[place];
        if self.fixed && i64::from(n) > *room {
            return false;
        }
        if *room != i64::MAX {
            *room -= i64::from(n);
        }
        true
    }

    /// Gives `n` wrong old passwords to the account with the most room,
    /// or to the first account when `first` (the case sends its static
    /// token); the account, or `None` when none of the pool can hold them.
    pub(super) fn take(&mut self, n: u32, first: bool) -> Option<usize> {
        let place = if first { 0 } else { self.most_room() };
        self.take_on(place, n).then_some(place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Counting;

    fn rule(max: Option<u32>, window: Option<u64>) -> LockoutRule {
        LockoutRule {
            max_failures: max,
            counting: Counting::Window,
            window: window.map(std::time::Duration::from_secs),
            declared: true,
        }
    }

    #[test]
    fn the_most_room_first_ties_to_the_earlier_account() {
        // 4 allowed at once (max 6), account 0 counted 1 before the run.
        let mut a = Allot::new(rule(Some(6), None), true, 3, &[1]);
        assert_eq!(a.take(2, false), Some(1));
        assert_eq!(a.take(2, false), Some(2));
        // Rooms 3, 2, 2: the first; then 1, 2, 2: the second.
        assert_eq!(a.take(2, false), Some(0));
        assert_eq!(a.take(1, false), Some(1));
        // Rooms 1, 1, 2: three fit nowhere; the first takes its static
        // token's case only within its own room.
        assert_eq!(a.take(3, false), None);
        assert_eq!(a.take(2, true), None);
        assert_eq!(a.take(1, true), Some(0));
        assert_eq!((a.left(0), a.left(1), a.left(2)), (0, 1, 2));
    }

    #[test]
    fn a_budget_that_grows_back_spreads_and_no_lockout_stays_on_the_first() {
        let mut a = Allot::new(rule(Some(4), Some(60)), false, 2, &[]);
        let places: Vec<_> = (0..5).map(|_| a.take(1, false).unwrap()).collect();
        assert_eq!(places, [0, 1, 0, 1, 0]);
        let mut a = Allot::new(rule(None, None), false, 3, &[]);
        assert!((0..5).all(|_| a.take(3, false) == Some(0)));
    }
}
