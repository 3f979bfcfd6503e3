//! Tensor operations on the GPU, where one is usable and an operation is large enough to pay
//! for its copies. A tensor that a GPU operation made stays on the device for the next
//! operation that reads it, so a chain of GPU nodes uploads its input once.
//!
//! The GPU path never decides a result on its own: an operation it cannot run (integers,
//! casts, bad arguments, a GPU failure) runs on the CPU, which gives the same result within
//! the tolerances of `kernels/tests/cuda.rs`, or the error. A GPU failure is logged once.
//! `AIGRID_GPU=off` keeps everything on the CPU; `AIGRID_GPU=always` sends every operation
//! the GPU runs to it, however small (for tests on a GPU machine).

use std::collections::VecDeque;
use std::sync::{Mutex, Once};

use aigrid_kernels::cuda::{Gpu, GpuTensor};
use aigrid_kernels::{Data, KernelError, Step, Tensor};

use super::{TensorOp, one_pass_step};

/// Elements an operation's inputs need between them before it goes to the GPU.
const GPU_MIN_ELEMENTS: usize = 1 << 20;

/// Multiply-adds a matrix product needs before it goes to the GPU.
const GPU_MIN_PRODUCT: usize = 1 << 24;

/// Results kept on the device for the next operation: at most this many, of at most
/// [`RESIDENT_BYTES`] in all (their host copies are kept alive as long).
const RESIDENT: usize = 8;

/// The bytes of the results kept on the device.
const RESIDENT_BYTES: usize = 512 << 20;

/// A result of a GPU operation: its host copy (kept alive, so its buffer's address names it
/// alone) and its device copy.
struct Resident {
    host: Tensor,
    device: GpuTensor,
}

static KEPT: Mutex<VecDeque<Resident>> = Mutex::new(VecDeque::new());

/// `op` over `inputs` on the GPU, or `None` where it runs on the CPU.
pub(super) fn run(op: &TensorOp, inputs: &[Tensor]) -> Option<Tensor> {
    if !worth_it(op, inputs) {
        return None;
    }
    let gpu = Gpu::shared().ok()?;
    match on_device(&gpu, op, inputs) {
        Ok(result) => Some(result),
        Err(KernelError::Device(why)) => {
            static WARNED: Once = Once::new();
            WARNED.call_once(|| log::warn!("the GPU failed, so tensors run on the CPU: {why}"));
            None
        }
        // Bad arguments: the CPU kernel gives the error (or the integer path its result).
        Err(_) => None,
    }
}

/// Whether `op` runs on the GPU at all, and has enough work there.
fn worth_it(op: &TensorOp, inputs: &[Tensor]) -> bool {
    let runs = match op {
        TensorOp::Fused(steps) => steps.iter().all(|step| one_pass_step(step).is_some()),
        TensorOp::Cast(_) | TensorOp::Reshape(_) | TensorOp::Slice(..) | TensorOp::Concat(_) => {
            false
        }
        _ => true,
    };
    let floats = inputs.iter().all(|t| !matches!(t.data(), Data::I64(_)));
    if !runs || !floats || inputs.is_empty() {
        return false;
    }
    if std::env::var("AIGRID_GPU").is_ok_and(|v| v == "always") {
        return true;
    }
    let elements: usize = inputs.iter().map(|t| t.data().len()).sum();
    let product = match (op, inputs) {
        (TensorOp::Matmul | TensorOp::Cosine, [a, b]) => {
            let (m, k) = (a.shape().iter().rev().nth(1), a.shape().last());
            let n =
                if matches!(op, TensorOp::Matmul) { b.shape().last() } else { b.shape().first() };
            match (m, k, n) {
                (Some(m), Some(k), Some(n)) => m.saturating_mul(*k).saturating_mul(*n),
                _ => 0,
            }
        }
        _ => 0,
    };
    elements >= GPU_MIN_ELEMENTS || product >= GPU_MIN_PRODUCT
}

