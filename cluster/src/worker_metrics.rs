//! The worker's Prometheus metrics: its tasks (by how they ended, how many run now, and how
//! long they took), counted by an [`ExecutionEngine`] around Ballista's own, and the fetches
//! of its task outputs, counted by its Flight server (`worker_flight.rs`). The engine also
//! gives each task's AI calls counts of their own, which go back to the run's driver with
//! the job's metrics.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aigrid_executor::{TaskStop, recount_ai_calls};
use ballista_core::JobId;
use ballista_core::client_pool::{BallistaClientPool, PooledClient};
use ballista_core::extension::BallistaConfigGrpcEndpoint;
use ballista_core::serde::protobuf::{
    RuntimeStatsReport, ShuffleWritePartition, TaskColumnStats, WindowStateReport,
};
use ballista_core::utils::GrpcClientConfig;
use ballista_executor::client_pool::DefaultBallistaClientPool;
use ballista_executor::execution_engine::{
    DefaultExecutionEngine, ExecutionEngine, QueryStageExecutor,
};
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::prelude::SessionConfig;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::metrics::openmetrics;

/// How a task output was fetched: decoded record batches (`do_get`) or file blocks
/// (`do_action`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Fetch {
    pub kind: &'static str,
}

/// How a task ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskEnd {
    state: &'static str,
}

/// The worker's metrics.
pub struct WorkerMetrics {
    registry: Registry,
    pub(crate) fetches: Family<Fetch, Counter>,
    pub(crate) failed: Counter,
    pub(crate) bytes: Counter,
    pub(crate) fetch_seconds: Histogram,
    peer_fetches: Counter,
    tasks: Family<TaskEnd, Counter>,
    running: Gauge,
    task_seconds: Histogram,
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("aigrid");
        let tasks = Family::<TaskEnd, Counter>::default();
        for state in ["succeeded", "failed"] {
            let _ = tasks.get_or_create(&TaskEnd { state });
        }
        registry.register("tasks", "Tasks this worker ran, by how they ended", tasks.clone());
        let running = Gauge::default();
        registry.register("running_tasks", "Tasks running on this worker now", running.clone());
        // 100 µs to about 30 minutes, for tasks and fetches alike.
        let buckets = || exponential_buckets(0.0001, 2.0, 25);
        let task_seconds = Histogram::new(buckets());
        registry.register(
            "task_seconds",
            "Time a task took, from its start to its output written",
            task_seconds.clone(),
        );
        let fetches = Family::<Fetch, Counter>::default();
        for kind in ["do_get", "do_action"] {
            let _ = fetches.get_or_create(&Fetch { kind });
        }
        registry.register(
            "fetches",
            "Task outputs fetched from this worker over Arrow Flight, by call",
            fetches.clone(),
        );
        let failed = Counter::default();
        registry.register("fetch_failures", "Fetches that failed", failed.clone());
        let bytes = Counter::default();
        registry.register(
            "sent_bytes",
            "Bytes of task outputs sent over Arrow Flight (message bodies and headers)",
            bytes.clone(),
        );
        let fetch_seconds = Histogram::new(buckets());
        registry.register(
            "fetch_seconds",
            "Time from a fetch's request to the end of its answer",
            fetch_seconds.clone(),
        );
        let peer_fetches = Counter::default();
        registry.register(
            "peer_fetches",
            "Task outputs this worker fetched from other workers, over their Flight services",
            peer_fetches.clone(),
        );
        WorkerMetrics {
            registry,
            peer_fetches,
            fetches,
            failed,
            bytes,
            fetch_seconds,
            tasks,
            running,
            task_seconds,
        }
    }
}

impl WorkerMetrics {
    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        openmetrics(&self.registry)
    }
}

