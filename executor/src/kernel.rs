//! The standard-library operations that run on aigrid's kernels, as [`Gathered`] operations:
//! tensor operations over whole tensors, `chunk` over a table, and `select`'s zip of columns.

use std::sync::Arc;

use aigrid_kernels::{
    Binary, Data, KernelError, Operand, Reduce, Step, Tensor, Unary, binary, concat,
    cosine_similarity, fused, l2_normalize, matmul, reduce, reshape, scale, slice, softmax, topk,
    transpose, unary,
};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, RecordBatch, StringArray, UInt32Array,
};
use datafusion::arrow::compute::{cast, concat_batches, take};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::RunError;
use crate::gather::Gathered;

mod gpu;
mod integers;

/// A tensor operation of `std.tensor`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum TensorOp {
    /// `neg`, `exp`, `log`, `relu`, `gelu`, `sigmoid`.
    Unary(Unary),
    /// `add`, `sub`, `mul`, `div`, with broadcasting.
    Binary(Binary),
    /// `scale(x, factor)`.
    Scale(f64),
    /// A reduction over an axis (negative counts from the end), or over everything.
    Reduce(Reduce, Option<i64>),
    /// `softmax` over the last axis.
    Softmax,
    /// `l2_normalize`.
    L2Normalize,
    /// `cosine_similarity(a, b)`.
    Cosine,
    /// `transpose` (the axes reversed).
    Transpose,
    /// `matmul(a, b)`.
    Matmul,
    /// `topk(x, k)`: the values.
    Topk(usize),
    /// `topk_indices(x, k)`.
    TopkIndices(usize),
    /// `reshape(x, shape)`; one size may be `-1`, the size that makes the elements fit.
    Reshape(Vec<i64>),
    /// `cast(x, dtype)`: the element type as the language writes it (`"f64"`).
    Cast(String),
    /// `slice(x, start, end)` of the first axis.
    Slice(usize, usize),
    /// `concat(a, b, axis)`.
    Concat(usize),
    /// A fused chain over the inputs: each step an operation and its operands. It runs as one
    /// pass over memory (`aigrid_kernels::fused`) when every step is elementwise arithmetic or
    /// a function and the inputs have one shape, else step by step.
    Fused(Vec<(TensorOp, Vec<Operand>)>),
}

/// An axis as written (negative from the end) as an index into `rank` axes.
fn axis(axis: i64, rank: usize) -> Result<usize, RunError> {
    let resolved = if axis < 0 { rank as i64 + axis } else { axis };
    usize::try_from(resolved)
        .ok()
        .filter(|&a| a < rank)
        .ok_or_else(|| RunError::Data(format!("axis {axis} is out of range for rank {rank}")))
}

impl TensorOp {
    /// Whether the operation on one tensor of `rank` axes maps each entry of the leading axis
    /// (each row of its column) on its own, so that it can run on the rows batch by batch.
    pub fn row_wise(&self, rank: usize) -> bool {
        match self {
            TensorOp::Unary(_) | TensorOp::Scale(_) | TensorOp::Cast(_) => true,
            TensorOp::Softmax | TensorOp::L2Normalize | TensorOp::Topk(_) => rank >= 2,
            TensorOp::TopkIndices(_) => rank >= 2,
            TensorOp::Reduce(_, Some(a)) => axis(*a, rank).is_ok_and(|a| a > 0),
            // Elementwise steps over the one input and numbers.
            TensorOp::Fused(steps) => steps.iter().all(|(op, operands)| {
                matches!(op, TensorOp::Unary(_) | TensorOp::Scale(_) | TensorOp::Binary(_))
                    && operands.iter().all(|o| !matches!(o, Operand::Input(i) if *i > 0))
            }),
            TensorOp::Binary(_)
            | TensorOp::Reduce(_, None)
            | TensorOp::Cosine
            | TensorOp::Transpose
            | TensorOp::Matmul
            | TensorOp::Reshape(_)
            | TensorOp::Slice(..)
            | TensorOp::Concat(_) => false,
        }
    }

