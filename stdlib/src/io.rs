//! `std.io`: reading and writing tables and tensors.

use crate::{Item, Package};

/// The `std.io` package.
pub(crate) const PACKAGE: Package = Package {
    name: "std.io",
    doc: "Reads and writes tables and tensors: CSV, Parquet, JSON lines and Arrow IPC files.",
    items: &[
        Item { name: "read_arrow", doc: "Reads an Arrow IPC file into a table." },
        Item { name: "read_csv", doc: "Reads a CSV file with a header row into a table." },
        Item {
            name: "read_jsonl",
            doc: "Reads a JSON-lines file (one object per line) into a table.",
        },
        Item { name: "read_parquet", doc: "Reads a Parquet file into a table." },
        Item { name: "write_arrow", doc: "Writes a table or tensor to an Arrow IPC file." },
        Item { name: "write_csv", doc: "Writes a table to a CSV file with a header row." },
        Item { name: "write_jsonl", doc: "Writes a table to a JSON-lines file." },
        Item { name: "write_parquet", doc: "Writes a table or tensor to a Parquet file." },
    ],
};
