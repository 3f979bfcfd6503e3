//! Nodes of the standard library's `std.io` and `std.table` modules, and the tensor operations
//! they hand to `tensor.rs`.

use std::sync::Arc;

use aigrid_compiler::{PlanNode, ValueType};
use datafusion::arrow::array::{ArrayRef, Int64Array};

use super::{Driver, Slot};
use crate::RunError;
use crate::gather::GatherExec;
use crate::kernel::Kernel;
use crate::store::Location;
use crate::value::Value;
use crate::write::Format;
use crate::write_exec::WriteExec;

impl Driver<'_> {
    /// The node of standard-library operation `name`.
    pub(super) async fn std(
        &self,
        node: &PlanNode,
        name: &str,
        ty: ValueType,
    ) -> Result<Slot, RunError> {
        let op = name.rsplit('.').next().unwrap_or(name);
        match op {
            "read_csv" | "read_jsonl" | "read_parquet" | "read_arrow" => {
                Ok(Slot::Pending(ty.clone(), self.read(node, op, &ty).await?))
            }
            "write_csv" | "write_jsonl" | "write_parquet" | "write_arrow" => {
                // Absolute, so that a cluster worker writes where the run was started.
                let location = Location::parse(&self.string_arg(node, "dst")?)?.absolute()?;
                let format = match op {
                    "write_csv" => Format::Csv,
                    "write_jsonl" => Format::JsonLines,
                    "write_parquet" => Format::Parquet,
                    _ => Format::Arrow,
                };
                let input = self.physical_input(node, "value").await?;
                self.pending(ty, Arc::new(WriteExec::new(location, format, input)))
            }
            "lower" | "split" | "regex_extract" | "tokenize" => self.text_node(node, op, ty).await,
            "chunk" => {
                let ValueType::Table(Some(schema)) = &ty else {
                    return self.text_node(node, op, ty).await;
                };
                let column = self.string_arg(node, "column")?;
                let size = usize::try_from(self.int_arg(node, "size")?).unwrap_or(0);
                let overlap = usize::try_from(self.int_arg(node, "overlap")?).unwrap_or(usize::MAX);
                let kernel = Kernel::Chunk { column, size, overlap, schema: schema.clone() };
                let input = self.physical_input(node, "input").await?;
                let plan = GatherExec::new(Arc::new(kernel), vec![input], schema.clone());
                self.pending(ty.clone(), Arc::new(plan))
            }
            "select" => self.select(node, ty).await,
            "filter" | "sort" | "limit" | "join" | "group_by" => {
                Ok(Slot::Pending(ty, self.relational(node, op)?))
            }
            "count" => {
                let rows = self.input(node, "table")?.rows();
                let array: ArrayRef = Arc::new(Int64Array::from(vec![rows as i64]));
                Ok(Slot::Ready(Value::column(ty, "value", array)?))
            }
            _ => match self.tensor_op(node, op)? {
                Some((tensor_op, params)) => {
                    let args = params
                        .iter()
                        .map(|name| {
                            node.args
                                .iter()
                                .find(|a| a.name == *name)
                                .ok_or_else(|| RunError::Internal(format!("no argument `{name}`")))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    self.tensor_node(tensor_op, &args, ty).await
                }
                None => Err(RunError::Unsupported(format!("`{name}` does not run yet"))),
            },
        }
    }
}
