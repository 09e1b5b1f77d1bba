//! The effect of a request on the accounts (the ledger side of a step):
//! recorded in the ledger's state file before the request is sent
//! ([`Ledger::before_change`]: a change goes out recorded or not at all),
//! then applied from the answer, or counted against the lockout budget
//! when the answer is lost.
//!
//! [`Ledger::before_change`]: crate::session::ledger::Ledger::before_change

use crate::checks;
use crate::exchange::{Response, TransportError};
use crate::verdict::Verdict;
use crate::vocabulary::Tier;

use super::super::account::Effect;
use super::super::requests::is_error;
use super::CaseContext;

impl CaseContext<'_> {
    /// Records `effect` in the state file before its request is sent.
    /// `false`: the state file could not be written, so the request is not
    /// sent (the case is skipped with why).
    pub(crate) fn record_before_send(&mut self, purpose: &str, effect: &Effect) -> bool {
        match self.runner.ledger.before_change(effect) {
            Ok(()) => true,
            Err(why) => {
                self.result.verdict = Verdict::Skip;
                self.result.reason = Some(format!("not sent ({purpose}): {why}"));
                false
            }
        }
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
            self.runner.ledger.active.poisoned = Some(format!(
                "a change got no answer ({e}); the state file keeps both candidates"
            ));
        }
        // A wrong old password whose answer was lost may have
        // counted: counted (the budget is an upper bound).
        let wrong_old = match &effect {
            Effect::Change { old, .. } => *old != sent_current,
            Effect::Harmless => true,
            Effect::None
            | Effect::Other { .. }
            | Effect::Candidate { .. }
            | Effect::ActiveCandidate { .. }
            | Effect::WithoutPassword { .. } => false,
        };
        if wrong_old {
            self.runner.ledger.note_failure();
            self.runner.ledger.save();
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
            Effect::None | Effect::ActiveCandidate { .. } | Effect::WithoutPassword { .. } => {}
            Effect::Change { old, new } => {
                self.runner.ledger.active.pending = None;
                if response.status == 200 {
                    if *old == sent_current {
                        // The tracked password worked: nothing before this
                        // step changed it.
                        self.unverified = false;
                        self.candidates.clear();
                        self.runner.ledger.active.candidates.clear();
                    } else {
                        // An old password other than the tracked one
                        // worked: a refused change was stored (or the old
                        // password is not checked).
                        self.runner.ledger.stores_refused = true;
                    }
                    self.runner.apply_change(new);
                    let by = format!("step {step} of {} ({purpose})", self.result.id);
                    let id = self.result.id;
                    self.runner.ledger.active.last_change =
                        Some((by, id, old.clone(), new.clone()));
                } else {
                    self.unverified = true;
                    self.candidates.push(new.clone());
                    // Recorded (it was `pending` while in flight): what the
                    // password is if the target stored it anyway.
                    let c = &mut self.runner.ledger.active.candidates;
                    if !c.contains(new) {
                        c.push(new.clone());
                    }
                }
                let wrong_old = is_error(response, "wrong_old_password");
                if !wrong_old && response.status == 400 && *old != sent_current {
                    // A wrong old password refused for another reason (a
                    // target that checks the policy or the history first)
                    // may still have counted: counted (an upper bound).
                    self.runner.ledger.note_failure();
                }
                if wrong_old {
                    self.runner.ledger.note_failure();
                    if *old == sent_current {
                        // Refused changes may have been stored, unless a
                        // 200 of this run set the password: that 200 is
                        // looked into first (S1, the recheck, which says
                        // so if it finds no other explanation).
                        let a = &self.runner.ledger.active;
                        let by_a_200 = a
                            .last_change
                            .as_ref()
                            .is_some_and(|(_, _, before, set)| *set == a.current && before != set);
                        if !by_a_200 {
                            self.runner.ledger.stores_refused = true;
                        }
                        self.runner.ledger.active.poisoned = Some(
                            "the tracked password was refused (wrong_old_password); changes of \
                             the active account stopped to avoid a lockout"
                                .to_string(),
                        );
                    }
                }
                self.runner.ledger.save();
            }
            Effect::Harmless => {
                self.unverified = true;
                if is_error(response, "wrong_old_password") {
                    self.runner.ledger.note_failure();
                    self.runner.ledger.save();
                }
            }
            Effect::Other { subject, new, .. } => {
                if let Some(o) = self.runner.ledger.other_mut(subject) {
                    o.pending = None;
                    if response.status == 200 {
                        let old = std::mem::replace(&mut o.current, new.clone());
                        o.previous.push(old);
                        // A known password confirmed: the refused changes
                        // before it did not take.
                        o.candidates.clear();
                        o.answered.clear();
                    }
                }
                if response.status == 200 {
                    // A `token_command` logs in with it from now on.
                    self.runner.tokens.set_password(subject, new);
                }
                self.runner.ledger.save();
            }
            Effect::Candidate { subject, new, .. } => {
                if response.status == 200
                    && let Some(o) = self.runner.ledger.other_mut(subject)
                {
                    // Applied despite a wrong old password: it has `new`.
                    let old = std::mem::replace(&mut o.current, new.clone());
                    o.previous.push(old);
                    o.candidates.clear();
                    o.answered.clear();
                }
                if is_error(response, "wrong_old_password") {
                    self.runner.ledger.note_other_failure(subject);
                }
                if response.status != 200 {
                    self.runner.ledger.candidate_answered(subject, new);
                }
                if response.status == 200 {
                    self.runner.tokens.set_password(subject, new);
                }
                self.runner.ledger.save();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use crate::session::{RunOptions, Session};
    use crate::vocabulary::{Case, Plan, Property, Row, Spec};

    static CASE: Case = Case {
        id: "a test case",
        tier: Tier::Seed,
        title: "a test case",
        spec: Spec::Row(Row::S1),
        decision: None,
        plan: Plan::Property(Property::AccountModel),
    };

    /// The reference profile and run options with a state file in a
    /// fresh temporary directory (kept alive by the returned `TempDir`).
    fn reference_run() -> (tempfile::TempDir, Profile, RunOptions) {
        let dir = tempfile::tempdir().unwrap();
        let profile =
            Profile::load(std::path::Path::new(crate::embedded::REFERENCE_PROFILE)).unwrap();
        let options = RunOptions {
            enforcement: crate::verdict::Enforcement {
                strict: false,
                reference: false,
            },
            show_secrets: false,
            state_file: dir.path().join("state.json"),
            timeout: std::time::Duration::from_secs(1),
        };
        (dir, profile, options)
    }

    /// The token source learns another account's new password at the
    /// change the target applied, not only at the restore (the restore
    /// review's finding): a later `token_command` logs in with it.
    #[test]
    fn another_accounts_applied_change_reaches_the_token_source() {
        let (_dir, profile, options) = reference_run();
        let mut session = Session::new(&profile, &options).unwrap();
        let mut ctx = CaseContext::new(&mut session, &CASE);
        for (effect, new) in [
            (
                Effect::Other {
                    subject: "frank".into(),
                    old: "Frank-Passw0rd".into(),
                    new: "Frank-New-1x".into(),
                },
                "Frank-New-1x",
            ),
            (
                Effect::Candidate {
                    subject: "lucy".into(),
                    original: "Lucy-Passw0rd".into(),
                    known: "Lucy-Passw0rd".into(),
                    new: "Lucy-New-1x".into(),
                },
                "Lucy-New-1x",
            ),
        ] {
            assert!(ctx.record_before_send("a change", &effect));
            let current = ctx.current();
            let ok = Response::for_tests(200, &[], "");
            ctx.apply_answer(1, "a change", &effect, &current, &ok);
            let subject = match &effect {
                Effect::Other { subject, .. } | Effect::Candidate { subject, .. } => subject,
                _ => unreachable!(),
            };
            assert_eq!(ctx.runner.tokens.password_for(subject), Some(new));
        }
    }

    /// The state file records which of another account's candidates were
    /// answered (a refusal read), and whether the target was seen to store
    /// a refused change; a candidate whose answer was lost stays unanswered.
    #[test]
    fn answered_candidates_and_storing_are_recorded() {
        let (_dir, profile, options) = reference_run();
        let mut session = Session::new(&profile, &options).unwrap();
        let mut ctx = CaseContext::new(&mut session, &CASE);
        let candidate = |new: &str| Effect::Candidate {
            subject: "lucy".into(),
            original: "Lucy-Passw0rd".into(),
            known: "Lucy-Passw0rd".into(),
            new: new.into(),
        };
        let current = ctx.current();
        assert!(ctx.record_before_send("a change", &candidate("Lucy-1x")));
        let refused = Response::for_tests(
            400,
            &[("content-type", "application/json")],
            r#"{"error":"wrong_old_password"}"#,
        );
        ctx.apply_answer(1, "a change", &candidate("Lucy-1x"), &current, &refused);
        assert!(ctx.record_before_send("a change", &candidate("Lucy-2x")));
        let file = crate::state::StateFile::load(&options.state_file)
            .unwrap()
            .unwrap();
        let lucy = file.account("lucy").unwrap();
        assert_eq!(lucy.candidates, vec!["Lucy-1x", "Lucy-2x"]);
        assert_eq!(lucy.answered, vec!["Lucy-1x"]);
        assert_eq!(file.stores_refused, Some(false));
    }

    /// A refused change sent to an account without a password in the
    /// profile is recorded before it is sent (the restore review's
    /// finding: it was not recorded at all).
    #[test]
    fn a_change_of_an_account_without_a_password_is_recorded() {
        let (_dir, profile, options) = reference_run();
        let mut session = Session::new(&profile, &options).unwrap();
        let mut ctx = CaseContext::new(&mut session, &CASE);
        let effect = Effect::WithoutPassword {
            subject: "frank".into(),
            new: "Frank-New-1x".into(),
        };
        assert!(ctx.record_before_send("a change", &effect));
        let file = crate::state::StateFile::load(&options.state_file)
            .unwrap()
            .unwrap();
        assert_eq!(file.without_password.len(), 1);
        assert_eq!(file.without_password[0].subject, "frank");
        assert_eq!(file.without_password[0].candidates, vec!["Frank-New-1x"]);
        // Nothing is said of it unless the target was seen to store a
        // refused change.
        assert_eq!(ctx.runner.ledger.unsettled_without_password(), None);
        ctx.runner.ledger.stores_refused = true;
        let said = ctx.runner.ledger.unsettled_without_password().unwrap();
        assert!(
            said.contains("frank (no password in the profile)"),
            "{said}"
        );
    }
}