/// Ballista's execution engine (with its pool of connections to other workers, kept idle for
/// `client_ttl`), each task counted into `metrics`.
pub(crate) fn counting_engine(
    metrics: Arc<WorkerMetrics>,
    client_ttl: Duration,
) -> Arc<dyn ExecutionEngine> {
    let pool = Arc::new(CountingPool {
        inner: DefaultBallistaClientPool::with_eviction_thread(client_ttl),
        fetches: metrics.peer_fetches.clone(),
    });
    Arc::new(CountingEngine { inner: DefaultExecutionEngine::with_client_pool(pool), metrics })
}

/// Ballista's pool of connections to other workers, each fetch from one counted: a task's
/// shuffle reader takes a connection from it for every task output it reads from another
/// worker (and reads its own worker's outputs from the disk).
#[derive(Debug)]
struct CountingPool {
    inner: DefaultBallistaClientPool,
    fetches: Counter,
}

#[async_trait::async_trait]
impl BallistaClientPool for CountingPool {
    async fn acquire(
        &self,
        host: &str,
        port: u16,
        config: &GrpcClientConfig,
        customize_endpoint: Option<Arc<BallistaConfigGrpcEndpoint>>,
    ) -> ballista_core::error::Result<PooledClient> {
        self.fetches.inc();
        self.inner.acquire(host, port, config, customize_endpoint).await
    }

    async fn evict_idle(&self) {
        self.inner.evict_idle().await;
    }
}

/// An execution engine whose tasks are counted.
struct CountingEngine {
    inner: DefaultExecutionEngine,
    metrics: Arc<WorkerMetrics>,
}

impl ExecutionEngine for CountingEngine {
    fn create_query_stage_exec(
        &self,
        job_id: JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> Result<Arc<dyn QueryStageExecutor>> {
        // Each task's AI calls count their own requests: the job's metrics add them up. They
        // stop asking when the task is dropped.
        let stop = TaskStop::default();
        let plan = recount_ai_calls(plan, &stop)?;
        let inner = self.inner.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            plan,
            work_dir,
            config,
        )?;
        Ok(Arc::new(CountedStage { inner, metrics: self.metrics.clone(), stop }))
    }
}

/// A task's stage executor, counted when it runs; its AI calls stop when it is dropped.
struct CountedStage {
    inner: Arc<dyn QueryStageExecutor>,
    metrics: Arc<WorkerMetrics>,
    stop: TaskStop,
}

/// Raises its stop when dropped: Ballista cancels a task by dropping its future.
struct RaiseOnDrop<'a>(&'a TaskStop);

impl Drop for RaiseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.raise();
    }
}

impl fmt::Debug for CountedStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl fmt::Display for CountedStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

/// Counts a task as running while it lives, and as ended (failed unless told) when dropped: a
/// task cancelled midway is counted as failed.
struct Running<'a> {
    metrics: &'a WorkerMetrics,
    started: Instant,
    succeeded: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.metrics.running.dec();
        self.metrics.task_seconds.observe(self.started.elapsed().as_secs_f64());
        let state = if self.succeeded { "succeeded" } else { "failed" };
        self.metrics.tasks.get_or_create(&TaskEnd { state }).inc();
    }
}

#[async_trait::async_trait]
impl QueryStageExecutor for CountedStage {
    async fn execute_query_stage(
        &self,
        task_id: usize,
        context: Arc<TaskContext>,
    ) -> Result<Vec<ShuffleWritePartition>> {
        let _stop = RaiseOnDrop(&self.stop);
        self.metrics.running.inc();
        let mut running =
            Running { metrics: &self.metrics, started: Instant::now(), succeeded: false };
        let written = self.inner.execute_query_stage(task_id, context).await;
        running.succeeded = written.is_ok();
        written
    }

    fn collect_plan_metrics(&self) -> Vec<MetricsSet> {
        self.inner.collect_plan_metrics()
    }

    fn collect_runtime_stats_reports(&self) -> Vec<RuntimeStatsReport> {
        self.inner.collect_runtime_stats_reports()
    }

    fn collect_window_state_reports(&self) -> Result<Vec<WindowStateReport>> {
        self.inner.collect_window_state_reports()
    }

    fn collect_column_stats(&self) -> Vec<TaskColumnStats> {
        self.inner.collect_column_stats()
    }
}
