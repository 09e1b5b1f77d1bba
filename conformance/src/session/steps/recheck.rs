//! "A 200 is a changed password" (S1), part of the steps layer: when the
//! tracked password, set by a 200 of this run, is refused, what does the
//! account have? The password before that 200 (the 200 did not take), or
//! the new password transformed as the target stored it (trimmed, case
//! folded, normalised, cut: [`crate::transformed`])? Either way the case
//! fails at seed tier (the suite is the only writer of its test accounts,
//! so nothing else changed the password); when one of them works the run
//! goes on from it, and the restore gets the original back.
//!
//! Each candidate is tried with a change of itself to itself, which
//! changes nothing (`duplicate_password` confirms it) and costs a wrong
//! old password only when it is wrong: within the lockout budget, never
//! locking. Every candidate is in the state file (`transformed`) before
//! the first is tried, and each one ruled out leaves it, so that a resumed
//! run and `conformance restore` try only the rest.

use super::super::account::Effect;
use super::super::requests::{change, is_error};
use super::CaseContext;
use super::pending::confirms;
use crate::checks;
use crate::transformed::{self, Candidate, UNCHANGED};
use crate::vocabulary::Tier;

/// What [`CaseContext::try_transformed`] found.
#[derive(Debug, Default)]
pub(crate) struct Tried {
    /// The candidate that works (now the tracked password).
    pub(crate) found: Option<Candidate>,
    /// The candidates answered `wrong_old_password`.
    pub(crate) ruled_out: Vec<Candidate>,
    /// Why the trying stopped before every candidate was tried.
    pub(crate) stopped: Option<String>,
}

