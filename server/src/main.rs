//! `server serve` and `server mint-token`; see the `cli` module.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    server::cli::run(server::cli::Cli::parse())
}
