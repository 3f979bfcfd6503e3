//! Dead-node elimination: a node stays if it has an effect (a write, an assert, the result) or
//! something that stays reads its value.

use std::collections::HashSet;

use petgraph::Direction;

use super::Context;
use crate::dag::Dag;

pub(super) fn run(dag: &mut Dag, _context: &mut Context) {
    let mut live: HashSet<_> = dag
        .graph
        .node_indices()
        .filter(|&n| dag.graph[n].op.has_effect() || Some(n) == dag.output)
        .collect();
    let mut stack: Vec<_> = live.iter().copied().collect();
    while let Some(node) = stack.pop() {
        for input in dag.graph.neighbors_directed(node, Direction::Incoming) {
            if live.insert(input) {
                stack.push(input);
            }
        }
    }
    let dead: Vec<_> = dag.graph.node_indices().filter(|n| !live.contains(n)).collect();
    for node in dead {
        dag.graph.remove_node(node);
    }
}
