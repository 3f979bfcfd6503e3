//! `std.tensor`: tensor kernels.

use crate::{Elements, Example, Item, Package, Typing};

/// The element types the operation called `name` computes on: any for `cast` and for
/// operations outside this package, floats for the functions whose results are not integers.
pub(crate) fn elements(name: &str) -> Elements {
    const FLOATS: &[&str] =
        &["cosine_similarity", "div", "exp", "gelu", "l2_normalize", "log", "sigmoid", "softmax"];
    if FLOATS.contains(&name) {
        Elements::Floats
    } else if name != "cast" && PACKAGE.item(name).is_some() {
        Elements::Numbers
    } else {
        Elements::Any
    }
}

/// An elementwise operation of one tensor.
const fn unary(
    name: &'static str,
    doc: &'static str,
    signature: &'static str,
    example: Example,
) -> Item {
    Item { name, doc, signature, example, typing: Typing::Elementwise }
}

/// An elementwise operation of two tensors, with broadcasting.
const fn binary(
    name: &'static str,
    doc: &'static str,
    signature: &'static str,
    example: Example,
) -> Item {
    Item { name, doc, signature, example, typing: Typing::Broadcast }
}

/// A reduction over an axis or over everything.
const fn reduce(
    name: &'static str,
    doc: &'static str,
    signature: &'static str,
    example: Example,
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
            Example {
                pipeline: "pipeline example(x: tensor<f32, [N, 3]>, bias: tensor<f32, [3]>) -> tensor<f32, [N, 3]> {\n    return add(x, bias)\n}",
                params: &[("x", "[[1, 2, 3], [4, 5, 6]]"), ("bias", "[10, 20, 30]")],
                returns: "[[11.0, 22.0, 33.0], [14.0, 25.0, 36.0]]",
            },
        ),
        Item {
            name: "argmax",
            doc: "The index of the largest value along an axis (the last by default).",
            signature: "argmax(x: Tensor, axis: i64 = -1) -> Tensor",
            example: Example {
                pipeline: "pipeline example(scores: tensor<f32, [N, 3]>) -> tensor<i64, [N]> {\n    return argmax(scores)\n}",
                params: &[("scores", "[[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]]")],
                returns: "[1, 0]",
            },
            typing: Typing::ArgReduce,
        },
        Item {
            name: "cast",
            doc: "The same values converted to another element type, e.g. `cast(x, \"f64\")`.\n\n\
                  The kernels hold `f32`, `f64` and `i64`; a float becomes an integer by \
                  rounding toward zero.",
            signature: "cast(x: Tensor, dtype: utf8) -> Tensor",
            example: Example {
                pipeline: "pipeline example(x: tensor<f32, [N, 3]>) -> tensor<i64, [N, 3]> {\n    return cast(x, \"i64\")\n}",
                params: &[("x", "[[1.5, -2.25, 3.0]]")],
                returns: "[[1, -2, 3]]",
            },
            typing: Typing::Cast,
        },
        Item {
            name: "concat",
            doc: "Joins two tensors along an axis (the first by default).",
            signature: "concat(a: Tensor, b: Tensor, axis: i64 = 0) -> Tensor",
            example: Example {
                pipeline: "pipeline example(a: tensor<f32, [2, 2]>, b: tensor<f32, [1, 2]>) -> tensor<f32, [3, 2]> {\n    return concat(a, b)\n}",
                params: &[("a", "[[1, 2], [3, 4]]"), ("b", "[[5, 6]]")],
                returns: "[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]",
            },
            typing: Typing::Concat,
        },
        Item {
            name: "cosine_similarity",
            doc: "Cosine similarity of every row of a with every row of b.",
            signature: "cosine_similarity(a: tensor<T, [N, D]>, b: tensor<T, [M, D]>) -> tensor<T, [N, M]>",
            example: Example {
                pipeline: "pipeline example(q: tensor<f32, [1, 3]>, docs: tensor<f32, [N, 3]>) -> tensor<f32, [1, N]> {\n    return cosine_similarity(q, docs)\n}",
                params: &[("q", "[[1, 0, 0]]"), ("docs", "[[2, 0, 0], [0, 1, 0], [3, 4, 0]]")],
                returns: "[[1.0, 0.0, 0.6]]",
            },
            typing: Typing::Declared,
        },
        binary(
            "div",
            "Elementwise quotient.",
            "div(a: Tensor, b: Tensor) -> Tensor",
            Example {
                pipeline: "pipeline example(x: tensor<f32, [N, 3]>, norms: tensor<f32, [N, 1]>) -> tensor<f32, [N, 3]> {\n    return div(x, norms)\n}",
                params: &[("x", "[[2, 4, 6], [3, 6, 9]]"), ("norms", "[[2], [3]]")],
                returns: "[[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]",
            },
        ),
        unary(
            "exp",
            "Elementwise exponential.",
            "exp(x: Tensor) -> Tensor",
            Example {
                pipeline: "pipeline example(x: tensor<f32, [N, 2]>) -> tensor<f32, [N, 2]> {\n    return exp(x)\n}",
                params: &[("x", "[[0, 1], [-1, 2]]")],
                returns: "[[1.0, 2.7182817], [0.36787945, 7.389056]]",
            },
        ),
        unary(
            "gelu",
            "Elementwise GELU activation, in the tanh approximation.",
            "gelu(x: Tensor) -> Tensor",
            Example {
                pipeline: "pipeline example(x: tensor<f32, [N, 2]>) -> tensor<f32, [N, 2]> {\n    return gelu(x)\n}",
                params: &[("x", "[[0, 1], [-1, 2]]")],
                returns: "[[0.0, 0.841192], [-0.158808, 1.9545977]]",
            },
        ),
        Item {
            name: "l2_normalize",
            doc: "Scales each row to unit Euclidean length.",
            signature: "l2_normalize(x: tensor<T, [N, D]>) -> tensor<T, [N, D]>",
            example: Example {
                pipeline: "pipeline example(x: tensor<f32, [N, 3]>) -> tensor<f32, [N, 3]> {\n    return l2_normalize(x)\n}",
                params: &[("x", "[[3, 0, 4], [1, 2, 2]]")],
                returns: "[[0.6, 0.0, 0.8], [0.33333334, 0.6666667, 0.6666667]]",
            },
            typing: Typing::Declared,
        },
        unary(
            "log",
            "Elementwise natural logarithm.",
            "log(x: Tensor) -> Tensor",
            Example {
                pipeline: "pipeline example(x: tensor<f64, [N]>) -> tensor<f64, [N]> {\n    return log(x)\n}",
                params: &[("x", "[1, 2.718281828459045, 2]")],
                returns: "[0.0, 1.0, 0.6931471805599453]",
            },
        ),
        Item {
            name: "matmul",
            doc: "Matrix product.\n\nDimensions before the last two are batch dimensions, \
                  which broadcast as in NumPy: `[B, M, K]` by `[K, N]` multiplies each of the \
                  `B` matrices by the one `[K, N]` matrix and gives `[B, M, N]`.",
            signature: "matmul(a: tensor<T, [M, K]>, b: tensor<T, [K, N]>) -> tensor<T, [M, N]>",
            example: Example {
                pipeline: "pipeline example(a: tensor<f32, [2, 2, 3]>, b: tensor<f32, [3, 2]>) -> tensor<f32, [2, 2, 2]> {\n    return matmul(a, b)\n}",
                params: &[
                    ("a", "[[[1, 2, 3], [4, 5, 6]], [[1, 0, 0], [0, 1, 0]]]"),
                    ("b", "[[1, 0], [0, 1], [1, 1]]"),
                ],
                returns: "[[[4.0, 5.0], [10.0, 11.0]], [[1.0, 0.0], [0.0, 1.0]]]",
            },
            typing: Typing::Matmul,
        },
        reduce(
            "max",
            "The largest value, along an axis or overall.",
            "max(x: Tensor, axis: i64? = null) -> Tensor",
            Example {
                pipeline: "pipeline example(x: tensor<f32, [N, 3]>) -> f32 {\n    return max(x)\n}",
                params: &[("x", "[[1, -5, 3], [4, 2, -6]]")],
                returns: "4.0",
            },
        ),
        reduce(
            "mean",
            "The mean, along an axis or overall.",
            "mean(x: Tensor, axis: i64? = null) -> Tensor",
            Example {
                pipeline: "pipeline example(x: tensor<i64, [N, 4]>) -> tensor<f64, [N]> {\n    return mean(x, axis = 1)\n}",
                params: &[("x", "[[1, 2, 3, 4], [10, 20, 30, 40]]")],
                returns: "[2.5, 25.0]",
            },
        ),
        reduce(
            "min",
            "The smallest value, along an axis or overall.",
            "min(x: Tensor, axis: i64? = null) -> Tensor",
            Example {
                pipeline: "pipeline example(x: tensor<f32, [N, 3]>) -> tensor<f32, [3]> {\n    return min(x, axis = 0)\n}",
                params: &[("x", "[[1, 5, 3], [4, 2, 6]]")],
                returns: "[1.0, 2.0, 3.0]",
            },
        ),
        binary(
            "mul",
            "Elementwise product.",
            "mul(a: Tensor, b: Tensor) -> Tensor",
            Example {
                pipeline: "pipeline example(x: tensor<f32, [N, 3]>) -> tensor<f32, [N, 3]> {\n    return mul(x, x)\n}",
                params: &[("x", "[[1, 2, 3], [-1, -2, -3]]")],
                returns: "[[1.0, 4.0, 9.0], [1.0, 4.0, 9.0]]",
            },
        ),
        unary(
            "neg",
            "Elementwise negation.",
            "neg(x: Tensor) -> Tensor",
            Example {
                pipeline: "pipeline example(x: tensor<i64, [N]>) -> tensor<i64, [N]> {\n    return neg(x)\n}",
                params: &[("x", "[1, -2, 0]")],
                returns: "[-1, 2, 0]",
            },
        ),
        unary(
            "relu",
            "Elementwise ReLU activation.",
            "relu(x: Tensor) -> Tensor",
            Example {
                pipeline: "pipeline example(x: tensor<f32, [N, 3]>) -> tensor<f32, [N, 3]> {\n    return relu(x)\n}",
                params: &[("x", "[[-1, 0, 2], [3, -4, 0.5]]")],
                returns: "[[0.0, 0.0, 2.0], [3.0, 0.0, 0.5]]",
            },
        ),
        Item {
            name: "reshape",
            doc: "The same values in another shape; one size may be -1, the size that fits.",
            signature: "reshape(x: Tensor, shape: list<i64>) -> Tensor",
            example: Example {
                pipeline: "pipeline example(x: tensor<f32, [2, 3]>) -> tensor<f32, [3, 2]> {\n    return reshape(x, [-1, 2])\n}",
                params: &[("x", "[[1, 2, 3], [4, 5, 6]]")],
                returns: "[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]",
            },
            typing: Typing::Reshape,
        },
        unary(
            "scale",
            "Multiplies every element by a scalar.",
            "scale(x: Tensor, factor: f64) -> Tensor",
            Example {
                pipeline: "pipeline example(x: tensor<f32, [N, 3]>) -> tensor<f32, [N, 3]> {\n    return scale(x, 0.5)\n}",
                params: &[("x", "[[1, 2, 3], [-4, 0, 1]]")],
                returns: "[[0.5, 1.0, 1.5], [-2.0, 0.0, 0.5]]",
            },
        ),
        unary(
            "sigmoid",
            "Elementwise logistic sigmoid.",
            "sigmoid(x: Tensor) -> Tensor",
            Example {
                pipeline: "pipeline example(x: tensor<f32, [N]>) -> tensor<f32, [N]> {\n    return sigmoid(x)\n}",
                params: &[("x", "[0, 1, -1, 2]")],
                returns: "[0.5, 0.7310586, 0.26894142, 0.8807971]",
            },
        ),
        Item {
            name: "slice",
            doc: "Rows start (included) to end (excluded) of the leading dimension.",
            signature: "slice(x: Tensor, start: i64, end: i64) -> Tensor",
            example: Example {
                pipeline: "pipeline example(x: tensor<f32, [5, 2]>) -> tensor<f32, [3, 2]> {\n    return slice(x, 1, 4)\n}",
                params: &[("x", "[[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]")],
                returns: "[[2.0, 3.0], [4.0, 5.0], [6.0, 7.0]]",
            },
            typing: Typing::Slice,
        },
        unary(
            "softmax",
            "Softmax along an axis (the last by default).",
            "softmax(x: Tensor, axis: i64 = -1) -> Tensor",
            Example {
                pipeline: "pipeline example(logits: tensor<f32, [N, 3]>) -> tensor<f32, [N, 3]> {\n    return softmax(logits)\n}",
                params: &[("logits", "[[0, 1, 2], [1, 1, 1]]")],
                returns: "[[0.09003057, 0.24472847, 0.66524096], [0.33333334, 0.33333334, 0.33333334]]",
            },
        ),
        binary(
            "sub",
            "Elementwise difference.",
            "sub(a: Tensor, b: Tensor) -> Tensor",
            Example {
                pipeline: "pipeline example(a: tensor<f32, [N, 3]>, b: tensor<f32, [N, 3]>) -> tensor<f32, [N, 3]> {\n    return sub(a, b)\n}",
                params: &[("a", "[[5, 7, 9], [1, 1, 1]]"), ("b", "[[1, 2, 3], [1, 2, 3]]")],
                returns: "[[4.0, 5.0, 6.0], [0.0, -1.0, -2.0]]",
            },
        ),
        reduce(
            "sum",
            "The sum, along an axis or overall.",
            "sum(x: Tensor, axis: i64? = null) -> Tensor",
            Example {
                pipeline: "pipeline example(x: tensor<f32, [N, 3]>) -> tensor<f32, [N]> {\n    return sum(x, axis = 1)\n}",
                params: &[("x", "[[1, 2, 3], [4, 5, 6]]")],
                returns: "[6.0, 15.0]",
            },
        ),
        Item {
            name: "topk",
            doc: "The k largest values along the last axis (of each row of a matrix), largest first.",
            signature: "topk(x: Tensor, k: i64) -> Tensor",
            example: Example {
                pipeline: "pipeline example(scores: tensor<f32, [N, 5]>) -> tensor<f32, [N, 2]> {\n    return topk(scores, 2)\n}",
                params: &[("scores", "[[0.1, 0.9, 0.3, 0.7, 0.5], [5, 1, 4, 2, 3]]")],
                returns: "[[0.9, 0.7], [5.0, 4.0]]",
            },
            typing: Typing::TopK,
        },
        Item {
            name: "topk_indices",
            doc: "The indices of the k largest values along the last axis, largest first.",
            signature: "topk_indices(x: Tensor, k: i64) -> Tensor",
            example: Example {
                pipeline: "pipeline example(scores: tensor<f32, [N, 5]>) -> tensor<i64, [N, 2]> {\n    return topk_indices(scores, 2)\n}",
                params: &[("scores", "[[0.1, 0.9, 0.3, 0.7, 0.5], [5, 1, 4, 2, 3]]")],
                returns: "[[1, 3], [0, 2]]",
            },
            typing: Typing::TopK,
        },
        Item {
            name: "transpose",
            doc: "Swaps the two axes of a matrix.",
            signature: "transpose(x: tensor<T, [M, N]>) -> tensor<T, [N, M]>",
            example: Example {
                pipeline: "pipeline example(m: tensor<f32, [2, 3]>) -> tensor<f32, [3, 2]> {\n    return transpose(m)\n}",
                params: &[("m", "[[1, 2, 3], [4, 5, 6]]")],
                returns: "[[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]",
            },
            typing: Typing::Declared,
        },
    ],
};
