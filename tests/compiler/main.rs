//! The compiler, end to end on the repository's files: diagnostics of the UI programs, plans
//! and passes by snapshot, and the documents in `spec/`. One test binary, so that DataFusion's
//! SQL planner is linked once for all three.

#[path = "../common/mod.rs"]
mod common;
mod plans;
mod spec;
mod ui;
