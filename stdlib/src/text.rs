//! `std.text`: text processing.

use crate::{Item, Package};

/// The `std.text` package.
pub(crate) const PACKAGE: Package = Package {
    name: "std.text",
    doc: "Text processing: case, splitting, patterns, chunking and tokenising.",
    items: &[
        Item { name: "chunk", doc: "Splits text into overlapping windows of a given size." },
        Item { name: "lower", doc: "Lower-cases text." },
        Item {
            name: "regex_extract",
            doc: "The part of each text that a regular expression matches.",
        },
        Item { name: "split", doc: "Splits text on a separator." },
        Item { name: "tokenize", doc: "Token ids of text, as a tensor." },
    ],
};
