//! Matrix multiplication on the CPU through the `gemm` crate (SIMD microkernels chosen at run
//! time, cache blocking, rayon threads for large products).

use crate::tensor::{Data, KernelError, Tensor};

/// Below this many multiply-adds a product runs on one thread.
const PARALLEL_MIN: usize = 1 << 18;

/// `a @ b` for `a` of shape `[M, K]` and `b` of shape `[K, N]` (both `f32` or both `f64`).
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor, KernelError> {
    let (&[m, k], &[k2, n]) = (a.shape(), b.shape()) else {
        return Err(KernelError::Shape(format!(
            "matmul takes two matrices, not shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        )));
    };
    if k != k2 {
        return Err(KernelError::Shape(format!(
            "matmul of [{m}, {k}] and [{k2}, {n}]: the inner dimensions differ"
        )));
    }
    multiply(a, b, (m, k, n), false)
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
        (x, y) => Err(KernelError::Type(format!(
            "matmul needs two float tensors of one element type, not {} and {}",
            x.dtype(),
            y.dtype()
        ))),
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
    if m == 0 || n == 0 || k == 0 {
        return out;
    }
    let parallelism = if m.saturating_mul(n).saturating_mul(k) < PARALLEL_MIN {
        gemm::Parallelism::None
    } else {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    };
    // Row-major: the column stride is 1 and the row stride the row's length.
    let (n_, k_) = (n as isize, k as isize);
    // `b`'s strides along a column of the product (cs) and along the inner dimension (rs).
    let (b_cs, b_rs) = if transposed { (k_, 1) } else { (1, n_) };
    // SAFETY: `a` holds m*k elements, `b` k*n (either layout) and `out` m*n (checked by the tensors' shapes),
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
    out
}
