//! `std.io`: reading and writing tables and tensors.

use crate::{Item, Package, Typing};

/// The `std.io` package.
pub(crate) const PACKAGE: Package = Package {
    name: "std.io",
    doc: "Reads and writes tables and tensors: CSV, Parquet, JSON lines and Arrow IPC files.",
    items: &[
        Item {
            name: "read_arrow",
            doc: "Reads an Arrow IPC file into a table.",
            signature: "read_arrow(src: path) -> Table",
            example: "pipeline example(src: path) -> table { id: i64 } {\n    let t: table { id: i64 } = read_arrow(src)\n    return t\n}",
            typing: Typing::Read,
        },
        Item {
            name: "read_csv",
            doc: "Reads a CSV file with a header row into a table.",
            signature: "read_csv(src: path) -> Table",
            example: "pipeline example(src: path) -> table { id: i64, body: utf8 } {\n    let docs: table { id: i64, body: utf8 } = read_csv(src)\n    return docs\n}",
            typing: Typing::Read,
        },
        Item {
            name: "read_jsonl",
            doc: "Reads a JSON-lines file (one object per line) into a table.",
            signature: "read_jsonl(src: path) -> Table",
            example: "pipeline example(src: path) -> table { id: utf8 } {\n    let rows: table { id: utf8 } = read_jsonl(src)\n    return rows\n}",
            typing: Typing::Read,
        },
        Item {
            name: "read_parquet",
            doc: "Reads a Parquet file into a table.",
            signature: "read_parquet(src: path) -> Table",
            example: "pipeline example(src: path) -> table { id: i64 } {\n    let t: table { id: i64 } = read_parquet(src)\n    return t\n}",
            typing: Typing::Read,
        },
        Item {
            name: "write_arrow",
            doc: "Writes a table or tensor to an Arrow IPC file; the result is the rows written.",
            signature: "write_arrow(value: Data, dst: path) -> i64",
            example: "pipeline example(x: tensor<f32, [N, 4]>) -> i64 {\n    return write_arrow(x, \"target/x.arrow\")\n}",
            typing: Typing::Write,
        },
        Item {
            name: "write_csv",
            doc: "Writes a table to a CSV file with a header row; the result is the rows written.",
            signature: "write_csv(value: Table, dst: path) -> i64",
            example: "pipeline example(t: table { id: i64 }) -> i64 {\n    return write_csv(t, \"target/t.csv\")\n}",
            typing: Typing::Write,
        },
        Item {
            name: "write_jsonl",
            doc: "Writes a table to a JSON-lines file; the result is the rows written.",
            signature: "write_jsonl(value: Table, dst: path) -> i64",
            example: "pipeline example(t: table { id: i64 }) -> i64 {\n    return write_jsonl(t, \"target/t.jsonl\")\n}",
            typing: Typing::Write,
        },
        Item {
            name: "write_parquet",
            doc: "Writes a table or tensor to a Parquet file; the result is the rows written.",
            signature: "write_parquet(value: Data, dst: path) -> i64",
            example: "pipeline example(t: table { id: i64 }) -> i64 {\n    return write_parquet(t, \"target/t.parquet\")\n}",
            typing: Typing::Write,
        },
    ],
};
