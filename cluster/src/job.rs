//! One stage as one Ballista job: submitted to the coordinator, followed until it ends, and its
//! output fetched from the workers partition by partition, **in the order of the partitions**.
//! Ballista's own client (`execute_physical_plan`) fetches them in the order the scheduler
//! lists them, which is not always theirs: a stage of several partitions could come back with
//! its second half first.

use std::collections::HashMap;
use std::sync::Arc;

use aigrid_executor::{CallCounts, RemoteOutput, needs_gpu};

use ballista_core::client::BallistaClient;
use ballista_core::config::BALLISTA_SHUFFLE_COMPRESSION_CODEC;
use ballista_core::extension::{BallistaConfigGrpcEndpoint, SessionConfigExt as _};
use ballista_core::serde::protobuf::execute_query_params::Query;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::{
    ExecuteQueryParams, GetJobMetricsParams, KeyValuePair, PartitionLocation, SuccessfulJob,
    job_status, operator_metric,
};
use ballista_core::serde::scheduler::PartitionId;
use ballista_core::utils::{GrpcClientConfig, create_grpc_client_endpoint};
use ballista_core::version;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;
use datafusion_proto::physical_plan::{AsExecutionPlan as _, PhysicalExtensionCodec};
use datafusion_proto::protobuf::PhysicalPlanNode;
use futures::{StreamExt as _, TryStreamExt as _};
use prost::Message as _;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::MAX_MESSAGE;
use crate::auth::{Bearer, shape};
use crate::journal::JournalClient;
use crate::{Access, Security};

type Scheduler = SchedulerGrpcClient<InterceptedService<Channel, Bearer>>;

/// How many partitions of a job's output are fetched at once.
const FETCHES: usize = 2;

/// How often a job that needs a GPU checks that a worker with one is still there.
const GPU_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// Why a job gave no output.
#[derive(Debug)]
pub(crate) enum JobError {
    /// The job did not run: the coordinator could not be reached, refused it, or the job failed.
    Job(String),
    /// The job ran, but fetching its output from a worker failed.
    Fetch(String),
}

/// The cluster side of a run: where to send jobs and how.
pub(crate) struct Jobs {
    /// `http(s)://HOST:PORT` of the coordinator.
    pub url: String,
    pub security: Security,
    /// The session the jobs run in, with the settings their tasks get; the jobs are named
    /// after it.
    pub config: SessionConfig,
    pub session: String,
}

impl Jobs {
    /// Runs `plan` as one job and collects its output, partition after partition, with what
    /// its AI calls did.
    pub async fn collect(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        codec: &dyn PhysicalExtensionCodec,
    ) -> Result<RemoteOutput, JobError> {
        let job = |error: String| JobError::Job(error);
        let calls_ai = calls_ai(plan.as_ref());
        let gpu = needs_gpu(&plan);
        let plan_schema = plan.schema();
        if gpu && !self.gpu_worker().await.map_err(job)? {
            return Err(job(self.no_gpu()));
        }
        let node = PhysicalPlanNode::try_from_physical_plan(plan, codec)
            .map_err(|e| job(format!("cannot encode the stage's plan: {e}")))?;
        let mut scheduler = self.scheduler().await.map_err(job)?;
        let settings = self
            .config
            .options()
            .entries()
            .into_iter()
            .map(|entry| match entry.key.as_str() {
                BALLISTA_SHUFFLE_COMPRESSION_CODEC if floats_only(&plan_schema) => {
                    KeyValuePair { key: entry.key, value: Some("none".into()) }
                }
                _ => KeyValuePair { key: entry.key, value: entry.value },
            })
            .collect();
        let mut request = tonic::Request::new(ExecuteQueryParams {
            query: Some(Query::PhysicalPlan(node.encode_to_vec())),
            settings,
            session_id: self.session.clone(),
            operation_id: String::new(),
        });
        version::insert_version_header(request.metadata_mut());
        let answer = scheduler.execute_query_push(request).await.map_err(|s| job(status(&s)))?;
        let mut statuses = answer.into_inner();
        // A stage that needs a GPU waits for a worker with one: if none is left, it fails.
        let mut gpu_check = tokio::time::interval(GPU_CHECK);
        gpu_check.tick().await;
        let (done, job_id) = loop {
            let next = tokio::select! {
                next = statuses.next() => next,
                _ = gpu_check.tick(), if gpu => {
                    // Only an answer that lists no GPU worker fails the stage: a coordinator
                    // that does not answer is the status stream's to report.
                    if let Ok(false) = self.gpu_worker().await {
                        self.cancel_running().await;
                        return Err(job(self.no_gpu()));
                    }
                    continue;
                }
            };
            let Some(next) = next else {
                return Err(job("the coordinator stopped answering before the job ended".into()));
            };
            let next = next.map_err(|s| job(status(&s)))?;
            let Some(state) = next.status else { continue };
            match state.status {
                Some(job_status::Status::Successful(done)) => break (done, state.job_id),
                Some(job_status::Status::Failed(failed)) => {
                    return Err(job(format!("job {} failed: {}", state.job_id, failed.error)));
                }
                _ => continue,
            }
        };
        let fetching = std::time::Instant::now();
        let batches = self.fetch(done).await?;
        let fetch_time = fetching.elapsed();
        // The calls' counts are the job's metrics; without them the run's report lacks them.
        let calls = match calls_ai {
            true => ai_calls(&mut scheduler, job_id).await,
            false => HashMap::new(),
        };
        Ok(RemoteOutput { batches, calls, fetch_time })
    }

