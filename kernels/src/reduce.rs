//! Reductions over one axis, and the row-wise operations of the last axis: softmax,
//! l2_normalize, cosine similarity and top-k.

use rayon::prelude::*;

use crate::elementwise::PARALLEL_MIN;
use crate::float::Float;
use crate::tensor::{Data, KernelError, Tensor};

/// A reduction over one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reduce {
    /// The sum.
    Sum,
    /// The mean.
    Mean,
    /// The largest value.
    Max,
    /// The smallest value.
    Min,
    /// The index of the largest value (the first, on ties), as `i64`.
    Argmax,
}

/// `x` seen as `[outer, n, inner]` around `axis`.
pub(crate) fn split(shape: &[usize], axis: usize) -> Result<(usize, usize, usize), KernelError> {
    if axis >= shape.len() {
        return Err(KernelError::Shape(format!(
            "axis {axis} of a tensor of shape {shape:?}, which has {} axes",
            shape.len()
        )));
    }
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    Ok((outer, shape[axis], inner))
}

/// Reduces `x` over `axis`, which disappears from the shape. Reducing an empty axis is an
/// error for max, min and argmax; its sum is 0 and its mean NaN.
pub fn reduce(op: Reduce, x: &Tensor, axis: usize) -> Result<Tensor, KernelError> {
    let (outer, n, inner) = split(x.shape(), axis)?;
    if n == 0 && matches!(op, Reduce::Max | Reduce::Min | Reduce::Argmax) {
        return Err(KernelError::Shape(format!("{op:?} of an empty axis")));
    }
    let mut shape = x.shape().to_vec();
    shape.remove(axis);
    match x.data() {
        Data::F32(v) => finish(op, shape, reduce_values(op, v, outer, n, inner)),
        Data::F64(v) => finish(op, shape, reduce_values(op, v, outer, n, inner)),
        Data::I64(_) => Err(KernelError::Type(format!("{op:?} needs a float tensor, not i64"))),
    }
}

fn finish<T: Float>(
    op: Reduce,
    shape: Vec<usize>,
    values: Vec<(T, usize)>,
) -> Result<Tensor, KernelError> {
    if op == Reduce::Argmax {
        let indices = values.into_iter().map(|(_, i)| i as i64).collect::<Vec<_>>();
        return Tensor::new(shape, Data::I64(indices.into()));
    }
    let values: Vec<T> = values.into_iter().map(|(v, _)| v).collect();
    T::tensor(shape, values)
}

/// For each `(outer, inner)` position: the reduced value, and the argmax.
fn reduce_values<T: Float>(
    op: Reduce,
    x: &[T],
    outer: usize,
    n: usize,
    inner: usize,
) -> Vec<(T, usize)> {
    let mut out = vec![(T::ZERO, 0usize); outer * inner];
    let one = |o: usize, out: &mut [(T, usize)]| {
        let base = o * n * inner;
        for (j, slot) in out.iter_mut().enumerate() {
            let at = |i: usize| x[base + i * inner + j];
            *slot = match op {
                Reduce::Sum | Reduce::Mean => {
                    let mut sum = T::ZERO;
                    for i in 0..n {
                        sum = sum + at(i);
                    }
                    if op == Reduce::Mean { (sum / T::from_f64(n as f64), 0) } else { (sum, 0) }
                }
                Reduce::Max | Reduce::Argmax => {
                    let mut best = (at(0), 0);
                    for i in 1..n {
                        if at(i) > best.0 {
                            best = (at(i), i);
                        }
                    }
                    best
                }
                Reduce::Min => {
                    let mut best = at(0);
                    for i in 1..n {
                        if at(i) < best {
                            best = at(i);
                        }
                    }
                    (best, 0)
                }
            };
        }
    };
    if x.len() < PARALLEL_MIN || inner == 0 {
        out.chunks_mut(inner.max(1)).enumerate().for_each(|(o, chunk)| one(o, chunk));
    } else {
        out.par_chunks_mut(inner).enumerate().for_each(|(o, chunk)| one(o, chunk));
    }
    out
}

/// Applies `f` to each row of the last axis: `f(row, out)` writes the row's result. One pass:
/// each row is read once and its result written once.
fn rows<T: Float>(x: &[T], width: usize, f: impl Fn(&[T], &mut [T]) + Sync) -> Vec<T> {
    let mut out = vec![T::ZERO; x.len()];
    rows_into(x, width, &mut out, f);
    out
}

fn rows_into<T: Float>(x: &[T], width: usize, out: &mut [T], f: impl Fn(&[T], &mut [T]) + Sync) {
    if width == 0 {
        return;
    }
    if x.len() < PARALLEL_MIN {
        out.chunks_mut(width).zip(x.chunks(width)).for_each(|(o, r)| f(r, o));
    } else {
        // Several rows per task, so small rows do not cost a task each.
        let per_task = width * (PARALLEL_MIN / width).max(1);
        out.par_chunks_mut(per_task).zip(x.par_chunks(per_task)).for_each(|(o, r)| {
            o.chunks_mut(width).zip(r.chunks(width)).for_each(|(o, r)| f(r, o));
        });
    }
}

pub(crate) fn last_axis(shape: &[usize], what: &str) -> Result<usize, KernelError> {
    shape
        .last()
        .copied()
        .ok_or_else(|| KernelError::Shape(format!("{what} needs a tensor with at least one axis")))
}

