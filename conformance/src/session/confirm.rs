//! The batched confirmation of effects: after cases whose requests the
//! target refused, one successful change shows the tracked password still
//! works; if it does not, the cases' candidate passwords are tried to find
//! which case changed it.

use crate::checks;
use crate::exchange::ExchangeRecord;
use crate::verdict::{self, CaseResult, Enforcement, Verdict};
use crate::vocabulary::Tier;

use super::account::{Effect, Housekeeping, Session};
use super::requests::{change, is_error};
use super::steps::CaseContext;

impl Session {
    /// Confirms, with one successful change, that the tracked password is
    /// unchanged after the unconfirmed cases. If it was changed, narrows
    /// down: tries each case's candidate passwords, newest first, within
    /// the lockout's room; the case whose candidate works changed it and
    /// fails at seed tier. A change that cannot be narrowed down makes
    /// every unconfirmed case an error (which one did it is not
    /// determined) and stops changes of the account.
    pub(crate) async fn confirm(&mut self, results: &mut [CaseResult]) -> Housekeeping {
        let batch = std::mem::take(&mut self.unconfirmed);
        let ids: Vec<&str> = batch.iter().map(|(i, _)| results[*i].id).collect();
        let enforcement = self.options.enforcement;
        // A change without a usable answer: resolved first.
        let resolved = self
            .resolve_during_run("before the confirmation")
            .await
            .map(|h| h.exchanges)
            .unwrap_or_default();
        if let Some(why) = self.ledger.active.poisoned.clone() {
            return Housekeeping {
                ok: false,
                outcome: format!("not confirmed after {}: {why}", ids.join(", ")),
                exchanges: resolved,
            };
        }
        let mut log = CaseContext::housekeeping(self);
        log.result.exchanges = resolved;
        for (_, candidates) in &batch {
            log.redact_candidates(candidates, "candidate");
        }
        let token = log.token_or_empty().await;
        let current = log.current();
        let new = log.fresh();
        let before = log.result.exchanges.len();
        let r = log
            .exchange(
                &format!(
                    "effects: the tracked password still works after {}",
                    ids.join(", ")
                ),
                change(Some(&token), &current, &new, None),
                Effect::Change {
                    old: current.clone(),
                    new: new.clone(),
                },
            )
            .await;
        // The id of the case whose 200 did not take, when the recheck
        // finds it so (its exchanges and check go to that case).
        let not_taken = match r {
            Some(r) if r.status == 200 => {
                let checks = log.result.checks.len();
                log.recheck_after_success().await;
                if log.result.checks.len() == checks {
                    return Housekeeping {
                        ok: true,
                        outcome: format!("unchanged after {}", ids.join(", ")),
                        exchanges: log.result.exchanges,
                    };
                }
                // The confirmation's own 200 did not set its new
                // password (S1): the batch's last case carries it.
                Some(log.result.id)
            }
            // The password before the last 200 still works: the batch
            // left it alone; that 200 did not take.
            Some(r) if is_error(&r, "wrong_old_password") => log.recheck_last_change().await,
            _ => {
                let sent = log.result.exchanges.len() > before;
                let exchanges = log.result.exchanges;
                // Its token refused after the run's change (open point
                // 10): said, rather than a bare "could not".
                let refused = log.runner.tokens.refused_static(&token);
                let outcome = match refused {
                    Some(crate::tokens::Stale::Static { subject, key }) => format!(
                        "not confirmed after {}: {key} was refused after this run changed the \
                         password of {subject} (open point 10): {}",
                        ids.join(", "),
                        if sent { "refused (401)" } else { "not sent" }
                    ),
                    _ => format!("could not confirm after {}", ids.join(", ")),
                };
                return Housekeeping {
                    ok: false,
                    outcome,
                    exchanges,
                };
            }
        };
        if let Some(id) = not_taken {
            let check = log.result.checks.pop();
            let exchanges = log.result.exchanges;
            return a_change_did_not_take(results, &batch, &ids, id, check, exchanges, enforcement);
        }
        // Changed: which case's new password is it?
        log.runner.ledger.stores_refused = true;
        let found = narrow_down(&mut log, &batch, results, &token).await;
        let exchanges = log.result.exchanges;
        blame(results, &batch, found, &ids, exchanges, enforcement)
    }
}

/// The password before the last 200 still works (found by the recheck
/// of case `id`): the batch left it alone and that 200 did not take. The
/// recheck's exchanges and check go to case `id` (or the batch's last).
fn a_change_did_not_take(
    results: &mut [CaseResult],
    batch: &[(usize, Vec<String>)],
    ids: &[&str],
    id: &str,
    check: Option<checks::Check>,
    exchanges: Vec<ExchangeRecord>,
    enforcement: Enforcement,
) -> Housekeeping {
    let last = batch.last().map(|(i, _)| *i);
    if let Some(i) = results.iter().rposition(|r| r.id == id).or(last) {
        let result = &mut results[i];
        let refused = result.exchanges.len() + 1;
        for x in &exchanges {
            let mut x = x.clone();
            x.step = result.exchanges.len() + 1;
            result.exchanges.push(x);
        }
        result.checks.extend(check.map(|mut c| {
            c.step = refused;
            c.observed = format!("found after {}: {}", ids.join(", "), c.observed);
            c
        }));
        verdict::judge(result, enforcement);
    }
    Housekeeping {
        ok: false,
        outcome: format!("unchanged after {}, but a 200 did not take", ids.join(", ")),
        exchanges,
    }
}

