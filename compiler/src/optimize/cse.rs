//! Common-subexpression elimination: two nodes doing the same operation with the same
//! arguments, inputs and attributes compute the same value; the later one is dropped and its
//! consumers read the earlier one. Nodes with effects (writes, asserts) and parameters are
//! never merged.

use std::collections::HashMap;

use super::Context;
use crate::dag::{Dag, Op};

pub(super) fn run(dag: &mut Dag, _context: &mut Context) {
    let mut seen: HashMap<String, crate::dag::NodeId> = HashMap::new();
    for id in dag.order() {
        let node = &dag.graph[id];
        if node.op.has_effect() || matches!(node.op, Op::Param(_)) {
            continue;
        }
        let inputs = dag.inputs(id);
        let key =
            format!("{:?}|{:?}|{:?}|{:?}|{:?}", node.op, node.args, node.attrs, node.ty, inputs);
        match seen.get(&key) {
            Some(&first) => {
                if dag.graph[first].name.is_none() {
                    dag.graph[first].name = dag.graph[id].name.clone();
                }
                dag.redirect(id, first);
                dag.graph.remove_node(id);
            }
            None => {
                seen.insert(key, id);
            }
        }
    }
}
