//! Setting the other accounts back: the accounts other than the active one
//! that this run changed (or sent refused changes to) are resolved and set
//! back to their original password at the end, each through as many
//! generated passwords as the history needs.

use std::time::Duration;

use super::account::{Effect, Session};
use super::requests::{change, is_error};
use super::steps::CaseContext;
use super::steps::pending::confirms;
use crate::exchange::{BodyRecord, ExchangeRecord, Response};
use crate::state::AccountState;

impl Session {
    /// Sets every other account this run changed back to its original
    /// password (one change with its own token); names what each has when
    /// it cannot.
    pub(crate) async fn restore_others(&mut self) -> (bool, String, Vec<ExchangeRecord>) {
        let mut ok = true;
        let mut said = Vec::new();
        let others = self.ledger.others.clone();
        let mut log = CaseContext::housekeeping(self);
        for o in others {
            // Candidates are checked only when this run (or the run that
            // left the state file) saw the target store a refused change:
            // a conformant target's run sends nothing more.
            let check_candidates = !o.candidates.is_empty() && log.runner.ledger.stores_refused;
            if o.pending.is_none() && o.current == o.original && !check_candidates {
                if !o.candidates.is_empty() {
                    said.push(format!(
                        "{}: {} refused change(s) were sent to it and not checked (the active \
                         account's refused changes were not stored, so neither are taken to be)",
                        o.subject,
                        o.candidates.len()
                    ));
                    log.runner.ledger.upsert_other(AccountState {
                        candidates: Vec::new(),
                        answered: Vec::new(),
                        ..o.clone()
                    });
                }
                continue;
            }
            let (mut resolved, mut unconfirmed) = restore_one(&mut log, &o, check_candidates).await;
            // `lockable`, locked on purpose, refuses everything until its
            // lock lifts: waited for (the lock time is not declared: the
            // window's length is taken), a bounded number of times.
            let mut tries = 0;
            while !resolved && tries < LOCK_TRIES && answered_locked(&log, &o.subject) {
                let Some(wait) = log.runner.lockout_rule().window else {
                    break;
                };
                tries += 1;
                let line = format!(
                    "waited {} s for {}'s lock to lift ({tries} of at most {LOCK_TRIES}; the \
                     target answered that it is locked, and its lock time is not declared: \
                     window_secs taken)",
                    wait.as_secs(),
                    o.subject
                );
                // Said now too: with a long window the restore would
                // otherwise be silent for minutes.
                eprintln!(
                    "restore: {}",
                    crate::terminal::text(&line.replacen("waited", "waiting", 1))
                );
                said.push(line);
                tokio::time::sleep(wait).await;
                let now = log.runner.ledger.other(&o.subject).cloned();
                let now = now.unwrap_or_else(|| o.clone());
                (resolved, unconfirmed) = restore_one(&mut log, &now, check_candidates).await;
            }
            if resolved {
                // Its entry as the ledger has it now (failures counted on
                // the way kept), back at its original.
                let now = log.runner.ledger.other(&o.subject).cloned();
                log.runner.ledger.upsert_other(AccountState {
                    current: o.original.clone(),
                    pending: None,
                    candidates: Vec::new(),
                    answered: Vec::new(),
                    ..now.unwrap_or_else(|| o.clone())
                });
                said.push(format!("{} has its original password again", o.subject));
            } else {
                ok = false;
                let now = log
                    .runner
                    .ledger
                    .others
                    .iter()
                    .find(|x| x.subject == o.subject)
                    .cloned()
                    .unwrap_or_else(|| o.clone());
                if !now.candidates.is_empty() {
                    said.push(format!(
                        "{} has the `current` password or one of the {} `candidates` recorded \
                         for it in the state file (new passwords of refused changes, which this \
                         target may have stored): {}",
                        o.subject,
                        now.candidates.len(),
                        unconfirmed.unwrap_or_else(|| "they could not be tried".into())
                    ));
                    continue;
                }
                said.push(match &o.pending {
                    Some(_) => format!(
                        "{} has the `current` or the `pending` password recorded in the state file \
                         (a change to it got no usable answer)",
                        o.subject
                    ),
                    None => format!(
                        "{} has the `current` password recorded in the state file, not its original",
                        o.subject
                    ),
                });
            }
        }
        // The waits for an account's window, said.
        said.extend(
            log.result
                .notes
                .iter()
                .filter(|n| n.starts_with("waited"))
                .cloned(),
        );
        let exchanges = log.result.exchanges;
        if said.is_empty() {
            said.push("the other accounts kept their passwords".into());
        }
        (ok, said.join("; "), exchanges)
    }
}

