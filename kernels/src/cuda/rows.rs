//! Reductions over an axis and the row-wise operations of the last axis on the GPU: softmax,
//! l2_normalize and top-k.

use cudarc::driver::{CudaSlice, PushKernelArg};

use super::elementwise::on_floats;
use super::tensor::{Element, GpuData, GpuTensor};
use super::{Gpu, over_elements, over_rows};
use crate::reduce::{Reduce, last_axis, split, topk_shape};
use crate::tensor::KernelError;

/// Rows at most this long are reduced a thread per row, longer ones a block per row.
const SHORT_ROW: usize = 32;

/// The code of `op` in `source.cu`.
fn reduce_code(op: Reduce) -> i32 {
    match op {
        Reduce::Sum => 0,
        Reduce::Mean => 1,
        Reduce::Max => 2,
        Reduce::Min => 3,
        Reduce::Argmax => 4,
    }
}

impl Gpu {
    /// Reduces `x` over `axis`, which disappears from the shape (as [`crate::reduce`]).
    pub fn reduce(&self, op: Reduce, x: &GpuTensor, axis: usize) -> Result<GpuTensor, KernelError> {
        let (outer, n, inner) = split(&x.shape, axis)?;
        if n == 0 && matches!(op, Reduce::Max | Reduce::Min | Reduce::Argmax) {
            return Err(KernelError::Shape(format!("{op:?} of an empty axis")));
        }
        let mut shape = x.shape.clone();
        shape.remove(axis);
        let refuse = format!("{op:?} needs a float tensor, not i64");
        on_floats!(&*x.data, refuse, v => self.reduce_of(op, v, (outer, n, inner), shape))
    }

    fn reduce_of<T: Element>(
        &self,
        op: Reduce,
        x: &CudaSlice<T>,
        (outer, n, inner): (usize, usize, usize),
        shape: Vec<usize>,
    ) -> Result<GpuTensor, KernelError> {
        let count = outer * inner;
        let mut values = self.output::<T>(count)?;
        let mut indices = self.output::<i64>(count)?;
        if count > 0 {
            let code = reduce_code(op);
            let (outer_, n_, inner_) = (outer as u64, n as u64, inner as u64);
            if inner == 1 && n > SHORT_ROW {
                let function = self.function(&format!("reduce_rows_{}", T::SUFFIX))?;
                let mut args = self.stream.launch_builder(&function);
                args.arg(x).arg(&mut values).arg(&mut indices).arg(&outer_).arg(&n_).arg(&code);
                let shared = std::mem::size_of::<T>() + std::mem::size_of::<u64>();
                self.launch(args, over_rows(outer, shared))?;
            } else {
                let function = self.function(&format!("reduce_strided_{}", T::SUFFIX))?;
                let mut args = self.stream.launch_builder(&function);
                args.arg(x).arg(&mut values).arg(&mut indices);
                args.arg(&outer_).arg(&n_).arg(&inner_).arg(&code);
                self.launch(args, over_elements(count))?;
            }
        }
        Ok(if op == Reduce::Argmax {
            GpuTensor::new(shape, GpuData::I64(indices))
        } else {
            GpuTensor::new(shape, T::wrap(values))
        })
    }

    /// Softmax over the last axis (as [`crate::softmax`]).
    pub fn softmax(&self, x: &GpuTensor) -> Result<GpuTensor, KernelError> {
        self.map_rows(x, "softmax")
    }

    /// Each row of the last axis divided by its Euclidean norm (as [`crate::l2_normalize`]).
    pub fn l2_normalize(&self, x: &GpuTensor) -> Result<GpuTensor, KernelError> {
        self.map_rows(x, "l2_normalize")
    }

    /// Runs the row kernel `name` over the rows of the last axis of `x`.
    fn map_rows(&self, x: &GpuTensor, name: &str) -> Result<GpuTensor, KernelError> {
        let width = last_axis(&x.shape, name)?;
        let refuse = format!("{name} needs a float tensor, not i64");
        on_floats!(&*x.data, refuse, v => self.map_rows_of(name, v, &x.shape, width))
    }

    fn map_rows_of<T: Element>(
        &self,
        name: &str,
        x: &CudaSlice<T>,
        shape: &[usize],
        width: usize,
    ) -> Result<GpuTensor, KernelError> {
        let n = x.len();
        let mut out = self.output::<T>(n)?;
        if n > 0 {
            let rows = n / width;
            let function = self.function(&format!("{name}_{}", T::SUFFIX))?;
            let (rows_, width_) = (rows as u64, width as u64);
            let mut args = self.stream.launch_builder(&function);
            args.arg(x).arg(&mut out).arg(&rows_).arg(&width_);
            self.launch(args, over_rows(rows, std::mem::size_of::<T>()))?;
        }
        Ok(GpuTensor::new(shape.to_vec(), T::wrap(out)))
    }

    /// The `k` largest values of each row of the last axis, largest first (ties: the lower
    /// index first), and their indices (as [`crate::topk`]). A thread per row keeps its top
    /// `k` in order, so it costs up to `width * k` steps a row: meant for small `k`.
    pub fn topk(&self, x: &GpuTensor, k: usize) -> Result<(GpuTensor, GpuTensor), KernelError> {
        let (width, shape) = topk_shape(&x.shape, k)?;
        let refuse = "topk needs a float tensor, not i64".to_owned();
        on_floats!(&*x.data, refuse, v => self.topk_of(v, width, k, shape))
    }

    fn topk_of<T: Element>(
        &self,
        x: &CudaSlice<T>,
        width: usize,
        k: usize,
        shape: Vec<usize>,
    ) -> Result<(GpuTensor, GpuTensor), KernelError> {
        let rows = x.len().checked_div(width).unwrap_or(0);
        let mut values = self.output::<T>(rows * k)?;
        let mut indices = self.output::<i64>(rows * k)?;
        if rows * k > 0 {
            let function = self.function(&format!("topk_{}", T::SUFFIX))?;
            let (rows_, width_, k_) = (rows as u64, width as u64, k as u64);
            let mut args = self.stream.launch_builder(&function);
            args.arg(x).arg(&mut values).arg(&mut indices).arg(&rows_).arg(&width_).arg(&k_);
            self.launch(args, over_elements(rows))?;
        }
        Ok((
            GpuTensor::new(shape.clone(), T::wrap(values)),
            GpuTensor::new(shape, GpuData::I64(indices)),
        ))
    }
}
