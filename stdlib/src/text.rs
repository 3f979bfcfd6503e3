//! `std.text`: text processing.

use crate::{Item, Package, Typing};

/// The `std.text` package.
pub(crate) const PACKAGE: Package = Package {
    name: "std.text",
    doc: "Text processing: case, splitting, patterns, chunking and tokenising.",
    items: &[
        Item {
            name: "chunk",
            doc: "Splits text into overlapping windows of a given size.\n\nOn a `list<utf8>`, \
                  each text becomes a `list<utf8>` of windows. On a table, the text column \
                  `column` is replaced by one row per window: the other columns are kept, \
                  `chunk_no: i32` numbers the windows of a row from 0 and `text: utf8` holds \
                  the window.",
            signature: "chunk(input: Data, size: i64, overlap: i64 = 0, column: utf8? = null) -> Data",
            example: "pipeline example(docs: table { id: i64, body: utf8 }) -> table { id: i64, chunk_no: i32, text: utf8 } {\n    return docs |> chunk(size = 500, overlap = 80, column = \"body\")\n}",
            typing: Typing::Chunk,
        },
        Item {
            name: "lower",
            doc: "Lower-cases text.",
            signature: "lower(text: utf8) -> utf8",
            example: "pipeline example(texts: list<utf8>) -> list<utf8> {\n    return lower(texts)\n}",
            typing: Typing::Text,
        },
        Item {
            name: "regex_extract",
            doc: "The part of each text that a regular expression matches.\n\nThe result is \
                  null where the pattern does not match; `group` picks a capture group.",
            signature: "regex_extract(text: utf8, pattern: utf8, group: i64 = 0) -> utf8?",
            example: "pipeline example(texts: list<utf8>) -> list<utf8?> {\n    return regex_extract(texts, \"[0-9]+\")\n}",
            typing: Typing::Text,
        },
        Item {
            name: "split",
            doc: "Splits text on a separator.",
            signature: "split(text: utf8, separator: utf8) -> list<utf8>",
            example: "pipeline example(text: utf8) -> list<utf8> {\n    return split(text, \",\")\n}",
            typing: Typing::Text,
        },
        Item {
            name: "tokenize",
            doc: "Token ids of text, as a tensor.\n\nEach text becomes one row of `length` \
                  ids, truncated or padded with 0.",
            signature: "tokenize(text: list<utf8>, length: i64 = 128) -> tensor<i64, [N, _]>",
            example: "pipeline example(texts: list<utf8>) -> tensor<i64, [N, 64]> {\n    return tokenize(texts, length = 64)\n}",
            typing: Typing::Tokenize,
        },
    ],
};
