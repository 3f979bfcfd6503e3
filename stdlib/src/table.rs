//! `std.table`: relational operations on tables.

use crate::{Example, Item, Package, Typing};

/// The `std.table` package.
pub(crate) const PACKAGE: Package = Package {
    name: "std.table",
    doc: "Relational operations on tables, run by DataFusion.",
    items: &[
        Item {
            name: "count",
            doc: "The number of rows of a table.",
            signature: "count(table: Table) -> i64",
            example: Example {
                pipeline: "pipeline example(t: table { id: i64 }) -> i64 {\n    return count(t)\n}",
                params: &[("t", r#"[{"id": 1}, {"id": 2}, {"id": 3}]"#)],
                returns: "3",
            },
            typing: Typing::Declared,
        },
        Item {
            name: "filter",
            doc: "The rows for which a boolean column expression is true.\n\nThe predicate is \
                  a SQL expression over the table's columns: `filter(docs, \"length(body) > 80\")`.",
            signature: "filter(table: Table, predicate: utf8) -> Table",
            example: Example {
                pipeline: "pipeline example(docs: table { id: i64, body: utf8 }) -> table { id: i64, body: utf8 } {\n    return filter(docs, \"length(body) > 5\")\n}",
                params: &[(
                    "docs",
                    r#"[{"id": 1, "body": "short"}, {"id": 2, "body": "a longer text"}]"#,
                )],
                returns: r#"[{"id": 2, "body": "a longer text"}]"#,
            },
            typing: Typing::Filter,
        },
        Item {
            name: "group_by",
            doc: "Groups rows by key columns and aggregates the others.\n\nEach named argument \
                  is a SQL aggregate: `group_by(t, [\"country\"], total = \"sum(fee)\")`.",
            signature: "group_by(table: Table, keys: list<utf8>) -> Table",
            example: Example {
                pipeline: "pipeline example(o: table { country: utf8, fee: f64 }) -> table { country: utf8, total: f64?, n: i64 } {\n    let totals = group_by(o, [\"country\"], total = \"sum(fee)\", n = \"count(*)\")\n    return sql(\"SELECT * FROM totals ORDER BY country\", totals = totals)\n}",
                params: &[(
                    "o",
                    r#"[{"country": "GB", "fee": 10.0}, {"country": "IE", "fee": 5.5}, {"country": "GB", "fee": 2.5}]"#,
                )],
                returns: r#"[{"country": "GB", "total": 12.5, "n": 2}, {"country": "IE", "total": 5.5, "n": 1}]"#,
            },
            typing: Typing::GroupBy,
        },
        Item {
            name: "join",
            doc: "Joins two tables on key columns.\n\n`how` is `inner`, `left`, `right` or `full`.",
            signature: "join(left: Table, right: Table, on: list<utf8>, how: utf8 = \"inner\") -> Table",
            example: Example {
                pipeline: "pipeline example(o: table { id: i64, cid: i64 }, c: table { cid: i64, name: utf8 }) -> table { id: i64, cid: i64, name: utf8? } {\n    let joined = join(o, c, on = [\"cid\"], how = \"left\")\n    return sql(\"SELECT * FROM joined ORDER BY id\", joined = joined)\n}",
                params: &[
                    ("o", r#"[{"id": 1, "cid": 10}, {"id": 2, "cid": 20}]"#),
                    ("c", r#"[{"cid": 10, "name": "Acme"}]"#),
                ],
                returns: r#"[{"id": 1, "cid": 10, "name": "Acme"}, {"id": 2, "cid": 20, "name": null}]"#,
            },
            typing: Typing::Join,
        },
        Item {
            name: "limit",
            doc: "The first n rows of a table.",
            signature: "limit(table: Table, n: i64) -> Table",
            example: Example {
                pipeline: "pipeline example(t: table { id: i64 }) -> table { id: i64 } {\n    return limit(t, 2)\n}",
                params: &[("t", r#"[{"id": 1}, {"id": 2}, {"id": 3}]"#)],
                returns: r#"[{"id": 1}, {"id": 2}]"#,
            },
            typing: Typing::SameTable,
        },
        Item {
            name: "select",
            doc: "Picks, renames or computes columns.\n\nEither a list of column names, \
                  `select(t, [\"id\", \"body\"])`, or one named argument per column, \
                  `select(t, id = t.id, score = scores)`, whose values have one entry per row.",
            signature: "select(table: Table, columns: list<utf8>? = null) -> Table",
            example: Example {
                pipeline: "pipeline example(t: table { id: i64, body: utf8 }, s: list<f32>) -> table { id: i64, score: f32 } {\n    return select(t, id = t.id, score = s)\n}",
                params: &[
                    ("t", r#"[{"id": 1, "body": "first"}, {"id": 2, "body": "second"}]"#),
                    ("s", "[0.5, 0.25]"),
                ],
                returns: r#"[{"id": 1, "score": 0.5}, {"id": 2, "score": 0.25}]"#,
            },
            typing: Typing::Select,
        },
        Item {
            name: "sort",
            doc: "Sorts rows by columns.",
            signature: "sort(table: Table, by: list<utf8>, descending: bool = false) -> Table",
            example: Example {
                pipeline: "pipeline example(t: table { id: i64, at: date }) -> table { id: i64, at: date } {\n    return sort(t, [\"at\", \"id\"], descending = true)\n}",
                params: &[(
                    "t",
                    r#"[{"id": 1, "at": "2024-05-01"}, {"id": 2, "at": "2024-06-01"}, {"id": 3, "at": "2024-05-01"}]"#,
                )],
                returns: r#"[{"id": 2, "at": "2024-06-01"}, {"id": 3, "at": "2024-05-01"}, {"id": 1, "at": "2024-05-01"}]"#,
            },
            typing: Typing::Sort,
        },
    ],
};
