//! A worker: a Ballista executor with aigrid's codec, so that it runs aigrid's operators
//! (AI calls, tensor kernels, writes) with this process's built-in AIs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use aigrid_builtins::Library;
use aigrid_executor::Stores;
use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::extension::SessionConfigExt as _;
use ballista_core::ids::new_instance_id;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::SessionConfig;

use crate::auth::{interceptor, shape};
use crate::placement::executor_id;
use crate::tls::Tls;
use crate::worker_flight::flight_server;
use crate::worker_metrics::{WorkerMetrics, counting_engine};

use crate::{ClusterError, HEARTBEAT, MAX_MESSAGE, Security, coordinator_address, physical_codec};

/// How long a worker keeps an idle connection to another worker (Ballista's default).
const CLIENT_TTL: std::time::Duration = std::time::Duration::from_secs(30);

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
    /// The cluster's token and TLS: the worker's calls carry the token and its servers refuse
    /// calls without it; with TLS, it speaks only TLS.
    pub security: Security,
    /// The ordinals of the GPUs it offers: the stages of nodes marked `@gpu` run only on
    /// workers that offer one. Only how many is used so far: tasks are not pinned to them.
    pub gpus: Vec<u32>,
}

/// The ordinals of the NVIDIA GPUs this process may use: those `CUDA_VISIBLE_DEVICES` names
/// when it is set, else one for each device node `/dev/nvidiaN` (a container sees only those
/// it was given, while `/proc/driver/nvidia` lists the host's); none without the driver.
pub fn detect_gpus() -> Vec<u32> {
    if let Ok(visible) = std::env::var("CUDA_VISIBLE_DEVICES") {
        // CUDA stops at the first entry that is not a device.
        let devices = visible.split(',').map_while(|d| d.trim().parse::<i64>().ok());
        let devices = devices.take_while(|d| *d >= 0).count();
        return (0..u32::try_from(devices).unwrap_or(0)).collect();
    }
    let devices = std::fs::read_dir("/dev").map_or(0, |dir| {
        dir.flatten()
            .filter(|entry| {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                name.strip_prefix("nvidia")
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
            .count()
    });
    (0..u32::try_from(devices).unwrap_or(0)).collect()
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
    let security = options.security.clone();
    let tls = security.tls.is_some();
    let server_tls = security.tls.as_ref().map(Tls::server).transpose()?;
    let metrics = Arc::new(WorkerMetrics::default());
    let spills = work_dir.clone();
    let stores = Arc::new(Stores::default());
    let executor_id = executor_id(&new_instance_id(), options.gpus.len());
    let config = ExecutorProcessConfig {
        executor_id,
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
        // steal each other's byte ranges, and rows would not keep their order. A task's
        // fetches from other workers carry the token.
        override_config_producer: Some(Arc::new(move || {
            let mut config = SessionConfig::new_with_ballista()
                .with_ballista_override_create_grpc_client_endpoint(shape(&security))
                .with_ballista_use_tls(tls);
            config.options_mut().execution.enable_file_stream_work_stealing = false;
            config
        })),
        // Tasks read and write object-store URLs through stores made from this worker's own
        // environment (its credentials); DataFusion spills under the work directory.
        override_runtime_producer: Some(Arc::new(move |_| {
            let runtime = RuntimeEnvBuilder::new()
                .with_temp_file_path(spills.clone())
                .with_object_store_registry(stores.clone())
                .build()?;
            Ok(Arc::new(runtime))
        })),
        override_arrow_flight_service: Some(flight_server(
            metrics.clone(),
            options.security.token.clone(),
            server_tls.clone(),
        )),
        override_execution_engine: Some(counting_engine(metrics, CLIENT_TTL)),
        override_create_grpc_client_endpoint: Some(shape(&options.security)),
        override_grpc_interceptor: interceptor(options.security.token.clone()),
        override_grpc_server_tls: server_tls,
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
