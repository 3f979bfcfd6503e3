//! Matrix multiplication on the CPU through the `gemm` crate (SIMD microkernels chosen at run
//! time, cache blocking, rayon threads for large products).

use crate::tensor::{Data, KernelError, Tensor};
use rayon::prelude::*;

/// Below this many multiply-adds a product runs on one thread.
const PARALLEL_MIN: usize = 1 << 18;

/// `a @ b` for `a` of shape `[..., M, K]` and `b` of shape `[..., K, N]` (both `f32` or both
/// `f64`): the product of the last two dimensions, over leading batch dimensions that broadcast
/// as NumPy's `matmul` does (`[B, M, K] @ [K, N]` multiplies each of the `B` matrices by `b`).
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor, KernelError> {
    let MatmulShape { shape, pairs, m, k, n } = matmul_shape(a.shape(), b.shape())?;
    let Some(pairs) = pairs else {
        return multiply(a, b, (m, k, n), false);
    };
    match (a.data(), b.data()) {
        (Data::F32(x), Data::F32(y)) => Tensor::f32(shape, batched(x, y, &pairs, (m, k, n))),
        (Data::F64(x), Data::F64(y)) => Tensor::f64(shape, batched(x, y, &pairs, (m, k, n))),
        (x, y) => Err(type_error(x.dtype(), y.dtype())),
    }
}

/// The shapes of a product `a @ b`, checked.
pub(crate) struct MatmulShape {
    /// The product's shape.
    pub shape: Vec<usize>,
    /// For a batched product, the matrix of `a` and of `b` behind each matrix of the result;
    /// `None` for two matrices.
    pub pairs: Option<Vec<(usize, usize)>>,
    pub m: usize,
    pub k: usize,
    pub n: usize,
}

/// Checks the shapes of `a @ b` and says how the product is formed.
pub(crate) fn matmul_shape(a: &[usize], b: &[usize]) -> Result<MatmulShape, KernelError> {
    let (Some((batch_a, &[m, k])), Some((batch_b, &[k2, n]))) =
        (a.split_last_chunk::<2>(), b.split_last_chunk::<2>())
    else {
        return Err(KernelError::Shape(format!(
            "matmul takes tensors of at least two dimensions, not shapes {a:?} and {b:?}"
        )));
    };
    if k != k2 {
        return Err(KernelError::Shape(format!(
            "matmul of {a:?} and {b:?}: the inner dimensions differ ({k} and {k2})"
        )));
    }
    if batch_a.is_empty() && batch_b.is_empty() {
        return Ok(MatmulShape { shape: vec![m, n], pairs: None, m, k, n });
    }
    let batch = crate::elementwise::broadcast_shape(batch_a, batch_b)?;
    let pairs = batch_pairs(&batch, batch_a, batch_b);
    let mut shape = batch;
    shape.extend([m, n]);
    Ok(MatmulShape { shape, pairs: Some(pairs), m, k, n })
}

/// For each matrix of a broadcast batch of shape `batch`, the index of the matrix of `a`
/// (batch shape `batch_a`) and of `b` that it multiplies.
fn batch_pairs(batch: &[usize], batch_a: &[usize], batch_b: &[usize]) -> Vec<(usize, usize)> {
    let count = batch.iter().product::<usize>();
    // The index of an operand's matrix, for the broadcast batch's multi-index `at`.
    let index = |at: &[usize], own: &[usize]| {
        let skip = batch.len() - own.len();
        own.iter().zip(&at[skip..]).fold(0, |flat, (&size, &i)| flat * size + i.min(size - 1))
    };
    let mut at = vec![0; batch.len()];
    let mut pairs = Vec::with_capacity(count);
    for _ in 0..count {
        pairs.push((index(&at, batch_a), index(&at, batch_b)));
        // The next multi-index, last dimension fastest.
        for (i, size) in at.iter_mut().zip(batch).rev() {
            *i += 1;
            if *i < *size {
                break;
            }
            *i = 0;
        }
    }
    pairs
}