/// How many times the restore waits for `lockable`'s lock to lift.
const LOCK_TRIES: u32 = 3;

/// Whether the last answer the restore got about `subject` says it is
/// locked, and `subject` is the profile's `lockable` account (locked on
/// purpose; the `locked` account stays locked).
fn answered_locked(log: &CaseContext<'_>, subject: &str) -> bool {
    let lockable = log.runner.profile.accounts.lockable.as_ref();
    lockable.is_some_and(|l| l.subject == subject)
        && log.result.exchanges.last().is_some_and(|x| {
            x.purpose.contains(subject)
                && x.response.as_ref().is_some_and(|r| {
                    matches!(&r.body, BodyRecord::Json(v) if v["error"] == "abnormal_user_status")
                })
        })
}

/// Resolves and sets back one other account (`o`, as the ledger has it):
/// whether it is at its original password now, and why its candidates
/// could not be confirmed (if they could not).
async fn restore_one(
    log: &mut CaseContext<'_>,
    o: &AccountState,
    check_candidates: bool,
) -> (bool, Option<String>) {
    let mut unconfirmed = None;
    let a = &log.runner.profile.accounts;
    let account = a.others().find(|a| a.subject == o.subject).cloned();
    let resolved = match account {
        Some(account) => {
            let label = format!("token:{}", o.subject);
            log.redactor
                .add(&o.current, &format!("password:{}-current", o.subject));
            // A `token_command` logs in with the password it has now.
            log.runner.tokens.set_password(&o.subject, &o.current);
            let mut o = o.clone();
            let mut token = log.token_for(&account, &label).await.ok();
            if let (Some(t), Some(pending)) = (token.clone(), o.pending.clone()) {
                log.redactor
                    .add(&pending, &format!("password:{}-pending", o.subject));
                match resolve_other(log, &t, &mut o).await {
                    Some(now) => {
                        if now != o.current {
                            o.previous.push(std::mem::replace(&mut o.current, now));
                            log.runner.tokens.set_password(&o.subject, &o.current);
                            token = log.token_for(&account, &label).await.ok();
                        }
                        o.pending = None;
                        log.runner.ledger.upsert_other(o.clone());
                        log.runner.ledger.save();
                    }
                    None => token = None,
                }
            }
            match token {
                Some(t) if check_candidates => match try_candidates(log, &t, &mut o).await {
                    Ok(()) if o.current == o.original => true,
                    Ok(()) => set_back(log, &t, &o).await,
                    Err(why) => {
                        unconfirmed = Some(why);
                        false
                    }
                },
                Some(_) if o.current == o.original => true,
                Some(t) => set_back(log, &t, &o).await,
                None => false,
            }
        }
        None => false,
    };
    (resolved, unconfirmed)
}

/// Changes another account back to its original password with its own
/// token. When the original is still in the target's history
/// (`recurrent_password`), first changes through fresh passwords until it
/// has left it (as many as [`cycles_needed`] says, one more on each
/// refusal, at most the declared depth, else 128, plus one), each recorded
/// in the state file before it is sent and resolved after
/// ([`change_other`]).
async fn set_back(log: &mut CaseContext<'_>, token: &str, o: &AccountState) -> bool {
    let depth = log.runner.profile.policy.depth();
    let most = depth.unwrap_or(128);
    let mut needed = cycles_needed(depth, &o.previous, &o.original);
    let mut current = o.current.clone();
    for cycled in 0..=most + 2 {
        if needed > 0 {
            let next = log.fresh();
            let purpose = format!(
                "restore: the original of {} is still in its history: a change to a generated \
                 password ({} of at most {})",
                o.subject,
                cycled + 1,
                most + 1
            );
            match change_other(log, token, &o.subject, &purpose, &current, &next).await {
                Some(Ok(())) => current = next,
                _ => return false,
            }
            needed -= 1;
            continue;
        }
        let purpose = format!("restore: set the original password of {}", o.subject);
        match change_other(log, token, &o.subject, &purpose, &current, &o.original).await {
            Some(Ok(())) => return true,
            Some(Err(r)) if is_error(&r, "recurrent_password") => needed = 1,
            _ => return false,
        }
    }
    false
}

