//! `std.tensor`: tensor kernels.

use crate::{Item, Package};

/// The `std.tensor` package.
pub(crate) const PACKAGE: Package = Package {
    name: "std.tensor",
    doc: "Tensor kernels (CPU, and CUDA where a GPU is present), with broadcasting.",
    items: &[
        Item { name: "add", doc: "Elementwise sum." },
        Item { name: "argmax", doc: "The index of the largest value along an axis." },
        Item { name: "concat", doc: "Joins tensors along an axis." },
        Item {
            name: "cosine_similarity",
            doc: "Cosine similarity of every row of a with every row of b.",
        },
        Item { name: "div", doc: "Elementwise quotient." },
        Item { name: "exp", doc: "Elementwise exponential." },
        Item { name: "gelu", doc: "Elementwise GELU activation." },
        Item { name: "l2_normalize", doc: "Scales each row to unit Euclidean length." },
        Item { name: "log", doc: "Elementwise natural logarithm." },
        Item { name: "matmul", doc: "Matrix product." },
        Item { name: "max", doc: "The largest value, along an axis or overall." },
        Item { name: "mean", doc: "The mean, along an axis or overall." },
        Item { name: "min", doc: "The smallest value, along an axis or overall." },
        Item { name: "mul", doc: "Elementwise product." },
        Item { name: "neg", doc: "Elementwise negation." },
        Item { name: "relu", doc: "Elementwise ReLU activation." },
        Item { name: "reshape", doc: "The same values in another shape." },
        Item { name: "scale", doc: "Multiplies every element by a scalar." },
        Item { name: "sigmoid", doc: "Elementwise logistic sigmoid." },
        Item { name: "slice", doc: "A range of rows." },
        Item { name: "softmax", doc: "Softmax along an axis." },
        Item { name: "sub", doc: "Elementwise difference." },
        Item { name: "sum", doc: "The sum, along an axis or overall." },
        Item { name: "topk", doc: "The k largest values of each row." },
        Item { name: "topk_indices", doc: "The indices of the k largest values of each row." },
        Item { name: "transpose", doc: "Swaps the two axes of a matrix." },
    ],
};
