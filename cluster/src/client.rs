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

/// How long a run waits for the cluster to have a worker before it fails.
const WAIT_FOR_WORKERS: std::time::Duration = std::time::Duration::from_secs(10);

/// A cluster that runs a run's stages.
pub struct Cluster {
    url: String,
    host: String,
    port: u16,
    /// Whether the coordinator answered that it has workers, asked before the first stage.
    ready: tokio::sync::OnceCell<Result<(), String>>,
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
            .with_ballista_job_name("aigrid")
            .set_bool("datafusion.execution.enable_file_stream_work_stealing", false);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Ok(Cluster {
            url: format!("http://{host}:{port}"),
            host,
            port,
            ready: tokio::sync::OnceCell::new(),
            config,
            codec: AigridCodec::before(
                library,
                Arc::new(BallistaPhysicalExtensionCodec::default()),
            ),
            session: format!("aigrid-{}-{nanos}", std::process::id()),
        })
    }
}

impl Cluster {
    /// Waits until the coordinator says it has a worker (its `/readyz`), for up to
    /// [`WAIT_FOR_WORKERS`]: Ballista would queue a job for a cluster without workers forever.
    async fn wait_for_workers(&self) -> Result<(), String> {
        let started = std::time::Instant::now();
        loop {
            match self.readiness().await {
                Ok((true, _)) => return Ok(()),
                Ok((false, answer)) if started.elapsed() >= WAIT_FOR_WORKERS => {
                    return Err(format!(
                        "the coordinator has no worker ({}); start one with `aigridc worker \
                         --coordinator {}`",
                        answer.trim(),
                        self.url
                    ));
                }
                Ok((false, _)) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
                Err(error) => return Err(format!("cannot reach the coordinator: {error}")),
            }
        }
    }

    /// The coordinator's readiness: whether it is ready, and what it said.
    async fn readiness(&self) -> std::io::Result<(bool, String)> {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let connect = tokio::net::TcpStream::connect((self.host.as_str(), self.port));
        let mut stream = tokio::time::timeout(WAIT_FOR_WORKERS, connect).await??;
        let request = format!(
            "GET /readyz HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\n\r\n",
            self.host, self.port
        );
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        let mut limited = (&mut stream).take(64 << 10);
        tokio::time::timeout(WAIT_FOR_WORKERS, limited.read_to_end(&mut answer)).await??;
        let answer = String::from_utf8_lossy(&answer);
        let status = answer.split_whitespace().nth(1).unwrap_or_default();
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        match status {
            "200" => Ok((true, body.to_string())),
            "503" => Ok((false, body.to_string())),
            _ => Err(std::io::Error::other(format!(
                "it answered `{}`, not as a coordinator would",
                answer.lines().next().unwrap_or_default()
            ))),
        }
    }
}

#[async_trait::async_trait]
impl RemoteStages for Cluster {
    async fn collect(&self, plan: Arc<dyn ExecutionPlan>) -> Result<Vec<RecordBatch>, RunError> {
        let ready = self.ready.get_or_init(|| self.wait_for_workers()).await;
        if let Err(error) = ready {
            return Err(RunError::Cluster(format!("{}: {error}", self.url)));
        }
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
        stream.try_collect().await.map_err(|error| {
            RunError::Cluster(format!(
                "{}: the stage ran, but fetching its output from a worker failed (did the \
                 worker stop?): {error}",
                self.url
            ))
        })
    }
}
