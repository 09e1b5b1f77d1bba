//! The effect of a request on the accounts (the ledger side of a step):
//! recorded in the state file before the request is sent (a change goes
//! out recorded or not at all), then applied from the answer, or counted
//! against the lockout budget when the answer is lost.

use crate::checks;
use crate::exchange::{Response, TransportError};
use crate::state::AccountState;
use crate::verdict::Verdict;
use crate::vocabulary::Tier;

use super::account::{Effect, upsert_other};
use super::requests::is_error;
use super::steps::CaseContext;

impl CaseContext<'_> {
    /// Records `effect` in the state file before its request is sent.
    /// `false`: the state file could not be written, so the request is not
    /// sent (the case is skipped with why).
    pub(crate) fn record_before_send(&mut self, purpose: &str, effect: &Effect) -> bool {
        if let Effect::Other { subject, old, new } = &effect {
            let entry = match self.runner.others.iter().find(|o| o.subject == *subject) {
                Some(o) => AccountState {
                    pending: Some(new.clone()),
                    ..o.clone()
                },
                None => AccountState {
                    subject: subject.clone(),
                    original: old.clone(),
                    current: old.clone(),
                    pending: Some(new.clone()),
                    previous: Vec::new(),
                    failures: 0,
                    before_last_change: None,
                    candidates: Vec::new(),
                },
            };
            upsert_other(&mut self.runner.others, entry);
            self.runner.save_state();
        }
        if let Effect::Candidate {
            subject,
            original,
            known,
            new,
        } = &effect
        {
            let mut entry = match self.runner.others.iter().find(|o| o.subject == *subject) {
                Some(o) => o.clone(),
                None => AccountState {
                    subject: subject.clone(),
                    original: original.clone(),
                    current: known.clone(),
                    pending: None,
                    previous: Vec::new(),
                    failures: 0,
                    before_last_change: None,
                    candidates: Vec::new(),
                },
            };
            if !entry.candidates.contains(new) {
                entry.candidates.push(new.clone());
            }
            upsert_other(&mut self.runner.others, entry);
            self.runner.save_state();
        }
        if let Effect::Change { new, .. } = &effect {
            self.runner.active.pending = Some(new.clone());
            self.runner.save_state();
        }
        if matches!(
            effect,
            Effect::Change { .. } | Effect::Other { .. } | Effect::Candidate { .. }
        ) && let Some(why) = self.runner.unsaved.clone()
        {
            // Not recorded, so not sent: nothing is pending.
            match &effect {
                Effect::Change { .. } => self.runner.active.pending = None,
                Effect::Other { subject, .. } => {
                    if let Some(o) = self.runner.other_mut(subject) {
                        o.pending = None;
                    }
                }
                _ => {}
            }
            self.result.verdict = Verdict::Skip;
            self.result.reason = Some(format!("not sent ({purpose}): {why}"));
            return false;
        }
        true
    }

    /// A request whose answer was lost: a change stops further changes
    /// (its state file keeps both candidates); a wrong old password counts.
    pub(crate) fn lost_answer(
        &mut self,
        step: usize,
        effect: &Effect,
        sent_current: &str,
        e: &TransportError,
    ) {
        // A transport error weighs as the case's tier: a failed
        // check (capped by the case's tier), not a run error.
        self.result.checks.push(checks::Check {
            step,
            tier: Tier::Seed,
            what: "the exchange completed".to_string(),
            expected: "a response".to_string(),
            observed: self.redactor.apply(&e.to_string()),
            outcome: checks::Outcome::Fail,
            weight: checks::Weight::Pass,
        });
        if matches!(effect, Effect::Change { .. }) {
            self.runner.active.poisoned = Some(format!(
                "a change got no answer ({e}); the state file keeps both candidates"
            ));
        }
        // A wrong old password whose answer was lost may have
        // counted: counted (the budget is an upper bound).
        let wrong_old = match &effect {
            Effect::Change { old, .. } => *old != sent_current,
            Effect::Harmless => true,
            Effect::None | Effect::Other { .. } | Effect::Candidate { .. } => false,
        };
        if wrong_old {
            self.runner.note_failure();
            self.runner.save_state();
        }
    }

    /// Applies the answer to the accounts: the new password, the
    /// candidates, the lockout budget, the last change.
    pub(crate) fn apply_answer(
        &mut self,
        step: usize,
        purpose: &str,
        effect: &Effect,
        sent_current: &str,
        response: &Response,
    ) {
        match &effect {
            Effect::None => {}
            Effect::Change { old, new } => {
                self.runner.active.pending = None;
                if response.status == 200 {
                    if *old == sent_current {
                        // The tracked password worked: nothing before this
                        // step changed it.
                        self.unverified = false;
                        self.candidates.clear();
                        self.runner.active.candidates.clear();
                    } else {
                        // An old password other than the tracked one
                        // worked: a refused change was stored (or the old
                        // password is not checked).
                        self.runner.stores_refused = true;
                    }
                    self.runner.apply_change(new);
                    let by = format!("step {step} of {} ({purpose})", self.result.id);
                    let id = self.result.id;
                    self.runner.active.last_change = Some((by, id, old.clone(), new.clone()));
                } else {
                    self.unverified = true;
                    self.candidates.push(new.clone());
                    // Recorded (it was `pending` while in flight): what the
                    // password is if the target stored it anyway.
                    let c = &mut self.runner.active.candidates;
                    if !c.contains(new) {
                        c.push(new.clone());
                    }
                }
                let wrong_old = is_error(response, "wrong_old_password");
                if !wrong_old && response.status == 400 && *old != sent_current {
                    // A wrong old password refused for another reason (a
                    // target that checks the policy or the history first)
                    // may still have counted: counted (an upper bound).
                    self.runner.note_failure();
                }
                if wrong_old {
                    self.runner.note_failure();
                    if *old == sent_current {
                        // Refused changes may have been stored.
                        self.runner.stores_refused = true;
                        self.runner.active.poisoned = Some(
                            "the tracked password was refused (wrong_old_password); changes of \
                             the active account stopped to avoid a lockout"
                                .to_string(),
                        );
                    }
                }
                self.runner.save_state();
            }
            Effect::Harmless => {
                self.unverified = true;
                if is_error(response, "wrong_old_password") {
                    self.runner.note_failure();
                    self.runner.save_state();
                }
            }
            Effect::Other { subject, new, .. } => {
                if let Some(o) = self.runner.other_mut(subject) {
                    o.pending = None;
                    if response.status == 200 {
                        let old = std::mem::replace(&mut o.current, new.clone());
                        o.previous.push(old);
                        // A known password confirmed: the refused changes
                        // before it did not take.
                        o.candidates.clear();
                    }
                }
                self.runner.save_state();
            }
            Effect::Candidate { subject, new, .. } => {
                if let Some(o) = self.runner.other_mut(subject) {
                    if response.status == 200 {
                        // Applied despite a wrong old password: it has `new`.
                        let old = std::mem::replace(&mut o.current, new.clone());
                        o.previous.push(old);
                        o.candidates.clear();
                    } else if is_error(response, "wrong_old_password") {
                        o.failures += 1;
                    }
                }
                self.runner.save_state();
            }
        }
    }
}
