//! Elementwise kernels on the CPU: unary functions, `scale`, and binary arithmetic with NumPy
//! broadcasting. Each runs as one pass over contiguous memory (loops the compiler vectorises),
//! split across threads by rayon above [`PARALLEL_MIN`] elements.

use rayon::prelude::*;

use crate::float::Float;
use crate::tensor::{Data, KernelError, Tensor};

/// Below this many elements a kernel runs on one thread: splitting costs more than it saves.
pub const PARALLEL_MIN: usize = 1 << 16;

/// A function applied to every element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Unary {
    /// `-x`.
    Neg,
    /// `e^x`.
    Exp,
    /// The natural logarithm.
    Log,
    /// `max(x, 0)`.
    Relu,
    /// GELU, in the tanh approximation: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
    Gelu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
}

/// Arithmetic between two tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Binary {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`.
    Div,
}

impl Unary {
    /// The function on one element.
    pub fn apply<T: Float>(self, x: T) -> T {
        match self {
            Unary::Neg => -x,
            Unary::Exp => x.exp(),
            Unary::Log => x.ln(),
            Unary::Relu => {
                if x > T::ZERO {
                    x
                } else {
                    T::ZERO
                }
            }
            Unary::Gelu => {
                let c = T::from_f64(0.797_884_560_802_865_4); // sqrt(2 / pi)
                let inner = c * (x + T::from_f64(0.044_715) * x * x * x);
                T::from_f64(0.5) * x * (T::ONE + inner.tanh())
            }
            Unary::Sigmoid => T::ONE / (T::ONE + (-x).exp()),
        }
    }
}

impl Binary {
    /// The operation on two elements.
    pub fn apply<T: Float>(self, a: T, b: T) -> T {
        match self {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
        }
    }
}

/// `op` of every element of `x` (a float tensor).
pub fn unary(op: Unary, x: &Tensor) -> Result<Tensor, KernelError> {
    let shape = x.shape().to_vec();
    match x.data() {
        Data::F32(v) => Tensor::f32(shape, map(v, |a, out| apply_unary(op, a, out))),
        Data::F64(v) => Tensor::f64(shape, map(v, |a, out| apply_unary(op, a, out))),
        Data::I64(_) => Err(KernelError::Type(format!("{op:?} needs a float tensor, not i64"))),
    }
}

/// `x * factor`.
pub fn scale(x: &Tensor, factor: f64) -> Result<Tensor, KernelError> {
    let shape = x.shape().to_vec();
    match x.data() {
        Data::F32(v) => {
            let factor = factor as f32;
            Tensor::f32(shape, map(v, |a, out| apply_unary_with(a, out, |x| x * factor)))
        }
        Data::F64(v) => {
            Tensor::f64(shape, map(v, |a, out| apply_unary_with(a, out, |x| x * factor)))
        }
        Data::I64(_) => Err(KernelError::Type("scale needs a float tensor, not i64".into())),
    }
}

/// `a op b`, broadcasting as NumPy does: shapes are aligned at their last dimension, and a
/// dimension of 1 (or a missing one) stretches to the other's.
pub fn binary(op: Binary, a: &Tensor, b: &Tensor) -> Result<Tensor, KernelError> {
    let shape = broadcast_shape(a.shape(), b.shape())?;
    match (a.data(), b.data()) {
        (Data::F32(x), Data::F32(y)) => {
            Tensor::f32(shape.clone(), broadcast(op, x, a.shape(), y, b.shape(), &shape))
        }
        (Data::F64(x), Data::F64(y)) => {
            Tensor::f64(shape.clone(), broadcast(op, x, a.shape(), y, b.shape(), &shape))
        }
        (x, y) => Err(KernelError::Type(format!(
            "{op:?} needs two float tensors of one element type, not {} and {}",
            x.dtype(),
            y.dtype()
        ))),
    }
}

/// The shape `a` and `b` broadcast to.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, KernelError> {
    let rank = a.len().max(b.len());
    let dim =
        |shape: &[usize], i: usize| (i + shape.len()).checked_sub(rank).map_or(1, |j| shape[j]);
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            (x, y) => Err(KernelError::Shape(format!(
                "shapes {a:?} and {b:?} do not broadcast: {x} and {y} in dimension {i}"
            ))),
        })
        .collect()
}

/// `f(block, out)` over `values`, in blocks split across threads for large inputs.
fn map<T: Float>(values: &[T], f: impl Fn(&[T], &mut [T]) + Sync) -> Vec<T> {
    let mut out = vec![T::ZERO; values.len()];
    if values.len() < PARALLEL_MIN {
        f(values, &mut out);
    } else {
        out.par_chunks_mut(PARALLEL_MIN)
            .zip(values.par_chunks(PARALLEL_MIN))
            .for_each(|(out, values)| f(values, out));
    }
    out
}

