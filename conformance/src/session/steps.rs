//! One case in progress (`CaseContext`): the steps every case family shares
//! (fresh and wrong passwords, tokens, one checked exchange per step, its
//! effect on the accounts, the lockout guard, the recheck of a 200 that
//! did not take).
//!
//! Its children: `effects` (a request's effect recorded in the ledger
//! before it is sent, applied from its answer), [`pending`] (resolving
//! a change without a usable answer before the account is touched again),
//! `revoked` (a token refused right after the run's own change: taken
//! again and the request sent once more, open point 10) and [`recheck`]
//! (a refused tracked password after a 200).
//!
//! If the tracked password is ever refused the session stops touching the
//! account, unless the password before the last 200, or what the target
//! stored instead of its new password, works (that 200 did not set it: a
//! seed-tier failure, S1, and the run goes on from the password found).

use std::sync::Arc;
use std::time::Instant;

use crate::budget::NextWrongAttempt;
use crate::checks;
use crate::exchange::{self, ExchangeRecord, Request, Response};
use crate::forge::HarnessKey;
use crate::jwks::{self, KeysError, TargetKeys};
use crate::password;
use crate::profile::Account;
use crate::redact::Redactor;
use crate::renewal::Renewal;
use crate::verdict::{CaseResult, Verdict};
use crate::vocabulary::{Case, Expect, Plan, Property, Row, Spec, Tier};

use super::account::{Effect, Session, Stop};
use super::requests::{change, is_error};

mod effects;
pub(crate) mod pending;
pub(crate) mod recheck;
pub(crate) mod revoked;

/// One case in progress: the steps every case family shares (fresh and
/// wrong passwords, tokens, a checked exchange, effects, the lockout guard).
pub(crate) struct CaseContext<'r> {
    /// The runner: profile, token factory, active account.
    pub(crate) runner: &'r mut Session,
    /// The case's result so far (exchanges, checks, notes).
    pub(crate) result: CaseResult,
    /// Labels of every secret the case has seen.
    pub(crate) redactor: Redactor,
    pub(crate) fresh: usize,
    pub(crate) wrong: usize,
    /// A request with the active account's token was refused (or could
    /// not set a password) and no later step showed the password unchanged.
    pub(crate) unverified: bool,
    /// New passwords the refused requests sent: what the password is if
    /// the target set one of them anyway.
    pub(crate) candidates: Vec<String>,
    /// Whether the run's plan (`crate::plan`) gives this case's effect
    /// checks a wrong old password: trying a refused new password as old
    /// one ([`CaseContext::unchanged`]).
    pub(crate) refused_as_old: bool,
    /// Why the last [`CaseContext::exchange`] has no answer when sending
    /// the same request again may get one: its answer was lost, or the
    /// retry bound was spent. `None` otherwise (answered, or not sent: a
    /// token refused after the run's change, a token that cannot be made).
    resend_because: Option<&'static str>,
}

/// What follows an answer ([`CaseContext::follow_refusal`]).
enum Next {
    /// Judge it as it is.
    Judge,
    /// Send the request once more (its tokens taken again), with this
    /// purpose.
    Resend(String),
    /// The case stops: the verdict and reason are set.
    Stop,
}

/// The "case" of work outside the cases (resume, restore, confirmation):
/// only its exchange list and labels are used.
static HOUSEKEEPING: Case = Case {
    id: "the runner's housekeeping",
    tier: Tier::Seed,
    title: "the runner's housekeeping",
    spec: Spec::Row(Row::S1),
    decision: None,
    plan: Plan::Property(Property::AccountModel),
};