/// Which of its recorded passwords another account (`o`) has, when
/// refused changes sent to it may have been stored (its `candidates`):
/// a change of `current` to itself first (`duplicate_password` confirms
/// it); if that is refused as wrong, each candidate, newest first, as the
/// old password of a change back to the original, while the account's
/// count stays two below its lockout threshold after the try (as the
/// active account's does).
/// `Ok` with `o` updated (candidates cleared, `current` confirmed or the
/// original set); `Err` with why not, the candidates kept.
async fn try_candidates(
    log: &mut CaseContext<'_>,
    token: &str,
    o: &mut AccountState,
) -> Result<(), String> {
    log.redact_candidates(&o.candidates, &format!("{}-candidate", o.subject));
    let includes_current = log.runner.profile.policy.history_includes_current;
    let confirmed = |log: &mut CaseContext<'_>, o: &mut AccountState| {
        o.candidates.clear();
        o.answered.clear();
        log.runner.ledger.upsert_other(o.clone());
        log.runner.ledger.save();
    };
    let current = o.current.clone();
    let r = log
        .probe(
            &format!(
                "restore: {}: does the recorded password still work?",
                o.subject
            ),
            change(Some(token), &current, &current, None),
        )
        .await
        .ok_or("the recorded password could not be tried")?;
    if confirms(&r, includes_current) {
        confirmed(log, o);
        return Ok(());
    }
    if !is_error(&r, "wrong_old_password") {
        return Err(format!(
            "the target answered {} to its recorded password (a status it checks before the \
             old password, as for a frozen or locked account): nothing can be confirmed",
            r.status
        ));
    }
    count_wrong(log, o);
    let max = log.runner.max_failures();
    for candidate in o.candidates.clone().iter().rev() {
        // Two below the threshold after the try, as for the active account.
        if !room_for_other(log, &o.subject, 2).await {
            return Err(format!(
                "its lockout budget ({} wrong old passwords) leaves no room to try the rest",
                max.unwrap_or_default()
            ));
        }
        let original = o.original.clone();
        log.runner.ledger.upsert_other(o.clone());
        let effect = Effect::Other {
            subject: o.subject.clone(),
            old: candidate.clone(),
            new: original.clone(),
        };
        if log.runner.ledger.before_change(&effect).is_err() {
            // Not recorded, so not sent.
            return Err("the state file cannot be written".into());
        }
        o.pending = Some(original.clone());
        let r = log
            .exchange(
                &format!(
                    "restore: {}: is it a refused change's new password? (set the original)",
                    o.subject
                ),
                change(Some(token), candidate, &original, None),
                Effect::None,
            )
            .await;
        o.pending = None;
        match r {
            Some(r) if r.status == 200 => {
                o.previous.push(candidate.clone());
                o.current = original;
                confirmed(log, o);
                return Ok(());
            }
            Some(r) if is_error(&r, "recurrent_password") => {
                o.previous
                    .push(std::mem::replace(&mut o.current, candidate.clone()));
                confirmed(log, o);
                return Ok(());
            }
            Some(r) if is_error(&r, "wrong_old_password") => count_wrong(log, o),
            _ => {
                log.runner.ledger.upsert_other(o.clone());
                log.runner.ledger.save();
                return Err("a candidate could not be tried".into());
            }
        }
    }
    Err("neither the recorded password nor any candidate works".into())
}

