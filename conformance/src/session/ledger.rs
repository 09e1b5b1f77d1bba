//! The account ledger: the one record of every account a run may change
//! (the active account and the other accounts), which the catalogue's
//! steps, the properties driver, the confirmation, the resume and the
//! restore all read and write. It owns, in one place:
//!
//! - the save-before-send rule: [`Ledger::before_change`] records a
//!   request's pending change (or candidate) in the state file before the
//!   request goes out, and refuses (nothing is sent) when the file cannot
//!   be written;
//! - the candidates (new passwords of refused changes, per account, and
//!   which of them were answered) and whether the target was ever seen to
//!   store a refused change (both in the state file);
//! - each account's lockout budget (the active account's [`Budget`], and
//!   one per other account under the same rule: a window forgets the
//!   wrong old passwords sent to `lockable` as it forgets the active
//!   account's, so the restore can wait for room instead of giving up);
//! - the one [`Ledger::save`] of the state file.
//!
//! It sends nothing and knows no token source: callers send, then apply
//! the answer here.
//!
//! The pool (issue 20): the profile may give several active accounts
//! (`[[accounts.active]]`). The one in use is `active` (every step,
//! confirmation, recheck and restore acts on it, as with one account);
//! the others wait in `idle`, each with its own budget, passwords and
//! candidates. [`Ledger::choose`] is the one place that picks the account
//! a case runs on (room for wrong old passwords now, else the least
//! wait); [`Ledger::select`] puts it in use. The state file holds every
//! account of the pool, in the profile's order, then the other accounts.

use std::collections::HashMap;
use std::path::PathBuf;

use std::time::Duration;

use crate::budget::{Budget, NextWrongAttempt};
use crate::profile::{Account, LockoutRule};
use crate::state::{AccountState, State, StateFile, WithoutPassword};
use crate::transformed::Candidate;

/// The active account as the ledger knows it.
#[derive(Debug)]
pub(crate) struct ActiveAccount {
    /// The profile's `[accounts.active]` (one of `[[accounts.active]]`).
    pub(crate) account: Account,
    /// Its place in the profile's pool (0: the first, the only one
    /// without a pool).
    pub(crate) place: usize,
    pub(crate) original: String,
    pub(crate) current: String,
    /// Oldest first.
    pub(crate) previous: Vec<String>,
    /// Wrong old passwords spent against the lockout rule (one count for
    /// the whole run: the catalogue and the properties spend from it).
    pub(crate) budget: Budget,
    /// A change was sent to this password and no answer was read (while a
    /// change is in flight it is set too: the state file holds it).
    pub(crate) pending: Option<String>,
    /// Why the account must not be touched any more.
    pub(crate) poisoned: Option<String>,
    /// The last 200 to a change in this run: its step, its case, the
    /// password before it, the password it set.
    pub(crate) last_change: Option<(String, &'static str, String, String)>,
    /// A request that could change the password was sent this run.
    pub(crate) change_sent: bool,
    /// The pending password the run last tried to resolve during the run
    /// (each lost answer is tried once before the restore; a refused
    /// probe counts toward the lockout).
    pub(crate) pending_tried: Option<String>,
    /// New passwords of refused changes since the tracked password last
    /// worked (the state file's `candidates`): a target that stores
    /// refused changes gives the account one of them.
    pub(crate) candidates: Vec<String>,
    /// After a 200 to `current`, neither it nor the password before it
    /// worked: what the target may have stored instead, not yet ruled out
    /// (the state file's `transformed`, [`crate::transformed`]).
    pub(crate) transformed: Vec<Candidate>,
}

impl ActiveAccount {
    /// `account` at `place` in the pool, at its `original` password,
    /// nothing spent.
    fn new(account: Account, place: usize, original: String, rule: LockoutRule) -> ActiveAccount {
        ActiveAccount {
            account,
            place,
            current: original.clone(),
            original,
            previous: Vec::new(),
            budget: Budget::new(rule),
            pending: None,
            poisoned: None,
            last_change: None,
            change_sent: false,
            pending_tried: None,
            candidates: Vec::new(),
            transformed: Vec::new(),
        }
    }

