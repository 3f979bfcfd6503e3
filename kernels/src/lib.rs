//! aigrid's tensors and the CPU kernels of the standard library's tensor operations.
//!
//! A [`Tensor`] is a shape and a row-major buffer shared with Arrow: as a column it is the
//! canonical `arrow.fixed_shape_tensor` extension type, one row per entry of the leading
//! dimension ([`Tensor::to_arrow`], [`Tensor::from_arrow`], zero-copy both ways). Kernels:
//! elementwise functions and arithmetic with NumPy broadcasting ([`unary`], [`binary`],
//! [`scale`]), matrix products ([`matmul`]), reductions over an axis ([`reduce`]) and the
//! row-wise operations of the last axis ([`softmax`], [`l2_normalize`], [`cosine_similarity`],
//! [`topk`]); fused elementwise chains ([`fused`]); and layout ([`reshape`], [`transpose`],
//! [`concat()`], [`slice()`]). Text: [`lower`], [`split`], [`regex_extract`] and [`chunk`] over
//! Arrow string columns, and feature hashing of texts ([`hash_vectorize`]).

pub mod cuda;
mod elementwise;
mod float;
mod fused;
mod layout;
mod matmul;
mod reduce;
mod tensor;
mod text;
mod vectorize;

pub use elementwise::{Binary, PARALLEL_MIN, Unary, binary, broadcast_shape, scale, unary};
pub use float::Float;
pub use fused::{Operand, Step, fused, fused_into};
pub use layout::{concat, reshape, slice, transpose};
pub use matmul::matmul;
pub use reduce::{
    Reduce, cosine_similarity, l2_normalize, l2_normalize_into, reduce, softmax, topk,
};
pub use tensor::{Data, KernelError, TENSOR_EXTENSION, Tensor};
pub use text::{chunk, lower, regex_extract, split};
pub use vectorize::hash_vectorize;
