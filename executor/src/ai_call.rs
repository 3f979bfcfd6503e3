//! `AiCallExec`: calls of a grid AI as a DataFusion extension node.
//!
//! Contract: as many partitions as its input, which is the call's streamed argument. Each input
//! batch is cut into pieces of at most the card's `batch_size` rows, and each piece is answered
//! by the first binding (primary, then fallbacks in rank order) that succeeds within its
//! attempts (`@retry(n)` gives n more); the output has one row per input row, in order.
//! Streaming: one piece in flight per partition, run on a blocking thread. Errors: when every
//! binding has failed, the stream ends with an error naming each binding and its error, unless
//! the node has `@on_error(null)`: then the piece's rows are null. The whole arguments (fitted
//! examples, constants) are prepared once per binding. Cancellation: dropping the stream stops
//! after the piece in flight. Memory: one input batch and its answer.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use aigrid_builtins::{Args, Builtin, Prepared, Value as AiValue};
use datafusion::arrow::array::{RecordBatch, new_null_array};
use datafusion::arrow::datatypes::SchemaRef;
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
use crate::kernel::conform;

/// One grid AI bound to the call.
pub struct Binding {
    /// Its card's id.
    pub card: String,
    /// The built-in AI that serves it.
    pub builtin: Arc<dyn Builtin>,
    prepared: OnceLock<Result<Arc<dyn Prepared>, String>>,
}

impl Binding {
    /// The binding of card `card` to `builtin`.
    pub fn new(card: String, builtin: Arc<dyn Builtin>) -> Binding {
        Binding { card, builtin, prepared: OnceLock::new() }
    }
}

impl fmt::Debug for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Binding").field("card", &self.card).finish_non_exhaustive()
    }
}

/// What an AI call needs besides its input.
#[derive(Debug)]
pub struct AiCall {
    /// The `ai` requirement's name.
    pub name: String,
    /// The bindings, primary first.
    pub bindings: Vec<Binding>,
    /// The whole arguments.
    pub whole: Args,
    /// Whether the streamed argument is a table (else a column).
    pub streams_table: bool,
    /// More attempts per binding.
    pub retry: u32,
    /// Give nulls when every binding fails.
    pub on_error_null: bool,
    /// The most rows per request.
    pub batch_size: usize,
    /// The result's schema.
    pub schema: SchemaRef,
    /// Requests answered, over all bindings.
    pub calls: AtomicU64,
    /// Rows that became null after every binding failed.
    pub null_rows: AtomicU64,
}

impl AiCall {
    /// Answers one piece of input.
    fn answer(&self, rows: &RecordBatch) -> Result<RecordBatch, RunError> {
        let input = if self.streams_table {
            AiValue::Table(rows.clone())
        } else {
            AiValue::Column(rows.schema().fields()[0].clone(), rows.column(0).clone())
        };
        let mut tried = Vec::new();
        for binding in &self.bindings {
            let prepared = binding.prepared.get_or_init(|| {
                binding.builtin.prepare(&self.whole).map(Arc::from).map_err(|e| e.to_string())
            });
            let prepared = match prepared {
                Ok(prepared) => prepared,
                Err(error) => {
                    tried.push(format!("`{}`: {error}", binding.card));
                    continue;
                }
            };
            let mut last = String::new();
            for _ in 0..=self.retry {
                match prepared
                    .call(&input)
                    .map_err(|e| e.to_string())
                    .and_then(|out| self.conform(out, rows.num_rows()).map_err(|e| e.to_string()))
                {
                    Ok(batch) => {
                        self.calls.fetch_add(1, Ordering::Relaxed);
                        return Ok(batch);
                    }
                    Err(error) => last = error,
                }
            }
            tried.push(format!("`{}`: {last}", binding.card));
        }
        if self.on_error_null {
            self.null_rows.fetch_add(rows.num_rows() as u64, Ordering::Relaxed);
            let columns = self
                .schema
                .fields()
                .iter()
                .map(|f| new_null_array(f.data_type(), rows.num_rows()))
                .collect();
            return Ok(RecordBatch::try_new(self.schema.clone(), columns)?);
        }
        Err(RunError::Ai { name: self.name.clone(), tried })
    }

    /// The AI's answer as rows of the result's schema.
    fn conform(&self, out: AiValue, rows: usize) -> Result<RecordBatch, RunError> {
        let columns = match out {
            AiValue::Column(_, array) => vec![array],
            AiValue::Table(batch) => batch.columns().to_vec(),
            AiValue::Scalar(_) => {
                return Err(RunError::Data("the AI answered a scalar, not rows".into()));
            }
        };
        let batch = conform(&self.schema, columns)?;
        if batch.num_rows() != rows {
            return Err(RunError::Data(format!(
                "the AI answered {} rows for {rows}",
                batch.num_rows()
            )));
        }
        Ok(batch)
    }
}

/// The extension node of an AI call.
#[derive(Debug)]
pub struct AiCallExec {
    call: Arc<AiCall>,
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
}

impl AiCallExec {
    /// `call` over the batches of `input`.
    pub fn new(call: Arc<AiCall>, input: Arc<dyn ExecutionPlan>) -> AiCallExec {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(call.schema.clone()),
            input.properties().partitioning.clone(),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        AiCallExec { call, input, properties: Arc::new(properties) }
    }

    /// The call.
    pub fn call(&self) -> &Arc<AiCall> {
        &self.call
    }
}

impl DisplayAs for AiCallExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let cards: Vec<&str> = self.call.bindings.iter().map(|b| b.card.as_str()).collect();
        write!(f, "AiCallExec: {} [{}]", self.call.name, cards.join(", "))
    }
}

impl ExecutionPlan for AiCallExec {
    fn name(&self) -> &str {
        "AiCallExec"
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

    fn with_new_children(
        self: Arc<Self>,
        mut inputs: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match inputs.pop() {
            Some(input) if inputs.is_empty() => {
                Ok(Arc::new(AiCallExec::new(self.call.clone(), input)))
            }
            _ => Err(DataFusionError::Internal("AiCallExec has one input".into())),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let call = self.call.clone();
        let size = call.batch_size.max(1);
        let pieces = input.flat_map(move |batch| {
            let pieces: Vec<Result<RecordBatch>> = match batch {
                Ok(batch) => (0..batch.num_rows())
                    .step_by(size)
                    .map(|start| Ok(batch.slice(start, size.min(batch.num_rows() - start))))
                    .collect(),
                Err(error) => vec![Err(error)],
            };
            futures::stream::iter(pieces)
        });
        let answers = pieces.then(move |piece| {
            let call = call.clone();
            async move {
                let piece = piece?;
                tokio::task::spawn_blocking(move || call.answer(&piece))
                    .await
                    .map_err(|e| DataFusionError::External(Box::new(e)))?
                    .map_err(|e| DataFusionError::External(Box::new(e)))
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema(), answers)))
    }
}
