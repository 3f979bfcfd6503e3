//! `WriteExec`: a write of its input to a file (`std.io.write_*`) as a DataFusion extension
//! node.
//!
//! Contract: one output partition, one row: the rows written. It reads its input's partitions
//! in order, each to the end, and hands each batch to a blocking thread that encodes and writes
//! it, so the file holds the rows in the input's order. Streaming: at most two batches wait
//! between the input and the file. Memory: those batches and the encoder's buffer (a Parquet
//! row group). The file is written under a temporary name and renamed when the last batch is
//! written. Errors and cancellation: an input error, a write error or dropping the stream
//! removes the temporary file, so no file that looks complete is left behind.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{Int64Array, RecordBatch};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use futures::StreamExt as _;

use crate::RunError;
use crate::one_input::one_input;
use crate::store::Location;
use crate::write::{Format, PartialFile, rows_written_schema};

/// The extension node that writes its input to a file.
#[derive(Debug)]
pub struct WriteExec {
    location: Location,
    format: Format,
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
}

impl WriteExec {
    /// A write of `input`'s rows to `location` in `format`.
    pub fn new(location: Location, format: Format, input: Arc<dyn ExecutionPlan>) -> WriteExec {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(rows_written_schema()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        WriteExec { location, format, input, properties: Arc::new(properties) }
    }

    /// The destination.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The format.
    pub fn format(&self) -> Format {
        self.format
    }
}

impl DisplayAs for WriteExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "WriteExec: {:?} {}", self.format, self.location)
    }
}

/// What the reading side hands the writing thread.
enum Piece {
    Batch(RecordBatch),
    /// The input ended: finish the file.
    End,
}

impl ExecutionPlan for WriteExec {
    fn name(&self) -> &str {
        "WriteExec"
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
        inputs: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = one_input(inputs, "WriteExec")?;
        Ok(Arc::new(WriteExec::new(self.location.clone(), self.format, input)))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "WriteExec has one partition, not {partition}"
            )));
        }
        let input = self.input.clone();
        let (location, format) = (self.location.clone(), self.format);
        let stores = context.runtime_env().object_store_registry.clone();
        let run = async move {
            let schema = input.schema();
            let (sender, mut receiver) = tokio::sync::mpsc::channel::<Piece>(2);
            let writer = tokio::task::spawn_blocking(move || {
                let mut file =
                    PartialFile::create(&location, format, &schema, Some(stores.as_ref()))?;
                while let Some(piece) = receiver.blocking_recv() {
                    match piece {
                        Piece::Batch(batch) => file.write(&batch)?,
                        Piece::End => return file.commit(),
                    }
                }
                // The reading side stopped early: `file` is dropped and removed.
                Err(RunError::Cancelled)
            });
            let external = |e: RunError| DataFusionError::External(Box::new(e));
            let mut sent = Ok(());
            'partitions: for part in 0..input.properties().partitioning.partition_count() {
                let mut stream = input.execute(part, context.clone())?;
                while let Some(batch) = stream.next().await {
                    if sender.send(Piece::Batch(batch?)).await.is_err() {
                        sent = Err(());
                        break 'partitions;
                    }
                }
            }
            if sent.is_ok() {
                // Fails only when the writer has stopped; its error is reported below.
                let _ = sender.send(Piece::End).await;
            }
            drop(sender);
            let rows = writer
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)))?
                .map_err(external)?;
            let count = Int64Array::from(vec![i64::try_from(rows).unwrap_or(i64::MAX)]);
            Ok::<_, DataFusionError>(RecordBatch::try_new(
                rows_written_schema(),
                vec![Arc::new(count)],
            )?)
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            rows_written_schema(),
            futures::stream::once(run),
        )))
    }
}
