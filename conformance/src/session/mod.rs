//! The session: what every case family and property shares to act on one
//! target. The run's state ([`Session`]: the profile, the token factory,
//! the active account and the other accounts, the lockout budget, the
//! state file written before every request that may change a password),
//! the steps of a case (`CaseContext`: fresh and wrong passwords, tokens, one
//! checked exchange per step, effects, the lockout guard), the batched
//! confirmation that refused requests changed nothing, and resuming and
//! restoring the accounts. It never imports the families or the runner.
//!
//! Layout, bottom up:
//! - [`requests`]: request builders and answer tests.
//! - [`ledger`]: the one record of every account the run may change:
//!   `ActiveAccount`, `Effect`, the save-before-send rule, candidates,
//!   budgets, the state file.
//! - [`account`]: [`Session`] (the run's context and its ledger), `Stop`,
//!   the run's options and errors.
//! - [`steps`]: `CaseContext`, one case in progress.
//! - [`effects`]: a request's effect recorded before it is sent, applied
//!   from its answer.
//! - [`confirm`]: the batched confirmation of effects.
//! - [`resume`]: resuming an interrupted run, resolving a change without
//!   an answer.
//! - [`others`]: setting the other accounts back.
//! - [`restore`]: restoring the active account at the end, then the others.

pub mod account;
pub mod confirm;
pub mod effects;
pub mod ledger;
pub mod others;
pub mod requests;
pub mod restore;
pub mod resume;
pub mod steps;

pub(crate) use account::{Effect, Stop};
pub use account::{Housekeeping, RunError, RunOptions, Session};
pub(crate) use requests::{change, header, is_error, object};
pub(crate) use steps::CaseContext;
