//! A token refused right after the run's own change (open point 10): the
//! case's side of [`crate::revocation`]. The token taken again, the
//! request is sent once more and that answer is judged; a new token that
//! works is reported once per run at reference tier (the reference's
//! decision: a change revokes no token). A static token cannot be taken
//! again: the case is not determined, naming the profile keys that would
//! decide it; learned once, a later request with that token is not sent
//! and its case is not determined for the same reason.

use crate::checks;
use crate::exchange::{Request, Response};
use crate::revocation::{self, Refusal};
use crate::verdict::Verdict;
use crate::vocabulary::Tier;

use super::{CaseContext, HOUSEKEEPING, Next};

/// The `what` of the check a revoking target gets.
pub(crate) const NO_REVOCATION: &str = "a password change revokes no other token (open point 10)";

impl CaseContext<'_> {
    /// After the answer to step `step`: whether it refuses a token the
    /// run's own change may have revoked, and what follows.
    pub(super) async fn follow_refusal(
        &mut self,
        purpose: &str,
        step: usize,
        request: &mut Request,
        response: &Response,
    ) -> Next {
        match revocation::after_answer(&mut self.runner.tokens, request, response).await {
            Refusal::Judge => Next::Judge,
            Refusal::Resend { renewed, subjects } => {
                self.label_renewed(renewed);
                self.result.notes.push(format!(
                    "step {step}: the token of {} was refused (401 invalid_token) after this run \
                     changed its password; taken again, and the request sent once more (step {})",
                    subjects.join(", "),
                    step + 1
                ));
                Next::Resend(format!(
                    "{purpose} (again with a new token: the one before was refused after this \
                     run's change)"
                ))
            }
            Refusal::Static { subject, key } => {
                self.static_refused(&subject, &key);
                Next::Stop
            }
            Refusal::Failed(why) => {
                let _ = self.token_error(why);
                Next::Stop
            }
        }
    }

    /// Before `request` goes out: whether it carries a static token the
    /// target already refused after the run's change (learned once,
    /// [`revocation::before_send`]). Then it is not sent: the case is not
    /// determined for the same reason, and a note says so.
    pub(super) fn refused_before_send(&mut self, purpose: &str, request: &Request) -> bool {
        let Some(Refusal::Static { subject, key }) =
            revocation::before_send(&self.runner.tokens, request)
        else {
            return false;
        };
        self.result
            .notes
            .push(Refusal::not_sent(purpose, &subject, &key));
        self.static_refused(&subject, &key);
        true
    }

    /// A static token refused after the run's change (open point 10): the
    /// case is not determined, and the run ends with exit 2 naming what
    /// would decide it.
    fn static_refused(&mut self, subject: &str, key: &str) {
        self.result.verdict = Verdict::Skip;
        self.result.reason = Some(Refusal::static_reason(subject, key));
        self.runner
            .static_refused
            .get_or_insert_with(|| Refusal::exit_reason(subject, key));
    }

    /// After the answer to the resend (step `step`): a new token that
    /// works shows that the target revokes tokens issued before a change;
    /// one refused too is judged as it is (the change may have broken the
    /// account).
    pub(super) fn after_resend(&mut self, step: usize, response: &Response) {
        if revocation::refuses_token(response) {
            self.result.notes.push(format!(
                "step {step}: the new token was refused too: judged as it is"
            ));
            return;
        }
        // Said once per run, by a case (housekeeping keeps no checks).
        if self.result.id == HOUSEKEEPING.id || self.runner.revocation_reported {
            return;
        }
        self.runner.revocation_reported = true;
        self.result.checks.push(checks::Check {
            step,
            tier: Tier::Reference,
            what: NO_REVOCATION.to_string(),
            expected: "a token issued before a password change still accepted after it (the \
                       reference's decision; the document leaves it open)"
                .to_string(),
            observed: format!(
                "the target revokes tokens issued before a password change: the token was \
                 refused (401 invalid_token) right after this run's change, and a new one \
                 accepted (step {step}); said once per run"
            ),
            outcome: checks::Outcome::Fail,
            weight: checks::Weight::Pass,
        });
    }
}

impl crate::session::Session {
    /// The restore's side: when the active account's static token
    /// (`accounts.<name>.token`) was refused after the run's change, no
    /// change can be sent with it: why the original password was not
    /// restored, and exactly what sets it back. `None` otherwise.
    pub(crate) fn restore_needs_a_fresh_token(&self) -> Option<String> {
        let account = &self.ledger.active.account;
        let token = account.token.as_deref()?;
        let Some(crate::tokens::Stale::Static { key, .. }) = self.tokens.refused_static(token)
        else {
            return None;
        };
        let a = &self.ledger.active;
        let changes = match self.profile.policy.depth() {
            Some(_) if a.pending.is_none() => match self.cycles_needed() + 1 {
                1 => "1 change".to_string(),
                n => format!("{n} changes"),
            },
            _ => "at least one change".to_string(),
        };
        Some(format!(
            "the original password of {subject} was not restored: {key} was refused after this \
             run changed its password (open point 10) and a static token cannot be taken \
             again, so no change was sent with it; the password {subject} has now is recorded \
             in {state} (`current`{pending}). To set the original back, run `conformance \
             restore --profile <profile> --state {state}` with a profile that lets the suite \
             take tokens (tokens.private_key or tokens.token_command: all at once), or whose \
             {key} is a fresh token issued after the last change (a target that revokes \
             tokens on a change takes one change per token: {changes} to go; each `conformance \
             restore` makes what it can and records it)",
            subject = account.subject,
            state = self.options.state_file.display(),
            pending = if a.pending.is_some() {
                ", or `pending`: a change to it got no answer"
            } else {
                ""
            },
        ))
    }
}
