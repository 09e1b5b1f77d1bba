//! The one integration-test binary: shared helpers compile once.

mod broken;
mod cases;
mod cli;
mod diff;
mod docs;
mod e2e;
mod fakes;
mod hostile_target;
mod html_report;
mod init;
mod interrupt;
mod lockout_budget;
mod measured_power;
mod net;
mod pending_changes;
mod profile_tokens;
mod properties;
mod property_fairness;
mod run_end;
mod runner_state;
mod schemathesis_vendor;
mod snapshots_dir;
mod support;
mod tenants;
mod unverified_rows;