    /// Its entry in the state file.
    fn entry(&self) -> AccountState {
        AccountState {
            subject: self.account.subject.clone(),
            original: self.original.clone(),
            current: self.current.clone(),
            pending: self.pending.clone(),
            previous: self.previous.clone(),
            failures: self.budget.count(),
            // The password before the latest 200, should that 200 not
            // have taken: a restore tries it when `current` is refused.
            before_last_change: self
                .last_change
                .as_ref()
                .filter(|(_, _, before, set)| *set == self.current && before != set)
                .map(|(_, _, before, _)| before.clone()),
            candidates: self.candidates.clone(),
            answered: Vec::new(),
            transformed: self.transformed.clone(),
        }
    }
}

/// What a request means for the accounts (recorded by
/// [`Ledger::before_change`] before it is sent).
#[derive(Debug, Clone)]
pub(crate) enum Effect {
    /// Nothing (no token of the active account).
    None,
    /// A change request from `old` to `new` with the active account's token.
    Change { old: String, new: String },
    /// A request with the active account's token that cannot set a
    /// password (no string `new_password`): only wrong-password answers count.
    Harmless,
    /// A change of another account (`frozen`, `locked`, `lockable`, …)
    /// with its own password: recorded in the state file as pending before
    /// it is sent (a target that does not enforce the status answers 200),
    /// and set back at the end.
    Other {
        subject: String,
        old: String,
        new: String,
    },
    /// A change of another account that a conformant target refuses
    /// whatever its password (a wrong or made-up old password): `new` is
    /// recorded in the state file as one of the account's candidates
    /// before it is sent (a target that stores refused changes gives the
    /// account one of them); `original` is the account's password from
    /// the profile, `known` the one the run knows it has.
    Candidate {
        subject: String,
        original: String,
        known: String,
        new: String,
    },
    /// A change of an account the profile gives no password, with a
    /// made-up or wrong old password (a conformant target refuses it):
    /// `new` is recorded before it is sent, so that the restore can name
    /// it should the target be seen to store refused changes.
    WithoutPassword { subject: String, new: String },
    /// A request with the active account's token that a conformant target
    /// refuses but that carries a string `new_password` (a hostile input):
    /// `new` is recorded as a candidate of the active account before it is
    /// sent.
    ActiveCandidate { new: String },
}

/// Every account a run may change, and the state file they are kept in.
#[derive(Debug)]
pub struct Ledger {
    /// `{base_url}/change_user_password` of the target.
    endpoint: String,
    /// Where the accounts are saved (`None`: nowhere, as in unit tests).
    state_file: Option<PathBuf>,
    /// The active account in use (of the pool: the one [`Ledger::select`]
    /// put in use).
    pub(crate) active: ActiveAccount,
    /// The pool's other active accounts, not in use now.
    pub(crate) idle: Vec<ActiveAccount>,
    /// The other accounts this run sent changes (or refused changes) to.
    pub(crate) others: Vec<AccountState>,
    /// The wrong old passwords counted against each other account, by
    /// subject, under the one rule (their entries' `failures` in the
    /// state file is the count now).
    other_budgets: HashMap<String, Budget>,
    /// Other accounts this run saw locked (the `lockable` account, locked
    /// by `user.lockout-after-failures`): no case sends them a wrong old
    /// password any more. Their lock lasts the target's lock time, which
    /// no window of the profile tells.
    locked: Vec<String>,
    /// This run saw the target store a change it refused (the active
    /// account's confirmation found its password changed), or resumed a
    /// state file with candidates: the other accounts' candidates are
    /// then checked at the end.
    pub(crate) stores_refused: bool,
    /// The transformation this target was seen to apply to a new password
    /// this run, on any account of the pool (tried first the next time;
    /// the target's way of storing, not one account's).
    pub(crate) stores_as: Option<String>,
    /// Accounts without a password in the profile that were sent refused
    /// changes, with their new passwords.
    pub(crate) without_password: Vec<WithoutPassword>,
    /// Why the last write of the state file failed (`None`: it was
    /// written). No request that could change a password is sent while it
    /// is set: a change goes out recorded or not at all.
    pub(crate) unsaved: Option<String>,
}

impl Ledger {
    /// A ledger of `account` (whose password is `original`) at `endpoint`,
    /// saved to `state_file`, its lockout budget under `rule`.
    pub(crate) fn new(
        endpoint: String,
        state_file: Option<PathBuf>,
        account: Account,
        original: String,
        rule: LockoutRule,
    ) -> Ledger {
        Ledger {
            endpoint,
            state_file,
            active: ActiveAccount::new(account, 0, original, rule),
            idle: Vec::new(),
            others: Vec::new(),
            other_budgets: HashMap::new(),
            locked: Vec::new(),
            stores_refused: false,
            stores_as: None,
            without_password: Vec::new(),
            unsaved: None,
        }
    }