    /// Cancels the session's jobs that still run (the run was cancelled, or failed
    /// elsewhere), through the coordinator's journal: by their name, as a job's own id comes
    /// only with its first change of state.
    pub async fn cancel_running(&self) {
        let access = Access { url: self.url.clone(), security: self.security.clone() };
        if let Ok(journal) = JournalClient::connect(&access).await {
            let _ = journal.cancel_session(self.session.clone()).await;
        }
    }

    /// Whether a worker of the cluster offers a GPU now.
    async fn gpu_worker(&self) -> Result<bool, String> {
        let access = Access { url: self.url.clone(), security: self.security.clone() };
        let journal = JournalClient::connect(&access).await.map_err(|e| e.to_string())?;
        let workers = journal.workers().await.map_err(|e| e.to_string())?;
        Ok(workers.iter().any(|w| w.gpus > 0))
    }

    /// Why a stage that needs a GPU cannot run.
    fn no_gpu(&self) -> String {
        format!(
            "this stage needs a GPU (a node marked @gpu), and no worker of the cluster at {} \
             offers one: start a worker with a GPU (aigridc worker --gpus)",
            self.url
        )
    }

    /// The coordinator's scheduler service.
    async fn scheduler(&self) -> Result<Scheduler, String> {
        let grpc = GrpcClientConfig::from(&self.config.ballista_config());
        let mut endpoint = create_grpc_client_endpoint(self.url.clone(), Some(&grpc))
            .map_err(|e| format!("`{}` is not an address: {e}", self.url))?;
        if let Some(tls) = &self.security.tls {
            endpoint = endpoint.tls_config(tls.client()).map_err(|e| format!("TLS: {e}"))?;
        }
        let channel =
            endpoint.connect().await.map_err(|e| format!("cannot reach the coordinator: {e}"))?;
        Ok(SchedulerGrpcClient::with_interceptor(
            channel,
            Bearer::new(self.security.token.as_ref()),
        )
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE))
    }

    /// The output of a job that succeeded: its partitions in their order, each from the
    /// worker that holds it, [`FETCHES`] at a time.
    async fn fetch(&self, done: SuccessfulJob) -> Result<Vec<RecordBatch>, JobError> {
        // One location per partition, in order: Ballista keeps the old location of a partition
        // whose task ran again (its worker lost), and the newer task's is the one to read.
        let mut latest = std::collections::BTreeMap::new();
        for location in done.partition_location {
            let Some(partition) = location.partition_id.as_ref().map(|p| p.partition_id) else {
                return Err(JobError::Fetch(
                    "the coordinator sent a partition without its id".into(),
                ));
            };
            match latest.get(&partition) {
                Some(kept) if location_task(kept) >= location_task(&location) => {}
                _ => {
                    latest.insert(partition, location);
                }
            }
        }
        let locations: Vec<PartitionLocation> = latest.into_values().collect();
        let grpc = GrpcClientConfig::from(&self.config.ballista_config());
        let endpoint = Arc::new(BallistaConfigGrpcEndpoint::new(shape(&self.security)));
        let tls = self.security.tls.is_some();
        let fetches = locations.into_iter().map(|location| {
            let (grpc, endpoint) = (&grpc, endpoint.clone());
            async move {
                let stream = fetch_partition(location, grpc, tls, endpoint).await?;
                let batches: Vec<RecordBatch> =
                    stream.try_collect().await.map_err(|e| JobError::Fetch(e.to_string()))?;
                Ok::<_, JobError>(batches)
            }
        });
        // `buffered` runs them at once but yields them in order.
        let partitions: Vec<Vec<RecordBatch>> =
            futures::stream::iter(fetches).buffered(FETCHES).try_collect().await?;
        Ok(partitions.into_iter().flatten().collect())
    }
}

