//! The client side: each stage of a run goes to the coordinator as a Ballista job; its output
//! comes back from the workers over Arrow Flight, partition by partition.

use std::sync::Arc;

use aigrid_builtins::Library;
use aigrid_executor::{AigridCodec, RemoteOutput, RemoteStages, RunError};
use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;

use tonic::transport::Endpoint;
use tower::ServiceExt as _;

use crate::causes;
use crate::job::{JobError, Jobs};
use crate::{Access, ClusterError, MAX_MESSAGE, coordinator_address};

/// How long a run waits for the cluster to have a worker before it fails.
const WAIT_FOR_WORKERS: std::time::Duration = std::time::Duration::from_secs(10);

/// A cluster that runs a run's stages.
pub struct Cluster {
    url: String,
    /// Whether the coordinator answered that it has workers, asked before the first stage.
    ready: tokio::sync::OnceCell<Result<(), String>>,
    jobs: Jobs,
    codec: AigridCodec,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Cluster {
    /// The cluster that `access` names; plans are encoded with the built-in AIs of `library`.
    /// Nothing is sent until a stage runs.
    pub fn new(access: &Access, library: Library) -> Result<Cluster, ClusterError> {
        let (host, port) = coordinator_address(&access.url)?;
        // As in-process (executor/src/run.rs `session`): rows keep their order.
        let config = SessionConfig::new_with_ballista()
            .with_round_robin_repartition(false)
            .with_ballista_coalesce_enabled(false)
            .with_ballista_grpc_client_max_message_size(MAX_MESSAGE)
            .with_ballista_use_tls(access.security.tls.is_some())
            .set_bool("datafusion.execution.enable_file_stream_work_stealing", false);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let url = format!("{}://{host}:{port}", access.security.scheme());
        // Jobs are named after the session: a cancelled run cancels them by it.
        let session = format!("aigrid-{}-{nanos}", std::process::id());
        let config = config.with_ballista_job_name(&session);
        Ok(Cluster {
            url: url.clone(),
            ready: tokio::sync::OnceCell::new(),
            jobs: Jobs { url, security: access.security.clone(), config, session },
            codec: AigridCodec::before(
                library,
                Arc::new(BallistaPhysicalExtensionCodec::default()),
            ),
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
    async fn readiness(&self) -> Result<(bool, String), String> {
        let mut endpoint = Endpoint::from_shared(self.url.clone())
            .map_err(|error| error.to_string())?
            .connect_timeout(WAIT_FOR_WORKERS)
            .timeout(WAIT_FOR_WORKERS);
        if let Some(tls) = &self.jobs.security.tls {
            endpoint = endpoint.tls_config(tls.client()).map_err(|e| causes(&e))?;
        }
        let channel = endpoint.connect().await.map_err(|e| causes(&e))?;
        let request = axum::http::Request::get(format!("{}/readyz", self.url))
            .body(tonic::body::Body::empty())
            .map_err(|error| error.to_string())?;
        let answer = channel.oneshot(request).await.map_err(|e| {
            let hint = match self.jobs.security.tls {
                Some(_) => "",
                None => " (if the cluster serves TLS, give --tls-dir)",
            };
            format!("{}{hint}", causes(&e))
        })?;
        let status = answer.status();
        let body = axum::body::to_bytes(axum::body::Body::new(answer.into_body()), 64 << 10);
        let body = tokio::time::timeout(WAIT_FOR_WORKERS, body)
            .await
            .map_err(|_| "it did not finish its answer".to_string())?
            .map_err(|error| error.to_string())?;
        let body = String::from_utf8_lossy(&body).into_owned();
        match status.as_u16() {
            200 => Ok((true, body)),
            503 => Ok((false, body)),
            _ => Err(format!("it answered `{status}`, not as a coordinator would")),
        }
    }
}

#[async_trait::async_trait]
impl RemoteStages for Cluster {
    async fn collect(&self, plan: Arc<dyn ExecutionPlan>) -> Result<RemoteOutput, RunError> {
        let ready = self.ready.get_or_init(|| self.wait_for_workers()).await;
        if let Err(error) = ready {
            return Err(RunError::Cluster(format!("{}: {error}", self.url)));
        }
        self.jobs.collect(plan, &self.codec).await.map_err(|error| match error {
            JobError::Job(error) => RunError::Cluster(format!("{}: {error}", self.url)),
            JobError::Fetch(error) => RunError::Cluster(format!(
                "{}: the stage ran, but fetching its output from a worker failed (did the \
                 worker stop?): {error}",
                self.url
            )),
        })
    }

    async fn cancel(&self) {
        self.jobs.cancel_running().await;
    }
}
