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
        let pool: Vec<(usize, String)> = self
            .ledger
            .pool()
            .iter()
            .map(|a| (a.place, a.account.subject.clone()))
            .collect();
        let ours = |subject: &str| pool.iter().any(|(_, s)| s == subject);
        if recorded.endpoint != self.endpoint.endpoint_url()
            || !recorded.accounts.iter().any(|a| ours(&a.subject))
        {
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
        // The other accounts an interrupted run changed: set back at the end.
        self.ledger.others = recorded
            .accounts
            .iter()
            .filter(|a| !ours(&a.subject))
            .cloned()
            .collect();
        self.ledger.count_others_from_entries();
        // Whether the target was seen to store a refused change: as the
        // file records it; a file written before that was recorded: any
        // recorded candidate means "maybe" (checked at the end).
        self.ledger.without_password = recorded.without_password.clone();
        let inferred = recorded.accounts.iter().any(|a| !a.candidates.is_empty());
        self.ledger.stores_refused |= recorded.stores_refused.unwrap_or(inferred);
        // Each account of the pool the file records (an account it does
        // not record is at its original password).
        let mut pending = Vec::new();
        for (place, subject) in &pool {
            let Some(state) = recorded.account(subject).cloned() else {
                continue;
            };
            self.select(*place);
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
            if let Some(p) = state.pending {
                self.ledger.active.pending = Some(p);
                pending.push((*place, subject.clone()));
            } else if !self.ledger.active.transformed.is_empty() {
                pending.push((*place, subject.clone()));
            }
        }
        let resumed = self.resolve_resumed(&pending).await;
        self.select(0);
        Ok(Some(resumed))
    }

    /// Resolves the pending change of each account of the pool that has
    /// one (`(place, subject)`), or, without one, tries what the target
    /// may have stored after a 200 whose new password was refused
    /// (`transformed`), as one housekeeping record.
    async fn resolve_resumed(&mut self, pending: &[(usize, String)]) -> Housekeeping {
        if pending.is_empty() {
            return Housekeeping {
                ok: true,
                outcome: "resumed from the state file".to_string(),
                exchanges: Vec::new(),
            };
        }
        let named = self.ledger.pool_len() > 1;
        let mut all = Housekeeping {
            ok: true,
            outcome: String::new(),
            exchanges: Vec::new(),
        };
        let mut said = Vec::new();
        for (place, subject) in pending {
            self.select(*place);
            let h = if self.ledger.active.pending.is_some() {
                self.resolve_pending("resume").await
            } else {
                self.try_transformed().await
            };
            all.ok &= h.ok;
            for mut x in h.exchanges {
                x.step = all.exchanges.len() + 1;
                all.exchanges.push(x);
            }
            let outcome = if h.ok {
                format!("resumed; {}", h.outcome)
            } else {
                format!("resume failed: {}", h.outcome)
            };
            said.push(if named {
                format!("{subject}: {outcome}")
            } else {
                outcome
            });
        }
        all.outcome = said.join("; ");
        all
    }
}
