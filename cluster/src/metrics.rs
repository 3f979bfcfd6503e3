//! The coordinator's Prometheus metrics, served at `/metrics` in the OpenMetrics text format:
//! Ballista's job events (which it reports through [`SchedulerMetricsCollector`]), the pending
//! task queue, the registered workers and their task slots, and the journal's runs by state.

use ballista_core::JobId;
use ballista_scheduler::metrics::SchedulerMetricsCollector;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of [`CoordinatorMetrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The metrics of `registry` in the OpenMetrics text format ([`CONTENT_TYPE`]).
pub fn openmetrics(registry: &Registry) -> String {
    let mut text = String::new();
    // Writing to a `String` cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, registry);
    text
}

/// What happened to a job.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobEvent {
    event: &'static str,
}

/// A state of a run.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunState {
    state: &'static str,
}

/// The coordinator's metrics.
pub struct CoordinatorMetrics {
    registry: Registry,
    jobs: Family<JobEvent, Counter>,
    job_seconds: Histogram,
    pending_tasks: Gauge,
    workers: Gauge,
    slots: Gauge,
    runs: Family<RunState, Gauge>,
}

impl std::fmt::Debug for CoordinatorMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoordinatorMetrics").finish_non_exhaustive()
    }
}

/// The job events counted, each shown from the start (at 0).
const JOB_EVENTS: [&str; 4] = ["submitted", "completed", "failed", "cancelled"];

/// The run states counted.
pub const RUN_STATES: [&str; 4] = ["running", "succeeded", "failed", "interrupted"];

impl Default for CoordinatorMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("aigrid");
        let jobs = Family::<JobEvent, Counter>::default();
        for event in JOB_EVENTS {
            let _ = jobs.get_or_create(&JobEvent { event });
        }
        registry.register("jobs", "Ballista jobs (one per stage of a run), by event", jobs.clone());
        // 1 ms to about 9 hours.
        let job_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 25));
        registry.register(
            "job_seconds",
            "Time from a job's queueing to its completion or failure",
            job_seconds.clone(),
        );
        let pending_tasks = Gauge::default();
        registry.register(
            "pending_tasks",
            "Tasks ready to run that wait for a free task slot",
            pending_tasks.clone(),
        );
        let workers = Gauge::default();
        registry.register("workers", "Workers registered", workers.clone());
        let slots = Gauge::default();
        registry.register("task_slots", "Task slots of the registered workers", slots.clone());
        let runs = Family::<RunState, Gauge>::default();
        for state in RUN_STATES {
            let _ = runs.get_or_create(&RunState { state });
        }
        registry.register("runs", "Runs in the journal, by state", runs.clone());
        CoordinatorMetrics { registry, jobs, job_seconds, pending_tasks, workers, slots, runs }
    }
}

impl CoordinatorMetrics {
    /// Sets what is read when the metrics are scraped: the registered workers and their task
    /// slots, and the runs in each state (as [`RUN_STATES`]).
    pub fn observe(&self, workers: usize, slots: usize, runs: [usize; 4]) {
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.workers.set(gauge(workers));
        self.slots.set(gauge(slots));
        for (state, count) in RUN_STATES.into_iter().zip(runs) {
            self.runs.get_or_create(&RunState { state }).set(gauge(count));
        }
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        openmetrics(&self.registry)
    }

    fn count(&self, event: &'static str) {
        self.jobs.get_or_create(&JobEvent { event }).inc();
    }

    fn took(&self, queued_at: u64, ended_at: u64) {
        self.job_seconds.observe(ended_at.saturating_sub(queued_at) as f64 / 1e3);
    }
}

impl SchedulerMetricsCollector for CoordinatorMetrics {
    fn record_submitted(&self, _job: &JobId, _queued_at: u64, _submitted_at: u64) {
        self.count("submitted");
    }

    fn record_completed(&self, _job: &JobId, queued_at: u64, completed_at: u64) {
        self.count("completed");
        self.took(queued_at, completed_at);
    }

    fn record_failed(&self, _job: &JobId, queued_at: u64, failed_at: u64) {
        self.count("failed");
        self.took(queued_at, failed_at);
    }

    fn record_cancelled(&self, _job: &JobId) {
        self.count("cancelled");
    }

    fn set_pending_tasks_queue_size(&self, value: u64) {
        self.pending_tasks.set(i64::try_from(value).unwrap_or(i64::MAX));
    }

    fn gather_metrics(&self) -> ballista_core::error::Result<Option<(Vec<u8>, String)>> {
        Ok(Some((self.encode().into_bytes(), CONTENT_TYPE.to_string())))
    }
}
