//! Fused elementwise chains: the steps of a chain (from the compiler's fusion pass) run block by
//! block, each block of every step staying in the L1 cache, so the chain reads its inputs and
//! writes its result once, whatever its length.

use rayon::prelude::*;

use crate::elementwise::{
    Binary, PARALLEL_MIN, Unary, apply_binary, apply_unary, apply_with_constant,
};
use crate::float::Float;
use crate::tensor::{Data, KernelError, Tensor};

/// Elements per block: a few KiB per step.
const BLOCK: usize = 1024;

/// What a step reads.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Operand {
    /// The chain's input `n`.
    Input(usize),
    /// The result of an earlier step.
    Step(usize),
    /// A number.
    Const(f64),
}

/// One step of a chain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// A function of one operand.
    Unary(Unary, Operand),
    /// Arithmetic between two operands.
    Binary(Binary, Operand, Operand),
}

/// Checks that every step reads an input of `inputs` or an earlier step.
pub(crate) fn check(steps: &[Step], inputs: usize) -> Result<(), KernelError> {
    if inputs == 0 {
        return Err(KernelError::Shape("a fused chain needs an input".into()));
    }
    if steps.is_empty() {
        return Err(KernelError::Shape("a fused chain needs a step".into()));
    }
    for (k, step) in steps.iter().enumerate() {
        let operands = match step {
            Step::Unary(_, a) => vec![*a],
            Step::Binary(_, a, b) => vec![*a, *b],
        };
        for operand in operands {
            match operand {
                Operand::Input(i) if i >= inputs => {
                    return Err(KernelError::Shape(format!(
                        "step {k} reads input {i} of {inputs}"
                    )));
                }
                Operand::Step(j) if j >= k => {
                    return Err(KernelError::Shape(format!(
                        "step {k} reads step {j}, not an earlier one"
                    )));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Runs `steps` over `inputs` (tensors of one shape and one float element type); the result is
/// the last step's.
pub fn fused(steps: &[Step], inputs: &[&Tensor]) -> Result<Tensor, KernelError> {
    check(steps, inputs.len())?;
    let Some(first) = inputs.first() else {
        return Err(KernelError::Shape("a fused chain needs an input".into()));
    };
    if let Some(other) = inputs.iter().find(|t| t.shape() != first.shape()) {
        return Err(KernelError::Shape(format!(
            "a fused chain's inputs have one shape, not {:?} and {:?}",
            first.shape(),
            other.shape()
        )));
    }
    let shape = first.shape().to_vec();
    match first.data() {
        Data::F32(_) => {
            let slices = inputs.iter().map(|t| t.as_f32()).collect::<Option<Vec<_>>>();
            let slices = slices.ok_or_else(|| {
                KernelError::Type("a fused chain's inputs have one element type".into())
            })?;
            Tensor::f32(shape, run(steps, &slices))
        }
        Data::F64(_) => {
            let slices = inputs.iter().map(|t| t.as_f64()).collect::<Option<Vec<_>>>();
            let slices = slices.ok_or_else(|| {
                KernelError::Type("a fused chain's inputs have one element type".into())
            })?;
            Tensor::f64(shape, run(steps, &slices))
        }
        Data::I64(_) => Err(KernelError::Type("a fused chain needs float tensors, not i64".into())),
    }
}

/// Runs `steps` over `inputs` (slices of one length) into `out`, memory the caller owns (a
/// reused buffer costs no page faults).
pub fn fused_into<T: Float>(
    steps: &[Step],
    inputs: &[&[T]],
    out: &mut [T],
) -> Result<(), KernelError> {
    check(steps, inputs.len())?;
    if let Some(other) = inputs.iter().find(|i| i.len() != out.len()) {
        return Err(KernelError::Shape(format!(
            "a fused chain over {} elements has an input of {}",
            out.len(),
            other.len()
        )));
    }
    run_into(steps, inputs, out);
    Ok(())
}

fn run<T: Float>(steps: &[Step], inputs: &[&[T]]) -> Vec<T> {
    let mut out = vec![T::ZERO; inputs.first().map_or(0, |i| i.len())];
    run_into(steps, inputs, &mut out);
    out
}

fn run_into<T: Float>(steps: &[Step], inputs: &[&[T]], out: &mut [T]) {
    let len = out.len();
    let last = steps.len() - 1;
    let chunk = |start: usize, out: &mut [T]| {
        // The last step writes the result in place; the others into blocks that stay in L1.
        let mut buffers = vec![vec![T::ZERO; BLOCK]; last];
        for (b, out) in out.chunks_mut(BLOCK).enumerate() {
            let from = start + b * BLOCK;
            let n = out.len();
            for (k, step) in steps.iter().enumerate() {
                let (done, rest) = buffers.split_at_mut(k.min(last));
                let target = match rest.first_mut() {
                    Some(buffer) if k < last => &mut buffer[..n],
                    _ => &mut *out,
                };
                let read = |operand: Operand| -> Result<&[T], T> {
                    match operand {
                        Operand::Input(i) => Ok(&inputs[i][from..from + n]),
                        Operand::Step(j) => Ok(&done[j][..n]),
                        Operand::Const(c) => Err(T::from_f64(c)),
                    }
                };
                match *step {
                    Step::Unary(op, a) => match read(a) {
                        Ok(a) => apply_unary(op, a, target),
                        Err(c) => target.fill(op.apply(c)),
                    },
                    Step::Binary(op, a, b) => match (read(a), read(b)) {
                        (Ok(a), Ok(b)) => apply_binary(op, a, b, target),
                        (Ok(a), Err(c)) => apply_with_constant(op, a, c, false, target),
                        (Err(c), Ok(b)) => apply_with_constant(op, b, c, true, target),
                        (Err(c), Err(d)) => target.fill(op.apply(c, d)),
                    },
                }
            }
        }
    };
    if len < PARALLEL_MIN {
        chunk(0, out);
    } else {
        out.par_chunks_mut(PARALLEL_MIN)
            .enumerate()
            .for_each(|(c, out)| chunk(c * PARALLEL_MIN, out));
    }
}
