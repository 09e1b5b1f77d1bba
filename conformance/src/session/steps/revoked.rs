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
    /// would decide it. A failure its earlier steps already showed stands
    /// (those answers came before the refusal): the case keeps it, and a
    /// note says the steps after were not judged.
    fn static_refused(&mut self, subject: &str, key: &str) {
        let reason = Refusal::static_reason(subject, key);
        let enforcement = self.runner.options.enforcement;
        let failed = self.result.checks.iter().any(|c| {
            c.outcome == checks::Outcome::Fail
                && enforcement.weigh_failure(c.tier) == checks::Weight::Fail
        });
        if failed {
            self.result.notes.push(format!(
                "the steps after this case's failure were not judged: {reason}"
            ));
        } else {
            self.result.verdict = Verdict::Skip;
            self.result.reason = Some(reason);
        }
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
             again, so no further change could be sent with it; the password {subject} has now is recorded \
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

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::CaseContext;
    use crate::profile::Profile;
    use crate::session::requests::change;
    use crate::session::{RunOptions, Session};

    /// A 401 `invalid_token`, as a revoking target refuses a token.
    pub(crate) const REFUSED: &str = "HTTP/1.1 401 Unauthorized\r\n\
                                      WWW-Authenticate: Bearer error=\"invalid_token\"\r\n\
                                      Content-Length: 0\r\nConnection: close\r\n\r\n";

    /// A target that gives every request `answer` (nothing: the
    /// connection closed unanswered): its address, and how many requests
    /// it read.
    pub(crate) async fn target(answer: &'static str) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let n = s.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf).to_lowercase();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let len = text[..end]
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            if buf.len() >= end + 4 + len {
                                break;
                            }
                        }
                    }
                    seen.fetch_add(1, Ordering::SeqCst);
                    let _ = s.write_all(answer.as_bytes()).await;
                    let _ = s.shutdown().await;
                });
            }
        });
        (format!("http://{addr}"), count)
    }

    /// The reference profile at `base_url`, alice with a static token;
    /// no retry after a 503.
    pub(crate) fn session(base_url: String, dir: &std::path::Path) -> Session {
        let mut profile =
            Profile::load(std::path::Path::new(crate::embedded::REFERENCE_PROFILE)).unwrap();
        profile.base_url = base_url;
        profile.tokens.private_key = None;
        profile.accounts.active_mut().token = Some("static-alice".into());
        profile.http.max_retries = Some(0);
        let options = RunOptions {
            enforcement: crate::verdict::Enforcement {
                strict: false,
                reference: false,
            },
            show_secrets: false,
            state_file: dir.join("state.json"),
            timeout: std::time::Duration::from_secs(2),
        };
        let mut session = Session::new(&profile, &options).unwrap();
        // The run changed alice's password.
        session.tokens.set_password("alice", "Changed-Passw0rd-1");
        session
    }

    /// What `probe` sent against a target answering `answer`: the
    /// purposes recorded, and the requests the target read.
    async fn probed(answer: &'static str) -> (Vec<String>, usize, Vec<String>) {
        let (url, count) = target(answer).await;
        let dir = tempfile::tempdir().unwrap();
        let mut session = session(url, dir.path());
        let mut ctx = CaseContext::housekeeping(&mut session);
        let request = change(Some("static-alice"), "p", "p", None);
        assert!(ctx.probe("a probe", request).await.is_none());
        let purposes = ctx.result.exchanges.iter().map(|x| x.purpose.clone());
        let notes = ctx.result.notes.clone();
        (purposes.collect(), count.load(Ordering::SeqCst), notes)
    }

    #[tokio::test]
    async fn probe_resends_a_lost_answer_and_says_why_it_resends_or_not() {
        // Lost: sent once more, so labelled.
        let (purposes, sent, _) = probed("").await;
        assert_eq!(sent, 2, "{purposes:?}");
        assert!(
            purposes[1].starts_with("a probe (again: the answer was lost)"),
            "{purposes:?}"
        );
        // The retry bound spent: not lost, and said so.
        let busy = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
                    Content-Length: 0\r\nConnection: close\r\n\r\n";
        let (purposes, sent, _) = probed(busy).await;
        assert_eq!(sent, 2, "{purposes:?}");
        assert!(
            purposes[1].starts_with("a probe (again: the retry bound was spent)"),
            "{purposes:?}"
        );
        // Its static token refused after the run's change: not resent
        // (it would be refused again), and learned.
        let (purposes, sent, notes) = probed(REFUSED).await;
        assert_eq!(sent, 1, "{purposes:?} {notes:?}");
        assert_eq!(purposes, vec!["a probe".to_string()]);
        // Not even tried again (a resend would be noted "not sent").
        assert!(notes.iter().all(|n| !n.contains("again")), "{notes:?}");
    }
}
