//! Command dispatch, the exit-status convention and what the verbs share (reading inputs).

mod args;
mod bind;
mod build;
mod cache;
mod check;
mod cluster;
mod completions;
mod discovery;
mod doc;
mod explain;
mod fmt;
mod graph;
mod inputs;
mod models;
mod output;
mod progress;
mod run;
mod runs;
mod token;
mod workers;
mod world;

use std::process::ExitCode;

use clap::Parser as _;

use self::args::{Cli, Command};

/// How a command ended; the process exit code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExitStatus {
    /// 0: everything is fine.
    Success,
    /// 1: the inputs have problems (diagnostics, files that would be reformatted).
    Failure,
    /// 2: the tool could not do its job (bad usage, unreadable files).
    Error,
    /// 130: stopped by Ctrl-C (128 + SIGINT, as shells report it).
    Cancelled,
}

impl ExitStatus {
    /// The worse of two statuses.
    pub fn max(self, other: ExitStatus) -> ExitStatus {
        match (self, other) {
            (ExitStatus::Cancelled, _) | (_, ExitStatus::Cancelled) => ExitStatus::Cancelled,
            (ExitStatus::Error, _) | (_, ExitStatus::Error) => ExitStatus::Error,
            (ExitStatus::Failure, _) | (_, ExitStatus::Failure) => ExitStatus::Failure,
            _ => ExitStatus::Success,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
            ExitStatus::Cancelled => 130,
        })
    }
}

/// Parses the command line and runs the command.
pub fn run() -> ExitStatus {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version to stdout (success) and usage errors to stderr.
            let _ = error.print();
            return if error.use_stderr() { ExitStatus::Error } else { ExitStatus::Success };
        }
    };
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Build(args) => build::run(&args),
        Command::Bind(args) => bind::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Discovery(args) => discovery::run(&args),
        Command::Coordinator(args) => cluster::coordinator(&args),
        Command::Worker(args) => cluster::worker(&args),
        Command::Runs(args) => runs::runs(&args),
        Command::Status(args) => runs::status(&args),
        Command::Workers(args) => workers::workers(&args),
        Command::Models(args) => models::run(&args),
        Command::Cache(args) => cache::run(&args),
        Command::Doc(args) => doc::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Completions(args) => completions::run(&args),
    }
}
