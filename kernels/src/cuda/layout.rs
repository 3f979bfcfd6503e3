//! Layout on the GPU: reshape (no copy), transpose, concat and slice, for every element type.

use cudarc::driver::{CudaSlice, PushKernelArg};

use super::tensor::{Element, GpuData, GpuTensor};
use super::{Gpu, over_elements};
use crate::layout::{Sliced, check_reshape, concat_shape, permuted, sliced};
use crate::tensor::KernelError;

/// Matches a tensor's data of any element type, naming `$v` its buffer.
macro_rules! on_any {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            GpuData::F32($v) => $body,
            GpuData::F64($v) => $body,
            GpuData::I64($v) => $body,
        }
    };
}

impl Gpu {
    /// The same elements in another shape with as many elements; the buffer is shared.
    pub fn reshape(&self, x: &GpuTensor, shape: &[usize]) -> Result<GpuTensor, KernelError> {
        check_reshape(&x.shape, shape)?;
        Ok(GpuTensor { shape: shape.to_vec(), data: x.data.clone() })
    }

    /// The axes of `x` reordered: axis `i` of the result is axis `permutation[i]` of `x`.
    pub fn transpose(
        &self,
        x: &GpuTensor,
        permutation: &[usize],
    ) -> Result<GpuTensor, KernelError> {
        let (shape, read) = permuted(&x.shape, permutation)?;
        on_any!(&*x.data, v => self.permute_of(v, shape, &read))
    }

    fn permute_of<T: Element>(
        &self,
        x: &CudaSlice<T>,
        shape: Vec<usize>,
        read: &[usize],
    ) -> Result<GpuTensor, KernelError> {
        let n = x.len();
        let mut out = self.output::<T>(n)?;
        if n > 0 {
            let mut dims = shape.clone();
            dims.extend(read);
            let dims = self.sizes(&dims)?;
            let rank = i32::try_from(shape.len())
                .map_err(|_| KernelError::Shape(format!("{} axes are too many", shape.len())))?;
            let function = self.function(&format!("permute_{}", T::SUFFIX))?;
            let count = n as u64;
            let mut args = self.stream.launch_builder(&function);
            args.arg(x).arg(&mut out).arg(&count).arg(&dims).arg(&rank);
            self.launch(args, over_elements(n))?;
        }
        Ok(GpuTensor::new(shape, T::wrap(out)))
    }

    /// `tensors` joined along `axis`; their other dimensions and element types agree.
    pub fn concat(&self, tensors: &[&GpuTensor], axis: usize) -> Result<GpuTensor, KernelError> {
        let parts: Vec<(&[usize], &str)> =
            tensors.iter().map(|t| (t.shape.as_slice(), t.dtype())).collect();
        let shape = concat_shape(&parts, axis)?;
        let Some(first) = tensors.first() else {
            return Err(KernelError::Shape("concat needs a tensor".into()));
        };
        on_any!(&*first.data, v => {
            let mut slices = vec![v];
            for t in &tensors[1..] {
                slices.push(Element::of(&t.data).ok_or_else(|| {
                    KernelError::Type("concat of tensors of different element types".into())
                })?);
            }
            let blocks: Vec<usize> = tensors.iter().map(|t| t.shape[axis]).collect();
            self.concat_of(&slices, &blocks, shape, axis)
        })
    }

    fn concat_of<T: Element>(
        &self,
        parts: &[&CudaSlice<T>],
        sizes: &[usize],
        shape: Vec<usize>,
        axis: usize,
    ) -> Result<GpuTensor, KernelError> {
        let outer: usize = shape[..axis].iter().product();
        let inner: usize = shape[axis + 1..].iter().product();
        let row = shape[axis] * inner;
        let mut out = self.output::<T>(outer * row)?;
        let mut at = 0;
        for (part, size) in parts.iter().zip(sizes) {
            let block = size * inner;
            self.copy_blocks(part, &mut out, (outer, block), (block, 0), (row, at))?;
            at += block;
        }
        Ok(GpuTensor::new(shape, T::wrap(out)))
    }

    /// Entries `start..end` of `axis`.
    pub fn slice(
        &self,
        x: &GpuTensor,
        axis: usize,
        start: usize,
        end: usize,
    ) -> Result<GpuTensor, KernelError> {
        let Sliced { outer, n, inner, shape } = sliced(&x.shape, axis, start, end)?;
        on_any!(&*x.data, v => {
            let block = (end - start) * inner;
            let mut out = self.output(outer * block)?;
            self.copy_blocks(v, &mut out, (outer, block), (n * inner, start * inner), (block, 0))?;
            Ok(GpuTensor::new(shape, Element::wrap(out)))
        })
    }

    /// For each of `outer` blocks of `block` elements, copies `x[o * in_row + in_at ..]` to
    /// `out[o * out_row + out_at ..]`.
    fn copy_blocks<T: Element>(
        &self,
        x: &CudaSlice<T>,
        out: &mut CudaSlice<T>,
        (outer, block): (usize, usize),
        (in_row, in_at): (usize, usize),
        (out_row, out_at): (usize, usize),
    ) -> Result<(), KernelError> {
        if outer * block == 0 {
            return Ok(());
        }
        let function = self.function(&format!("copy_blocks_{}", T::SUFFIX))?;
        let sizes = [outer, block, in_row, in_at, out_row, out_at].map(|s| s as u64);
        let mut args = self.stream.launch_builder(&function);
        args.arg(x).arg(out);
        for size in &sizes {
            args.arg(size);
        }
        self.launch(args, over_elements(outer * block))
    }
}
