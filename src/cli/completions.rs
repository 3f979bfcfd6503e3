//! `aigridc completions`: shell completion scripts generated from the argument definitions.

use clap::CommandFactory as _;

use super::ExitStatus;
use super::args::{Cli, CompletionsArgs};

pub fn run(args: &CompletionsArgs) -> ExitStatus {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "aigridc",
        &mut std::io::stdout(),
    );
    ExitStatus::Success
}
