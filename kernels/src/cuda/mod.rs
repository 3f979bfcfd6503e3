//! The CUDA path of the kernels: a [`Gpu`] runs the standard library's tensor operations on
//! [`GpuTensor`]s, which stay in device memory between operations, so that consecutive GPU
//! steps make no host round trip ([`Gpu::upload`] and [`Gpu::download`] are the only
//! copies). Kernels are CUDA C++ (`source.cu`) compiled at run time by NVRTC, a fused
//! elementwise chain is generated as one kernel, and matrix products run on cuBLAS.
//!
//! cudarc loads CUDA's libraries at run time, so this builds and runs on machines without
//! CUDA: [`Gpu::open`] says why no GPU is usable there, and callers take the CPU path. Each
//! operation gives the CPU kernel's result within the tolerances that `kernels/tests/cuda.rs`
//! states, and the same errors for bad arguments (the checks are the CPU kernels' own).

// Kernel launches and uninitialised device outputs go through cudarc's unsafe API: this
// module is the project's FFI boundary with CUDA, and each unsafe block says why it holds.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::cublas::CudaBlas;
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DeviceRepr, LaunchArgs,
    LaunchConfig,
};
use cudarc::nvrtc::{CompileOptions, compile_ptx_with_opts};

use crate::tensor::KernelError;

mod elementwise;
mod layout;
mod linalg;
mod rows;
mod tensor;

pub use tensor::GpuTensor;

/// The kernels' CUDA source.
const SOURCE: &str = include_str!("source.cu");

/// Threads per block.
const THREADS: u32 = 256;

/// The most blocks a launch uses; kernels loop over the rest.
const MAX_BLOCKS: u64 = 1 << 16;

/// One CUDA device with aigrid's kernels loaded, its stream and a cuBLAS handle. Operations
/// from several threads are queued on the one stream, in order.
pub struct Gpu {
    stream: Arc<CudaStream>,
    blas: CudaBlas,
    module: Arc<CudaModule>,
    options: CompileOptions,
    /// Fused chains compiled so far, by source.
    fused: Mutex<HashMap<String, CudaFunction>>,
    name: String,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("name", &self.name).finish_non_exhaustive()
    }
}

/// A GPU error as a kernel error.
pub(crate) fn failed(what: &str, error: impl std::fmt::Debug) -> KernelError {
    KernelError::Device(format!("{what}: {error:?}"))
}

