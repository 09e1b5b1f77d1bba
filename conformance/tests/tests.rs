//! The one integration-test binary: shared helpers compile once.

mod broken;
mod cases;
mod cli;
mod e2e;
mod html_report;
mod init;
mod interrupt;
mod lockout_budget;
mod net;
mod pending_changes;
mod profile_tokens;
mod properties;
mod run_end;
mod runner_state;
mod snapshots_dir;
mod support;
