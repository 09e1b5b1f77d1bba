//! Resuming and resolving: an interrupted run's state file picked up, and
//! a change without a usable answer resolved with changes that change
//! nothing (the recorded password, then the pending one, as old password).

use super::account::{Housekeeping, RESUMED, RunError, Session};
use super::requests::{change, is_error};
use super::steps::CaseContext;
use crate::exchange::Response;
use crate::state::{StateError, StateFile};

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
    /// Picks up an interrupted run's state file.
    pub(crate) async fn resume(&mut self) -> Result<Option<Housekeeping>, RunError> {
        let file = self.options.state_file.clone();
        let Some(recorded) = StateFile::load(&file).map_err(RunError::State)? else {
            return Ok(None);
        };
        let subject = self.ledger.active.account.subject.clone();
        let state = recorded.account(&subject).cloned();
        if recorded.endpoint != self.endpoint.endpoint_url() || state.is_none() {
            let subjects: Vec<&str> = recorded
                .accounts
                .iter()
                .map(|a| a.subject.as_str())
                .collect();
            return Err(RunError::State(StateError {
                kind: "state file",
                file,
                message: format!(
                    "belongs to {} ({}); finish that run or remove the file",
                    recorded.endpoint,
                    subjects.join(", ")
                ),
            }));
        }
        let Some(state) = state else {
            return Ok(None);
        };
        // The other accounts an interrupted run changed: set back at the end.
        self.ledger.others = recorded
            .accounts
            .into_iter()
            .filter(|a| a.subject != subject)
            .collect();
        // Candidates recorded by the interrupted run are checked at the end.
        self.ledger.stores_refused |= self.ledger.others.iter().any(|o| !o.candidates.is_empty());
        if let Some(before) = state.before_last_change {
            self.ledger.active.last_change = Some((
                "the last change of the interrupted run".into(),
                RESUMED,
                before,
                state.current.clone(),
            ));
        }
        self.ledger.active.original = state.original;
        self.ledger.active.current = state.current;
        self.ledger.active.previous = state.previous;
        self.ledger.stores_refused |= !state.candidates.is_empty();
        self.ledger.active.candidates = state.candidates;
        self.ledger.active.budget.set(state.failures);
        self.track_password();
        let Some(pending) = state.pending else {
            return Ok(Some(Housekeeping {
                ok: true,
                outcome: "resumed from the state file".to_string(),
                exchanges: Vec::new(),
            }));
        };
        self.ledger.active.pending = Some(pending);
        let mut h = self.resolve_pending("resume").await;
        h.outcome = if h.ok {
            format!("resumed; {}", h.outcome)
        } else {
            format!("resume failed: {}", h.outcome)
        };
        Ok(Some(h))
    }

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
