//! The aigrid standard library: the packages `std.io`, `std.table`, `std.tensor` and `std.text`,
//! each item declared once here with a one-line description.
//!
//! Today the compiler reads the item names (to resolve `use std.io.{read_csv}` and `t.matmul`);
//! signatures, examples and kernels are added to these same declarations as type checking and
//! the executor land.
//!
//! ```
//! let io = aigrid_stdlib::package("std.io").unwrap();
//! assert!(io.item("read_csv").is_some());
//! ```

mod io;
mod table;
mod tensor;
mod text;

/// One standard-library package.
#[derive(Debug)]
pub struct Package {
    /// Its name, e.g. `std.io`.
    pub name: &'static str,
    /// What it is for.
    pub doc: &'static str,
    /// Its items, in alphabetical order.
    pub items: &'static [Item],
}

/// One item of a standard-library package: an operation.
#[derive(Debug)]
pub struct Item {
    /// Its name, e.g. `read_csv`.
    pub name: &'static str,
    /// What it does, in one line.
    pub doc: &'static str,
}

impl Package {
    /// The item called `name`, if the package has one.
    pub fn item(&self, name: &str) -> Option<&'static Item> {
        self.items.iter().find(|item| item.name == name)
    }
}

/// Every standard-library package.
pub const PACKAGES: &[Package] = &[io::PACKAGE, table::PACKAGE, tensor::PACKAGE, text::PACKAGE];

/// The standard-library package called `name` (e.g. `std.tensor`).
pub fn package(name: &str) -> Option<&'static Package> {
    PACKAGES.iter().find(|package| package.name == name)
}

/// Names in scope in every file without a `use`: `sql(query, name = table, ...)`.
pub const PRELUDE: &[Item] =
    &[Item { name: "sql", doc: "Runs a SQL query (planned by DataFusion) over the named tables." }];

#[cfg(test)]
mod tests {
    use super::PACKAGES;

    #[test]
    fn items_are_sorted_unique_and_documented() {
        for package in PACKAGES {
            assert!(package.name.starts_with("std."));
            let names: Vec<_> = package.items.iter().map(|item| item.name).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(names, sorted, "{} items must be sorted and unique", package.name);
            assert!(package.items.iter().all(|item| item.doc.ends_with('.')));
        }
    }
}
