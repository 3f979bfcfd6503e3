//! The arguments of the cluster's commands: `coordinator`, `worker`, `runs`, `status`.

use std::path::PathBuf;

use clap::Args;

use super::{CardsFormat, LogFormat};

/// Arguments of `aigridc coordinator`.
#[derive(Args, Debug)]
pub struct CoordinatorArgs {
    /// The address to listen on; port 0 picks a free one (printed on standard error).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7700")]
    pub listen: std::net::SocketAddr,
    /// The directory of the run journal's database (created if missing): what `aigridc runs`,
    /// `status` and `run --resume` read, kept across restarts.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    #[command(flatten)]
    pub auth: ServerAuthArgs,
    /// How to log on standard error: `text` or `json` (one object per line). `AIGRID_LOG`
    /// filters what is logged, as `RUST_LOG` does (`info`; warnings by default).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,
}

/// How a process of a cluster proves itself and checks its peers.
#[derive(Args, Debug)]
pub struct ServerAuthArgs {
    /// A file holding the cluster's token (or set `AIGRID_CLUSTER_TOKEN`): every process of
    /// the cluster must have the same one, and calls without it are refused.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The cluster's TLS directory (or set `AIGRID_CLUSTER_TLS_DIR`): `ca.crt`, which the
    /// servers' certificates chain to, and this process's own `node.crt` and `node.key`: it then
    /// serves only TLS.
    #[arg(long, value_name = "DIR", env = "AIGRID_CLUSTER_TLS_DIR")]
    pub tls_dir: Option<PathBuf>,
    /// Serve without a token on an address that other hosts can reach: anyone who reaches it
    /// can run tasks on the workers. (On a loopback address no token is needed.)
    #[arg(long)]
    pub no_auth: bool,
}

/// Arguments of `aigridc worker`.
#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// The coordinator to take tasks from (`HOST:PORT` or `http://HOST:PORT`).
    #[arg(long, value_name = "URL")]
    pub coordinator: String,
    /// The address to serve task outputs on (Arrow Flight); port 0 picks a free one. The
    /// worker's task port is another free port; both are printed on standard error.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// How many tasks to run at once (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub slots: usize,
    /// Where task outputs are kept until read (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// The GPUs to offer, by ordinal (`0,1`), or `none`; `auto` offers those of
    /// `CUDA_VISIBLE_DEVICES`, else one per `/dev/nvidiaN`. Stages of nodes marked `@gpu` run
    /// only on workers that offer one.
    #[arg(long, value_name = "LIST", default_value = "auto", value_parser = parse_gpus)]
    pub gpus: Gpus,
    #[command(flatten)]
    pub auth: ServerAuthArgs,
    /// How to log on standard error: `text` or `json` (one object per line). `AIGRID_LOG`
    /// filters what is logged, as `RUST_LOG` does (`info`; warnings by default).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,
}

/// The cluster that `aigridc runs` and `status` ask.
#[derive(Args, Debug)]
pub struct ClusterArgs {
    /// The coordinator (`HOST:PORT` or `http://HOST:PORT`).
    #[arg(long, value_name = "URL", env = "AIGRID_CLUSTER")]
    pub cluster: String,
    /// A file holding the cluster's token (or set `AIGRID_CLUSTER_TOKEN`).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The cluster's TLS directory (or set `AIGRID_CLUSTER_TLS_DIR`): `ca.crt`, which the
    /// servers' certificates chain to.
    #[arg(long, value_name = "DIR", env = "AIGRID_CLUSTER_TLS_DIR")]
    pub tls_dir: Option<PathBuf>,
}

/// Arguments of `aigridc runs`.
#[derive(Args, Debug)]
pub struct RunsArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// List at most this many runs, newest first.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: u32,
    /// How to print the runs.
    #[arg(long, value_enum, default_value_t = CardsFormat::Human)]
    pub format: CardsFormat,
}

/// Arguments of `aigridc workers`.
#[derive(Args, Debug)]
pub struct WorkersArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// How to print the workers.
    #[arg(long, value_enum, default_value_t = CardsFormat::Human)]
    pub format: CardsFormat,
}

/// Arguments of `aigridc status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The run (`aigridc runs` lists them); by default the latest.
    #[arg(value_name = "RUN_ID")]
    pub run: Option<u64>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// How to print the run.
    #[arg(long, value_enum, default_value_t = CardsFormat::Human)]
    pub format: CardsFormat,
}

/// The GPUs a worker offers (`--gpus`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gpus {
    /// Those the NVIDIA driver lists.
    Auto,
    /// These ordinals (none: an empty list).
    List(Vec<u32>),
}

fn parse_gpus(text: &str) -> Result<Gpus, String> {
    match text.trim() {
        "auto" => Ok(Gpus::Auto),
        "none" | "" => Ok(Gpus::List(Vec::new())),
        list => {
            let mut ordinals = Vec::new();
            for part in list.split(',') {
                let ordinal: u32 = part.trim().parse().map_err(|_| {
                    format!(
                        "`{part}` is not a GPU ordinal: give `auto`, `none` or a list like `0,1`"
                    )
                })?;
                if ordinals.contains(&ordinal) {
                    return Err(format!("GPU {ordinal} is listed twice"));
                }
                ordinals.push(ordinal);
            }
            Ok(Gpus::List(ordinals))
        }
    }
}
