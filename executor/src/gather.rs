//! `GatherExec`: an aigrid operation that needs the whole of its inputs (a matrix product, a
//! top-k, a write, a zip of columns) as a DataFusion extension node.
//!
//! Contract: one output partition. On first poll it reads every partition of every input to
//! the end (the batches in partition order), then runs the operation on a blocking thread (kernels are CPU-bound and use rayon),
//! then yields the operation's batches. Memory: all of its inputs and its output. Errors: the
//! first error of an input or of the operation ends the stream. Cancellation: dropping the
//! stream drops the input streams; an operation already running finishes on its thread and its
//! result is dropped.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream, collect_partitioned,
};
use futures::StreamExt as _;

use crate::RunError;

/// An operation over whole inputs.
pub trait Gathered: fmt::Debug + Send + Sync + std::any::Any {
    /// Its name in plans (`matmul`, `chunk`).
    fn name(&self) -> &str;
    /// Itself, to be told apart by the plan codec.
    fn as_any(&self) -> &dyn std::any::Any;
    /// Runs it: `inputs[i]` holds every batch of input `i`.
    fn run(&self, inputs: Vec<Vec<RecordBatch>>) -> Result<Vec<RecordBatch>, RunError>;
}

/// The extension node that runs a [`Gathered`] operation.
#[derive(Debug)]
pub struct GatherExec {
    op: Arc<dyn Gathered>,
    inputs: Vec<Arc<dyn ExecutionPlan>>,
    properties: Arc<PlanProperties>,
}

impl GatherExec {
    /// `op` over `inputs`, giving rows of `schema`.
    pub fn new(
        op: Arc<dyn Gathered>,
        inputs: Vec<Arc<dyn ExecutionPlan>>,
        schema: SchemaRef,
    ) -> GatherExec {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        GatherExec { op, inputs, properties: Arc::new(properties) }
    }

    /// The operation.
    pub fn op(&self) -> &Arc<dyn Gathered> {
        &self.op
    }
}

impl DisplayAs for GatherExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "GatherExec: {}", self.op.name())
    }
}

impl ExecutionPlan for GatherExec {
    fn name(&self) -> &str {
        "GatherExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        self.inputs.iter().collect()
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
        Ok(Arc::new(GatherExec::new(self.op.clone(), inputs, self.schema())))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "GatherExec has one partition, not {partition}"
            )));
        }
        let op = self.op.clone();
        let inputs = self.inputs.clone();
        let run = async move {
            let mut gathered = Vec::with_capacity(inputs.len());
            for input in inputs {
                let partitions = collect_partitioned(input, context.clone()).await?;
                gathered.push(partitions.into_iter().flatten().collect());
            }
            let batches = tokio::task::spawn_blocking(move || op.run(gathered))
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)))?
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            Ok::<_, DataFusionError>(futures::stream::iter(batches.into_iter().map(Ok)))
        };
        let stream = futures::stream::once(run).flat_map(|result| match result {
            Ok(batches) => batches.boxed(),
            Err(error) => futures::stream::once(async { Err(error) }).boxed(),
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema(), stream)))
    }
}
