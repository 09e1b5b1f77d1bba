//! Restoring at the end: the active account's original password set back
//! (after its recorded candidates are tried when a target stored a refused
//! change), cycling through enough generated passwords that the original
//! is out of the history; then the other accounts ([`super::others`]).

use super::account::{Effect, Housekeeping, Session};
use super::others::cycles_needed;
use super::requests::{change, is_error};
use super::steps::CaseContext;
use super::steps::pending::confirms;
use crate::exchange::ExchangeRecord;
use crate::state::State;

impl Session {
    /// Restores the original password of every active account of the
    /// pool (the one account without a pool), then the other accounts.
    pub(crate) async fn restore(&mut self) -> Housekeeping {
        let mut h = self.restore_pool().await;
        let unsettled = self.ledger.unsettled_without_password();
        if self.ledger.others.is_empty() && unsettled.is_none() && self.ledger.pool_len() == 1 {
            return h;
        }
        if !self.ledger.others.is_empty() {
            let (ok, said, mut exchanges) = self.restore_others().await;
            h.exchanges.append(&mut exchanges);
            h.outcome = format!("{}; {said}", h.outcome);
            if !ok {
                h.ok = false;
            }
        }
        if let Some(said) = unsettled {
            h.outcome = format!("{}; {said}", h.outcome);
            h.ok = false;
        }
        if h.ok {
            let _ = State::remove(&self.options.state_file);
        } else {
            self.ledger.save();
        }
        h
    }

    /// Restores each account of the pool in turn ([`Session::restore_active`]
    /// with it in use), in the profile's order; one record of them all.
    async fn restore_pool(&mut self) -> Housekeeping {
        if self.ledger.pool_len() == 1 {
            return self.restore_active().await;
        }
        let mut all = Housekeeping {
            ok: true,
            outcome: String::new(),
            exchanges: Vec::new(),
        };
        let mut said = Vec::new();
        for place in 0..self.ledger.pool_len() {
            self.select(place);
            let h = self.restore_active().await;
            all.ok &= h.ok;
            for mut x in h.exchanges {
                x.step = all.exchanges.len() + 1;
                all.exchanges.push(x);
            }
            said.push(h.outcome);
        }
        self.select(0);
        all.outcome = said.join("; ");
        all
    }

    /// The active account has its original password: the state file goes
    /// when no other account needs it (no other account, no other account
    /// of the pool); otherwise it is rewritten (the others' entries kept
    /// until [`Session::restore`] has set them back).
    pub(crate) fn active_restored(&mut self) {
        if self.ledger.others.is_empty()
            && self.ledger.unsettled_without_password().is_none()
            && self.ledger.pool_len() == 1
        {
            let _ = State::remove(&self.options.state_file);
        } else {
            self.ledger.save();
        }
    }

