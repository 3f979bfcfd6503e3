//! Where a node runs on a cluster: `@gpu` (or `@resources(gpu = N)`) asks for a worker with a
//! GPU. The driver wraps the physical plan of such a node in [`GpuExec`], which passes its
//! input through untouched; a cluster's coordinator gives the tasks of any stage with one
//! inside ([`needs_gpu`]) only to workers that have a GPU. In-process the marker is not added.

use std::fmt;
use std::sync::Arc;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};

use crate::one_input::one_input;

/// Marks its input as needing a GPU; its batches are its input's, partition for partition.
#[derive(Debug)]
pub struct GpuExec {
    input: Arc<dyn ExecutionPlan>,
}

impl GpuExec {
    /// `input`, to be run on a worker with a GPU.
    pub fn new(input: Arc<dyn ExecutionPlan>) -> GpuExec {
        GpuExec { input }
    }
}

/// Whether a task of `plan` needs a worker with a GPU: a [`GpuExec`] is in it. The walk ends at
/// a stage's inputs (shuffle readers have no children), so only this stage's nodes count.
pub fn needs_gpu(plan: &Arc<dyn ExecutionPlan>) -> bool {
    plan.downcast_ref::<GpuExec>().is_some() || plan.children().into_iter().any(needs_gpu)
}

impl DisplayAs for GpuExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "GpuExec")
    }
}

impl ExecutionPlan for GpuExec {
    fn name(&self) -> &str {
        "GpuExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn apply_expressions(
        &self,
        _: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        inputs: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(GpuExec::new(one_input(inputs, "GpuExec")?)))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }
}
