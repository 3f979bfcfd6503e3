//! `std.table`: relational operations on tables.

use crate::{Item, Package};

/// The `std.table` package.
pub(crate) const PACKAGE: Package = Package {
    name: "std.table",
    doc: "Relational operations on tables, run by DataFusion.",
    items: &[
        Item { name: "count", doc: "The number of rows of a table." },
        Item { name: "filter", doc: "The rows for which a boolean column expression is true." },
        Item { name: "group_by", doc: "Groups rows by key columns and aggregates the others." },
        Item { name: "join", doc: "Joins two tables on key columns." },
        Item { name: "limit", doc: "The first n rows of a table." },
        Item { name: "select", doc: "Picks, renames or computes columns." },
        Item { name: "sort", doc: "Sorts rows by columns." },
    ],
};
