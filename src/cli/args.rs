//! Every command-line argument struct, in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// aigrid: typed, composable AI pipelines on the AIGrid network.
#[derive(Parser, Debug)]
#[command(name = "aigridc", version, about, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs of `aigridc`.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check `.ag` files and report every problem found (exit 1 if any error).
    Check(CheckArgs),
    /// Format `.ag` files in the canonical layout.
    Fmt(FmtArgs),
    /// Explain a diagnostic code, e.g. `aigridc explain AG0101`.
    Explain(ExplainArgs),
    /// Print a shell completion script, e.g. `aigridc completions bash > ~/.aigridc.bash`.
    Completions(CompletionsArgs),
}

/// Arguments of `aigridc check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Files and directories to check (directories are searched for `*.ag` recursively).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Arguments of `aigridc fmt`.
#[derive(Args, Debug)]
pub struct FmtArgs {
    /// Files and directories to format; `-` formats standard input to standard output.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Change nothing; list the files that would change and exit 1 if there are any.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Arguments of `aigridc explain`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The code to explain, e.g. `AG0101`.
    #[arg(required_unless_present_any = ["list", "markdown"])]
    pub code: Option<String>,
    /// List every code with its title.
    #[arg(long, conflicts_with = "code")]
    pub list: bool,
    /// Print the documentation of every code as one Markdown document (`spec/errors.md`).
    #[arg(long, conflicts_with_all = ["code", "list"])]
    pub markdown: bool,
}

/// Arguments of `aigridc completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Options shared by commands that report on files.
#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Print only diagnostics: no summary line.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How diagnostics are printed.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Source excerpts with labels and help (colour on a terminal, unless NO_COLOR is set).
    Human,
    /// One line each: `file:line:column: severity[code]: message`.
    Short,
    /// A JSON array; see spec/diagnostics.md.
    Json,
}