    /// Restores the active account (resolving a pending change first,
    /// and again when a change of the restore gets no usable answer).
    pub(crate) async fn restore_active(&mut self) -> Housekeeping {
        let a = &self.ledger.active;
        if (a.current != a.original || a.pending.is_some())
            && let Some(said) = self.restore_needs_a_fresh_token()
        {
            // Its static token was refused after the run's change: sent
            // again, it would be refused again (the state file keeps it).
            self.ledger.save();
            return Housekeeping {
                ok: false,
                outcome: said,
                exchanges: Vec::new(),
            };
        }
        let mut exchanges = Vec::new();
        let mut last = None;
        let mut tried_candidates = false;
        if self.ledger.active.pending.is_none()
            && self.ledger.active.poisoned.is_some()
            && self.ledger.active.candidates.is_empty()
            && self.ledger.unsaved.is_none()
        {
            // The tracked password, set by the last 200, was refused where
            // nothing looked into it (the generated properties stop there)
            // and no refused change since could explain it: its candidates
            // are recorded now.
            self.ledger.record_transformed();
        }
        if self.ledger.active.pending.is_none()
            && self.ledger.unsaved.is_none()
            && !self.ledger.active.transformed.is_empty()
        {
            // After a 200 whose new password was refused (this run, or
            // the interrupted one): what did the target store?
            let mut h = self.try_transformed().await;
            exchanges.append(&mut h.exchanges);
        }
        for _ in 0..4 {
            let refused =
                self.ledger.active.poisoned.is_some() && self.ledger.active.pending.is_none();
            if refused
                && !tried_candidates
                && self.ledger.stores_refused
                && !self.ledger.active.candidates.is_empty()
            {
                // The recorded password was refused (during the run, or by
                // the restore's first change) and the target stores refused
                // changes: which of their new passwords is it?
                tried_candidates = true;
                let mut h = self.try_active_candidates().await;
                exchanges.append(&mut h.exchanges);
            }
            if self.ledger.active.pending.is_some() {
                // A change whose answer was not read: resolved first.
                let resolved = self.resolve_pending("before the restore").await;
                exchanges.extend(resolved.exchanges);
                if !resolved.ok {
                    return Housekeeping {
                        ok: false,
                        outcome: format!(
                            "the original password of {} was not restored: a change got no \
                             usable answer and {}; the recorded and pending passwords are in {}",
                            self.ledger.active.account.subject,
                            resolved.outcome,
                            self.options.state_file.display()
                        ),
                        exchanges,
                    };
                }
            }
            let mut rest = self.restore_original().await;
            exchanges.append(&mut rest.exchanges);
            let lost = !rest.ok && self.ledger.active.pending.is_some();
            let candidates_left = !rest.ok
                && !tried_candidates
                && self.ledger.stores_refused
                && self.ledger.active.poisoned.is_some()
                && !self.ledger.active.candidates.is_empty();
            last = Some(rest);
            if !lost && !candidates_left {
                break;
            }
        }
        let mut h = last.expect("the restore ran");
        h.exchanges = exchanges;
        if !h.ok
            && let Some(said) = self.restore_needs_a_fresh_token()
        {
            // Refused during the restore: what sets the original back.
            h.outcome = said;
        }
        h
    }

    /// The active account's recorded password was refused: tries the new
    /// passwords of its refused changes (`candidates`), newest first, each
    /// with a change to itself (`duplicate_password` confirms it, changing
    /// nothing), while the lockout budget has room (waiting for a window,
    /// never locking). The one that works becomes the tracked password.
    pub(crate) async fn try_active_candidates(&mut self) -> Housekeeping {
        let includes_current = self.profile.policy.history_includes_current;
        let candidates = self.ledger.active.candidates.clone();
        let mut log = CaseContext::housekeeping(self);
        log.redact_candidates(&candidates, "candidate");
        let token = log.token_or_empty().await;
        let mut outcome = "no candidate was tried".to_string();
        let mut ok = false;
        for c in candidates.iter().rev() {
            if !log.room_for_one_more().await {
                outcome = "the lockout budget leaves no room to try more candidates".into();
                break;
            }
            let r = log
                .probe(
                    "restore: the recorded password was refused: is it a refused change's new \
                     password?",
                    change(Some(&token), c, c, None),
                )
                .await;
            match r {
                Some(r) if confirms(&r, includes_current) => {
                    let a = &mut log.runner.ledger.active;
                    a.previous
                        .push(std::mem::replace(&mut a.current, c.clone()));
                    a.poisoned = None;
                    a.candidates.clear();
                    log.runner.track_password();
                    log.runner.ledger.save();
                    outcome = "a refused change's new password works".into();
                    ok = true;
                    break;
                }
                Some(r) if is_error(&r, "wrong_old_password") => {
                    log.runner.ledger.note_failure();
                    log.runner.ledger.save();
                    outcome = "no candidate works".into();
                }
                _ => {
                    outcome = "a candidate could not be tried".into();
                    break;
                }
            }
        }
        let exchanges = log.result.exchanges;
        Housekeeping {
            ok,
            outcome,
            exchanges,
        }
    }

