//! The values a built-in AI takes and gives: Arrow data, as the executor holds it.

use std::collections::BTreeMap;
use std::sync::Arc;

use aigrid_kernels::Tensor;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::Field;

use crate::BuiltinError;

/// An argument of a call, or its result.
#[derive(Clone, Debug)]
pub enum Value {
    /// A constant: `k = 7`, `label = "churned"`.
    Scalar(serde_json::Value),
    /// A list (one element per row: `list<utf8>` is a string column) or a tensor (one row per
    /// entry of its leading dimension, an `arrow.fixed_shape_tensor` column).
    Column(Arc<Field>, ArrayRef),
    /// A table.
    Table(RecordBatch),
}

/// The arguments of a call, by parameter name.
pub type Args = BTreeMap<String, Value>;

impl Value {
    /// A tensor as a column named `tensor`.
    pub fn tensor(tensor: &Tensor) -> Result<Value, BuiltinError> {
        let (field, array) = tensor.to_arrow("tensor")?;
        Ok(Value::Column(Arc::new(field), array))
    }

    /// A list column named `list`.
    pub fn list(array: ArrayRef) -> Value {
        let field = Field::new("list", array.data_type().clone(), true);
        Value::Column(Arc::new(field), array)
    }

    /// How many rows it has: a scalar has one.
    pub fn rows(&self) -> usize {
        match self {
            Value::Scalar(_) => 1,
            Value::Column(_, array) => array.len(),
            Value::Table(batch) => batch.num_rows(),
        }
    }
}

/// Reads the arguments of a call, with errors that name the parameter.
pub(crate) struct Reader<'a> {
    args: &'a Args,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(args: &'a Args) -> Reader<'a> {
        Reader { args }
    }

    fn get(&self, name: &str) -> Result<&'a Value, BuiltinError> {
        self.args.get(name).ok_or_else(|| BuiltinError::Argument(format!("`{name}` is missing")))
    }

    /// A `list<utf8>` argument.
    pub(crate) fn texts(&self, name: &str) -> Result<&'a StringArray, BuiltinError> {
        texts(name, self.get(name)?)
    }

    /// A tensor argument.
    pub(crate) fn tensor(&self, name: &str) -> Result<Tensor, BuiltinError> {
        match self.get(name)? {
            Value::Column(field, array) => Tensor::from_arrow(field, array.as_ref())
                .map_err(|e| BuiltinError::Argument(format!("`{name}`: {e}"))),
            _ => Err(BuiltinError::Argument(format!("`{name}` is not a tensor"))),
        }
    }

    /// A table argument.
    pub(crate) fn table(&self, name: &str) -> Result<&'a RecordBatch, BuiltinError> {
        match self.get(name)? {
            Value::Table(batch) => Ok(batch),
            _ => Err(BuiltinError::Argument(format!("`{name}` is not a table"))),
        }
    }

    /// An integer constant, `default` when absent; it must lie in `range`.
    pub(crate) fn int(
        &self,
        name: &str,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<i64, BuiltinError> {
        let value = match self.args.get(name) {
            None => default,
            Some(Value::Scalar(serde_json::Value::Number(n))) => n
                .as_i64()
                .ok_or_else(|| BuiltinError::Argument(format!("`{name}` is not an integer")))?,
            Some(_) => return Err(BuiltinError::Argument(format!("`{name}` is not an integer"))),
        };
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(BuiltinError::Argument(format!(
                "`{name}` is {value}; it must be between {} and {}",
                range.start(),
                range.end()
            )))
        }
    }

    /// A string constant, `default` when absent.
    pub(crate) fn string(&self, name: &str, default: &'a str) -> Result<&'a str, BuiltinError> {
        match self.args.get(name) {
            None => Ok(default),
            Some(Value::Scalar(serde_json::Value::String(s))) => Ok(s),
            Some(_) => Err(BuiltinError::Argument(format!("`{name}` is not a string"))),
        }
    }
}

/// A `list<utf8>` value as a string column.
pub(crate) fn texts<'a>(name: &str, value: &'a Value) -> Result<&'a StringArray, BuiltinError> {
    match value {
        Value::Column(_, array) => array
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| BuiltinError::Argument(format!("`{name}` is not a list<utf8>"))),
        _ => Err(BuiltinError::Argument(format!("`{name}` is not a list<utf8>"))),
    }
}
