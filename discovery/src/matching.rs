//! Matching cards to requirements: the `where` predicate evaluated against each card, the
//! `prefer` ranking, `fallback` candidates kept, and, when nothing matches, the funnel that says
//! which clause dropped which cards and why.

use std::cmp::Ordering;

use aigrid_lang::ast::{BinaryOp, Expr, ExprKind, UnaryOp};

use crate::card::{AttrValue, Card};

/// A value while a predicate is evaluated.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Bool(bool),
    Num(f64),
    Str(String),
    List(Vec<Value>),
    /// A card without the attribute: every comparison with it is false.
    Missing(String),
}

/// A predicate that cannot be evaluated: it is wrong whatever the cards.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct PredicateError {
    /// What is wrong.
    pub reason: String,
}

fn bad(reason: impl Into<String>) -> PredicateError {
    PredicateError { reason: reason.into() }
}

/// Whether `card` satisfies `predicate`.
pub fn satisfies(predicate: &Expr, card: &Card) -> Result<bool, PredicateError> {
    match eval(predicate, card)? {
        Value::Bool(b) => Ok(b),
        Value::Missing(_) => Ok(false),
        other => Err(bad(format!("a predicate is true or false, not {}", describe(&other)))),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Bool(_) => "a boolean".into(),
        Value::Num(_) => "a number".into(),
        Value::Str(_) => "a string".into(),
        Value::List(_) => "a list".into(),
        Value::Missing(name) => format!("`{name}`"),
    }
}

fn eval(expr: &Expr, card: &Card) -> Result<Value, PredicateError> {
    Ok(match &expr.kind {
        ExprKind::Int(n) => Value::Num(*n as f64),
        ExprKind::Float(x) => Value::Num(*x),
        ExprKind::Str { value, .. } => Value::Str(value.to_string()),
        ExprKind::Bool(b) => Value::Bool(*b),
        ExprKind::List(items) => {
            Value::List(items.iter().map(|i| eval(i, card)).collect::<Result<_, _>>()?)
        }
        ExprKind::Name(name) => match card.lookup(&name.name) {
            Some(AttrValue::Bool(b)) => Value::Bool(b),
            Some(AttrValue::Int(n)) => Value::Num(n as f64),
            Some(AttrValue::Float(x)) => Value::Num(x),
            Some(AttrValue::Str(s)) => Value::Str(s),
            None => Value::Missing(name.name.to_string()),
        },
        ExprKind::Paren(inner) => eval(inner, card)?,
        ExprKind::Unary { op, operand } => match (op.node, eval(operand, card)?) {
            (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
            (UnaryOp::Not, Value::Missing(_)) => Value::Bool(false),
            (UnaryOp::Neg, Value::Num(x)) => Value::Num(-x),
            (UnaryOp::Neg, missing @ Value::Missing(_)) => missing,
            (_, other) => {
                return Err(bad(format!(
                    "`{}` cannot apply to {}",
                    op_str(op.node),
                    describe(&other)
                )));
            }
        },
        ExprKind::Binary { op, lhs, rhs } => {
            let op = op.node;
            match op {
                BinaryOp::And | BinaryOp::Or => {
                    let a = truth(eval(lhs, card)?)?;
                    // Short-circuit, as in the language.
                    if (op == BinaryOp::And && !a) || (op == BinaryOp::Or && a) {
                        return Ok(Value::Bool(a));
                    }
                    Value::Bool(truth(eval(rhs, card)?)?)
                }
                _ => compare(op, eval(lhs, card)?, eval(rhs, card)?)?,
            }
        }
        _ => return Err(bad("a predicate compares card attributes with literals")),
    })
}

fn truth(value: Value) -> Result<bool, PredicateError> {
    match value {
        Value::Bool(b) => Ok(b),
        Value::Missing(_) => Ok(false),
        other => Err(bad(format!("`&&`, `||` and `!` take booleans, not {}", describe(&other)))),
    }
}

fn op_str(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Not => "!",
        UnaryOp::Neg => "-",
    }
}

fn compare(op: BinaryOp, a: Value, b: Value) -> Result<Value, PredicateError> {
    if matches!(a, Value::Missing(_)) || matches!(b, Value::Missing(_)) {
        return Ok(Value::Bool(false));
    }
    let ordering = |a: &Value, b: &Value| match (a, b) {
        (Value::Num(x), Value::Num(y)) => x.partial_cmp(y),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    };
    Ok(Value::Bool(match op {
        BinaryOp::Eq | BinaryOp::Ne => {
            let same = match ordering(&a, &b) {
                Some(o) => o == Ordering::Equal,
                None => {
                    return Err(bad(format!(
                        "cannot compare {} with {}",
                        describe(&a),
                        describe(&b)
                    )));
                }
            };
            same == (op == BinaryOp::Eq)
        }
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let Some(o) = ordering(&a, &b).filter(|_| !matches!(a, Value::Bool(_))) else {
                return Err(bad(format!("cannot order {} and {}", describe(&a), describe(&b))));
            };
            match op {
                BinaryOp::Lt => o.is_lt(),
                BinaryOp::Le => o.is_le(),
                BinaryOp::Gt => o.is_gt(),
                _ => o.is_ge(),
            }
        }
        BinaryOp::In => match b {
            Value::List(items) => {
                items.iter().any(|item| ordering(&a, item) == Some(Ordering::Equal))
            }
            other => {
                return Err(bad(format!(
                    "`in` needs a list on its right, not {}",
                    describe(&other)
                )));
            }
        },
        _ => return Err(bad(format!("`{}` is not allowed in a predicate", op.as_str()))),
    }))
}