/// The verdicts once the password is known to have changed during the
/// batch: the case whose candidate worked (`found`), the batch's only
/// case, or, not narrowed down, every case of the batch an error.
fn blame(
    results: &mut [CaseResult],
    batch: &[(usize, Vec<String>)],
    found: Option<usize>,
    ids: &[&str],
    exchanges: Vec<ExchangeRecord>,
    enforcement: Enforcement,
) -> Housekeeping {
    match found {
        Some(index) => {
            let id = results[index].id;
            changed_by(
                &mut results[index],
                &exchanges,
                "the password was changed to a new password this case sent",
                enforcement,
            );
            Housekeeping {
                ok: false,
                outcome: format!("changed by {id}; the account was recovered"),
                exchanges,
            }
        }
        None if batch.len() == 1 => {
            // One case only: it changed the password, to something the
            // harness does not know.
            let index = batch[0].0;
            let id = results[index].id;
            changed_by(
                &mut results[index],
                &exchanges,
                "the password was changed (to a password the harness cannot tell)",
                enforcement,
            );
            Housekeeping {
                ok: false,
                outcome: format!(
                    "changed by {id}; the new password is unknown, the account is left alone"
                ),
                exchanges,
            }
        }
        None => {
            for (index, _) in batch {
                let result = &mut results[*index];
                result.verdict = Verdict::Error;
                result.reason = Some(format!(
                    "the tracked password changed during {}: not determined which case \
                     changed it (the lockout leaves no room to try more candidates)",
                    ids.join(", ")
                ));
            }
            Housekeeping {
                ok: false,
                outcome: format!(
                    "changed during {}; not narrowed down, the account is left alone",
                    ids.join(", ")
                ),
                exchanges,
            }
        }
    }
}

/// Narrows a changed password down: tries each case's candidate passwords,
/// newest first, within the lockout's room. Returns the index of the case
/// whose candidate works (the account is then recovered: its new password
/// is tracked).
async fn narrow_down(
    log: &mut CaseContext<'_>,
    batch: &[(usize, Vec<String>)],
    results: &[CaseResult],
    token: &str,
) -> Option<usize> {
    let mut found = None;
    'narrow: for (index, candidates) in batch.iter().rev() {
        for candidate in candidates.iter().rev() {
            if log.runner.ledger.active.budget.left() == Some(0) {
                break 'narrow;
            }
            let next = log.fresh();
            // Refused, it may be stored all the same: recorded first (and
            // not sent if it cannot be).
            let recorded = Effect::ActiveCandidate { new: next.clone() };
            if log.runner.ledger.before_change(&recorded).is_err() {
                break 'narrow;
            }
            let r = log
                .exchange(
                    &format!(
                        "effects: narrowing down: is it the new password of {}?",
                        results[*index].id
                    ),
                    change(Some(token), candidate, &next, None),
                    Effect::None,
                )
                .await;
            match r {
                Some(r) if r.status == 200 => {
                    found = Some(*index);
                    let a = &mut log.runner.ledger.active;
                    a.previous.push(a.current.clone());
                    a.previous.push(candidate.clone());
                    a.current = next;
                    a.poisoned = None;
                    a.candidates.clear();
                    log.runner.ledger.note_success();
                    log.runner.ledger.save();
                    break 'narrow;
                }
                Some(r) if is_error(&r, "wrong_old_password") => {
                    log.runner.ledger.note_failure();
                    log.runner.ledger.save();
                }
                _ => break 'narrow,
            }
        }
    }
    found
}

/// Fails `result` with the seed-tier effect check: its refused requests
/// changed the tracked password (`exchanges`: the confirmation and the
/// narrowing, appended to its record).
fn changed_by(
    result: &mut CaseResult,
    exchanges: &[ExchangeRecord],
    observed: &str,
    enforcement: Enforcement,
) {
    for x in exchanges {
        let mut x = x.clone();
        x.step = result.exchanges.len() + 1;
        result.exchanges.push(x);
    }
    result.checks.push(checks::Check {
        step: result.exchanges.len(),
        tier: Tier::Seed,
        what: checks::PASSWORD_UNCHANGED.to_string(),
        expected: "the tracked password still works after the refused requests".to_string(),
        observed: observed.to_string(),
        outcome: checks::Outcome::Fail,
        weight: checks::Weight::Pass,
    });
    if matches!(result.verdict, Verdict::Skip | Verdict::Error) {
        result.verdict = Verdict::Pass;
    }
    verdict::judge(result, enforcement);
}
