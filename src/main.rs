//! `aigridc`: the aigrid command line. A thin layer over the phase crates: it parses
//! arguments, reads files, calls the phases and prints what they report.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run().into()
}
