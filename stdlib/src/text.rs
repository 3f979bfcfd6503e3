//! `std.text`: text processing.

use crate::{Example, Item, Package, Typing};

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
            example: Example {
                pipeline: "pipeline example(docs: table { id: i64, body: utf8 }) -> table { id: i64, chunk_no: i32, text: utf8 } {\n    return docs |> chunk(size = 4, overlap = 1, column = \"body\")\n}",
                params: &[("docs", r#"[{"id": 7, "body": "abcdefgh"}]"#)],
                returns: r#"[{"id": 7, "chunk_no": 0, "text": "abcd"}, {"id": 7, "chunk_no": 1, "text": "defg"}, {"id": 7, "chunk_no": 2, "text": "gh"}]"#,
            },
            typing: Typing::Chunk,
        },
        Item {
            name: "lower",
            doc: "Lower-cases text.",
            signature: "lower(text: utf8) -> utf8",
            example: Example {
                pipeline: "pipeline example(texts: list<utf8>) -> list<utf8> {\n    return lower(texts)\n}",
                params: &[("texts", r#"["Grid AI", "ÉTÉ"]"#)],
                returns: r#"["grid ai", "été"]"#,
            },
            typing: Typing::Text,
        },
        Item {
            name: "regex_extract",
            doc: "The part of each text that a regular expression matches.\n\nThe result is \
                  null where the pattern does not match; `group` picks a capture group.",
            signature: "regex_extract(text: utf8, pattern: utf8, group: i64 = 0) -> utf8?",
            example: Example {
                pipeline: "pipeline example(texts: list<utf8>) -> list<utf8?> {\n    return regex_extract(texts, \"[0-9]+\")\n}",
                params: &[("texts", r#"["order 66", "none", "v2 and 3"]"#)],
                returns: r#"["66", null, "2"]"#,
            },
            typing: Typing::Text,
        },
        Item {
            name: "split",
            doc: "Splits text on a separator.",
            signature: "split(text: utf8, separator: utf8) -> list<utf8>",
            example: Example {
                pipeline: "pipeline example(text: utf8) -> list<utf8> {\n    return split(text, \",\")\n}",
                params: &[("text", "a,b,,c")],
                returns: r#"["a", "b", "", "c"]"#,
            },
            typing: Typing::Text,
        },
        Item {
            name: "tokenize",
            doc: "Token ids of text, as a tensor.\n\nEach text becomes one row of `length` \
                  ids, special tokens included, cut at `length` (the closing special token \
                  kept) and padded with 0; a null text gives a row of 0. `tokenizer` is \
                  `\"minilm\"`, the WordPiece vocabulary of all-MiniLM-L6-v2 and BERT \
                  (uncased; `aigridc models fetch minilm` fetches it), or the path of a \
                  Hugging Face `tokenizer.json`.",
            signature: "tokenize(text: list<utf8>, length: i64 = 128, tokenizer: utf8 = \"minilm\") -> tensor<i64, [N, _]>",
            example: Example {
                pipeline: "pipeline example(texts: list<utf8>) -> tensor<i64, [N, 8]> {\n    return tokenize(texts, length = 8)\n}",
                params: &[(
                    "texts",
                    r#"["Hello, grid!", "A much longer sentence that gets cut."]"#,
                )],
                returns: "[[101, 7592, 1010, 8370, 999, 102, 0, 0], [101, 1037, 2172, 2936, 6251, 2008, 4152, 102]]",
            },
            typing: Typing::Tokenize,
        },
    ],
};
