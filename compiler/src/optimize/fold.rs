//! Constant folding: parameters with values become constants, constants flow into the
//! arguments of the nodes that read them, and operators whose operands are all constants are
//! computed.

use aigrid_lang::ast::{BinaryOp, UnaryOp};
use petgraph::Direction;
use petgraph::visit::EdgeRef;

use super::Context;
use crate::dag::{Arg, Dag, Op};
use crate::hir::{Expr, ExprKind, Literal};
use crate::ty::{Scalar, Type};

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
            let value = coerce(value.clone(), &dag.graph[source].ty);
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
                (Some(a), Some(b)) => typed_binary(*op, a, b, &node.ty),
                _ => None,
            },
            Op::Unary(op) => constant("operand").and_then(|a| unary(*op, &a)),
            _ => None,
        }
        .filter(|value| fits(value, &node.ty));
        if let Some(value) = folded {
            let node = &mut dag.graph[id];
            node.op = Op::Const(value);
            node.args.clear();
        }
    }
}

/// The value of a constant expression (a parameter's default such as `2 * 5`), if it is one.
pub(crate) fn evaluate(expr: &Expr) -> Option<Literal> {
    let value = match &expr.kind {
        ExprKind::Literal(literal) => literal.clone(),
        ExprKind::Binary { op, lhs, rhs } => {
            typed_binary(*op, evaluate(lhs)?, evaluate(rhs)?, &expr.ty)?
        }
        ExprKind::Unary { op, operand } => unary(*op, &evaluate(operand)?)?,
        _ => return None,
    };
    let value = coerce(value, &expr.ty);
    fits(&value, &expr.ty).then_some(value)
}

/// An integer constant of a float type is that float (literals adapt to their place).
pub(crate) fn coerce(value: Literal, ty: &Type) -> Literal {
    match (value, ty.non_null()) {
        (
            Literal::Int(n),
            Type::Scalar(s)
            | Type::Tensor(crate::ty::Tensor { elem: crate::ty::Elem::Scalar(s), .. }),
        ) if s.is_float() => Literal::Float(n as f64),
        (value, _) => value,
    }
}

/// `a op b` computed in the result's type: in floats when it is a float type (or an operand
/// is), else in integers.
fn typed_binary(op: BinaryOp, a: Literal, b: Literal, ty: &Type) -> Option<Literal> {
    let (a, b) = (coerce(a, ty), coerce(b, ty));
    binary(op, &a, &b)
}

/// Whether a folded value fits its type (an `u8` holds 0 to 255): a value that does not is
/// left to the run, which reports the overflow.
fn fits(value: &Literal, ty: &Type) -> bool {
    let Literal::Int(n) = value else { return true };
    let n = i128::from(*n);
    let range = |bits: u32, signed: bool| {
        if signed {
            -(1i128 << (bits - 1)) <= n && n < (1i128 << (bits - 1))
        } else {
            0 <= n && n < (1i128 << bits)
        }
    };
    match ty.non_null() {
        Type::Scalar(Scalar::I8) => range(8, true),
        Type::Scalar(Scalar::I16) => range(16, true),
        Type::Scalar(Scalar::I32) => range(32, true),
        Type::Scalar(Scalar::U8) => range(8, false),
        Type::Scalar(Scalar::U16) => range(16, false),
        Type::Scalar(Scalar::U32) => range(32, false),
        Type::Scalar(Scalar::U64) => n >= 0,
        _ => true,
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
        // Numbers compare by value: `2 == 2.0`.
        (BinaryOp::Eq | BinaryOp::Ne, Int(_) | Float(_), Float(_))
        | (BinaryOp::Eq | BinaryOp::Ne, Float(_), Int(_)) => {
            Bool((float(a)? == float(b)?) == (op == BinaryOp::Eq))
        }
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
