//! Documentation of diagnostic codes, for `aigridc explain` and `spec/errors.md`.

/// The documentation of one diagnostic code.
///
/// `doc` is Markdown under fixed headings: `## What it means`, `## Example` (an `ag` code
/// block that produces the code) and `## How to fix`.
#[derive(Clone, Copy, Debug)]
pub struct CodeDoc {
    /// The code, e.g. `AG0101`.
    pub code: &'static str,
    /// A short name of the problem, e.g. "unexpected token".
    pub title: &'static str,
    /// The Markdown documentation.
    pub doc: &'static str,
}

/// Finds the documentation of `code` (case-insensitive) among `tables`.
pub fn lookup<'a>(tables: &[&'a [CodeDoc]], code: &str) -> Option<&'a CodeDoc> {
    tables.iter().flat_map(|table| table.iter()).find(|doc| doc.code.eq_ignore_ascii_case(code))
}
