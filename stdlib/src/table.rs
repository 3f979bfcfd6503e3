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
            typing: Typing::Declared,
        },
        Item {
            name: "filter",
            doc: "The rows for which a boolean column expression is true.\n\nThe predicate is \
                  a SQL expression over the table's columns: `filter(docs, \"length(body) > 80\")`.",
            signature: "filter(table: Table, predicate: utf8) -> Table",
            typing: Typing::Filter,
        },
        Item {
            name: "group_by",
            doc: "Groups rows by key columns and aggregates the others.\n\nEach named argument \
                  is a SQL aggregate: `group_by(t, [\"country\"], total = \"sum(fee)\")`.",
            signature: "group_by(table: Table, keys: list<utf8>) -> Table",
            typing: Typing::GroupBy,
        },
        Item {
            name: "join",
            doc: "Joins two tables on key columns.\n\n`how` is `inner`, `left`, `right` or `full`.",
            signature: "join(left: Table, right: Table, on: list<utf8>, how: utf8 = \"inner\") -> Table",
            typing: Typing::Join,
        },
        Item {
            name: "limit",
            doc: "The first n rows of a table.",
            signature: "limit(table: Table, n: i64) -> Table",
            typing: Typing::SameTable,
        },
        Item {
            name: "select",
            doc: "Picks, renames or computes columns.\n\nEither a list of column names, \
                  `select(t, [\"id\", \"body\"])`, or one named argument per column, \
                  `select(t, id = t.id, score = scores)`, whose values have one entry per row.",
            signature: "select(table: Table, columns: list<utf8>? = null) -> Table",
            typing: Typing::Select,
        },
        Item {
            name: "sort",
            doc: "Sorts rows by columns.",
            signature: "sort(table: Table, by: list<utf8>, descending: bool = false) -> Table",
            typing: Typing::Sort,
        },
    ],
};
