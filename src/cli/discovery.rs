//! `aigridc discovery`: run a discovery server, and list, query, register, remove and watch
//! cards; and [`Remote`], the connection to a server that builds use.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aigrid_compiler::Discovery;
use aigrid_discovery::{Card, Matches, Predicate, Stage};
use aigrid_discovery_service::{Answer, Change, Client, ClientError, ClientOptions, Limits};
use tokio_stream::StreamExt as _;

use super::ExitStatus;
use super::args::{
    CardsFormat, ConnectArgs, DiscoveryArgs, DiscoveryCommand, QueryArgs, RegisterArgs, RemoveArgs,
    ServeArgs, WatchArgs,
};
use super::world::{DiscoverySource, FsWorld, card_files};
use super::{output, token};

/// Where the discovery server's token may be given instead of `--token-file`.
const DISCOVERY_TOKEN: &str = "AIGRID_DISCOVERY_TOKEN";

/// A discovery server and how to talk to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// `http://host:port` or `https://host:port`.
    pub url: String,
    /// A PEM CA certificate to trust, for `https://`.
    pub ca: Option<PathBuf>,
    /// The bearer token for writes.
    pub token: Option<String>,
}

impl Server {
    /// The server named by `--discovery` and its options, if any.
    pub fn from_args(args: &ConnectArgs, token: Option<String>) -> Option<Server> {
        args.discovery.as_ref().map(|url| Server { url: url.clone(), ca: args.ca.clone(), token })
    }
}

/// A connected client, with the runtime that drives it: the CLI is synchronous.
pub struct Remote {
    runtime: tokio::runtime::Runtime,
    client: Client,
}

impl Remote {
    /// Connects to `server`; the error is a message for the user.
    pub fn connect(server: &Server) -> Result<Remote, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| format!("cannot start the async runtime: {error}"))?;
        let ca_pem = match &server.ca {
            Some(path) => Some(std::fs::read(path).map_err(|error| {
                format!("cannot read the CA certificate `{}`: {error}", path.display())
            })?),
            None => None,
        };
        let options = ClientOptions { token: server.token.clone(), ca_pem, timeout: None };
        let client = runtime
            .block_on(Client::connect(&server.url, options))
            .map_err(|error| error.to_string())?;
        Ok(Remote { runtime, client })
    }

    /// The cards satisfying `predicate`, with the funnel, as the compiler wants them.
    pub fn matches(&mut self, predicate: Option<&Predicate>) -> Result<Discovery, String> {
        let text = predicate.map_or("", Predicate::as_str);
        let answer = match self.runtime.block_on(self.client.query(text, true, 0)) {
            Ok(answer) => answer,
            Err(ClientError::Refused { code, message, .. }) if code == "InvalidArgument" => {
                return Ok(Discovery::BadPredicate(message));
            }
            Err(error) => return Err(error.to_string()),
        };
        if answer.total > answer.cards.len() as u64 {
            return Err(format!(
                "discovery at {} has {} cards matching `{text}`, more than the {} of one answer: narrow the `where`",
                self.client.url(),
                answer.total,
                answer.cards.len()
            ));
        }
        let offered = usize::try_from(answer.offered).unwrap_or(usize::MAX);
        let (stages, cards) = (answer.stages, answer.cards);
        Ok(Discovery::Found(Matches { offered, stages, cards, hints: Vec::new() }))
    }
}

pub fn run(args: &DiscoveryArgs) -> ExitStatus {
    let result = match &args.command {
        DiscoveryCommand::Serve(args) => serve(args),
        DiscoveryCommand::Ls(args) => query(&QueryArgs {
            predicate: String::new(),
            explain: false,
            connect: args.connect.clone(),
            format: args.format,
        }),
        DiscoveryCommand::Query(args) => query(args),
        DiscoveryCommand::Register(args) => register(args),
        DiscoveryCommand::Remove(args) => remove(args),
        DiscoveryCommand::Watch(args) => watch(args),
    };
    match result {
        Ok(status) => status,
        Err(message) => {
            output::error(&message);
            ExitStatus::Error
        }
    }
}