    /// Hands the ledger over by value (to the properties, which run on a
    /// blocking thread; they hand it back the same way). What stays behind
    /// is a stand-in that saves nowhere and whose active account is not
    /// usable, so nothing can change an account through it meanwhile.
    pub fn lend(&mut self) -> Ledger {
        let a = &self.active;
        let mut stand_in = Ledger::new(
            self.endpoint.clone(),
            None,
            a.account.clone(),
            a.original.clone(),
            a.budget.rule(),
        );
        let why = "the account ledger is lent to the properties".to_string();
        stand_in.active.poisoned = Some(why.clone());
        stand_in.unsaved = Some(why);
        std::mem::replace(self, stand_in)
    }

    /// Adds `account` (whose password is `original`) to the pool, after
    /// the others, not in use.
    pub(crate) fn join_pool(&mut self, account: Account, original: String) {
        let place = self.pool_len();
        let rule = self.active.budget.rule();
        self.idle
            .push(ActiveAccount::new(account, place, original, rule));
    }

    /// How many active accounts the pool holds (1 without a pool).
    pub(crate) fn pool_len(&self) -> usize {
        1 + self.idle.len()
    }

    /// Every active account of the pool, in the profile's order.
    pub(crate) fn pool(&self) -> Vec<&ActiveAccount> {
        let mut all: Vec<&ActiveAccount> = std::iter::once(&self.active)
            .chain(self.idle.iter())
            .collect();
        all.sort_by_key(|a| a.place);
        all
    }

    /// Puts the pool's account at `place` in use (`active`); the one in
    /// use joins the idle ones. Nothing is sent.
    pub(crate) fn select(&mut self, place: usize) {
        if self.active.place == place {
            return;
        }
        if let Some(i) = self.idle.iter().position(|a| a.place == place) {
            std::mem::swap(&mut self.active, &mut self.idle[i]);
        }
    }

    /// The one choice of the account a case runs on (its place in the
    /// pool). A case that sends wrong old passwords (`wrong`) gets the
    /// usable account with room for one now, the most room first, else
    /// the one whose room comes soonest (a window's wait; a success that
    /// resets a count in a row costs no wait); ties go to the earlier
    /// account. Any other case gets the first usable account while it has
    /// room for a wrong old password now (a refused change is checked with
    /// one), else the account a `wrong` case would get. Without a pool:
    /// the one account.
    pub(crate) fn choose(&self, wrong: bool) -> usize {
        let pool = self.pool();
        let usable: Vec<&ActiveAccount> =
            pool.into_iter().filter(|a| a.poisoned.is_none()).collect();
        let Some(first) = usable.first() else {
            return self.active.place;
        };
        if !wrong && wait_for_wrong(first).is_zero() {
            return first.place;
        }
        let key = |a: &ActiveAccount| {
            let left = a.budget.left().unwrap_or(u32::MAX);
            (wait_for_wrong(a), std::cmp::Reverse(left), a.place)
        };
        usable
            .iter()
            .min_by_key(|a| key(a))
            .map_or(first.place, |a| a.place)
    }

    /// Whether the pool's account at `place` is usable and has room for
    /// `n` more wrong old passwords now (no rule: always).
    pub(crate) fn has_room(&self, place: usize, n: u32) -> bool {
        self.pool().into_iter().any(|a| {
            a.place == place && a.poisoned.is_none() && a.budget.left().is_none_or(|left| left >= n)
        })
    }

