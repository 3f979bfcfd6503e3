//! `aigridc completions`: shell completion scripts generated from the argument definitions.

use clap::CommandFactory as _;

use super::args::{Cli, CompletionsArgs};
use super::{ExitStatus, output};

pub fn run(args: &CompletionsArgs) -> ExitStatus {
    // Generated into memory: clap_complete panics when a write to standard output fails.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "aigridc", &mut script);
    output::print(&String::from_utf8_lossy(&script))
}