/// Which password another account (`o`) has when a change to its
/// `pending` one got no usable answer: asked with changes that change
/// nothing (the recorded password to itself, then the pending one to
/// itself), as [`Session::resolve_pending`] does for the active account.
async fn resolve_other(
    log: &mut CaseContext<'_>,
    token: &str,
    o: &mut AccountState,
) -> Option<String> {
    let pending = o.pending.clone()?;
    let includes_current = log.runner.profile.policy.history_includes_current;
    let current = o.current.clone();
    for (candidate, question) in [
        (&current, "does the recorded password still work?"),
        (&pending, "was the change without an answer applied?"),
    ] {
        if *candidate == pending && !room_for_other(log, &o.subject, 1).await {
            // The recorded password was refused: the pending one would be
            // a wrong old password past the account's spare (its window
            // waited for, where it has one).
            return None;
        }
        let r = log
            .probe(
                &format!("restore: {}: {question}", o.subject),
                change(Some(token), candidate, candidate, None),
            )
            .await?;
        if confirms(&r, includes_current) {
            return Some(candidate.clone());
        }
        if !is_error(&r, "wrong_old_password") {
            return None;
        }
        count_wrong(log, o);
    }
    None
}

/// One more wrong old password was sent to another account (`o`, as the
/// caller has it): counted in the ledger (saved), and in `o`.
fn count_wrong(log: &mut CaseContext<'_>, o: &mut AccountState) {
    log.runner.ledger.upsert_other(o.clone());
    log.runner.ledger.note_other_failure(&o.subject);
    o.failures = log.runner.ledger.other_failures(&o.subject);
}

/// Whether `subject` may be sent one more wrong old password, its count
/// staying `below` under its lockout threshold after it: now, or after
/// waiting for its window to forget older ones (at most the window and a
/// second; the wait is noted), as the active account's guard waits (the
/// wrong old passwords `user.lockout-after-failures` sent `lockable`
/// fill its window). `false`: not in this run.
async fn room_for_other(log: &mut CaseContext<'_>, subject: &str, below: u32) -> bool {
    let window = log.runner.lockout_rule().window.unwrap_or_default();
    match log.runner.ledger.other_wait(subject, below) {
        Some(wait) if wait.is_zero() => true,
        Some(wait) if wait <= window + Duration::from_secs(1) => {
            log.result.notes.push(format!(
                "waited {:.1} s for {subject}'s lockout window ({} s) to make room for a \
                 possibly wrong old password",
                wait.as_secs_f64(),
                window.as_secs()
            ));
            tokio::time::sleep(wait).await;
            log.runner.ledger.other_wait(subject, below) == Some(Duration::ZERO)
        }
        _ => false,
    }
}

/// Changes to fresh passwords needed before `original` can be set again
/// (the restore of the active account and of the others): until it is
/// older than the history `depth`, given the `previous` passwords known
/// (oldest first); unknown depth: none (try, and add one on refusal).
pub(crate) fn cycles_needed(depth: Option<usize>, previous: &[String], original: &str) -> usize {
    let position = previous
        .iter()
        .rev()
        .position(|p| p == original)
        .map(|i| i + 1);
    match (depth, position) {
        (Some(d), Some(p)) => (d + 1).saturating_sub(p),
        (Some(d), None) => d + 1,
        (None, _) => 0,
    }
}

