//! `std.tensor`: tensor kernels.

use crate::{Item, Package, Typing};

/// An elementwise operation of one tensor.
const fn unary(
    name: &'static str,
    doc: &'static str,
    signature: &'static str,
    example: &'static str,
) -> Item {
    Item { name, doc, signature, example, typing: Typing::Elementwise }
}

/// An elementwise operation of two tensors, with broadcasting.
const fn binary(
    name: &'static str,
    doc: &'static str,
    signature: &'static str,
    example: &'static str,
) -> Item {
    Item { name, doc, signature, example, typing: Typing::Broadcast }
}

/// A reduction over an axis or over everything.
const fn reduce(
    name: &'static str,
    doc: &'static str,
    signature: &'static str,
    example: &'static str,
) -> Item {
    Item { name, doc, signature, example, typing: Typing::Reduce }
}

/// The `std.tensor` package.
pub(crate) const PACKAGE: Package = Package {
    name: "std.tensor",
    doc: "Tensor kernels (CPU, and CUDA where a GPU is present), with broadcasting.",
    items: &[
        binary(
            "add",
            "Elementwise sum.",
            "add(a: Tensor, b: Tensor) -> Tensor",
            "pipeline example(x: tensor<f32, [N, 4]>, bias: tensor<f32, [4]>) -> tensor<f32, [N, 4]> {\n    return add(x, bias)\n}",
        ),
        Item {
            name: "argmax",
            doc: "The index of the largest value along an axis (the last by default).",
            signature: "argmax(x: Tensor, axis: i64 = -1) -> Tensor",
            example: "pipeline example(scores: tensor<f32, [N, 10]>) -> tensor<i64, [N]> {\n    return argmax(scores)\n}",
            typing: Typing::ArgReduce,
        },
        Item {
            name: "cast",
            doc: "The same values converted to another element type, e.g. `cast(x, \"f16\")`.",
            signature: "cast(x: Tensor, dtype: utf8) -> Tensor",
            example: "pipeline example(x: tensor<f32, [N, 4]>) -> tensor<f16, [N, 4]> {\n    return cast(x, \"f16\")\n}",
            typing: Typing::Cast,
        },
        Item {
            name: "concat",
            doc: "Joins two tensors along an axis (the first by default).",
            signature: "concat(a: Tensor, b: Tensor, axis: i64 = 0) -> Tensor",
            example: "pipeline example(a: tensor<f32, [2, 4]>, b: tensor<f32, [3, 4]>) -> tensor<f32, [5, 4]> {\n    return concat(a, b)\n}",
            typing: Typing::Concat,
        },
        Item {
            name: "cosine_similarity",
            doc: "Cosine similarity of every row of a with every row of b.",
            signature: "cosine_similarity(a: tensor<T, [N, D]>, b: tensor<T, [M, D]>) -> tensor<T, [N, M]>",
            example: "pipeline example(q: tensor<f32, [1, 384]>, docs: tensor<f32, [N, 384]>) -> tensor<f32, [1, N]> {\n    return cosine_similarity(q, docs)\n}",
            typing: Typing::Declared,
        },
        binary(
            "div",
            "Elementwise quotient.",
            "div(a: Tensor, b: Tensor) -> Tensor",
            "pipeline example(x: tensor<f32, [N, 4]>, norms: tensor<f32, [N, 1]>) -> tensor<f32, [N, 4]> {\n    return div(x, norms)\n}",
        ),
        unary(
            "exp",
            "Elementwise exponential.",
            "exp(x: Tensor) -> Tensor",
            "pipeline example(x: tensor<f32, [N, 4]>) -> tensor<f32, [N, 4]> {\n    return exp(x)\n}",
        ),
        unary(
            "gelu",
            "Elementwise GELU activation.",
            "gelu(x: Tensor) -> Tensor",
            "pipeline example(x: tensor<f32, [N, 4]>) -> tensor<f32, [N, 4]> {\n    return gelu(x)\n}",
        ),
        Item {
            name: "l2_normalize",
            doc: "Scales each row to unit Euclidean length.",
            signature: "l2_normalize(x: tensor<T, [N, D]>) -> tensor<T, [N, D]>",
            example: "pipeline example(x: tensor<f32, [N, 384]>) -> tensor<f32, [N, 384]> {\n    return l2_normalize(x)\n}",
            typing: Typing::Declared,
        },
        unary(
            "log",
            "Elementwise natural logarithm.",
            "log(x: Tensor) -> Tensor",
            "pipeline example(x: tensor<f64, [N]>) -> tensor<f64, [N]> {\n    return log(x)\n}",
        ),
        Item {
            name: "matmul",
            doc: "Matrix product.",
            signature: "matmul(a: tensor<T, [M, K]>, b: tensor<T, [K, N]>) -> tensor<T, [M, N]>",
            example: "pipeline example(a: tensor<f32, [2, 3]>, b: tensor<f32, [3, 4]>) -> tensor<f32, [2, 4]> {\n    return matmul(a, b)\n}",
            typing: Typing::Declared,
        },
        reduce(
            "max",
            "The largest value, along an axis or overall.",
            "max(x: Tensor, axis: i64? = null) -> Tensor",
            "pipeline example(x: tensor<f32, [N, 4]>) -> f32 {\n    return max(x)\n}",
        ),
        reduce(
            "mean",
            "The mean, along an axis or overall.",
            "mean(x: Tensor, axis: i64? = null) -> Tensor",
            "pipeline example(x: tensor<i64, [N, 4]>) -> tensor<f64, [N]> {\n    return mean(x, axis = 1)\n}",
        ),
        reduce(
            "min",
            "The smallest value, along an axis or overall.",
            "min(x: Tensor, axis: i64? = null) -> Tensor",
            "pipeline example(x: tensor<f32, [N, 4]>) -> tensor<f32, [4]> {\n    return min(x, axis = 0)\n}",
        ),
        binary(
            "mul",
            "Elementwise product.",
            "mul(a: Tensor, b: Tensor) -> Tensor",
            "pipeline example(x: tensor<f32, [N, 4]>) -> tensor<f32, [N, 4]> {\n    return mul(x, x)\n}",
        ),
        unary(
            "neg",
            "Elementwise negation.",
            "neg(x: Tensor) -> Tensor",
            "pipeline example(x: tensor<i32, [N]>) -> tensor<i32, [N]> {\n    return neg(x)\n}",
        ),
        unary(
            "relu",
            "Elementwise ReLU activation.",
            "relu(x: Tensor) -> Tensor",
            "pipeline example(x: tensor<f32, [N, 4]>) -> tensor<f32, [N, 4]> {\n    return relu(x)\n}",
        ),
        Item {
            name: "reshape",
            doc: "The same values in another shape; one size may be -1, the size that fits.",
            signature: "reshape(x: Tensor, shape: list<i64>) -> Tensor",
            example: "pipeline example(x: tensor<f32, [4, 6]>) -> tensor<f32, [8, 3]> {\n    return reshape(x, [-1, 3])\n}",
            typing: Typing::Reshape,
        },
        unary(
            "scale",
            "Multiplies every element by a scalar.",
            "scale(x: Tensor, factor: f64) -> Tensor",
            "pipeline example(x: tensor<f32, [N, 4]>) -> tensor<f32, [N, 4]> {\n    return scale(x, 0.5)\n}",
        ),
        unary(
            "sigmoid",
            "Elementwise logistic sigmoid.",
            "sigmoid(x: Tensor) -> Tensor",
            "pipeline example(x: tensor<f32, [N]>) -> tensor<f32, [N]> {\n    return sigmoid(x)\n}",
        ),
        Item {
            name: "slice",
            doc: "Rows start (included) to end (excluded) of the leading dimension.",
            signature: "slice(x: Tensor, start: i64, end: i64) -> Tensor",
            example: "pipeline example(x: tensor<f32, [10, 4]>) -> tensor<f32, [3, 4]> {\n    return slice(x, 2, 5)\n}",
            typing: Typing::Slice,
        },
        unary(
            "softmax",
            "Softmax along an axis (the last by default).",
            "softmax(x: Tensor, axis: i64 = -1) -> Tensor",
            "pipeline example(logits: tensor<f32, [N, 10]>) -> tensor<f32, [N, 10]> {\n    return softmax(logits)\n}",
        ),
        binary(
            "sub",
            "Elementwise difference.",
            "sub(a: Tensor, b: Tensor) -> Tensor",
            "pipeline example(a: tensor<f32, [N, 4]>, b: tensor<f32, [N, 4]>) -> tensor<f32, [N, 4]> {\n    return sub(a, b)\n}",
        ),
        reduce(
            "sum",
            "The sum, along an axis or overall.",
            "sum(x: Tensor, axis: i64? = null) -> Tensor",
            "pipeline example(x: tensor<f32, [N, 4]>) -> tensor<f32, [N]> {\n    return sum(x, axis = 1)\n}",
        ),
        Item {
            name: "topk",
            doc: "The k largest values along the last axis (of each row of a matrix), largest first.",
            signature: "topk(x: Tensor, k: i64) -> Tensor",
            example: "pipeline example(scores: tensor<f32, [N, 100]>) -> tensor<f32, [N, 5]> {\n    return topk(scores, 5)\n}",
            typing: Typing::TopK,
        },
        Item {
            name: "topk_indices",
            doc: "The indices of the k largest values along the last axis, largest first.",
            signature: "topk_indices(x: Tensor, k: i64) -> Tensor",
            example: "pipeline example(scores: tensor<f32, [N, 100]>) -> tensor<i64, [N, 5]> {\n    return topk_indices(scores, 5)\n}",
            typing: Typing::TopK,
        },
        Item {
            name: "transpose",
            doc: "Swaps the two axes of a matrix.",
            signature: "transpose(x: tensor<T, [M, N]>) -> tensor<T, [N, M]>",
            example: "pipeline example(m: tensor<f32, [2, 3]>) -> tensor<f32, [3, 2]> {\n    return transpose(m)\n}",
            typing: Typing::Declared,
        },
    ],
};
