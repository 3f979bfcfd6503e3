//! The standard-library operations that run on aigrid's kernels, as [`Gathered`] operations:
//! tensor operations over whole tensors, `chunk` over a table, and `select`'s zip of columns.

use std::sync::Arc;

use aigrid_kernels::{Tensor, l2_normalize, matmul, softmax, topk, transpose};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, RecordBatch, StringArray, UInt32Array,
};
use datafusion::arrow::compute::{cast, concat_batches, take};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::RunError;
use crate::gather::Gathered;

/// A kernel operation.
#[derive(Debug)]
pub enum Kernel {
    /// `l2_normalize(x)`.
    L2Normalize,
    /// `softmax(x)`.
    Softmax,
    /// `transpose(x)` of a matrix.
    Transpose,
    /// `matmul(a, b)`.
    Matmul,
    /// `topk_indices(x, k)`.
    TopkIndices(usize),
    /// `chunk(input, size, overlap, column)` of a table.
    Chunk {
        /// The text column.
        column: String,
        /// Characters per window.
        size: usize,
        /// Characters shared by consecutive windows.
        overlap: usize,
        /// The result's schema.
        schema: SchemaRef,
    },
    /// `select(table, name = column, ...)`: one input per column, zipped row by row.
    Zip(SchemaRef),
}

/// The whole of a tensor input.
fn tensor(batches: &[RecordBatch]) -> Result<Tensor, RunError> {
    let Some(first) = batches.first() else {
        return Err(RunError::Internal("a tensor input without batches".into()));
    };
    let schema = first.schema();
    let batch = concat_batches(&schema, batches)?;
    Ok(Tensor::from_arrow(schema.field(0), batch.column(0).as_ref())?)
}

/// A tensor as one batch.
fn batch(tensor: &Tensor) -> Result<Vec<RecordBatch>, RunError> {
    let (field, array) = tensor.to_arrow("tensor")?;
    Ok(vec![RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![array])?])
}

/// The schema of a tensor result, known only once it is computed: a kernel's output.
pub fn tensor_schema(tensor: &Tensor) -> Result<SchemaRef, RunError> {
    let (field, _) = tensor.to_arrow("tensor")?;
    Ok(Arc::new(Schema::new(vec![field])))
}

impl Kernel {
    /// Runs the operation now, on materialised inputs: tensor results are sized by their data,
    /// so their schema is known only after the inputs are.
    pub fn tensor_result(&self, inputs: &[&[RecordBatch]]) -> Result<Tensor, RunError> {
        let input = |i: usize| {
            inputs.get(i).ok_or_else(|| RunError::Internal("a kernel input is missing".into()))
        };
        Ok(match self {
            Kernel::L2Normalize => l2_normalize(&tensor(input(0)?)?)?,
            Kernel::Softmax => softmax(&tensor(input(0)?)?)?,
            Kernel::Transpose => {
                let x = tensor(input(0)?)?;
                let rank = x.shape().len();
                let permutation: Vec<usize> = (0..rank).rev().collect();
                transpose(&x, &permutation)?
            }
            Kernel::Matmul => matmul(&tensor(input(0)?)?, &tensor(input(1)?)?)?,
            Kernel::TopkIndices(k) => topk(&tensor(input(0)?)?, *k)?.1,
            Kernel::Chunk { .. } | Kernel::Zip(_) => {
                return Err(RunError::Internal("not a tensor kernel".into()));
            }
        })
    }
}

impl Gathered for Kernel {
    fn name(&self) -> &str {
        match self {
            Kernel::L2Normalize => "l2_normalize",
            Kernel::Softmax => "softmax",
            Kernel::Transpose => "transpose",
            Kernel::Matmul => "matmul",
            Kernel::TopkIndices(_) => "topk_indices",
            Kernel::Chunk { .. } => "chunk",
            Kernel::Zip(_) => "select",
        }
    }

    fn run(&self, inputs: Vec<Vec<RecordBatch>>) -> Result<Vec<RecordBatch>, RunError> {
        match self {
            Kernel::Chunk { column, size, overlap, schema } => {
                chunk(&inputs, column, *size, *overlap, schema)
            }
            Kernel::Zip(schema) => zip(&inputs, schema),
            _ => {
                let inputs: Vec<&[RecordBatch]> = inputs.iter().map(Vec::as_slice).collect();
                batch(&self.tensor_result(&inputs)?)
            }
        }
    }
}

