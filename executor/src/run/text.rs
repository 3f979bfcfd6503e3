//! Nodes of `std.text` on a text or a list of texts: `lower`, `split`, `regex_extract`, `chunk`
//! of a list and `tokenize`. Each runs over the whole value on a blocking thread (`chunk` of a
//! table streams, in `std_ops.rs`).

use std::sync::Arc;

use aigrid_compiler::{PlanNode, ValueType};
use aigrid_kernels as text;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;

use super::{Driver, Slot};
use crate::RunError;
use crate::value::Value;

/// A text operation with its arguments read.
enum TextOp {
    Lower,
    Split(String),
    RegexExtract(String, usize),
    Chunk(usize, usize),
    Tokenize(std::path::PathBuf, usize),
}

impl Driver<'_> {
    /// The node of `std.text` operation `op` on a text or a list of texts.
    pub(super) async fn text_node(
        &self,
        node: &PlanNode,
        op: &str,
        ty: ValueType,
    ) -> Result<Slot, RunError> {
        let count = |name: &str| -> Result<usize, RunError> {
            let n = self.int_arg(node, name)?;
            usize::try_from(n)
                .map_err(|_| RunError::Param(format!("`{name}` is {n}; it must be at least 0")))
        };
        let (op, input) = match op {
            "lower" => (TextOp::Lower, "text"),
            "split" => (TextOp::Split(self.string_arg(node, "separator")?), "text"),
            "regex_extract" => {
                let pattern = self.string_arg(node, "pattern")?;
                (TextOp::RegexExtract(pattern, count("group")?), "text")
            }
            "chunk" => (TextOp::Chunk(count("size")?, count("overlap")?), "input"),
            "tokenize" => {
                let name = self.string_arg(node, "tokenizer")?;
                let file = self.library.tokenizer_file(&name).map_err(|e| {
                    RunError::Param(match e {
                        aigrid_builtins::BuiltinError::Argument(why) => why,
                        other => other.to_string(),
                    })
                })?;
                (TextOp::Tokenize(file, count("length")?), "text")
            }
            other => return Err(RunError::Internal(format!("`{other}` is not a text operation"))),
        };
        let value = self.input(node, input)?;
        let result = tokio::task::spawn_blocking(move || run(&op, &value, ty))
            .await
            .map_err(|e| RunError::Internal(e.to_string()))??;
        Ok(Slot::Ready(result))
    }
}

/// Runs `op` over the texts of `value`; a single text's list result is that one list.
fn run(op: &TextOp, value: &Value, ty: ValueType) -> Result<Value, RunError> {
    let (_, array) = value.array()?;
    let array = cast(&array, &DataType::Utf8)?;
    let texts: &StringArray = array.as_string::<i32>();
    let result: ArrayRef = match op {
        TextOp::Lower => Arc::new(text::lower(texts)),
        TextOp::Split(separator) => Arc::new(text::split(texts, separator)?),
        TextOp::RegexExtract(pattern, group) => {
            Arc::new(text::regex_extract(texts, pattern, *group)?)
        }
        TextOp::Chunk(size, overlap) => Arc::new(text::chunk(texts, *size, *overlap)?),
        TextOp::Tokenize(file, length) => {
            let texts: Vec<Option<&str>> = texts.iter().collect();
            let ids = aigrid_builtins::tokenize(file, &texts, *length)
                .map_err(|e| RunError::Data(e.to_string()))?;
            return Value::tensor(ty, &ids);
        }
    };
    let single = matches!(value.ty, ValueType::Scalar(..));
    match result.as_any().downcast_ref::<ListArray>() {
        Some(lists) if single && matches!(ty, ValueType::List(..)) => {
            let parts = if lists.is_valid(0) { lists.value(0) } else { lists.values().slice(0, 0) };
            Value::column(ty, "value", parts)
        }
        _ => Value::column(ty, "value", result),
    }
}
