//! A token refused right after the run's own change (open point 10): the
//! case's side of [`crate::revocation`]. The token taken again, the
//! request is sent once more and that answer is judged; a new token that
//! works is reported once per run at reference tier (the reference's
//! decision: a change revokes no token). A static token cannot be taken
//! again: the case is not determined, naming the profile keys that would
//! decide it.

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
                self.result.verdict = Verdict::Skip;
                self.result.reason = Some(Refusal::static_reason(&subject, &key));
                self.runner.static_refused.get_or_insert_with(|| {
                    format!(
                        "{key} was refused after this run changed the password of {subject} \
                         (open point 10); a static token cannot be taken again: {}",
                        Refusal::remedy(&key)
                    )
                });
                Next::Stop
            }
            Refusal::Failed(why) => {
                let _ = self.token_error(why);
                Next::Stop
            }
        }
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