/// The products of the matrices of `a` (`[m, k]` each) and `b` (`[k, n]` each) paired by
/// `pairs`: small products (each below [`PARALLEL_MIN`] multiply-adds, run on one thread by
/// GEMM) are spread over threads pair by pair when there is enough work in all; large ones run
/// one after the other, each on every thread.
fn batched<T: crate::float::Float>(
    a: &[T],
    b: &[T],
    pairs: &[(usize, usize)],
    (m, k, n): (usize, usize, usize),
) -> Vec<T> {
    let mut out = vec![T::ZERO; pairs.len() * m * n];
    if m == 0 || n == 0 {
        return out;
    }
    let one = m.saturating_mul(n).saturating_mul(k);
    let pair = |(i, j): (usize, usize), into: &mut [T], parallel: bool| {
        let x = &a[i * m * k..(i + 1) * m * k];
        let y = &b[j * k * n..(j + 1) * k * n];
        product_into(into, x, y, (m, k, n), false, parallel);
    };
    if one < PARALLEL_MIN && one.saturating_mul(pairs.len()) >= PARALLEL_MIN {
        out.par_chunks_mut(m * n).zip(pairs.par_iter()).for_each(|(into, &p)| pair(p, into, false));
    } else {
        for (into, &p) in out.chunks_mut(m * n).zip(pairs) {
            pair(p, into, true);
        }
    }
    out
}

pub(crate) fn type_error(x: &str, y: &str) -> KernelError {
    KernelError::Type(format!(
        "matmul needs two float tensors of one element type, not {x} and {y}"
    ))
}

/// `a @ b^T` for `a` of shape `[M, K]` and `b` of shape `[N, K]`: `b` is read transposed in
/// place, not copied.
pub(crate) fn matmul_transposed(a: &Tensor, b: &Tensor) -> Result<Tensor, KernelError> {
    let (&[m, k], &[n, k2]) = (a.shape(), b.shape()) else {
        return Err(KernelError::Shape("matmul_transposed takes two matrices".into()));
    };
    if k != k2 {
        return Err(KernelError::Shape(format!("rows of {k} and {k2} elements")));
    }
    multiply(a, b, (m, k, n), true)
}

/// The product of shapes already checked, for each element type.
fn multiply(
    a: &Tensor,
    b: &Tensor,
    (m, k, n): (usize, usize, usize),
    transposed: bool,
) -> Result<Tensor, KernelError> {
    match (a.data(), b.data()) {
        (Data::F32(x), Data::F32(y)) => Tensor::f32(vec![m, n], product(x, y, m, k, n, transposed)),
        (Data::F64(x), Data::F64(y)) => Tensor::f64(vec![m, n], product(x, y, m, k, n, transposed)),
        (x, y) => Err(type_error(x.dtype(), y.dtype())),
    }
}

/// The `[m, n]` product of `a` (`[m, k]`) and `b` (`[k, n]`, or `[n, k]` when `transposed`).
fn product<T: crate::float::Float>(
    a: &[T],
    b: &[T],
    m: usize,
    k: usize,
    n: usize,
    transposed: bool,
) -> Vec<T> {
    let mut out = vec![T::ZERO; m * n];
    product_into(&mut out, a, b, (m, k, n), transposed, true);
    out
}

/// The `[m, n]` product of `a` and `b` (as [`product`] takes them) written into `out`, which
/// holds `m * n` elements; over rayon's threads when `parallel` and the product is large.
fn product_into<T: crate::float::Float>(
    out: &mut [T],
    a: &[T],
    b: &[T],
    (m, k, n): (usize, usize, usize),
    transposed: bool,
    parallel: bool,
) {
    // What the unsafe call below relies on; the callers pass slices of checked shapes.
    assert!(out.len() == m * n && a.len() >= m * k && b.len() >= k * n, "matmul operand sizes");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        out.fill(T::ZERO);
        return;
    }
    let parallelism = if !parallel || m.saturating_mul(n).saturating_mul(k) < PARALLEL_MIN {
        gemm::Parallelism::None
    } else {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    };
    // Row-major: the column stride is 1 and the row stride the row's length.
    let (n_, k_) = (n as isize, k as isize);
    // `b`'s strides along a column of the product (cs) and along the inner dimension (rs).
    let (b_cs, b_rs) = if transposed { (k_, 1) } else { (1, n_) };
    // SAFETY: `a` holds m*k elements, `b` k*n (either layout) and `out` m*n (asserted above),
    // each read or written with the strides given, which stay within those lengths; `out`
    // does not alias `a` or `b`; `read_dst` is false, so `out`'s zeros are never read.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n_,
            false,
            a.as_ptr(),
            1,
            k_,
            b.as_ptr(),
            b_cs,
            b_rs,
            T::ZERO,
            T::ONE,
            false,
            false,
            false,
            parallelism,
        );
    }
}