    /// How long until some usable account of the pool has room for one
    /// more wrong old password (zero: one has room now).
    pub(crate) fn wait_for_room(&self) -> Duration {
        self.pool()
            .into_iter()
            .filter(|a| a.poisoned.is_none())
            .map(wait_for_wrong)
            .min()
            .unwrap_or(Duration::ZERO)
    }

    /// The active account in use in the single-account form of the file.
    pub(crate) fn state(&self) -> State {
        let a = &self.active;
        State {
            endpoint: self.endpoint.clone(),
            subject: a.account.subject.clone(),
            original: a.original.clone(),
            current: a.current.clone(),
            pending: a.pending.clone(),
            previous: a.previous.clone(),
            failures: a.budget.count(),
        }
    }

    /// Every account as the state file holds it: the pool's active
    /// accounts first (in the profile's order), then the others.
    pub(crate) fn file(&self) -> StateFile {
        let mut file = StateFile::from(self.state());
        file.accounts = self.pool().into_iter().map(ActiveAccount::entry).collect();
        for o in &self.others {
            file.upsert(AccountState {
                failures: self.other_failures(&o.subject),
                ..o.clone()
            });
        }
        file.stores_refused = Some(self.stores_refused);
        file.without_password = self.without_password.clone();
        file
    }

    /// Writes every account to the state file. A file that cannot be
    /// written makes the active account unusable and stops every request
    /// that could change a password ([`Ledger::before_change`] refuses).
    pub(crate) fn save(&mut self) {
        let Some(path) = self.state_file.clone() else {
            self.unsaved = None;
            return;
        };
        match self.file().save(&path) {
            Ok(()) => self.unsaved = None,
            Err(e) => {
                let why = format!("cannot write the state file: {e}");
                self.active.poisoned = Some(why.clone());
                self.unsaved = Some(why);
            }
        }
    }

    /// The save-before-send rule: records what a request with `effect`
    /// may change (the active account's pending password, another
    /// account's pending password or candidate, the active account's
    /// candidate) and saves. `Err` with why when the file could not be
    /// written: the request must not be sent (nothing is left pending).
    pub(crate) fn before_change(&mut self, effect: &Effect) -> Result<(), String> {
        match effect {
            Effect::None | Effect::Harmless => return Ok(()),
            Effect::Change { new, .. } => self.active.pending = Some(new.clone()),
            Effect::ActiveCandidate { new } => self.add_candidate(new),
            Effect::WithoutPassword { subject, new } => {
                match self
                    .without_password
                    .iter_mut()
                    .find(|w| w.subject == *subject)
                {
                    Some(w) if w.candidates.contains(new) => {}
                    Some(w) => w.candidates.push(new.clone()),
                    None => self.without_password.push(WithoutPassword {
                        subject: subject.clone(),
                        candidates: vec![new.clone()],
                    }),
                }
            }
            Effect::Other { subject, old, new } => {
                let entry = match self.other(subject) {
                    Some(o) => AccountState {
                        pending: Some(new.clone()),
                        ..o.clone()
                    },
                    None => AccountState {
                        pending: Some(new.clone()),
                        ..new_entry(subject, old, old)
                    },
                };
                self.upsert_other(entry);
            }
            Effect::Candidate {
                subject,
                original,
                known,
                new,
            } => {
                let mut entry = match self.other(subject) {
                    Some(o) => o.clone(),
                    None => new_entry(subject, original, known),
                };
                if !entry.candidates.contains(new) {
                    entry.candidates.push(new.clone());
                }
                self.upsert_other(entry);
            }
        }
        self.save();
        match self.unsaved.clone() {
            None => Ok(()),
            Some(why) => {
                // Not recorded, so not sent: nothing is pending.
                match effect {
                    Effect::Change { .. } => self.active.pending = None,
                    Effect::Other { subject, .. } => {
                        if let Some(o) = self.other_mut(subject) {
                            o.pending = None;
                        }
                    }
                    _ => {}
                }
                Err(why)
            }
        }
    }

