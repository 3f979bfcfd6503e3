//! The aigrid standard library: the packages `std.io`, `std.table`, `std.tensor` and `std.text`,
//! and the prelude (`sql`). Each operation is declared once here: its name, what it does, its
//! signature in `.ag` syntax and the typing rule the compiler applies to its calls.
//!
//! Signatures use the language's own types plus a few names that stand for families of types
//! (see [`Typing`]): `Table` is a table of any columns, `Tensor` a tensor of any element type and
//! shape, `Data` a table or a tensor (or, for `chunk`, a `list<utf8>`), and `T` an element type
//! shared by the tensors of one signature. Symbolic dimensions (`N`, `K`) are shared the same way.
//!
//! ```
//! let io = aigrid_stdlib::package("std.io").unwrap();
//! let read = io.item("read_csv").unwrap();
//! assert_eq!(read.signature, "read_csv(src: path) -> Table");
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
    /// What it does: a first line, then details.
    pub doc: &'static str,
    /// Its signature in `.ag` syntax, without a leading keyword:
    /// `matmul(a: tensor<T, [M, K]>, b: tensor<T, [K, N]>) -> tensor<T, [M, N]>`.
    pub signature: &'static str,
    /// An example of its use, run by the tests.
    pub example: Example,
    /// How the compiler types a call.
    pub typing: Typing,
}

/// An example of an operation: a pipeline that uses it, values for the pipeline's parameters,
/// and what the pipeline returns with them. The compiler's tests type-check every example
/// (with a `use` of the item added) and the executor's tests run it; `aigridc doc` shows it.
#[derive(Debug)]
pub struct Example {
    /// The pipeline, whose declared types say what the operation gives.
    pub pipeline: &'static str,
    /// Values of its parameters, as `aigridc run --param NAME=VALUE` takes them: tensors,
    /// lists and tables as JSON. A relative path is relative to the project's root; the tests
    /// write the files of a `dst` parameter into a scratch directory.
    pub params: &'static [(&'static str, &'static str)],
    /// What it returns with those values, as JSON: tensors as nested arrays, lists as arrays,
    /// tables as arrays of row objects. Floats agree to 1e-5 (relative, or absolute below 1).
    pub returns: &'static str,
}

/// How the compiler types a call of a standard-library operation. Every rule first checks the
/// arguments against the parameters of the signature (names, count, defaults); the rule then
/// says what the types of the arguments must be and what the result is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Typing {
    /// The signature says it all: arguments must match the parameter types, `T` and symbolic
    /// dimensions unify across the call.
    Declared,
    /// A read: a table whose columns are known only from the data; a `let` annotation states them.
    Read,
    /// A write of a table (or, for `Data`, a tensor) to a file; the result is the rows written.
    Write,
    /// The input table, unchanged in its columns (`limit`).
    SameTable,
    /// `filter`: the input table; the predicate is a SQL boolean expression over its columns.
    Filter,
    /// `sort`: the input table; `by` names its columns.
    Sort,
    /// `select`: the listed columns of the input, or named arguments that each become a column
    /// (`name = t.col`, `name = list_or_tensor_with_one_row_per_row`).
    Select,
    /// `join`: the columns of both inputs, the `on` keys once.
    Join,
    /// `group_by`: the key columns, then one column per named argument, a SQL aggregate
    /// (`total = "sum(amount)"`).
    GroupBy,
    /// `sql`: the query planned by DataFusion over the tables passed as named arguments.
    Sql,
    /// `matmul`: the signature applies to the last two dimensions; the dimensions before them
    /// broadcast (`[B, M, K]` by `[K, N]` is `[B, M, N]`).
    Matmul,
    /// An elementwise function of one tensor: the result has the argument's type.
    Elementwise,
    /// An elementwise function of two tensors, broadcast to a common shape.
    Broadcast,
    /// A reduction over `axis` (that dimension is removed), or over everything (a scalar).
    Reduce,
    /// The index of the largest value over `axis`: an `i64` tensor without that dimension.
    ArgReduce,
    /// The `k` largest values (or, for `topk_indices`, their `i64` indices) along the last
    /// axis: the last dimension becomes `k`.
    TopK,
    /// A new shape with as many elements; `-1` stands for the size that makes it fit.
    Reshape,
    /// Two tensors joined along `axis`: the other dimensions must agree.
    Concat,
    /// Rows `start..end` of the leading dimension.
    Slice,
    /// The same shape with another element type, named by a string literal (`"f16"`).
    Cast,
    /// A function of one text, as declared; on a `list<utf8>` it applies to each element and
    /// the result is a list of what it returns.
    Text,
    /// `chunk`: overlapping windows of text; on a table, one row per window of `column`.
    Chunk,
    /// `tokenize`: one row of token ids per text; `length` ids per row.
    Tokenize,
}

impl Typing {
    /// Whether calls may pass named arguments beyond the declared parameters (`sql`'s tables,
    /// `select`'s columns, `group_by`'s aggregates).
    pub fn takes_named_rest(self) -> bool {
        matches!(self, Typing::Sql | Typing::Select | Typing::GroupBy)
    }
}

/// The tensor element types an operation computes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elements {
    /// Any element type: the operation does not compute on the elements (`cast`, I/O, tables).
    Any,
    /// `f32`, `f64` and `i64`: arithmetic, reductions, `matmul` and the operations that move
    /// elements (`reshape`, `concat`, ...).
    Numbers,
    /// `f32` and `f64`: functions whose results are not integers (`exp`, `div`, `softmax`, ...).
    Floats,
}

impl Elements {
    /// The element type names it allows, as `.ag` writes them; empty for [`Elements::Any`].
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Elements::Any => &[],
            Elements::Numbers => &["f32", "f64", "i64"],
            Elements::Floats => &["f32", "f64"],
        }
    }
}

impl Item {
    /// The element types of the tensors it computes on; a tensor of another type is cast first.
    pub fn elements(&self) -> Elements {
        tensor::elements(self.name)
    }
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
pub const PRELUDE: &[Item] = &[Item {
    name: "sql",
    doc: "Runs a SQL query (planned by DataFusion) over the named tables.\n\nEach named argument \
          makes a table available to the query under the argument's name.",
    signature: "sql(query: utf8) -> Table",
    example: Example {
        pipeline: "pipeline example(t: table { id: i64 }) -> table { id: i64 } {\n    return sql(\"SELECT id FROM t WHERE id > 0\", t = t)\n}",
        params: &[("t", r#"[{"id": -1}, {"id": 2}]"#)],
        returns: r#"[{"id": 2}]"#,
    },
    typing: Typing::Sql,
}];

#[cfg(test)]
mod tests {
    use super::{PACKAGES, PRELUDE};

    #[test]
    fn items_are_sorted_unique_and_documented() {
        for package in PACKAGES {
            assert!(package.name.starts_with("std."));
            let names: Vec<_> = package.items.iter().map(|item| item.name).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(names, sorted, "{} items must be sorted and unique", package.name);
        }
        for item in PACKAGES.iter().flat_map(|p| p.items).chain(PRELUDE) {
            let first_line = item.doc.lines().next().unwrap_or_default();
            assert!(first_line.ends_with('.'), "{}: the doc's first line is a sentence", item.name);
            let head = format!("{}(", item.name);
            assert!(item.signature.starts_with(&head), "{}: signature names the item", item.name);
        }
    }
}
