//! The verifier: the invariants every pass keeps. The graph is acyclic, every argument that
//! names an input port has exactly one edge into it and every edge feeds such an argument, and
//! every edge carries a value of the type its consumer was checked to accept.

use petgraph::Direction;
use petgraph::visit::EdgeRef;

use crate::dag::{Arg, Dag, FusedArg, Op, Port};
use crate::typeck::fits;

/// A broken invariant, found after a pass: a bug in that pass.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("internal compiler error: after `{pass}`, {reason}")]
#[diagnostic(code(AG0499), help("this is a bug in aigrid, not in your program; please report it"))]
pub(crate) struct VerifyError {
    pub pass: &'static str,
    pub reason: String,
}

pub(crate) fn verify(dag: &Dag, pass: &'static str) -> Result<(), VerifyError> {
    let fail = |reason: String| Err(VerifyError { pass, reason });
    if petgraph::algo::is_cyclic_directed(&dag.graph) {
        return fail("the graph has a cycle".into());
    }
    if let Some(output) = dag.output
        && !dag.graph.contains_node(output)
    {
        return fail("the output node is gone".into());
    }
    for node_id in dag.graph.node_indices() {
        let node = &dag.graph[node_id];
        let label = node.op.label();
        let mut ports: Vec<Port> = node
            .args
            .iter()
            .filter_map(|(_, arg)| match arg {
                Arg::Input(port) => Some(*port),
                _ => None,
            })
            .collect();
        if let Op::Fused(steps) = &node.op {
            for (index, step) in steps.iter().enumerate() {
                for (_, arg) in &step.args {
                    match arg {
                        FusedArg::Input(port) => ports.push(*port),
                        FusedArg::Step(s) if *s >= index => {
                            return fail(format!("step {index} of `{label}` reads step {s}"));
                        }
                        _ => {}
                    }
                }
            }
        }
        // Nodes have few ports: a list beats a hash map here.
        let mut edges: Vec<(Port, usize)> = Vec::new();
        for edge in dag.graph.edges_directed(node_id, Direction::Incoming) {
            let port = *edge.weight();
            match edges.iter_mut().find(|(p, _)| *p == port) {
                Some((_, count)) => *count += 1,
                None => edges.push((port, 1)),
            }
            if !ports.contains(&port) {
                return fail(format!(
                    "an edge feeds port {port} of `{label}`, which no argument reads"
                ));
            }
            let source = &dag.graph[edge.source()];
            let Some(expected) = node.expects.get(port as usize) else {
                return fail(format!("port {port} of `{label}` has no expected type"));
            };
            if !fits(expected, &source.ty) {
                return fail(format!(
                    "`{}` gives `{}` to port {port} of `{label}`, which takes `{expected}`",
                    source.op.label(),
                    source.ty
                ));
            }
        }
        for port in ports {
            let count = edges.iter().find(|(p, _)| *p == port).map_or(0, |(_, n)| *n);
            if count != 1 {
                return fail(format!("port {port} of `{label}` has {count} edges"));
            }
        }
    }
    Ok(())
}
