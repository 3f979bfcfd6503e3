//! What a run tells while it goes on: an [`Observer`] hears of each node as it starts and ends,
//! and of each stage's physical plan as it starts running; the plan's DataFusion metrics count
//! rows as they flow ([`rows_read`]), so a progress display can poll them.

use std::fmt;
use std::sync::Arc;

use datafusion::physical_plan::ExecutionPlan;

use crate::NodeReport;

/// Hears what a run does, from the run's own tasks: each method must return quickly.
pub trait Observer: Send + Sync + fmt::Debug {
    /// The run starts, with `nodes` nodes to run.
    fn run_started(&self, _nodes: usize) {}
    /// Node `id` (`what`: `sql`, `ai embed`, `std.io.read_csv`) starts.
    fn node_started(&self, _id: u32, _what: &str) {}
    /// A stage's physical plan starts running: the nodes that streamed into it run now.
    fn stage_started(&self, _plan: &Arc<dyn ExecutionPlan>) {}
    /// A node is done. A streamed AI node's requests are counted in the run's final report.
    fn node_finished(&self, _report: &NodeReport) {}
}

/// Rows produced so far by the sources at the leaves of `plan` (file scans, in-memory tables),
/// from their live metrics; 0 for sources that keep none.
pub fn rows_read(plan: &dyn ExecutionPlan) -> usize {
    let children = plan.children();
    if children.is_empty() {
        return plan.metrics().and_then(|m| m.output_rows()).unwrap_or(0);
    }
    children.into_iter().map(|child| rows_read(child.as_ref())).sum()
}
