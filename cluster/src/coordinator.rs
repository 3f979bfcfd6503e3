//! The coordinator: Ballista's scheduler in push mode, with aigrid's codec and a quick verdict
//! on dead workers, and aigrid's run journal. Both are gRPC services on one port, with the
//! health probes (`/healthz`, `/readyz`) that Ballista serves there and Prometheus metrics
//! (`/metrics`).

use std::path::Path;
use std::sync::Arc;

use aigrid_builtins::Library;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::serde::protobuf::scheduler_grpc_server::SchedulerGrpcServer;
use ballista_core::serde::{BallistaCodec, BallistaLogicalExtensionCodec};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{SchedulerConfig, TaskDistributionPolicy};
use ballista_scheduler::scheduler_server::SchedulerServer;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use tokio::net::TcpListener;
use tonic::transport::server::{TcpConnectInfo, TcpIncoming, TlsConnectInfo};

use crate::auth::{RequireToken, shape};
use crate::journal::proto::Worker;
use crate::journal::{JournalService, Scheduling, Store};
use crate::metrics::{CONTENT_TYPE, CoordinatorMetrics};
use crate::placement::{GpuAware, gpus_of};
use crate::{ClusterError, EXECUTOR_TIMEOUT, MAX_MESSAGE, Security, physical_codec};

type Scheduler = SchedulerServer<LogicalPlanNode, PhysicalPlanNode>;

/// Serves a coordinator on `listener` until the process ends, with its run journal in `data`.
/// Built-in AIs in the plans it receives are found in `library` (the coordinator decodes plans
/// to cut them into stages; it never runs them). With a token, every call but the probes must
/// carry it; with TLS, it serves only TLS; its own calls to workers do the same.
pub async fn serve_coordinator(
    listener: TcpListener,
    library: Library,
    data: &Path,
    security: Security,
) -> Result<(), ClusterError> {
    let store = Store::open(data).map_err(|error| ClusterError::Journal(error.to_string()))?;
    let address = listener.local_addr()?;
    let config = SchedulerConfig {
        bind_host: address.ip().to_string(),
        bind_port: address.port(),
        external_host: address.ip().to_string(),
        scheduling_policy: TaskSchedulingPolicy::PushStaged,
        executor_timeout_seconds: EXECUTOR_TIMEOUT.as_secs(),
        expire_dead_executor_interval_seconds: 1,
        no_executors_grace_period_seconds: EXECUTOR_TIMEOUT.as_secs(),
        grpc_server_max_decoding_message_size: MAX_MESSAGE as u32,
        grpc_server_max_encoding_message_size: MAX_MESSAGE as u32,
        grpc_client_max_message_size: MAX_MESSAGE as u32,
        override_create_grpc_client_endpoint: Some(shape(&security)),
        task_distribution: TaskDistributionPolicy::Custom(Arc::new(GpuAware)),
        ..SchedulerConfig::default()
    };
    let config = Arc::new(config);
    let cluster = BallistaCluster::new_from_config(&config).await?;
    // As Ballista's `create_scheduler`, with aigrid's metrics.
    let metrics = Arc::new(CoordinatorMetrics::default());
    let codec = BallistaCodec::new(
        Arc::new(BallistaLogicalExtensionCodec::default()),
        physical_codec(library),
    );
    let mut scheduler =
        Scheduler::new(config.scheduler_endpoint(), cluster, codec, config, metrics.clone());
    scheduler.init().await?;
    let store = Arc::new(store);
    let mut services = tonic::service::RoutesBuilder::default();
    services.add_service(
        SchedulerGrpcServer::new(scheduler.clone())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE),
    );
    let jobs = Arc::new(SchedulerJobs(scheduler.clone()));
    services.add_service(JournalService::server(store.clone(), jobs));
    let health = axum::Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(scrape))
        .with_state(Arc::new(Coordinator { scheduler, store, metrics }));
    let routes = services
        .routes()
        .into_axum_router()
        .merge(health)
        .layer(RequireToken(security.token.clone()))
        .layer(tower::util::MapRequestLayer::new(with_peer));
    // HTTP/1 too, for probes and scrapers.
    let mut server = tonic::transport::Server::builder().accept_http1(true);
    if let Some(tls) = &security.tls {
        server = server.tls_config(tls.server()?).map_err(|e| ClusterError::Tls(e.to_string()))?;
    }
    // Without TCP_NODELAY an answer written in two pieces (a gRPC answer's frames) waits for
    // the peer's delayed ACK, 40 ms on Linux.
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    server
        .add_routes(routes.into())
        .serve_with_incoming(incoming)
        .await
        .map_err(|e| ClusterError::Ballista(e.into()))?;
    Ok(())
}

