//! The arguments of `aigridc discovery` and of where other commands find discovery.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::CardsFormat;

/// Where discovery is, in place of the `[discovery]` of aigrid.toml.
#[derive(Args, Debug, Clone)]
pub struct ConnectArgs {
    /// A discovery server, e.g. `http://127.0.0.1:7600` (`https://` for TLS).
    #[arg(long, value_name = "URL", env = "AIGRID_DISCOVERY")]
    pub discovery: Option<String>,
    /// The PEM certificate of the CA that signed an `https://` server's certificate.
    #[arg(long = "discovery-ca", value_name = "FILE", requires = "discovery")]
    pub ca: Option<PathBuf>,
}

/// Arguments of `aigridc discovery`.
#[derive(Args, Debug)]
pub struct DiscoveryArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DiscoveryCommand,
}

/// The verbs of `aigridc discovery`.
#[derive(Subcommand, Debug)]
pub enum DiscoveryCommand {
    /// Run a discovery server (gRPC) whose state lives under `--data`.
    Serve(ServeArgs),
    /// List every card.
    Ls(LsArgs),
    /// The cards that satisfy a predicate, e.g. `'task == "text-embedding" && dims == 384'`
    /// (exit 1 if none does).
    Query(QueryArgs),
    /// Register cards from files (one card, or a YAML list) or directories of card files.
    Register(RegisterArgs),
    /// Remove cards by id (exit 1 if one was not registered).
    Remove(RemoveArgs),
    /// Print the matching cards, then each change to them as it happens.
    Watch(WatchArgs),
}

/// Arguments of `aigridc discovery serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The address to listen on; port 0 picks a free one (printed on standard error).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7600")]
    pub listen: std::net::SocketAddr,
    /// The directory holding the registry's database (created if missing).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// A file holding the bearer token that registrations and removals must carry.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Serve over TLS with this PEM certificate chain...
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// ...and this PEM private key.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The most cards the registry holds.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_cards: usize,
}

/// Arguments of `aigridc discovery ls`.
#[derive(Args, Debug)]
pub struct LsArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// How to print the cards.
    #[arg(long, value_enum, default_value_t = CardsFormat::Human)]
    pub format: CardsFormat,
}

/// Arguments of `aigridc discovery query`.
#[derive(Args, Debug)]
pub struct QueryArgs {
    /// A predicate in the syntax of `where`.
    #[arg(value_name = "PREDICATE")]
    pub predicate: String,
    /// Also show what each `&&` clause dropped.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// How to print the cards.
    #[arg(long, value_enum, default_value_t = CardsFormat::Human)]
    pub format: CardsFormat,
}

/// Arguments of `aigridc discovery register`.
#[derive(Args, Debug)]
pub struct RegisterArgs {
    /// Card files (YAML or JSON) and directories of them.
    #[arg(required = true, value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// Register with a lease (`30s`, `5m`): the cards go away unless heartbeats renew it.
    #[arg(long, value_name = "DURATION")]
    pub lease: Option<String>,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// A file holding the server's bearer token (or set `AIGRID_DISCOVERY_TOKEN`).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

/// Arguments of `aigridc discovery remove`.
#[derive(Args, Debug)]
pub struct RemoveArgs {
    /// The ids of the cards.
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// A file holding the server's bearer token (or set `AIGRID_DISCOVERY_TOKEN`).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

/// Arguments of `aigridc discovery watch`.
#[derive(Args, Debug)]
pub struct WatchArgs {
    /// A predicate in the syntax of `where`; every card without one.
    #[arg(value_name = "PREDICATE")]
    pub predicate: Option<String>,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// How to print changes.
    #[arg(long, value_enum, default_value_t = CardsFormat::Human)]
    pub format: CardsFormat,
}