    /// Tries the active account's recorded `transformed` candidates (what
    /// the target may have stored after a 200 whose new password was
    /// refused), within the lockout budget; the one that works becomes
    /// the tracked password. None: the account stays unusable and the
    /// state file keeps the candidates not ruled out.
    pub(crate) async fn try_transformed(&mut self) -> Housekeeping {
        let mut log = CaseContext::housekeeping(self);
        let tried = log.try_transformed().await;
        let exchanges = log.result.exchanges;
        let subject = self.ledger.active.account.subject.clone();
        let outcome = match &tried.found {
            Some(c) => format!(
                "{subject}'s password is the candidate \"{}\" recorded after a 200 whose new \
                 password was refused",
                c.transformation
            ),
            None => {
                let left = &self.ledger.active.transformed;
                let why = tried
                    .stopped
                    .unwrap_or_else(|| "every candidate was tried".into());
                let said = format!(
                    "after a 200 whose new password was refused, what the target stored is not \
                     determined: ruled out: {}; not tried: {} ({why}); the state file keeps \
                     those not tried (`transformed`) for `conformance restore`",
                    crate::transformed::names(&tried.ruled_out),
                    crate::transformed::names(left)
                );
                self.ledger.active.poisoned = Some(said.clone());
                if !self.ledger.active.candidates.is_empty() {
                    // Not explained by the 200: a refused change may have
                    // been stored (its candidates are tried next).
                    self.ledger.stores_refused = true;
                }
                self.ledger.save();
                said
            }
        };
        Housekeeping {
            ok: tried.found.is_some(),
            outcome,
            exchanges,
        }
    }

    /// Changes to fresh passwords needed before the original can be set
    /// again: until it is older than the history depth; unknown depth:
    /// none (try, and add one on refusal).
    pub(crate) fn cycles_needed(&self) -> usize {
        let a = &self.ledger.active;
        cycles_needed(self.profile.policy.depth(), &a.previous, &a.original)
    }

    /// Refused changes were sent since the password was last confirmed (a
    /// run stopped before its confirmation): a target that stored one gave
    /// the account its new password. Checked with a change that changes
    /// nothing before claiming anything: `Ok` with the exchanges when the
    /// original still works, `Err` with the restore's outcome otherwise.
    async fn check_original_against_candidates(
        &mut self,
    ) -> Result<Vec<ExchangeRecord>, Housekeeping> {
        let subject = self.ledger.active.account.subject.clone();
        let includes_current = self.profile.policy.history_includes_current;
        let candidates = self.ledger.active.candidates.clone();
        let mut log = CaseContext::housekeeping(self);
        log.redact_candidates(&candidates, "candidate");
        let token = log.token_or_empty().await;
        let current = log.current();
        let r = log
            .probe(
                "restore: refused changes were sent since the password was last confirmed: \
                 does the original still work?",
                change(Some(&token), &current, &current, None),
            )
            .await;
        let failed = match r {
            Some(r) if confirms(&r, includes_current) => {
                let a = &mut log.runner.ledger.active;
                a.candidates.clear();
                a.change_sent = true;
                log.runner.ledger.save();
                None
            }
            Some(r) if is_error(&r, "wrong_old_password") => {
                log.runner.ledger.note_failure();
                log.runner.ledger.stores_refused = true;
                log.runner.ledger.active.poisoned = Some(
                    "the recorded (original) password was refused (wrong_old_password): the \
                     target may have stored a refused change"
                        .into(),
                );
                log.runner.ledger.save();
                Some("the recorded (original) password was refused")
            }
            _ => Some("the recorded (original) password could not be checked"),
        };
        let checked = log.result.exchanges;
        if let Some(why) = failed {
            let n = self.ledger.active.candidates.len();
            return Err(Housekeeping {
                ok: false,
                outcome: format!(
                    "the original password of {subject} was not restored: {why}; it has the \
                     `current` password or one of the {n} `candidates` recorded in {} (new \
                     passwords of refused changes, which this target may have stored)",
                    self.options.state_file.display()
                ),
                exchanges: checked,
            });
        }
        Ok(checked)
    }