/// The top-level `&&` clauses of a predicate, in order.
pub fn clauses(predicate: &Expr) -> Vec<&Expr> {
    match &predicate.kind {
        ExprKind::Binary { op, lhs, rhs } if op.node == BinaryOp::And => {
            let mut out = clauses(lhs);
            out.extend(clauses(rhs));
            out
        }
        ExprKind::Paren(inner) => clauses(inner),
        _ => vec![predicate],
    }
}

/// One step of the funnel: a clause and the cards it dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// The clause as written.
    pub clause: String,
    /// How many cards were left before it.
    pub before: usize,
    /// The ids of the cards it dropped.
    pub dropped: Vec<String>,
    /// Why, in words: `they have 768`, `they have no \`dims\``.
    pub why: String,
}

/// Evaluates `predicate` (written at `text`'s span) clause by clause over `cards`: the cards
/// that pass every clause, and the funnel of what each clause dropped.
pub fn funnel<'c>(
    predicate: Option<&Expr>,
    text: &str,
    cards: &'c [Card],
) -> Result<(Vec<&'c Card>, Vec<Stage>), PredicateError> {
    let mut left: Vec<&Card> = cards.iter().collect();
    let mut stages = Vec::new();
    let Some(predicate) = predicate else { return Ok((left, stages)) };
    for clause in clauses(predicate) {
        let before = left.len();
        let mut kept = Vec::with_capacity(left.len());
        let mut dropped = Vec::new();
        for card in left {
            if satisfies(clause, card)? {
                kept.push(card);
            } else {
                dropped.push(card);
            }
        }
        let written = clause.span.text(text).to_owned();
        let why = explain(clause, &dropped);
        stages.push(Stage {
            clause: written,
            before,
            dropped: dropped.iter().map(|c| c.id.clone()).collect(),
            why,
        });
        left = kept;
    }
    Ok((left, stages))
}

/// Why the cards of `dropped` failed `clause`: the values they have for the attribute it reads.
fn explain(clause: &Expr, dropped: &[&Card]) -> String {
    let name = match &clause.kind {
        ExprKind::Binary { lhs, rhs, .. } => match (&lhs.kind, &rhs.kind) {
            (ExprKind::Name(n), _) | (_, ExprKind::Name(n)) => Some(n.name.to_string()),
            _ => None,
        },
        ExprKind::Name(n) => Some(n.name.to_string()),
        ExprKind::Unary { operand, .. } => match &operand.kind {
            ExprKind::Name(n) => Some(n.name.to_string()),
            _ => None,
        },
        _ => None,
    };
    let Some(name) = name else { return String::new() };
    let mut values: Vec<String> = Vec::new();
    let mut missing = 0;
    for card in dropped {
        match card.lookup(&name) {
            Some(value) => {
                let value = value.to_string();
                if !values.contains(&value) {
                    values.push(value);
                }
            }
            None => missing += 1,
        }
    }
    values.sort();
    let mut parts = Vec::new();
    if !values.is_empty() {
        parts.push(format!("they have {}", values.join(", ")));
    }
    if missing > 0 {
        parts.push(format!("{missing} {} no `{name}`", if missing == 1 { "has" } else { "have" }));
    }
    parts.join("; ")
}

/// Orders candidates by the `prefer` keys (`(attribute, descending)`): a card without the
/// attribute comes after those with it; ties are broken by id, so the order is stable.
pub fn rank<'c>(mut cards: Vec<&'c Card>, prefer: &[(String, bool)]) -> Vec<&'c Card> {
    cards.sort_by(|a, b| {
        for (key, descending) in prefer {
            let order = match (a.lookup(key), b.lookup(key)) {
                (Some(x), Some(y)) => {
                    let o = order(&x, &y);
                    if *descending { o.reverse() } else { o }
                }
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        a.id.cmp(&b.id)
    });
    cards
}

fn order(a: &AttrValue, b: &AttrValue) -> Ordering {
    let number = |v: &AttrValue| match v {
        AttrValue::Int(n) => Some(*n as f64),
        AttrValue::Float(x) => Some(*x),
        _ => None,
    };
    match (a, b) {
        (AttrValue::Bool(x), AttrValue::Bool(y)) => x.cmp(y),
        (AttrValue::Str(x), AttrValue::Str(y)) => x.cmp(y),
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            // Values of different kinds: a stable, if arbitrary, order.
            _ => a.to_string().cmp(&b.to_string()),
        },
    }
}
