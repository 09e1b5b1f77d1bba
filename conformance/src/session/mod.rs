//! The session: what every case family and property shares to act on one
//! target. The run's context ([`Session`]: the profile, the token factory,
//! and the [`ledger`] of the active and the other accounts, their lockout
//! budgets and candidates, saved to the state file before every request
//! that may change a password),
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
//! - [`steps`]: `CaseContext`, one case in progress; its children record
//!   a request's effect in the ledger before it is sent and apply the
//!   answer (`steps::effects`), and resolve a change without an answer
//!   ([`steps::pending`]).
//! - [`confirm`]: the batched confirmation of effects.
//! - [`resume`]: resuming an interrupted run.
//! - [`others`]: setting the other accounts back.
//! - [`restore`]: restoring the active account at the end, then the others.

pub mod account;
pub mod confirm;
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
