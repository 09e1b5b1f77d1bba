//! Resuming: an interrupted run's state file picked up into the ledger,
//! and its pending change resolved ([`super::steps::pending`]).

use super::account::{Housekeeping, RESUMED, RunError, Session};
use crate::state::{StateError, StateFile};

impl Session {
    /// Picks up an interrupted run's state file.
    pub(crate) async fn resume(&mut self) -> Result<Option<Housekeeping>, RunError> {
        let file = self.options.state_file.clone();
        let Some(recorded) = StateFile::load(&file).map_err(RunError::State)? else {
            return Ok(None);
        };
        let subject = self.ledger.active.account.subject.clone();
        let state = recorded.account(&subject).cloned();
        if recorded.endpoint != self.endpoint.endpoint_url() || state.is_none() {
            let subjects: Vec<&str> = recorded
                .accounts
                .iter()
                .map(|a| a.subject.as_str())
                .collect();
            return Err(RunError::State(StateError {
                kind: "state file",
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
        self.ledger.others = recorded
            .accounts
            .into_iter()
            .filter(|a| a.subject != subject)
            .collect();
        // Whether the target was seen to store a refused change: as the
        // file records it; a file written before that was recorded: any
        // recorded candidate means "maybe" (checked at the end).
        self.ledger.without_password = recorded.without_password.clone();
        let inferred = self.ledger.others.iter().any(|o| !o.candidates.is_empty())
            || !state.candidates.is_empty();
        self.ledger.stores_refused |= recorded.stores_refused.unwrap_or(inferred);
        if let Some(before) = state.before_last_change {
            self.ledger.active.last_change = Some((
                "the last change of the interrupted run".into(),
                RESUMED,
                before,
                state.current.clone(),
            ));
        }
        self.ledger.active.original = state.original;
        self.ledger.active.current = state.current;
        self.ledger.active.previous = state.previous;
        self.ledger.active.candidates = state.candidates;
        // What the target may have stored after a 200 the interrupted
        // run saw not take: tried before the account is used again.
        self.ledger.active.transformed = state.transformed;
        self.ledger.active.budget.set(state.failures);
        self.track_password();
        let Some(pending) = state.pending else {
            if !self.ledger.active.transformed.is_empty() {
                // A 200 whose new password was refused: what did the
                // target store? Tried before anything else is sent.
                let h = self.try_transformed().await;
                return Ok(Some(Housekeeping {
                    outcome: if h.ok {
                        format!("resumed; {}", h.outcome)
                    } else {
                        format!("resume failed: {}", h.outcome)
                    },
                    ..h
                }));
            }
            return Ok(Some(Housekeeping {
                ok: true,
                outcome: "resumed from the state file".to_string(),
                exchanges: Vec::new(),
            }));
        };
        self.ledger.active.pending = Some(pending);
        let mut h = self.resolve_pending("resume").await;
        h.outcome = if h.ok {
            format!("resumed; {}", h.outcome)
        } else {
            format!("resume failed: {}", h.outcome)
        };
        Ok(Some(h))
    }
}