/// `chunk` of a table: each text of `column` becomes one row per window, the other columns
/// repeated, then `chunk_no` and `text`.
fn chunk(
    inputs: &[Vec<RecordBatch>],
    column: &str,
    size: usize,
    overlap: usize,
    schema: &SchemaRef,
) -> Result<Vec<RecordBatch>, RunError> {
    let Some(batches) = inputs.first() else { return Ok(Vec::new()) };
    let Some(first) = batches.first() else { return Ok(Vec::new()) };
    let table = concat_batches(&first.schema(), batches)?;
    let Some(texts) = table.column_by_name(column) else {
        return Err(RunError::Data(format!("chunk: the table has no column `{column}`")));
    };
    let texts = cast(texts, &DataType::Utf8)?;
    let texts: &StringArray = texts.as_string::<i32>();
    let windows = aigrid_kernels::chunk(texts, size, overlap)?;
    let mut rows = Vec::new();
    let mut numbers = Vec::new();
    for row in 0..windows.len() {
        if windows.is_null(row) {
            continue;
        }
        for n in 0..windows.value_length(row) {
            rows.push(row as u32);
            numbers.push(n);
        }
    }
    let indices = UInt32Array::from(rows);
    let pieces = windows.values().as_string::<i32>().clone();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (i, field) in table.schema().fields().iter().enumerate() {
        if field.name() != column {
            columns.push(take(table.column(i), &indices, None)?);
        }
    }
    columns.push(Arc::new(Int32Array::from(numbers)));
    // The windows of the non-null rows, in order: exactly the values the offsets cover.
    let offsets = windows.value_offsets();
    let start = offsets.first().copied().unwrap_or(0) as usize;
    let end = offsets.last().copied().unwrap_or(0) as usize;
    let mut text = Vec::with_capacity(end - start);
    for row in 0..windows.len() {
        if windows.is_null(row) {
            continue;
        }
        let (a, b) = (offsets[row] as usize, offsets[row + 1] as usize);
        text.extend((a..b).map(|i| pieces.value(i)));
    }
    columns.push(Arc::new(StringArray::from(text)));
    Ok(vec![conform(schema, columns)?])
}

/// `select`'s zip: the first column of each input, side by side.
fn zip(inputs: &[Vec<RecordBatch>], schema: &SchemaRef) -> Result<Vec<RecordBatch>, RunError> {
    let mut columns = Vec::with_capacity(inputs.len());
    for (batches, field) in inputs.iter().zip(schema.fields()) {
        let Some(first) = batches.first() else {
            return Err(RunError::Internal(format!("select: no rows for `{}`", field.name())));
        };
        let all = concat_batches(&first.schema(), batches)?;
        columns.push(all.column(0).clone());
    }
    let lengths: Vec<usize> = columns.iter().map(|c| c.len()).collect();
    if lengths.windows(2).any(|w| w[0] != w[1]) {
        let described: Vec<String> = schema
            .fields()
            .iter()
            .zip(&lengths)
            .map(|(f, n)| format!("`{}` has {n}", f.name()))
            .collect();
        return Err(RunError::Data(format!(
            "select: the columns have different numbers of rows: {}",
            described.join(", ")
        )));
    }
    Ok(vec![conform(schema, columns)?])
}

/// A batch of `schema` from `columns`, each cast to its field's type; a null in a column
/// declared non-null is an error naming it.
pub fn conform(schema: &SchemaRef, columns: Vec<ArrayRef>) -> Result<RecordBatch, RunError> {
    if columns.len() != schema.fields().len() {
        return Err(RunError::Data(format!(
            "{} columns where {} were expected ({})",
            columns.len(),
            schema.fields().len(),
            schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    let mut cast_columns = Vec::with_capacity(columns.len());
    for (column, field) in columns.into_iter().zip(schema.fields()) {
        let column = if column.data_type() == field.data_type() {
            column
        } else {
            cast(&column, field.data_type()).map_err(|e| {
                RunError::Data(format!(
                    "column `{}` is {}, not {}: {e}",
                    field.name(),
                    column.data_type(),
                    field.data_type()
                ))
            })?
        };
        if !field.is_nullable() && column.null_count() > 0 {
            return Err(RunError::Data(format!(
                "column `{}` has {} nulls but its type is not nullable",
                field.name(),
                column.null_count()
            )));
        }
        cast_columns.push(column);
    }
    Ok(RecordBatch::try_new(schema.clone(), cast_columns)?)
}

/// A field like `field` but nullable.
pub fn nullable(field: &Field) -> Field {
    field.clone().with_nullable(true)
}
