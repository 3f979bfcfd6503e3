//! The coordinator: Ballista's scheduler in push mode, with aigrid's codec and a quick verdict
//! on dead workers, and aigrid's run journal. Both are gRPC services on one port, with the
//! health probes (`/healthz`, `/readyz`) that Ballista serves there and Prometheus metrics
//! (`/metrics`).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use aigrid_builtins::Library;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::serve::ListenerExt as _;
use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::serde::protobuf::scheduler_grpc_server::SchedulerGrpcServer;
use ballista_core::serde::{BallistaCodec, BallistaLogicalExtensionCodec};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_server::SchedulerServer;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use tokio::net::TcpListener;

use crate::journal::{JournalService, Store};
use crate::metrics::{CONTENT_TYPE, CoordinatorMetrics};
use crate::{ClusterError, EXECUTOR_TIMEOUT, MAX_MESSAGE, physical_codec};

type Scheduler = SchedulerServer<LogicalPlanNode, PhysicalPlanNode>;

/// Serves a coordinator on `listener` until the process ends, with its run journal in `data`.
/// Built-in AIs in the plans it receives are found in `library` (the coordinator decodes plans
/// to cut them into stages; it never runs them).
pub async fn serve_coordinator(
    listener: TcpListener,
    library: Library,
    data: &Path,
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
    services.add_service(JournalService::server(store.clone()));
    let health = axum::Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(scrape))
        .with_state(Arc::new(Coordinator { scheduler, store, metrics }));
    let routes = services.routes().into_axum_router().merge(health);
    // Without TCP_NODELAY an answer written in two pieces (a gRPC answer's frames) waits for
    // the peer's delayed ACK, 40 ms on Linux.
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    // The scheduler asks for the peer's address of a worker that registers without a host.
    axum::serve(listener, routes.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
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
