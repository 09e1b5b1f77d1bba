//! Resuming, resolving and restoring: an interrupted run's state file
//! picked up, a change without a usable answer resolved (with changes
//! that change nothing), and the original passwords set back at the end,
//! the active account's and the other accounts' this run changed (each
//! through as many generated passwords as the history needs).

use super::{Ctx, Effect, Housekeeping, RESUMED, RunError, Runner, change, is_error};
use crate::exchange::{ExchangeRecord, Response};
use crate::state::{AccountState, State, StateError, StateFile};

/// Whether `r`, the answer to a change that changes nothing (a password to
/// itself), shows that the password works: 200, `duplicate_password`, or
/// `recurrent_password` where the profile's history counts the current
/// password; never an answer the retry budget gave up on.
fn confirms(r: &Response, includes_current: bool) -> bool {
    !r.retry_budget_exhausted
        && (r.status == 200
            || is_error(r, "duplicate_password")
            || (includes_current && is_error(r, "recurrent_password")))
}

impl Runner {
    /// Picks up an interrupted run's state file.
    pub(super) async fn resume(&mut self) -> Result<Option<Housekeeping>, RunError> {
        let file = self.options.state_file.clone();
        let Some(recorded) = StateFile::load(&file).map_err(RunError::State)? else {
            return Ok(None);
        };
        let subject = self.active.account.subject.clone();
        let state = recorded.account(&subject).cloned();
        if recorded.endpoint != self.endpoint.endpoint_url() || state.is_none() {
            let subjects: Vec<&str> = recorded
                .accounts
                .iter()
                .map(|a| a.subject.as_str())
                .collect();
            return Err(RunError::State(StateError {
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
        self.others = recorded
            .accounts
            .into_iter()
            .filter(|a| a.subject != subject)
            .collect();
        // Candidates recorded by the interrupted run are checked at the end.
        self.stores_refused |= self.others.iter().any(|o| !o.candidates.is_empty());
        if let Some(before) = state.before_last_change {
            self.active.last_change = Some((
                "the last change of the interrupted run".into(),
                RESUMED,
                before,
                state.current.clone(),
            ));
        }
        self.active.original = state.original;
        self.active.current = state.current;
        self.active.previous = state.previous;
        self.stores_refused |= !state.candidates.is_empty();
        self.active.candidates = state.candidates;
        self.active.budget.set(state.failures);
        self.track_password();
        let Some(pending) = state.pending else {
            return Ok(Some(Housekeeping {
                ok: true,
                outcome: "resumed from the state file".to_string(),
                exchanges: Vec::new(),
            }));
        };
        self.active.pending = Some(pending);
        let mut h = self.resolve_pending("resume").await;
        h.outcome = if h.ok {
            format!("resumed; {}", h.outcome)
        } else {
            format!("resume failed: {}", h.outcome)
        };
        Ok(Some(h))
    }

    /// [`Runner::resolve_pending`] during the run (before the next change,
    /// a confirmation, the next property): once per pending change, and
    /// only when a lost answer left the account unusable; `None` when there
    /// was nothing to try.
    pub(super) async fn resolve_during_run(&mut self, context: &str) -> Option<Housekeeping> {
        let pending = self.active.pending.clone()?;
        if self.active.poisoned.is_none() || self.active.tried.as_ref() == Some(&pending) {
            return None;
        }
        self.active.tried = Some(pending);
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
    pub(super) async fn resolve_pending(&mut self, context: &str) -> Housekeeping {
        let Some(pending) = self.active.pending.clone() else {
            return Housekeeping {
                ok: true,
                outcome: "nothing pending".into(),
                exchanges: Vec::new(),
            };
        };
        let includes_current = self.profile.policy.history_includes_current;
        let mut log = Ctx::housekeeping(self);
        let ok;
        let outcome: String;
        log.redactor.add(&pending, "password:pending");
        let token = log.token_or_empty().await;
        let current = log.runner.active.current.clone();
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
                log.runner.note_failure();
                let r = log
                    .probe(
                        &format!("{context}: was the interrupted change applied?"),
                        change(Some(&token), &pending, &pending, None),
                    )
                    .await;
                match r {
                    Some(r) if confirms(&r, includes_current) => {
                        let a = &mut log.runner.active;
                        a.previous
                            .push(std::mem::replace(&mut a.current, pending.clone()));
                        log.runner.note_success();
                        log.runner.track_password();
                        ok = true;
                        outcome = "the interrupted change had been applied".into();
                    }
                    Some(r) if is_error(&r, "wrong_old_password") => {
                        // Neither works: the file keeps the two candidates.
                        log.runner.note_failure();
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
                log.runner.note_failure();
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
            self.active.pending = None;
            self.active.poisoned = None;
        } else {
            self.active.poisoned = Some(outcome.clone());
        }
        self.save_state();
        Housekeeping {
            ok,
            outcome,
            exchanges,
        }
    }

    /// Restores the original password of the active account.
    pub(super) async fn restore(&mut self) -> Housekeeping {
        let mut h = self.restore_active().await;
        if self.others.is_empty() {
            return h;
        }
        let (ok, said, mut exchanges) = self.restore_others().await;
        h.exchanges.append(&mut exchanges);
        h.outcome = format!("{}; {said}", h.outcome);
        if !ok {
            h.ok = false;
        }
        if h.ok {
            let _ = State::remove(&self.options.state_file);
        } else {
            self.save_state();
        }
        h
    }

    /// Sets every other account this run changed back to its original
    /// password (one change with its own token); names what each has when
    /// it cannot.
    async fn restore_others(&mut self) -> (bool, String, Vec<ExchangeRecord>) {
        let mut ok = true;
        let mut said = Vec::new();
        let others = self.others.clone();
        let mut log = Ctx::housekeeping(self);
        for o in others {
            // Candidates are checked only when this run (or the run that
            // left the state file) saw the target store a refused change:
            // a conformant target's run sends nothing more.
            let check_candidates = !o.candidates.is_empty() && log.runner.stores_refused;
            if o.pending.is_none() && o.current == o.original && !check_candidates {
                if !o.candidates.is_empty() {
                    said.push(format!(
                        "{}: {} refused change(s) were sent to it and not checked (the active \
                         account's refused changes were not stored, so neither are taken to be)",
                        o.subject,
                        o.candidates.len()
                    ));
                    upsert_other(
                        &mut log.runner.others,
                        AccountState {
                            candidates: Vec::new(),
                            ..o.clone()
                        },
                    );
                }
                continue;
            }
            let mut unconfirmed = None;
            let a = &log.runner.profile.accounts;
            let account = [
                a.frozen.as_ref(),
                a.locked.as_ref(),
                a.frozen_and_locked.as_ref(),
                a.lockable.as_ref(),
                a.missing.as_ref(),
            ]
            .into_iter()
            .flatten()
            .find(|a| a.subject == o.subject)
            .cloned();
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
                        match resolve_other(&mut log, &t, &mut o).await {
                            Some(now) => {
                                if now != o.current {
                                    o.previous.push(std::mem::replace(&mut o.current, now));
                                    log.runner.tokens.set_password(&o.subject, &o.current);
                                    token = log.token_for(&account, &label).await.ok();
                                }
                                o.pending = None;
                                upsert_other(&mut log.runner.others, o.clone());
                                log.runner.save_state();
                            }
                            None => token = None,
                        }
                    }
                    match token {
                        Some(t) if check_candidates => {
                            match try_candidates(&mut log, &t, &mut o).await {
                                Ok(()) if o.current == o.original => true,
                                Ok(()) => set_back(&mut log, &t, &o).await,
                                Err(why) => {
                                    unconfirmed = Some(why);
                                    false
                                }
                            }
                        }
                        Some(_) if o.current == o.original => true,
                        Some(t) => set_back(&mut log, &t, &o).await,
                        None => false,
                    }
                }
                None => false,
            };
            if resolved {
                upsert_other(
                    &mut log.runner.others,
                    AccountState {
                        current: o.original.clone(),
                        pending: None,
                        candidates: Vec::new(),
                        ..o.clone()
                    },
                );
                said.push(format!("{} has its original password again", o.subject));
            } else {
                ok = false;
                let now = log
                    .runner
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
        let exchanges = log.result.exchanges;
        if said.is_empty() {
            said.push("the other accounts kept their passwords".into());
        }
        (ok, said.join("; "), exchanges)
    }

    /// The active account has its original password: the state file goes
    /// when no other account needs it; otherwise it is rewritten (the
    /// others' entries kept until [`Runner::restore`] has set them back).
    fn active_restored(&mut self) {
        if self.others.is_empty() {
            let _ = State::remove(&self.options.state_file);
        } else {
            self.save_state();
        }
    }

    /// Restores the active account (resolving a pending change first,
    /// and again when a change of the restore gets no usable answer).
    async fn restore_active(&mut self) -> Housekeeping {
        let mut exchanges = Vec::new();
        let mut last = None;
        let mut tried_candidates = false;
        for _ in 0..4 {
            let refused = self.active.poisoned.is_some() && self.active.pending.is_none();
            if refused
                && !tried_candidates
                && self.stores_refused
                && !self.active.candidates.is_empty()
            {
                // The recorded password was refused (during the run, or by
                // the restore's first change) and the target stores refused
                // changes: which of their new passwords is it?
                tried_candidates = true;
                let mut h = self.try_active_candidates().await;
                exchanges.append(&mut h.exchanges);
            }
            if self.active.pending.is_some() {
                // A change whose answer was not read: resolved first.
                let resolved = self.resolve_pending("before the restore").await;
                exchanges.extend(resolved.exchanges);
                if !resolved.ok {
                    return Housekeeping {
                        ok: false,
                        outcome: format!(
                            "the original password of {} was not restored: a change got no \
                             usable answer and {}; the recorded and pending passwords are in {}",
                            self.active.account.subject,
                            resolved.outcome,
                            self.options.state_file.display()
                        ),
                        exchanges,
                    };
                }
            }
            let mut rest = self.restore_original().await;
            exchanges.append(&mut rest.exchanges);
            let lost = !rest.ok && self.active.pending.is_some();
            let candidates_left = !rest.ok
                && !tried_candidates
                && self.stores_refused
                && self.active.poisoned.is_some()
                && !self.active.candidates.is_empty();
            last = Some(rest);
            if !lost && !candidates_left {
                break;
            }
        }
        let mut h = last.expect("the restore ran");
        h.exchanges = exchanges;
        h
    }

    /// The active account's recorded password was refused: tries the new
    /// passwords of its refused changes (`candidates`), newest first, each
    /// with a change to itself (`duplicate_password` confirms it, changing
    /// nothing), while the lockout budget has room (waiting for a window,
    /// never locking). The one that works becomes the tracked password.
    async fn try_active_candidates(&mut self) -> Housekeeping {
        let includes_current = self.profile.policy.history_includes_current;
        let candidates = self.active.candidates.clone();
        let mut log = Ctx::housekeeping(self);
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
                    let a = &mut log.runner.active;
                    a.previous
                        .push(std::mem::replace(&mut a.current, c.clone()));
                    a.poisoned = None;
                    a.candidates.clear();
                    log.runner.track_password();
                    log.runner.save_state();
                    outcome = "a refused change's new password works".into();
                    ok = true;
                    break;
                }
                Some(r) if is_error(&r, "wrong_old_password") => {
                    log.runner.note_failure();
                    log.runner.save_state();
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

    /// Changes to fresh passwords needed before the original can be set
    /// again: until it is older than the history depth; unknown depth:
    /// none (try, and add one on refusal).
    pub(super) fn cycles_needed(&self) -> usize {
        let a = &self.active;
        cycles_needed(self.profile.policy.depth(), &a.previous, &a.original)
    }

    /// Sets the original password back (no change pending).
    async fn restore_original(&mut self) -> Housekeeping {
        let done = |ok: bool, outcome: String, exchanges| Housekeeping {
            ok,
            outcome,
            exchanges,
        };
        let subject = self.active.account.subject.clone();
        if let Some(why) = self.active.poisoned.clone() {
            let candidates = match self.active.candidates.len() {
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
        if self.active.current == self.active.original && !self.active.candidates.is_empty() {
            // Refused changes were sent since the password was last
            // confirmed (a run stopped before its confirmation): a target
            // that stored one gave the account its new password. Checked
            // with a change that changes nothing before claiming anything.
            let includes_current = self.profile.policy.history_includes_current;
            let candidates = self.active.candidates.clone();
            let mut log = Ctx::housekeeping(self);
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
                    let a = &mut log.runner.active;
                    a.candidates.clear();
                    a.touched = true;
                    log.runner.save_state();
                    None
                }
                Some(r) if is_error(&r, "wrong_old_password") => {
                    log.runner.note_failure();
                    log.runner.stores_refused = true;
                    log.runner.active.poisoned = Some(
                        "the recorded (original) password was refused (wrong_old_password): the \
                         target may have stored a refused change"
                            .into(),
                    );
                    log.runner.save_state();
                    Some("the recorded (original) password was refused")
                }
                _ => Some("the recorded (original) password could not be checked"),
            };
            checked = log.result.exchanges;
            if let Some(why) = failed {
                let n = self.active.candidates.len();
                return done(
                    false,
                    format!(
                        "the original password of {subject} was not restored: {why}; it has the \
                         `current` password or one of the {n} `candidates` recorded in {} (new \
                         passwords of refused changes, which this target may have stored)",
                        self.options.state_file.display()
                    ),
                    checked,
                );
            }
        }
        if self.active.current == self.active.original {
            self.active_restored();
            // Said only when a successful change showed it; otherwise what
            // is known, and that it was not checked.
            let outcome = if self.active.touched {
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
        let mut log = Ctx::housekeeping(self);
        let mut changes = 0usize;
        let original = log.runner.active.original.clone();
        for _ in 0..=129 {
            while needed > 0 {
                let current = log.runner.active.current.clone();
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
                        && rechecks < 3
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
            let current = log.runner.active.current.clone();
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
                        && rechecks < 3
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

/// Changes another account back to its original password with its own
/// token. When the original is still in the target's history
/// (`recurrent_password`), first changes through fresh passwords until it
/// has left it (as many as [`cycles_needed`] says, one more on each
/// refusal, at most the declared depth, else 128, plus one), each recorded
/// in the state file before it is sent and resolved after
/// ([`change_other`]).
async fn set_back(log: &mut Ctx<'_>, token: &str, o: &AccountState) -> bool {
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
            match change_other(log, token, o, &purpose, &current, &next).await {
                Some(Ok(())) => current = next,
                _ => return false,
            }
            needed -= 1;
            continue;
        }
        let purpose = format!("restore: set the original password of {}", o.subject);
        match change_other(log, token, o, &purpose, &current, &o.original).await {
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
/// lockout budget leaves one wrong attempt to spare (never locking it).
/// `Ok` with `o` updated (candidates cleared, `current` confirmed or the
/// original set); `Err` with why not, the candidates kept.
async fn try_candidates(
    log: &mut Ctx<'_>,
    token: &str,
    o: &mut AccountState,
) -> Result<(), String> {
    log.redact_candidates(&o.candidates, &format!("{}-candidate", o.subject));
    let includes_current = log.runner.profile.policy.history_includes_current;
    let confirmed = |log: &mut Ctx<'_>, o: &mut AccountState| {
        o.candidates.clear();
        upsert_other(&mut log.runner.others, o.clone());
        log.runner.save_state();
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
    o.failures += 1;
    upsert_other(&mut log.runner.others, o.clone());
    log.runner.save_state();
    let max = log.runner.max_failures();
    for candidate in o.candidates.clone().iter().rev() {
        if max.is_some_and(|m| o.failures + 1 >= m) {
            return Err(format!(
                "its lockout budget ({} wrong old passwords) leaves no room to try the rest",
                max.unwrap_or_default()
            ));
        }
        let original = o.original.clone();
        o.pending = Some(original.clone());
        upsert_other(&mut log.runner.others, o.clone());
        log.runner.save_state();
        if !log.runner.state_saved() {
            // Not recorded, so not sent.
            o.pending = None;
            upsert_other(&mut log.runner.others, o.clone());
            return Err("the state file cannot be written".into());
        }
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
            Some(r) if is_error(&r, "wrong_old_password") => {
                o.failures += 1;
                upsert_other(&mut log.runner.others, o.clone());
                log.runner.save_state();
            }
            _ => {
                upsert_other(&mut log.runner.others, o.clone());
                log.runner.save_state();
                return Err("a candidate could not be tried".into());
            }
        }
    }
    Err("neither the recorded password nor any candidate works".into())
}

/// Which password another account (`o`) has when a change to its
/// `pending` one got no usable answer: asked with changes that change
/// nothing (the recorded password to itself, then the pending one to
/// itself), as [`Runner::resolve_pending`] does for the active account.
async fn resolve_other(log: &mut Ctx<'_>, token: &str, o: &mut AccountState) -> Option<String> {
    let pending = o.pending.clone()?;
    let max = log.runner.max_failures();
    let includes_current = log.runner.profile.policy.history_includes_current;
    let current = o.current.clone();
    for (candidate, question) in [
        (&current, "does the recorded password still work?"),
        (&pending, "was the change without an answer applied?"),
    ] {
        if *candidate == pending && max.is_some_and(|m| o.failures + 1 >= m) {
            // The recorded password was refused: the pending one would be
            // a wrong old password past the account's spare.
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
        o.failures += 1;
        upsert_other(&mut log.runner.others, o.clone());
        log.runner.save_state();
    }
    None
}

/// Changes to fresh passwords needed before `original` can be set again
/// (the restore of the active account and of the others): until it is
/// older than the history `depth`, given the `previous` passwords known
/// (oldest first); unknown depth: none (try, and add one on refusal).
fn cycles_needed(depth: Option<usize>, previous: &[String], original: &str) -> usize {
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

/// One change of another account (`o`) from `old` to `new`, recorded in
/// the state file as pending before it is sent and resolved after:
/// `Ok` when it was applied, `Err` with the refusal, `None` when that
/// cannot be told. An answer lost on the way (a connection cut) is
/// resolved by sending the same change once more: a 200 or a refusal other
/// than `wrong_old_password` shows `old` still worked; `wrong_old_password`
/// shows the lost change was applied if `new` then works (a change from
/// `new` to itself answered `duplicate_password`, which changes nothing).
async fn change_other(
    log: &mut Ctx<'_>,
    token: &str,
    o: &AccountState,
    purpose: &str,
    old: &str,
    new: &str,
) -> Option<Result<(), Response>> {
    let record = |current: &str, pending: Option<&str>| AccountState {
        current: current.to_string(),
        pending: pending.map(str::to_string),
        ..o.clone()
    };
    upsert_other(&mut log.runner.others, record(old, Some(new)));
    log.runner.save_state();
    if !log.runner.state_saved() {
        // Not recorded, so not sent.
        upsert_other(&mut log.runner.others, record(old, None));
        return None;
    }
    let mut r = log
        .exchange(purpose, change(Some(token), old, new, None), Effect::None)
        .await;
    if r.is_none() {
        let again = format!("{purpose} (again: the answer was lost)");
        r = log
            .exchange(&again, change(Some(token), old, new, None), Effect::None)
            .await;
        if r.as_ref()
            .is_some_and(|r| is_error(r, "wrong_old_password"))
        {
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
                upsert_other(&mut log.runner.others, record(new, None));
                log.runner.save_state();
                return Some(Ok(()));
            }
            return None;
        }
    }
    let r = r?;
    let now = if r.status == 200 { new } else { old };
    upsert_other(&mut log.runner.others, record(now, None));
    log.runner.save_state();
    Some(if r.status == 200 { Ok(()) } else { Err(r) })
}

/// Adds or replaces `entry` among the other accounts.
pub(super) fn upsert_other(others: &mut Vec<AccountState>, entry: AccountState) {
    match others.iter_mut().find(|o| o.subject == entry.subject) {
        Some(slot) => *slot = entry,
        None => others.push(entry),
    }
}

#[cfg(test)]
mod tests {
    use super::cycles_needed;

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
