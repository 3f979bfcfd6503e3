//! What the extension nodes with one input share: taking that input back from
//! `ExecutionPlan::with_new_children`.

use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::physical_plan::ExecutionPlan;

/// The one child of `children`, or an internal error naming `node` when there is not exactly
/// one.
pub(crate) fn one_input(
    mut children: Vec<Arc<dyn ExecutionPlan>>,
    node: &str,
) -> Result<Arc<dyn ExecutionPlan>> {
    match (children.pop(), children.is_empty()) {
        (Some(input), true) => Ok(input),
        (popped, _) => Err(DataFusionError::Internal(format!(
            "{node} has one input, not {}",
            children.len() + usize::from(popped.is_some())
        ))),
    }
}
