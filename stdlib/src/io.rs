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
            typing: Typing::Read,
        },
        Item {
            name: "read_csv",
            doc: "Reads a CSV file with a header row into a table.",
            signature: "read_csv(src: path) -> Table",
            typing: Typing::Read,
        },
        Item {
            name: "read_jsonl",
            doc: "Reads a JSON-lines file (one object per line) into a table.",
            signature: "read_jsonl(src: path) -> Table",
            typing: Typing::Read,
        },
        Item {
            name: "read_parquet",
            doc: "Reads a Parquet file into a table.",
            signature: "read_parquet(src: path) -> Table",
            typing: Typing::Read,
        },
        Item {
            name: "write_arrow",
            doc: "Writes a table or tensor to an Arrow IPC file; the result is the rows written.",
            signature: "write_arrow(value: Data, dst: path) -> i64",
            typing: Typing::Write,
        },
        Item {
            name: "write_csv",
            doc: "Writes a table to a CSV file with a header row; the result is the rows written.",
            signature: "write_csv(value: Table, dst: path) -> i64",
            typing: Typing::Write,
        },
        Item {
            name: "write_jsonl",
            doc: "Writes a table to a JSON-lines file; the result is the rows written.",
            signature: "write_jsonl(value: Table, dst: path) -> i64",
            typing: Typing::Write,
        },
        Item {
            name: "write_parquet",
            doc: "Writes a table or tensor to a Parquet file; the result is the rows written.",
            signature: "write_parquet(value: Data, dst: path) -> i64",
            typing: Typing::Write,
        },
    ],
};
