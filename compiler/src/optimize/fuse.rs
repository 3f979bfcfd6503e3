//! Fusion of elementwise tensor operations: when the only consumer of an elementwise node is
//! another elementwise node, the two become one fused node whose steps run in one pass over
//! memory. Repeated, whole chains (`exp(x) |> scale(2.0) |> relu`) become one node.

use aigrid_stdlib::Typing;
use ecow::EcoString;

use super::Context;
use crate::dag::{Arg, Dag, FusedArg, FusedStep, Node, NodeId, Op, Port};

pub(super) fn run(dag: &mut Dag, _context: &mut Context) {
    // One sweep in topological order: each chain is fused from its first node on.
    for node in dag.order() {
        let mut current = node;
        while dag.graph.contains_node(current) {
            let Some(consumer) = fusable_consumer(dag, current) else { break };
            current = fuse(dag, current, consumer);
        }
    }
}

/// The steps of an elementwise node, or `None` for another node.
fn steps(node: &Node) -> Option<Vec<FusedStep>> {
    match &node.op {
        Op::Fused(steps) => Some(steps.clone()),
        Op::Std { package: "std.tensor", name } => {
            let item = aigrid_stdlib::package("std.tensor")?.item(name)?;
            if !matches!(item.typing, Typing::Elementwise | Typing::Broadcast) {
                return None;
            }
            let args = node
                .args
                .iter()
                .map(|(name, arg)| {
                    let arg = match arg {
                        Arg::Input(port) => FusedArg::Input(*port),
                        Arg::Const(value) => FusedArg::Const(value.clone()),
                        Arg::List(_) => return None,
                    };
                    Some((name.clone(), arg))
                })
                .collect::<Option<Vec<_>>>()?;
            Some(vec![FusedStep { op: item.name, args }])
        }
        _ => None,
    }
}

/// The only reader of `producer`, if both are elementwise and can fuse.
fn fusable_consumer(dag: &Dag, producer: NodeId) -> Option<NodeId> {
    let node = &dag.graph[producer];
    // A declared type is checked on the producer's own value, and attributes (retries, a
    // cache, null on error) belong to one step: such nodes keep their edges.
    if !node.attrs.is_empty()
        || node.declared
        || Some(producer) == dag.output
        || steps(node).is_none()
    {
        return None;
    }
    match dag.consumers(producer).as_slice() {
        [consumer]
            if steps(&dag.graph[*consumer]).is_some() && dag.graph[*consumer].attrs.is_empty() =>
        {
            Some(*consumer)
        }
        _ => None,
    }
}

/// Fuses `producer` into its only reader `consumer`; returns the fused node.
fn fuse(dag: &mut Dag, producer: NodeId, consumer: NodeId) -> NodeId {
    let (Some(first), Some(second)) = (steps(&dag.graph[producer]), steps(&dag.graph[consumer]))
    else {
        return consumer;
    };
    let producer_inputs = dag.inputs(producer);
    let consumer_inputs = dag.inputs(consumer);
    // New ports: the producer's inputs, then the consumer's other inputs.
    let mut inputs: Vec<NodeId> = Vec::new();
    let mut expects = Vec::new();
    let mut producer_port = std::collections::HashMap::new();
    for (port, source) in &producer_inputs {
        producer_port.insert(*port, inputs.len() as Port);
        inputs.push(*source);
        expects.push(
            dag.graph[producer]
                .expects
                .get(*port as usize)
                .cloned()
                .unwrap_or(crate::ty::Type::Unknown),
        );
    }
    let mut consumer_port = std::collections::HashMap::new();
    for (port, source) in &consumer_inputs {
        if *source == producer {
            continue;
        }
        consumer_port.insert(*port, inputs.len() as Port);
        inputs.push(*source);
        expects.push(
            dag.graph[consumer]
                .expects
                .get(*port as usize)
                .cloned()
                .unwrap_or(crate::ty::Type::Unknown),
        );
    }
    let from_producer: Vec<Port> =
        consumer_inputs.iter().filter(|(_, s)| *s == producer).map(|(p, _)| *p).collect();
    let last = first.len() - 1;
    let mut fused: Vec<FusedStep> = first
        .into_iter()
        .map(|step| FusedStep {
            op: step.op,
            args: step
                .args
                .into_iter()
                .map(|(name, arg)| {
                    let arg = match arg {
                        FusedArg::Input(p) => {
                            FusedArg::Input(producer_port.get(&p).copied().unwrap_or(p))
                        }
                        other => other,
                    };
                    (name, arg)
                })
                .collect(),
        })
        .collect();
    let offset = fused.len();
    fused.extend(second.into_iter().map(|step| {
        FusedStep {
            op: step.op,
            args: step
                .args
                .into_iter()
                .map(|(name, arg)| {
                    let arg = match arg {
                        FusedArg::Input(p) if from_producer.contains(&p) => FusedArg::Step(last),
                        FusedArg::Input(p) => {
                            FusedArg::Input(consumer_port.get(&p).copied().unwrap_or(p))
                        }
                        FusedArg::Step(s) => FusedArg::Step(s + offset),
                        other => other,
                    };
                    (name, arg)
                })
                .collect(),
        }
    }));
    let old = &dag.graph[consumer];
    let mut node = Node::new(Op::Fused(fused), old.ty.clone(), old.span, &old.origin);
    node.declared = old.declared;
    node.name = old.name.clone();
    node.expects = expects;
    node.args = (0..inputs.len())
        .map(|i| (EcoString::from(i.to_string()), Arg::Input(i as Port)))
        .collect();
    dag.replace(&[consumer, producer], node, &inputs)
}