    /// Runs the operation on its inputs, in the order of its parameters. A kernel that takes
    /// only floats runs on `i64` inputs converted to `f64` where that is exact (values and
    /// the sums it forms up to 2^53; larger ones are refused, not rounded)
    /// and gives what the language says: `neg`, `relu`, `add`, `sub`, `mul`, `scale` by a whole
    /// number, reductions, `topk` and `matmul` convert back to `i64`, `mean` stays `f64`. The
    /// others (`exp`, `div`, `softmax`, ...) refuse integers; a fused chain runs step by step.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Tensor, RunError> {
        match self.run_native(inputs) {
            Err(RunError::Kernel(KernelError::Type(why)))
                if inputs.iter().any(|t| t.as_i64().is_some()) =>
            {
                if let TensorOp::Fused(steps) = self {
                    return stepwise(steps, inputs);
                }
                let Some(back) = self.on_integers() else {
                    return Err(RunError::Kernel(KernelError::Type(why)));
                };
                self.exact_through_floats(inputs)?;
                let floats =
                    inputs.iter().map(|t| convert(t, "f64")).collect::<Result<Vec<_>, _>>()?;
                let result = self.run_native(&floats)?;
                if back { convert(&result, "i64") } else { Ok(result) }
            }
            result => result,
        }
    }

    fn run_native(&self, inputs: &[Tensor]) -> Result<Tensor, RunError> {
        if let Some(result) = gpu::run(self, inputs) {
            return Ok(result);
        }
        let input = |i: usize| {
            inputs.get(i).ok_or_else(|| RunError::Internal("a tensor input is missing".into()))
        };
        Ok(match self {
            TensorOp::Unary(op) => unary(*op, input(0)?)?,
            TensorOp::Binary(op) => binary(*op, input(0)?, input(1)?)?,
            TensorOp::Scale(factor) => scale(input(0)?, *factor)?,
            TensorOp::Reduce(op, None) => {
                let x = input(0)?;
                let flat = reshape(x, &[x.shape().iter().product()])?;
                reduce(*op, &flat, 0)?
            }
            TensorOp::Reduce(op, Some(a)) => {
                let x = input(0)?;
                reduce(*op, x, axis(*a, x.shape().len())?)?
            }
            TensorOp::Softmax => softmax(input(0)?)?,
            TensorOp::L2Normalize => l2_normalize(input(0)?)?,
            TensorOp::Cosine => cosine_similarity(input(0)?, input(1)?)?,
            TensorOp::Transpose => {
                let x = input(0)?;
                let permutation: Vec<usize> = (0..x.shape().len()).rev().collect();
                transpose(x, &permutation)?
            }
            TensorOp::Matmul => matmul(input(0)?, input(1)?)?,
            TensorOp::Topk(k) => topk(input(0)?, *k)?.0,
            TensorOp::TopkIndices(k) => topk(input(0)?, *k)?.1,
            TensorOp::Reshape(shape) => {
                let x = input(0)?;
                reshape(x, &resolve_shape(shape, x.shape())?)?
            }
            TensorOp::Cast(dtype) => convert(input(0)?, dtype)?,
            TensorOp::Slice(start, end) => slice(input(0)?, 0, *start, *end)?,
            TensorOp::Concat(a) => concat(&[input(0)?, input(1)?], *a)?,
            TensorOp::Fused(steps) => {
                let refs: Vec<&Tensor> = inputs.iter().collect();
                let same_shape = refs.windows(2).all(|w| w[0].shape() == w[1].shape());
                match steps.iter().map(one_pass_step).collect::<Option<Vec<Step>>>() {
                    Some(one_pass) if same_shape => fused(&one_pass, &refs)?,
                    _ => stepwise(steps, inputs)?,
                }
            }
        })
    }
}

