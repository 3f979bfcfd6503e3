//! The pipeline as a dataflow graph: one node per operation, edges from producers to the
//! arguments that consume them. Lowering builds it from the typed bodies (pipelines inlined,
//! their call chain kept on each node), the optimiser's passes rewrite it, and the plan is
//! written from it.

use std::fmt::Write as _;

use aigrid_lang::Span;
use aigrid_lang::ast::{BinaryOp, UnaryOp};
use ecow::EcoString;
use petgraph::Direction;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;

use crate::hir::{Attrs, Literal};
use crate::ty::Type;

/// A node's id in the graph.
pub(crate) type NodeId = NodeIndex<u32>;

/// The graph: nodes, and edges labelled with the consumer's input port.
#[derive(Clone, Debug, Default)]
pub(crate) struct Dag {
    pub graph: StableDiGraph<Node, Port, u32>,
    /// The entry pipeline's result, if it has one.
    pub output: Option<NodeId>,
}

/// The input port an edge feeds.
pub(crate) type Port = u32;

/// One operation.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub op: Op,
    /// Arguments by name: an input port, or a constant.
    pub args: Vec<(EcoString, Arg)>,
    /// Per input port, the type the operation was checked to accept there.
    pub expects: Vec<Type>,
    /// The type of the node's value.
    pub ty: Type,
    /// Whether `ty` is a declared type (a `let` annotation, a result type), which the runtime
    /// enforces on the value, rather than one the checker inferred.
    pub declared: bool,
    pub attrs: Attrs,
    /// The `let` that bound the value, if one did.
    pub name: Option<EcoString>,
    pub span: Span,
    /// The pipeline calls it was inlined through, outermost first: `(pipeline, call site)`.
    pub origin: Vec<(EcoString, Span)>,
}

/// An argument of a node.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Arg {
    /// The value arriving at this input port.
    Input(Port),
    Const(Literal),
    /// A list of constants (`["id", "body"]`, `[-1, 384]`).
    List(Vec<Literal>),
}

/// What a node does.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Op {
    /// A parameter of the entry pipeline: given when the plan runs.
    Param(EcoString),
    Const(Literal),
    /// A list of its inputs.
    List,
    /// The column `name` of its input table, as a list.
    Column(EcoString),
    Binary(BinaryOp),
    Unary(UnaryOp),
    /// A standard-library operation: its package (`std.tensor`) and name (`matmul`).
    Std {
        package: &'static str,
        name: &'static str,
    },
    /// A call of the `ai` requirement `name`, bound to grid AIs through discovery.
    Ai(Requirement),
    /// A query planned by DataFusion; its table arguments are named as in the query.
    Sql(String),
    /// A chain of elementwise tensor operations run as one pass over memory.
    Fused(Vec<FusedStep>),
    /// The value of its input, checked against the node's (declared) type when it runs.
    Check,
    /// The entry pipeline's result.
    Output,
    /// A test's assertion.
    Assert(Option<String>),
}

/// An `ai` requirement, as discovery reads it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Requirement {
    pub name: EcoString,
    /// `name(params) -> ret`, in `.ag` syntax.
    pub signature: String,
    /// The `where` predicate, in `.ag` syntax.
    pub predicate: Option<String>,
    /// `prefer` keys: `(attribute, descending)`.
    pub prefer: Vec<(EcoString, bool)>,
    pub fallback: u32,
}

/// One step of a fused chain: an elementwise operation whose arguments are the chain's inputs
/// or earlier steps' results.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FusedStep {
    /// The `std.tensor` operation.
    pub op: &'static str,
    pub args: Vec<(EcoString, FusedArg)>,
}

/// An argument of a fused step.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FusedArg {
    /// An input port of the fused node.
    Input(Port),
    /// The result of step `n`.
    Step(usize),
    Const(Literal),
}

impl Op {
    /// A short name for graphs and dumps.
    pub(crate) fn label(&self) -> String {
        match self {
            Op::Param(name) => format!("param {name}"),
            Op::Const(literal) => literal.show(),
            Op::List => "list".into(),
            Op::Column(name) => format!(".{name}"),
            Op::Binary(op) => op.as_str().into(),
            Op::Unary(UnaryOp::Not) => "!".into(),
            Op::Unary(UnaryOp::Neg) => "neg".into(),
            Op::Std { package, name } => format!("{package}.{name}"),
            Op::Ai(requirement) => format!("ai {}", requirement.name),
            Op::Sql(_) => "sql".into(),
            Op::Fused(steps) => {
                let steps: Vec<String> = steps
                    .iter()
                    .map(|step| {
                        let args: Vec<String> = step
                            .args
                            .iter()
                            .map(|(name, arg)| match arg {
                                FusedArg::Input(port) => format!("{name} = in{port}"),
                                FusedArg::Step(s) => format!("{name} = step{s}"),
                                FusedArg::Const(value) => format!("{name} = {}", value.show()),
                            })
                            .collect();
                        format!("{}({})", step.op, args.join(", "))
                    })
                    .collect();
                format!("fused[{}]", steps.join(" > "))
            }
            Op::Check => "check".into(),
            Op::Output => "output".into(),
            Op::Assert(_) => "assert".into(),
        }
    }

