//! The value of a plan node once computed: Arrow record batches, read as the node's type says.
//!
//! A table is its rows. A tensor is one column of the `arrow.fixed_shape_tensor` type, one row
//! per entry of its leading dimension; a list is one column, one row per element; a scalar is
//! one column of one row.

use std::sync::Arc;

use aigrid_builtins::Value as AiValue;
use aigrid_compiler::{Value as Constant, ValueType};
use aigrid_kernels::Tensor;
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::RunError;

mod json;

/// A computed value.
#[derive(Clone, Debug)]
pub struct Value {
    /// What the plan says it is.
    pub ty: ValueType,
    /// Its rows.
    pub schema: SchemaRef,
    /// Its rows, in batches.
    pub batches: Vec<RecordBatch>,
}

impl Value {
    /// A value of `ty` made of `batches`.
    pub fn new(ty: ValueType, schema: SchemaRef, batches: Vec<RecordBatch>) -> Value {
        Value { ty, schema, batches }
    }

    /// The value of a constant.
    pub fn constant(value: &Constant, ty: ValueType) -> Result<Value, RunError> {
        let array: ArrayRef = match value {
            Constant::Int(i) => Arc::new(Int64Array::from(vec![*i])),
            Constant::Float(f) => Arc::new(Float64Array::from(vec![*f])),
            Constant::Bool(b) => Arc::new(BooleanArray::from(vec![*b])),
            Constant::Str(s) => Arc::new(StringArray::from(vec![s.as_str()])),
            Constant::Duration { duration_ms } => {
                Arc::new(Int64Array::from(vec![i64::try_from(*duration_ms).unwrap_or(i64::MAX)]))
            }
            Constant::Null => Arc::new(Int64Array::from(vec![None::<i64>])),
            Constant::List(items) => {
                let strings: Option<Vec<&str>> = items
                    .iter()
                    .map(|i| match i {
                        Constant::Str(s) => Some(s.as_str()),
                        _ => None,
                    })
                    .collect();
                let ints: Option<Vec<i64>> = items
                    .iter()
                    .map(|i| match i {
                        Constant::Int(n) => Some(*n),
                        _ => None,
                    })
                    .collect();
                match (strings, ints) {
                    (Some(s), _) => Arc::new(StringArray::from(s)),
                    (_, Some(n)) => Arc::new(Int64Array::from(n)),
                    _ => {
                        let floats: Vec<Option<f64>> = items
                            .iter()
                            .map(|i| match i {
                                Constant::Float(f) => Some(*f),
                                Constant::Int(n) => Some(*n as f64),
                                _ => None,
                            })
                            .collect();
                        Arc::new(Float64Array::from(floats))
                    }
                }
            }
        };
        Value::column(ty, "value", array)
    }

    /// A value of one column.
    pub fn column(ty: ValueType, name: &str, array: ArrayRef) -> Result<Value, RunError> {
        let field = Field::new(name, array.data_type().clone(), true);
        Value::with_field(ty, field, array)
    }

    /// A value of one column with its field (a tensor's carries the extension type).
    pub fn with_field(ty: ValueType, field: Field, array: ArrayRef) -> Result<Value, RunError> {
        let schema = Arc::new(Schema::new(vec![field]));
        let batch = RecordBatch::try_new(schema.clone(), vec![array])?;
        Ok(Value::new(ty, schema, vec![batch]))
    }

    /// A tensor value.
    pub fn tensor(ty: ValueType, tensor: &Tensor) -> Result<Value, RunError> {
        let (field, array) = tensor.to_arrow("tensor")?;
        Value::with_field(ty, field, array)
    }

    /// A kernel's result: a tensor, or a scalar when it has no dimensions (`sum(x)`).
    pub fn from_tensor(ty: ValueType, tensor: &Tensor) -> Result<Value, RunError> {
        if !tensor.shape().is_empty() {
            return Value::tensor(ty, tensor);
        }
        let array: ArrayRef = if let Some(v) = tensor.as_f32() {
            Arc::new(Float64Array::from(v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>()))
        } else if let Some(v) = tensor.as_f64() {
            Arc::new(Float64Array::from(v.to_vec()))
        } else {
            Arc::new(Int64Array::from(tensor.as_i64().unwrap_or_default().to_vec()))
        };
        Value::column(ty, "value", array)
    }

    /// The memory its batches take, in bytes.
    pub fn bytes(&self) -> usize {
        self.batches.iter().map(RecordBatch::get_array_memory_size).sum()
    }

    /// How many rows it has.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// All its rows in one batch.
    pub fn batch(&self) -> Result<RecordBatch, RunError> {
        Ok(concat_batches(&self.schema, &self.batches)?)
    }

    /// Its first column, whole (a list's, a tensor's or a scalar's).
    pub fn array(&self) -> Result<(Arc<Field>, ArrayRef), RunError> {
        let batch = self.batch()?;
        match batch.num_columns() {
            0 => Err(RunError::Internal("a value without columns".into())),
            _ => Ok((self.schema.fields()[0].clone(), batch.column(0).clone())),
        }
    }

    /// Its content as a tensor.
    pub fn to_tensor(&self) -> Result<Tensor, RunError> {
        let (field, array) = self.array()?;
        Ok(Tensor::from_arrow(&field, array.as_ref())?)
    }

    /// The value as a built-in AI takes it.
    pub fn to_ai(&self) -> Result<AiValue, RunError> {
        Ok(match &self.ty {
            ValueType::Table(_) => AiValue::Table(self.batch()?),
            ValueType::Scalar(..) => AiValue::Scalar(self.scalar_json()?),
            _ => {
                let (field, array) = self.array()?;
                AiValue::Column(field, array)
            }
        })
    }

    /// A scalar's value as JSON (the first row of its column).
    pub fn scalar_json(&self) -> Result<serde_json::Value, RunError> {
        let (_, array) = self.array()?;
        if array.is_empty() || array.is_null(0) {
            return Ok(serde_json::Value::Null);
        }
        let any = array.as_any();
        Ok(match array.data_type() {
            DataType::Int64 => any.downcast_ref::<Int64Array>().map(|a| a.value(0).into()),
            DataType::Float64 => any.downcast_ref::<Float64Array>().map(|a| a.value(0).into()),
            DataType::Boolean => any.downcast_ref::<BooleanArray>().map(|a| a.value(0).into()),
            DataType::Utf8 => any.downcast_ref::<StringArray>().map(|a| a.value(0).into()),
            _ => None,
        }
        .unwrap_or(serde_json::Value::Null))
    }
}
