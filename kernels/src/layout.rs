//! Operations on the layout of a tensor: reshape (no copy), transpose, concat and slice, for
//! every element type.

use crate::tensor::{Data, KernelError, Tensor};

/// Applies a function generic over the element type to the buffer of a [`Data`].
macro_rules! each {
    ($data:expr, $values:ident => $body:expr) => {
        match $data {
            Data::F32($values) => Data::F32($body),
            Data::F64($values) => Data::F64($body),
            Data::I64($values) => Data::I64($body),
        }
    };
}

/// The same elements in another shape with as many elements; the buffer is shared.
pub fn reshape(x: &Tensor, shape: &[usize]) -> Result<Tensor, KernelError> {
    check_reshape(x.shape(), shape)?;
    Tensor::new(shape.to_vec(), x.data().clone())
}

/// Checks that `from` and `to` have as many elements.
pub(crate) fn check_reshape(from: &[usize], to: &[usize]) -> Result<(), KernelError> {
    let (count, wanted) = (from.iter().product::<usize>(), to.iter().product::<usize>());
    if count != wanted {
        return Err(KernelError::Shape(format!(
            "cannot reshape {from:?} ({count} elements) to {to:?} ({wanted})"
        )));
    }
    Ok(())
}

/// The axes of `x` reordered: axis `i` of the result is axis `permutation[i]` of `x`.
pub fn transpose(x: &Tensor, permutation: &[usize]) -> Result<Tensor, KernelError> {
    let (shape, read) = permuted(x.shape(), permutation)?;
    let data = each!(x.data(), v => permute(v, &shape, &read).into());
    Tensor::new(shape, data)
}

/// The shape of `shape` with its axes reordered by `permutation`, and the strides at which
/// the result's axes read the input.
pub(crate) fn permuted(
    shape: &[usize],
    permutation: &[usize],
) -> Result<(Vec<usize>, Vec<usize>), KernelError> {
    let rank = shape.len();
    let mut seen = vec![false; rank];
    let valid = permutation.len() == rank
        && permutation.iter().all(|&a| a < rank && !std::mem::replace(&mut seen[a], true));
    if !valid {
        return Err(KernelError::Shape(format!(
            "{permutation:?} is not a permutation of the {rank} axes of {shape:?}"
        )));
    }
    let out: Vec<usize> = permutation.iter().map(|&a| shape[a]).collect();
    let mut strides = vec![1; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    Ok((out, permutation.iter().map(|&a| strides[a]).collect()))
}

/// The elements at each index of `shape`, in order, read at the offsets `strides` give.
fn permute<T: Copy>(values: &[T], shape: &[usize], strides: &[usize]) -> Vec<T> {
    let total = shape.iter().product::<usize>();
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return out;
    }
    let mut index = vec![0; shape.len()];
    let mut offset = 0;
    for _ in 0..total {
        out.push(values[offset]);
        // Advance the index like an odometer, keeping the offset in step.
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            offset += strides[d];
            if index[d] < shape[d] {
                break;
            }
            offset -= strides[d] * shape[d];
            index[d] = 0;
        }
    }
    out
}

/// `tensors` joined along `axis`; their other dimensions and element types agree.
pub fn concat(tensors: &[&Tensor], axis: usize) -> Result<Tensor, KernelError> {
    let parts: Vec<(&[usize], &str)> =
        tensors.iter().map(|t| (t.shape(), t.data().dtype())).collect();
    let shape = concat_shape(&parts, axis)?;
    let Some(first) = tensors.first() else {
        return Err(KernelError::Shape("concat needs a tensor".into()));
    };
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let blocks: Vec<usize> = tensors.iter().map(|t| t.shape()[axis] * inner).collect();
    let data = match first.data() {
        Data::F32(_) => Data::F32(
            join(&tensors.iter().filter_map(|t| t.as_f32()).collect::<Vec<_>>(), outer, &blocks)
                .into(),
        ),
        Data::F64(_) => Data::F64(
            join(&tensors.iter().filter_map(|t| t.as_f64()).collect::<Vec<_>>(), outer, &blocks)
                .into(),
        ),
        Data::I64(_) => Data::I64(
            join(&tensors.iter().filter_map(|t| t.as_i64()).collect::<Vec<_>>(), outer, &blocks)
                .into(),
        ),
    };
    Tensor::new(shape, data)
}

/// The shape of the parts (shape and element type each) joined along `axis`, checked.
pub(crate) fn concat_shape(
    parts: &[(&[usize], &str)],
    axis: usize,
) -> Result<Vec<usize>, KernelError> {
    let Some(&(first, dtype)) = parts.first() else {
        return Err(KernelError::Shape("concat needs a tensor".into()));
    };
    let rank = first.len();
    if axis >= rank {
        return Err(KernelError::Shape(format!("axis {axis} of tensors with {rank} axes")));
    }
    let mut shape = first.to_vec();
    shape[axis] = 0;
    for &(part, part_dtype) in parts {
        let same = part.len() == rank
            && part.iter().zip(first).enumerate().all(|(d, (a, b))| d == axis || a == b);
        if !same {
            return Err(KernelError::Shape(format!(
                "concat along axis {axis} of shapes {first:?} and {part:?}"
            )));
        }
        if part_dtype != dtype {
            return Err(KernelError::Type(format!("concat of {dtype} and {part_dtype} tensors")));
        }
        shape[axis] += part[axis];
    }
    Ok(shape)
}

/// For each of `outer` blocks, the next block of each part, in order.
fn join<T: Copy>(parts: &[&[T]], outer: usize, blocks: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(outer * blocks.iter().sum::<usize>());
    for o in 0..outer {
        for (part, &block) in parts.iter().zip(blocks) {
            out.extend_from_slice(&part[o * block..(o + 1) * block]);
        }
    }
    out
}

/// Entries `start..end` of `axis`; along the first axis the buffer is shared.
pub fn slice(x: &Tensor, axis: usize, start: usize, end: usize) -> Result<Tensor, KernelError> {
    let Sliced { outer, n, inner, shape } = sliced(x.shape(), axis, start, end)?;
    let data = if outer == 1 {
        each!(x.data(), v => v.slice(start * inner, (end - start) * inner))
    } else {
        each!(x.data(), v => {
            let mut out = Vec::with_capacity(outer * (end - start) * inner);
            for o in 0..outer {
                out.extend_from_slice(&v[(o * n + start) * inner..(o * n + end) * inner]);
            }
            out.into()
        })
    };
    Tensor::new(shape, data)
}

/// A slice of an axis: the tensor seen as `[outer, n, inner]` around it, and the result's shape.
pub(crate) struct Sliced {
    pub outer: usize,
    pub n: usize,
    pub inner: usize,
    pub shape: Vec<usize>,
}

/// Checks a slice `start..end` of `axis` of a tensor of `shape`.
pub(crate) fn sliced(
    shape: &[usize],
    axis: usize,
    start: usize,
    end: usize,
) -> Result<Sliced, KernelError> {
    let Some(&n) = shape.get(axis) else {
        return Err(KernelError::Shape(format!("axis {axis} of a tensor of shape {shape:?}")));
    };
    if start > end || end > n {
        return Err(KernelError::Shape(format!("slice {start}..{end} of an axis of {n} entries")));
    }
    let mut out = shape.to_vec();
    out[axis] = end - start;
    Ok(Sliced {
        outer: shape[..axis].iter().product(),
        n,
        inner: shape[axis + 1..].iter().product(),
        shape: out,
    })
}
