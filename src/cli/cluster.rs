//! `aigridc coordinator` and `aigridc worker`: the processes of a cluster (spec/cluster.md).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aigrid_builtins::{Library, ModelStore};
use aigrid_cluster::{WorkerOptions, serve_coordinator, serve_worker, worker_ports};

use super::ExitStatus;
use super::args::{CoordinatorArgs, LogFormat, WorkerArgs};
use super::discovery::stopped;
use super::output;

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
    let served = runtime().and_then(|runtime| {
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .map_err(|error| format!("cannot listen on {}: {error}", args.listen))?;
            let address = listener.local_addr().map_err(|error| error.to_string())?;
            output::note(&format!("coordinator: listening on http://{address}\n"));
            let library = Library::new(&ModelStore::from_env());
            tokio::select! {
                served = serve_coordinator(listener, library, &args.data) => served.map_err(|e| e.to_string()),
                () = stopped() => Ok(()),
            }
        })
    });
    finish("coordinator", served)
}

pub fn worker(args: &WorkerArgs) -> ExitStatus {
    start_logs(args.log_format);
    let options = WorkerOptions {
        coordinator: args.coordinator.clone(),
        listen: args.listen,
        slots: args.slots,
        work_dir: args.work_dir.clone(),
    };
    let served = runtime().and_then(|runtime| {
        runtime.block_on(async {
            let ports = worker_ports(&options).map_err(|error| error.to_string())?;
            output::note(&format!(
                "worker: serving task outputs on http://{}:{} (tasks on port {}) for the coordinator at {}\n",
                args.listen.ip(),
                ports.flight,
                ports.grpc,
                args.coordinator
            ));
            let library = Library::new(&ModelStore::from_env());
            // Ballista's executor stops on a signal, and also when one of its servers fails
            // (a port taken): only the first is a clean end.
            let signalled = Arc::new(AtomicBool::new(false));
            let flag = signalled.clone();
            tokio::spawn(async move {
                stopped().await;
                flag.store(true, Ordering::SeqCst);
            });
            serve_worker(&options, ports, library).await.map_err(|error| error.to_string())?;
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
