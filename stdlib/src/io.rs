//! `std.io`: reading and writing tables and tensors.

use crate::{Example, Item, Package, Typing};

/// The `std.io` package.
pub(crate) const PACKAGE: Package = Package {
    name: "std.io",
    doc: "Reads and writes tables and tensors: CSV, Parquet, JSON lines and Arrow IPC files. A path is a local file, a directory (every file in it with the format's extension, in name order), or an object-store URL: `s3://bucket/key`, `gs://`, `az://`, `abfs://`, `http(s)://`; a URL ending in `/` reads every object under it. Each store takes its credentials, region and endpoint from the environment, as its SDK does (`AWS_*`, `GOOGLE_*`, `AZURE_*`). A write appears whole or not at all: a local file is renamed into place, an object is uploaded in parts and completed.",
    items: &[
        Item {
            name: "read_arrow",
            doc: "Reads an Arrow IPC file into a table.",
            signature: "read_arrow(src: path) -> Table",
            example: Example {
                pipeline: "pipeline example(src: path) -> table { id: i64, name: utf8 } {\n    let people: table { id: i64, name: utf8 } = read_arrow(src)\n    return people\n}",
                params: &[("src", "stdlib/data/people.arrow")],
                returns: r#"[{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}, {"id": 3, "name": "Alan"}]"#,
            },
            typing: Typing::Read,
        },
        Item {
            name: "read_csv",
            doc: "Reads a CSV file with a header row into a table.",
            signature: "read_csv(src: path) -> Table",
            example: Example {
                pipeline: "pipeline example(src: path) -> table { id: i64, name: utf8 } {\n    let people: table { id: i64, name: utf8 } = read_csv(src)\n    return people\n}",
                params: &[("src", "stdlib/data/people.csv")],
                returns: r#"[{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}, {"id": 3, "name": "Alan"}]"#,
            },
            typing: Typing::Read,
        },
        Item {
            name: "read_jsonl",
            doc: "Reads a JSON-lines file (one object per line) into a table.",
            signature: "read_jsonl(src: path) -> Table",
            example: Example {
                pipeline: "pipeline example(src: path) -> table { id: i64, name: utf8 } {\n    let people: table { id: i64, name: utf8 } = read_jsonl(src)\n    return people\n}",
                params: &[("src", "stdlib/data/people.jsonl")],
                returns: r#"[{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}, {"id": 3, "name": "Alan"}]"#,
            },
            typing: Typing::Read,
        },
        Item {
            name: "read_parquet",
            doc: "Reads a Parquet file into a table.",
            signature: "read_parquet(src: path) -> Table",
            example: Example {
                pipeline: "pipeline example(src: path) -> table { id: i64, name: utf8 } {\n    let people: table { id: i64, name: utf8 } = read_parquet(src)\n    return people\n}",
                params: &[("src", "stdlib/data/people.parquet")],
                returns: r#"[{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}, {"id": 3, "name": "Alan"}]"#,
            },
            typing: Typing::Read,
        },
        Item {
            name: "write_arrow",
            doc: "Writes a table or tensor to an Arrow IPC file; the result is the rows written.",
            signature: "write_arrow(value: Data, dst: path) -> i64",
            example: Example {
                pipeline: "pipeline example(x: tensor<f32, [N, 2]>, dst: path) -> i64 {\n    return write_arrow(x, dst)\n}",
                params: &[("x", "[[1, 2], [3, 4], [5, 6]]"), ("dst", "x.arrow")],
                returns: "3",
            },
            typing: Typing::Write,
        },
        Item {
            name: "write_csv",
            doc: "Writes a table to a CSV file with a header row; the result is the rows written.",
            signature: "write_csv(value: Table, dst: path) -> i64",
            example: Example {
                pipeline: "pipeline example(people: table { id: i64, name: utf8 }, dst: path) -> i64 {\n    return write_csv(people, dst)\n}",
                params: &[
                    (
                        "people",
                        r#"[{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}, {"id": 3, "name": "Alan"}]"#,
                    ),
                    ("dst", "people.csv"),
                ],
                returns: "3",
            },
            typing: Typing::Write,
        },
        Item {
            name: "write_jsonl",
            doc: "Writes a table to a JSON-lines file; the result is the rows written.",
            signature: "write_jsonl(value: Table, dst: path) -> i64",
            example: Example {
                pipeline: "pipeline example(people: table { id: i64, name: utf8 }, dst: path) -> i64 {\n    return write_jsonl(people, dst)\n}",
                params: &[
                    (
                        "people",
                        r#"[{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}, {"id": 3, "name": "Alan"}]"#,
                    ),
                    ("dst", "people.jsonl"),
                ],
                returns: "3",
            },
            typing: Typing::Write,
        },
        Item {
            name: "write_parquet",
            doc: "Writes a table or tensor to a Parquet file; the result is the rows written.",
            signature: "write_parquet(value: Data, dst: path) -> i64",
            example: Example {
                pipeline: "pipeline example(people: table { id: i64, name: utf8 }, dst: path) -> i64 {\n    return write_parquet(people, dst)\n}",
                params: &[
                    (
                        "people",
                        r#"[{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}, {"id": 3, "name": "Alan"}]"#,
                    ),
                    ("dst", "people.parquet"),
                ],
                returns: "3",
            },
            typing: Typing::Write,
        },
    ],
};