/// `request` with its peer's address where Ballista's scheduler looks for it (axum's
/// `ConnectInfo`): it registers a worker that names no host (one listening on `0.0.0.0`) at
/// that address, and panics without it. tonic's server keeps it elsewhere.
fn with_peer<B>(mut request: axum::http::Request<B>) -> axum::http::Request<B> {
    let extensions = request.extensions();
    let peer =
        extensions.get::<TcpConnectInfo>().and_then(TcpConnectInfo::remote_addr).or_else(|| {
            extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|info| info.get_ref().remote_addr())
        });
    if let Some(peer) = peer {
        request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
    }
    request
}

/// The scheduler, for the journal's service: its running jobs, cancelled by session (a driver
/// names its jobs after its session, as Ballista's scheduler gives push jobs a session of its
/// own), and its workers.
struct SchedulerJobs(Scheduler);

#[tonic::async_trait]
impl Scheduling for SchedulerJobs {
    async fn cancel(&self, session: &str) -> u32 {
        let running = self.0.state.task_manager.get_running_job_cache();
        let mut cancelled = 0;
        for (job, info) in running.iter() {
            if info.execution_graph.read().await.job_name() == session
                && self.0.cancel_job(job.clone()).await.is_ok()
            {
                cancelled += 1;
            }
        }
        cancelled
    }

    async fn workers(&self) -> Result<Vec<Worker>, String> {
        let executors = self.0.state.executor_manager.get_executors_state().await;
        let executors = executors.map_err(|e| format!("the scheduler's workers: {e}"))?;
        let workers = executors.into_iter().map(|(worker, ..)| Worker {
            gpus: u32::try_from(gpus_of(&worker.id)).unwrap_or(u32::MAX),
            host: worker.host,
            port: u32::from(worker.port),
            slots: worker.specification.vcores,
            id: worker.id,
        });
        Ok(workers.collect())
    }
}

/// What the coordinator's HTTP routes read.
struct Coordinator {
    scheduler: Scheduler,
    store: Arc<Store>,
    metrics: Arc<CoordinatorMetrics>,
}

/// `/readyz`: 200 once a worker is registered, else 503 (a run waits for it).
async fn ready(State(coordinator): State<Arc<Coordinator>>) -> (StatusCode, &'static str) {
    match coordinator.scheduler.is_ready() {
        true => (StatusCode::OK, "ready: a worker is registered\n"),
        false => (StatusCode::SERVICE_UNAVAILABLE, "not ready: no worker is registered\n"),
    }
}

/// `/metrics`: the coordinator's metrics, with the workers and runs as they are now.
async fn scrape(State(coordinator): State<Arc<Coordinator>>) -> impl IntoResponse {
    let executors = coordinator.scheduler.state.executor_manager.get_executors_state().await;
    let (workers, slots) = match executors {
        Ok(executors) => (
            executors.len(),
            executors.iter().map(|(worker, ..)| worker.specification.vcores as usize).sum(),
        ),
        Err(_) => (0, 0),
    };
    let store = coordinator.store.clone();
    let runs = tokio::task::spawn_blocking(move || store.count_by_state()).await;
    let runs = match runs {
        Ok(Ok(runs)) => runs,
        Ok(Err(error)) => return Err((StatusCode::INTERNAL_SERVER_ERROR, error.to_string())),
        Err(error) => return Err((StatusCode::INTERNAL_SERVER_ERROR, error.to_string())),
    };
    coordinator.metrics.observe(workers, slots, runs);
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], coordinator.metrics.encode()))
}
