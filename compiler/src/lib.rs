//! The aigrid compiler. Today it checks programs: [`check`] parses each file, resolves every
//! name in it (items, imports of standard and user packages, parameters and `let`s, the
//! arguments of calls), then type-checks it: tables and their columns, tensors with symbolic
//! dimensions and broadcasting, the signatures of pipelines, `ai`s and standard-library
//! operations, and `sql` steps, planned with DataFusion against their input schemas. Lowering
//! to a DAG, optimisation and binding follow.
//!
//! The compiler does no IO: sources and packages come through a [`World`].
//!
//! ```
//! use aigrid_compiler::{MemoryWorld, check};
//!
//! let mut world = MemoryWorld::new();
//! let file = world.add_file("demo.ag", "pipeline p(x: i64) -> i64 {\n    return y\n}\n");
//! let diagnostics = check(&mut world, &[file]);
//! assert_eq!(diagnostics[0].code, "AG0201");
//! assert_eq!(diagnostics[0].message, "unknown name `y`");
//! ```

mod bind;
mod build;
mod dag;
mod error;
mod hir;
mod lock;
mod lower;
mod optimize;
mod packages;
mod plan;
mod resolve;
mod sql;
pub(crate) mod ty;
mod typeck;
mod verify;
mod world;

use aigrid_lang::{CodeDoc, Diagnostic, FileId};

pub use build::{Build, BuildOptions, NodeDefaults};
pub use lock::{LOCK_VERSION, Lock, LockedAi};
pub use plan::{
    BoundCard, PLAN_FORMAT, PLAN_VERSION, Plan, PlanArg, PlanAttrs, PlanBinding, PlanCall,
    PlanError, PlanNode, PlanOp, PlanParam, PlanPrefer, PlanSource, PlanSpan, PlanStep,
    PlanStepArg, Value,
};
pub use ty::{ValueType, value_type};
pub use world::{Discovery, MemoryWorld, PackageLookup, World};

/// The documentation of the diagnostic codes the compiler reports (`AG02xx`, `AG03xx`, `AG04xx`).
pub const CODES: &[CodeDoc] = error::CODES;

/// Checks `files`: parses each, resolves its names, checks its types and lowers its
/// pipelines. Returns every diagnostic, file by file, in source order within a file.
pub fn check(world: &mut dyn World, files: &[FileId]) -> Vec<Diagnostic> {
    build::check(world, files)
}

/// Builds the plan of a pipeline of `file`, keeping every stage for `--emit`.
pub fn build(world: &mut dyn World, file: FileId, options: &BuildOptions) -> Build {
    build::build(world, file, options)
}
