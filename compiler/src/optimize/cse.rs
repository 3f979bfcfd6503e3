//! Common-subexpression elimination: two nodes doing the same operation with the same
//! arguments, inputs, attributes and type compute the same value; the later one is dropped and
//! its consumers read the earlier one. Nodes with effects (writes, asserts) and parameters are
//! never merged.

use std::collections::HashMap;
use std::mem::Discriminant;

use super::Context;
use crate::dag::{Dag, NodeId, Op, Port};

/// Nodes that may compute the same value: same kind of operation, same inputs.
type Bucket = (Discriminant<Op>, Vec<(Port, NodeId)>);

pub(super) fn run(dag: &mut Dag, _context: &mut Context) {
    // Candidates are bucketed by kind of operation and inputs, then compared in full.
    let mut seen: HashMap<Bucket, Vec<NodeId>> = HashMap::new();
    for id in dag.order() {
        let node = &dag.graph[id];
        if node.op.has_effect() || matches!(node.op, Op::Param(_)) {
            continue;
        }
        let key = (std::mem::discriminant(&node.op), dag.inputs(id));
        let bucket = seen.entry(key).or_default();
        let same = bucket.iter().copied().find(|&other| same(&dag.graph[other], node));
        match same {
            Some(first) => {
                if dag.graph[first].name.is_none() {
                    dag.graph[first].name = dag.graph[id].name.clone();
                }
                dag.redirect(id, first);
                dag.graph.remove_node(id);
            }
            None => bucket.push(id),
        }
    }
}

/// Whether two nodes compute the same value from the same inputs. Float constants compare by
/// their bits (`0.0` and `-0.0` differ), which `==` on floats would not do.
fn same(a: &crate::dag::Node, b: &crate::dag::Node) -> bool {
    a.attrs == b.attrs
        && a.ty == b.ty
        && a.declared == b.declared
        && a.op == b.op
        && a.args == b.args
        && float_bits(a) == float_bits(b)
}

/// The bits of every float constant of a node, in order.
fn float_bits(node: &crate::dag::Node) -> Vec<u64> {
    use crate::dag::{Arg, FusedArg};
    use crate::hir::Literal;
    let mut bits = Vec::new();
    let mut literal = |l: &Literal| {
        if let Literal::Float(x) = l {
            bits.push(x.to_bits());
        }
    };
    match &node.op {
        Op::Const(l) => literal(l),
        Op::Fused(steps) => {
            for (_, arg) in steps.iter().flat_map(|s| &s.args) {
                if let FusedArg::Const(l) = arg {
                    literal(l);
                }
            }
        }
        _ => {}
    }
    for (_, arg) in &node.args {
        match arg {
            Arg::Const(l) => literal(l),
            Arg::List(items) => items.iter().for_each(&mut literal),
            Arg::Input(_) => {}
        }
    }
    bits
}
