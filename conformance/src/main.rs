//! `conformance`: checks a `POST /change_user_password` target against the
//! vendor document. See `conformance --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    conformance::cli::main(conformance::cli::Cli::parse())
}
