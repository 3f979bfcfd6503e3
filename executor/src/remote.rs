//! [`RemoteStages`]: where a run's stages go when they do not run in this process. The driver
//! stays here (it plans the nodes, keeps the values and runs whole-value kernels); each stage's
//! physical plan is handed to the [`RemoteStages`] of [`RunOptions`](crate::RunOptions), which
//! runs it elsewhere (as a Ballista job, in `aigrid-cluster`) and returns its batches.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::physical_plan::ExecutionPlan;

use crate::RunError;

/// Runs stages' physical plans outside this process.
#[async_trait::async_trait]
pub trait RemoteStages: Send + Sync + fmt::Debug {
    /// Runs `plan` to the end and returns its batches, partition after partition, in order.
    /// The plan has aigrid's extension nodes in it: the other side must decode them with
    /// [`AigridCodec`](crate::AigridCodec).
    async fn collect(&self, plan: Arc<dyn ExecutionPlan>) -> Result<Vec<RecordBatch>, RunError>;
}