    /// Whether running the node does something besides computing its value.
    pub(crate) fn has_effect(&self) -> bool {
        match self {
            Op::Std { package, name } => *package == "std.io" && name.starts_with("write_"),
            Op::Output | Op::Assert(_) => true,
            _ => false,
        }
    }
}

impl Dag {
    /// The producer of each input port of `node`, by port.
    pub(crate) fn inputs(&self, node: NodeId) -> Vec<(Port, NodeId)> {
        let mut inputs: Vec<(Port, NodeId)> = self
            .graph
            .edges_directed(node, Direction::Incoming)
            .map(|e| (*e.weight(), e.source()))
            .collect();
        inputs.sort_by_key(|(port, source)| (*port, source.index()));
        inputs
    }

    /// The nodes that consume `node`'s value.
    pub(crate) fn consumers(&self, node: NodeId) -> Vec<NodeId> {
        let mut out: Vec<NodeId> =
            self.graph.neighbors_directed(node, Direction::Outgoing).collect();
        out.sort();
        out.dedup();
        out
    }

    /// The nodes in a deterministic topological order (ties by id).
    pub(crate) fn order(&self) -> Vec<NodeId> {
        let mut indegree: std::collections::HashMap<NodeId, usize> = self
            .graph
            .node_indices()
            .map(|n| (n, self.graph.edges_directed(n, Direction::Incoming).count()))
            .collect();
        let mut ready: std::collections::BTreeSet<NodeId> =
            indegree.iter().filter(|(_, d)| **d == 0).map(|(n, _)| *n).collect();
        let mut order = Vec::with_capacity(indegree.len());
        while let Some(node) = ready.pop_first() {
            order.push(node);
            for edge in self.graph.edges_directed(node, Direction::Outgoing) {
                if let Some(d) = indegree.get_mut(&edge.target()) {
                    *d -= 1;
                    if *d == 0 {
                        ready.insert(edge.target());
                    }
                }
            }
        }
        order
    }

    /// Makes every consumer of `from` read `to` instead.
    pub(crate) fn redirect(&mut self, from: NodeId, to: NodeId) {
        let edges: Vec<_> = self
            .graph
            .edges_directed(from, Direction::Outgoing)
            .map(|e| (e.id(), e.target(), *e.weight()))
            .collect();
        for (edge, target, port) in edges {
            self.graph.remove_edge(edge);
            self.graph.add_edge(to, target, port);
        }
        if self.output == Some(from) {
            self.output = Some(to);
        }
    }

    /// Adds `node` fed by `inputs` (by port) in place of the nodes `replaced`: the consumers of
    /// `replaced[0]` read the new node, and every replaced node is removed. Returns the new node.
    pub(crate) fn replace(&mut self, replaced: &[NodeId], node: Node, inputs: &[NodeId]) -> NodeId {
        let new = self.graph.add_node(node);
        for (port, source) in inputs.iter().enumerate() {
            self.graph.add_edge(*source, new, port as Port);
        }
        if let Some(&first) = replaced.first() {
            self.redirect(first, new);
        }
        for &old in replaced {
            self.graph.remove_node(old);
        }
        new
    }

    /// The graph as text, one node per line in topological order: `--emit dag`.
    pub(crate) fn show(&self) -> String {
        let order = self.order();
        let number: std::collections::HashMap<NodeId, usize> =
            order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut out = String::new();
        for node_id in &order {
            let node = &self.graph[*node_id];
            let inputs = self.inputs(*node_id);
            let args: Vec<String> = node
                .args
                .iter()
                .map(|(name, arg)| {
                    let value = match arg {
                        Arg::Input(port) => inputs
                            .iter()
                            .find(|(p, _)| p == port)
                            .map_or("?".into(), |(_, source)| format!("%{}", number[source])),
                        Arg::Const(literal) => literal.show(),
                        Arg::List(items) => {
                            let items: Vec<String> = items.iter().map(Literal::show).collect();
                            format!("[{}]", items.join(", "))
                        }
                    };
                    if name.is_empty() { value } else { format!("{name} = {value}") }
                })
                .collect();
            let _ = write!(
                out,
                "%{} = {}({}): {}",
                number[node_id],
                node.op.label(),
                args.join(", "),
                node.ty
            );
            if let Some(name) = &node.name {
                let _ = write!(out, "  // {name}");
            }
            if !node.origin.is_empty() {
                let chain: Vec<&str> = node.origin.iter().map(|(p, _)| p.as_str()).collect();
                let _ = write!(out, "  [in {}]", chain.join(" > "));
            }
            if node.declared {
                out.push_str("  (declared)");
            }
            if !node.attrs.is_empty() {
                let _ = write!(out, "  {}", node.attrs);
            }
            if let Op::Sql(query) = &node.op {
                let _ = write!(out, "\n    {}", query.trim().replace('\n', "\n    "));
            }
            out.push('\n');
        }
        out
    }
}
