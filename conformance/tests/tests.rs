//! The one integration-test binary: shared helpers compile once.

mod broken;
mod cases;
mod cli;
mod diff;
mod e2e;
mod fakes;
mod html_report;
mod init;
mod measured_power;
mod net;
mod profile_tokens;
mod properties;
mod property_fairness;
mod runner_state;
mod snapshots_dir;
mod support;