/// Softmax over the last axis, computed as `exp(x - max) / sum`, so large values do not
/// overflow.
pub fn softmax(x: &Tensor) -> Result<Tensor, KernelError> {
    let width = last_axis(x.shape(), "softmax")?;
    fn run<T: Float>(row: &[T], out: &mut [T]) {
        let max = row.iter().copied().fold(None, |m: Option<T>, v| match m {
            Some(m) if m >= v => Some(m),
            _ => Some(v),
        });
        let Some(max) = max else { return };
        let mut sum = T::ZERO;
        for (o, &v) in out.iter_mut().zip(row) {
            *o = (v - max).exp();
            sum = sum + *o;
        }
        for o in out.iter_mut() {
            *o = *o / sum;
        }
    }
    map_rows(x, width, "softmax", run::<f32>, run::<f64>)
}

/// Each row of the last axis divided by its Euclidean norm (a zero row stays zero).
pub fn l2_normalize(x: &Tensor) -> Result<Tensor, KernelError> {
    let width = last_axis(x.shape(), "l2_normalize")?;
    map_rows(x, width, "l2_normalize", normalize_row::<f32>, normalize_row::<f64>)
}

/// [`l2_normalize`] of the rows of `width` elements of `x`, into `out`, memory the caller owns
/// (a reused buffer costs no page faults).
pub fn l2_normalize_into<T: Float>(
    x: &[T],
    width: usize,
    out: &mut [T],
) -> Result<(), KernelError> {
    if x.len() != out.len() || (width > 0 && !x.len().is_multiple_of(width)) {
        return Err(KernelError::Shape(format!(
            "{} elements in rows of {width} into {}",
            x.len(),
            out.len()
        )));
    }
    rows_into(x, width, out, normalize_row);
    Ok(())
}

fn normalize_row<T: Float>(row: &[T], out: &mut [T]) {
    let mut sum = T::ZERO;
    for &v in row {
        sum = sum + v * v;
    }
    let scale = if sum > T::ZERO { T::ONE / sum.sqrt() } else { T::ZERO };
    for (o, &v) in out.iter_mut().zip(row) {
        *o = v * scale;
    }
}

fn map_rows(
    x: &Tensor,
    width: usize,
    what: &str,
    f32_row: fn(&[f32], &mut [f32]),
    f64_row: fn(&[f64], &mut [f64]),
) -> Result<Tensor, KernelError> {
    let shape = x.shape().to_vec();
    match x.data() {
        Data::F32(v) => Tensor::f32(shape, rows(v, width, f32_row)),
        Data::F64(v) => Tensor::f64(shape, rows(v, width, f64_row)),
        Data::I64(_) => Err(KernelError::Type(format!("{what} needs a float tensor, not i64"))),
    }
}

/// The cosine similarity of every row of `a` (`[N, D]`) with every row of `b` (`[M, D]`):
/// `[N, M]`.
pub fn cosine_similarity(a: &Tensor, b: &Tensor) -> Result<Tensor, KernelError> {
    cosine_shape(a.shape(), b.shape())?;
    let (a, b) = (l2_normalize(a)?, l2_normalize(b)?);
    crate::matmul::matmul_transposed(&a, &b)
}

/// The rows of `a`, of `b` and their length, for a cosine similarity, checked.
pub(crate) fn cosine_shape(a: &[usize], b: &[usize]) -> Result<(usize, usize, usize), KernelError> {
    let (&[n, d], &[m, d2]) = (a, b) else {
        return Err(KernelError::Shape(format!(
            "cosine_similarity takes two matrices, not shapes {a:?} and {b:?}"
        )));
    };
    if d != d2 {
        return Err(KernelError::Shape(format!(
            "cosine_similarity of rows of {d} and {d2} elements"
        )));
    }
    Ok((n, m, d))
}

/// The row length of `x` and the shape of its top `k`, checked.
pub(crate) fn topk_shape(x: &[usize], k: usize) -> Result<(usize, Vec<usize>), KernelError> {
    let width = last_axis(x, "topk")?;
    if k > width {
        return Err(KernelError::Shape(format!("topk of {k} in rows of {width}")));
    }
    let mut shape = x.to_vec();
    if let Some(last) = shape.last_mut() {
        *last = k;
    }
    Ok((width, shape))
}

/// The `k` largest values of each row of the last axis, largest first (ties: the lower index
/// first), and their indices (`i64`).
pub fn topk(x: &Tensor, k: usize) -> Result<(Tensor, Tensor), KernelError> {
    let (width, shape) = topk_shape(x.shape(), k)?;
    fn run<T: Float>(x: &[T], width: usize, k: usize) -> (Vec<T>, Vec<i64>) {
        let rows = x.len().checked_div(width).unwrap_or(0);
        let mut values = Vec::with_capacity(rows * k);
        let mut indices = Vec::with_capacity(rows * k);
        let mut order: Vec<usize> = Vec::with_capacity(width);
        for row in x.chunks(width.max(1)).take(rows) {
            order.clear();
            order.extend(0..width);
            let by = |a: &usize, b: &usize| {
                row[*b].partial_cmp(&row[*a]).unwrap_or(std::cmp::Ordering::Equal).then(a.cmp(b))
            };
            if k < width && k > 0 {
                order.select_nth_unstable_by(k - 1, by);
            }
            order.truncate(k);
            order.sort_by(by);
            values.extend(order.iter().map(|&i| row[i]));
            indices.extend(order.iter().map(|&i| i as i64));
        }
        (values, indices)
    }
    let (values, indices) = match x.data() {
        Data::F32(v) => {
            let (values, indices) = run(v, width, k);
            (Tensor::f32(shape.clone(), values)?, indices)
        }
        Data::F64(v) => {
            let (values, indices) = run(v, width, k);
            (Tensor::f64(shape.clone(), values)?, indices)
        }
        Data::I64(_) => return Err(KernelError::Type("topk needs a float tensor, not i64".into())),
    };
    Ok((values, Tensor::new(shape, Data::I64(indices.into()))?))
}