    /// Records `new`, a new password sent in a request the target should
    /// refuse, as a candidate of the active account (in memory; written by
    /// the next save).
    pub(crate) fn add_candidate(&mut self, new: &str) {
        if !self.active.candidates.iter().any(|c| c == new) {
            self.active.candidates.push(new.to_string());
        }
    }

    /// A change of the active account was applied (a 200): `new` is its
    /// password, the one before it joins the previous ones, and the
    /// lockout count is reset where a success resets it.
    pub(crate) fn apply_change(&mut self, new: &str) {
        let old = std::mem::replace(&mut self.active.current, new.to_string());
        self.active.previous.push(old);
        self.note_success();
    }

    /// The active account's tracked password, set by the last 200, was
    /// refused: records (and saves, before any is tried) what the account
    /// may have instead ([`crate::transformed::candidates`]), unless
    /// candidates are recorded already. `false` when there is nothing to
    /// try (no 200 set the tracked password) or the file could not be
    /// written (nothing may be sent then).
    pub(crate) fn record_transformed(&mut self) -> bool {
        let a = &self.active;
        if !a.transformed.is_empty() {
            return self.unsaved.is_none();
        }
        let Some((_, _, before, set)) = a.last_change.clone() else {
            return false;
        };
        if set != a.current || before == set {
            return false;
        }
        let first = self.stores_as.clone();
        self.active.transformed = crate::transformed::candidates(&set, &before, first.as_deref());
        self.save();
        self.unsaved.is_none()
    }

    /// The active account's password is `found`, one of its
    /// [`ActiveAccount::transformed`] candidates (the password before the
    /// last 200, or what the target stored instead of its new password):
    /// tracked from now on, the account usable again (saved).
    pub(crate) fn found_transformed(&mut self, found: &Candidate) {
        let a = &mut self.active;
        let set = std::mem::replace(&mut a.current, found.password.clone());
        if found.transformation == crate::transformed::UNCHANGED {
            // The 200 did not take: the password before it is current
            // again, not a previous one.
            if let Some(i) = a.previous.iter().rposition(|p| *p == found.password) {
                a.previous.remove(i);
            }
        } else {
            self.stores_as = Some(found.transformation.clone());
        }
        if let Some(i) = a.previous.iter().rposition(|p| *p == set) {
            a.previous.remove(i);
        }
        a.transformed.clear();
        a.poisoned = None;
        a.candidates.clear();
        self.save();
    }

    /// One more wrong old password was sent to the active account.
    pub(crate) fn note_failure(&mut self) {
        self.active.budget.note_failure();
    }

    /// A successful change of the active account: resets the count if the
    /// target counts in a row, and only then.
    pub(crate) fn note_success(&mut self) {
        self.active.budget.note_success();
    }

    /// Counted wrong attempts of the active account now.
    pub(crate) fn failures(&self) -> u32 {
        self.active.budget.count()
    }

    /// Another account's entry, by subject.
    pub(crate) fn other(&self, subject: &str) -> Option<&AccountState> {
        self.others.iter().find(|o| o.subject == subject)
    }

    /// Another account's entry, by subject.
    pub(crate) fn other_mut(&mut self, subject: &str) -> Option<&mut AccountState> {
        self.others.iter_mut().find(|o| o.subject == subject)
    }

    /// Counts the other accounts' recorded failures (from a state file)
    /// as sent now, as the active account's are at a resume.
    pub(crate) fn count_others_from_entries(&mut self) {
        let rule = self.active.budget.rule();
        self.other_budgets = self
            .others
            .iter()
            .map(|o| {
                let mut b = Budget::new(rule);
                b.set(o.failures);
                (o.subject.clone(), b)
            })
            .collect();
    }

    /// Wrong old passwords counted against another account now (a window
    /// forgets the old ones).
    pub(crate) fn other_failures(&self, subject: &str) -> u32 {
        match self.other_budgets.get(subject) {
            Some(b) => b.count(),
            None => self.other(subject).map_or(0, |o| o.failures),
        }
    }

