//! Tensors in device memory, and the copies between them and host [`Tensor`]s.

use std::sync::Arc;

use cudarc::driver::{CudaSlice, DeviceRepr, ValidAsZeroBits};

use super::{Gpu, failed};
use crate::tensor::{Data, KernelError, Tensor};

/// A dense, row-major tensor in the memory of a [`Gpu`]. Cloning shares the buffer.
#[derive(Clone, Debug)]
pub struct GpuTensor {
    pub(crate) shape: Vec<usize>,
    pub(crate) data: Arc<GpuData>,
}

/// The elements of a [`GpuTensor`].
#[derive(Debug)]
pub(crate) enum GpuData {
    F32(CudaSlice<f32>),
    F64(CudaSlice<f64>),
    I64(CudaSlice<i64>),
}

impl GpuTensor {
    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The element type, as the language writes it.
    pub fn dtype(&self) -> &'static str {
        match &*self.data {
            GpuData::F32(_) => "f32",
            GpuData::F64(_) => "f64",
            GpuData::I64(_) => "i64",
        }
    }

    pub(crate) fn new(shape: Vec<usize>, data: GpuData) -> GpuTensor {
        GpuTensor { shape, data: Arc::new(data) }
    }
}

/// An element type of device tensors: its kernels' name suffix and its place in [`GpuData`].
pub(crate) trait Element: DeviceRepr + ValidAsZeroBits + Copy + 'static {
    /// The suffix of its kernels' names in `source.cu`.
    const SUFFIX: &'static str;
    /// Its CUDA C++ type.
    const C_TYPE: &'static str;
    /// The elements of `data`, if of this type.
    fn of(data: &GpuData) -> Option<&CudaSlice<Self>>;
    /// `slice` as tensor data.
    fn wrap(slice: CudaSlice<Self>) -> GpuData;
}

macro_rules! element {
    ($t:ty, $variant:ident, $suffix:literal, $c:literal) => {
        impl Element for $t {
            const SUFFIX: &'static str = $suffix;
            const C_TYPE: &'static str = $c;
            fn of(data: &GpuData) -> Option<&CudaSlice<Self>> {
                match data {
                    GpuData::$variant(slice) => Some(slice),
                    _ => None,
                }
            }
            fn wrap(slice: CudaSlice<Self>) -> GpuData {
                GpuData::$variant(slice)
            }
        }
    };
}

element!(f32, F32, "f32", "float");
element!(f64, F64, "f64", "double");
element!(i64, I64, "i64", "long long");

impl Gpu {
    /// Copies `tensor` to the device.
    pub fn upload(&self, tensor: &Tensor) -> Result<GpuTensor, KernelError> {
        let copy = |what| move |e| failed(what, e);
        let data = match tensor.data() {
            Data::F32(v) => {
                GpuData::F32(self.stream.clone_htod(&v[..]).map_err(copy("copying to the GPU"))?)
            }
            Data::F64(v) => {
                GpuData::F64(self.stream.clone_htod(&v[..]).map_err(copy("copying to the GPU"))?)
            }
            Data::I64(v) => {
                GpuData::I64(self.stream.clone_htod(&v[..]).map_err(copy("copying to the GPU"))?)
            }
        };
        Ok(GpuTensor::new(tensor.shape().to_vec(), data))
    }

    /// Copies `tensor` back to the host, once the operations that make it have finished.
    pub fn download(&self, tensor: &GpuTensor) -> Result<Tensor, KernelError> {
        let copy = |e| failed("copying from the GPU", e);
        let data = match &*tensor.data {
            GpuData::F32(v) => Data::F32(self.stream.clone_dtoh(v).map_err(copy)?.into()),
            GpuData::F64(v) => Data::F64(self.stream.clone_dtoh(v).map_err(copy)?.into()),
            GpuData::I64(v) => Data::I64(self.stream.clone_dtoh(v).map_err(copy)?.into()),
        };
        Tensor::new(tensor.shape.clone(), data)
    }
}