/// A `reshape` shape with its `-1` (at most one) worked out from the input's `from` shape.
fn resolve_shape(shape: &[i64], from: &[usize]) -> Result<Vec<usize>, RunError> {
    let elements = from.iter().product::<usize>();
    let bad =
        || RunError::Data(format!("cannot reshape {from:?} ({elements} elements) to {shape:?}"));
    let known = shape
        .iter()
        .filter_map(|&d| usize::try_from(d).ok())
        .try_fold(1usize, |product, d| product.checked_mul(d))
        .ok_or_else(bad)?;
    let unknown = shape.iter().filter(|&&d| d == -1).count();
    if unknown > 1 || shape.iter().any(|&d| d < -1) {
        return Err(bad());
    }
    shape
        .iter()
        .map(|&d| match usize::try_from(d) {
            Ok(d) => Ok(d),
            Err(_) if known > 0 && elements % known == 0 => Ok(elements / known),
            Err(_) => Err(bad()),
        })
        .collect()
}

/// `x` with its elements converted to `dtype` (`f32`, `f64` or `i64`; floats to integers
/// round toward zero).
pub fn convert(x: &Tensor, dtype: &str) -> Result<Tensor, RunError> {
    let shape = x.shape().to_vec();
    let floats = || -> Vec<f64> {
        match x.data() {
            Data::F32(v) => v.iter().map(|&a| f64::from(a)).collect(),
            Data::F64(v) => v.to_vec(),
            Data::I64(v) => v.iter().map(|&a| a as f64).collect(),
        }
    };
    let data = match (dtype, x.data()) {
        (_, data) if data.dtype() == dtype => data.clone(),
        ("f32", _) => Data::F32(floats().into_iter().map(|a| a as f32).collect()),
        ("f64", _) => Data::F64(floats().into()),
        ("i64", _) => Data::I64(floats().into_iter().map(|a| a as i64).collect()),
        (other, _) => {
            return Err(RunError::Unsupported(format!(
                "tensors of {other}: the kernels hold f32, f64 and i64"
            )));
        }
    };
    Ok(Tensor::new(shape, data)?)
}

/// A fused step as a step of `aigrid_kernels::fused`, if it is one.
fn one_pass_step((op, operands): &(TensorOp, Vec<Operand>)) -> Option<Step> {
    match (op, operands.as_slice()) {
        (TensorOp::Unary(u), [x]) => Some(Step::Unary(*u, *x)),
        (TensorOp::Binary(b), [x, y]) => Some(Step::Binary(*b, *x, *y)),
        (TensorOp::Scale(f), [x]) => Some(Step::Binary(Binary::Mul, *x, Operand::Const(*f))),
        _ => None,
    }
}

/// A fused chain run one kernel per step (inputs that broadcast, or steps such as softmax).
fn stepwise(steps: &[(TensorOp, Vec<Operand>)], inputs: &[Tensor]) -> Result<Tensor, RunError> {
    let mut results: Vec<Tensor> = Vec::with_capacity(steps.len());
    for (op, operands) in steps {
        let mut args = Vec::with_capacity(operands.len());
        for operand in operands {
            let like = args.first().or(inputs.first());
            args.push(
                match operand {
                    Operand::Input(i) => inputs.get(*i).cloned(),
                    Operand::Step(i) => results.get(*i).cloned(),
                    Operand::Const(c) => match like.map(|t: &Tensor| t.as_f64().is_some()) {
                        Some(true) => Tensor::f64(Vec::new(), vec![*c]).ok(),
                        _ => Tensor::f32(Vec::new(), vec![*c as f32]).ok(),
                    },
                }
                .ok_or_else(|| RunError::Internal("a fused step reads nothing".into()))?,
            );
        }
        results.push(op.run(&args)?);
    }
    results.pop().ok_or_else(|| RunError::Internal("an empty fused chain".into()))
}

/// A kernel operation.
#[derive(Debug)]
pub enum Kernel {
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

/// The schema of a tensor result, known only once it is computed: a kernel's output.
pub fn tensor_schema(tensor: &Tensor) -> Result<SchemaRef, RunError> {
    let (field, _) = tensor.to_arrow("tensor")?;
    Ok(Arc::new(Schema::new(vec![field])))
}

impl Gathered for Kernel {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn name(&self) -> &str {
        match self {
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