    /// Whether one more wrong old password may be sent to another account:
    /// its count stays two below the lockout threshold after it, as the
    /// active account's does.
    /// A locked account has none.
    pub(crate) fn other_has_room(&self, subject: &str) -> bool {
        !self.locked.iter().any(|s| s == subject)
            && self.other_wait(subject, 2) == Some(Duration::ZERO)
    }

    /// Whether the target answered that another account is locked.
    pub(crate) fn other_locked(&self, subject: &str) -> bool {
        self.locked.iter().any(|s| s == subject)
    }

    /// The target answered that another account is locked (after the
    /// wrong old passwords this run sent it on purpose, or an earlier
    /// run's lock).
    pub(crate) fn note_locked(&mut self, subject: &str) {
        if !self.locked.iter().any(|s| s == subject) {
            self.locked.push(subject.to_string());
        }
    }

    /// How long until one more wrong old password may be sent to another
    /// account with its count `below` under the lockout threshold after
    /// it (2: a spare kept, as for the active account; 1: one below the
    /// lock); zero: now; `None`: not in this run (its failures do not
    /// expire).
    pub(crate) fn other_wait(&self, subject: &str, below: u32) -> Option<Duration> {
        let Some(max) = self.active.budget.rule().max_failures else {
            return Some(Duration::ZERO);
        };
        let at_most = max.checked_sub(below + 1)?;
        match self.other_budgets.get(subject) {
            Some(b) => b.wait_until_at_most(at_most),
            None => (self.other_failures(subject) <= at_most).then_some(Duration::ZERO),
        }
    }

    /// One more wrong old password was sent to another account (saved).
    pub(crate) fn note_other_failure(&mut self, subject: &str) {
        let rule = self.active.budget.rule();
        let recorded = self.other(subject).map_or(0, |o| o.failures);
        self.other_budgets
            .entry(subject.to_string())
            .or_insert_with(|| {
                let mut b = Budget::new(rule);
                b.set(recorded);
                b
            })
            .note_failure();
        let now = self.other_failures(subject);
        if let Some(o) = self.other_mut(subject) {
            o.failures = now;
        }
        self.save();
    }

    /// Another account's pending change is settled: `applied` is the
    /// password it set (`None`: not applied, the recorded one stays).
    pub(crate) fn settle_other(&mut self, subject: &str, applied: Option<&str>) {
        if let Some(o) = self.other_mut(subject) {
            o.pending = None;
            if let Some(new) = applied {
                let old = std::mem::replace(&mut o.current, new.to_string());
                o.previous.push(old);
            }
        }
        self.save();
    }

    /// Another account's candidate `new` was answered (its refusal read).
    pub(crate) fn candidate_answered(&mut self, subject: &str, new: &str) {
        if let Some(o) = self.other_mut(subject)
            && o.candidates.iter().any(|c| c == new)
            && !o.answered.iter().any(|c| c == new)
        {
            o.answered.push(new.to_string());
        }
    }

    /// What the restore says of the accounts without a password that were
    /// sent refused changes, when the target was seen to store one (they
    /// may have one of the new passwords; nothing can set them back);
    /// `None` otherwise (a conformant target's refusals changed nothing).
    pub(crate) fn unsettled_without_password(&self) -> Option<String> {
        if !self.stores_refused || self.without_password.is_empty() {
            return None;
        }
        let named: Vec<String> = self
            .without_password
            .iter()
            .map(|w| {
                format!(
                    "{} (no password in the profile) may have one of the {} `candidates` \
                     recorded for it under `without_password` in the state file (new \
                     passwords of refused changes, which this target may have stored)",
                    w.subject,
                    w.candidates.len()
                )
            })
            .collect();
        Some(named.join("; "))
    }

