//! Constant folding: parameters with values become constants, constants flow into the
//! arguments of the nodes that read them, and operators whose operands are all constants are
//! computed.

use aigrid_lang::ast::{BinaryOp, UnaryOp};
use petgraph::Direction;
use petgraph::visit::EdgeRef;

use super::Context;
use crate::dag::{Arg, Dag, Op};
use crate::hir::Literal;

pub(super) fn run(dag: &mut Dag, context: &mut Context) {
    for node in dag.graph.node_weights_mut() {
        if let Op::Param(name) = &node.op
            && let Some(value) = context.params.get(name)
        {
            node.op = Op::Const(value.clone());
        }
    }
    for id in dag.order() {
        // Constant inputs become constant arguments.
        let edges: Vec<_> = dag
            .graph
            .edges_directed(id, Direction::Incoming)
            .map(|e| (e.id(), e.source(), *e.weight()))
            .collect();
        for (edge, source, port) in edges {
            let Op::Const(value) = &dag.graph[source].op else { continue };
            if !dag.graph[source].attrs.is_empty() {
                continue;
            }
            let value = value.clone();
            let node = &mut dag.graph[id];
            for (_, arg) in &mut node.args {
                if *arg == Arg::Input(port) {
                    *arg = Arg::Const(value.clone());
                }
            }
            dag.graph.remove_edge(edge);
        }
        // Operators on constants are computed.
        let node = &dag.graph[id];
        let constant = |name: &str| {
            node.args.iter().find(|(n, _)| n == name).and_then(|(_, arg)| match arg {
                Arg::Const(value) => Some(value.clone()),
                _ => None,
            })
        };
        let folded = match &node.op {
            Op::Binary(op) => match (constant("lhs"), constant("rhs")) {
                (Some(a), Some(b)) => binary(*op, &a, &b),
                _ => None,
            },
            Op::Unary(op) => constant("operand").and_then(|a| unary(*op, &a)),
            _ => None,
        };
        if let Some(value) = folded {
            let node = &mut dag.graph[id];
            node.op = Op::Const(value);
            node.args.clear();
        }
    }
}

/// `a op b` on constants, when it is defined (no overflow, no division by zero).
fn binary(op: BinaryOp, a: &Literal, b: &Literal) -> Option<Literal> {
    use Literal::{Bool, Float, Int, Str};
    Some(match (op, a, b) {
        (BinaryOp::Add, Int(x), Int(y)) => Int(x.checked_add(*y)?),
        (BinaryOp::Sub, Int(x), Int(y)) => Int(x.checked_sub(*y)?),
        (BinaryOp::Mul, Int(x), Int(y)) => Int(x.checked_mul(*y)?),
        (BinaryOp::Div, Int(x), Int(y)) => Int(x.checked_div(*y)?),
        (BinaryOp::Rem, Int(x), Int(y)) => Int(x.checked_rem(*y)?),
        (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div, _, _) => {
            let (x, y) = (float(a)?, float(b)?);
            let value = match op {
                BinaryOp::Add => x + y,
                BinaryOp::Sub => x - y,
                BinaryOp::Mul => x * y,
                _ => x / y,
            };
            if !value.is_finite() {
                return None;
            }
            Float(value)
        }
        (BinaryOp::And, Bool(x), Bool(y)) => Bool(*x && *y),
        (BinaryOp::Or, Bool(x), Bool(y)) => Bool(*x || *y),
        (BinaryOp::Eq, _, _) => Bool(a == b),
        (BinaryOp::Ne, _, _) => Bool(a != b),
        (BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge, _, _) => {
            let ordering = match (a, b) {
                (Int(x), Int(y)) => x.cmp(y),
                (Str(x), Str(y)) => x.cmp(y),
                _ => float(a)?.partial_cmp(&float(b)?)?,
            };
            Bool(match op {
                BinaryOp::Lt => ordering.is_lt(),
                BinaryOp::Le => ordering.is_le(),
                BinaryOp::Gt => ordering.is_gt(),
                _ => ordering.is_ge(),
            })
        }
        _ => return None,
    })
}

fn unary(op: UnaryOp, a: &Literal) -> Option<Literal> {
    Some(match (op, a) {
        (UnaryOp::Not, Literal::Bool(x)) => Literal::Bool(!x),
        (UnaryOp::Neg, Literal::Int(x)) => Literal::Int(x.checked_neg()?),
        (UnaryOp::Neg, Literal::Float(x)) => Literal::Float(-x),
        _ => return None,
    })
}

fn float(literal: &Literal) -> Option<f64> {
    match literal {
        Literal::Float(x) => Some(*x),
        Literal::Int(n) => Some(*n as f64),
        _ => None,
    }
}
