//! `aigridc coordinator` and `aigridc worker`: the processes of a cluster (spec/cluster.md).

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aigrid_builtins::{Library, ModelStore};
use aigrid_cluster::{
    Access, Security, Tls, Token, WorkerOptions, check_exposure, detect_gpus, serve_coordinator,
    serve_worker, worker_ports,
};

use super::ExitStatus;
use super::args::{ClusterArgs, CoordinatorArgs, Gpus, LogFormat, ServerAuthArgs, WorkerArgs};
use super::discovery::stopped;
use super::{output, token};

/// Where the cluster's token may be given instead of `--token-file`.
const CLUSTER_TOKEN: &str = "AIGRID_CLUSTER_TOKEN";

/// The cluster's token from `path` or `AIGRID_CLUSTER_TOKEN`, if either is given.
fn cluster_token(path: Option<&Path>) -> Result<Option<Token>, String> {
    match token::read(path, CLUSTER_TOKEN)? {
        Some(secret) => Token::new(&secret).map(Some).map_err(|error| error.to_string()),
        None => Ok(None),
    }
}

/// The cluster's token (from `token_file` or `AIGRID_CLUSTER_TOKEN`) and TLS (from `tls_dir`).
pub fn security(token_file: Option<&Path>, tls_dir: Option<&Path>) -> Result<Security, String> {
    let token = cluster_token(token_file)?;
    let tls = tls_dir.map(Tls::from_dir).transpose().map_err(|error| error.to_string())?;
    Ok(Security { token, tls })
}

impl ClusterArgs {
    /// The cluster these arguments name.
    pub fn access(&self) -> Result<Access, String> {
        let security = security(self.token_file.as_deref(), self.tls_dir.as_deref())?;
        Ok(Access { url: self.cluster.clone(), security })
    }
}

impl ServerAuthArgs {
    /// The security of a server listening on `ip`; an error for a server that other hosts can
    /// reach without a token, unless `--no-auth`.
    fn security(&self, ip: IpAddr) -> Result<Security, String> {
        let security = security(self.token_file.as_deref(), self.tls_dir.as_deref())?;
        check_exposure(ip, security.token.as_ref(), self.no_auth)
            .map_err(|error| error.to_string())?;
        Ok(security)
    }
}

/// Sends the logs of this process (Ballista's among them) to standard error, as text or JSON
/// lines, filtered by `AIGRID_LOG` (`info`, `ballista_scheduler=debug`; warnings by default).
fn start_logs(format: LogFormat) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("AIGRID_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // Another subscriber can only be there in tests that call this twice: keep it.
    let _ = match format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => logs.json().try_init(),
    };
}

/// A runtime for a server process, or the error that says why there is none.
fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))
}

pub fn coordinator(args: &CoordinatorArgs) -> ExitStatus {
    start_logs(args.log_format);
    let security = match args.auth.security(args.listen.ip()) {
        Ok(security) => security,
        Err(error) => return finish("coordinator", Err(error)),
    };
    let scheme = security.scheme();
    let served = runtime().and_then(|runtime| {
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .map_err(|error| format!("cannot listen on {}: {error}", args.listen))?;
            let address = listener.local_addr().map_err(|error| error.to_string())?;
            output::note(&format!("coordinator: listening on {scheme}://{address}\n"));
            let library = Library::new(&ModelStore::from_env());
            tokio::select! {
                served = serve_coordinator(listener, library, &args.data, security) => served.map_err(|e| e.to_string()),
                () = stopped() => Ok(()),
            }
        })
    });
    finish("coordinator", served)
}

pub fn worker(args: &WorkerArgs) -> ExitStatus {
    start_logs(args.log_format);
    let security = match args.auth.security(args.listen.ip()) {
        Ok(security) => security,
        Err(error) => return finish("worker", Err(error)),
    };
    let scheme = security.scheme();
    let options = WorkerOptions {
        coordinator: args.coordinator.clone(),
        listen: args.listen,
        slots: args.slots,
        work_dir: args.work_dir.clone(),
        security,
        gpus: match &args.gpus {
            Gpus::Auto => detect_gpus(),
            Gpus::List(ordinals) => ordinals.clone(),
        },
    };
    let served = runtime().and_then(|runtime| {
        runtime.block_on(async {
            let ports = worker_ports(&options).map_err(|error| error.to_string())?;
            output::note(&format!(
                "worker: serving task outputs on {scheme}://{}:{} (tasks on port {}) for the coordinator at {}\n",
                args.listen.ip(),
                ports.flight,
                ports.grpc,
                args.coordinator
            ));
            if !options.gpus.is_empty() {
                let gpus: Vec<String> = options.gpus.iter().map(u32::to_string).collect();
                output::note(&format!("worker: offering GPUs {}\n", gpus.join(",")));
            }
            let library = Library::new(&ModelStore::from_env());
            // Ballista's executor stops on a signal, and also when one of its servers fails
            // (a port taken): only the first is a clean end.
            let signalled = Arc::new(AtomicBool::new(false));
            let flag = signalled.clone();
            tokio::spawn(async move {
                stopped().await;
                flag.store(true, Ordering::SeqCst);
            });
            serve_worker(&options, ports, library).await.map_err(|error| {
                // TLS on one side only breaks HTTP/2 (or the handshake) with no word of TLS.
                let error = error.to_string();
                let broken = [
                    "h2 protocol error",
                    "transport error",
                    "InvalidContentType",
                    "connection was not ready",
                ];
                match broken.iter().any(|b| error.contains(b)) {
                    true => format!(
                        "{error} (the coordinator and every worker must have the same --tls-dir, \
                         or none)"
                    ),
                    false => error,
                }
            })?;
            if signalled.load(Ordering::SeqCst) {
                Ok(())
            } else {
                Err("stopped without being asked to (a port in use? run with AIGRID_LOG=info)"
                    .to_string())
            }
        })
    });
    finish("worker", served)
}

/// The exit status of a server process that ended with `served`.
fn finish(what: &str, served: Result<(), String>) -> ExitStatus {
    match served {
        Ok(()) => {
            output::note(&format!("{what}: stopped\n"));
            ExitStatus::Success
        }
        Err(error) => {
            output::error(&format!("{what}: {error}"));
            ExitStatus::Error
        }
    }
}
