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

mod error;
mod packages;
mod resolve;
mod sql;
mod ty;
mod typeck;
mod world;

use aigrid_lang::{CodeDoc, Diagnostic, FileId};

pub use world::{MemoryWorld, PackageLookup, World};

/// The documentation of the diagnostic codes the compiler reports (`AG02xx`, `AG03xx`, `AG04xx`).
pub const CODES: &[CodeDoc] = error::CODES;

/// Checks `files`: parses each and, when it parsed, resolves its names. Returns every
/// diagnostic, file by file, in source order within a file.
pub fn check(world: &mut dyn World, files: &[FileId]) -> Vec<Diagnostic> {
    let mut packages = packages::Packages::new(world);
    let mut diagnostics = Vec::new();
    for &file in files {
        let Some(source) = packages.world().source(file) else { continue };
        let text = source.text().to_owned();
        let parsed = aigrid_lang::parse(file, &text);
        diagnostics.extend(parsed.diagnostics.iter().cloned());
        if !parsed.is_ok() {
            // Names are not checked in a file with syntax errors: its broken items are missing,
            // and every use of them would be reported as unknown.
            continue;
        }
        let module = std::rc::Rc::new(parsed.module);
        packages.insert_module(file, module.clone());
        let errors = resolve::Resolver::new(file, &mut packages).resolve(&module);
        let mut found: Vec<Diagnostic> =
            errors.iter().map(|e| Diagnostic::from_error(file, e)).collect();
        // Types are checked once names are sound: a misspelt name was reported already.
        if !found.iter().any(Diagnostic::is_error) {
            let problems = typeck::check(&mut packages, file, &module, &text);
            found.extend(problems.iter().map(|problem| match problem {
                typeck::Problem::Type(e) => Diagnostic::from_error(file, e),
                typeck::Problem::Sql(e) => Diagnostic::from_error(file, e),
            }));
        }
        found.sort_by_key(|d| d.primary_span().map_or(0, |s| s.start));
        diagnostics.extend(found);
    }
    diagnostics
}
