//! A worker: a Ballista executor with aigrid's codec, so that it runs aigrid's operators
//! (AI calls, tensor kernels, writes) with this process's built-in AIs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use aigrid_builtins::Library;
use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::extension::SessionConfigExt as _;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use datafusion::prelude::SessionConfig;

use crate::worker_flight::{WorkerMetrics, flight_server};

use crate::{ClusterError, HEARTBEAT, MAX_MESSAGE, coordinator_address, physical_codec};

/// How to start a worker.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// The coordinator, `HOST:PORT` or `http://HOST:PORT`.
    pub coordinator: String,
    /// Where the worker serves Arrow Flight (its task outputs); its gRPC port is the next free
    /// one. Port 0 picks free ports.
    pub listen: SocketAddr,
    /// How many tasks it runs at once; 0: one per core.
    pub slots: usize,
    /// Where its task outputs (shuffle files) go; by default a temporary directory.
    pub work_dir: Option<PathBuf>,
}

/// The ports a worker serves on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerPorts {
    /// Arrow Flight: other workers and clients fetch task outputs here.
    pub flight: u16,
    /// gRPC: the coordinator sends tasks here.
    pub grpc: u16,
}

/// Picks the worker's ports for `options`; then [`serve_worker`] serves on them. Ballista's
/// executor binds its ports itself, so free ones are found here by trying random ports: the
/// kernel's own choice (port 0) would give a port just freed, often the one that a worker
/// starting at the same moment found too.
pub fn worker_ports(options: &WorkerOptions) -> Result<WorkerPorts, ClusterError> {
    let ip = options.listen.ip();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id()).rotate_left(32);
    let mut free = |taken: u16| -> Result<u16, ClusterError> {
        for _ in 0..1000 {
            // xorshift64: enough to spread the tries over the range.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let port = 20_000 + (seed % 40_000) as u16;
            if port != taken && std::net::TcpListener::bind((ip, port)).is_ok() {
                return Ok(port);
            }
        }
        Err(ClusterError::Address(format!("no free port found on {ip}")))
    };
    let flight = match options.listen.port() {
        0 => free(0)?,
        port => port,
    };
    let grpc = free(flight)?;
    Ok(WorkerPorts { flight, grpc })
}

/// Serves a worker on `ports` until the process gets Ctrl-C or SIGTERM, or the coordinator
/// tells it to stop. It waits up to a minute for the coordinator to answer. Task outputs go
/// to the work directory, by default a new directory removed when the worker stops.
pub async fn serve_worker(
    options: &WorkerOptions,
    ports: WorkerPorts,
    library: Library,
) -> Result<(), ClusterError> {
    let (work_dir, _removed) = match &options.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            (dir.clone(), None)
        }
        None => {
            let dir = std::env::temp_dir().join(format!(
                "aigrid-worker-{}-{}",
                std::process::id(),
                ports.flight
            ));
            std::fs::create_dir_all(&dir)?;
            (dir.clone(), Some(RemovedOnDrop(dir)))
        }
    };
    let (scheduler_host, scheduler_port) = coordinator_address(&options.coordinator)?;
    let ip = options.listen.ip();
    let codec = physical_codec(library);
    let config = ExecutorProcessConfig {
        bind_host: ip.to_string(),
        external_host: (!ip.is_unspecified()).then(|| ip.to_string()),
        port: ports.flight,
        grpc_port: ports.grpc,
        scheduler_host,
        scheduler_port,
        scheduler_connect_timeout_seconds: 60,
        vcores: match options.slots {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            slots => slots,
        },
        task_scheduling_policy: TaskSchedulingPolicy::PushStaged,
        work_dir: Some(work_dir.to_string_lossy().into_owned()),
        executor_heartbeat_interval_seconds: HEARTBEAT.as_secs(),
        job_data_clean_up_interval_seconds: 600,
        job_data_ttl_seconds: 3600,
        grpc_max_decoding_message_size: MAX_MESSAGE as u32,
        grpc_max_encoding_message_size: MAX_MESSAGE as u32,
        override_physical_codec: Some(codec),
        // A task reads only its own partitions' files: DataFusion's file scans otherwise
        // steal each other's byte ranges, and rows would not keep their order.
        override_config_producer: Some(Arc::new(|| {
            let mut config = SessionConfig::new_with_ballista();
            config.options_mut().execution.enable_file_stream_work_stealing = false;
            config
        })),
        override_arrow_flight_service: Some(flight_server(Arc::new(WorkerMetrics::default()))),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config)).await?;
    Ok(())
}

/// A directory removed with what is in it when this is dropped.
struct RemovedOnDrop(PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