/// `aigridc discovery serve`.
fn serve(args: &ServeArgs) -> Result<ExitStatus, String> {
    let token = token::read(args.token_file.as_deref(), DISCOVERY_TOKEN)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
        (None, None) => None,
        _ => return Err("TLS needs both `--tls-cert` and `--tls-key`".into()),
    };
    let limits = Limits { max_cards: args.max_cards, ..Limits::default() };
    let store = aigrid_discovery_service::Store::open(&args.data, limits).map_err(|error| {
        format!("cannot open the registry in `{}`: {error}", args.data.display())
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|error| format!("cannot listen on {}: {error}", args.listen))?;
        let address: SocketAddr = listener.local_addr().map_err(|error| error.to_string())?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        output::note(&format!(
            "discovery: serving {} cards on {scheme}://{address} (data in {}){}\n",
            store.len(),
            args.data.display(),
            if token.is_some() { ", writes need the token" } else { "" }
        ));
        let config = aigrid_discovery_service::ServerConfig { token, tls };
        aigrid_discovery_service::serve(Arc::new(store), listener, config, stopped())
            .await
            .map_err(|error| error.to_string())
    })?;
    output::note("discovery: stopped\n");
    Ok(ExitStatus::Success)
}

/// Completes on Ctrl-C or SIGTERM.
pub(super) async fn stopped() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// `aigridc discovery query` (and `ls`).
fn query(args: &QueryArgs) -> Result<ExitStatus, String> {
    let predicate = match args.predicate.trim() {
        "" => None,
        text => Some(Predicate::parse(text).map_err(|e| format!("bad predicate: {e}"))?),
    };
    let answer = match source(&args.connect)? {
        Source::Server(server) => {
            let mut remote = Remote::connect(&server)?;
            let text = predicate.as_ref().map_or("", Predicate::as_str);
            remote
                .runtime
                .block_on(remote.client.query(text, args.explain, 0))
                .map_err(|error| error.to_string())?
        }
        Source::Registry(cards) => {
            let matches = aigrid_discovery::query(predicate.as_ref(), &cards)
                .map_err(|error| format!("bad predicate: {error}"))?;
            Answer {
                total: matches.cards.len() as u64,
                offered: matches.offered as u64,
                stages: if args.explain { matches.stages } else { Vec::new() },
                cards: matches.cards,
            }
        }
    };
    let status = output::print(&match args.format {
        CardsFormat::Human => human(&answer, predicate.is_some()),
        CardsFormat::Json => json(&answer),
    });
    // As grep does: 1 when nothing matches a predicate.
    let none = answer.total == 0 && predicate.is_some();
    Ok(status.max(if none { ExitStatus::Failure } else { ExitStatus::Success }))
}

