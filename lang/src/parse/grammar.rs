//! The pest parser generated from `grammar/aigrid.pest`. Nothing of pest leaves `parse`.

#![allow(missing_docs)]

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/aigrid.pest"]
pub(crate) struct Grammar;
