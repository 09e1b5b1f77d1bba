//! The one integration-test binary: shared helpers compile once.

mod broken;
mod cases;
mod cli;
mod e2e;
mod fakes;
mod measured_power;
mod properties;
mod property_fairness;
mod runner_state;
mod snapshots_dir;
mod support;
