//! Resolving a change without a usable answer (lost, or a 429/503 the
//! retry bound did not wait out), part of the steps layer: a step calls it
//! before it touches the account again, and the confirmation, the resume
//! and the restore above use it. It asks with changes that change nothing
//! (the recorded password, then the pending one, as old password).

use super::super::account::{Housekeeping, Session};
use super::super::requests::{change, is_error};
use super::CaseContext;
use crate::exchange::Response;

/// Whether `r`, the answer to a change that changes nothing (a password to
/// itself), shows that the password works: 200, `duplicate_password`, or
/// `recurrent_password` where the profile's history counts the current
/// password; never an answer the retry budget gave up on.
pub(crate) fn confirms(r: &Response, includes_current: bool) -> bool {
    !r.retry_budget_exhausted
        && (r.status == 200
            || is_error(r, "duplicate_password")
            || (includes_current && is_error(r, "recurrent_password")))
}

impl Session {
    /// [`Session::resolve_pending`] during the run (before the next change,
    /// a confirmation, the next property): once per pending change, and
    /// only when a lost answer left the account unusable; `None` when there
    /// was nothing to try.
    pub(crate) async fn resolve_during_run(&mut self, context: &str) -> Option<Housekeeping> {
        let pending = self.ledger.active.pending.clone()?;
        if self.ledger.active.poisoned.is_none()
            || self.ledger.active.pending_tried.as_ref() == Some(&pending)
        {
            return None;
        }
        self.ledger.active.pending_tried = Some(pending);
        Some(self.resolve_pending(context).await)
    }

    /// Resolves a change whose answer was not read (lost, or a 429/503
    /// the retry bound did not wait out): was it applied? Asks with
    /// changes that change nothing: the recorded password to itself, then
    /// (if it is refused as wrong) the pending one to itself; the one
    /// answered `duplicate_password` (S3 comes after the old-password
    /// check; `recurrent_password` where the history counts the current
    /// password) is the password. One wrong attempt at most, within the
    /// lockout budget (waiting for its window if need be). On success the
    /// account is usable again; otherwise it stays untouched and the state
    /// file keeps both candidates.
    pub(crate) async fn resolve_pending(&mut self, context: &str) -> Housekeeping {
        let Some(pending) = self.ledger.active.pending.clone() else {
            return Housekeeping {
                ok: true,
                outcome: "nothing pending".into(),
                exchanges: Vec::new(),
            };
        };
        let includes_current = self.profile.policy.history_includes_current;
        let mut log = CaseContext::housekeeping(self);
        let ok;
        let outcome: String;
        log.redactor.add(&pending, "password:pending");
        let token = log.token_or_empty().await;
        let current = log.runner.ledger.active.current.clone();
        let r = log
            .probe(
                &format!("{context}: does the recorded password still work?"),
                change(Some(&token), &current, &current, None),
            )
            .await;
        match r {
            Some(r) if confirms(&r, includes_current) => {
                ok = true;
                outcome = "the interrupted change had not been applied".into();
            }
            Some(r) if is_error(&r, "wrong_old_password") && log.room_for_one_more().await => {
                log.runner.ledger.note_failure();
                let r = log
                    .probe(
                        &format!("{context}: was the interrupted change applied?"),
                        change(Some(&token), &pending, &pending, None),
                    )
                    .await;
                match r {
                    Some(r) if confirms(&r, includes_current) => {
                        let a = &mut log.runner.ledger.active;
                        a.previous
                            .push(std::mem::replace(&mut a.current, pending.clone()));
                        log.runner.ledger.note_success();
                        log.runner.track_password();
                        ok = true;
                        outcome = "the interrupted change had been applied".into();
                    }
                    Some(r) if is_error(&r, "wrong_old_password") => {
                        // Neither works: the file keeps the two candidates.
                        log.runner.ledger.note_failure();
                        ok = false;
                        outcome = "neither the recorded nor the pending password works".into();
                    }
                    _ => {
                        ok = false;
                        outcome = "the pending password could not be tried".into();
                    }
                }
            }
            Some(r) if is_error(&r, "wrong_old_password") => {
                log.runner.ledger.note_failure();
                ok = false;
                outcome = "the recorded password was refused and the lockout budget leaves no \
                           room to try the pending one"
                    .into();
            }
            _ => {
                ok = false;
                outcome = "the recorded password could not be tried".into();
            }
        }
        let exchanges = log.result.exchanges;
        if ok {
            self.ledger.active.pending = None;
            self.ledger.active.poisoned = None;
        } else {
            self.ledger.active.poisoned = Some(outcome.clone());
        }
        self.ledger.save();
        Housekeeping {
            ok,
            outcome,
            exchanges,
        }
    }
}