    /// Adds or replaces `entry` among the other accounts.
    pub(crate) fn upsert_other(&mut self, entry: AccountState) {
        match self.other_mut(&entry.subject) {
            Some(slot) => *slot = entry,
            None => self.others.push(entry),
        }
    }
}

/// How long `a` must wait before one more wrong old password (a success
/// that resets a count in a row costs no wait; never: the longest).
fn wait_for_wrong(a: &ActiveAccount) -> Duration {
    match a.budget.next_wrong_attempt() {
        NextWrongAttempt::Now | NextWrongAttempt::AfterSuccess => Duration::ZERO,
        NextWrongAttempt::After(d) => d,
        NextWrongAttempt::Never => Duration::MAX,
    }
}

/// A first entry for another account: `original` to restore, `current`
/// as the run knows it.
fn new_entry(subject: &str, original: &str, current: &str) -> AccountState {
    AccountState {
        subject: subject.to_string(),
        original: original.to_string(),
        current: current.to_string(),
        pending: None,
        previous: Vec::new(),
        failures: 0,
        before_last_change: None,
        candidates: Vec::new(),
        answered: Vec::new(),
        transformed: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::profile::Counting;

    fn account(subject: &str) -> Account {
        Account {
            subject: subject.into(),
            password: Some(format!("{subject}-pw")),
            token: None,
        }
    }

    /// A pool of `subjects` under four wrong old passwords per minute (two
    /// of room each, one spared).
    fn pool(subjects: &[&str]) -> Ledger {
        let rule = LockoutRule {
            max_failures: Some(4),
            counting: Counting::Window,
            window: Some(Duration::from_secs(60)),
            declared: true,
        };
        let first = account(subjects[0]);
        let mut ledger = Ledger::new("e".into(), None, first, format!("{}-pw", subjects[0]), rule);
        for s in &subjects[1..] {
            ledger.join_pool(account(s), format!("{s}-pw"));
        }
        ledger
    }

    #[test]
    fn wrong_old_passwords_go_to_the_account_with_the_most_room() {
        let mut l = pool(&["alice", "carol", "dave"]);
        assert_eq!(l.choose(true), 0);
        l.note_failure();
        // alice has one left, carol two: carol.
        assert_eq!(l.choose(true), 1);
        // A case without wrong old passwords stays on the first while it
        // has room.
        assert_eq!(l.choose(false), 0);
        l.note_failure();
        assert_eq!(l.choose(false), 1, "alice has no room: the best account");
        l.select(1);
        assert_eq!(l.active.account.subject, "carol");
        l.note_failure();
        l.note_failure();
        assert_eq!(l.choose(true), 2);
        l.select(2);
        l.note_failure();
        l.note_failure();
        // Every account must wait: the one whose room comes first (alice,
        // spent first).
        assert!(l.wait_for_room() > Duration::from_secs(50));
        assert_eq!(l.choose(true), 0);
        // A poisoned account is never chosen.
        l.select(0);
        l.active.poisoned = Some("test".into());
        assert_ne!(l.choose(true), 0);
        assert_ne!(l.choose(false), 0);
    }

    #[test]
    fn room_of_one_account_counts_its_budget_and_its_poison() {
        let mut l = pool(&["alice", "carol"]);
        assert!(l.has_room(0, 2) && !l.has_room(0, 3));
        l.note_failure();
        assert!(l.has_room(0, 1) && !l.has_room(0, 2));
        assert!(l.has_room(1, 2), "carol's budget is her own");
        l.select(1);
        l.active.poisoned = Some("503 after the retry bound".into());
        assert!(!l.has_room(1, 0));
        assert!(l.has_room(0, 1), "alice, idle now, keeps her room");
        assert!(!l.has_room(7, 0), "no such account");
    }

    #[test]
    fn the_state_file_holds_the_pool_in_the_profiles_order() {
        let mut l = pool(&["alice", "carol", "dave"]);
        l.select(2);
        l.apply_change("dave-2");
        l.select(1);
        let file = l.file();
        let subjects: Vec<_> = file.accounts.iter().map(|a| a.subject.as_str()).collect();
        assert_eq!(subjects, ["alice", "carol", "dave"]);
        assert_eq!(file.account("dave").unwrap().current, "dave-2");
        assert_eq!(file.account("dave").unwrap().previous, ["dave-pw"]);
        assert_eq!(file.account("carol").unwrap().current, "carol-pw");
        // Lent and given back whole.
        let lent = l.lend();
        assert_eq!(lent.pool_len(), 3);
        assert_eq!(lent.active.account.subject, "carol");
    }
}
