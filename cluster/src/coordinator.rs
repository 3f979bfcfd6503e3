//! The coordinator: Ballista's scheduler in push mode, with aigrid's codec and a quick
//! verdict on dead workers.

use std::sync::Arc;

use aigrid_builtins::Library;
use ballista_core::config::TaskSchedulingPolicy;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service_with_listener};
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use tokio::net::TcpListener;

use crate::{ClusterError, EXECUTOR_TIMEOUT, MAX_MESSAGE, physical_codec};

/// Serves a coordinator on `listener` until the process ends. Built-in AIs in the plans it
/// receives are found in `library` (the coordinator decodes plans to cut them into stages; it
/// never runs them).
pub async fn serve_coordinator(
    listener: TcpListener,
    library: Library,
) -> Result<(), ClusterError> {
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
        override_physical_codec: Some(physical_codec(library)),
        ..SchedulerConfig::default()
    };
    let config = Arc::new(config);
    let cluster = BallistaCluster::new_from_config(&config).await?;
    let scheduler = create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, config).await?;
    start_grpc_service_with_listener(listener, scheduler).await?;
    Ok(())
}