/// Cards in a table: id, task, version, health, endpoint; then the count and the funnel.
fn human(answer: &Answer, filtered: bool) -> String {
    let rows: Vec<[&str; 5]> = answer
        .cards
        .iter()
        .map(|c| [&c.id, &c.task, &c.version, &c.health.status, &c.endpoint].map(String::as_str))
        .collect();
    let header = ["ID", "TASK", "VERSION", "HEALTH", "ENDPOINT"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    if !rows.is_empty() {
        for row in std::iter::once(&header).chain(&rows) {
            let cells: Vec<String> =
                row.iter().zip(widths).map(|(cell, width)| format!("{cell:width$}")).collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
    }
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    out.push_str(&if filtered {
        format!("{} of {} card{} match", answer.total, answer.offered, plural(answer.offered))
    } else {
        format!("{} card{}", answer.total, plural(answer.total))
    });
    if answer.total > answer.cards.len() as u64 {
        out.push_str(&format!(" ({} shown)", answer.cards.len()));
    }
    out.push('\n');
    for stage in &answer.stages {
        out.push_str(&funnel_line(stage));
        out.push('\n');
    }
    out
}

fn funnel_line(stage: &Stage) -> String {
    let why = if stage.why.is_empty() { String::new() } else { format!(": {}", stage.why) };
    format!("{} of {} dropped by `{}`{why}", stage.dropped, stage.before, stage.clause)
}

fn json(answer: &Answer) -> String {
    let stages: Vec<serde_json::Value> = answer
        .stages
        .iter()
        .map(|s| {
            serde_json::json!({ "clause": s.clause, "before": s.before, "dropped": s.dropped, "why": s.why })
        })
        .collect();
    let document = serde_json::json!({
        "offered": answer.offered,
        "total": answer.total,
        "cards": answer.cards,
        "funnel": stages,
    });
    format!("{}\n", serde_json::to_string_pretty(&document).unwrap_or_default())
}

/// `aigridc discovery register`.
fn register(args: &RegisterArgs) -> Result<ExitStatus, String> {
    let mut cards = Vec::new();
    for path in &args.files {
        cards.extend(read_cards(path)?);
    }
    let lease = args.lease.as_deref().map(parse_duration).transpose()?;
    let mut remote = connect_for_writes(&args.connect, args.token_file.as_deref(), "register")?;
    let mut registered = 0;
    for batch in batches(&cards) {
        let ids =
            remote.runtime.block_on(remote.client.register(batch, lease)).map_err(|error| {
                let before = if registered > 0 {
                    format!(" ({registered} cards before it were registered)")
                } else {
                    String::new()
                };
                format!("{error}{before}")
            })?;
        registered += ids.len();
    }
    output::note(&format!(
        "registered {registered} card{} at {}{}\n",
        if registered == 1 { "" } else { "s" },
        remote.client.url(),
        lease.map(|l| format!(" with a lease of {} ms", l.as_millis())).unwrap_or_default()
    ));
    Ok(ExitStatus::Success)
}

/// The cards in requests the server takes: at most 1,000 cards and 8 MiB of JSON each (the
/// server decodes 16 MiB).
fn batches(cards: &[Card]) -> Vec<&[Card]> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, card) in cards.iter().enumerate() {
        let size = card.to_json().len();
        if i > start && (i - start == 1000 || bytes + size > 8 << 20) {
            batches.push(&cards[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < cards.len() {
        batches.push(&cards[start..]);
    }
    batches
}

/// `aigridc discovery remove`.
fn remove(args: &RemoveArgs) -> Result<ExitStatus, String> {
    let mut remote = connect_for_writes(&args.connect, args.token_file.as_deref(), "remove")?;
    let removed = remote
        .runtime
        .block_on(remote.client.deregister(&args.ids))
        .map_err(|error| error.to_string())?;
    output::note(&format!("removed {removed} of {} card(s)\n", args.ids.len()));
    // Ids that were not registered are a failure, as `rm` of a missing file is.
    Ok(if removed == args.ids.len() as u64 { ExitStatus::Success } else { ExitStatus::Failure })
}

/// `aigridc discovery watch`: one line per change until the server ends the watch.
fn watch(args: &WatchArgs) -> Result<ExitStatus, String> {
    let Source::Server(server) = source(&args.connect)? else {
        return Err("`watch` needs a discovery server: give `--discovery URL`".into());
    };
    let mut remote = Remote::connect(&server)?;
    let predicate = args.predicate.clone().unwrap_or_default();
    let Remote { runtime, client } = &mut remote;
    runtime.block_on(async {
        let mut changes = client.watch(&predicate).await.map_err(|error| error.to_string())?;
        while let Some(change) = changes.next().await {
            let line = match change.map_err(|error| error.to_string())? {
                Change::Registered(card) => match args.format {
                    CardsFormat::Human => format!("registered {}", card.id),
                    CardsFormat::Json => {
                        serde_json::json!({"change": "registered", "card": card}).to_string()
                    }
                },
                Change::Removed(id) => match args.format {
                    CardsFormat::Human => format!("removed {id}"),
                    CardsFormat::Json => {
                        serde_json::json!({"change": "removed", "id": id}).to_string()
                    }
                },
                Change::Expired(id) => match args.format {
                    CardsFormat::Human => format!("expired {id}"),
                    CardsFormat::Json => {
                        serde_json::json!({"change": "expired", "id": id}).to_string()
                    }
                },
            };
            if output::print(&format!("{line}\n")) != ExitStatus::Success {
                break;
            }
        }
        Ok::<_, String>(())
    })?;
    Ok(ExitStatus::Success)
}

/// Where the discovery commands look: `--discovery`, else the manifests from the current
/// directory up, else the embedded discovery (the built-in AIs and the registry named there).
enum Source {
    Server(Server),
    Registry(Vec<Card>),
}

fn source(connect: &ConnectArgs) -> Result<Source, String> {
    if let Some(server) = Server::from_args(connect, None) {
        return Ok(Source::Server(server));
    }
    let mut world = FsWorld::new();
    let cwd = std::env::current_dir()
        .map_err(|error| format!("cannot read the current directory: {error}"))?;
    let source = world.discovery_source(&cwd);
    let fail = |world: &mut FsWorld| world.take_errors().join("\n");
    match source {
        DiscoverySource::Server(server) => Ok(Source::Server(server)),
        DiscoverySource::Registry(path) => match world.embedded(Some(&path)) {
            Some(cards) => Ok(Source::Registry(cards.to_vec())),
            None => Err(fail(&mut world)),
        },
        DiscoverySource::Nowhere => match world.embedded(None) {
            Some(cards) => Ok(Source::Registry(cards.to_vec())),
            None => Err(fail(&mut world)),
        },
        DiscoverySource::Broken => Err(fail(&mut world)),
    }
}

fn connect_for_writes(
    connect: &ConnectArgs,
    token_file: Option<&Path>,
    verb: &str,
) -> Result<Remote, String> {
    let token = token::read(token_file, DISCOVERY_TOKEN)?;
    match source(connect)? {
        Source::Server(server) => Remote::connect(&Server { token, ..server }),
        Source::Registry(_) => Err(format!(
            "`{verb}` needs a discovery server: give `--discovery URL` or set `url` in the `[discovery]` of aigrid.toml (a registry of files is edited as files)"
        )),
    }
}

/// The cards of a file (one card, or a YAML list) or of a directory's `*.yaml`, `*.yml` and
/// `*.json` files.
fn read_cards(path: &Path) -> Result<Vec<Card>, String> {
    if path.is_dir() {
        let files = card_files(path)
            .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
        let mut cards = Vec::new();
        for file in files {
            cards.extend(read_cards(&file)?);
        }
        return Ok(cards);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
    let trimmed = text.trim_start();
    let result = if trimmed.starts_with('-') || trimmed.starts_with('[') {
        Card::list_from_yaml(&text)
    } else {
        Card::from_yaml(&text).map(|card| vec![card])
    };
    result.map_err(|error| format!("invalid card `{}`: {error}", path.display()))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| format!("cannot read `{}`: {error}", path.display()))
}

/// `500ms`, `30s`, `5m`, `2h`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let bad = || format!("`{text}` is not a duration such as `500ms`, `30s`, `5m` or `2h`");
    let number: u64 = number.parse().map_err(|_| bad())?;
    let millis = match unit {
        "ms" => Some(number),
        "s" => number.checked_mul(1_000),
        "m" => number.checked_mul(60_000),
        "h" => number.checked_mul(3_600_000),
        _ => None,
    };
    millis.map(Duration::from_millis).ok_or_else(bad)
}