impl Gpu {
    /// Opens device `ordinal` and compiles the kernels for it (some 100 ms). An error says why
    /// no GPU is usable: no CUDA driver or library on this machine, no such device, or a
    /// failure to start it.
    pub fn open(ordinal: usize) -> Result<Gpu, KernelError> {
        // cudarc panics when a library it loads is missing: look for each one first.
        // SAFETY: each probe only tries to load a shared library by its usual names.
        let libraries = unsafe {
            [
                ("the CUDA driver (libcuda)", cudarc::driver::sys::is_culib_present()),
                ("NVRTC (libnvrtc)", cudarc::nvrtc::sys::is_culib_present()),
                ("cuBLAS (libcublas)", cudarc::cublas::sys::is_culib_present()),
            ]
        };
        if let Some((missing, _)) = libraries.iter().find(|(_, present)| !present) {
            return Err(KernelError::Device(format!("{missing} is not installed")));
        }
        // A driver older than the bindings can still lack a function that cudarc then panics
        // on: that becomes an error too.
        std::panic::catch_unwind(|| Gpu::start(ordinal)).unwrap_or_else(|panic| {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "CUDA could not be loaded".into());
            Err(KernelError::Device(why))
        })
    }

    fn start(ordinal: usize) -> Result<Gpu, KernelError> {
        let count = CudaContext::device_count().map_err(|e| failed("no CUDA device", e))?;
        if usize::try_from(count).is_ok_and(|count| ordinal >= count) {
            return Err(KernelError::Device(format!(
                "no CUDA device {ordinal}: this machine has {count}"
            )));
        }
        let context = CudaContext::new(ordinal).map_err(|e| failed("starting the GPU", e))?;
        let name = context.name().map_err(|e| failed("naming the GPU", e))?;
        let stream = context.default_stream();
        let blas = CudaBlas::new(stream.clone()).map_err(|e| failed("starting cuBLAS", e))?;
        // No fused multiply-add contraction: arithmetic rounds as on the CPU.
        let mut options = CompileOptions { fmad: Some(false), ..Default::default() };
        if let Ok((major, minor)) = context.compute_capability() {
            options.options.push(format!("--gpu-architecture=compute_{major}{minor}"));
        }
        let ptx = compile_ptx_with_opts(SOURCE, options.clone())
            .or_else(|_| {
                // An NVRTC older than the device does not know its architecture: let the
                // driver compile NVRTC's default PTX for it instead.
                options.options.clear();
                compile_ptx_with_opts(SOURCE, options.clone())
            })
            .map_err(|e| failed("compiling the CUDA kernels", e))?;
        let module = context.load_module(ptx).map_err(|e| failed("loading the kernels", e))?;
        Ok(Gpu { stream, blas, module, options, fused: Mutex::new(HashMap::new()), name })
    }

    /// The process's GPU (device 0), opened on first use; an error says why there is none.
    /// `AIGRID_GPU=off` (or `0`) turns the GPU path off.
    pub fn shared() -> Result<Arc<Gpu>, KernelError> {
        static SHARED: OnceLock<Result<Arc<Gpu>, KernelError>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                if std::env::var("AIGRID_GPU").is_ok_and(|v| v == "off" || v == "0") {
                    return Err(KernelError::Device("the GPU is turned off (AIGRID_GPU)".into()));
                }
                Gpu::open(0).map(Arc::new)
            })
            .clone()
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits until every queued operation has finished.
    pub fn synchronize(&self) -> Result<(), KernelError> {
        self.stream.synchronize().map_err(|e| failed("waiting for the GPU", e))
    }

    /// The kernel `name` of the module.
    fn function(&self, name: &str) -> Result<CudaFunction, KernelError> {
        self.module.load_function(name).map_err(|e| failed(name, e))
    }

    /// The kernel of a generated source (one `extern "C"` function, `name`), compiled once.
    fn generated(&self, name: &str, source: String) -> Result<CudaFunction, KernelError> {
        let mut cache = self.fused.lock().map_err(|_| failed("a kernel cache", "poisoned"))?;
        if let Some(function) = cache.get(&source) {
            return Ok(function.clone());
        }
        let ptx = compile_ptx_with_opts(&source, self.options.clone())
            .map_err(|e| failed("compiling a fused kernel", e))?;
        let module =
            self.stream.context().load_module(ptx).map_err(|e| failed("loading a kernel", e))?;
        let function = module.load_function(name).map_err(|e| failed(name, e))?;
        cache.insert(source, function.clone());
        Ok(function)
    }

    /// Runs a launch whose arguments the caller has pushed.
    fn launch(&self, mut args: LaunchArgs<'_>, config: LaunchConfig) -> Result<(), KernelError> {
        // SAFETY: every caller pushes the arguments its kernel in `source.cu` (or a generated
        // one) declares, in order and of those types, with buffers of the lengths the kernel
        // indexes up to, computed from the same shapes it passes.
        unsafe { args.launch(config) }.map(drop).map_err(|e| failed("a kernel launch", e))
    }

    /// A buffer of `len` elements for a kernel to write.
    fn output<T: DeviceRepr>(&self, len: usize) -> Result<CudaSlice<T>, KernelError> {
        if len == 0 {
            return self.stream.null().map_err(|e| failed("allocating GPU memory", e));
        }
        // SAFETY: the caller launches a kernel that writes every element it will read back
        // before anything reads it (a reduction's index buffer, which a sum leaves unwritten,
        // is dropped unread).
        unsafe { self.stream.alloc::<T>(len) }.map_err(|e| failed("allocating GPU memory", e))
    }

    /// `len` zeros: the result of a product over an empty dimension.
    fn zeros<T: DeviceRepr + cudarc::driver::ValidAsZeroBits>(
        &self,
        len: usize,
    ) -> Result<CudaSlice<T>, KernelError> {
        self.stream.alloc_zeros::<T>(len).map_err(|e| failed("allocating GPU memory", e))
    }

    /// A small array of sizes in device memory (shapes and strides for a kernel).
    fn sizes(&self, values: &[usize]) -> Result<CudaSlice<u64>, KernelError> {
        let values: Vec<u64> = values.iter().map(|&v| v as u64).collect();
        self.stream.clone_htod(&values).map_err(|e| failed("copying to the GPU", e))
    }
}

/// Compiles the kernels' source, and a generated fused chain, with this machine's NVRTC,
/// which needs no device: whether the GPU path's code is sound where no GPU is at hand.
pub fn compile_kernels() -> Result<(), KernelError> {
    // SAFETY: the probe only tries to load a shared library by its usual names.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(KernelError::Device("NVRTC (libnvrtc) is not installed".into()));
    }
    let options = CompileOptions { fmad: Some(false), ..Default::default() };
    let compile = |source: &str| {
        compile_ptx_with_opts(source, options.clone()).map_err(|e| failed("NVRTC", e))
    };
    let ptx = compile(SOURCE)?.to_src();
    if let Some(missing) = ["unary_f32", "reduce_rows_f64", "topk_f32", "copy_blocks_i64"]
        .into_iter()
        .find(|kernel| !ptx.contains(kernel))
    {
        return Err(KernelError::Device(format!("the kernels' PTX has no {missing}")));
    }
    use crate::{Binary, Operand, Step, Unary};
    let steps = [
        Step::Unary(Unary::Gelu, Operand::Input(0)),
        Step::Binary(Binary::Sub, Operand::Const(-2.5), Operand::Step(0)),
        Step::Binary(Binary::Div, Operand::Step(1), Operand::Input(1)),
    ];
    compile(&elementwise::fused_source::<f32>(&steps, 2))?;
    compile(&elementwise::fused_source::<f64>(&steps, 2)).map(drop)
}

/// A launch over `n` elements, a thread each (the grid loops past [`MAX_BLOCKS`] blocks).
fn over_elements(n: usize) -> LaunchConfig {
    let blocks = (n as u64).div_ceil(u64::from(THREADS)).clamp(1, MAX_BLOCKS);
    LaunchConfig {
        grid_dim: (blocks as u32, 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// A launch of a block per row, with `shared` bytes of shared memory per thread.
fn over_rows(rows: usize, shared: usize) -> LaunchConfig {
    let blocks = (rows as u64).clamp(1, MAX_BLOCKS);
    LaunchConfig {
        grid_dim: (blocks as u32, 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: THREADS * shared as u32,
    }
}