impl CaseContext<'_> {
    /// The tracked password was just refused (wrong_old_password). If a
    /// 200 in this run set it, that 200 did not set it: tries what the
    /// account may have instead (the transformation this target was seen
    /// to apply first, then the password before the 200, then the usual
    /// transformations of the new password), within the lockout budget.
    /// The case fails at seed tier (S1) with a check naming what was
    /// found (never the password). Returns the case of that 200 when the
    /// account's password was found (the run goes on from it).
    pub(crate) async fn recheck_last_change(&mut self) -> Option<&'static str> {
        let refused = self.result.exchanges.len();
        let (by, id, before, set) = self.runner.ledger.active.last_change.clone()?;
        let a = &self.runner.ledger.active;
        if set != a.current || before == set || a.poisoned.is_none() {
            return None;
        }
        // Every candidate in the state file before the first is tried.
        if !self.runner.ledger.record_transformed() {
            return None;
        }
        let refused_since = self.runner.ledger.active.candidates.len();
        let tried = self.try_transformed().await;
        let before_too = if tried
            .ruled_out
            .iter()
            .any(|c| c.transformation == UNCHANGED)
        {
            " and the password before it does not work either"
        } else {
            ""
        };
        let (observed, found) = match &tried.found {
            Some(c) if c.transformation == UNCHANGED => (
                format!(
                    "{by} got 200, but its new password was refused (wrong_old_password) here \
                     and the password before it still works (a later step): that 200 did not \
                     take; the run goes on from the password that works"
                ),
                Some(id),
            ),
            Some(c) => {
                let stored = format!("the target stored P {}", c.transformation);
                self.result.notes.push(format!(
                    "{stored} (P: the new password of the 200 of {by}); the run goes on from it"
                ));
                (
                    format!(
                        "{by} got 200, but its new password P was refused (wrong_old_password) \
                         here{before_too}: {stored} (a later step: that password, changed to \
                         itself, is answered as the account's password); the run goes on from \
                         it"
                    ),
                    Some(id),
                )
            }
            None => {
                let left = &self.runner.ledger.active.transformed;
                let why = tried
                    .stopped
                    .clone()
                    .unwrap_or_else(|| "every candidate was tried".into());
                let or_refused = match refused_since {
                    0 => String::new(),
                    n => format!(
                        " (or one of the {n} refused changes sent since was stored: not \
                         determined which)"
                    ),
                };
                let observed = format!(
                    "{by} got 200, but its new password P was refused (wrong_old_password) \
                     here: the 200 did not set P{or_refused}; what the target stored is not \
                     determined: ruled out: {}; not tried: {} ({why})",
                    transformed::names(&tried.ruled_out),
                    transformed::names(left),
                );
                let remedy = if left.is_empty() {
                    format!(
                        "none of the usual transformations works: set the password of {} by \
                         hand and remove the state file",
                        self.runner.ledger.active.account.subject
                    )
                } else {
                    format!(
                        "the state file keeps the {} candidates not ruled out (`transformed`): \
                         `conformance restore` (or the next run) tries them once the lockout \
                         allows (a declared [lockout] window_secs passes, or a success resets \
                         a count in a row)",
                        left.len()
                    )
                };
                if refused_since > 0 {
                    // Not explained by the 200: a refused change may have
                    // been stored (its candidates are tried at the end).
                    self.runner.ledger.stores_refused = true;
                }
                let a = &mut self.runner.ledger.active;
                let was = a.poisoned.take().unwrap_or_default();
                a.poisoned = Some(format!(
                    "{was}; after the 200 of {by} neither its new password nor the usual \
                     transformations of it tried work: {remedy}"
                ));
                (observed, None)
            }
        };
        if found.is_some() {
            self.unverified = false;
            self.candidates.clear();
        }
        self.result.checks.push(checks::Check {
            step: refused,
            tier: Tier::Seed,
            what: checks::SUCCESS_TOOK_EFFECT.to_string(),
            expected: "S1: 200 OK means the password was changed to the new password sent"
                .to_string(),
            observed,
            outcome: checks::Outcome::Fail,
            weight: checks::Weight::Pass,
        });
        found
    }

    /// After a 200 to P from a target already seen, this run, to store a
    /// new password transformed: does P work? Asked at once, with a change
    /// of P to itself (it changes nothing), while that 200 has just reset
    /// a count in a row, so that a refusal leaves room to try what the
    /// target stored ([`CaseContext::recheck_last_change`], which fails
    /// the case at seed tier). Costs nothing on a target that stores P.
    pub(crate) async fn recheck_after_success(&mut self) {
        let a = &self.runner.ledger.active;
        let Some(seen) = self.runner.ledger.stores_as.clone() else {
            return;
        };
        let Some((_, _, _, set)) = a.last_change.clone() else {
            return;
        };
        if set != a.current || a.poisoned.is_some() {
            return;
        }
        let alike = transformed::ALL
            .iter()
            .find(|t| t.name == seen)
            .is_none_or(|t| t.apply(&set) == set);
        if alike || !self.room_for_one_more().await {
            return;
        }
        let Ok(token) = self.active_token().await else {
            return;
        };
        let r = self
            .probe(
                &format!(
                    "effect: this target was seen to store a new password {seen}: does the new \
                     password of the last 200 work?"
                ),
                change(Some(&token), &set, &set, None),
            )
            .await;
        if r.is_some_and(|r| is_error(&r, "wrong_old_password")) {
            self.runner.ledger.note_failure();
            self.runner.ledger.active.poisoned = Some(
                "the tracked password was refused (wrong_old_password); changes of the active \
                 account stopped to avoid a lockout"
                    .to_string(),
            );
            self.runner.ledger.save();
            let _ = self.recheck_last_change().await;
        }
    }

    /// Tries the active account's `transformed` candidates in order, each
    /// changed to itself (a change that changes nothing), while the
    /// lockout budget has room (waiting for a declared window, never
    /// locking). The one that works becomes the tracked password; each
    /// one answered `wrong_old_password` leaves the state file; the rest
    /// stay there.
    pub(crate) async fn try_transformed(&mut self) -> Tried {
        let mut tried = Tried::default();
        let all = self.runner.ledger.active.transformed.clone();
        for (i, c) in all.iter().enumerate() {
            self.redactor
                .add(&c.password, &format!("password:stored-{}", i + 1));
        }
        let includes_current = self.runner.profile.policy.history_includes_current;
        let token = match self.active_token().await {
            Ok(t) => t,
            Err(_) => {
                tried.stopped = Some("no token for the active account".into());
                return tried;
            }
        };
        for c in all {
            if !self.room_for_one_more().await {
                tried.stopped =
                    Some("the lockout budget leaves no room for another wrong old password".into());
                break;
            }
            let purpose = if c.transformation == UNCHANGED {
                "effect: the new password of the last 200 was refused: does the password \
                 before that 200 still work?"
                    .to_string()
            } else {
                format!(
                    "effect: the new password P of the last 200 was refused: did the target \
                     store P {}?",
                    c.transformation
                )
            };
            // Refused, it may be stored all the same (a target that
            // stores refused changes): recorded first, and not sent if it
            // cannot be.
            let recorded = Effect::ActiveCandidate {
                new: c.password.clone(),
            };
            if let Err(why) = self.runner.ledger.before_change(&recorded) {
                tried.stopped = Some(why);
                break;
            }
            let r = self
                .probe(
                    &purpose,
                    change(Some(&token), &c.password, &c.password, None),
                )
                .await;
            match r {
                Some(r) if confirms(&r, includes_current) => {
                    self.runner.ledger.found_transformed(&c);
                    self.runner.track_password();
                    tried.found = Some(c);
                    break;
                }
                Some(r) if is_error(&r, "wrong_old_password") => {
                    self.runner.ledger.note_failure();
                    let left = &mut self.runner.ledger.active.transformed;
                    left.retain(|l| *l != c);
                    self.runner.ledger.save();
                    tried.ruled_out.push(c);
                }
                Some(r) => {
                    // Another answer (a policy checked before the old
                    // password, …) tells nothing: it stays a candidate;
                    // counted, in case the old password was checked.
                    self.runner.ledger.note_failure();
                    self.runner.ledger.save();
                    tried.stopped = Some(format!(
                        "a candidate got {} instead of an answer about the old password",
                        r.status
                    ));
                }
                None => {
                    tried.stopped = Some("a candidate got no answer".into());
                    break;
                }
            }
        }
        tried
    }
}