/// The task that wrote a partition's location: later tasks have higher numbers.
fn location_task(location: &PartitionLocation) -> u32 {
    location.map_partition_id
}

/// The stream of one partition of a job's output.
async fn fetch_partition(
    location: PartitionLocation,
    grpc: &GrpcClientConfig,
    tls: bool,
    endpoint: Arc<BallistaConfigGrpcEndpoint>,
) -> Result<datafusion::execution::SendableRecordBatchStream, JobError> {
    let fetch = |error: String| JobError::Fetch(error);
    let layout = location.layout();
    let (Some(worker), Some(partition)) = (location.executor_meta, location.partition_id) else {
        return Err(fetch("the coordinator sent a partition without its worker".into()));
    };
    let port = u16::try_from(worker.port)
        .map_err(|_| fetch(format!("the coordinator sent a bad port, {}", worker.port)))?;
    let mut client = BallistaClient::try_new(
        &worker.host,
        port,
        MAX_MESSAGE,
        tls,
        Some(endpoint),
        grpc.io_retries_times,
        grpc.io_retry_wait_time_ms,
        // HTTP/2's default windows (64 KiB) hold a fetch to one window per round trip.
        grpc.initial_connection_window_size,
        grpc.initial_stream_window_size,
    )
    .await
    .map_err(|e| fetch(format!("cannot reach worker {}:{}: {e}", worker.host, worker.port)))?;
    let partition: PartitionId = partition.into();
    client
        // Blocks of the task's output file (`do_action`), as workers fetch from each other
        // (Ballista's default), rather than record batches decoded and encoded again.
        .fetch_partition(&worker.id, &partition, location.file_id, layout, false)
        .await
        .map_err(|e| fetch(e.to_string()))
}

/// Whether every column of `schema`, a stage's output, holds floats (a tensor, embeddings): the
/// job's shuffle files are then written without compression, as LZ4 saves little on floats'
/// mantissas and its attempt costs the worker time (`benches/cluster.rs` moves the same bytes
/// both ways). The setting is the job's: its inner shuffles, if any, go uncompressed too.
fn floats_only(schema: &Schema) -> bool {
    fn floats(data_type: &DataType) -> bool {
        match data_type {
            DataType::Float16 | DataType::Float32 | DataType::Float64 => true,
            DataType::FixedSizeList(item, _) | DataType::List(item) | DataType::LargeList(item) => {
                floats(item.data_type())
            }
            _ => false,
        }
    }
    !schema.fields().is_empty() && schema.fields().iter().all(|f| floats(f.data_type()))
}

/// Whether `plan` calls an AI.
fn calls_ai(plan: &dyn ExecutionPlan) -> bool {
    plan.name() == "AiCallExec" || plan.children().iter().any(|child| calls_ai(child.as_ref()))
}

/// What the AI calls of job `job_id` did, by node, from the job's metrics; empty if the
/// coordinator does not give them.
async fn ai_calls(scheduler: &mut Scheduler, job_id: String) -> HashMap<u32, CallCounts> {
    let mut calls = HashMap::<u32, CallCounts>::new();
    let Ok(answer) = scheduler.get_job_metrics(GetJobMetricsParams { job_id }).await else {
        return calls;
    };
    let operators = answer.into_inner().stages.into_iter().flat_map(|stage| stage.operators);
    for operator in operators.filter(|o| o.operator_type == "AiCallExec") {
        let Some(node) = CallCounts::node_of(&operator.operator_desc) else { continue };
        let counts = calls.entry(node).or_default();
        for metric in operator.metrics {
            if let Some(operator_metric::Metric::Count(count)) = metric.metric {
                counts.add(&count.name, count.value);
            }
        }
    }
    calls
}

/// The text of a gRPC status from the coordinator.
fn status(status: &tonic::Status) -> String {
    match status.code() {
        tonic::Code::Unauthenticated => {
            format!("the coordinator refused the call: {}", status.message())
        }
        tonic::Code::Unavailable => format!("cannot reach the coordinator: {}", status.message()),
        _ => status.message().to_string(),
    }
}
