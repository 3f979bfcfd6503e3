//! Matrix products on the GPU through cuBLAS, and cosine similarity.
//!
//! cuBLAS is column-major and aigrid's tensors row-major: a row-major `[m, n]` matrix is the
//! column-major `[n, m]` one, its transpose. So `c = a @ b` is computed as `c^T = b^T a^T`:
//! cuBLAS's first operand is `b`, its second `a`.

use std::ffi::c_int;

use cudarc::cublas::sys::cublasOperation_t::{CUBLAS_OP_N, CUBLAS_OP_T};
use cudarc::cublas::{CudaBlas, Gemm, GemmConfig, StridedBatchedConfig};
use cudarc::driver::CudaSlice;

use super::tensor::{Element, GpuData, GpuTensor};
use super::{Gpu, failed};
use crate::float::Float;
use crate::matmul::{MatmulShape, matmul_shape, type_error};
use crate::reduce::cosine_shape;
use crate::tensor::KernelError;

/// A size as cuBLAS takes it.
fn int(size: usize) -> Result<c_int, KernelError> {
    c_int::try_from(size).map_err(|_| {
        KernelError::Shape(format!("a matrix dimension of {size} is too large for cuBLAS"))
    })
}

/// A stride as cuBLAS takes it.
fn long(size: usize) -> Result<i64, KernelError> {
    i64::try_from(size).map_err(|_| {
        KernelError::Shape(format!("a matrix of {size} elements is too large for cuBLAS"))
    })
}

impl Gpu {
    /// `a @ b` over the last two dimensions, the leading ones broadcast (as [`crate::matmul`]).
    pub fn matmul(&self, a: &GpuTensor, b: &GpuTensor) -> Result<GpuTensor, KernelError> {
        let product = matmul_shape(&a.shape, &b.shape)?;
        match (&*a.data, &*b.data) {
            (GpuData::F32(x), GpuData::F32(y)) => self.matmul_of(x, y, product),
            (GpuData::F64(x), GpuData::F64(y)) => self.matmul_of(x, y, product),
            _ => Err(type_error(a.dtype(), b.dtype())),
        }
    }

    fn matmul_of<T: Element + Float>(
        &self,
        a: &CudaSlice<T>,
        b: &CudaSlice<T>,
        MatmulShape { shape, pairs, m, k, n }: MatmulShape,
    ) -> Result<GpuTensor, KernelError>
    where
        CudaBlas: Gemm<T>,
    {
        let count = shape.iter().product::<usize>();
        if m == 0 || n == 0 || k == 0 {
            return Ok(GpuTensor::new(shape, T::wrap(self.zeros(count)?)));
        }
        let mut out = self.output::<T>(count)?;
        let gemm = GemmConfig {
            transa: CUBLAS_OP_N,
            transb: CUBLAS_OP_N,
            m: int(n)?,
            n: int(m)?,
            k: int(k)?,
            alpha: T::ONE,
            lda: int(n)?,
            ldb: int(k)?,
            beta: T::ZERO,
            ldc: int(n)?,
        };
        let (size_a, size_b, size_c) = (m * k, k * n, m * n);
        let pairs = pairs.unwrap_or_else(|| vec![(0, 0)]);
        // A batch whose operands are each either one matrix or one per product is one call.
        let stride = |pick: fn(&(usize, usize)) -> usize, size: usize| {
            if pairs.iter().all(|p| pick(p) == 0) {
                Some(0)
            } else if pairs.iter().enumerate().all(|(q, p)| pick(p) == q) {
                long(size).ok()
            } else {
                None
            }
        };
        let blas = |e| failed("a cuBLAS matrix product", e);
        match (stride(|p| p.0, size_a), stride(|p| p.1, size_b)) {
            (Some(stride_a), Some(stride_b)) => {
                let batched = StridedBatchedConfig {
                    gemm,
                    batch_size: int(pairs.len())?,
                    stride_a: stride_b,
                    stride_b: stride_a,
                    stride_c: long(size_c)?,
                };
                // SAFETY: `b` holds a `k x n` matrix at each of its strides (or one, at 0) and
                // `a` an `m x k` one, as cuBLAS reads them with these leading dimensions;
                // `out` holds the batch's `m x n` results; `out` aliases neither.
                unsafe { self.blas.gemm_strided_batched(batched, b, a, &mut out) }.map_err(blas)?;
            }
            _ => {
                for (q, &(i, j)) in pairs.iter().enumerate() {
                    let x = a.slice(i * size_a..(i + 1) * size_a);
                    let y = b.slice(j * size_b..(j + 1) * size_b);
                    let mut z = out.slice_mut(q * size_c..(q + 1) * size_c);
                    // SAFETY: the views hold exactly the matrices the configuration describes.
                    unsafe { self.blas.gemm(gemm, &y, &x, &mut z) }.map_err(blas)?;
                }
            }
        }
        Ok(GpuTensor::new(shape, T::wrap(out)))
    }

    /// The cosine similarity of every row of `a` (`[N, D]`) with every row of `b` (`[M, D]`):
    /// `[N, M]` (as [`crate::cosine_similarity`]).
    pub fn cosine_similarity(
        &self,
        a: &GpuTensor,
        b: &GpuTensor,
    ) -> Result<GpuTensor, KernelError> {
        let dims = cosine_shape(&a.shape, &b.shape)?;
        let (a, b) = (self.l2_normalize(a)?, self.l2_normalize(b)?);
        match (&*a.data, &*b.data) {
            (GpuData::F32(x), GpuData::F32(y)) => self.cosine_of(x, y, dims),
            (GpuData::F64(x), GpuData::F64(y)) => self.cosine_of(x, y, dims),
            _ => Err(type_error(a.dtype(), b.dtype())),
        }
    }

    /// `a @ b^T` for rows already normalised.
    fn cosine_of<T: Element + Float>(
        &self,
        a: &CudaSlice<T>,
        b: &CudaSlice<T>,
        (rows_a, rows_b, d): (usize, usize, usize),
    ) -> Result<GpuTensor, KernelError>
    where
        CudaBlas: Gemm<T>,
    {
        let shape = vec![rows_a, rows_b];
        if rows_a == 0 || rows_b == 0 || d == 0 {
            return Ok(GpuTensor::new(shape, T::wrap(self.zeros(rows_a * rows_b)?)));
        }
        let mut out = self.output::<T>(rows_a * rows_b)?;
        // c^T = b a^T: `b` stored row-major is b^T column-major, so it is read transposed.
        let gemm = GemmConfig {
            transa: CUBLAS_OP_T,
            transb: CUBLAS_OP_N,
            m: int(rows_b)?,
            n: int(rows_a)?,
            k: int(d)?,
            alpha: T::ONE,
            lda: int(d)?,
            ldb: int(d)?,
            beta: T::ZERO,
            ldc: int(rows_b)?,
        };
        // SAFETY: `b` holds `rows_b` rows of `d`, `a` `rows_a` rows of `d`, `out` the
        // `rows_a x rows_b` result, as the configuration describes them; no aliasing.
        unsafe { self.blas.gemm(gemm, b, a, &mut out) }
            .map_err(|e| failed("a cuBLAS matrix product", e))?;
        Ok(GpuTensor::new(shape, T::wrap(out)))
    }
}