/// One change of another account (`subject`) from `old` to `new`,
/// recorded in the ledger as pending before it is sent
/// ([`Ledger::before_change`](super::ledger::Ledger::before_change)) and
/// settled after: `Ok` when it was applied, `Err` with the refusal, `None`
/// when that cannot be told (it stays pending); a static token refused
/// after the run's change settles it as not applied (a 401 processed
/// nothing; once learned, nothing is sent). An answer lost on the way
/// (a connection cut, or the retry bound spent) is resolved by sending the
/// same change once more: a
/// 200 or a refusal other than `wrong_old_password` shows `old` still
/// worked; `wrong_old_password` shows the lost change was applied if `new`
/// then works (a change from `new` to itself answered
/// `duplicate_password`, which changes nothing). Sent again, `old` is a
/// wrong old password if the lost change was applied: the resend (and the
/// probe after it) is sent only while the account's count stays two below
/// its lockout threshold after it, and each `wrong_old_password` counts.
async fn change_other(
    log: &mut CaseContext<'_>,
    token: &str,
    subject: &str,
    purpose: &str,
    old: &str,
    new: &str,
) -> Option<Result<(), Response>> {
    let effect = Effect::Other {
        subject: subject.to_string(),
        old: old.to_string(),
        new: new.to_string(),
    };
    if log.runner.ledger.before_change(&effect).is_err() {
        // Not recorded, so not sent.
        return None;
    }
    let mut r = log
        .exchange(purpose, change(Some(token), old, new, None), Effect::None)
        .await;
    if r.is_none() {
        let Some(because) = log.resend_because() else {
            if log.runner.tokens.refused_static(token).is_some() {
                // Its static token refused after the run's change (401:
                // nothing processed), or not sent for it: not applied.
                log.runner.ledger.settle_other(subject, None);
            }
            return None;
        };
        if !room_for_other(log, subject, 2).await {
            return None;
        }
        let again = format!("{purpose} (again: {because})");
        r = log
            .exchange(&again, change(Some(token), old, new, None), Effect::None)
            .await;
        if r.as_ref()
            .is_some_and(|r| is_error(r, "wrong_old_password"))
        {
            log.runner.ledger.note_other_failure(subject);
            if !room_for_other(log, subject, 2).await {
                return None;
            }
            let probe = log
                .exchange(
                    &format!("{purpose}: was the lost change applied?"),
                    change(Some(token), new, new, None),
                    Effect::None,
                )
                .await;
            if probe
                .as_ref()
                .is_some_and(|p| is_error(p, "duplicate_password"))
            {
                log.runner.ledger.settle_other(subject, Some(new));
                return Some(Ok(()));
            }
            if probe
                .as_ref()
                .is_some_and(|p| is_error(p, "wrong_old_password"))
            {
                log.runner.ledger.note_other_failure(subject);
            }
            return None;
        }
    }
    let r = r?;
    let applied = r.status == 200;
    log.runner
        .ledger
        .settle_other(subject, applied.then_some(new));
    Some(if applied { Ok(()) } else { Err(r) })
}

#[cfg(test)]
mod tests {
    use super::cycles_needed;

    /// Another account's change whose static token the target refused
    /// after the run's change (open point 10): not sent again as if its
    /// answer had been lost, and not left pending (a 401 processed
    /// nothing).
    #[tokio::test]
    async fn a_change_of_another_account_refused_for_its_static_token_is_settled() {
        use super::super::steps::CaseContext;
        use super::super::steps::revoked::tests::{REFUSED, session, target};
        let (url, count) = target(REFUSED).await;
        let dir = tempfile::tempdir().unwrap();
        let mut session = session(url, dir.path());
        // bob's static token, and the run changed bob's password.
        session.profile.accounts.lockable.as_mut().unwrap().token = Some("static-bob".into());
        session.tokens = crate::tokens::TokenFactory::new(&session.profile).unwrap();
        session.tokens.set_password("bob", "Changed-Passw0rd-2");
        let mut log = CaseContext::housekeeping(&mut session);
        let r = super::change_other(&mut log, "static-bob", "bob", "a change", "o", "n").await;
        assert!(r.is_none());
        let sent = count.load(std::sync::atomic::Ordering::SeqCst);
        let notes = log.result.notes.clone();
        assert_eq!(sent, 1, "{notes:?}");
        assert!(notes.iter().all(|n| !n.contains("again")), "{notes:?}");
        let bob = session.ledger.others.iter().find(|o| o.subject == "bob");
        assert_eq!(bob.unwrap().pending, None);
    }

    #[test]
    fn cycles_take_the_original_out_of_the_history() {
        let previous: Vec<String> = ["orig", "a", "b"].iter().map(|s| s.to_string()).collect();
        // Depth 5, the original third from the end: 6 - 3 = 3 more.
        assert_eq!(cycles_needed(Some(5), &previous, "orig"), 3);
        // Already older than the depth: none.
        assert_eq!(cycles_needed(Some(2), &previous, "orig"), 0);
        // Not among the known: the whole depth and one.
        assert_eq!(cycles_needed(Some(5), &previous, "other"), 6);
        // Unknown depth: try first.
        assert_eq!(cycles_needed(None, &previous, "orig"), 0);
    }
}
