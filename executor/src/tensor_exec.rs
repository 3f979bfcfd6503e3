//! `TensorKernelExec`: a row-wise tensor operation of `std.tensor` (an elementwise function, a
//! fused elementwise chain, a softmax, normalisation, top-k or reduction within each row) as a
//! DataFusion extension node, streaming the rows of its input.
//!
//! Contract: its input yields one `arrow.fixed_shape_tensor` column, one row per entry of the
//! tensor's leading dimension. Each input batch becomes one output batch of as many rows: the
//! operation applied to the tensor of that batch's rows. The operation treats rows
//! independently ([`TensorOp::row_wise`]), so how the rows are batched does not change the
//! result, and the output equals the operation on the whole tensor. Partitions and order are
//! kept: output partition `i` is input partition `i`, transformed. Memory: one input and one
//! output batch per partition at a time. The kernel runs on the thread that polls the stream,
//! as DataFusion's own operators compute (large batches split over rayon's threads). Errors: a
//! batch that is not a tensor of the input's row shape, or that the kernel rejects, ends the
//! stream with that error. Cancellation: dropping the stream drops the input's stream; a
//! kernel already running finishes its batch.

use std::fmt;
use std::sync::Arc;

use aigrid_kernels::{Data, Tensor};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use futures::StreamExt as _;

use crate::RunError;
use crate::elements::{cast_column, cast_field, element_type, item_type};
use crate::kernel::TensorOp;
use crate::one_input::one_input;

/// The extension node that runs a row-wise [`TensorOp`] over the batches of its input.
#[derive(Debug)]
pub struct TensorKernelExec {
    op: TensorOp,
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
}

impl TensorKernelExec {
    /// `op` streaming over `input`, when `input` yields one tensor column and `op` treats its
    /// rows independently; `None` when the operation needs the whole tensor.
    pub fn row_wise(
        op: TensorOp,
        input: Arc<dyn ExecutionPlan>,
    ) -> Result<Option<TensorKernelExec>, RunError> {
        let schema = input.schema();
        let [field] = schema.fields().as_ref() else { return Ok(None) };
        let Ok(row_shape) = Tensor::row_shape(field) else { return Ok(None) };
        if !op.row_wise(row_shape.len() + 1) {
            return Ok(None);
        }
        // A cast converts the column: it runs on every element type, the kernels' or not.
        if let TensorOp::Cast(name) = &op {
            let to = element_type(name).ok_or_else(|| {
                RunError::Param(format!("`{name}` is not an element type `cast` converts to"))
            })?;
            let schema = Arc::new(Schema::new(vec![cast_field(field, &to)?]));
            return Ok(Some(TensorKernelExec::new(op, input, schema)));
        }
        // The result's row shape depends on the operation (a top-k, a reduction): it is the
        // shape the operation gives one row of zeros.
        let elements = row_shape.iter().product::<usize>();
        let data = match field.data_type() {
            DataType::FixedSizeList(item, _) => match item.data_type() {
                DataType::Float32 => Data::F32(vec![0.0; elements].into()),
                DataType::Float64 => Data::F64(vec![0.0; elements].into()),
                DataType::Int64 => Data::I64(vec![0; elements].into()),
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        let probe = Tensor::new(std::iter::once(1).chain(row_shape).collect(), data)?;
        let (field, _) = op.run(&[probe])?.to_arrow("tensor")?;
        let schema = Arc::new(Schema::new(vec![field]));
        Ok(Some(TensorKernelExec::new(op, input, schema)))
    }

    /// `op` over `input`, giving rows of `schema` (what [`TensorKernelExec::row_wise`] found).
    pub fn new(op: TensorOp, input: Arc<dyn ExecutionPlan>, schema: SchemaRef) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            input.properties().partitioning.clone(),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        TensorKernelExec { op, input, properties: Arc::new(properties) }
    }

    /// The operation.
    pub fn op(&self) -> &TensorOp {
        &self.op
    }
}

/// `op` on the tensor of `batch`'s rows, as a batch of `schema`.
fn apply(op: &TensorOp, batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, RunError> {
    if batch.num_rows() == 0 {
        return Ok(RecordBatch::new_empty(schema.clone()));
    }
    let input = batch.schema();
    let (Some(field), Some(column)) = (input.fields().first(), batch.columns().first()) else {
        return Err(RunError::Internal("a tensor batch without a column".into()));
    };
    // A cast's target is its output's element type, found once in `row_wise`.
    if let (TensorOp::Cast(_), Some(output)) = (op, schema.fields().first()) {
        let (_, array) = cast_column(field, column, &item_type(output))?;
        return Ok(RecordBatch::try_new(schema.clone(), vec![array])?);
    }
    let tensor = Tensor::from_arrow(field, column.as_ref())?;
    let (_, array) = op.run(&[tensor])?.to_arrow("tensor")?;
    Ok(RecordBatch::try_new(schema.clone(), vec![array])?)
}

impl DisplayAs for TensorKernelExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "TensorKernelExec: {:?}", self.op)
    }
}

impl ExecutionPlan for TensorKernelExec {
    fn name(&self) -> &str {
        "TensorKernelExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = one_input(children, "TensorKernelExec")?;
        Ok(Arc::new(TensorKernelExec::new(self.op.clone(), input, self.schema())))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let op = self.op.clone();
        let schema = self.schema();
        let output = schema.clone();
        let batches = input.map(move |batch| {
            apply(&op, &batch?, &output).map_err(|e| DataFusionError::External(Box::new(e)))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches)))
    }
}