fn on_device(gpu: &Gpu, op: &TensorOp, inputs: &[Tensor]) -> Result<Tensor, KernelError> {
    let device = inputs.iter().map(|t| upload(gpu, t)).collect::<Result<Vec<_>, _>>()?;
    let input = |i: usize| {
        device.get(i).ok_or_else(|| KernelError::Shape("a tensor input is missing".into()))
    };
    let result = match op {
        TensorOp::Unary(u) => gpu.unary(*u, input(0)?)?,
        TensorOp::Binary(b) => gpu.binary(*b, input(0)?, input(1)?)?,
        TensorOp::Scale(factor) => gpu.scale(input(0)?, *factor)?,
        TensorOp::Reduce(r, None) => {
            let x = input(0)?;
            let flat = gpu.reshape(x, &[x.shape().iter().product()])?;
            gpu.reduce(*r, &flat, 0)?
        }
        TensorOp::Reduce(r, Some(a)) => {
            let x = input(0)?;
            let rank = x.shape().len() as i64;
            let axis = usize::try_from(if *a < 0 { rank + a } else { *a })
                .map_err(|_| KernelError::Shape(format!("axis {a} of rank {rank}")))?;
            gpu.reduce(*r, x, axis)?
        }
        TensorOp::Softmax => gpu.softmax(input(0)?)?,
        TensorOp::L2Normalize => gpu.l2_normalize(input(0)?)?,
        TensorOp::Cosine => gpu.cosine_similarity(input(0)?, input(1)?)?,
        TensorOp::Transpose => {
            let x = input(0)?;
            let permutation: Vec<usize> = (0..x.shape().len()).rev().collect();
            gpu.transpose(x, &permutation)?
        }
        TensorOp::Matmul => gpu.matmul(input(0)?, input(1)?)?,
        TensorOp::Topk(k) => gpu.topk(input(0)?, *k)?.0,
        TensorOp::TopkIndices(k) => gpu.topk(input(0)?, *k)?.1,
        TensorOp::Fused(steps) => {
            let steps = steps.iter().map(one_pass_step).collect::<Option<Vec<Step>>>();
            let steps = steps.ok_or_else(|| KernelError::Shape("not one pass".into()))?;
            gpu.fused(&steps, &device.iter().collect::<Vec<_>>())?
        }
        TensorOp::Cast(_) | TensorOp::Reshape(_) | TensorOp::Slice(..) | TensorOp::Concat(_) => {
            return Err(KernelError::Shape("runs on the CPU".into()));
        }
    };
    let host = gpu.download(&result)?;
    keep(Resident { host: host.clone(), device: result });
    Ok(host)
}

/// The device copy of `tensor`: the one kept from the operation that made it, or a new one.
fn upload(gpu: &Gpu, tensor: &Tensor) -> Result<GpuTensor, KernelError> {
    if let Ok(kept) = KEPT.lock()
        && let Some(found) = kept.iter().find(|r| same_buffer(&r.host, tensor))
    {
        return Ok(found.device.clone());
    }
    gpu.upload(tensor)
}

fn keep(resident: Resident) {
    let bytes = |r: &Resident| r.host.data().len() * 8;
    if bytes(&resident) > RESIDENT_BYTES {
        return;
    }
    if let Ok(mut kept) = KEPT.lock() {
        kept.push_back(resident);
        while kept.len() > RESIDENT || kept.iter().map(bytes).sum::<usize>() > RESIDENT_BYTES {
            kept.pop_front();
        }
    }
}

/// Whether `a` and `b` are one buffer in one shape (buffers are immutable, and a kept one is
/// alive, so its address is not reused).
fn same_buffer(a: &Tensor, b: &Tensor) -> bool {
    let at = |t: &Tensor| match t.data() {
        Data::F32(v) => (v.as_ptr() as usize, v.len(), 4),
        Data::F64(v) => (v.as_ptr() as usize, v.len(), 8),
        Data::I64(v) => (v.as_ptr() as usize, v.len(), 9),
    };
    a.shape() == b.shape() && at(a) == at(b)
}

#[cfg(test)]
mod tests {
    use aigrid_kernels::{Unary, matmul};

    use super::*;

    #[test]
    fn large_float_operations_go_to_the_gpu_where_there_is_one_and_stay_there() {
        // Small integers: every product and sum is exact in f32, on either device.
        let values = (0..256 * 256).map(|i| (i % 7) as f32 - 3.0).collect();
        let a = Tensor::f32(vec![256, 256], values).unwrap_or_else(|e| panic!("{e}"));
        let inputs = [a.clone(), a.clone()];
        assert!(worth_it(&TensorOp::Matmul, &inputs), "2^24 multiply-adds");
        let small = Tensor::f32(vec![4], vec![1.0; 4]).unwrap_or_else(|e| panic!("{e}"));
        assert!(!worth_it(&TensorOp::Unary(Unary::Exp), &[small]));
        assert!(!worth_it(&TensorOp::Cast("f64".into()), &inputs));
        match Gpu::shared() {
            Err(why) => {
                assert!(run(&TensorOp::Matmul, &inputs).is_none(), "no GPU, so the CPU runs it");
                eprintln!("skipped the GPU half: {why}");
            }
            Ok(_) => {
                let got =
                    run(&TensorOp::Matmul, &inputs).unwrap_or_else(|| panic!("not on the GPU"));
                assert_eq!(Ok(&got), matmul(&a, &a).as_ref());
                let kept = KEPT.lock().unwrap_or_else(|e| panic!("{e}"));
                assert!(kept.iter().any(|r| same_buffer(&r.host, &got)), "the result stays");
            }
        }
    }
}
