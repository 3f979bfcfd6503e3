//! The optimiser: named passes that rewrite the [`Dag`], in the order of [`PASSES`], with the
//! verifier run after each one.

mod cse;
mod dead;
mod fold;
mod fuse;
mod merge_sql;

use std::collections::HashMap;

use ecow::EcoString;

use crate::dag::Dag;
use crate::hir::Literal;
use crate::sql::SqlPlanner;
use crate::verify::{VerifyError, verify};

pub(crate) use fold::{coerce, evaluate};

/// What passes know besides the graph.
pub(crate) struct Context {
    /// The values of the entry pipeline's parameters (`--param`, else defaults).
    pub params: HashMap<EcoString, Literal>,
    /// Plans merged queries, to check that merging kept their meaning.
    pub sql: SqlPlanner,
}

/// One rewrite of the graph.
pub(crate) struct Pass {
    pub name: &'static str,
    pub run: fn(&mut Dag, &mut Context),
}

/// The passes, in the order they run.
pub(crate) const PASSES: &[Pass] = &[
    // Parameters with values become constants and operators on constants are computed, so that
    // the passes after see the sizes, names and queries they depend on.
    Pass { name: "fold-constants", run: fold::run },
    // Before dead nodes: merging duplicates can leave nodes unused.
    Pass { name: "eliminate-common-subexpressions", run: cse::run },
    // Values nothing needs: neither the result, a write, an assert nor any of their inputs.
    Pass { name: "eliminate-dead-nodes", run: dead::run },
    // Chains of elementwise tensor operations become one node: one pass over memory.
    Pass { name: "fuse-elementwise", run: fuse::run },
    // A query read only by the next query becomes a common table expression of it: one
    // DataFusion plan, optimised as a whole.
    Pass { name: "merge-sql", run: merge_sql::run },
];

/// Runs every pass over `dag`, verifying the graph after each; `observe` sees the graph after
/// each pass, by the pass's name.
pub(crate) fn optimize(
    dag: &mut Dag,
    context: &mut Context,
    mut observe: impl FnMut(&str, &Dag),
) -> Result<(), VerifyError> {
    verify(dag, "lower")?;
    for pass in PASSES {
        (pass.run)(dag, context);
        verify(dag, pass.name)?;
        observe(pass.name, dag);
    }
    Ok(())
}
