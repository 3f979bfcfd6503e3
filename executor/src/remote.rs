//! [`RemoteStages`]: where a run's stages go when they do not run in this process. The driver
//! stays here (it plans the nodes, keeps the values and runs whole-value kernels); each stage's
//! physical plan is handed to the [`RemoteStages`] of [`RunOptions`](crate::RunOptions), which
//! runs it elsewhere (as a Ballista job, in `aigrid-cluster`) and returns its batches, with
//! what the stage's AI calls did there ([`CallCounts`], read from the [`AiCallExec`]s'
//! metrics), which the driver adds to its own counts.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use datafusion::arrow::array::RecordBatch;
use datafusion::physical_plan::ExecutionPlan;

use crate::RunError;
use crate::ai_call::{AiCallExec, TaskStop};

/// Runs stages' physical plans outside this process.
#[async_trait::async_trait]
pub trait RemoteStages: Send + Sync + fmt::Debug {
    /// Runs `plan` to the end and returns its batches, partition after partition, in order.
    /// The plan has aigrid's extension nodes in it: the other side must decode them with
    /// [`AigridCodec`](crate::AigridCodec).
    async fn collect(&self, plan: Arc<dyn ExecutionPlan>) -> Result<RemoteOutput, RunError>;

    /// Stops what still runs of the stages this run sent, when the run is cancelled or fails.
    async fn cancel(&self) {}
}

/// What a stage run elsewhere gives back.
#[derive(Debug, Default)]
pub struct RemoteOutput {
    /// Its batches, partition after partition, in order.
    pub batches: Vec<RecordBatch>,
    /// What its AI calls did, by the node they belong to (absent if not known).
    pub calls: HashMap<u32, CallCounts>,
    /// How long fetching its batches from where they were computed took.
    pub fetch_time: std::time::Duration,
}

/// What the requests of one AI node did elsewhere, summed over the tasks that made them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Requests answered.
    pub requests: u64,
    /// Rows that became null after every binding failed.
    pub null_rows: u64,
    /// Attempts that failed.
    pub failed_attempts: u64,
    /// Requests answered from the answers kept in the work directory.
    pub reused: u64,
    /// The requests each binding answered, by card id.
    pub answered: Vec<(String, u64)>,
}

impl CallCounts {
    /// Adds one of an [`AiCallExec`]'s metrics, `name` with `value` (as its `metrics()` names
    /// them); others are ignored.
    pub fn add(&mut self, name: &str, value: u64) {
        match name {
            metric::REQUESTS => self.requests = self.requests.saturating_add(value),
            metric::NULL_ROWS => self.null_rows = self.null_rows.saturating_add(value),
            metric::FAILED_ATTEMPTS => {
                self.failed_attempts = self.failed_attempts.saturating_add(value);
            }
            metric::REUSED => self.reused = self.reused.saturating_add(value),
            _ => {
                if let Some(card) = name.strip_prefix(metric::ANSWERED) {
                    match self.answered.iter_mut().find(|(c, _)| c == card) {
                        Some((_, n)) => *n = n.saturating_add(value),
                        None => self.answered.push((card.to_string(), value)),
                    }
                }
            }
        }
    }

    /// The node of the [`AiCallExec`] that `display` shows (its `DisplayAs` text), if it
    /// names one.
    pub fn node_of(display: &str) -> Option<u32> {
        display.rsplit_once(metric::NODE).and_then(|(_, node)| node.trim().parse().ok())
    }
}

/// The names of an [`AiCallExec`]'s metrics.
pub(crate) mod metric {
    pub const REQUESTS: &str = "requests";
    pub const NULL_ROWS: &str = "null_rows";
    pub const FAILED_ATTEMPTS: &str = "failed_attempts";
    pub const REUSED: &str = "reused";
    /// Followed by the card id.
    pub const ANSWERED: &str = "answered ";
    /// In its display text, before the node id.
    pub const NODE: &str = " node ";
}

/// `plan` with each AI call counting its metrics from zero: a worker gives each task its own
/// (the tasks of one Ballista job share one decoded plan, whose counts would add up), so
/// that the metrics a task reports are its own requests. Once `stop` is raised, its AI calls
/// make no new request.
pub fn recount_ai_calls(
    plan: Arc<dyn ExecutionPlan>,
    stop: &TaskStop,
) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
    use datafusion::common::tree_node::{Transformed, TreeNode as _};
    let recounted = plan.transform_up(|node| match node.downcast_ref::<AiCallExec>() {
        Some(exec) => {
            Ok(Transformed::yes(Arc::new(exec.recounted(stop)) as Arc<dyn ExecutionPlan>))
        }
        None => Ok(Transformed::no(node)),
    })?;
    Ok(recounted.data)
}

/// Adds `calls` to the counts of the AI calls in `plan`, the plan that ran elsewhere, so that
/// the run's report has them as if they had run here.
pub(crate) fn add_calls(plan: &Arc<dyn ExecutionPlan>, calls: &HashMap<u32, CallCounts>) {
    if let Some(exec) = plan.downcast_ref::<AiCallExec>() {
        let call = exec.call();
        let counts = call.responses.as_ref().and_then(|r| calls.get(&r.node()));
        if counts.is_none() {
            call.uncounted.store(true, Ordering::Relaxed);
        }
        if let Some(counts) = counts {
            call.calls.fetch_add(counts.requests, Ordering::Relaxed);
            call.null_rows.fetch_add(counts.null_rows, Ordering::Relaxed);
            call.failed_attempts.fetch_add(counts.failed_attempts, Ordering::Relaxed);
            call.reused.fetch_add(counts.reused, Ordering::Relaxed);
            for (card, n) in &counts.answered {
                if let Some(binding) = call.bindings.iter().find(|b| &b.card == card) {
                    binding.answered.fetch_add(*n, Ordering::Relaxed);
                }
            }
        }
    }
    for child in plan.children() {
        add_calls(child, calls);
    }
}
