//! `std.table`: relational operations on tables.

use crate::{Item, Package, Typing};

/// The `std.table` package.
pub(crate) const PACKAGE: Package = Package {
    name: "std.table",
    doc: "Relational operations on tables, run by DataFusion.",
    items: &[
        Item {
            name: "count",
            doc: "The number of rows of a table.",
            signature: "count(table: Table) -> i64",
            example: "pipeline example(t: table { id: i64 }) -> i64 {\n    return count(t)\n}",
            typing: Typing::Declared,
        },
        Item {
            name: "filter",
            doc: "The rows for which a boolean column expression is true.\n\nThe predicate is \
                  a SQL expression over the table's columns: `filter(docs, \"length(body) > 80\")`.",
            signature: "filter(table: Table, predicate: utf8) -> Table",
            example: "pipeline example(docs: table { id: i64, body: utf8 }) -> table { id: i64, body: utf8 } {\n    return filter(docs, \"length(body) > 80\")\n}",
            typing: Typing::Filter,
        },
        Item {
            name: "group_by",
            doc: "Groups rows by key columns and aggregates the others.\n\nEach named argument \
                  is a SQL aggregate: `group_by(t, [\"country\"], total = \"sum(fee)\")`.",
            signature: "group_by(table: Table, keys: list<utf8>) -> Table",
            example: "pipeline example(o: table { country: utf8, fee: f64 }) -> table { country: utf8, total: f64?, n: i64 } {\n    return group_by(o, [\"country\"], total = \"sum(fee)\", n = \"count(*)\")\n}",
            typing: Typing::GroupBy,
        },
        Item {
            name: "join",
            doc: "Joins two tables on key columns.\n\n`how` is `inner`, `left`, `right` or `full`.",
            signature: "join(left: Table, right: Table, on: list<utf8>, how: utf8 = \"inner\") -> Table",
            example: "pipeline example(o: table { id: i64, cid: i64 }, c: table { cid: i64, name: utf8 }) -> table { id: i64, cid: i64, name: utf8? } {\n    return join(o, c, on = [\"cid\"], how = \"left\")\n}",
            typing: Typing::Join,
        },
        Item {
            name: "limit",
            doc: "The first n rows of a table.",
            signature: "limit(table: Table, n: i64) -> Table",
            example: "pipeline example(t: table { id: i64 }) -> table { id: i64 } {\n    return limit(t, 10)\n}",
            typing: Typing::SameTable,
        },
        Item {
            name: "select",
            doc: "Picks, renames or computes columns.\n\nEither a list of column names, \
                  `select(t, [\"id\", \"body\"])`, or one named argument per column, \
                  `select(t, id = t.id, score = scores)`, whose values have one entry per row.",
            signature: "select(table: Table, columns: list<utf8>? = null) -> Table",
            example: "pipeline example(t: table { id: i64, body: utf8 }, s: list<f32>) -> table { id: i64, score: f32 } {\n    return select(t, id = t.id, score = s)\n}",
            typing: Typing::Select,
        },
        Item {
            name: "sort",
            doc: "Sorts rows by columns.",
            signature: "sort(table: Table, by: list<utf8>, descending: bool = false) -> Table",
            example: "pipeline example(t: table { id: i64, at: date }) -> table { id: i64, at: date } {\n    return sort(t, [\"at\", \"id\"], descending = true)\n}",
            typing: Typing::Sort,
        },
    ],
};