/// The strides of `shape` read as `out`'s shape: 0 along broadcast dimensions.
pub(crate) fn strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; out.len()];
    let mut step = 1;
    for (i, &n) in shape.iter().enumerate().rev() {
        let j = out.len() - shape.len() + i;
        strides[j] = if n == 1 { 0 } else { step };
        step *= n;
    }
    strides
}

fn broadcast<T: Float>(
    op: Binary,
    a: &[T],
    a_shape: &[usize],
    b: &[T],
    b_shape: &[usize],
    out_shape: &[usize],
) -> Vec<T> {
    let total = out_shape.iter().product::<usize>();
    let mut out = vec![T::ZERO; total];
    if a_shape == b_shape {
        if total < PARALLEL_MIN {
            apply_binary(op, a, b, &mut out);
        } else {
            out.par_chunks_mut(PARALLEL_MIN)
                .zip(a.par_chunks(PARALLEL_MIN).zip(b.par_chunks(PARALLEL_MIN)))
                .for_each(|(out, (a, b))| apply_binary(op, a, b, out));
        }
        return out;
    }
    let rank = out_shape.len();
    let (a_strides, b_strides) = (strides(a_shape, out_shape), strides(b_shape, out_shape));
    let inner = out_shape.last().copied().unwrap_or(1).max(1);
    let (a_step, b_step) =
        (a_strides.last().copied().unwrap_or(0), b_strides.last().copied().unwrap_or(0));
    let row = |index: usize, out: &mut [T]| {
        // The offsets of this row in `a` and `b`.
        let (mut rest, mut a_at, mut b_at) = (index, 0, 0);
        for d in (0..rank.saturating_sub(1)).rev() {
            let i = rest % out_shape[d];
            rest /= out_shape[d];
            a_at += i * a_strides[d];
            b_at += i * b_strides[d];
        }
        let (a_row, b_row) = (a_at..a_at + inner, b_at..b_at + inner);
        match (a_step, b_step) {
            (0, 0) => out.fill(op.apply(a[a_at], b[b_at])),
            (0, _) => apply_with_constant(op, &b[b_row], a[a_at], true, out),
            (_, 0) => apply_with_constant(op, &a[a_row], b[b_at], false, out),
            _ => apply_binary(op, &a[a_row], &b[b_row], out),
        }
    };
    if total < PARALLEL_MIN {
        out.chunks_mut(inner).enumerate().for_each(|(i, chunk)| row(i, chunk));
    } else {
        out.par_chunks_mut(inner).enumerate().for_each(|(i, chunk)| row(i, chunk));
    }
    out
}

/// `op` over a block, the operation chosen once outside the loop so that the loop vectorises.
pub(crate) fn apply_unary<T: Float>(op: Unary, a: &[T], out: &mut [T]) {
    match op {
        Unary::Neg => apply_unary_with(a, out, |x| Unary::Neg.apply(x)),
        Unary::Exp => apply_unary_with(a, out, |x| Unary::Exp.apply(x)),
        Unary::Log => apply_unary_with(a, out, |x| Unary::Log.apply(x)),
        Unary::Relu => apply_unary_with(a, out, |x| Unary::Relu.apply(x)),
        Unary::Gelu => apply_unary_with(a, out, |x| Unary::Gelu.apply(x)),
        Unary::Sigmoid => apply_unary_with(a, out, |x| Unary::Sigmoid.apply(x)),
    }
}

pub(crate) fn apply_binary<T: Float>(op: Binary, a: &[T], b: &[T], out: &mut [T]) {
    match op {
        Binary::Add => zip_with(a, b, out, |x, y| x + y),
        Binary::Sub => zip_with(a, b, out, |x, y| x - y),
        Binary::Mul => zip_with(a, b, out, |x, y| x * y),
        Binary::Div => zip_with(a, b, out, |x, y| x / y),
    }
}

/// `a op c` (or `c op a` when `constant_first`) over a block.
pub(crate) fn apply_with_constant<T: Float>(
    op: Binary,
    a: &[T],
    c: T,
    constant_first: bool,
    out: &mut [T],
) {
    match (op, constant_first) {
        (Binary::Add, _) => apply_unary_with(a, out, |x| x + c),
        (Binary::Mul, _) => apply_unary_with(a, out, |x| x * c),
        (Binary::Sub, false) => apply_unary_with(a, out, |x| x - c),
        (Binary::Sub, true) => apply_unary_with(a, out, |x| c - x),
        (Binary::Div, false) => apply_unary_with(a, out, |x| x / c),
        (Binary::Div, true) => apply_unary_with(a, out, |x| c / x),
    }
}

#[inline(always)]
fn zip_with<T: Float>(a: &[T], b: &[T], out: &mut [T], f: impl Fn(T, T) -> T) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = f(x, y);
    }
}

#[inline(always)]
fn apply_unary_with<T: Float>(a: &[T], out: &mut [T], f: impl Fn(T) -> T) {
    for (o, &x) in out.iter_mut().zip(a) {
        *o = f(x);
    }
}
