//! The client side: each stage of a run goes to the coordinator as a Ballista job; its output
//! comes back from the workers over Arrow Flight, partition by partition.

use std::sync::Arc;

use aigrid_builtins::Library;
use aigrid_executor::{AigridCodec, RemoteStages, RunError};
use ballista_core::execution_plans::execute_physical_plan;
use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::arrow::array::RecordBatch;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;
use datafusion_proto::protobuf::PhysicalPlanNode;
use futures::TryStreamExt as _;

use crate::{ClusterError, MAX_MESSAGE, coordinator_address};

/// A cluster that runs a run's stages.
pub struct Cluster {
    url: String,
    config: SessionConfig,
    codec: AigridCodec,
    session: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Cluster {
    /// The cluster whose coordinator is at `url` (`HOST:PORT` or `http://HOST:PORT`); plans
    /// are encoded with the built-in AIs of `library`. Nothing is sent until a stage runs.
    pub fn new(url: &str, library: Library) -> Result<Cluster, ClusterError> {
        let (host, port) = coordinator_address(url)?;
        // As in-process (executor/src/run.rs `session`): rows keep their order.
        let config = SessionConfig::new_with_ballista()
            .with_round_robin_repartition(false)
            .with_ballista_coalesce_enabled(false)
            .with_ballista_grpc_client_max_message_size(MAX_MESSAGE)
            .with_ballista_job_name("aigrid");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Ok(Cluster {
            url: format!("http://{host}:{port}"),
            config,
            codec: AigridCodec::before(
                library,
                Arc::new(BallistaPhysicalExtensionCodec::default()),
            ),
            session: format!("aigrid-{}-{nanos}", std::process::id()),
        })
    }
}

#[async_trait::async_trait]
impl RemoteStages for Cluster {
    async fn collect(&self, plan: Arc<dyn ExecutionPlan>) -> Result<Vec<RecordBatch>, RunError> {
        let stream = execute_physical_plan::<PhysicalPlanNode>(
            self.url.clone(),
            &self.config.ballista_config(),
            plan,
            &self.codec,
            self.session.clone(),
            self.config.clone(),
        )
        .await
        .map_err(|error| RunError::Cluster(format!("{}: {error}", self.url)))?;
        stream
            .try_collect()
            .await
            .map_err(|error| RunError::Cluster(format!("{}: {error}", self.url)))
    }
}
