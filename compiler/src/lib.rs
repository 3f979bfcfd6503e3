//! The aigrid compiler. Today it checks names and SQL: [`check`] parses each file, resolves
//! every name in it (items, imports of standard and user packages, parameters and `let`s, the
//! arguments of calls to pipelines and `ai`s), and plans its `sql` steps with DataFusion
//! against the declared table schemas. Type checking, lowering to a DAG, optimisation and
//! binding follow.
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
mod world;

use aigrid_lang::{CodeDoc, Diagnostic, FileId};

pub use world::{MemoryWorld, PackageLookup, World};

/// The documentation of the diagnostic codes the compiler reports (`AG02xx`, `AG03xx`).
pub const CODES: &[CodeDoc] = error::CODES;

/// Checks `files`: parses each and, when it parsed, resolves its names. Returns every
/// diagnostic, file by file, in source order within a file.
pub fn check(world: &mut dyn World, files: &[FileId]) -> Vec<Diagnostic> {
    let mut packages = packages::Packages::new(world);
    let mut diagnostics = Vec::new();
    for &file in files {
        let Some(source) = packages.world().source(file) else { continue };
        let parsed = aigrid_lang::parse(file, source.text());
        diagnostics.extend(parsed.diagnostics.iter().cloned());
        if !parsed.is_ok() {
            // Names are not checked in a file with syntax errors: its broken items are missing,
            // and every use of them would be reported as unknown.
            continue;
        }
        let errors = resolve::Resolver::new(file, &mut packages).resolve(&parsed.module);
        let mut found: Vec<Diagnostic> =
            errors.iter().map(|e| Diagnostic::from_error(file, e)).collect();
        // SQL is planned once names are sound: an unknown input was reported already.
        if !found.iter().any(Diagnostic::is_error)
            && let Some(source) = packages.world().source(file)
        {
            let sql = sql::check(&parsed.module, source.text());
            found.extend(sql.iter().map(|e| Diagnostic::from_error(file, e)));
        }
        found.sort_by_key(|d| d.primary_span().map_or(0, |s| s.start));
        diagnostics.extend(found);
    }
    diagnostics
}