impl<'r> CaseContext<'r> {
    pub(crate) fn new(runner: &'r mut Session, case: &'static Case) -> CaseContext<'r> {
        let redactor = CaseContext::labels(runner);
        CaseContext {
            runner,
            result: CaseResult::new(case),
            redactor,
            fresh: 0,
            wrong: 0,
            unverified: false,
            candidates: Vec::new(),
            refused_as_old: true,
            resend_because: None,
        }
    }

    /// A context for work outside the cases (resume, restore): only its
    /// exchange list and labels are used.
    pub(crate) fn housekeeping(runner: &'r mut Session) -> CaseContext<'r> {
        let mut ctx = CaseContext::new(runner, &HOUSEKEEPING);
        ctx.result.id = "the runner's housekeeping";
        ctx
    }

    /// Why the last [`CaseContext::exchange`] may get an answer if sent
    /// again (its answer lost, the retry bound spent); `None` when it was
    /// answered or not sent (a token refused after the run's change, a
    /// token that cannot be made).
    pub(crate) fn resend_because(&self) -> Option<&'static str> {
        self.resend_because
    }

    /// A request that changes nothing (a change of a password to itself),
    /// sent once more if its answer is lost (or the retry bound was spent):
    /// re-sending it is safe. Not when its token was refused after the
    /// run's change or could not be made: sent again, it would be too.
    pub(crate) async fn probe(&mut self, purpose: &str, request: Request) -> Option<Response> {
        if let Some(r) = self.exchange(purpose, request.clone(), Effect::None).await {
            return Some(r);
        }
        let because = self.resend_because?;
        let again = format!("{purpose} (again: {because})");
        self.exchange(&again, request, Effect::None).await
    }

    /// Whether one more wrong old password fits the lockout budget now,
    /// after waiting for the window if the target counts within one (the
    /// password being unknown, no success can reset a count in a row).
    pub(crate) async fn room_for_one_more(&mut self) -> bool {
        match self.runner.ledger.active.budget.next_wrong_attempt() {
            NextWrongAttempt::Now => true,
            NextWrongAttempt::After(wait) => {
                self.result.notes.push(format!(
                    "waited {:.1} s for the lockout window to make room for a probe",
                    wait.as_secs_f64()
                ));
                tokio::time::sleep(wait).await;
                self.runner.ledger.active.budget.next_wrong_attempt() == NextWrongAttempt::Now
            }
            NextWrongAttempt::AfterSuccess | NextWrongAttempt::Never => false,
        }
    }

    /// Labels of the passwords known when the case starts.
    pub(crate) fn labels(runner: &Session) -> Redactor {
        let mut r = runner.profile_secrets.clone();
        let a = &runner.ledger.active;
        if a.current == a.original {
            r.add(&a.current, "password:original");
        } else {
            r.add(&a.current, "password:current");
            r.add(&a.original, "password:original");
        }
        for (i, p) in a.previous.iter().rev().enumerate() {
            r.add(p, &format!("password:previous-{}", i + 1));
        }
        // The pool's accounts not in use, by subject.
        for o in &runner.ledger.idle {
            let subject = &o.account.subject;
            r.add(&o.current, &format!("password:{subject}-current"));
            r.add(&o.original, &format!("password:{subject}-original"));
        }
        r
    }

    pub(crate) fn fresh(&mut self) -> String {
        self.fresh += 1;
        let p = password::fresh(&self.runner.profile.policy);
        self.redactor
            .add(&p, &format!("password:new-{}", self.fresh));
        p
    }

    pub(crate) fn wrong(&mut self) -> String {
        self.wrong += 1;
        let p = password::wrong(&self.runner.profile.policy);
        self.redactor
            .add(&p, &format!("password:wrong-{}", self.wrong));
        p
    }

    pub(crate) fn current(&self) -> String {
        self.runner.ledger.active.current.clone()
    }

    /// Another account's password as the run knows it: the one it
    /// recorded after a change the target applied (labelled), else the
    /// profile's.
    pub(crate) fn password_of(&mut self, account: &Account) -> Option<String> {
        let recorded = self
            .runner
            .ledger
            .others
            .iter()
            .find(|o| o.subject == account.subject && o.current != o.original)
            .map(|o| o.current.clone());
        if let Some(p) = &recorded {
            self.redactor
                .add(p, &format!("password:{}-current", account.subject));
        }
        recorded.or_else(|| account.password.clone())
    }

    pub(crate) async fn token_for(
        &mut self,
        account: &Account,
        label: &str,
    ) -> Result<String, Stop> {
        let token = self.runner.tokens.standard(account).await?;
        self.redactor.add(&token, label);
        Ok(token)
    }

    pub(crate) async fn active_token(&mut self) -> Result<String, Stop> {
        let account = self.runner.ledger.active.account.clone();
        let label = format!("token:{}", account.subject);
        self.token_for(&account, &label).await
    }

    /// The target's public keys (looked up once per run); a skip naming
    /// the profile keys when there are none.
    pub(crate) async fn target_keys(&mut self) -> Result<TargetKeys, Stop> {
        if self.runner.target_keys.is_none() {
            let r = &self.runner;
            let keys = jwks::load(&r.profile, &r.endpoint, r.options.timeout).await;
            self.runner.target_keys = Some(keys);
        }
        match self.runner.target_keys.as_ref() {
            Some(Ok(keys)) => Ok(keys.clone()),
            Some(Err(KeysError::Failed(why))) => Err(Stop::Error(why.clone())),
            Some(Err(e)) => Err(Stop::Skip(e.to_string())),
            None => Err(Stop::Skip("no target keys".into())),
        }
    }

    /// The harness's own key (made once per run).
    pub(crate) fn harness_key(&mut self) -> Result<Arc<HarnessKey>, Stop> {
        let key = self
            .runner
            .harness_key
            .get_or_insert_with(|| HarnessKey::generate().map(Arc::new));
        key.clone().map_err(Stop::Error)
    }

    /// Redacts recorded candidate passwords as `<password:{label}-N>`.
    pub(crate) fn redact_candidates(&mut self, candidates: &[String], label: &str) {
        for (i, c) in candidates.iter().enumerate() {
            self.redactor.add(c, &format!("password:{label}-{}", i + 1));
        }
    }

    pub(crate) async fn token_or_empty(&mut self) -> String {
        self.active_token().await.unwrap_or_default()
    }

    /// Sends one request, records it, and updates the account state. A
    /// refusal of a token the run's own change may have revoked is
    /// followed first ([`CaseContext::follow_refusal`]): the token taken
    /// again, the request sent once more, and that answer judged.
    pub(crate) async fn exchange(
        &mut self,
        purpose: &str,
        mut request: Request,
        effect: Effect,
    ) -> Option<Response> {
        self.resend_because = None;
        if self.refused_before_send(purpose, &request) {
            return None;
        }
        let sent_current = self.current();
        let (mut step, mut response, mut token_error) = self
            .send_recorded(purpose, &mut request, &effect, &sent_current)
            .await?;
        if token_error.is_none() {
            match self
                .follow_refusal(purpose, step, &mut request, &response)
                .await
            {
                Next::Judge => {}
                Next::Resend(again) => {
                    // A 401 is the token's refusal: the target processed
                    // nothing of the request (the token is checked before
                    // the body), so a change was not applied and the
                    // resend is the same change, recorded again before it
                    // goes out.
                    (step, response, token_error) = self
                        .send_recorded(&again, &mut request, &effect, &sent_current)
                        .await?;
                    self.after_resend(step, &response);
                }
                Next::Stop => {
                    self.apply_answer(step, purpose, &effect, &sent_current, &response);
                    return None;
                }
            }
        }
        self.apply_answer(step, purpose, &effect, &sent_current, &response);
        if let Some(why) = token_error {
            return self.token_error(why);
        }
        Some(response)
    }

    /// Sends one request and records it, the change it may make recorded
    /// in the state file first: its step, the answer, and why a token
    /// could not be taken again after a wait in the client. `None` when
    /// there is no answer to judge (not sent, lost, the retry bound spent);
    /// the answer is not applied to the accounts yet.
    async fn send_recorded(
        &mut self,
        purpose: &str,
        request: &mut Request,
        effect: &Effect,
        sent_current: &str,
    ) -> Option<(usize, Response, Option<String>)> {
        // The token is taken after every wait: here, after the lockout
        // guard's, and in the client after pacing and Retry-After.
        let timeout = self.runner.options.timeout;
        let mut renewal = Renewal::new(&mut self.runner.tokens, timeout);
        let taken = renewal.take_again(request).await;
        let renewed = renewal.renewed;
        self.label_renewed(renewed);
        if let Err(why) = taken {
            let _ = self.token_error(why);
            return None;
        }
        if matches!(effect, Effect::Change { .. } | Effect::Harmless) {
            self.runner.ledger.active.change_sent = true;
        }
        if !self.record_before_send(purpose, effect) {
            return None;
        }
        // The client waits out 429s and 503s with Retry-After itself
        // (bounded by `[http] max_retries` / `max_retry_wait_secs`); the
        // record's purpose lists them. They are never judged.
        let started = Instant::now();
        let mut renewal = Renewal::new(&mut self.runner.tokens, timeout);
        let outcome =
            exchange::send_hooked(&self.runner.endpoint, request, timeout, &mut renewal).await;
        let (renewed, token_error) = (renewal.renewed, renewal.error);
        self.label_renewed(renewed);
        let step = self.result.exchanges.len() + 1;
        self.result.exchanges.push(ExchangeRecord::new(
            step,
            purpose,
            &self.runner.endpoint,
            request,
            &outcome,
            started,
            &self.redactor,
        ));
        if let Ok(r) = &outcome
            && r.retry_budget_exhausted
        {
            // A 429/503 the retry bound did not wait out determines
            // nothing: no verdict, and a change may or may not have been
            // applied: it stays pending (resolved before the restore).
            self.result.verdict = Verdict::Skip;
            self.result.reason = Some(format!(
                "not determined: step {step} got {} after the retry bound was spent ([http] \
                 max_retries, max_retry_wait_secs: the target was rate limiting or \
                 overloaded); rerun when it is not",
                r.status
            ));
            self.resend_because = Some("the retry bound was spent");
            if matches!(effect, Effect::Change { .. }) {
                self.runner.ledger.active.poisoned = Some(format!(
                    "a change got {} after the retry bound was spent: possibly applied; the \
                     state file keeps both candidates",
                    r.status
                ));
            }
            return None;
        }
        if let Ok(r) = &outcome
            && r.status >= 500
        {
            self.result.checks.push(checks::Check {
                step,
                tier: Tier::Seed,
                what: checks::NO_SERVER_ERROR.to_string(),
                expected: "no 5xx: the document's error table has none (a 503 with Retry-After \
                           is waited out and sent again)"
                    .to_string(),
                observed: format!("{}", r.status),
                outcome: checks::Outcome::Fail,
                weight: checks::Weight::Pass,
            });
        }
        match outcome {
            Ok(r) => Some((step, r, token_error)),
            Err(e) => {
                self.lost_answer(step, effect, sent_current, &e);
                self.resend_because = Some("the answer was lost");
                None
            }
        }
    }

    /// Tokens taken again carry the label of the ones they replace.
    fn label_renewed(&mut self, renewed: Vec<(String, String)>) {
        for (old, new) in renewed {
            // `label_of` gives the replacement, `<label>`.
            let label = self.redactor.label_of(&old).map(|l| {
                let l = l.strip_prefix('<').unwrap_or(l);
                l.strip_suffix('>').unwrap_or(l).to_string()
            });
            // A token nobody labelled before is still a secret: the
            // renewed one never reaches a record raw.
            let label = label.unwrap_or_else(|| "token:renewed".to_string());
            self.redactor.add(&new, &label);
        }
    }

    /// A token could not be made valid for the request (a static token
    /// expiring, a token command failing): a configuration error, the
    /// case's verdict, not a failure of the target.
    fn token_error(&mut self, why: String) -> Option<Response> {
        self.result.verdict = Verdict::Error;
        self.result.reason = Some(self.redactor.apply(&why));
        None
    }

    /// One step of a case: guards the lockout, sends, checks.
    pub(crate) async fn step(
        &mut self,
        purpose: &str,
        request: Request,
        effect: Effect,
        expect: Expect,
    ) -> Result<Response, Stop> {
        let tracked = self.sends_tracked(&effect);
        let response = self.send_step(purpose, request, effect).await?;
        self.check(&expect, &response);
        self.after_answer(tracked, &response).await;
        Ok(response)
    }

    /// A step without its checks: guards the lockout and sends.
    pub(crate) async fn send_step(
        &mut self,
        purpose: &str,
        request: Request,
        effect: Effect,
    ) -> Result<Response, Stop> {
        if let Some(signal) = crate::interrupt::requested() {
            return Err(Stop::Skip(format!(
                "interrupted by {}",
                crate::interrupt::name(signal)
            )));
        }
        if matches!(effect, Effect::Change { .. } | Effect::Harmless) {
            self.resolve_lost_answer().await;
        }
        if matches!(effect, Effect::Change { .. } | Effect::Harmless)
            && let Some(why) = &self.runner.ledger.active.poisoned
        {
            return Err(Stop::Skip(format!(
                "the active account is not usable: {why}"
            )));
        }
        if let Effect::Change { old, .. } = &effect
            && *old != self.current()
        {
            self.guard().await?;
        }
        if let Effect::Other { subject, .. } = &effect
            && self
                .runner
                .ledger
                .others
                .iter()
                .any(|o| o.subject == *subject && o.pending.is_some())
        {
            // Its password is one of two the state file holds: resolved
            // at the end, not overwritten by another change now.
            return Err(Stop::Skip(format!(
                "an earlier change of {subject} got no usable answer; it is resolved at the end"
            )));
        }
        self.exchange(purpose, request, effect)
            .await
            .ok_or(Stop::Abort)
    }

    /// A change got no answer (a connection cut mid-answer, a 429 past the
    /// retry bound): before the account is touched again, resolves it as
    /// a resumed run would ([`Session::resolve_pending`]); its exchanges
    /// join this case's record. If it cannot, the account stays untouched.
    pub(crate) async fn resolve_lost_answer(&mut self) {
        let Some(h) = self
            .runner
            .resolve_during_run("after a change without an answer")
            .await
        else {
            return;
        };
        for x in h.exchanges {
            let mut x = x;
            x.step = self.result.exchanges.len() + 1;
            self.result.exchanges.push(x);
        }
        self.result.notes.push(format!(
            "an earlier change got no usable answer; resolving it: {}",
            h.outcome
        ));
    }

    /// [`CaseContext::step`] where the document allows several answers (open
    /// points): the expectation whose `error` the answer names is checked,
    /// else the first; a note says which one was taken.
    pub(crate) async fn step_one_of(
        &mut self,
        purpose: &str,
        request: Request,
        effect: Effect,
        expects: &[Expect],
    ) -> Result<Response, Stop> {
        let tracked = self.sends_tracked(&effect);
        let response = self.send_step(purpose, request, effect).await?;
        self.judge_one_of(expects, tracked, &response).await;
        Ok(response)
    }

    /// The checks of [`CaseContext::step_one_of`] on `response`, the
    /// answer to the last step (`tracked`: it sent the tracked password
    /// as the old one), for a caller that looked at the answer first.
    pub(crate) async fn judge_one_of(
        &mut self,
        expects: &[Expect],
        tracked: bool,
        response: &Response,
    ) {
        let first = expects[0];
        let step = self.result.exchanges.len();
        let chosen = expects
            .iter()
            .copied()
            .find(|e| matches!(e, Expect::JsonError { error, .. } if is_error(response, error)))
            .unwrap_or(first);
        if chosen != first {
            self.result.notes.push(format!(
                "step {step}: judged as {chosen:?}, an answer the document also allows here"
            ));
        }
        self.check(&chosen, response);
        self.after_answer(tracked, response).await;
    }

    /// Whether `effect` sends the tracked password as the old one.
    pub(crate) fn sends_tracked(&self, effect: &Effect) -> bool {
        matches!(effect, Effect::Change { old, .. } if *old == self.current())
    }

    /// After a step's checks: a refused tracked password is looked into
    /// ([`CaseContext::recheck_last_change`]), and so is a 200 from a
    /// target seen to store new passwords transformed
    /// ([`CaseContext::recheck_after_success`]).
    pub(crate) async fn after_answer(&mut self, tracked: bool, response: &Response) {
        if tracked && is_error(response, "wrong_old_password") {
            let _ = self.recheck_last_change().await;
        } else if response.status == 200 {
            self.recheck_after_success().await;
        }
    }

    pub(crate) fn check(&mut self, expect: &Expect, response: &Response) {
        let step = self.result.exchanges.len();
        for mut c in checks::evaluate(expect, response, &self.redactor) {
            c.step = step;
            self.result.checks.push(c);
        }
    }

    /// Makes room for one more wrong old password below the lockout
    /// threshold: at most `max_failures - 1 - SPARE` counted wrong
    /// attempts. In a row (a success resets): a successful change when
    /// needed. Within a window: waits until the oldest counted attempt
    /// leaves it. Never expiring (the strictest reading, or a window
    /// counting without `window_secs`): no room once spent: the step is
    /// skipped.
    pub(crate) async fn guard(&mut self) -> Result<(), Stop> {
        let rule = self.runner.lockout_rule();
        match self.runner.ledger.active.budget.next_wrong_attempt() {
            NextWrongAttempt::Now => Ok(()),
            NextWrongAttempt::Never if rule.allowance() == Some(0) => Err(Stop::Skip(format!(
                "lockout.max_failures = {} leaves no room for wrong passwords",
                rule.max_failures.unwrap_or_default()
            ))),
            NextWrongAttempt::Never => Err(Stop::Skip(format!(
                "the lockout budget is spent: {} wrong old passwords sent, at most {} \
                 under the rule ({}); declare [lockout] counting (and window_secs) to allow more",
                self.runner.ledger.failures(),
                rule.allowance().unwrap_or_default(),
                rule.describe()
            ))),
            NextWrongAttempt::After(wait) => {
                self.result.notes.push(format!(
                    "waited {:.1} s for the lockout window ({} s) to make room for a wrong \
                     password",
                    wait.as_secs_f64(),
                    rule.window.unwrap_or_default().as_secs()
                ));
                tokio::time::sleep(wait).await;
                match self.runner.ledger.active.budget.next_wrong_attempt() {
                    NextWrongAttempt::Now => Ok(()),
                    _ => Err(Stop::Skip("no room in the lockout window".into())),
                }
            }
            NextWrongAttempt::AfterSuccess => {
                let token = self.active_token().await?;
                let current = self.current();
                let new = self.fresh();
                let request = change(Some(&token), &current, &new, None);
                let response = self
                    .exchange(
                        "lockout guard: a successful change resets the failure count",
                        request,
                        Effect::Change {
                            old: current,
                            new: new.clone(),
                        },
                    )
                    .await
                    .ok_or(Stop::Abort)?;
                self.check(&Expect::Success, &response);
                if is_error(&response, "wrong_old_password") {
                    let _ = self.recheck_last_change().await;
                } else if response.status == 200 {
                    self.recheck_after_success().await;
                }
                if response.status == 200 {
                    Ok(())
                } else {
                    Err(Stop::Abort)
                }
            }
        }
    }

    /// A change of the active account with its valid token.
    pub(crate) async fn change_step(
        &mut self,
        purpose: &str,
        old: &str,
        new: &str,
        expect: Expect,
    ) -> Result<Response, Stop> {
        let token = self.active_token().await?;
        let request = change(Some(&token), old, new, None);
        self.step(
            purpose,
            request,
            Effect::Change {
                old: old.to_string(),
                new: new.to_string(),
            },
            expect,
        )
        .await
    }

    /// After a refused change: the refused new password does not work, the
    /// old one still does. Trying the refused password costs a wrong old
    /// password on a conformant target: when the run's plan gives this
    /// case none, or the lockout budget can never afford one more, only the
    /// tracked password is tried (a target that stored the refused change
    /// refuses it, which fails the case too).
    pub(crate) async fn unchanged(&mut self, refused: Option<String>) -> Result<(), Stop> {
        let affordable = self.refused_as_old
            && self.runner.ledger.active.budget.next_wrong_attempt() != NextWrongAttempt::Never;
        if let Some(refused) = &refused
            && *refused != self.current()
            && !affordable
        {
            let why = if self.refused_as_old {
                "the lockout budget is spent"
            } else {
                "the lockout budget's plan keeps its wrong old passwords for the seed rows"
            };
            self.result.notes.push(format!(
                "the refused new password was not tried as old password ({why}); the next step \
                 tries the tracked password: if it still works, the refused change was not stored"
            ));
        }
        if let Some(refused) = refused
            && refused != self.current()
            && affordable
        {
            let new = self.fresh();
            self.change_step(
                "effect: the refused new password does not work",
                &refused,
                &new,
                Expect::WRONG_OLD,
            )
            .await?;
        }
        let current = self.current();
        let new = self.fresh();
        self.change_step(
            "effect: the old password still works",
            &current,
            &new,
            Expect::Success,
        )
        .await?;
        Ok(())
    }

    /// Changes to fresh passwords until `k` previous passwords are known.
    pub(crate) async fn ensure_previous(&mut self, k: usize) -> Result<(), Stop> {
        while self.runner.ledger.active.previous.len() < k {
            let have = self.runner.ledger.active.previous.len();
            let current = self.current();
            let new = self.fresh();
            let r = self
                .change_step(
                    &format!(
                        "setup: a change to a generated password ({}/{k} previous passwords known)",
                        have + 1
                    ),
                    &current,
                    &new,
                    Expect::Success,
                )
                .await?;
            if r.status != 200 {
                return Err(Stop::Abort);
            }
        }
        Ok(())
    }
}
