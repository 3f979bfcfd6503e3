//! `CountedExec`: passes its input through and counts the rows, so that a run's report says how
//! many rows an operator that streamed into its reader gave (`aigridc run --analyze`).
//! In-process only: the driver adds it where it keeps the counter, never to a stage that goes
//! through the codec to another process.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use futures::StreamExt;

use crate::one_input::one_input;

/// The rows that flowed through a [`CountedExec`], shared by its copies.
#[derive(Debug, Default)]
pub(crate) struct RowCount {
    rows: AtomicU64,
    ran: AtomicBool,
}

impl RowCount {
    /// The rows counted, or `None` when the plan never ran (its reader's result was cached).
    pub(crate) fn rows(&self) -> Option<u64> {
        self.ran.load(Ordering::Relaxed).then(|| self.rows.load(Ordering::Relaxed))
    }
}

/// Its input's batches, partition for partition, each counted into a shared counter.
#[derive(Debug)]
pub(crate) struct CountedExec {
    input: Arc<dyn ExecutionPlan>,
    count: Arc<RowCount>,
}

impl CountedExec {
    /// `input`, its rows added to `count` as they flow.
    pub(crate) fn new(input: Arc<dyn ExecutionPlan>, count: Arc<RowCount>) -> CountedExec {
        CountedExec { input, count }
    }
}

impl DisplayAs for CountedExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "CountedExec")
    }
}

impl ExecutionPlan for CountedExec {
    fn name(&self) -> &str {
        "CountedExec"
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
        let input = one_input(inputs, "CountedExec")?;
        Ok(Arc::new(CountedExec::new(input, self.count.clone())))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        self.count.ran.store(true, Ordering::Relaxed);
        let count = self.count.clone();
        let counted = input.map(move |batch| {
            if let Ok(batch) = &batch {
                count.rows.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
            }
            batch
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.input.schema(), counted)))
    }
}
