//! `i64` tensors through the kernels that compute on floats: converted to `f64` and back
//! where every value and every sum the kernel forms is an integer that `f64` holds exactly
//! (at most 2^53 in magnitude), refused otherwise rather than rounded.

use aigrid_kernels::{Binary, Reduce, Tensor, Unary};

use super::TensorOp;
use crate::RunError;

/// The largest magnitude up to which every integer is exactly an `f64`.
const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53

impl TensorOp {
    /// Whether the operation runs on integers through floats exactly, and if so whether its
    /// result is an integer again.
    pub(super) fn on_integers(&self) -> Option<bool> {
        match self {
            TensorOp::Unary(Unary::Neg | Unary::Relu) => Some(true),
            TensorOp::Binary(Binary::Add | Binary::Sub | Binary::Mul) => Some(true),
            TensorOp::Scale(factor) if factor.fract() == 0.0 => Some(true),
            TensorOp::Reduce(Reduce::Mean, _) => Some(false),
            TensorOp::Reduce(..) | TensorOp::Topk(_) | TensorOp::TopkIndices(_) => Some(true),
            TensorOp::Matmul => Some(true),
            _ => None,
        }
    }

    /// Checks that the `i64` inputs go through the `f64` kernel exactly: the inputs, and a
    /// bound on every partial sum or product the kernel forms, at most 2^53 in magnitude.
    pub(super) fn exact_through_floats(&self, inputs: &[Tensor]) -> Result<(), RunError> {
        // A mean is an f64: it is not expected to be exact.
        if matches!(self, TensorOp::Reduce(Reduce::Mean, _)) {
            return Ok(());
        }
        let largest = |i: usize| inputs.get(i).map_or(0.0, largest_magnitude);
        let bound = match self {
            TensorOp::Binary(Binary::Add | Binary::Sub) => largest(0) + largest(1),
            TensorOp::Binary(Binary::Mul) => largest(0) * largest(1),
            TensorOp::Scale(factor) => largest(0) * factor.abs(),
            TensorOp::Reduce(Reduce::Sum, _) => inputs
                .first()
                .and_then(Tensor::as_i64)
                .map_or(0.0, |v| v.iter().map(|x| x.unsigned_abs() as f64).sum()),
            TensorOp::Matmul => {
                let inner = inputs.first().and_then(|a| a.shape().last()).copied().unwrap_or(0);
                inner as f64 * largest(0) * largest(1)
            }
            _ => 0.0,
        };
        let bound = (0..inputs.len()).map(largest).fold(bound, f64::max);
        if bound > EXACT {
            return Err(RunError::Data(
                "these i64 values are too large to compute on exactly: the kernel works in f64, \
                 which holds integers up to 2^53; cast them to f64 to compute with rounding"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// The largest magnitude among a tensor's `i64` elements (0 for other tensors).
fn largest_magnitude(tensor: &Tensor) -> f64 {
    tensor.as_i64().map_or(0.0, |v| v.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0) as f64)
}
