//! `std.tensor`: tensor kernels.

use crate::{Item, Package, Typing};

/// An elementwise operation of one tensor.
const fn unary(name: &'static str, doc: &'static str, signature: &'static str) -> Item {
    Item { name, doc, signature, typing: Typing::Elementwise }
}

/// An elementwise operation of two tensors, with broadcasting.
const fn binary(name: &'static str, doc: &'static str, signature: &'static str) -> Item {
    Item { name, doc, signature, typing: Typing::Broadcast }
}

/// A reduction over an axis or over everything.
const fn reduce(name: &'static str, doc: &'static str, signature: &'static str) -> Item {
    Item { name, doc, signature, typing: Typing::Reduce }
}

/// The `std.tensor` package.
pub(crate) const PACKAGE: Package = Package {
    name: "std.tensor",
    doc: "Tensor kernels (CPU, and CUDA where a GPU is present), with broadcasting.",
    items: &[
        binary("add", "Elementwise sum.", "add(a: Tensor, b: Tensor) -> Tensor"),
        Item {
            name: "argmax",
            doc: "The index of the largest value along an axis (the last by default).",
            signature: "argmax(x: Tensor, axis: i64 = -1) -> Tensor",
            typing: Typing::ArgReduce,
        },
        Item {
            name: "cast",
            doc: "The same values converted to another element type, e.g. `cast(x, \"f16\")`.",
            signature: "cast(x: Tensor, dtype: utf8) -> Tensor",
            typing: Typing::Cast,
        },
        Item {
            name: "concat",
            doc: "Joins two tensors along an axis (the first by default).",
            signature: "concat(a: Tensor, b: Tensor, axis: i64 = 0) -> Tensor",
            typing: Typing::Concat,
        },
        Item {
            name: "cosine_similarity",
            doc: "Cosine similarity of every row of a with every row of b.",
            signature: "cosine_similarity(a: tensor<T, [N, D]>, b: tensor<T, [M, D]>) -> tensor<T, [N, M]>",
            typing: Typing::Declared,
        },
        binary("div", "Elementwise quotient.", "div(a: Tensor, b: Tensor) -> Tensor"),
        unary("exp", "Elementwise exponential.", "exp(x: Tensor) -> Tensor"),
        unary("gelu", "Elementwise GELU activation.", "gelu(x: Tensor) -> Tensor"),
        Item {
            name: "l2_normalize",
            doc: "Scales each row to unit Euclidean length.",
            signature: "l2_normalize(x: tensor<T, [N, D]>) -> tensor<T, [N, D]>",
            typing: Typing::Declared,
        },
        unary("log", "Elementwise natural logarithm.", "log(x: Tensor) -> Tensor"),
        Item {
            name: "matmul",
            doc: "Matrix product.",
            signature: "matmul(a: tensor<T, [M, K]>, b: tensor<T, [K, N]>) -> tensor<T, [M, N]>",
            typing: Typing::Declared,
        },
        reduce(
            "max",
            "The largest value, along an axis or overall.",
            "max(x: Tensor, axis: i64? = null) -> Tensor",
        ),
        reduce(
            "mean",
            "The mean, along an axis or overall.",
            "mean(x: Tensor, axis: i64? = null) -> Tensor",
        ),
        reduce(
            "min",
            "The smallest value, along an axis or overall.",
            "min(x: Tensor, axis: i64? = null) -> Tensor",
        ),
        binary("mul", "Elementwise product.", "mul(a: Tensor, b: Tensor) -> Tensor"),
        unary("neg", "Elementwise negation.", "neg(x: Tensor) -> Tensor"),
        unary("relu", "Elementwise ReLU activation.", "relu(x: Tensor) -> Tensor"),
        Item {
            name: "reshape",
            doc: "The same values in another shape; one size may be -1, the size that fits.",
            signature: "reshape(x: Tensor, shape: list<i64>) -> Tensor",
            typing: Typing::Reshape,
        },
        unary(
            "scale",
            "Multiplies every element by a scalar.",
            "scale(x: Tensor, factor: f64) -> Tensor",
        ),
        unary("sigmoid", "Elementwise logistic sigmoid.", "sigmoid(x: Tensor) -> Tensor"),
        Item {
            name: "slice",
            doc: "Rows start (included) to end (excluded) of the leading dimension.",
            signature: "slice(x: Tensor, start: i64, end: i64) -> Tensor",
            typing: Typing::Slice,
        },
        unary(
            "softmax",
            "Softmax along an axis (the last by default).",
            "softmax(x: Tensor, axis: i64 = -1) -> Tensor",
        ),
        binary("sub", "Elementwise difference.", "sub(a: Tensor, b: Tensor) -> Tensor"),
        reduce(
            "sum",
            "The sum, along an axis or overall.",
            "sum(x: Tensor, axis: i64? = null) -> Tensor",
        ),
        Item {
            name: "topk",
            doc: "The k largest values of each row, largest first.",
            signature: "topk(x: tensor<T, [N, D]>, k: i64) -> tensor<T, [N, _]>",
            typing: Typing::TopK,
        },
        Item {
            name: "topk_indices",
            doc: "The indices of the k largest values of each row, largest first.",
            signature: "topk_indices(x: tensor<T, [N, D]>, k: i64) -> tensor<i64, [N, _]>",
            typing: Typing::TopK,
        },
        Item {
            name: "transpose",
            doc: "Swaps the two axes of a matrix.",
            signature: "transpose(x: tensor<T, [M, N]>) -> tensor<T, [N, M]>",
            typing: Typing::Declared,
        },
    ],
};
