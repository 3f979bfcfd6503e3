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
        let same = bucket.iter().copied().find(|&other| {
            let other = &dag.graph[other];
            other.op == node.op
                && other.args == node.args
                && other.attrs == node.attrs
                && other.ty == node.ty
        });
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