    /// Sets the original password back (no change pending).
    pub(crate) async fn restore_original(&mut self) -> Housekeeping {
        let done = |ok: bool, outcome: String, exchanges| Housekeeping {
            ok,
            outcome,
            exchanges,
        };
        let subject = self.ledger.active.account.subject.clone();
        if let Some(why) = self.ledger.active.poisoned.clone() {
            let candidates = match self.ledger.active.candidates.len() {
                0 => String::new(),
                n => format!(
                    " ({subject} has the `current` password or one of the {n} `candidates` \
                     recorded there: new passwords of refused changes, which this target may \
                     have stored)"
                ),
            };
            return done(
                false,
                format!(
                    "the original password of {subject} was not restored: {why}; the last known \
                     state is in {}{candidates}",
                    self.options.state_file.display()
                ),
                Vec::new(),
            );
        }
        let mut checked = Vec::new();
        if self.ledger.active.current == self.ledger.active.original
            && !self.ledger.active.candidates.is_empty()
        {
            match self.check_original_against_candidates().await {
                Ok(exchanges) => checked = exchanges,
                Err(not_restored) => return not_restored,
            }
        }
        if self.ledger.active.current == self.ledger.active.original {
            self.active_restored();
            // Said only when a successful change showed it; otherwise what
            // is known, and that it was not checked.
            let outcome = if self.ledger.active.change_sent {
                format!("{subject} has its original password, as the target's answers show")
            } else {
                format!(
                    "{subject}: no request of this run could change its password; its original \
                     password is not checked"
                )
            };
            return done(true, outcome, checked);
        }
        let mut needed = self.cycles_needed();
        // A refused tracked password is rechecked against the password
        // before the last 200 (this run's, or the interrupted one's).
        let mut rechecks = 0;
        let state_file = self.options.state_file.clone();
        let mut log = CaseContext::housekeeping(self);
        let mut changes = 0usize;
        let original = log.runner.ledger.active.original.clone();
        for _ in 0..=129 {
            while needed > 0 {
                let current = log.runner.ledger.active.current.clone();
                let new = log.fresh();
                let token = log.token_or_empty().await;
                let req = change(Some(&token), &current, &new, None);
                let r = log
                    .exchange(
                        "restore: cycle through a generated password",
                        req,
                        Effect::Change {
                            old: current,
                            new: new.clone(),
                        },
                    )
                    .await;
                if r.as_ref().is_none_or(|r| r.status != 200) {
                    if r.as_ref()
                        .is_some_and(|r| is_error(r, "wrong_old_password"))
                        && rechecks < recheck_bound(&log)
                        && log.recheck_last_change().await.is_some()
                    {
                        rechecks += 1;
                        needed = log.runner.cycles_needed();
                        continue;
                    }
                    let exchanges = log.result.exchanges;
                    return done(
                        false,
                        format!(
                            "the original password of {subject} was not restored: a change to a \
                             generated password was refused; the current one is in {}",
                            state_file.display()
                        ),
                        exchanges,
                    );
                }
                changes += 1;
                needed -= 1;
            }
            let current = log.runner.ledger.active.current.clone();
            let token = log.token_or_empty().await;
            let req = change(Some(&token), &current, &original, None);
            let r = log
                .exchange(
                    "restore: set the original password",
                    req,
                    Effect::Change {
                        old: current,
                        new: original.clone(),
                    },
                )
                .await;
            match r {
                Some(r) if r.status == 200 => {
                    changes += 1;
                    let exchanges = log.result.exchanges;
                    log.runner.active_restored();
                    return done(
                        true,
                        format!(
                            "the original password of {subject} is restored ({changes} changes)"
                        ),
                        exchanges,
                    );
                }
                Some(r) if is_error(&r, "recurrent_password") => needed = 1,
                Some(r)
                    if is_error(&r, "wrong_old_password")
                        && rechecks < recheck_bound(&log)
                        && log.recheck_last_change().await.is_some() =>
                {
                    rechecks += 1;
                    needed = log.runner.cycles_needed();
                }
                _ => break,
            }
        }
        let exchanges = log.result.exchanges;
        done(
            false,
            format!(
                "the original password of {subject} was not restored: the target refused it; \
                 the current one is in {}",
                state_file.display()
            ),
            exchanges,
        )
    }
}

/// How many refused changes the restore looks into
/// ([`CaseContext::recheck_last_change`]): three, or, once the target was
/// seen to store new passwords transformed (every generated password
/// then comes back transformed, each found at the cost of one refused
/// change, within the lockout budget), enough to cycle through the
/// deepest history.
fn recheck_bound(log: &CaseContext<'_>) -> usize {
    if log.runner.ledger.stores_as.is_some() {
        3 + 2 * 130
    } else {
        3
    }
}
